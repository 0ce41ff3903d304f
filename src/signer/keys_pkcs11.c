/* Key backend: a private key on a PKCS#11 token (an HSM in production, SoftHSM2 in tests), named by
 * an RFC 7512 URI in "<id>.p11". The module is dlopen'ed once per path and kept for the process's
 * life. Each key keeps one session, opened at its first signature; any failure closes it and answers
 * KEY_UNAVAILABLE, and the next request tries again from the slot list (a token pulled out and put
 * back, an HSM restarted). Modules fix their slot list at C_Initialize (SoftHSM2 does), so a token
 * that is not found makes the module be finalized and initialized again (at most every 500 ms),
 * under a per-module write lock; other keys of the module notice the new generation and reconnect
 * transparently. A wrong PIN is not tried again until the keys are reloaded (SIGHUP): the
 * PIN cannot change in between, and real tokens lock after a few wrong tries.
 * SoftHSM2 offers only raw CKM_ECDSA for EC keys, so P-256 is hashed here and r||s DER-encoded;
 * every token signature is verified with the certificate's public key before it leaves. SM2 keys
 * are file-backed only (no SM2 in SoftHSM, and vendors' SM2 mechanism numbers clash). */
#define CRYPTOKI_GNU 1
#include "signer/signer.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <p11-kit/pkcs11.h>

#include "pki/signer_client.h"
#include "util/log.h"

#define DEFAULT_MODULE "p11-kit-proxy.so" /* every module registered with p11-kit */
#define MAX_SLOTS 64
#define P11_FILE_MAX 8192
#define RESCAN_MIN_MS 500 /* a flood of requests for a missing token re-initializes no faster */

struct p11_module {
	char *path;
	void *dl;
	struct ck_function_list *f;
	pthread_rwlock_t rw; /* read: any use of f; write: finalize and initialize again */
	unsigned gen;        /* incremented by each re-initialization: older sessions are gone */
	int64_t last_rescan; /* signer_now_ms() of the last re-initialization */
	struct p11_module *next;
};

static pthread_mutex_t modules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

struct p11_key {
	char id[SIGNER_MAX_KEY_ID + 1];
	struct p11_module *mod;
	struct ck_function_list *f;
	struct p11_uri uri;
	char *pin; /* from the URI or CERTDESK_SIGNER_PIN_<ID>; NULL: no login */
	EVP_PKEY *pub;
	pthread_mutex_t mu; /* one operation at a time on the key's session */
	int have_session;
	unsigned sess_gen; /* the module generation the session belongs to */
	ck_session_handle_t sess;
	ck_object_handle_t obj;
	int pin_bad;
};

/* Returns a short name of a PKCS#11 return value, for reasons. */
static const char *rv_name(ck_rv_t rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
		return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED:
		return "CKR_PIN_LOCKED";
	case CKR_TOKEN_NOT_PRESENT:
		return "CKR_TOKEN_NOT_PRESENT";
	case CKR_DEVICE_REMOVED:
		return "CKR_DEVICE_REMOVED";
	case CKR_DEVICE_ERROR:
		return "CKR_DEVICE_ERROR";
	case CKR_SESSION_HANDLE_INVALID:
		return "CKR_SESSION_HANDLE_INVALID";
	case CKR_SESSION_CLOSED:
		return "CKR_SESSION_CLOSED";
	case CKR_USER_NOT_LOGGED_IN:
		return "CKR_USER_NOT_LOGGED_IN";
	case CKR_KEY_HANDLE_INVALID:
		return "CKR_KEY_HANDLE_INVALID";
	case CKR_OBJECT_HANDLE_INVALID:
		return "CKR_OBJECT_HANDLE_INVALID";
	case CKR_MECHANISM_INVALID:
		return "CKR_MECHANISM_INVALID";
	case CKR_GENERAL_ERROR:
		return "CKR_GENERAL_ERROR";
	default:
		return "CKR_other";
	}
}

/* Returns the module at path, loading and initializing it once. */
static struct p11_module *module_get(const char *path, char *why, size_t whylen)
{
	struct p11_module *found = NULL;
	struct ck_function_list *f = NULL;
	ck_rv_t (*get)(struct ck_function_list **) = NULL;
	struct ck_c_initialize_args args = {0};

