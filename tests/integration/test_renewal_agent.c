/* Online renewal THROUGH certdesk-agent (issue 15): the real certdeskd, certdesk-signer, certdesk-sim
 * (WeChat Pay) and certdesk-agent over the 32-bit software SKF key and SoftHSM2. Keys are first produced
 * through the agent as the producer's page does (agent_helpers.c); then the /renew wizard's calls
 * (web/src/renewal.ts) are made in C in its order: agent GET /v1/keys (exactly one key, its signing
 * certificate) → POST /renewals/challenge → agent login with the PIN + sign → prove → create → pay on
 * the simulator → a fresh challenge signed on the key → (rekey: new key pair, CSR, the old key's
 * signature) → issue → the agent writes the certificates (+ enc key, + seals as data objects) → read
 * back through the agent → complete.
 *  1. software SKF key, SM2 dual main key with seals, recertify; the key pulled out after the new
 *     signing certificate was written (remove-after), plugged in again and resumed: the key then holds
 *     the new sign + enc certificates in the same container and new seals bound to the new signing
 *     certificate; the validity continues from the old expiry; the certificate verifies in C (pki SM2);
 *     the old one is good until complete and superseded after; `certdesk-agent list --json` shows it;
 *  2. SoftHSM2 (P-256) secondary key, rekey: a new key pair on the token, its CSR and the old key's
 *     signature; the new certificate verifies with openssl; the old key pair and certificate stay on
 *     the token (no transition period is implemented: nothing removes them);
 *  3. bad cases through the agent: no key, two keys, a wrong PIN (retries left as the key reports
 *     them), paying for key A then inserting key B (key_changed), the agent killed between issue and
 *     write (the same certificates come back, one certificates row), a locked PIN (pin_locked);
 *  4. a certificate from before certdesk (`certdesk certs import`) on a software key renews. */
#define _GNU_SOURCE /* strptime, timegm */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "agent_helpers.h"
#include "config/config.h"
#include "ca_setup.h"
#include "harness.h"
#include "renewal_helpers.h"
#include "pki/pki.h"
#include "pki_helpers.h"
#include "seal/seal.h"
#include "store/store.h"

static struct srv S; /* certdeskd, the signer and the simulator */
static struct config cfg;
static struct db *db;
static struct client org, org2, org3, producer;
static int skipped, teardown_failed;
static char key1_pin[40]; /* RAKEY01's user PIN (test 1) */

#define INVOICE                                                                                                  \
	"{\"years\":%d,\"invoice\":{\"kind\":\"org\",\"handler_name\":\"张三\",\"phone\":\"13800138000\","     \
	"\"unit_name\":\"鹰潭更新联调有限公司\",\"tax_number\":\"91310115MA1K3BTP2B\",\"email\":\"fp@" \
	"example.com\"}}"

/* --- small helpers --- */

/* Decodes base64 s (caller frees); *len its length. */
static unsigned char *unb64(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out = malloc(n + 4);
	int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);

	assert_true(got >= 0);
	got -= (n > 0 && s[n - 1] == '=') + (n > 1 && s[n - 2] == '=');
	*len = (size_t)got;
	return out;
}

/* The base64 SubjectPublicKeyInfo of the certificate of base64 DER b64 (as the agent lists a key pair's
 * public key; web/src/renewal.ts certificateSpki). Caller frees. */
static char *spki_of(const char *b64)
{
	X509 *x = cert_of_b64(b64);
	unsigned char *d = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &d);
	char *out = calloc(1, (size_t)n * 2 + 4);

	EVP_EncodeBlock((unsigned char *)out, d, n);
	OPENSSL_free(d);
	X509_free(x);
	return out;
}

/* The number of certificates rows of order no (a second issuance would add some). */
static int64_t cert_rows(const char *no)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;

	assert_int_equal(
		db_query_int(c,
			     "SELECT COUNT(*) FROM certificates WHERE order_id = (SELECT id FROM orders WHERE"
			     " order_no = ?)",
			     DB_ARGS(DB_TEXT(no)), &n),
		DB_OK);
	db_release(c);
	return n;
}

/* Asserts certificate serial's status (and reason when not NULL) as staff see it. */
static void cert_status(const char *serial, const char *status, const char *reason)
{
	char path[160];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", serial);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	assert_string_equal(jstr(j, "status"), status);
	if (reason != NULL)
		assert_string_equal(jstr(j, "reason"), reason);
	json_decref(j);
}

/* A produced key: the production through the agent of an order of oc's onto key serial. */
static void produced_key(struct prod *p, struct client *oc, const char *key_type, const char *serial)
{
	char no[32];

	producing_order(db, oc, key_type, no);
	prod_init(p, no, serial);
	produce(p, ST_COMPLETE);
	it_sql(db, "UPDATE orders SET state = 'shipped' WHERE order_no = ?", no);
}

/* --- the /renew wizard (web/src/renewal.ts), one function per call --- */

struct renew {
	char key_serial[64]; /* the key as the agent lists it */
	char id[128];        /* its agent key id */
	char pin[40];
	char session[40];
	char *cert;         /* the signing certificate renewed, base64 DER as read from the key */
	char serial[64];    /* its serial */
	char not_after[32]; /* its expiry as the agent reads it */
	char cert_ref[64];  /* its key pair */
	char key_ref[64];   /* where the new certificates go (rekey: the new pair) */
	char token[80];
	char no[32];      /* the renewal */
	json_t *terms;    /* the challenge reply shown at 证书确认 */
	json_t *renewal;  /* the Renewal */
	json_t *body;     /* the issue body being built */
	json_t *issued;   /* the issue reply */
	json_t *readback; /* [{usage, der}] read back through the agent */
	json_t *done;     /* the complete reply */
	char err[40];     /* the error code of the last failed call */
	long status;      /* and its HTTP status */
	int retries_left; /* a wrong PIN: the retries left the agent reported */
};

static void renew_init(struct renew *r, const char *pin)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->pin, sizeof(r->pin), "%s", pin);
}

static void renew_free(struct renew *r)
{
	free(r->cert);
	json_decref(r->terms);
	json_decref(r->renewal);
	json_decref(r->body);
	json_decref(r->issued);
	json_decref(r->readback);
	json_decref(r->done);
	memset(r, 0, sizeof(*r));
}

/* Records the status of a call and, when it failed, its error code; returns st. */
static long noted(struct renew *r, long st, json_t *j)
{
	r->status = st;
	snprintf(r->err, sizeof(r->err), "%s", st >= 400 ? error_code(j) : "");
	json_decref(j);
	return st;
}

