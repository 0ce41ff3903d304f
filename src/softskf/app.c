/* Applications of the software key and their PINs: admin and user PIN stored as salted SHA-256
 * hashes with their maximum and remaining retries and a default-PIN flag; the login state belongs
 * to the application handle. A wrong PIN that uses up the last retry answers SAR_PIN_LOCKED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "softskf/softskf_int.h"

#define PIN_MIN 6
#define PIN_MAX 16
#define SALT_LEN 16

/* Whether pin has an allowed length (6 to 16 bytes). */
static int pin_len_ok(const char *pin)
{
	size_t n = pin != NULL ? strnlen(pin, PIN_MAX + 1) : 0;
	return n >= PIN_MIN && n <= PIN_MAX;
}

/* SHA-256(salt | pin) into out (32 bytes). Returns 0 or -1. */
static int pin_hash(const unsigned char *salt, const char *pin, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, salt, SALT_LEN) == 1 && EVP_DigestUpdate(md, pin, strlen(pin)) == 1 &&
		 EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;

	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* Sets the salt and hash of PIN record rec to a new salt and pin. Returns 0 or -1. */
static int pin_set(json_t *rec, const char *pin)
{
	unsigned char salt[SALT_LEN], h[32];
	char hs[2 * SALT_LEN + 1], hh[65];

	if (RAND_bytes(salt, sizeof(salt)) != 1 || pin_hash(salt, pin, h) != 0)
		return -1;
	softskf_hex(salt, sizeof(salt), hs);
	softskf_hex(h, sizeof(h), hh);
	return json_object_set_new(rec, "salt", json_string(hs)) == 0 &&
			       json_object_set_new(rec, "hash", json_string(hh)) == 0
		       ? 0
		       : -1;
}

/* A new PIN record for pin with retries. */
static json_t *pin_new(const char *pin, DWORD retries)
{
	json_t *rec = json_pack("{s:I, s:I, s:b}", "max", (json_int_t)retries, "remain", (json_int_t)retries,
				"default", 1);

	if (rec != NULL && pin_set(rec, pin) != 0) {
		json_decref(rec);
		rec = NULL;
	}
	return rec;
}

/* Whether pin matches record rec. */
static int pin_matches(const json_t *rec, const char *pin)
{
	unsigned char salt[SALT_LEN], want[32], got[32];

	return softskf_unhex(json_string_value(json_object_get(rec, "salt")), salt, sizeof(salt)) == 0 &&
	       softskf_unhex(json_string_value(json_object_get(rec, "hash")), want, sizeof(want)) == 0 &&
	       pin_hash(salt, pin, got) == 0 && CRYPTO_memcmp(want, got, sizeof(got)) == 0;
}

/* The record key of a PIN type, or NULL. */
static const char *pin_key(ULONG type)
{
	return type == SKF_ADMIN_TYPE ? "admin" : type == SKF_USER_TYPE ? "user" : NULL;
}

/* Checks pin against the record key of state st and saves the counter: the right PIN resets it,
 * a wrong one counts down. Returns SAR_OK, SAR_PIN_INCORRECT, SAR_PIN_LOCKED (with *retry the
 * remaining count when retry is not NULL) or a storage error. */
static ULONG pin_check(const struct sk_app *a, json_t *st, const char *key, const char *pin, ULONG *retry)
{
	json_t *rec = json_object_get(st, key);
	json_int_t max = json_integer_value(json_object_get(rec, "max"));
	json_int_t remain = json_integer_value(json_object_get(rec, "remain"));
	ULONG r;

	if (!json_is_object(rec))
		return SAR_FILEERR;
	if (remain <= 0) {
		if (retry != NULL)
			*retry = 0;
		return SAR_PIN_LOCKED;
	}
	if (pin_matches(rec, pin)) {
		r = remain == max ? SAR_OK : (json_object_set_new(rec, "remain", json_integer(max)), sk_app_save(a, st));
		remain = max;
	} else {
		remain--;
		json_object_set_new(rec, "remain", json_integer(remain));
		r = sk_app_save(a, st);
		if (r == SAR_OK)
			r = remain == 0 ? SAR_PIN_LOCKED : SAR_PIN_INCORRECT;
	}
	if (retry != NULL)
		*retry = (ULONG)remain;
	return r;
}

/* Creates the directories and app.json of a new application (app.json last: an application exists
 * once its app.json does). Returns SAR_OK or an error. */
