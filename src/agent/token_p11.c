/* The PKCS#11 backend (token.h): a module by path (dlopen + C_GetFunctionList) or p11-kit's registered
 * modules; a key is a slot with a token, its id "p11-<module index>-<token serial>" ("slot<n>" while the
 * token has no serial). Key pairs are RSA-2048/3072 and P-256 with a random CKA_ID shared by the private
 * key, the public key and the certificate, with the same CKA_LABEL, so that pkcs11-tool and p11tool pair
 * them. A logged-in key keeps one R/W session until logout. */
#include <dlfcn.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/skfblob.h"
#include "agent/token.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAX_OPEN 8
#define MAX_OBJS 64

struct open_key {
	char id[TOK_ID_MAX];
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h;
};

struct p11 {
	void *dl;
	CK_FUNCTION_LIST *f;
	struct open_key open[MAX_OPEN];
	char transport_so_pin[64]; /* [pkcs11] transport_so_pin: the SO PIN tokens ship with */
};

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* Maps a CK_RV to a tok_err, recording the code and the function. */
static int ck(CK_RV rv, const char *what, struct tok_result *res)
{
	if (rv == CKR_OK)
		return TOK_OK;
	res->code = rv;
	snprintf(res->what, sizeof(res->what), "%s", what);
	switch (rv) {
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_SESSION_CLOSED:
	case CKR_SESSION_HANDLE_INVALID:
		return TOK_REMOVED;
	case CKR_PIN_INCORRECT:
		return TOK_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return TOK_PIN_LOCKED;
	case CKR_USER_NOT_LOGGED_IN:
		return TOK_NOT_LOGGED_IN;
	case CKR_MECHANISM_INVALID:
	case CKR_FUNCTION_NOT_SUPPORTED:
		return TOK_UNSUPPORTED;
	default:
		return TOK_ERROR;
	}
}

/* Writes key id of the token in slot into out. */
static void key_id(const struct token_module *m, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
		   char out[TOK_ID_MAX])
{
	char serial[20], safe[40];

	tok_field(serial, sizeof(serial), ti->serialNumber, sizeof(ti->serialNumber));
	tok_id_safe(safe, sizeof(safe), serial);
	if (safe[0] != '\0')
		snprintf(out, TOK_ID_MAX, "p11-%d-%s", m->index, safe);
	else
		snprintf(out, TOK_ID_MAX, "p11-%d-slot%lu", m->index, (unsigned long)slot);
}

/* Finds the slot of key id (and its token info). Returns TOK_OK or TOK_NOT_FOUND. */
static int find_slot(struct token_module *m, const char *id, CK_SLOT_ID *slot, CK_TOKEN_INFO *ti)
{
	struct p11 *p = m->impl;
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	char kid[TOK_ID_MAX];

	if (p->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return TOK_NOT_FOUND;
	for (CK_ULONG i = 0; i < n; i++) {
		if (p->f->C_GetTokenInfo(slots[i], ti) != CKR_OK)
			continue;
		key_id(m, slots[i], ti, kid);
		if (strcmp(kid, id) == 0) {
			*slot = slots[i];
			return TOK_OK;
		}
	}
	return TOK_NOT_FOUND;
}

/* Returns the open (logged-in) entry of key id, or NULL. */
static struct open_key *open_of(struct p11 *p, const char *id)
{
	for (int i = 0; i < MAX_OPEN; i++)
		if (p->open[i].id[0] != '\0' && strcmp(p->open[i].id, id) == 0)
			return &p->open[i];
	return NULL;
}

/* 1 when login o still works: its session still answers with the user logged in and its slot still
 * holds the token of o->id. A token pulled out (CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID,
 * CKR_TOKEN_NOT_PRESENT, ...) or plugged back in (the session lost or no longer logged in) ends the
 * login here: the session is closed (errors ignored: it may be gone already) and 0 returned. */
static int open_alive(struct token_module *m, struct open_key *o)
{
	struct p11 *p = m->impl;
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;
	char kid[TOK_ID_MAX];
	CK_RV rv;

	memset(&si, 0, sizeof(si));
	rv = p->f->C_GetSessionInfo(o->h, &si);
	if (rv == CKR_OK && si.state != CKS_RO_USER_FUNCTIONS && si.state != CKS_RW_USER_FUNCTIONS)
		rv = CKR_USER_NOT_LOGGED_IN;
	if (rv == CKR_OK && (rv = p->f->C_GetTokenInfo(o->slot, &ti)) == CKR_OK) {
		key_id(m, o->slot, &ti, kid);
		if (strcmp(kid, o->id) != 0)
			rv = CKR_TOKEN_NOT_PRESENT; /* another token in the slot now */
	}
	if (rv == CKR_OK)
		return 1;
	if (rv != CKR_DEVICE_REMOVED && rv != CKR_TOKEN_NOT_PRESENT && rv != CKR_SESSION_HANDLE_INVALID &&
	    rv != CKR_SESSION_CLOSED && rv != CKR_USER_NOT_LOGGED_IN && rv != CKR_DEVICE_ERROR)
		return 1; /* something else (busy, not supported): not a sign that the key is gone */
	p->f->C_CloseSession(o->h);
	memset(o, 0, sizeof(*o));
	return 0;
}

static int p11_logged_in(struct token_module *m, const char *id)
{
	struct open_key *o = open_of(m->impl, id);

	return o != NULL && open_alive(m, o);
}

/* Reads attribute type of obj into *buf (caller frees). Returns the CK_RV. */
static CK_RV get_attr(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
		      unsigned char **buf, CK_ULONG *len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv = f->C_GetAttributeValue(h, obj, &a, 1);

	*buf = NULL;
	if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return rv != CKR_OK ? rv : CKR_ATTRIBUTE_TYPE_INVALID;
	a.pValue = *buf = xcalloc(a.ulValueLen + 1);
	rv = f->C_GetAttributeValue(h, obj, &a, 1);
	*len = a.ulValueLen;
	if (rv != CKR_OK) {
		free(*buf);
		*buf = NULL;
	}
	return rv;
}

/* Finds up to MAX_OBJS objects matching tmpl; returns their number (< 0: a CK_RV failure in *rv). */
static int find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		CK_OBJECT_HANDLE objs[MAX_OBJS], CK_RV *rv)
{
	CK_ULONG count = 0;

	*rv = f->C_FindObjectsInit(h, tmpl, n);
	if (*rv != CKR_OK)
		return -1;
	*rv = f->C_FindObjects(h, objs, MAX_OBJS, &count);
	f->C_FindObjectsFinal(h);
	return *rv == CKR_OK ? (int)count : -1;
}

