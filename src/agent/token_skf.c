/* The SKF backend (token.h), compiled once per ULONG width (SKF_ULONG_BITS = 32 or 64: the width
 * changes every ULONG out-parameter, return value and blob layout, see src/skf/skf_abi.h); only the
 * load function is exported, as token_skf32_load / token_skf64_load. A key is an SKF device, its id
 * "skf<index>:<serial>"; certdesk keeps everything in the application "CERTDESK", one container
 * "certdesk-<8 hex>" per key pair. A logged-in key keeps its device and application handles. */
#define SKF_NO_PROTOTYPES
#include "skf/skf_abi.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/skfblob.h"
#include "agent/token.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#if SKF_ULONG_BITS == 64
#define SKF_LOAD token_skf64_load
#else
#define SKF_LOAD token_skf32_load
#endif

#define APP_NAME "CERTDESK"
#define MAX_OPEN 8
#define LIST_MAX 4096

struct skf_fns {
#define SKF_PTR(ret, name, params) ret(*name) params;
	SKF_FUNCTIONS(SKF_PTR)
#undef SKF_PTR
};

struct open_dev {
	char id[TOK_ID_MAX];
	DEVHANDLE dev;
	HAPPLICATION app;
};

struct skf {
	void *dl;
	struct skf_fns f;
	unsigned char devauth[16];
	struct open_dev open[MAX_OPEN];
};

#define F(m) (((struct skf *)(m)->impl)->f)

/* Maps a SAR code to a tok_err, recording the code and the function. */
static int sar(ULONG rv, const char *what, struct tok_result *res)
{
	if (rv == SAR_OK)
		return TOK_OK;
	res->code = (unsigned long)rv;
	snprintf(res->what, sizeof(res->what), "%s", what);
	switch (rv) {
	case SAR_DEVICE_REMOVED:
		return TOK_REMOVED;
	case SAR_PIN_INCORRECT:
		return TOK_PIN_INCORRECT;
	case SAR_PIN_LOCKED:
		return TOK_PIN_LOCKED;
	case SAR_USER_NOT_LOGGED_IN:
		return TOK_NOT_LOGGED_IN;
	case SAR_APPLICATION_NOT_EXISTS:
		return TOK_BLANK;
	case SAR_APPLICATION_EXISTS:
		return TOK_NOT_BLANK;
	case SAR_FILE_NOT_EXIST:
	case SAR_CERTNOTFOUNTERR:
	case SAR_KEYNOTFOUNTERR:
		return TOK_REF_NOT_FOUND;
	case SAR_NOTSUPPORTYETERR:
		return TOK_UNSUPPORTED;
	default:
		return TOK_ERROR;
	}
}

/* Writes the key id of the device with info di (or name) into out. */
static void key_id(const struct token_module *m, const DEVINFO *di, const char *name, char out[TOK_ID_MAX])
{
	char serial[40], safe[40];

	tok_field(serial, sizeof(serial), di->SerialNumber, sizeof(di->SerialNumber));
	tok_id_safe(safe, sizeof(safe), serial[0] != '\0' ? serial : name);
	snprintf(out, TOK_ID_MAX, "skf%d:%s", m->index, safe);
}

/* Returns the device names (multi-string in buf). */
static ULONG enum_devs(struct token_module *m, char buf[LIST_MAX])
{
	ULONG size = 0, rv;

	memset(buf, 0, LIST_MAX);
	if ((rv = F(m).SKF_EnumDev(TRUE, NULL, &size)) != SAR_OK)
		return rv;
	if (size > LIST_MAX - 2)
		return SAR_BUFFER_TOO_SMALL;
	size = LIST_MAX - 2;
	return F(m).SKF_EnumDev(TRUE, buf, &size);
}

/* Returns the open entry of key id, or NULL. */
static struct open_dev *open_of(struct token_module *m, const char *id)
{
	struct skf *s = m->impl;

	for (int i = 0; i < MAX_OPEN; i++)
		if (s->open[i].id[0] != '\0' && strcmp(s->open[i].id, id) == 0)
			return &s->open[i];
	return NULL;
}