	pthread_mutex_lock(&modules_mu);
	for (struct p11_module *m = modules; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0) {
			found = m;
			goto out;
		}
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		snprintf(why, whylen, "cannot load PKCS#11 module %s", path);
		goto out;
	}
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK || f == NULL) {
		snprintf(why, whylen, "%s: no C_GetFunctionList", path);
		f = NULL;
		dlclose(dl);
		goto out;
	}
	args.flags = CKF_OS_LOCKING_OK; /* requests are served by several threads */
	ck_rv_t rv = f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(why, whylen, "%s: C_Initialize failed (0x%lx)", path, (unsigned long)rv);
		f = NULL;
		dlclose(dl);
		goto out;
	}
	struct p11_module *m = calloc(1, sizeof(*m));
	if (m == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		snprintf(why, whylen, "out of memory");
		f = NULL;
		goto out; /* the module stays loaded; start-up fails anyway */
	}
	m->dl = dl;
	m->f = f;
	pthread_rwlock_init(&m->rw, NULL);
	m->next = modules;
	modules = m;
	found = m;
out:
	pthread_mutex_unlock(&modules_mu);
	return found;
}

/* Finalizes and initializes module m again so that it looks at its slots afresh (a token inserted
 * since), at most every RESCAN_MIN_MS. Takes the module's write lock: no key uses it meanwhile. */
static void module_rescan(struct p11_module *m)
{
	struct ck_c_initialize_args args = {0};

	pthread_rwlock_wrlock(&m->rw);
	if (signer_now_ms() - m->last_rescan >= RESCAN_MIN_MS) {
		args.flags = CKF_OS_LOCKING_OK;
		m->f->C_Finalize(NULL);
		m->f->C_Initialize(&args);
		m->gen++;
		m->last_rescan = signer_now_ms();
	}
	pthread_rwlock_unlock(&m->rw);
}

void keys_pkcs11_shutdown(void)
{
	pthread_mutex_lock(&modules_mu);
	while (modules != NULL) {
		struct p11_module *m = modules;
		modules = m->next;
		m->f->C_Finalize(NULL);
		dlclose(m->dl);
		pthread_rwlock_destroy(&m->rw);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&modules_mu);
}

/* Returns 1 when the blank-padded field f (n bytes) holds s. */
static int padded_eq(const unsigned char *f, size_t n, const char *s)
{
	size_t len = n;
	while (len > 0 && (f[len - 1] == ' ' || f[len - 1] == '\0'))
		len--;
	return strlen(s) == len && memcmp(f, s, len) == 0;
}

/* Finds the slot whose token has the URI's label (and serial); returns 0, 1 when no such token is
 * present, or -1 with why. */
static int find_slot(struct p11_key *k, ck_slot_id_t *slot, char *why, size_t whylen)
{
	ck_slot_id_t slots[MAX_SLOTS];
	unsigned long n = MAX_SLOTS;
	ck_rv_t rv = k->f->C_GetSlotList(1, slots, &n);

	if (rv != CKR_OK) {
		snprintf(why, whylen, "C_GetSlotList: %s", rv_name(rv));
		return -1;
	}
	for (unsigned long i = 0; i < n && i < MAX_SLOTS; i++) {
		struct ck_token_info ti;
		memset(&ti, 0, sizeof(ti));
		if (k->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !padded_eq(ti.label, sizeof(ti.label), k->uri.token))
			continue;
		if (k->uri.serial != NULL &&
		    !padded_eq(ti.serial_number, sizeof(ti.serial_number), k->uri.serial))
			continue;
		*slot = slots[i];
		return 0;
	}
	snprintf(why, whylen, "token \"%s\" not present", k->uri.token);
	return 1;
}

/* Finds the one private key object the URI names in the open session. */
static int find_object(struct p11_key *k, char *why, size_t whylen)
{
	ck_object_class_t cls = CKO_PRIVATE_KEY;
	struct ck_attribute t[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
	unsigned long nt = 1, found = 0;
	ck_object_handle_t h[2];

	if (k->uri.object != NULL)
		t[nt++] = (struct ck_attribute){CKA_LABEL, k->uri.object, strlen(k->uri.object)};
	if (k->uri.id != NULL)
		t[nt++] = (struct ck_attribute){CKA_ID, k->uri.id, k->uri.idlen};
	ck_rv_t rv = k->f->C_FindObjectsInit(k->sess, t, nt);
	if (rv == CKR_OK) {
		rv = k->f->C_FindObjects(k->sess, h, 2, &found);
		k->f->C_FindObjectsFinal(k->sess);
	}
	if (rv != CKR_OK || found != 1) {
		snprintf(why, whylen,
			 rv != CKR_OK ? "C_FindObjects: %s" : "%s private key objects match the URI",
			 rv != CKR_OK ? rv_name(rv)
			 : found == 0 ? "no"
				      : "several");
		return -1;
	}
	k->obj = h[0];
	return 0;
}

/* Closes the key's session (after any failure: the next request starts afresh). */
static void drop_session(struct p11_key *k)
{
	if (k->have_session && k->sess_gen == k->mod->gen)
		k->f->C_CloseSession(k->sess);
	k->have_session = 0;
}

/* Opens a session on the key's token, logs in and finds the key; returns 0, 1 when the token is not
 * present, or -1 with why. */
static int connect_key(struct p11_key *k, char *why, size_t whylen)
{
	ck_slot_id_t slot;
	int rc = find_slot(k, &slot, why, whylen);

	if (rc != 0)
		return rc;
	ck_rv_t rv = k->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &k->sess);
	if (rv != CKR_OK) {
		snprintf(why, whylen, "C_OpenSession: %s", rv_name(rv));
		return -1;
	}
	k->have_session = 1;
	k->sess_gen = k->mod->gen;
	if (k->pin != NULL) {
		rv = k->f->C_Login(k->sess, CKU_USER, (unsigned char *)k->pin, strlen(k->pin));
		if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE)
			k->pin_bad = 1;
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			snprintf(why, whylen, "C_Login: %s", rv_name(rv));
			return -1;
		}
	}
	return find_object(k, why, whylen);
}