/* Writes the hex of len bytes into out (2*len+1). */
static void hex(const unsigned char *b, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * len] = '\0';
}

/* Parses a hex key ref into bytes. Returns the length or -1. */
static int unhex(const char *ref, unsigned char out[64])
{
	size_t n = strlen(ref);

	if (n == 0 || n % 2 != 0 || n > 128 || strspn(ref, "0123456789abcdefABCDEF") != n)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		sscanf(ref + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	return (int)(n / 2);
}

/* Appends the token's certificates (public objects) to certs. */
static void list_certs(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, json_t *certs)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE objs[MAX_OBJS];
	CK_RV rv;
	int n = find(f, h, t, 1, objs, &rv);

	for (int i = 0; i < n; i++) {
		unsigned char *der = NULL, *id = NULL;
		CK_ULONG dl = 0, il = 0;
		char ref[TOK_REF_MAX] = "";
		json_t *c;
		if (get_attr(f, h, objs[i], CKA_VALUE, &der, &dl) != CKR_OK)
			continue;
		if (get_attr(f, h, objs[i], CKA_ID, &id, &il) == CKR_OK && il * 2 < sizeof(ref))
			hex(id, il, ref);
		if ((c = tok_cert_json(der, dl, ref, "sign")) != NULL)
			json_array_append_new(certs, c);
		free(der);
		free(id);
	}
}