/* 1 when rv says the handle's device is gone: pulled out, or the handle no longer known (a key plugged
 * back in is a new device to the library; the handles opened before stay dead). */
static int dev_gone(ULONG rv)
{
	return rv == SAR_DEVICE_REMOVED || rv == SAR_INVALIDHANDLEERR;
}

/* Ends login o whose device is gone: closes its handles (allowed on a removed device) and frees the slot.
 * No SKF_ClearSecureState: a pulled-out key has lost its login already. */
static void open_drop(struct token_module *m, struct open_dev *o)
{
	F(m).SKF_CloseApplication(o->app);
	F(m).SKF_DisConnectDev(o->dev);
	memset(o, 0, sizeof(*o));
}

/* 1 when login o still works: its device handle still reaches the key of o->id and its application
 * handle still answers. Else the login is ended (open_drop) and 0 returned. */
static int open_alive(struct token_module *m, struct open_dev *o)
{
	DEVINFO di;
	char serial[40], safe[40], want[TOK_ID_MAX];
	ULONG max = 0, left = 0, rv;
	BOOL def = FALSE;

	memset(&di, 0, sizeof(di));
	rv = F(m).SKF_GetDevInfo(o->dev, &di);
	if (rv == SAR_OK) {
		/* the same handle now reaching another key (a vendor reusing it) is no longer this login */
		tok_field(serial, sizeof(serial), di.SerialNumber, sizeof(di.SerialNumber));
		tok_id_safe(safe, sizeof(safe), serial);
		snprintf(want, sizeof(want), "skf%d:%s", m->index, safe);
		if (serial[0] != '\0' && strcmp(want, o->id) != 0)
			rv = SAR_DEVICE_REMOVED;
		else
			rv = F(m).SKF_GetPINInfo(o->app, SKF_USER_TYPE, &max, &left, &def);
	}
	if (!dev_gone(rv))
		return 1;
	open_drop(m, o);
	return 0;
}

static int skf_logged_in(struct token_module *m, const char *id)
{
	struct open_dev *o = open_of(m, id);

	return o != NULL && open_alive(m, o);
}

/* Connects to the device of key id (caller disconnects). Returns TOK_OK or TOK_NOT_FOUND. */
static int connect_id(struct token_module *m, const char *id, DEVHANDLE *dev)
{
	char names[LIST_MAX], kid[TOK_ID_MAX];

	if (enum_devs(m, names) != SAR_OK)
		return TOK_NOT_FOUND;
	for (char *n = names; *n != '\0'; n += strlen(n) + 1) {
		DEVINFO di;
		DEVHANDLE h = NULL;
		memset(&di, 0, sizeof(di));
		if (F(m).SKF_ConnectDev(n, &h) != SAR_OK)
			continue;
		if (F(m).SKF_GetDevInfo(h, &di) == SAR_OK) {
			key_id(m, &di, n, kid);
			if (strcmp(kid, id) == 0) {
				*dev = h;
				return TOK_OK;
			}
		}
		F(m).SKF_DisConnectDev(h);
	}
	return TOK_NOT_FOUND;
}

/* Returns 1 when the device has an application "CERTDESK" (or any: then it is not blank either). */
static int has_app(struct token_module *m, DEVHANDLE dev)
{
	char list[LIST_MAX] = {0};
	ULONG size = LIST_MAX - 2;

	return F(m).SKF_EnumApplication(dev, list, &size) == SAR_OK && size > 0 && list[0] != '\0';
}

/* Reads the certificate (sign or enc) of an open container into a contract object, or NULL. */
static json_t *container_cert(struct token_module *m, HCONTAINER c, const char *ref, int sign)
{
	ULONG len = 0;
	unsigned char *der;
	json_t *j = NULL;

	if (F(m).SKF_ExportCertificate(c, sign ? TRUE : FALSE, NULL, &len) != SAR_OK || len == 0 ||
	    len > 65536)
		return NULL;
	der = xcalloc(len);
	if (F(m).SKF_ExportCertificate(c, sign ? TRUE : FALSE, der, &len) == SAR_OK)
		j = tok_cert_json(der, len, ref, sign ? "sign" : "enc");
	free(der);
	return j;
}