static ULONG app_make(const char *path, json_t *st)
{
	char p[SOFTSKF_PATH_MAX], apps[SOFTSKF_PATH_MAX];

	if (snprintf(apps, sizeof(apps), "%s", path) >= (int)sizeof(apps) || strrchr(apps, '/') == NULL)
		return SAR_FAIL;
	*strrchr(apps, '/') = '\0';
	if (softskf_mkdir(apps) != 0 || softskf_mkdir(path) != 0 ||
	    softskf_path(p, sizeof(p), path, "containers") != 0 || softskf_mkdir(p) != 0 ||
	    softskf_path(p, sizeof(p), path, "files") != 0 || softskf_mkdir(p) != 0 ||
	    softskf_path(p, sizeof(p), path, "app.json") != 0 || softskf_write_json(p, st) != 0)
		return SAR_WRITEFILEERR;
	return SAR_OK;
}

/* The path of application name on device d into out. Returns 0 or -1. */
static int app_path(const struct sk_dev *d, const char *name, char *out, size_t outlen)
{
	char apps[SOFTSKF_PATH_MAX];
	return softskf_path(apps, sizeof(apps), d->path, "apps") == 0 ? softskf_path(out, outlen, apps, name) : -1;
}

/* Whether application name exists on d. */
static int app_exists(const struct sk_dev *d, const char *name)
{
	char p[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX];
	return app_path(d, name, p, sizeof(p)) == 0 && softskf_path(f, sizeof(f), p, "app.json") == 0 &&
	       softskf_exists(f);
}