/* Describes the token in slot as the contract's Key object. */
static json_t *key_json(struct token_module *m, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti)
{
	struct p11 *p = m->impl;
	char id[TOK_ID_MAX], label[40], serial[20], model[20], manu[40];
	struct open_key *o;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	json_t *certs = json_array(), *pin;
	int inited = (ti->flags & CKF_TOKEN_INITIALIZED) && (ti->flags & CKF_USER_PIN_INITIALIZED);
	CK_ULONG objs_seen = 0;

	key_id(m, slot, ti, id);
	tok_field(label, sizeof(label), ti->label, sizeof(ti->label));
	tok_field(serial, sizeof(serial), ti->serialNumber, sizeof(ti->serialNumber));
	tok_field(model, sizeof(model), ti->model, sizeof(ti->model));
	tok_field(manu, sizeof(manu), ti->manufacturerID, sizeof(ti->manufacturerID));
	o = open_of(p, id);
	if (o != NULL && !open_alive(m, o)) /* pulled out since the login: read through a fresh session */
		o = NULL;
	if (inited &&
	    (o != NULL || p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) == CKR_OK)) {
		CK_OBJECT_HANDLE any[MAX_OBJS];
		CK_RV rv;
		int n = find(p->f, o != NULL ? o->h : h, NULL, 0, any, &rv);
		objs_seen = n > 0 ? (CK_ULONG)n : 0;
		list_certs(p->f, o != NULL ? o->h : h, certs);
		if (h != CK_INVALID_HANDLE)
			p->f->C_CloseSession(h);
	}
	/* PKCS#11 tells only "low", "final try" and "locked": -1 is "not known" */
	pin = json_pack("{s:i, s:i, s:b, s:b}", "max_retries", -1, "retries_left",
			(ti->flags & CKF_USER_PIN_LOCKED)      ? 0
			: (ti->flags & CKF_USER_PIN_FINAL_TRY) ? 1
							       : -1,
			"locked", (ti->flags & CKF_USER_PIN_LOCKED) != 0, "default",
			(ti->flags & CKF_USER_PIN_TO_BE_CHANGED) != 0);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:[sss], s:o}", "id", id, "kind",
			 "pkcs11", "module", m->name, "label", label, "serial", serial, "model", model,
			 "manufacturer", manu, "blank", !inited || (objs_seen == 0 && o == NULL), "pin", pin,
			 "algorithms", "rsa-2048", "rsa-3072", "ec-p256", "certificates", certs);
}

/* 1 when the token in slot is listed as a key. A fixed (not removable) slot whose token is not
 * initialised is a software token store's free slot (SoftHSM2 always adds one), not a key anyone
 * plugged in: listing it made "exactly one key" impossible for the renewal wizard and the producer's
 * page on a PC with such a store. A USB token's slot is removable, so a blank one is still listed. */
static int listed(struct p11 *p, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti)
{
	CK_SLOT_INFO si;

	if (ti->flags & CKF_TOKEN_INITIALIZED)
		return 1;
	memset(&si, 0, sizeof(si));
	return p->f->C_GetSlotInfo(slot, &si) != CKR_OK || (si.flags & CKF_REMOVABLE_DEVICE) != 0;
}

static void p11_list_keys(struct token_module *m, json_t *arr)
{
	struct p11 *p = m->impl;
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	CK_TOKEN_INFO ti;

	if (p->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return;
	for (CK_ULONG i = 0; i < n; i++)
		if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && listed(p, slots[i], &ti))
			json_array_append_new(arr, key_json(m, slots[i], &ti));
}

/* Copies s blank-padded into a 32-byte PKCS#11 label. */
static void pad32(CK_UTF8CHAR out[32], const char *s)
{
	size_t n = strlen(s);

	memset(out, ' ', 32);
	memcpy(out, s, n > 32 ? 32 : n);
}

static void p11_logout(struct token_module *m, const char *id)
{
	struct p11 *p = m->impl;
	struct open_key *o = open_of(p, id);

	if (o == NULL)
		return;
	p->f->C_Logout(o->h);
	p->f->C_CloseSession(o->h);
	memset(o, 0, sizeof(*o));
}

static int p11_init(struct token_module *m, const char *id, const char *so_pin, const char *user_pin,
		    const char *label, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_UTF8CHAR lab[32];
	CK_SESSION_HANDLE h;
	const char *first = so_pin;
	json_t *k;
	int rc, blank;

	if (find_slot(m, id, &slot, &ti) != TOK_OK)
		return TOK_NOT_FOUND;
	k = key_json(m, slot, &ti);
	blank = json_is_true(json_object_get(k, "blank"));
	json_decref(k);
	if (!blank)
		return TOK_NOT_BLANK;
	/* C_InitToken of an initialised token wants its current SO PIN and keeps it: a token initialised
	 * at the factory has the transport SO PIN, changed to so_pin below */
	if ((ti.flags & CKF_TOKEN_INITIALIZED) && p->transport_so_pin[0] != '\0')
		first = p->transport_so_pin;
	p11_logout(m, id);
	pad32(lab, label);
	rc = ck(p->f->C_InitToken(slot, (CK_UTF8CHAR *)first, strlen(first), lab), "C_InitToken", res);
	if (rc != TOK_OK)
		return rc == TOK_PIN_INCORRECT ? TOK_SO_PIN_INCORRECT : rc;
	if ((rc = ck(p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
		     "C_OpenSession", res)) != TOK_OK)
		return rc;
	rc = ck(p->f->C_Login(h, CKU_SO, (CK_UTF8CHAR *)first, strlen(first)), "C_Login(SO)", res);
	if (rc == TOK_OK && first != so_pin)
		rc = ck(p->f->C_SetPIN(h, (CK_UTF8CHAR *)first, strlen(first), (CK_UTF8CHAR *)so_pin,
				       strlen(so_pin)),
			"C_SetPIN(SO)", res);
	if (rc == TOK_OK)
		rc = ck(p->f->C_InitPIN(h, (CK_UTF8CHAR *)user_pin, strlen(user_pin)), "C_InitPIN", res);
	p->f->C_Logout(h);
	p->f->C_CloseSession(h);
	return rc;
}