/* The usage certificate the renewal issued (base64 DER), "" before issue. */
static const char *issued_der(const struct renew *r, const char *usage)
{
	json_t *c;
	size_t i;

	json_array_foreach (json_object_get(r->issued, "certificates"), i, c)
		if (strcmp(jstr(c, "usage"), usage) == 0)
			return jstr(c, "der");
	return "";
}

/* Serial numbers compared as hex without leading zeros and case (sameSerial). */
static int same_serial(const char *a, const char *b)
{
	while (*a == '0')
		a++;
	while (*b == '0')
		b++;
	return *a != '\0' && strcasecmp(a, b) == 0;
}

/* 1 when serial is the certificate renewal r paid for, or the signing certificate it issued already
 * (new_certificates: on a key pulled out after that was written, recertify having replaced the old one
 * in its container), as web/src/renewal.ts chooseRenewKey(keys, paidSerials(renewal)) does. */
static int paid_for(const struct renew *r, const char *paid, const char *serial)
{
	json_t *c;
	size_t i;

	if (same_serial(serial, paid))
		return 1;
	json_array_foreach (json_object_get(r->renewal, "new_certificates"), i, c)
		if (strcmp(jstr(c, "kind"), "sign") == 0 && same_serial(serial, jstr(c, "serial")))
			return 1;
	return 0;
}

/* chooseRenewKey: exactly one key, and on it the signing certificate to renew: with paid (a renewal
 * under way) the one paid for (paid_for), else the one that expires last. Returns "" or the wizard's
 * code (no_key, many_keys, no_certificate, key_changed). */
static const char *choose_key(struct renew *r, const char *paid)
{
	json_t *j = NULL, *keys, *key, *c, *pick = NULL;
	static char code[20];
	size_t i;

	assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
	keys = json_object_get(j, "keys");
	code[0] = '\0';
	if (json_array_size(keys) != 1) {
		snprintf(code, sizeof(code), "%s", json_array_size(keys) == 0 ? "no_key" : "many_keys");
		json_decref(j);
		return code;
	}
	key = json_array_get(keys, 0);
	json_array_foreach (json_object_get(key, "certificates"), i, c) {
		if (strcmp(jstr(c, "usage"), "sign") != 0)
			continue;
		if (paid != NULL ? paid_for(r, paid, jstr(c, "serial"))
				 : pick == NULL || strcmp(jstr(c, "not_after"), jstr(pick, "not_after")) > 0)
			pick = c;
	}
	if (pick == NULL)
		snprintf(code, sizeof(code), "%s", paid != NULL ? "key_changed" : "no_certificate");
	else {
		snprintf(r->key_serial, sizeof(r->key_serial), "%s", jstr(key, "serial"));
		snprintf(r->id, sizeof(r->id), "%s", jstr(key, "id"));
		free(r->cert);
		r->cert = strdup(jstr(pick, "der"));
		snprintf(r->serial, sizeof(r->serial), "%s", jstr(pick, "serial"));
		snprintf(r->not_after, sizeof(r->not_after), "%s", jstr(pick, "not_after"));
		snprintf(r->cert_ref, sizeof(r->cert_ref), "%s", jstr(pick, "key_ref"));
		snprintf(r->key_ref, sizeof(r->key_ref), "%s", jstr(pick, "key_ref"));
	}
	json_decref(j);
	return code;
}

/* POST /renewals/challenge for the certificate read from the key; the reply in *out. */
static long rw_challenge(struct renew *r, json_t **out)
{
	char *body = malloc(strlen(r->cert) + 32);
	json_t *j = NULL;
	long st;

	sprintf(body, "{\"certificate\":\"%s\"}", r->cert);
	st = it_renewal_call(&S, "POST", "/api/v1/renewals/challenge", body, NULL, &j);
	free(body);
	*out = j;
	return st;
}

/* Agent login with the PIN the user typed. */
static long rw_login(struct renew *r)
{
	char path[200];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/login", r->id);
	st = ag("POST", path, NULL, &j, "{\"pin\":\"%s\"}", r->pin);
	if (st == 200)
		snprintf(r->session, sizeof(r->session), "%s", jstr(j, "session"));
	r->retries_left =
		(int)json_integer_value(json_object_get(json_object_get(j, "error"), "retries_left"));
	return noted(r, st, j);
}

/* The key signs data (base64) with key pair ref; the signature in sig (caller frees). */
static long rw_sign(struct renew *r, const char *ref, const char *data, char **sig)
{
	char path[200];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/sign", r->id);
	st = ag("POST", path, r->session, &j, "{\"key_ref\":\"%s\",\"data\":\"%s\"}", ref, data);
	*sig = strdup(jstr(j, "signature"));
	noted(r, st, j);
	return st;
}

/* proveKey: login, the challenge signed on the key, POST /renewals/prove → the token (and a live
 * renewal's number). */
static long rw_prove(struct renew *r)
{
	char *sig = NULL, *body;
	json_t *j = NULL;
	long st;

	if (rw_login(r) != 200)
		return r->status;
	json_decref(r->terms);
	if ((st = rw_challenge(r, &r->terms)) != 200)
		return noted(r, st, json_incref(r->terms));
	if (rw_sign(r, r->cert_ref, jstr(r->terms, "challenge"), &sig) != 200) {
		free(sig);
		return r->status;
	}
	body = malloc(strlen(sig) + 200);
	sprintf(body, "{\"challenge_id\":\"%s\",\"signature\":\"%s\"}", jstr(r->terms, "challenge_id"), sig);
	st = it_renewal_call(&S, "POST", "/api/v1/renewals/prove", body, NULL, &j);
	free(body);
	free(sig);
	if (st == 200) {
		snprintf(r->token, sizeof(r->token), "%s", jstr(j, "token"));
		snprintf(r->no, sizeof(r->no), "%s", jstr(j, "renewal_no"));
	}
	return noted(r, st, j);
}

/* 年限与发票 → POST /renewals. */
static long rw_create(struct renew *r, int years)
{
	char body[600];
	json_t *j = NULL;
	long st;

	snprintf(body, sizeof(body), INVOICE, years);
	st = it_renewal_call(&S, "POST", "/api/v1/renewals", body, r->token, &j);
	if (st == 200 || st == 201) {
		snprintf(r->no, sizeof(r->no), "%s", jstr(j, "renewal_no"));
		json_decref(r->renewal);
		r->renewal = json_incref(j);
	}
	return noted(r, st, j);
}