/* Appends the certificates of every container of app to certs. */
static void app_certs(struct token_module *m, HAPPLICATION app, json_t *certs)
{
	char list[LIST_MAX] = {0};
	ULONG size = LIST_MAX - 2;

	if (F(m).SKF_EnumContainer(app, list, &size) != SAR_OK)
		return;
	for (char *n = list; *n != '\0' && n < list + LIST_MAX; n += strlen(n) + 1) {
		HCONTAINER c = NULL;
		json_t *j;
		if (F(m).SKF_OpenContainer(app, n, &c) != SAR_OK)
			continue;
		if ((j = container_cert(m, c, n, 1)) != NULL)
			json_array_append_new(certs, j);
		if ((j = container_cert(m, c, n, 0)) != NULL)
			json_array_append_new(certs, j);
		F(m).SKF_CloseContainer(c);
	}
}

/* Describes the connected device dev as the contract's Key object. */
static json_t *key_json(struct token_module *m, DEVHANDLE dev, const char *name)
{
	DEVINFO di;
	char id[TOK_ID_MAX], label[40], serial[40], model[70], manu[70];
	json_t *certs = json_array(), *pin = NULL;
	struct open_dev *o;
	HAPPLICATION app = NULL;
	int blank;

	memset(&di, 0, sizeof(di));
	F(m).SKF_GetDevInfo(dev, &di);
	key_id(m, &di, name, id);
	tok_field(label, sizeof(label), di.Label, sizeof(di.Label));
	tok_field(serial, sizeof(serial), di.SerialNumber, sizeof(di.SerialNumber));
	tok_field(manu, sizeof(manu), di.Manufacturer, sizeof(di.Manufacturer));
	tok_field(model, sizeof(model), di.Issuer,
		  sizeof(di.Issuer)); /* SKF has no model field: the issuer */
	o = open_of(m, id);
	if (o != NULL && !open_alive(m, o)) /* pulled out since the login: read through fresh handles */
		o = NULL;
	blank = !has_app(m, dev);
	if (!blank && (o != NULL || F(m).SKF_OpenApplication(dev, APP_NAME, &app) == SAR_OK)) {
		ULONG max = 0, left = 0;
		BOOL def = FALSE;
		HAPPLICATION a = o != NULL ? o->app : app;
		if (F(m).SKF_GetPINInfo(a, SKF_USER_TYPE, &max, &left, &def) == SAR_OK)
			pin = json_pack("{s:i, s:i, s:b, s:b}", "max_retries", (int)max, "retries_left",
					(int)left, "locked", left == 0, "default", def != FALSE);
		app_certs(m, a, certs);
		if (app != NULL)
			F(m).SKF_CloseApplication(app);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o*, s:[s], s:o}", "id", id, "kind",
			 "skf", "module", m->name, "label", label, "serial", serial, "model", model,
			 "manufacturer", manu, "ulong_bits", SKF_ULONG_BITS, "blank", blank, "pin", pin,
			 "algorithms", "sm2", "certificates", certs);
}

/* Ends the logins of keys that are not in list (the Key objects just listed): pulled out. */
static void drop_unlisted(struct token_module *m, json_t *list, size_t from)
{
	struct skf *s = m->impl;

	for (int i = 0; i < MAX_OPEN; i++) {
		int seen = 0;
		if (s->open[i].id[0] == '\0')
			continue;
		for (size_t k = from; k < json_array_size(list) && !seen; k++)
			seen = strcmp(json_string_value(json_object_get(json_array_get(list, k), "id")),
				      s->open[i].id) == 0;
		if (!seen)
			open_drop(m, &s->open[i]);
	}
}

static void skf_list_keys(struct token_module *m, json_t *arr)
{
	char names[LIST_MAX];
	size_t from = json_array_size(arr);

	if (enum_devs(m, names) != SAR_OK)
		return;
	for (char *n = names; *n != '\0'; n += strlen(n) + 1) {
		DEVHANDLE h = NULL;
		if (F(m).SKF_ConnectDev(n, &h) != SAR_OK)
			continue;
		json_array_append_new(arr, key_json(m, h, n));
		F(m).SKF_DisConnectDev(h);
	}
	drop_unlisted(m, arr, from);
}