static int p11_login(struct token_module *m, const char *id, const char *pin, struct tok_result *res)
{
	struct p11 *p = m->impl;
	struct open_key *o = open_of(p, id);
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h;
	CK_RV rv;
	int rc;

	if (find_slot(m, id, &slot, &ti) != TOK_OK)
		return TOK_NOT_FOUND;
	if (!(ti.flags & CKF_USER_PIN_INITIALIZED))
		return TOK_BLANK;
	if (o != NULL)
		p11_logout(m, id); /* a fresh login checks the PIN again */
	if ((rc = ck(p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
		     "C_OpenSession", res)) != TOK_OK)
		return rc;
	rv = p->f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		rc = ck(rv, "C_Login", res);
		p->f->C_CloseSession(h);
		if (p->f->C_GetTokenInfo(slot, &ti) == CKR_OK) {
			if (ti.flags & CKF_USER_PIN_LOCKED)
				return TOK_PIN_LOCKED;
			res->retries_left = (ti.flags & CKF_USER_PIN_FINAL_TRY) ? 1 : -1;
		}
		return rc;
	}
	for (int i = 0; i < MAX_OPEN; i++)
		if (p->open[i].id[0] == '\0') {
			str_copy(p->open[i].id, id, sizeof(p->open[i].id));
			p->open[i].slot = slot;
			p->open[i].h = h;
			res->retries_left = (ti.flags & CKF_USER_PIN_FINAL_TRY) ? 1 : -1;
			return TOK_OK;
		}
	p->f->C_Logout(h);
	p->f->C_CloseSession(h);
	snprintf(res->what, sizeof(res->what), "too many keys logged in");
	return TOK_ERROR;
}

/* The logged-in session of key id, or an error. */
static int session_of(struct token_module *m, const char *id, CK_SESSION_HANDLE *h)
{
	struct open_key *o = open_of(m->impl, id);

	if (o == NULL)
		return TOK_NOT_LOGGED_IN;
	*h = o->h;
	return TOK_OK;
}

/* Finds the object of class cls with CKA_ID id (len bytes). Returns TOK_OK with *obj, or an error. */
static int find_by_id(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const unsigned char *id,
		      int len, CK_OBJECT_HANDLE *obj, struct tok_result *res)
{
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)id, (CK_ULONG)len}};
	CK_OBJECT_HANDLE objs[MAX_OBJS];
	CK_RV rv;
	int n = find(f, h, t, 2, objs, &rv);

	if (n < 0)
		return ck(rv, "C_FindObjects", res);
	if (n == 0)
		return TOK_REF_NOT_FOUND;
	*obj = objs[0];
	return TOK_OK;
}

static int p11_pubkey(struct token_module *m, const char *id, const char *ref, EVP_PKEY **pub,
		      struct tok_result *res);

static int p11_keypair_new(struct token_module *m, const char *id, const char *alg, char ref[TOK_REF_MAX],
			   EVP_PKEY **pub, struct tok_result *res)
{
	static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	static const unsigned char e65537[] = {0x01, 0x00, 0x01};
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	unsigned char kid[8];
	char label[32];
	CK_ULONG bits = strcmp(alg, "rsa-3072") == 0 ? 3072 : 2048;
	int rsa = strncmp(alg, "rsa-", 4) == 0, rc;
	CK_MECHANISM mech = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE hpub, hpriv;

	*pub = NULL;
	if ((rc = session_of(m, id, &h)) != TOK_OK)
		return rc;
	if (!rsa && strcmp(alg, "ec-p256") != 0)
		return TOK_UNSUPPORTED; /* SM2 needs the vendor's mechanisms: through SKF */
	RAND_bytes(kid, sizeof(kid));
	hex(kid, sizeof(kid), ref);
	snprintf(label, sizeof(label), "certdesk-%.8s", ref);
	CK_ATTRIBUTE pubt[] = {
		{CKA_TOKEN, (void *)&yes, sizeof(yes)},
		{CKA_PRIVATE, (void *)&no, sizeof(no)},
		{CKA_VERIFY, (void *)&yes, sizeof(yes)},
		{CKA_ID, kid, sizeof(kid)},
		{CKA_LABEL, label, strlen(label)},
		rsa ? (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)}
		    : (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
		{CKA_PUBLIC_EXPONENT, (void *)e65537, sizeof(e65537)},
	};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, (void *)&yes, sizeof(yes)},     {CKA_PRIVATE, (void *)&yes, sizeof(yes)},
		{CKA_SENSITIVE, (void *)&yes, sizeof(yes)}, {CKA_EXTRACTABLE, (void *)&no, sizeof(no)},
		{CKA_SIGN, (void *)&yes, sizeof(yes)},      {CKA_ID, kid, sizeof(kid)},
		{CKA_LABEL, label, strlen(label)},
	};
	rc = ck(p->f->C_GenerateKeyPair(h, &mech, pubt, rsa ? 7 : 6, privt, 7, &hpub, &hpriv),
		"C_GenerateKeyPair", res);
	if (rc != TOK_OK)
		return rc;
	return p11_pubkey(m, id, ref, pub, res);
}