/* GET /renewals/{no} into r->renewal; returns its state (static copy). */
static const char *rw_state(struct renew *r)
{
	static char state[32];
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/renewals/%s", r->no);
	json_decref(r->renewal);
	r->renewal = NULL;
	assert_int_equal(it_renewal_call(&S, "GET", path, NULL, r->token, &r->renewal), 200);
	snprintf(state, sizeof(state), "%s", jstr(r->renewal, "state"));
	return state;
}

/* 确认并支付: WeChat Pay on the simulator's phone page, then polls until the renewal is paid. */
static void rw_pay(struct renew *r)
{
	char path[160], trade[80];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/renewals/%s/payments", r->no);
	assert_int_equal(it_renewal_call(&S, "POST", path, "{\"provider\":\"wxpay\"}", r->token, &j), 200);
	snprintf(trade, sizeof(trade), "%s", jstr(json_object_get(j, "attempt"), "out_trade_no"));
	json_decref(j);
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/pay", trade);
	assert_int_equal(sim_do(&S, "POST", path, "{\"notify\":true}", NULL), 200);
	for (int i = 0; i < 200; i++) {
		if (strcmp(rw_state(r), "paid") == 0)
			return;
		usleep(50 * 1000);
	}
	fail_msg("renewal %s not paid", r->no);
}

/* From the key to a paid renewal of years: choose, prove, create, pay. */
static void renew_until_paid(struct renew *r, int years)
{
	assert_string_equal(choose_key(r, NULL), "");
	assert_int_equal(rw_prove(r), 200);
	assert_in_range(rw_create(r, years), 200, 201);
	rw_pay(r);
}

/* --- 下载证书到USBKEY (RenewalWrite.run), one function per step --- */

enum rw_step { RW_VERIFY, RW_KEYPAIR, RW_ISSUE, RW_WRITE, RW_READBACK, RW_COMPLETE };

static int rw_dual(const struct renew *r)
{
	return json_is_true(json_object_get(r->renewal, "dual"));
}

static int rw_rekey(const struct renew *r)
{
	return strcmp(jstr(r->renewal, "mode"), "rekey") == 0;
}

static int rw_main(const struct renew *r)
{
	return strcmp(jstr(r->renewal, "key_type"), "main") == 0;
}

/* A data object of the key (base64), NULL when there is none. Caller frees. */
static char *rw_get_data(struct renew *r, const char *name)
{
	char path[200], *out = NULL;
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/data/%s", r->id, name);
	st = ag("GET", path, r->session, &j, NULL);
	if (st == 200)
		out = strdup(jstr(j, "data"));
	else
		assert_string_equal(error_code(j), "object_not_found");
	json_decref(j);
	return out;
}

/* verify: a fresh challenge signed by the key plugged in now; a main key also sends its seals. */
static long rw_verify(struct renew *r)
{
	static const char *const files[] = {"CDSEAL_ORG.esl", "CDSEAL_LEGAL.esl"};
	json_t *c = NULL, *old;
	char *sig = NULL;
	long st;

	if ((st = rw_challenge(r, &c)) != 200)
		return noted(r, st, c);
	st = rw_sign(r, r->cert_ref, jstr(c, "challenge"), &sig);
	json_decref(r->body);
	r->body = json_pack("{s:s, s:s}", "challenge_id", jstr(c, "challenge_id"), "signature", sig);
	json_decref(c);
	free(sig);
	if (st != 200)
		return st;
	if (rw_main(r)) {
		old = json_array();
		for (int i = 0; i < 2; i++) {
			char *d = rw_get_data(r, files[i]);
			if (d != NULL)
				json_array_append_new(old, json_string(d));
			free(d);
		}
		if (json_array_size(old) > 0)
			json_object_set(r->body, "old_seals", old);
		json_decref(old);
	}
	return 200;
}

/* rekey: a new key pair of the old one's algorithm (a spare one left by an earlier try is used again),
 * its CSR signed on the key, and the old key's signature over the CSR's DER. */
static long rw_keypair(struct renew *r)
{
	char path[200], ref[64] = "", alg[16] = "", *der, *sig = NULL;
	const char *csr, *p, *e;
	json_t *j = NULL, *kp;
	size_t i;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", r->id);
	assert_int_equal(ag("GET", path, r->session, &j, NULL), 200);
	json_array_foreach (json_object_get(j, "keypairs"), i, kp)
		if (strcmp(jstr(kp, "key_ref"), r->cert_ref) == 0)
			snprintf(alg, sizeof(alg), "%s", jstr(kp, "algorithm"));
	json_array_foreach (json_object_get(j, "keypairs"), i, kp)
		if (strcmp(jstr(kp, "algorithm"), alg) == 0 &&
		    strcmp(jstr(kp, "key_ref"), r->cert_ref) != 0 &&
		    json_array_size(json_object_get(kp, "certificates")) == 0)
			snprintf(ref, sizeof(ref), "%s", jstr(kp, "key_ref"));
	json_decref(j);
	if (ref[0] == '\0') {
		st = ag("POST", path, r->session, &j, "{\"algorithm\":\"%s\"}", alg);
		snprintf(ref, sizeof(ref), "%s", jstr(j, "key_ref"));
		if (noted(r, st, j) != 201)
			return st;
	}
	snprintf(path, sizeof(path), "/v1/keys/%s/csr", r->id);
	st = ag("POST", path, r->session, &j, "{\"key_ref\":\"%s\"}", ref);
	if (st != 200)
		return noted(r, st, j);
	csr = jstr(j, "csr");
	der = calloc(1, strlen(csr) + 1);
	p = strstr(csr, "-----\n") + 6;
	e = strstr(csr, "-----END");
	for (char *o = der; p < e; p++) /* pemToBase64 */
		if (*p != '\n' && *p != '\r')
			*o++ = *p;
	json_object_set_new(r->body, "csr", json_string(csr));
	json_decref(j);
	st = rw_sign(r, r->cert_ref, der, &sig);
	json_object_set_new(r->body, "csr_old_signature", json_string(sig));
	free(sig);
	free(der);
	snprintf(r->key_ref, sizeof(r->key_ref), "%s", ref);
	return st;
}