/* Device authentication: GenRandom(8), zero-padded to 16, SM4-ECB under the device auth key. */
static int dev_auth(struct token_module *m, DEVHANDLE dev, struct tok_result *res)
{
	struct skf *s = m->impl;
	unsigned char rnd[16] = {0}, out[32];
	int n = 0, n2 = 0, ok, rc;
	EVP_CIPHER_CTX *ctx;

	if ((rc = sar(F(m).SKF_GenRandom(dev, rnd, 8), "SKF_GenRandom", res)) != TOK_OK)
		return rc;
	ctx = EVP_CIPHER_CTX_new();
	ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_sm4_ecb(), NULL, s->devauth, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_EncryptUpdate(ctx, out, &n, rnd, 16) == 1 &&
	     EVP_EncryptFinal_ex(ctx, out + n, &n2) == 1 && n + n2 == 16;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		snprintf(res->what, sizeof(res->what), "SM4");
		return TOK_ERROR;
	}
	return sar(F(m).SKF_DevAuth(dev, out, 16), "SKF_DevAuth", res);
}

static int skf_init(struct token_module *m, const char *id, const char *so_pin, const char *user_pin,
		    const char *label, struct tok_result *res)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	int rc;

	if (connect_id(m, id, &dev) != TOK_OK)
		return TOK_NOT_FOUND;
	if (has_app(m, dev))
		rc = TOK_NOT_BLANK;
	else if ((rc = dev_auth(m, dev, res)) == TOK_OK &&
		 (rc = sar(F(m).SKF_CreateApplication(dev, APP_NAME, (LPSTR)so_pin, 10, (LPSTR)user_pin, 6,
						      SECURE_USER_ACCOUNT, &app),
			   "SKF_CreateApplication", res)) == TOK_OK) {
		F(m).SKF_CloseApplication(app);
		F(m).SKF_SetLabel(
			dev, (LPSTR)label); /* the label is a nicety: a key that refuses it still works */
	}
	F(m).SKF_DisConnectDev(dev);
	return rc;
}

static void skf_logout(struct token_module *m, const char *id)
{
	struct open_dev *o = open_of(m, id);

	if (o == NULL)
		return;
	F(m).SKF_ClearSecureState(o->app);
	F(m).SKF_CloseApplication(o->app);
	F(m).SKF_DisConnectDev(o->dev);
	memset(o, 0, sizeof(*o));
}

static int skf_login(struct token_module *m, const char *id, const char *pin, struct tok_result *res)
{
	struct skf *s = m->impl;
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	ULONG retry = 0, max = 0, left = 0;
	BOOL def = FALSE;
	int rc;

	skf_logout(m, id); /* a fresh login checks the PIN again */
	if (connect_id(m, id, &dev) != TOK_OK)
		return TOK_NOT_FOUND;
	if ((rc = sar(F(m).SKF_OpenApplication(dev, APP_NAME, &app), "SKF_OpenApplication", res)) != TOK_OK) {
		F(m).SKF_DisConnectDev(dev);
		return rc == TOK_REF_NOT_FOUND ? TOK_BLANK : rc;
	}
	rc = sar(F(m).SKF_VerifyPIN(app, SKF_USER_TYPE, (LPSTR)pin, &retry), "SKF_VerifyPIN", res);
	if (rc == TOK_PIN_INCORRECT) {
		res->retries_left = (int)retry;
		if (retry == 0)
			rc = TOK_PIN_LOCKED;
	}
	for (int i = 0; rc == TOK_OK && i < MAX_OPEN; i++)
		if (s->open[i].id[0] == '\0') {
			str_copy(s->open[i].id, id, sizeof(s->open[i].id));
			s->open[i].dev = dev;
			s->open[i].app = app;
			res->retries_left =
				F(m).SKF_GetPINInfo(app, SKF_USER_TYPE, &max, &left, &def) == SAR_OK
					? (int)left
					: -1;
			return TOK_OK;
		}
	if (rc == TOK_OK) {
		snprintf(res->what, sizeof(res->what), "too many keys logged in");
		rc = TOK_ERROR;
	}
	F(m).SKF_CloseApplication(app);
	F(m).SKF_DisConnectDev(dev);
	return rc;
}