/* Builds an RSA public key from modulus and exponent. */
static EVP_PKEY *rsa_pub(const unsigned char *n, size_t nl, const unsigned char *e, size_t el)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	if (b != NULL && bn != NULL && be != NULL &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(b)) != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* Builds a P-256 public key from CKA_EC_POINT (a DER OCTET STRING, or the bare point). */
static EVP_PKEY *ec_pub(const unsigned char *pt, size_t len)
{
	const unsigned char *q = pt;
	ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)len);
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	if (os != NULL && q == pt + len) {
		pt = ASN1_STRING_get0_data(os);
		len = (size_t)ASN1_STRING_length(os);
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	ASN1_OCTET_STRING_free(os);
	return pk;
}

/* Reads the public key object obj. */
static EVP_PKEY *read_pub(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG al = 0, bl = 0;
	EVP_PKEY *pk = NULL;

	if (get_attr(f, h, obj, CKA_MODULUS, &a, &al) == CKR_OK &&
	    get_attr(f, h, obj, CKA_PUBLIC_EXPONENT, &b, &bl) == CKR_OK)
		pk = rsa_pub(a, al, b, bl);
	else if (get_attr(f, h, obj, CKA_EC_POINT, &a, &al) == CKR_OK)
		pk = ec_pub(a, al);
	free(a);
	free(b);
	return pk;
}

static int p11_pubkey(struct token_module *m, const char *id, const char *ref, EVP_PKEY **pub,
		      struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	unsigned char kid[64];
	int n = unhex(ref, kid), rc;

	*pub = NULL;
	if ((rc = session_of(m, id, &h)) != TOK_OK)
		return rc;
	if (n < 0)
		return TOK_REF_NOT_FOUND;
	if ((rc = find_by_id(p->f, h, CKO_PUBLIC_KEY, kid, n, &obj, res)) != TOK_OK)
		return rc;
	*pub = read_pub(p->f, h, obj);
	if (*pub == NULL) {
		snprintf(res->what, sizeof(res->what), "public key unreadable");
		return TOK_ERROR;
	}
	return TOK_OK;
}

/* Returns the algorithm name of public key pk ("rsa-2048", "ec-p256", ...). */
static const char *alg_of(EVP_PKEY *pk)
{
	if (EVP_PKEY_is_a(pk, "RSA"))
		return EVP_PKEY_get_bits(pk) == 3072   ? "rsa-3072"
		       : EVP_PKEY_get_bits(pk) == 2048 ? "rsa-2048"
						       : "rsa";
	return "ec-p256";
}

static json_t *p11_keypairs(struct token_module *m, const char *id, int *err, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE objs[MAX_OBJS], cert;
	CK_RV rv;
	json_t *arr;
	int n;

	if ((*err = session_of(m, id, &h)) != TOK_OK)
		return NULL;
	if ((n = find(p->f, h, t, 1, objs, &rv)) < 0) {
		*err = ck(rv, "C_FindObjects", res);
		return NULL;
	}
	arr = json_array();
	for (int i = 0; i < n; i++) {
		unsigned char *kid = NULL;
		CK_ULONG kl = 0;
		char ref[TOK_REF_MAX], *spki;
		EVP_PKEY *pk = NULL;
		if (get_attr(p->f, h, objs[i], CKA_ID, &kid, &kl) != CKR_OK || kl == 0 || kl > 64) {
			free(kid);
			continue;
		}
		hex(kid, kl, ref);
		if (p11_pubkey(m, id, ref, &pk, res) == TOK_OK && (spki = tok_spki_b64(pk)) != NULL) {
			json_t *certs = json_array();
			if (find_by_id(p->f, h, CKO_CERTIFICATE, kid, (int)kl, &cert, res) == TOK_OK)
				json_array_append_new(certs, json_string("sign"));
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "key_ref", ref,
							     "algorithm", alg_of(pk), "public_key", spki,
							     "certificates", certs));
			free(spki);
		}
		EVP_PKEY_free(pk);
		free(kid);
	}
	return arr;
}