/* POST /renewals/{no}/issue?ulong=32 with the body built. */
static long rw_issue(struct renew *r)
{
	char path[160], *text = json_dumps(r->body, JSON_COMPACT);
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/api/v1/renewals/%s/issue?ulong=32", r->no);
	st = it_renewal_call(&S, "POST", path, text, r->token, &j);
	free(text);
	if (st == 200) {
		json_decref(r->issued);
		r->issued = json_incref(j);
	}
	return noted(r, st, j);
}

/* rekey: the key pair whose public key the issued certificate carries (findNewPair). */
static void rw_find_new_pair(struct renew *r)
{
	char path[200], *spki = spki_of(issued_der(r, "sign"));
	json_t *j = NULL, *kp;
	size_t i;

	r->key_ref[0] = '\0';
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", r->id);
	assert_int_equal(ag("GET", path, r->session, &j, NULL), 200);
	json_array_foreach (json_object_get(j, "keypairs"), i, kp)
		if (strcmp(jstr(kp, "public_key"), spki) == 0)
			snprintf(r->key_ref, sizeof(r->key_ref), "%s", jstr(kp, "key_ref"));
	json_decref(j);
	free(spki);
	assert_true(r->key_ref[0] != '\0');
}

/* 1 when the key already holds the issued certificate of usage on the pair (a resumed run skips it). */
static int rw_has(struct renew *r, const char *usage)
{
	json_t *k = agent_key(r->key_serial), *c;
	size_t i;
	int has = 0;

	json_array_foreach (json_object_get(k, "certificates"), i, c)
		has |= strcmp(jstr(c, "key_ref"), r->key_ref) == 0 && strcmp(jstr(c, "usage"), usage) == 0 &&
		       strcmp(jstr(c, "der"), issued_der(r, usage)) == 0;
	json_decref(k);
	return has;
}

/* write_sign / enc_key / write_enc / seals: what is not on the key yet. */
static long rw_write(struct renew *r)
{
	char path[200], *text, *have;
	json_t *j = NULL, *s;
	size_t i;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/certificates", r->id);
	for (int enc = 0; enc <= rw_dual(r); enc++) {
		const char *usage = enc ? "enc" : "sign";
		if (rw_has(r, usage))
			continue;
		if (enc && rw_rekey(r)) {
			text = json_dumps(json_object_get(r->issued, "enc_key"), JSON_COMPACT);
			snprintf(path, sizeof(path), "/v1/keys/%s/enc-key", r->id);
			st = ag("POST", path, r->session, &j, "{\"key_ref\":\"%s\",\"wrapped\":%s}",
				r->key_ref, text);
			free(text);
			if (noted(r, st, j) != 200)
				return st;
			snprintf(path, sizeof(path), "/v1/keys/%s/certificates", r->id);
		}
		st = ag("PUT", path, r->session, &j, "{\"key_ref\":\"%s\",\"usage\":\"%s\",\"der\":\"%s\"}",
			r->key_ref, usage, issued_der(r, usage));
		if (noted(r, st, j) != 200)
			return st;
	}
	json_array_foreach (json_object_get(r->issued, "seals"), i, s) {
		if ((have = rw_get_data(r, jstr(s, "file"))) != NULL && strcmp(have, jstr(s, "esl")) == 0) {
			free(have);
			continue;
		}
		free(have);
		snprintf(path, sizeof(path), "/v1/keys/%s/data/%s", r->id, jstr(s, "file"));
		st = ag("PUT", path, r->session, &j, "{\"data\":\"%s\"}", jstr(s, "esl"));
		if (noted(r, st, j) != 200)
			return st;
	}
	return 200;
}

/* readback: the pair's certificates as the agent reads them now, and the seals; equal to the issued. */
static long rw_readback(struct renew *r)
{
	json_t *k = agent_key(r->key_serial), *c, *s;
	size_t i;

	if (k == NULL) {
		snprintf(r->err, sizeof(r->err), "key_removed");
		return r->status = 404;
	}
	json_decref(r->readback);
	r->readback = json_array();
	json_array_foreach (json_object_get(k, "certificates"), i, c)
		if (strcmp(jstr(c, "key_ref"), r->key_ref) == 0)
			json_array_append_new(r->readback, json_pack("{s:s, s:s}", "usage", jstr(c, "usage"),
								     "der", jstr(c, "der")));
	json_decref(k);
	assert_int_equal(json_array_size(r->readback), rw_dual(r) ? 2 : 1);
	json_array_foreach (r->readback, i, c)
		assert_string_equal(jstr(c, "der"), issued_der(r, jstr(c, "usage")));
	json_array_foreach (json_object_get(r->issued, "seals"), i, s) {
		char *got = rw_get_data(r, jstr(s, "file"));
		assert_non_null(got);
		assert_string_equal(got, jstr(s, "esl"));
		free(got);
	}
	return 200;
}

/* complete: the read-back (and the seals) to certdeskd. */
static long rw_complete(struct renew *r)
{
	char path[160], *text;
	json_t *body = json_pack("{s:O}", "certificates", r->readback), *seals = json_array(), *s, *j = NULL;
	size_t i;
	long st;

	json_array_foreach (json_object_get(r->issued, "seals"), i, s)
		json_array_append_new(
			seals, json_pack("{s:s, s:s}", "type", jstr(s, "type"), "esl", jstr(s, "esl")));
	if (json_array_size(seals) > 0)
		json_object_set(body, "seals", seals);
	json_decref(seals);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/complete", r->no);
	st = it_renewal_call(&S, "POST", path, text, r->token, &j);
	free(text);
	if (st == 200) {
		json_decref(r->done);
		r->done = json_incref(j);
	}
	return noted(r, st, j);
}

/* The run of 下载证书到USBKEY up to and including last; returns 200 or the first failure's status
 * (r->err its code). The run needs a session on the key (rw_login). */
static long renew_write(struct renew *r, enum rw_step last)
{
	long st;

	if ((st = rw_verify(r)) != 200 || last == RW_VERIFY)
		return st;
	if (rw_rekey(r) && ((st = rw_keypair(r)) != 200 || last == RW_KEYPAIR))
		return st;
	if ((st = rw_issue(r)) != 200 || last == RW_ISSUE)
		return st;
	if (rw_rekey(r))
		rw_find_new_pair(r);
	if ((st = rw_write(r)) != 200 || last == RW_WRITE)
		return st;
	if ((st = rw_readback(r)) != 200 || last == RW_READBACK)
		return st;
	return rw_complete(r);
}

/* --- setup --- */