/* The application of logged-in key id, or an error. */
static int app_of(struct token_module *m, const char *id, HAPPLICATION *app)
{
	struct open_dev *o = open_of(m, id);

	if (o == NULL)
		return TOK_NOT_LOGGED_IN;
	*app = o->app;
	return TOK_OK;
}

/* Opens container ref of logged-in key id (caller closes). */
static int container_of(struct token_module *m, const char *id, const char *ref, HCONTAINER *c,
			struct tok_result *res)
{
	HAPPLICATION app;
	int rc;

	if ((rc = app_of(m, id, &app)) != TOK_OK)
		return rc;
	rc = sar(F(m).SKF_OpenContainer(app, (LPSTR)ref, c), "SKF_OpenContainer", res);
	return rc == TOK_ERROR && res->code != SAR_DEVICE_REMOVED ? TOK_REF_NOT_FOUND : rc;
}

/* Reads the signing public key of an open container. */
static int container_pub(struct token_module *m, HCONTAINER c, EVP_PKEY **pub, struct tok_result *res)
{
	ECCPUBLICKEYBLOB blob;
	ULONG len = sizeof(blob);
	int rc;

	memset(&blob, 0, sizeof(blob));
	if ((rc = sar(F(m).SKF_ExportPublicKey(c, TRUE, (BYTE *)&blob, &len), "SKF_ExportPublicKey", res)) !=
	    TOK_OK)
		return rc;
	*pub = len == sizeof(blob) ? skfb_pub_to_pkey(blob.BitLen, blob.XCoordinate, blob.YCoordinate) : NULL;
	if (*pub == NULL) {
		snprintf(res->what, sizeof(res->what), "ECCPUBLICKEYBLOB");
		return TOK_ERROR;
	}
	return TOK_OK;
}

static int skf_keypair_new(struct token_module *m, const char *id, const char *alg, char ref[TOK_REF_MAX],
			   EVP_PKEY **pub, struct tok_result *res)
{
	HAPPLICATION app;
	HCONTAINER c = NULL;
	ECCPUBLICKEYBLOB blob;
	char rnd[9];
	int rc;

	*pub = NULL;
	if ((rc = app_of(m, id, &app)) != TOK_OK)
		return rc;
	if (strcmp(alg, "sm2") != 0)
		return TOK_UNSUPPORTED;
	tok_random_hex(rnd, 4);
	snprintf(ref, TOK_REF_MAX, "certdesk-%s", rnd);
	if ((rc = sar(F(m).SKF_CreateContainer(app, ref, &c), "SKF_CreateContainer", res)) != TOK_OK)
		return rc;
	memset(&blob, 0, sizeof(blob));
	rc = sar(F(m).SKF_GenECCKeyPair(c, SGD_SM2_1, &blob), "SKF_GenECCKeyPair", res);
	if (rc == TOK_OK &&
	    (*pub = skfb_pub_to_pkey(blob.BitLen, blob.XCoordinate, blob.YCoordinate)) == NULL) {
		snprintf(res->what, sizeof(res->what), "ECCPUBLICKEYBLOB");
		rc = TOK_ERROR;
	}
	F(m).SKF_CloseContainer(c);
	if (rc != TOK_OK && rc != TOK_REMOVED)
		F(m).SKF_DeleteContainer(app, ref); /* no half-made container left behind */
	return rc;
}

static int skf_pubkey(struct token_module *m, const char *id, const char *ref, EVP_PKEY **pub,
		      struct tok_result *res)
{
	HCONTAINER c = NULL;
	int rc;

	*pub = NULL;
	if ((rc = container_of(m, id, ref, &c, res)) != TOK_OK)
		return rc;
	rc = container_pub(m, c, pub, res);
	F(m).SKF_CloseContainer(c);
	return rc;
}