/* Signs with the private key obj: RSA CKM_SHA256_RSA_PKCS; EC SHA-256 then raw CKM_ECDSA (SoftHSM has
 * no CKM_ECDSA_SHA256), r||s turned into DER. */
static int sign_with(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, int rsa,
		     const unsigned char *data, size_t len, unsigned char **sig, size_t *siglen,
		     struct tok_result *res)
{
	CK_MECHANISM mech = {rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
	unsigned char md[32], *raw;
	CK_ULONG rl = 0;
	int rc;

	if (!rsa) {
		SHA256(data, len, md);
		data = md;
		len = sizeof(md);
	}
	if ((rc = ck(f->C_SignInit(h, &mech, obj), "C_SignInit", res)) != TOK_OK)
		return rc;
	if ((rc = ck(f->C_Sign(h, (CK_BYTE *)data, len, NULL, &rl), "C_Sign", res)) != TOK_OK)
		return rc;
	raw = xcalloc(rl + 1);
	if ((rc = ck(f->C_Sign(h, (CK_BYTE *)data, len, raw, &rl), "C_Sign", res)) != TOK_OK) {
		free(raw);
		return rc;
	}
	if (rsa) {
		*sig = raw;
		*siglen = rl;
		return TOK_OK;
	}
	rc = skfb_raw_to_der(raw, rl, sig, siglen) == 0 ? TOK_OK : TOK_ERROR;
	free(raw);
	if (rc == TOK_OK) { /* skfb_raw_to_der allocates with OpenSSL: hand out a malloc'd copy */
		unsigned char *copy = xcalloc(*siglen);
		memcpy(copy, *sig, *siglen);
		OPENSSL_free(*sig);
		*sig = copy;
	}
	return rc;
}

static int p11_sign(struct token_module *m, const char *id, const char *ref, const unsigned char *data,
		    size_t len, unsigned char **sig, size_t *siglen, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof(kt)};
	unsigned char kid[64];
	int n = unhex(ref, kid), rc;

	*sig = NULL;
	if ((rc = session_of(m, id, &h)) != TOK_OK)
		return rc;
	if (n < 0)
		return TOK_REF_NOT_FOUND;
	if ((rc = find_by_id(p->f, h, CKO_PRIVATE_KEY, kid, n, &obj, res)) != TOK_OK)
		return rc;
	if ((rc = ck(p->f->C_GetAttributeValue(h, obj, &a, 1), "C_GetAttributeValue", res)) != TOK_OK)
		return rc;
	return sign_with(p->f, h, obj, kt == CKK_RSA, data, len, sig, siglen, res);
}

/* Destroys every object matching tmpl; with must, finding none is TOK_REF_NOT_FOUND. */
static int destroy_all(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG n, int must,
		       struct tok_result *res)
{
	CK_OBJECT_HANDLE objs[MAX_OBJS];
	CK_RV rv;
	int count = find(f, h, tmpl, n, objs, &rv), rc = TOK_OK;

	if (count < 0)
		return ck(rv, "C_FindObjects", res);
	if (count == 0 && must)
		return TOK_REF_NOT_FOUND;
	for (int i = 0; i < count && rc == TOK_OK; i++)
		rc = ck(f->C_DestroyObject(h, objs[i]), "C_DestroyObject", res);
	return rc;
}