/* A new registered handle of application name on d, or NULL. */
static struct sk_app *app_handle(struct sk_dev *d, const char *name)
{
	struct sk_app *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->dev = d;
	snprintf(a->name, sizeof(a->name), "%s", name);
	if (app_path(d, name, a->path, sizeof(a->path)) != 0 || sk_reg_add(a, SK_APP) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

/* Checks the name of an application. Returns SAR_OK, SAR_NAMELENERR, SAR_APPLICATION_NAME_INVALID. */
static ULONG app_name_check(const char *name)
{
	if (name == NULL)
		return SAR_INVALIDPARAMERR;
	if (strnlen(name, SKF_MAX_NAME_LEN + 1) > SKF_MAX_NAME_LEN)
		return SAR_NAMELENERR;
	return softskf_name_ok(name, SKF_MAX_NAME_LEN) ? SAR_OK : SAR_APPLICATION_NAME_INVALID;
}

static ULONG create_application(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin, DWORD dwAdminPinRetryCount,
				LPSTR szUserPin, DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
				HAPPLICATION *phApplication)
{
	struct sk_dev *d;
	char path[SOFTSKF_PATH_MAX];
	json_t *st;
	ULONG r = sk_dev_get(hDev, 1, &d);

	if (r != SAR_OK)
		return r;
	if (phApplication == NULL || dwAdminPinRetryCount == 0 || dwAdminPinRetryCount > 255 ||
	    dwUserPinRetryCount == 0 || dwUserPinRetryCount > 255)
		return SAR_INVALIDPARAMERR;
	*phApplication = NULL;
	if ((r = app_name_check(szAppName)) != SAR_OK)
		return r;
	if (!pin_len_ok(szAdminPin) || !pin_len_ok(szUserPin))
		return SAR_PIN_LEN_RANGE;
	if (!d->authed)
		return SAR_USER_NOT_LOGGED_IN; /* device authentication first (SKF_DevAuth) */
	if (app_exists(d, szAppName))
		return SAR_APPLICATION_EXISTS;
	if (app_path(d, szAppName, path, sizeof(path)) != 0)
		return SAR_NAMELENERR;
	st = json_pack("{s:o, s:o, s:I, s:{}}", "admin", pin_new(szAdminPin, dwAdminPinRetryCount), "user",
		       pin_new(szUserPin, dwUserPinRetryCount), "create_rights", (json_int_t)dwCreateFileRights,
		       "files");
	if (st == NULL)
		return SAR_MEMORYERR;
	r = app_make(path, st);
	json_decref(st);
	if (r == SAR_OK && (*phApplication = app_handle(d, szAppName)) == NULL)
		r = SAR_MEMORYERR;
	return r;
}

SKF_EXPORT ULONG SKF_CreateApplication(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin, DWORD dwAdminPinRetryCount,
				       LPSTR szUserPin, DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
				       HAPPLICATION *phApplication)
{
	SK_LOCKED(create_application(hDev, szAppName, szAdminPin, dwAdminPinRetryCount, szUserPin, dwUserPinRetryCount,
				     dwCreateFileRights, phApplication));
}

static ULONG enum_application(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize)
{
	struct sk_dev *d;
	char apps[SOFTSKF_PATH_MAX];
	char **v;
	size_t k = 0;
	ULONG r = sk_dev_get(hDev, 0, &d);

	if (r != SAR_OK)
		return r;
	if (pulSize == NULL)
		return SAR_INVALIDPARAMERR;
	if (softskf_path(apps, sizeof(apps), d->path, "apps") != 0 || (v = softskf_list(apps, 1)) == NULL)
		return SAR_FILEERR;
	for (size_t i = 0; v[i] != NULL; i++) {
		if (app_exists(d, v[i]))
			v[k++] = v[i];
		else
			free(v[i]);
	}
	v[k] = NULL;
	r = sk_multistr(v, szAppName, pulSize);
	softskf_names_free(v);
	return r;
}

SKF_EXPORT ULONG SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize)
{
	SK_LOCKED(enum_application(hDev, szAppName, pulSize));
}

static ULONG delete_application(DEVHANDLE hDev, LPSTR szAppName)
{
	struct sk_dev *d;
	char p[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX];
	ULONG r = sk_dev_get(hDev, 1, &d);

	if (r != SAR_OK)
		return r;
	if ((r = app_name_check(szAppName)) != SAR_OK)
		return r;
	if (!d->authed)
		return SAR_USER_NOT_LOGGED_IN;
	if (!app_exists(d, szAppName))
		return SAR_APPLICATION_NOT_EXISTS;
	/* app.json goes first: a kill in between leaves no half application */
	if (app_path(d, szAppName, p, sizeof(p)) != 0 || softskf_path(f, sizeof(f), p, "app.json") != 0 ||
	    remove(f) != 0)
		return SAR_FILEERR;
	return softskf_rmtree(p) == 0 ? SAR_OK : SAR_FILEERR;
}

SKF_EXPORT ULONG SKF_DeleteApplication(DEVHANDLE hDev, LPSTR szAppName)
{
	SK_LOCKED(delete_application(hDev, szAppName));
}

static ULONG open_application(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication)
{
	struct sk_dev *d;
	ULONG r = sk_dev_get(hDev, 0, &d);

	if (r != SAR_OK)
		return r;
	if (phApplication == NULL)
		return SAR_INVALIDPARAMERR;
	*phApplication = NULL;
	if ((r = app_name_check(szAppName)) != SAR_OK)
		return r;
	if (!app_exists(d, szAppName))
		return SAR_APPLICATION_NOT_EXISTS;
	*phApplication = app_handle(d, szAppName);
	return *phApplication != NULL ? SAR_OK : SAR_MEMORYERR;
}

SKF_EXPORT ULONG SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication)
{
	SK_LOCKED(open_application(hDev, szAppName, phApplication));
}