static json_t *skf_keypairs(struct token_module *m, const char *id, int *err, struct tok_result *res)
{
	HAPPLICATION app;
	char list[LIST_MAX] = {0};
	ULONG size = LIST_MAX - 2;
	json_t *arr;

	if ((*err = app_of(m, id, &app)) != TOK_OK)
		return NULL;
	if ((*err = sar(F(m).SKF_EnumContainer(app, list, &size), "SKF_EnumContainer", res)) != TOK_OK)
		return NULL;
	arr = json_array();
	for (char *n = list; *n != '\0' && n < list + LIST_MAX; n += strlen(n) + 1) {
		HCONTAINER c = NULL;
		EVP_PKEY *pk = NULL;
		char *spki;
		json_t *certs = json_array(), *j;
		if (F(m).SKF_OpenContainer(app, n, &c) != SAR_OK) {
			json_decref(certs);
			continue;
		}
		if ((j = container_cert(m, c, n, 1)) != NULL)
			json_array_append_new(certs, json_string("sign")), json_decref(j);
		if ((j = container_cert(m, c, n, 0)) != NULL)
			json_array_append_new(certs, json_string("enc")), json_decref(j);
		if (container_pub(m, c, &pk, res) == TOK_OK && (spki = tok_spki_b64(pk)) != NULL) {
			json_array_append_new(arr,
					      json_pack("{s:s, s:s, s:s, s:O}", "key_ref", n, "algorithm",
							"sm2", "public_key", spki, "certificates", certs));
			free(spki);
		}
		json_decref(certs);
		EVP_PKEY_free(pk);
		F(m).SKF_CloseContainer(c);
	}
	return arr;
}

/* SM2 signature on the key: e = SM3(Z || data) computed here, SKF_ECCSignData(e), blob to DER. */
static int skf_sign(struct token_module *m, const char *id, const char *ref, const unsigned char *data,
		    size_t len, unsigned char **sig, size_t *siglen, struct tok_result *res)
{
	HCONTAINER c = NULL;
	EVP_PKEY *pk = NULL;
	ECCSIGNATUREBLOB sb;
	uint8_t x[32], y[32], e[32];
	unsigned char *der = NULL;
	int rc;

	*sig = NULL;
	if ((rc = container_of(m, id, ref, &c, res)) != TOK_OK)
		return rc;
	if ((rc = container_pub(m, c, &pk, res)) != TOK_OK)
		goto out;
	rc = TOK_ERROR;
	snprintf(res->what, sizeof(res->what), "SM2 digest");
	if (skfb_pkey_xy(pk, x, y) != 0 || skfb_sm2_e(x, y, data, len, e) != 0)
		goto out;
	memset(&sb, 0, sizeof(sb));
	if ((rc = sar(F(m).SKF_ECCSignData(c, e, 32, &sb), "SKF_ECCSignData", res)) != TOK_OK)
		goto out;
	snprintf(res->what, sizeof(res->what), "ECCSIGNATUREBLOB");
	if (skfb_sig_to_der(sb.r, sb.s, &der, siglen) != 0) {
		rc = TOK_ERROR;
		goto out;
	}
	*sig = xcalloc(*siglen);
	memcpy(*sig, der, *siglen);
	OPENSSL_free(der);
out:
	EVP_PKEY_free(pk);
	F(m).SKF_CloseContainer(c);
	return rc;
}

static int skf_cert_put(struct token_module *m, const char *id, const char *ref, int enc,
			const unsigned char *der, size_t len, struct tok_result *res)
{
	HCONTAINER c = NULL;
	int rc;

	if ((rc = container_of(m, id, ref, &c, res)) != TOK_OK)
		return rc;
	rc = sar(F(m).SKF_ImportCertificate(c, enc ? FALSE : TRUE, (BYTE *)der, (ULONG)len),
		 "SKF_ImportCertificate", res);
	F(m).SKF_CloseContainer(c);
	return rc;
}

/* The ENVELOPEDKEYBLOB certdeskd made (km_envelope_sm2, little-endian ULONGs of ulong_bytes). */
static int skf_enc_import(struct token_module *m, const char *id, const char *ref, json_t *wrapped,
			  struct tok_result *res)
{
	const char *fmt = json_string_value(json_object_get(wrapped, "format"));
	const char *b64 = json_string_value(json_object_get(wrapped, "blob"));
	json_int_t ub = json_integer_value(json_object_get(wrapped, "ulong_bytes"));
	size_t want = sizeof(ENVELOPEDKEYBLOB) - 1 + 16, blen;
	unsigned char *blob;
	HCONTAINER c = NULL;
	int rc;