static int p11_cert_put(struct token_module *m, const char *id, const char *ref, int enc,
			const unsigned char *der, size_t len, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key, obj;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	unsigned char kid[64], *label = NULL, *subj = NULL, *iss = NULL, *ser = NULL;
	CK_ULONG ll = 0;
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)len);
	int n = unhex(ref, kid), rc, sl, il, snl;

	if ((rc = session_of(m, id, &h)) != TOK_OK || (rc = enc ? TOK_UNSUPPORTED : TOK_OK) != TOK_OK ||
	    (rc = n < 0 ? TOK_REF_NOT_FOUND : TOK_OK) != TOK_OK ||
	    (rc = x == NULL ? TOK_BAD : TOK_OK) != TOK_OK ||
	    (rc = find_by_id(p->f, h, CKO_PRIVATE_KEY, kid, n, &key, res)) != TOK_OK)
		goto out;
	if ((rc = ck(get_attr(p->f, h, key, CKA_LABEL, &label, &ll), "C_GetAttributeValue", res)) != TOK_OK)
		goto out;
	sl = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	il = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
	snl = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &ser);
	CK_ATTRIBUTE cls_id[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, kid, (CK_ULONG)n}};
	if ((rc = destroy_all(p->f, h, cls_id, 2, 0, res)) != TOK_OK) /* a second write replaces the first */
		goto out;
	CK_ATTRIBUTE t[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
		{CKA_TOKEN, (void *)&yes, sizeof(yes)},
		{CKA_PRIVATE, (void *)&no, sizeof(no)},
		{CKA_VALUE, (void *)der, len},
		{CKA_ID, kid, (CK_ULONG)n},
		{CKA_LABEL, label, ll},
		{CKA_SUBJECT, subj, (CK_ULONG)sl},
		{CKA_ISSUER, iss, (CK_ULONG)il},
		{CKA_SERIAL_NUMBER, ser, (CK_ULONG)snl},
	};
	rc = ck(p->f->C_CreateObject(h, t, 10, &obj), "C_CreateObject", res);
out:
	OPENSSL_free(subj);
	OPENSSL_free(iss);
	OPENSSL_free(ser);
	free(label);
	X509_free(x);
	return rc;
}

static int p11_enc_import(struct token_module *m, const char *id, const char *ref, json_t *wrapped,
			  struct tok_result *res)
{
	(void)m, (void)id, (void)ref, (void)wrapped, (void)res;
	return TOK_UNSUPPORTED; /* RSA and P-256 profiles are single-certificate (README) */
}

/* The template of data object name: CKO_DATA, CKA_APPLICATION "certdesk", CKA_LABEL name. */
#define DATA_TMPL(name)                                                                                      \
	{CKA_CLASS, &dcls, sizeof(dcls)}, {CKA_APPLICATION, (void *)"certdesk", 8},                          \
	{                                                                                                    \
		CKA_LABEL, (void *)(name), strlen(name)                                                      \
	}
static CK_OBJECT_CLASS dcls = CKO_DATA; /* not const: templates take void * */

static int p11_data_put(struct token_module *m, const char *id, const char *name, const unsigned char *data,
			size_t len, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE obj;
	CK_ATTRIBUTE t[] = {DATA_TMPL(name),
			    {CKA_TOKEN, (void *)&yes, sizeof(yes)},
			    {CKA_PRIVATE, (void *)&yes, sizeof(yes)},
			    {CKA_VALUE, (void *)data, len}};
	int rc;

	if ((rc = session_of(m, id, &h)) != TOK_OK || (rc = destroy_all(p->f, h, t, 3, 0, res)) != TOK_OK)
		return rc;
	return ck(p->f->C_CreateObject(h, t, 6, &obj), "C_CreateObject", res);
}

static int p11_data_get(struct token_module *m, const char *id, const char *name, unsigned char **out,
			size_t *len, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE objs[MAX_OBJS];
	CK_ATTRIBUTE t[] = {DATA_TMPL(name)};
	CK_ULONG l = 0;
	CK_RV rv;
	int rc, n;

	*out = NULL;
	if ((rc = session_of(m, id, &h)) != TOK_OK)
		return rc;
	if ((n = find(p->f, h, t, 3, objs, &rv)) < 0)
		return ck(rv, "C_FindObjects", res);
	if (n == 0)
		return TOK_REF_NOT_FOUND;
	if ((rc = ck(get_attr(p->f, h, objs[0], CKA_VALUE, out, &l), "C_GetAttributeValue", res)) == TOK_OK)
		*len = l;
	return rc;
}

static int p11_data_del(struct token_module *m, const char *id, const char *name, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	CK_ATTRIBUTE t[] = {DATA_TMPL(name)};
	int rc;

	if ((rc = session_of(m, id, &h)) != TOK_OK)
		return rc;
	return destroy_all(p->f, h, t, 3, 1, res);
}

static int p11_keypair_del(struct token_module *m, const char *id, const char *ref, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SESSION_HANDLE h;
	unsigned char kid[64];
	int n = unhex(ref, kid), rc;

	if ((rc = session_of(m, id, &h)) != TOK_OK)
		return rc;
	if (n < 0)
		return TOK_REF_NOT_FOUND;
	CK_ATTRIBUTE t[] = {{CKA_ID, kid, (CK_ULONG)n}}; /* private and public key, certificate */
	return destroy_all(p->f, h, t, 1, 1, res);
}