/* Closes an application handle; allowed on a removed device. Its open containers stay closable. */
static ULONG close_application(HAPPLICATION hApplication)
{
	struct sk_app *a = sk_reg_find(hApplication, SK_APP);

	if (a == NULL)
		return SAR_INVALIDHANDLEERR;
	sk_app_close(a);
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_CloseApplication(HAPPLICATION hApplication)
{
	SK_LOCKED(close_application(hApplication));
}

/* Sets the login flag of a for PIN type. */
static void login(struct sk_app *a, ULONG type, int in)
{
	if (type == SKF_ADMIN_TYPE)
		a->admin_in = in;
	else
		a->user_in = in;
}

static ULONG verify_pin(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN, ULONG *pulRetryCount)
{
	struct sk_app *a;
	json_t *st;
	ULONG r = sk_app_get(hApplication, 0, &a);

	if (r != SAR_OK)
		return r;
	if (pin_key(ulPINType) == NULL)
		return SAR_USER_TYPE_INVALID;
	if (szPIN == NULL)
		return SAR_INVALIDPARAMERR;
	if ((st = sk_app_state(a)) == NULL)
		return SAR_READFILEERR;
	r = pin_check(a, st, pin_key(ulPINType), szPIN, pulRetryCount);
	login(a, ulPINType, r == SAR_OK);
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN, ULONG *pulRetryCount)
{
	SK_LOCKED(verify_pin(hApplication, ulPINType, szPIN, pulRetryCount));
}

static ULONG change_pin(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin, LPSTR szNewPin,
			ULONG *pulRetryCount)
{
	struct sk_app *a;
	json_t *st;
	ULONG r = sk_app_get(hApplication, 1, &a);

	if (r != SAR_OK)
		return r;
	if (pin_key(ulPINType) == NULL)
		return SAR_USER_TYPE_INVALID;
	if (szOldPin == NULL || szNewPin == NULL)
		return SAR_INVALIDPARAMERR;
	if (!pin_len_ok(szNewPin))
		return SAR_PIN_LEN_RANGE;
	if ((st = sk_app_state(a)) == NULL)
		return SAR_READFILEERR;
	r = pin_check(a, st, pin_key(ulPINType), szOldPin, pulRetryCount);
	if (r == SAR_OK) {
		json_t *rec = json_object_get(st, pin_key(ulPINType));
		json_object_set_new(rec, "default", json_false());
		r = pin_set(rec, szNewPin) == 0 ? sk_app_save(a, st) : SAR_FAIL;
	}
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin, LPSTR szNewPin,
			       ULONG *pulRetryCount)
{
	SK_LOCKED(change_pin(hApplication, ulPINType, szOldPin, szNewPin, pulRetryCount));
}

static ULONG get_pin_info(HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount,
			  ULONG *pulRemainRetryCount, BOOL *pbDefaultPin)
{
	struct sk_app *a;
	json_t *st, *rec;
	ULONG r = sk_app_get(hApplication, 0, &a);

	if (r != SAR_OK)
		return r;
	if (pin_key(ulPINType) == NULL)
		return SAR_USER_TYPE_INVALID;
	if (pulMaxRetryCount == NULL || pulRemainRetryCount == NULL || pbDefaultPin == NULL)
		return SAR_INVALIDPARAMERR;
	if ((st = sk_app_state(a)) == NULL)
		return SAR_READFILEERR;
	rec = json_object_get(st, pin_key(ulPINType));
	*pulMaxRetryCount = (ULONG)json_integer_value(json_object_get(rec, "max"));
	*pulRemainRetryCount = (ULONG)json_integer_value(json_object_get(rec, "remain"));
	*pbDefaultPin = json_is_true(json_object_get(rec, "default")) ? TRUE : FALSE;
	json_decref(st);
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount,
				ULONG *pulRemainRetryCount, BOOL *pbDefaultPin)
{
	SK_LOCKED(get_pin_info(hApplication, ulPINType, pulMaxRetryCount, pulRemainRetryCount, pbDefaultPin));
}

/* The admin PIN sets a new user PIN and resets its counter; the new user PIN counts as a default
 * PIN again (the holder is to change it). */
static ULONG unblock_pin(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN, ULONG *pulRetryCount)
{
	struct sk_app *a;
	json_t *st, *user;
	ULONG r = sk_app_get(hApplication, 1, &a);

	if (r != SAR_OK)
		return r;
	if (szAdminPIN == NULL || szNewUserPIN == NULL)
		return SAR_INVALIDPARAMERR;
	if (!pin_len_ok(szNewUserPIN))
		return SAR_PIN_LEN_RANGE;
	if ((st = sk_app_state(a)) == NULL)
		return SAR_READFILEERR;
	r = pin_check(a, st, "admin", szAdminPIN, pulRetryCount);
	if (r == SAR_OK) {
		user = json_object_get(st, "user");
		json_object_set(user, "remain", json_object_get(user, "max"));
		json_object_set_new(user, "default", json_true());
		r = pin_set(user, szNewUserPIN) == 0 ? sk_app_save(a, st) : SAR_FAIL;
	}
	json_decref(st);
	return r;
}

SKF_EXPORT ULONG SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN, ULONG *pulRetryCount)
{
	SK_LOCKED(unblock_pin(hApplication, szAdminPIN, szNewUserPIN, pulRetryCount));
}

static ULONG clear_secure_state(HAPPLICATION hApplication)
{
	struct sk_app *a = sk_reg_find(hApplication, SK_APP);

	if (a == NULL)
		return SAR_INVALIDHANDLEERR;
	a->user_in = 0;
	a->admin_in = 0;
	return SAR_OK;
}

SKF_EXPORT ULONG SKF_ClearSecureState(HAPPLICATION hApplication)
{
	SK_LOCKED(clear_secure_state(hApplication));
}