static int setup(void **state)
{
	int rc;
	(void)state;

	rc = it_start_with_ca(&S, 1, &cfg, &db);
	if (rc == 77 || access(harness_bin("certdesk-agent"), X_OK) != 0 || access(SOFTSKF_TOOL, X_OK) != 0) {
		fprintf(stderr, "SKIP: certdesk-signer, certdesk-agent or the software SKF key not built\n");
		skipped = 1;
		return 0;
	}
	if (rc != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&org2, &S, "org2");
	client_init(&org3, &S, "org3");
	client_init(&producer, &S, "producer");
	if (client_register_login(&org, "鹰潭更新联调有限公司", "91310115MA1K3BTP2B", "13800138061") != 0 ||
	    client_register_login(&org2, "鹰潭更新联调第二有限公司", "91110000600037341L", "13800138062") !=
		    0 ||
	    client_register_login(&org3, "鹰潭更新联调第三有限公司", "9144030071526726XG", "13800138063") !=
		    0 ||
	    client_staff_login(&producer, "producer") != 0)
		return -1;
	agent_helpers_init(&S, &producer);
	agent_with_pkcs11 = 0; /* the software SKF key alone; test 2 adds SoftHSM2 */
	agent_config();
	if (agent_start() != 0)
		return -1;
	/* the window opened wide enough for certificates made today (one year) */
	it_sql(db, "UPDATE projects SET renewal_window_before_days = 400 WHERE code = 'yingtan'", NULL);
	return 0;
}

static int teardown(void **state)
{
	int status, agent;
	(void)state;

	agent = agent_stop();
	if (agent == 0 && !skipped && agent_logs_hold_pin()) {
		fprintf(stderr, "a PIN in the agent's logs\n");
		agent = -1;
	}
	status = it_stop_with_ca(&S, &cfg, &db);
	if (status != 0)
		fprintf(stderr, "certdeskd stopped with status %d\n", status);
	teardown_failed = status != 0 || agent != 0;
	return teardown_failed ? -1 : 0;
}

/* --- 1. recertify of an SM2 dual main key on the software SKF key --- */

/* The seal file of the key verifies and is bound to certificate der (base64) and its validity. */
static void seal_bound_to(struct renew *r, const char *file, const char *der, const char *not_after)
{
	char *b64 = rw_get_data(r, file);
	size_t len = 0, clen = 0;
	unsigned char *seal = unb64(b64, &len), *cert = unb64(der, &clen);
	struct seal_report rep;
	time_t na = 0;
	struct tm tm = {0};

	assert_int_equal(seal_verify(seal, len, time(NULL), &rep), 1);
	assert_int_equal(rep.seal.ncerts, 1);
	assert_int_equal(rep.seal.certs[0].len, clen);
	assert_memory_equal(rep.seal.certs[0].p, cert, clen);
	assert_non_null(strptime(not_after, "%Y-%m-%dT%H:%M:%SZ", &tm));
	na = timegm(&tm);
	assert_int_equal(rep.seal.valid_end, na);
	free(seal);
	free(cert);
	free(b64);
}