	if (fmt == NULL || strcmp(fmt, "skf-envelopedkeyblob") != 0 || b64 == NULL)
		return TOK_BAD;
	if (ub != (json_int_t)sizeof(ULONG))
		return TOK_ULONG_MISMATCH;
	blen = strlen(b64) / 4 * 3 + 4;
	blob = xcalloc(blen > want ? blen : want);
	if (EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)strlen(b64)) < 0 ||
	    strlen(b64) != (want + 2) / 3 * 4) { /* exactly the blob of this width */
		free(blob);
		return TOK_BAD;
	}
	if ((rc = container_of(m, id, ref, &c, res)) == TOK_OK) {
		rc = sar(F(m).SKF_ImportECCKeyPair(c, (ENVELOPEDKEYBLOB *)blob), "SKF_ImportECCKeyPair", res);
		F(m).SKF_CloseContainer(c);
	}
	OPENSSL_cleanse(blob, want);
	free(blob);
	return rc;
}

static int skf_data_put(struct token_module *m, const char *id, const char *name, const unsigned char *data,
			size_t len, struct tok_result *res)
{
	HAPPLICATION app;
	ULONG rv;
	int rc;

	if ((rc = app_of(m, id, &app)) != TOK_OK)
		return rc;
	rv = F(m).SKF_DeleteFile(app, (LPSTR)name); /* a file's size is fixed at creation: replace it */
	if (rv != SAR_OK && rv != SAR_FILE_NOT_EXIST)
		return sar(rv, "SKF_DeleteFile", res);
	if ((rc = sar(F(m).SKF_CreateFile(app, (LPSTR)name, (ULONG)len, SECURE_USER_ACCOUNT,
					  SECURE_USER_ACCOUNT),
		      "SKF_CreateFile", res)) != TOK_OK)
		return rc;
	if (len == 0)
		return TOK_OK;
	return sar(F(m).SKF_WriteFile(app, (LPSTR)name, 0, (BYTE *)data, (ULONG)len), "SKF_WriteFile", res);
}

static int skf_data_get(struct token_module *m, const char *id, const char *name, unsigned char **out,
			size_t *len, struct tok_result *res)
{
	HAPPLICATION app;
	FILEATTRIBUTE fa;
	ULONG got = 0;
	int rc;

	*out = NULL;
	if ((rc = app_of(m, id, &app)) != TOK_OK)
		return rc;
	memset(&fa, 0, sizeof(fa));
	if ((rc = sar(F(m).SKF_GetFileInfo(app, (LPSTR)name, &fa), "SKF_GetFileInfo", res)) != TOK_OK)
		return rc == TOK_ERROR ? TOK_REF_NOT_FOUND : rc;
	if (fa.FileSize > 1024 * 1024)
		return TOK_ERROR;
	*out = xcalloc(fa.FileSize + 1);
	got = fa.FileSize; /* in: the buffer's size */
	if (fa.FileSize > 0 && (rc = sar(F(m).SKF_ReadFile(app, (LPSTR)name, 0, fa.FileSize, *out, &got),
					 "SKF_ReadFile", res)) != TOK_OK) {
		free(*out);
		*out = NULL;
		return rc;
	}
	*len = got;
	return TOK_OK;
}

static int skf_data_del(struct token_module *m, const char *id, const char *name, struct tok_result *res)
{
	HAPPLICATION app;
	int rc;

	if ((rc = app_of(m, id, &app)) != TOK_OK)
		return rc;
	return sar(F(m).SKF_DeleteFile(app, (LPSTR)name), "SKF_DeleteFile", res);
}

static int skf_keypair_del(struct token_module *m, const char *id, const char *ref, struct tok_result *res)
{
	HAPPLICATION app;
	HCONTAINER c = NULL;
	int rc;

	if ((rc = container_of(m, id, ref, &c, res)) != TOK_OK) /* vendors differ on deleting a missing one */
		return rc;
	F(m).SKF_CloseContainer(c);
	if ((rc = app_of(m, id, &app)) != TOK_OK)
		return rc;
	return sar(F(m).SKF_DeleteContainer(app, (LPSTR)ref), "SKF_DeleteContainer", res);
}