/* Turns a raw r||s (n bytes) into DER Ecdsa-Sig-Value; returns 0 with *sig (OPENSSL_malloc). */
static int rs_to_der(const unsigned char *rs, size_t n, unsigned char **sig, size_t *siglen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, (int)(n / 2), NULL), *s = BN_bin2bn(rs + n / 2, (int)(n / 2), NULL);
	unsigned char *out = NULL;
	int len = -1;

	if (es != NULL && r != NULL && s != NULL && n % 2 == 0 && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL;
		len = i2d_ECDSA_SIG(es, &out);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	if (len <= 0)
		return -1;
	*sig = out;
	*siglen = (size_t)len;
	return 0;
}

/* Signs tbs on the token with the key's session; returns 0 or -1 with why. */
static int token_sign(struct p11_key *k, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
		      size_t *siglen, char *why, size_t whylen)
{
	struct ck_mechanism mech = {alg == KEY_ALG_RSA ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
	unsigned char digest[32], out[1024];
	unsigned long outlen = sizeof(out);
	const unsigned char *in = tbs;
	size_t inlen = len;

	if (alg == KEY_ALG_P256) { /* raw CKM_ECDSA signs a digest */
		if (EVP_Digest(tbs, len, digest, NULL, EVP_sha256(), NULL) != 1)
			return -1;
		in = digest;
		inlen = sizeof(digest);
	}
	ck_rv_t rv = k->f->C_SignInit(k->sess, &mech, k->obj);
	if (rv == CKR_OK)
		rv = k->f->C_Sign(k->sess, (unsigned char *)in, inlen, out, &outlen);
	if (rv != CKR_OK) {
		snprintf(why, whylen, "C_Sign: %s", rv_name(rv));
		return -1;
	}
	if (alg == KEY_ALG_P256)
		return rs_to_der(out, outlen, sig, siglen);
	if ((*sig = OPENSSL_memdup(out, outlen)) == NULL)
		return -1;
	*siglen = outlen;
	return 0;
}

/* Returns 1 when sig is a valid signature of tbs under the certificate's public key. */
static int sig_verifies(EVP_PKEY *pub, const unsigned char *tbs, size_t len, const unsigned char *sig,
			size_t siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m != NULL && EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
		 EVP_DigestVerify(m, sig, siglen, tbs, len) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

/* One attempt at a signature under the module's read lock; returns 0, 1 when the token is not
 * present, SIGNER_KEY_UNAVAILABLE or SIGNER_INTERNAL. */
static int p11_try_sign(struct p11_key *k, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
			size_t *siglen, char *why, size_t whylen)
{
	int rc = SIGNER_KEY_UNAVAILABLE;

	pthread_rwlock_rdlock(&k->mod->rw);
	pthread_mutex_lock(&k->mu);
	if (k->have_session && k->sess_gen != k->mod->gen)
		k->have_session = 0; /* the module was initialized again: that session is gone */
	if (k->pin_bad) {
		snprintf(why, whylen,
			 "PIN refused by the token; not tried again until the keys are reloaded (SIGHUP)");
		goto out;
	}
	if (!k->have_session) {
		int c = connect_key(k, why, whylen);
		if (c != 0) {
			drop_session(k);
			rc = c == 1 ? 1 : SIGNER_KEY_UNAVAILABLE;
			goto out;
		}
	}
	if (token_sign(k, alg, tbs, len, sig, siglen, why, whylen) != 0) {
		drop_session(k);
		goto out;
	}
	if (!sig_verifies(k->pub, tbs, len, *sig, *siglen)) {
		OPENSSL_free(*sig);
		*sig = NULL;
		snprintf(why, whylen, "the token's signature does not verify with the key's certificate");
		rc = SIGNER_INTERNAL;
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&k->mu);
	pthread_rwlock_unlock(&k->mod->rw);
	return rc;
}

static int p11_sign(void *state, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
		    size_t *siglen, char *why, size_t whylen)
{
	struct p11_key *k = state;
	int rc = p11_try_sign(k, alg, tbs, len, sig, siglen, why, whylen);

	if (rc == 1) { /* maybe inserted since the module last looked */
		module_rescan(k->mod);
		rc = p11_try_sign(k, alg, tbs, len, sig, siglen, why, whylen);
	}
	return rc == 1 ? SIGNER_KEY_UNAVAILABLE : rc;
}

static void p11_free(void *state)
{
	struct p11_key *k = state;
	if (k == NULL)
		return;
	if (k->mod != NULL) {
		pthread_rwlock_rdlock(&k->mod->rw);
		drop_session(k);
		pthread_rwlock_unlock(&k->mod->rw);
	}
	p11_uri_free(&k->uri);
	if (k->pin != NULL)
		OPENSSL_cleanse(k->pin, strlen(k->pin));
	free(k->pin);
	EVP_PKEY_free(k->pub);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

const struct key_backend keys_pkcs11_backend = {"pkcs11", p11_sign, p11_free};

/* Reads the .p11 file (mode 0600: the URI may hold the PIN) into buf; returns 0 or -1 with why. */
static int read_p11_file(const char *path, char *buf, size_t buflen, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = -1;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    (n = read(fd, buf, buflen - 1)) <= 0 || (size_t)n >= buflen - 1) {
		snprintf(why, whylen, "cannot read it, not mode 0600, empty or too long");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* Opens the key's session at load time; returns as connect_key. */
static int early_connect(struct p11_key *k, char *why, size_t whylen)
{
	pthread_rwlock_rdlock(&k->mod->rw);
	int c = connect_key(k, why, whylen);
	if (c != 0)
		drop_session(k);
	pthread_rwlock_unlock(&k->mod->rw);
	return c;
}

/* Returns the PIN for key id from CERTDESK_SIGNER_PIN_<ID> (upper case, '-' as '_'), or NULL. */
static const char *env_pin(const char *id)
{
	char name[64] = "CERTDESK_SIGNER_PIN_";
	size_t o = strlen(name);

	for (size_t i = 0; id[i] != '\0' && o + 1 < sizeof(name); i++)
		name[o++] = id[i] == '-' ? '_' : (char)toupper((unsigned char)id[i]);
	name[o] = '\0';
	return getenv(name);
}

int keys_pkcs11_load(const char *id, const char *path, EVP_PKEY *pub, void **state, char *why, size_t whylen)
{
	char buf[P11_FILE_MAX];
	struct p11_key *k = NULL;
	int rc = -1;

	if (read_p11_file(path, buf, sizeof(buf), why, whylen) != 0)
		goto out;
	char *line2 = strchr(buf, '\n');
	if (line2 != NULL)
		*line2++ = '\0';
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto out;
	pthread_mutex_init(&k->mu, NULL);
	snprintf(k->id, sizeof(k->id), "%s", id);
	if (p11_uri_parse(buf, &k->uri, why, whylen) != 0)
		goto out;
	if (line2 != NULL)
		line2[strcspn(line2, "\r\n")] = '\0';
	const char *mod = line2 != NULL && line2[0] != '\0' ? line2
			  : k->uri.module != NULL           ? k->uri.module
							    : DEFAULT_MODULE;
	if ((k->mod = module_get(mod, why, whylen)) == NULL)
		goto out;
	k->f = k->mod->f;
	const char *pin = k->uri.pin != NULL ? k->uri.pin : env_pin(id);
	if (pin != NULL && (k->pin = strdup(pin)) == NULL)
		goto out;
	if (EVP_PKEY_up_ref(pub) != 1)
		goto out;
	k->pub = pub;
	/* Open the session now, before any privilege drop and so that start-up shows a token problem;
	 * a failure here is retried at the first request. */
	char early[256] = "";
	int c = early_connect(k, early, sizeof(early));
	if (c == 1) { /* a token made since the module was initialized (e.g. before a SIGHUP) */
		module_rescan(k->mod);
		c = early_connect(k, early, sizeof(early));
	}
	if (c != 0)
		log_error("signer", "key %s: token not usable yet: %s", id, early);
	*state = k;
	k = NULL;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (k != NULL)
		p11_free(k);
	return rc;
}