static void test_recertify_skf_main(void **state)
{
	struct prod p;
	struct renew r, q;
	char want[32], old_sign[64], old_enc[64], sign_der[4096];
	X509 *x, *issuing;
	json_t *j, *k, *c;
	size_t i, n;
	int listed = 0;
	(void)state;
	if (skipped)
		skip();
	softkey_create("RAKEY01");
	produced_key(&p, &org, "main", "RAKEY01");
	snprintf(old_sign, sizeof(old_sign), "%s", serial_of_b64(p.der[0]));
	snprintf(old_enc, sizeof(old_enc), "%s", serial_of_b64(p.der[1]));
	snprintf(key1_pin, sizeof(key1_pin), "%s", jstr(p.start, "user_pin"));
	renew_init(&r, key1_pin);
	renew_until_paid(&r, 1);
	assert_string_equal(r.serial, old_sign);
	assert_string_equal(jstr(r.terms, "mode"), "recertify");
	assert_string_equal(jstr(r.terms, "key_type"), "main");
	assert_true(json_is_true(json_object_get(r.terms, "dual")));
	it_plus_months(r.not_after, 12, want);
	assert_string_equal(jstr(r.renewal, "new_not_after"), want);
	/* the key pulled out after the new signing certificate was written (the enc certificate's write is
	 * its second state-changing call): 410, the renewal still issued, the old certificate good */
	assert_int_equal(sh(NULL, "%s remove-after %s RAKEY01 1", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_int_equal(renew_write(&r, RW_COMPLETE), 410);
	assert_string_equal(r.err, "key_removed");
	assert_string_equal(rw_state(&r), "issued");
	cert_status(old_sign, "good", NULL);
	assert_null(agent_key("RAKEY01"));
	/* plugged in again: the wizard's 重试 finds the key (now holding the new signing certificate), asks
	 * for the PIN again and resumes; nothing is issued twice */
	assert_int_equal(sh(NULL, "%s insert %s RAKEY01", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_string_equal(choose_key(&r, old_sign), "");
	assert_string_equal(r.serial, serial_of_b64(issued_der(&r, "sign")));
	/* a wizard opened anew (its token lost) proves with the certificate now on the key: the same
	 * renewal, issued, resumes with the new token */
	renew_init(&q, key1_pin);
	assert_string_equal(choose_key(&q, NULL), "");
	assert_string_equal(q.serial, r.serial);
	assert_int_equal(rw_prove(&q), 200);
	assert_string_equal(q.no, r.no);
	assert_string_equal(jstr(json_object_get(q.terms, "renewal"), "state"), "issued");
	assert_string_equal(rw_state(&q), "issued");
	snprintf(r.token, sizeof(r.token), "%s", q.token);
	renew_free(&q);
	assert_int_equal(rw_login(&r), 200);
	snprintf(sign_der, sizeof(sign_der), "%s", issued_der(&r, "sign"));
	assert_int_equal(renew_write(&r, RW_READBACK), 200);
	assert_string_equal(issued_der(&r, "sign"), sign_der);
	assert_int_equal(cert_rows(r.no), 2);
	/* read back and checked, not yet confirmed: the old certificates still good */
	cert_status(old_sign, "good", NULL);
	cert_status(old_enc, "good", NULL);
	assert_int_equal(rw_complete(&r), 200);
	assert_string_equal(jstr(r.done, "state"), "completed");
	cert_status(old_sign, "revoked", "superseded");
	cert_status(old_enc, "revoked", "superseded");
	/* the key: the new sign + enc certificates in the same container, new seals bound to the new one */
	assert_string_equal(r.key_ref, p.key_ref);
	assert_string_equal(jstr(r.issued, "not_after"), want);
	k = agent_key("RAKEY01");
	json_array_foreach (json_object_get(k, "certificates"), i, c) {
		assert_string_equal(jstr(c, "key_ref"), p.key_ref);
		assert_string_equal(jstr(c, "der"), issued_der(&r, jstr(c, "usage")));
		assert_string_equal(jstr(c, "not_after"), want);
	}
	assert_int_equal(json_array_size(json_object_get(k, "certificates")), 2);
	json_decref(k);
	assert_int_equal(json_array_size(json_object_get(r.issued, "seals")), 2);
	seal_bound_to(&r, "CDSEAL_ORG.esl", issued_der(&r, "sign"), want);
	seal_bound_to(&r, "CDSEAL_LEGAL.esl", issued_der(&r, "sign"), want);
	/* the renewed certificate verifies in C against the SM2 issuing CA (ID set) */
	x = cert_of_b64(issued_der(&r, "sign"));
	issuing = it_ca_cert(&S, "sm2-issuing-1");
	assert_int_equal(pki_x509_verify(x, X509_get0_pubkey(issuing)), 1);
	X509_free(x);
	X509_free(issuing);
	/* 打开用户工具查看证书有效期: certdesk-agent list --json shows the new validity */
	j = agent_list_json();
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(jstr(k, "serial"), "RAKEY01") == 0)
			json_array_foreach (json_object_get(k, "certificates"), n, c) {
				assert_string_equal(jstr(c, "not_after"), want);
				assert_string_equal(jstr(c, "serial"),
						    serial_of_b64(issued_der(&r, jstr(c, "usage"))));
				listed++;
			}
	json_decref(j);
	assert_int_equal(listed, 2);
	renew_free(&r);
	prod_free(&p);
}

/* --- 2. rekey on a SoftHSM2 token (P-256) --- */

static void test_rekey_softhsm(void **state)
{
	struct prod p;
	struct renew r;
	char old_ref[64], old_sign[64], old_der[4096], want[32], file[400], *out = NULL, *spki;
	const char *serial;
	json_t *j = NULL, *kp, *k, *c;
	size_t i;
	int old_pair = 0, old_cert = 0;
	FILE *f;
	X509 *x;
	(void)state;
	if (skipped || access(SOFTHSM, R_OK) != 0)
		skip();
	/* the agent with SoftHSM2 too, and a token as it comes from the vendor */
	assert_int_equal(agent_stop(), 0);
	agent_with_pkcs11 = 1;
	agent_config();
	serial = softhsm_token("rkblank");
	assert_true(serial[0] != '\0');
	assert_int_equal(sh(NULL, "%s remove %s RAKEY01", SOFTSKF_TOOL, agent_skfdir), 0);
	produced_key(&p, &org2, "secondary", serial);
	assert_string_equal(jstr(p.start, "algorithm"), "ec-p256");
	snprintf(old_ref, sizeof(old_ref), "%s", p.key_ref);
	snprintf(old_der, sizeof(old_der), "%s", p.der[0]);
	snprintf(old_sign, sizeof(old_sign), "%s", serial_of_b64(old_der));
	it_sql(db, "UPDATE projects SET renewal_mode = 'rekey' WHERE code = 'yingtan'", NULL);
	renew_init(&r, jstr(p.start, "user_pin"));
	renew_until_paid(&r, 2);
	assert_string_equal(r.serial, old_sign);
	assert_string_equal(jstr(r.renewal, "mode"), "rekey");
	assert_false(rw_dual(&r));
	assert_int_equal(renew_write(&r, RW_READBACK), 200);
	/* a new key pair on the token carries the new certificate */
	assert_string_not_equal(r.key_ref, old_ref);
	it_plus_months(r.not_after, 24, want);
	assert_string_equal(jstr(r.issued, "not_after"), want);
	cert_status(old_sign, "good", NULL);
	assert_int_equal(rw_complete(&r), 200);
	assert_string_equal(jstr(r.done, "state"), "completed");
	cert_status(old_sign, "revoked", "superseded");
	/* the new certificate's key is the new pair's, not the old one's */
	spki = spki_of(issued_der(&r, "sign"));
	snprintf(file, sizeof(file), "/v1/keys/%s/keypairs", r.id);
	assert_int_equal(ag("GET", file, r.session, &j, NULL), 200);
	json_array_foreach (json_object_get(j, "keypairs"), i, kp) {
		if (strcmp(jstr(kp, "key_ref"), r.key_ref) == 0)
			assert_string_equal(jstr(kp, "public_key"), spki);
		/* the old key pair stays with its certificate (no transition period ends it: nothing removes
		 * it) */
		if (strcmp(jstr(kp, "key_ref"), old_ref) == 0) {
			old_pair = 1;
			assert_string_not_equal(jstr(kp, "public_key"), spki);
			assert_int_equal(json_array_size(json_object_get(kp, "certificates")), 1);
		}
	}
	json_decref(j);
	free(spki);
	assert_true(old_pair);
	k = agent_key(r.key_serial);
	json_array_foreach (json_object_get(k, "certificates"), i, c)
		old_cert += strcmp(jstr(c, "key_ref"), old_ref) == 0 && strcmp(jstr(c, "der"), old_der) == 0;
	json_decref(k);
	assert_int_equal(old_cert, 1);
	/* openssl verify -x509_strict of the renewed certificate against the P-256 chain */
	x = cert_of_b64(issued_der(&r, "sign"));
	snprintf(file, sizeof(file), "%s/renewed-p256.pem", S.dir);
	f = fopen(file, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	if (sh(&out,
	       "openssl verify -x509_strict -CAfile %s/ca-keys/p256-root-1.crt -untrusted "
	       "%s/ca-keys/p256-issuing-1.crt"
	       " %s 2>&1",
	       S.dir, S.dir, file) != 0)
		fail_msg("openssl verify: %s", out);
	free(out);
	it_sql(db, "UPDATE projects SET renewal_mode = 'recertify' WHERE code = 'yingtan'", NULL);
	/* back to the software keys alone for the next tests */
	assert_int_equal(agent_stop(), 0);
	agent_with_pkcs11 = 0;
	agent_config();
	assert_int_equal(agent_start(), 0);
	assert_int_equal(sh(NULL, "%s insert %s RAKEY01", SOFTSKF_TOOL, agent_skfdir), 0);
	renew_free(&r);
	prod_free(&p);
}

/* --- 3. bad cases through the agent --- */

static void test_bad_cases(void **state)
{
	struct prod p;
	struct renew r, b;
	char old_sign[64], sign_der[4096];
	json_t *k;
	(void)state;
	if (skipped)
		skip();
	softkey_create("RAKEY03");
	produced_key(&p, &org3, "secondary", "RAKEY03");
	snprintf(old_sign, sizeof(old_sign), "%s", serial_of_b64(p.der[0]));
	renew_init(&r, jstr(p.start, "user_pin"));
	/* two keys inserted, then none */
	assert_int_equal(agent_key_count(), 2);
	assert_string_equal(choose_key(&r, NULL), "many_keys");
	assert_int_equal(sh(NULL, "%s remove %s RAKEY01", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_int_equal(sh(NULL, "%s remove %s RAKEY03", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_string_equal(choose_key(&r, NULL), "no_key");
	assert_int_equal(sh(NULL, "%s insert %s RAKEY03", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_string_equal(choose_key(&r, NULL), "");
	assert_string_equal(r.serial, old_sign);
	/* a wrong PIN: 401 with the retries left as the key reports them */
	snprintf(r.pin, sizeof(r.pin), "000000");
	assert_int_equal(rw_login(&r), 401);
	assert_string_equal(r.err, "pin_incorrect");
	assert_int_equal(r.retries_left, 5);
	k = agent_key("RAKEY03");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(k, "pin"), "retries_left")), 5);
	assert_false(json_is_true(json_object_get(json_object_get(k, "pin"), "locked")));
	json_decref(k);
	/* the right one: proved, created, paid */
	snprintf(r.pin, sizeof(r.pin), "%s", jstr(p.start, "user_pin"));
	assert_int_equal(rw_prove(&r), 200);
	assert_int_equal(rw_create(&r, 1), 201);
	rw_pay(&r);
	/* paid for key A, then key B inserted: the wizard refuses, and so does certdeskd at issue */
	assert_int_equal(sh(NULL, "%s remove %s RAKEY03", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_int_equal(sh(NULL, "%s insert %s RAKEY01", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_string_equal(choose_key(&r, old_sign), "key_changed");
	renew_init(&b, key1_pin);
	assert_string_equal(choose_key(&b, NULL), "");
	assert_int_equal(rw_login(&b), 200);
	b.renewal = json_incref(r.renewal);
	snprintf(b.token, sizeof(b.token), "%s", r.token);
	snprintf(b.no, sizeof(b.no), "%s", r.no);
	/* (B's certificate renewed in test 1 is years from expiry: the window opened for it to be
	 * challenged at all, so that certdeskd's own check is reached) */
	it_sql(db, "UPDATE projects SET renewal_window_before_days = 1200 WHERE code = 'yingtan'", NULL);
	assert_int_equal(rw_verify(&b), 200);
	assert_int_equal(rw_issue(&b), 409);
	assert_string_equal(b.err, "key_changed");
	it_sql(db, "UPDATE projects SET renewal_window_before_days = 400 WHERE code = 'yingtan'", NULL);
	assert_int_equal(cert_rows(r.no), 0);
	assert_string_equal(rw_state(&r), "paid");
	renew_free(&b);
	assert_int_equal(sh(NULL, "%s remove %s RAKEY01", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_int_equal(sh(NULL, "%s insert %s RAKEY03", SOFTSKF_TOOL, agent_skfdir), 0);
	/* the agent killed between issue and write: restarted, the same certificate comes back, written */
	assert_string_equal(choose_key(&r, old_sign), "");
	assert_int_equal(rw_login(&r), 200);
	assert_int_equal(renew_write(&r, RW_ISSUE), 200);
	snprintf(sign_der, sizeof(sign_der), "%s", issued_der(&r, "sign"));
	agent_kill9();
	assert_int_equal(agent_start(), 0);
	assert_string_equal(rw_state(&r), "issued");
	cert_status(old_sign, "good", NULL);
	assert_string_equal(choose_key(&r, old_sign), "");
	assert_string_equal(r.serial, old_sign); /* nothing was written */
	assert_int_equal(rw_login(&r), 200);
	assert_int_equal(renew_write(&r, RW_COMPLETE), 200);
	assert_string_equal(issued_der(&r, "sign"), sign_der);
	assert_int_equal(cert_rows(r.no), 1);
	assert_string_equal(jstr(r.done, "state"), "completed");
	cert_status(old_sign, "revoked", "superseded");
	/* a locked PIN: wrong PINs until the key says locked; then even the right one is refused */
	snprintf(r.pin, sizeof(r.pin), "000000");
	for (int left = 5; left >= 1; left--) {
		assert_int_equal(rw_login(&r), 401);
		assert_int_equal(r.retries_left, left);
	}
	assert_int_equal(rw_login(&r), 423);
	assert_string_equal(r.err, "pin_locked");
	k = agent_key("RAKEY03");
	assert_true(json_is_true(json_object_get(json_object_get(k, "pin"), "locked")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(k, "pin"), "retries_left")), 0);
	json_decref(k);
	snprintf(r.pin, sizeof(r.pin), "%s", jstr(p.start, "user_pin"));
	assert_int_equal(rw_login(&r), 423);
	assert_string_equal(r.err, "pin_locked");
	assert_int_equal(sh(NULL, "%s remove %s RAKEY03", SOFTSKF_TOOL, agent_skfdir), 0);
	renew_free(&r);
	prod_free(&p);
}

/* --- 4. a certificate from before certdesk --- */

/* Writes a PEM certificate for public key k issued by CA key cakey under CA certificate ca, as the CA's
 * old system did (SM2 with the ID), valid from 300 days ago to 30 days from now. */
static void old_system_cert(EVP_PKEY *cakey, X509 *ca, EVP_PKEY *k, const char *uscc, const char *file)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(cakey, NULL);
	X509_EXTENSION *ku;
	FILE *f;

	X509_set_version(x, 2);
	BN_rand(bn, 120, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"CN", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"鹰潭导入联调有限公司", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"鹰潭导入联调有限公司", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_UTF8, (const unsigned char *)uscc, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(x), -300L * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, k);
	ku = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, "critical,digitalSignature,nonRepudiation");
	X509_add_ext(x, ku, -1);
	X509_EXTENSION_free(ku);
	assert_true(EVP_PKEY_CTX_set1_id(pctx, IT_SM2_ID, 16) > 0);
	EVP_MD_CTX_set_pkey_ctx(m, pctx);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sm3(), NULL, cakey), 1);
	assert_true(X509_sign_ctx(x, m) > 0);
	f = fopen(file, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pctx);
	BN_free(bn);
	X509_NAME_free(n);
	X509_free(x);
}

/* The SM2 secondary profile's issuing CA: its key (from its key file) and certificate. */
static void sm2_issuing_ca(EVP_PKEY **key, X509 **cert)
{
	char *loc = NULL, *der = NULL;
	struct db_conn *c = db_acquire(db);
	FILE *f;

	assert_int_equal(
		db_query_text(
			c,
			"SELECT c.key_location FROM cas c JOIN cert_profiles p ON p.issuing_key_id = c.key_id"
			" JOIN projects j ON j.id = p.project_id WHERE j.code = 'yingtan' AND"
			" p.key_type = 'secondary' AND p.algorithm = 'sm2'",
			DB_NOARGS, &loc),
		DB_OK);
	assert_int_equal(
		db_query_text(c,
			      "SELECT c.der FROM cas c JOIN cert_profiles p ON p.issuing_key_id = c.key_id"
			      " JOIN projects j ON j.id = p.project_id WHERE j.code = 'yingtan' AND"
			      " p.key_type = 'secondary' AND p.algorithm = 'sm2'",
			      DB_NOARGS, &der),
		DB_OK);
	db_release(c);
	assert_int_equal(strncmp(loc, "file:", 5), 0);
	f = fopen(loc + 5, "r");
	assert_non_null(f);
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(*key);
	*cert = cert_of_b64(der);
	free(loc);
	free(der);
}

static void test_imported(void **state)
{
	const char *uscc = "92340602MA2PBMEM24";
	char pem[400], csv[400], session[40], ref[64], old_der[4096], want[32], *out = NULL;
	unsigned char *spki;
	const unsigned char *q;
	size_t len = 0;
	json_t *j = NULL;
	EVP_PKEY *cakey = NULL, *pub;
	X509 *ca = NULL, *x;
	FILE *f;
	struct renew r;
	int rc;
	(void)state;
	if (skipped)
		skip();
	/* a key the CA's old system made: initialised, an SM2 key pair, a certificate from outside certdesk
	 */
	softkey_create("RAKEY04");
	assert_int_equal(agent_key_count(), 1);
	assert_int_equal(
		ag("POST", "/v1/keys/skf0:RAKEY04/init", NULL, NULL,
		   "{\"so_pin\":\"A1b2C3d4E5f6G7h8\",\"user_pin\":\"13572468\",\"label\":\"oldsys\"}"),
		200);
	assert_int_equal(ag("POST", "/v1/keys/skf0:RAKEY04/login", NULL, &j, "{\"pin\":\"13572468\"}"), 200);
	snprintf(session, sizeof(session), "%s", jstr(j, "session"));
	json_decref(j);
	assert_int_equal(ag("POST", "/v1/keys/skf0:RAKEY04/keypairs", session, &j, "{\"algorithm\":\"sm2\"}"),
			 201);
	snprintf(ref, sizeof(ref), "%s", jstr(j, "key_ref"));
	spki = unb64(jstr(j, "public_key"), &len);
	json_decref(j);
	q = spki;
	pub = d2i_PUBKEY(NULL, &q, (long)len);
	assert_non_null(pub);
	free(spki);
	sm2_issuing_ca(&cakey, &ca);
	snprintf(pem, sizeof(pem), "%s/old-system-sm2.pem", S.dir);
	snprintf(csv, sizeof(csv), "%s/old-system-sm2.csv", S.dir);
	old_system_cert(cakey, ca, pub, uscc, pem);
	f = fopen(csv, "w");
	assert_non_null(f);
	fprintf(f,
		"serial,uscc,name,project_code,key_type,mobile,email\n,%s,鹰潭导入联调有限公司,yingtan,"
		"secondary,"
		"13800138070,imp@example.com\n",
		uscc);
	fclose(f);
	char *argv[] = {(char *)harness_bin("certdesk"), "certs", "import", "--csv", csv, pem, NULL};
	unsetenv("CERTDESK_SOFTSKF_DIR"); /* the agent's: certdesk refuses CERTDESK_ variables it does not
					     know */
	rc = harness_run(argv, NULL, &out);
	setenv("CERTDESK_SOFTSKF_DIR", agent_skfdir, 1);
	if (rc != 0 || strstr(out, "imported as order") == NULL)
		fail_msg("certdesk certs import: %s", out);
	free(out);
	f = fopen(pem, "r");
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	{
		unsigned char *d = NULL;
		int n = i2d_X509(x, &d);
		EVP_EncodeBlock((unsigned char *)old_der, d, n);
		OPENSSL_free(d);
	}
	X509_free(x);
	assert_int_equal(ag("PUT", "/v1/keys/skf0:RAKEY04/certificates", session, NULL,
			    "{\"key_ref\":\"%s\",\"usage\":\"sign\",\"der\":\"%s\"}", ref, old_der),
			 200);
	assert_int_equal(ag("POST", "/v1/keys/skf0:RAKEY04/logout", session, NULL, NULL), 200);
	/* renewed through the wizard like any other */
	renew_init(&r, "13572468");
	renew_until_paid(&r, 1);
	assert_string_equal(jstr(r.terms, "key_type"), "secondary");
	assert_string_equal(jstr(json_object_get(r.terms, "certificate"), "uscc"), uscc);
	assert_int_equal(renew_write(&r, RW_COMPLETE), 200);
	assert_string_equal(jstr(r.done, "state"), "completed");
	assert_string_equal(r.key_ref, ref);
	x = cert_of_b64(issued_der(&r, "sign"));
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
	assert_int_equal(pki_x509_verify(x, X509_get0_pubkey(ca)), 1);
	X509_free(x);
	it_plus_months(r.not_after, 12, want);
	assert_string_equal(jstr(r.issued, "not_after"), want);
	cert_status(serial_of_b64(old_der), "revoked", "superseded");
	assert_int_equal(rw_readback(&r), 200); /* still on the key after completion */
	renew_free(&r);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(cakey);
	X509_free(ca);
}

int main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recertify_skf_main),
		cmocka_unit_test(test_rekey_softhsm),
		cmocka_unit_test(test_bad_cases),
		cmocka_unit_test(test_imported),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	return rc != 0 || teardown_failed ? 1 : 0;
}