/* Checks the SO (admin) PIN of the application on dev. */
static int check_so(struct token_module *m, DEVHANDLE dev, const char *so_pin, struct tok_result *res)
{
	HAPPLICATION app = NULL;
	ULONG retry = 0;
	int rc;

	if ((rc = sar(F(m).SKF_OpenApplication(dev, APP_NAME, &app), "SKF_OpenApplication", res)) != TOK_OK)
		return rc;
	rc = sar(F(m).SKF_VerifyPIN(app, SKF_ADMIN_TYPE, (LPSTR)so_pin, &retry), "SKF_VerifyPIN(admin)", res);
	F(m).SKF_CloseApplication(app);
	return rc == TOK_PIN_INCORRECT || rc == TOK_PIN_LOCKED ? TOK_SO_PIN_INCORRECT : rc;
}

static int skf_wipe(struct token_module *m, const char *id, const char *so_pin, struct tok_result *res)
{
	DEVHANDLE dev = NULL;
	int rc;

	skf_logout(m, id);
	if (connect_id(m, id, &dev) != TOK_OK)
		return TOK_NOT_FOUND;
	if ((rc = check_so(m, dev, so_pin, res)) == TOK_OK && (rc = dev_auth(m, dev, res)) == TOK_OK)
		rc = sar(F(m).SKF_DeleteApplication(dev, APP_NAME), "SKF_DeleteApplication", res);
	F(m).SKF_DisConnectDev(dev);
	return rc == TOK_BLANK ? TOK_OK : rc; /* already blank: what was asked */
}

static void skf_unload(struct token_module *m)
{
	struct skf *s = m->impl;

	if (s != NULL) {
		for (int i = 0; m->ok && i < MAX_OPEN; i++)
			if (s->open[i].id[0] != '\0')
				skf_logout(m, s->open[i].id);
		if (s->dl != NULL)
			dlclose(s->dl);
		OPENSSL_cleanse(s->devauth, sizeof(s->devauth));
		free(s);
	}
	free(m);
}

static const struct token_ops skf_ops = {
	.list_keys = skf_list_keys,
	.init = skf_init,
	.login = skf_login,
	.logout = skf_logout,
	.logged_in = skf_logged_in,
	.keypair_new = skf_keypair_new,
	.keypairs = skf_keypairs,
	.pubkey = skf_pubkey,
	.sign = skf_sign,
	.cert_put = skf_cert_put,
	.enc_import = skf_enc_import,
	.data_put = skf_data_put,
	.data_get = skf_data_get,
	.data_del = skf_data_del,
	.keypair_del = skf_keypair_del,
	.wipe = skf_wipe,
	.unload = skf_unload,
};

struct token_module *SKF_LOAD(const char *path, int index, const unsigned char devauth_key[16])
{
	struct token_module *m = xcalloc(sizeof(*m));
	struct skf *s = xcalloc(sizeof(*s));
	const char *slash = strrchr(path, '/');

	m->ops = &skf_ops;
	m->kind = "skf";
	m->index = index;
	m->ulong_bits = SKF_ULONG_BITS;
	m->impl = s;
	memcpy(s->devauth, devauth_key, 16);
	str_copy(m->path, path, sizeof(m->path));
	str_copy(m->name, slash != NULL ? slash + 1 : path, sizeof(m->name));
	if ((s->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(m->error, sizeof(m->error), "无法加载: %s", dlerror());
		return m;
	}
#define SKF_SYM(ret, name, params)                                                                           \
	*(void **)&s->f.name = dlsym(s->dl, #name);                                                          \
	if (s->f.name == NULL) {                                                                             \
		snprintf(m->error, sizeof(m->error), "SKF 库缺少函数 %s", #name);                            \
		return m;                                                                                    \
	}
	SKF_FUNCTIONS(SKF_SYM)
#undef SKF_SYM
	m->ok = 1;
	return m;
}