static int p11_wipe(struct token_module *m, const char *id, const char *so_pin, struct tok_result *res)
{
	struct p11 *p = m->impl;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h;
	int rc;

	if (find_slot(m, id, &slot, &ti) != TOK_OK)
		return TOK_NOT_FOUND;
	p11_logout(m, id);
	p->f->C_CloseAllSessions(slot); /* C_InitToken refuses while sessions are open */
	rc = ck(p->f->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, strlen(so_pin), ti.label), "C_InitToken", res);
	if (rc == TOK_PIN_INCORRECT || rc == TOK_PIN_LOCKED)
		return TOK_SO_PIN_INCORRECT;
	if (rc != TOK_OK || p->transport_so_pin[0] == '\0' || strcmp(so_pin, p->transport_so_pin) == 0)
		return rc;
	/* blank as it came from the factory: the transport SO PIN again, so that init takes it */
	if ((rc = ck(p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
		     "C_OpenSession", res)) != TOK_OK)
		return rc;
	rc = ck(p->f->C_Login(h, CKU_SO, (CK_UTF8CHAR *)so_pin, strlen(so_pin)), "C_Login(SO)", res);
	if (rc == TOK_OK)
		rc = ck(p->f->C_SetPIN(h, (CK_UTF8CHAR *)so_pin, strlen(so_pin),
				       (CK_UTF8CHAR *)p->transport_so_pin, strlen(p->transport_so_pin)),
			"C_SetPIN(SO)", res);
	p->f->C_Logout(h);
	p->f->C_CloseSession(h);
	return rc;
}

static void p11_unload(struct token_module *m)
{
	struct p11 *p = m->impl;

	if (p != NULL) {
		for (int i = 0; i < MAX_OPEN; i++)
			if (p->open[i].id[0] != '\0')
				p11_logout(m, p->open[i].id);
		if (p->f != NULL)
			p->f->C_Finalize(NULL);
		if (p->dl != NULL)
			dlclose(p->dl);
		free(p);
	}
	free(m);
}

static const struct token_ops p11_ops = {
	.list_keys = p11_list_keys,
	.init = p11_init,
	.login = p11_login,
	.logout = p11_logout,
	.logged_in = p11_logged_in,
	.keypair_new = p11_keypair_new,
	.keypairs = p11_keypairs,
	.pubkey = p11_pubkey,
	.sign = p11_sign,
	.cert_put = p11_cert_put,
	.enc_import = p11_enc_import,
	.data_put = p11_data_put,
	.data_get = p11_data_get,
	.data_del = p11_data_del,
	.keypair_del = p11_keypair_del,
	.wipe = p11_wipe,
	.unload = p11_unload,
};

struct token_module *token_p11_load(const char *path, int index, const char *transport_so_pin)
{
	struct token_module *m = xcalloc(sizeof(*m));
	struct p11 *p = xcalloc(sizeof(*p));
	CK_C_GetFunctionList get = NULL;
	CK_C_INITIALIZE_ARGS args = {0};
	const char *slash = strrchr(path, '/');
	CK_RV rv;

	m->ops = &p11_ops;
	m->kind = "pkcs11";
	m->index = index;
	m->impl = p;
	str_copy(p->transport_so_pin, transport_so_pin != NULL ? transport_so_pin : "",
		 sizeof(p->transport_so_pin));
	str_copy(m->path, path, sizeof(m->path));
	str_copy(m->name, slash != NULL ? slash + 1 : path, sizeof(m->name));
	if ((p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(m->error, sizeof(m->error), "无法加载: %s", dlerror());
		return m;
	}
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL || get(&p->f) != CKR_OK || p->f == NULL) {
		snprintf(m->error, sizeof(m->error), "不是 PKCS#11 模块（没有 C_GetFunctionList）");
		p->f = NULL;
		return m;
	}
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = p->f->C_Initialize(&args)) != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(m->error, sizeof(m->error), "C_Initialize 失败 (0x%lx)", (unsigned long)rv);
		p->f = NULL;
		return m;
	}
	m->ok = 1;
	return m;
}

void token_p11_load_registered(struct token_module ***mods, int *count, int index,
			       const char *transport_so_pin)
{
	CK_FUNCTION_LIST **list = p11_kit_modules_load(NULL, 0);

	*mods = NULL;
	*count = 0;
	for (int i = 0; list != NULL && list[i] != NULL; i++) {
		char *file = p11_kit_module_get_filename(list[i]);
		if (file != NULL) {
			*mods = xrealloc(*mods, sizeof(**mods) * (size_t)(*count + 1));
			(*mods)[(*count)++] = token_p11_load(file, index++, transport_so_pin);
		}
		free(file);
	}
	if (list != NULL)
		p11_kit_modules_release(list);
}
