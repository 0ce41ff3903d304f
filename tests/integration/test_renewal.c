/* Online renewal, certdeskd's side (issue 15): certificates produced the way production does it
 * (keys made here with OpenSSL: an SM2 dual main key, a P-256 secondary key) are renewed through the
 * public routes: a one-time challenge bound to the certificate and its proof (forged, replayed and
 * expired proofs 401), unknown 404, revoked and outside the window 409; the renewal order (bad tax
 * number and ID number 422, a second create the same renewal, the price from the catalogue), paid
 * through the WeChat Pay simulator (its QR picture fetched with the token: a PNG, 401 without); issue
 * (recertify: the same public keys, new serials, notAfter = old notAfter + the years; a retry the same
 * certificates; another key's signature key_changed), the read-back (wrong 409, right: completed, the old
 * certificates revoked superseded only then); rekey on the P-256 certificate (the CSR also signed by the
 * old key); a certificate from before certdesk imported with `certdesk certs import` (a forged one
 * refused, a second import a no-op) renews. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "renewal_helpers.h"
#include "seal/seal.h"
#include "seal_png.h"
#include "store/store.h"

#define SM2_ID "1234567812345678"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, org2, producer, admin, finance;
static int skipped;

#define FULL_FORM                                                                                         \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                  \
	"\"11010519491231002X\",\"handler_email\":\"zhang@example.com\",\"invoice_email\":"              \
	"\"fp@example.com\",\"recipient_name\":\"王五\",\"recipient_mobile\":\"13700137000\","          \
	"\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

#define ORG_INVOICE                                                                                        \
	"{\"kind\":\"org\",\"handler_name\":\"张三\",\"phone\":\"13800138000\",\"unit_name\":\"鹰潭更新测试有限公司\"," \
	"\"tax_number\":\"%s\",\"email\":\"fp@example.com\"}"

/* Returns the string field name of j (a copy, so j can be freed). */
static const char *str(json_t *j, const char *name)
{
	static char buf[8][8192];
	static int n;
	const char *s = json_string_value(json_object_get(j, name));

	assert_non_null(s);
	n = (n + 1) % 8;
	snprintf(buf[n], sizeof(buf[n]), "%s", s);
	return buf[n];
}

/* Returns a PEM CSR signed by k (SM2 with the ID and SM3, else SHA-256). Caller frees. */
static char *make_csr(EVP_PKEY *k, unsigned char **der, int *derlen)
{
	X509_REQ *req = X509_REQ_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	int sm2 = EVP_PKEY_is_a(k, "SM2");
	char *p, *out;
	long n;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"USB key", -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	if (sm2)
		assert_true(EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16) > 0);
	EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	assert_int_equal(EVP_DigestSignInit(mctx, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, k), 1);
	assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
	PEM_write_bio_X509_REQ(b, req);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, p, (size_t)n);
	if (der != NULL) {
		*der = NULL;
		*derlen = i2d_X509_REQ(req, der);
	}
	BIO_free(b);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	X509_REQ_free(req);
	return out;
}

/* Returns base64 of k's signature over data (as the agent signs). Caller frees. */
static char *sign_b64(EVP_PKEY *k, const unsigned char *data, size_t len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char sig[600];
	size_t siglen = sizeof(sig);
	int sm2 = EVP_PKEY_is_a(k, "SM2");
	char *out = calloc(1, 1024);

	if (sm2) {
		pctx = EVP_PKEY_CTX_new(k, NULL);
		assert_true(EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16) > 0);
		EVP_MD_CTX_set_pkey_ctx(m, pctx);
	}
	assert_int_equal(EVP_DigestSignInit(m, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &siglen, data, len), 1);
	EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pctx);
	return out;
}

/* Returns the base64 DER of the PEM certificate pem (caller frees). */
static char *der_of_pem(const char *pem)
{
	const char *p = strstr(pem, "-----\n") + 6, *e = strstr(pem, "-----END");
	char *out = calloc(1, strlen(pem)), *o = out;

	for (; p < e; p++)
		if (*p != '\n' && *p != '\r')
			*o++ = *p;
	return out;
}

/* A certificate produced onto a key: sign (and enc for dual) base64 DER and serials. */
struct produced {
	char no[32];
	char sign_der[4096], enc_der[4096];
	char sign_serial[48], enc_serial[48];
	char not_after[32];
};

/* Produces an order of key_type for oc onto key serial keyserial (kind skf/pkcs11) with key k. */
static void produce(struct client *oc, const char *key_type, const char *kind, const char *keyserial, EVP_PKEY *k,
		    struct produced *p)
{
	json_t *j = NULL, *body;
	char path[160], buf[10000], *csr, *text, *der;
	struct db_conn *dc;

	memset(p, 0, sizeof(*p));
	assert_int_equal(client_do(oc, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}", &j),
			 201);
	snprintf(p->no, sizeof(p->no), "%s", str(j, "order_no"));
	json_decref(j);
	dc = db_acquire(db);
	assert_int_equal(db_exec(dc,
				 "UPDATE orders SET state = 'producing', submitted_at = created_at, key_type = ?"
				 " WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(key_type), DB_TEXT(p->no)), NULL),
			 DB_OK);
	db_release(dc);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production", p->no);
	snprintf(buf, sizeof(buf), "{\"kind\":\"%s\",\"serial\":\"%s\",\"model\":\"SoftKey 1\",\"manufacturer\":\"x\"}",
		 kind, keyserial);
	assert_int_equal(client_do(&producer, "POST", path, buf, &j), 201);
	json_decref(j);
	csr = make_csr(k, NULL, NULL);
	body = json_pack("{s:s}", "csr", csr);
	text = json_dumps(body, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", p->no);
	assert_int_equal(client_do(&producer, "POST", path, text, &j), 201);
	free(text);
	free(csr);
	json_decref(body);
	snprintf(p->sign_serial, sizeof(p->sign_serial), "%s", str(j, "serial"));
	snprintf(p->not_after, sizeof(p->not_after), "%s", str(j, "not_after"));
	der = der_of_pem(str(j, "pem"));
	snprintf(p->sign_der, sizeof(p->sign_der), "%s", der);
	free(der);
	if (json_object_get(j, "enc_certificate") != NULL) {
		der = der_of_pem(str(json_object_get(j, "enc_certificate"), "pem"));
		snprintf(p->enc_der, sizeof(p->enc_der), "%s", der);
		free(der);
		snprintf(p->enc_serial, sizeof(p->enc_serial), "%s", str(json_object_get(j, "enc_certificate"), "serial"));
	}
	json_decref(j);
	/* a main key carries the organisation's seals, made for its signing certificate */
	if (strcmp(key_type, "main") == 0) {
		static const char *const names[] = {"org", "legal"};
		for (int s = 0; s < 2; s++) {
			size_t len;
			unsigned char *png = test_seal_png(s, 240, &len);
			char *b64 = test_b64(png, len), *sb = malloc(strlen(b64) + 32);
			sprintf(sb, "{\"png\":\"%s\"}", b64);
			snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures/%s", p->no, names[s]);
			assert_int_equal(client_do(&producer, "PUT", path, sb, &j), 200);
			json_decref(j);
			free(sb);
			free(b64);
			free(png);
		}
		snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", p->no);
		assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 201);
		assert_int_equal(json_array_size(json_object_get(j, "seals")), 2);
		json_decref(j);
		it_sql(db, "UPDATE seals SET state = 'written' WHERE cert_serial = ?", p->sign_serial);
	}
	/* written onto the key and shipped (the read-back, seals included, is test_production's) */
	it_sql(db, "UPDATE usb_keys SET state = 'written', written_at = created_at WHERE serial = ?",
	       keyserial);
	it_sql(db, "UPDATE orders SET state = 'shipped' WHERE order_no = ?", p->no);
}

/* POSTs a challenge for the certificate der; returns the status, the reply in *j. */
static long challenge(const char *der, json_t **j)
{
	char body[5000];

	snprintf(body, sizeof(body), "{\"certificate\":\"%s\"}", der);
	return it_renewal_call(&S, "POST", "/api/v1/renewals/challenge", body, NULL, j);
}

/* Gets a challenge for der and signs it with k: *id and the signature (caller frees). */
static char *signed_challenge(const char *der, EVP_PKEY *k, char id[64])
{
	json_t *j = NULL;
	unsigned char bytes[64];
	char *sig;
	int n;

	assert_int_equal(challenge(der, &j), 200);
	snprintf(id, 64, "%s", str(j, "challenge_id"));
	n = EVP_DecodeBlock(bytes, (const unsigned char *)str(j, "challenge"), 44);
	assert_int_equal(n - 1, 32); /* 44 base64 characters with one '=' */
	sig = sign_b64(k, bytes, 32);
	json_decref(j);
	return sig;
}

/* Proves possession of der's key k; returns the status, the token in tok. */
static long prove(const char *der, EVP_PKEY *k, char tok[80], json_t **jout)
{
	char id[64], body[2000], *sig = signed_challenge(der, k, id);
	json_t *j = NULL;
	long st;

	snprintf(body, sizeof(body), "{\"challenge_id\":\"%s\",\"signature\":\"%s\"}", id, sig);
	free(sig);
	st = it_renewal_call(&S, "POST", "/api/v1/renewals/prove", body, NULL, &j);
	if (st == 200)
		snprintf(tok, 80, "%s", str(j, "token"));
	if (jout != NULL)
		*jout = j;
	else
		json_decref(j);
	return st;
}

/* The open attempt's QR picture as the /renew page fetches it (the token in a header, ?v=<out_trade_no>):
 * a PNG with the token, not cached; 401 token_invalid without it or with another. */
static void qr_png(const char *no, const char *tok, const char *trade)
{
	char path[240], th[120];
	const char *h[] = {NULL, NULL};
	struct resp r;
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/renewals/%s/payments/current/qr.png?v=%s", no, trade);
	snprintf(th, sizeof(th), "X-Renewal-Token: %s", tok);
	h[0] = th;
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type") ?: "(none)", "image/png");
	assert_string_equal(resp_header(&r, "Cache-Control") ?: "(none)", "no-store");
	assert_true(r.len > 8 && memcmp(r.body, "\x89PNG\r\n\x1a\n", 8) == 0);
	resp_free(&r);
	assert_int_equal(it_renewal_call(&S, "GET", path, NULL, NULL, &j), 401);
	assert_string_equal(str(json_object_get(j, "error"), "code"), "token_invalid");
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "GET", path, NULL,
					 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
					 NULL),
			 401);
}

/* Pays renewal no through the WeChat Pay simulator and waits until it is paid. */
static void pay(const char *no, const char *tok)
{
	char path[160], trade[80];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/renewals/%s/payments", no);
	assert_int_equal(it_renewal_call(&S, "POST", path, "{\"provider\":\"wxpay\"}", tok, &j), 200);
	snprintf(trade, sizeof(trade), "%s", str(json_object_get(j, "attempt"), "out_trade_no"));
	json_decref(j);
	qr_png(no, tok, trade);
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/pay", trade);
	assert_int_equal(sim_do(&S, "POST", path, "{\"notify\":true}", NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s", no);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(it_renewal_call(&S, "GET", path, NULL, tok, &j), 200);
		int paid = strcmp(str(j, "state"), "paid") == 0;
		json_decref(j);
		if (paid)
			return;
		usleep(100 * 1000);
	}
	fail_msg("renewal %s not paid", no);
}

/* POSTs .../issue for no with a fresh challenge of der signed by k (and extra JSON members). */
static long issue(const char *no, const char *tok, const char *der, EVP_PKEY *k, const char *extra, json_t **j)
{
	size_t size = 20000 + (extra != NULL ? strlen(extra) : 0);
	char id[64], path[160], *sig = signed_challenge(der, k, id), *body = malloc(size);
	long st;

	snprintf(body, size, "{\"challenge_id\":\"%s\",\"signature\":\"%s\"%s}", id, sig, extra != NULL ? extra : "");
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/issue", no);
	st = it_renewal_call(&S, "POST", path, body, tok, j);
	free(body);
	free(sig);
	return st;
}

/* Returns the certificate of base64 DER b64 (caller frees). */
static X509 *x509_of(const char *b64)
{
	size_t len = strlen(b64);
	unsigned char *der = malloc(len);
	const unsigned char *p = der;
	int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len);
	X509 *x;

	/* EVP_DecodeBlock counts the padding as zero bytes */
	n -= (len > 0 && b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
	x = d2i_X509(NULL, &p, n);
	free(der);
	assert_non_null(x);
	return x;
}

/* 1 when the two certificates certify the same public key. */
static int same_key(const char *a, const char *b)
{
	X509 *xa = x509_of(a), *xb = x509_of(b);
	int same = EVP_PKEY_eq(X509_get0_pubkey(xa), X509_get0_pubkey(xb)) == 1;

	X509_free(xa);
	X509_free(xb);
	return same;
}

static struct produced dual, p256;
static char renewed_sign[4096], renewed_enc_serial[48]; /* the dual key's, after test_recertify_dual */
static EVP_PKEY *dual_key, *p256_key;

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	int rc;
	(void)state;

	if (harness_start_sim(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	rc = harness_start_ca(&S);
	if (rc == 77) {
		skipped = 1;
		return 0;
	}
	if (rc != 0 || config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&org2, &S, "org2");
	client_init(&producer, &S, "producer");
	client_init(&admin, &S, "admin");
	client_init(&finance, &S, "finance");
	if (client_register_login(&org, "鹰潭更新测试有限公司", "91310115MA1K3BTP2B", "13800138061") != 0 ||
	    client_register_login(&org2, "鹰潭更新第二有限公司", "91110000600037341L", "13800138062") != 0 ||
	    client_staff_login(&producer, "producer") != 0 || client_staff_login(&admin, "admin") != 0 ||
	    client_staff_login(&finance, "finance") != 0)
		return -1;
	dual_key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	p256_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	produce(&org, "main", "skf", "RENEW-SM2-1", dual_key, &dual);
	produce(&org2, "secondary", "pkcs11", "RENEW-P256-1", p256_key, &p256);
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	EVP_PKEY_free(dual_key);
	EVP_PKEY_free(p256_key);
	if (db != NULL)
		db_close(db);
	config_free(&cfg);
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Outside the window, unknown and bad certificates; then the window opened for the tests. */
static void test_window_and_unknown(void **state)
{
	json_t *j = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	unsigned char *der = NULL;
	char *b64;
	int n;
	(void)state;
	if (skipped)
		skip();
	/* a fresh one-year certificate: the 90-day window is months away */
	assert_int_equal(challenge(dual.sign_der, &j), 409);
	assert_string_equal(error_code(j), "outside_window");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "起"));
	json_decref(j);
	/* not this CA's: 404; not a certificate: 422 */
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 12345);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8, (const unsigned char *)"x", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	n = i2d_X509(x, &der);
	b64 = calloc(1, (size_t)n * 2 + 4);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	assert_int_equal(challenge(b64, &j), 404);
	assert_string_equal(error_code(j), "cert_unknown");
	json_decref(j);
	assert_int_equal(challenge("bm90IGEgY2VydA==", &j), 422);
	assert_string_equal(error_code(j), "certificate_invalid");
	json_decref(j);
	free(b64);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
	/* the project's window opened wide enough for a one-year certificate */
	it_sql(db, "UPDATE projects SET renewal_window_before_days = 400 WHERE code = 'yingtan'", NULL);
	assert_int_equal(challenge(dual.sign_der, &j), 200);
	assert_string_equal(str(json_object_get(j, "certificate"), "serial"), dual.sign_serial);
	assert_string_equal(str(json_object_get(j, "certificate"), "uscc"), "91310115MA1K3BTP2B");
	assert_string_equal(str(json_object_get(j, "project"), "code"), "yingtan");
	assert_string_equal(str(j, "key_type"), "main");
	assert_string_equal(str(j, "mode"), "recertify");
	assert_true(json_is_true(json_object_get(j, "dual")));
	assert_int_equal(json_integer_value(json_object_get(j, "price_per_year_fen")), 22000);
	assert_int_equal(json_array_size(json_object_get(j, "years_options")), 3);
	assert_non_null(json_object_get(json_object_get(j, "window"), "opens_at"));
	assert_null(json_object_get(j, "renewal"));
	json_decref(j);
}

/* Proofs: right, forged, replayed, expired. */
static void test_proofs(void **state)
{
	char id[64], body[2000], tok[80], *sig;
	json_t *j = NULL;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	(void)state;
	if (skipped)
		skip();
	assert_int_equal(prove(dual.sign_der, dual_key, tok, NULL), 200);
	assert_int_equal(strlen(tok), 64);
	/* forged: another key's signature */
	sig = signed_challenge(dual.sign_der, other, id);
	snprintf(body, sizeof(body), "{\"challenge_id\":\"%s\",\"signature\":\"%s\"}", id, sig);
	free(sig);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals/prove", body, NULL, &j), 401);
	assert_string_equal(error_code(j), "challenge_invalid");
	json_decref(j);
	/* replayed: a challenge is used up by its first proof */
	sig = signed_challenge(dual.sign_der, dual_key, id);
	snprintf(body, sizeof(body), "{\"challenge_id\":\"%s\",\"signature\":\"%s\"}", id, sig);
	free(sig);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals/prove", body, NULL, &j), 200);
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals/prove", body, NULL, &j), 401);
	assert_string_equal(error_code(j), "challenge_invalid");
	json_decref(j);
	/* expired */
	sig = signed_challenge(dual.sign_der, dual_key, id);
	snprintf(body, sizeof(body), "{\"challenge_id\":\"%s\",\"signature\":\"%s\"}", id, sig);
	free(sig);
	it_sql(db, "UPDATE renewal_challenges SET expires_at = '2000-01-01T00:00:00Z' WHERE challenge_id = ?",
	       id);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals/prove", body, NULL, &j), 401);
	assert_string_equal(error_code(j), "challenge_invalid");
	json_decref(j);
	/* no token, a made-up token */
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", "{}", NULL, &j), 401);
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", "{}",
					 "0000000000000000000000000000000000000000000000000000000000000000",
					 &j),
			 401);
	assert_string_equal(error_code(j), "token_invalid");
	json_decref(j);
	/* the token is stored hashed only */
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;
	assert_int_equal(db_query_int(c, "SELECT COUNT(*) FROM renewal_tokens WHERE token_hash = ?",
				      DB_ARGS(DB_TEXT(tok)), &n),
			 DB_OK);
	assert_int_equal(n, 0);
	db_release(c);
	EVP_PKEY_free(other);
}

/* The whole recertify flow on the SM2 dual main key. */
static void test_recertify_dual(void **state)
{
	char tok[80], tok2[80], body[3000], no[32], path[160], sign_serial[48], enc_serial[48], new_sign[4096],
		new_enc[4096], want[32], certs[30000], *seals = NULL, *retry_seals;
	json_t *j = NULL, *c0, *c1;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	(void)state;
	if (skipped)
		skip();
	assert_int_equal(prove(dual.sign_der, dual_key, tok, NULL), 200);
	/* bad invoice data */
	snprintf(body, sizeof(body), "{\"years\":1,\"invoice\":" ORG_INVOICE "}", "91310115MA1K3BTP2X");
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 422);
	assert_string_equal(str(json_object_get(j, "error"), "field"), "invoice.tax_number");
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals",
					 "{\"years\":1,\"invoice\":{\"kind\":\"person\",\"name\":\"张三\","
					 "\"phone\":\"13800138000\","
					 "\"id_number\":\"110105194912310021\",\"email\":\"a@example.com\"}}",
					 tok, &j),
			 422);
	assert_string_equal(str(json_object_get(j, "error"), "field"), "invoice.id_number");
	json_decref(j);
	snprintf(body, sizeof(body), "{\"years\":4,\"invoice\":" ORG_INVOICE "}", "91310115MA1K3BTP2B");
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 422);
	json_decref(j);
	/* created; the amount from the catalogue; a second create (another tab) the same renewal */
	snprintf(body, sizeof(body), "{\"years\":1,\"amount_fen\":1,\"invoice\":" ORG_INVOICE "}", "91310115MA1K3BTP2B");
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 201);
	snprintf(no, sizeof(no), "%s", str(j, "renewal_no"));
	assert_string_equal(str(j, "state"), "awaiting_payment");
	assert_int_equal(json_integer_value(json_object_get(j, "amount_fen")), 22000);
	assert_string_equal(str(json_object_get(j, "invoice"), "tax_number"), "91310115MA1K3BTP2B");
	it_plus_months(dual.not_after, 12, want);
	assert_string_equal(str(j, "new_not_after"), want);
	json_decref(j);
	assert_int_equal(prove(dual.sign_der, dual_key, tok2, &j), 200);
	assert_string_equal(str(j, "renewal_no"), no);
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok2, &j), 200);
	assert_string_equal(str(j, "renewal_no"), no);
	json_decref(j);
	/* nothing to issue before payment */
	assert_int_equal(issue(no, tok, dual.sign_der, dual_key, NULL, &j), 409);
	assert_string_equal(error_code(j), "state_conflict");
	json_decref(j);
	pay(no, tok);
	/* the organisation sees it in its list; staff in the search with its kind */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "state"), "paid");
	assert_string_equal(str(j, "kind"), "renewal");
	assert_string_equal(str(j, "renews_serial"), dual.sign_serial);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders?q=%s", no);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(json_array_get(json_object_get(j, "items"), 0), "kind"), "renewal");
	json_decref(j);
	assert_int_equal(client_do(&org, "GET", "/api/v1/orders", NULL, &j), 200);
	assert_string_equal(str(json_array_get(json_object_get(j, "items"), 0), "order_no"), no);
	json_decref(j);
	/* finance: in the invoice queue as any paid order, invoiced to the e-mail of its invoice data */
	assert_int_equal(client_do(&finance, "GET", "/api/v1/admin/invoices/queue", NULL, &j), 200);
	char *queue = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(queue, no));
	free(queue);
	json_decref(j);
	{
		static const char pdf[] = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
					  "trailer\n<< /Root 1 0 R >>\n%%EOF\n";
		snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/invoice", no);
		assert_int_equal(client_upload(&finance, "PUT", path, NULL, "fp.pdf", pdf, sizeof(pdf) - 1, &j), 201);
		assert_string_equal(str(j, "email_to"), "fp@example.com");
		json_decref(j);
	}
	/* another key's signature over the fresh challenge: key_changed */
	assert_int_equal(issue(no, tok, dual.sign_der, other, NULL, &j), 409);
	assert_string_equal(error_code(j), "key_changed");
	json_decref(j);
	/* issued: the same public keys, new serials, notAfter = old + 1 year */
	assert_int_equal(issue(no, tok, dual.sign_der, dual_key, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	c0 = json_array_get(json_object_get(j, "certificates"), 0);
	c1 = json_array_get(json_object_get(j, "certificates"), 1);
	assert_string_equal(str(c0, "usage"), "sign");
	assert_string_equal(str(c1, "usage"), "enc");
	snprintf(sign_serial, sizeof(sign_serial), "%s", str(c0, "serial"));
	snprintf(enc_serial, sizeof(enc_serial), "%s", str(c1, "serial"));
	snprintf(new_sign, sizeof(new_sign), "%s", str(c0, "der"));
	snprintf(new_enc, sizeof(new_enc), "%s", str(c1, "der"));
	snprintf(renewed_sign, sizeof(renewed_sign), "%s", new_sign);
	snprintf(renewed_enc_serial, sizeof(renewed_enc_serial), "%s", enc_serial);
	assert_string_not_equal(sign_serial, dual.sign_serial);
	assert_string_not_equal(enc_serial, dual.enc_serial);
	assert_true(same_key(new_sign, dual.sign_der));
	assert_true(same_key(new_enc, dual.enc_der));
	assert_string_equal(str(j, "not_after"), want);
	/* the main key's seals, renewed for the new signing certificate with the same pictures */
	assert_int_equal(json_array_size(json_object_get(j, "seals")), 2);
	assert_string_equal(str(json_array_get(json_object_get(j, "seals"), 0), "type"), "org");
	seals = json_dumps(json_object_get(j, "seals"), JSON_COMPACT);
	json_decref(j);
	/* a retry: the same certificates */
	assert_int_equal(issue(no, tok, dual.sign_der, dual_key, NULL, &j), 200);
	assert_string_equal(str(json_array_get(json_object_get(j, "certificates"), 0), "serial"), sign_serial);
	assert_string_equal(str(json_array_get(json_object_get(j, "certificates"), 1), "serial"), enc_serial);
	retry_seals = json_dumps(json_object_get(j, "seals"), JSON_COMPACT);
	assert_string_equal(retry_seals, seals);
	free(retry_seals);
	json_decref(j);
	/* the old certificate is still good until the key is confirmed */
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", dual.sign_serial);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "status"), "good");
	json_decref(j);
	/* wrong read-back */
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/complete", no);
	snprintf(certs, sizeof(certs), "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]}",
		 dual.sign_der, dual.enc_der);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	/* the certificates right but no seals read back: 409 */
	snprintf(certs, sizeof(certs), "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]}",
		 new_sign, new_enc);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	/* right read-back with the seals: completed, the old certificates superseded */
	snprintf(certs, sizeof(certs),
		 "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}],\"seals\":%s}",
		 new_sign, new_enc, seals);
	free(seals);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 200);
	assert_string_equal(str(j, "state"), "completed");
	assert_string_equal(str(j, "new_not_after"), want);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", dual.sign_serial);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "status"), "revoked");
	assert_string_equal(str(j, "reason"), "superseded");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", dual.enc_serial);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "status"), "revoked");
	json_decref(j);
	/* the key opened again in the wizard, with the old certificate (superseded) or the new one (its
	 * window years away): the completed renewal and the new validity, instead of an error */
	assert_int_equal(challenge(dual.sign_der, &j), 200);
	assert_string_equal(str(json_object_get(j, "completed"), "renewal_no"), no);
	assert_string_equal(str(json_object_get(j, "completed"), "state"), "completed");
	assert_string_equal(str(json_object_get(j, "completed"), "not_after"), want);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "completed"), "certificates")), 2);
	json_decref(j);
	it_sql(db, "UPDATE projects SET renewal_window_before_days = 90 WHERE code = 'yingtan'", NULL);
	assert_int_equal(challenge(new_sign, &j), 200);
	assert_string_equal(str(json_object_get(j, "completed"), "renewal_no"), no);
	assert_string_equal(str(json_object_get(j, "certificate"), "serial"), sign_serial);
	json_decref(j);
	it_sql(db, "UPDATE projects SET renewal_window_before_days = 400 WHERE code = 'yingtan'", NULL);
	/* a certificate with nothing renewed shows no completed renewal */
	assert_int_equal(challenge(p256.sign_der, &j), 200);
	assert_null(json_object_get(j, "completed"));
	json_decref(j);
	EVP_PKEY_free(other);
}

/* Rekey on the P-256 secondary certificate: a new key's CSR, also signed by the old key. */
static void test_rekey(void **state)
{
	char tok[80], body[3000], no[32], path[160], *csr, *oldsig, extra[6000], new_der[4096], certs[5000];
	unsigned char *csr_der = NULL;
	int csr_len = 0;
	json_t *j = NULL, *e;
	EVP_PKEY *nk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	(void)state;
	if (skipped)
		skip();
	it_sql(db, "UPDATE projects SET renewal_mode = 'rekey' WHERE code = 'yingtan'", NULL);
	assert_int_equal(prove(p256.sign_der, p256_key, tok, NULL), 200);
	snprintf(body, sizeof(body),
		 "{\"years\":2,\"invoice\":{\"kind\":\"person\",\"name\":\"张三\",\"phone\":\"13800138000\","
		 "\"id_number\":\"11010519491231002X\",\"email\":\"a@example.com\"}}");
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 201);
	snprintf(no, sizeof(no), "%s", str(j, "renewal_no"));
	assert_int_equal(json_integer_value(json_object_get(j, "amount_fen")), 38000);
	assert_string_equal(str(j, "mode"), "rekey");
	json_decref(j);
	pay(no, tok);
	csr = make_csr(nk, &csr_der, &csr_len);
	oldsig = sign_b64(p256_key, csr_der, (size_t)csr_len);
	e = json_pack("{s:s, s:s}", "csr", csr, "csr_old_signature", "AAAA");
	char *t = json_dumps(e, JSON_COMPACT);
	snprintf(extra, sizeof(extra), ",%s", t + 1);
	extra[strlen(extra) - 1] = '\0';
	free(t);
	json_decref(e);
	assert_int_equal(issue(no, tok, p256.sign_der, p256_key, extra, &j), 422);
	assert_string_equal(error_code(j), "csr_old_signature_invalid");
	json_decref(j);
	e = json_pack("{s:s, s:s}", "csr", csr, "csr_old_signature", oldsig);
	t = json_dumps(e, JSON_COMPACT);
	snprintf(extra, sizeof(extra), ",%s", t + 1);
	extra[strlen(extra) - 1] = '\0';
	free(t);
	json_decref(e);
	assert_int_equal(issue(no, tok, p256.sign_der, p256_key, extra, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 1);
	snprintf(new_der, sizeof(new_der), "%s", str(json_array_get(json_object_get(j, "certificates"), 0), "der"));
	json_decref(j);
	assert_false(same_key(new_der, p256.sign_der));
	X509 *x = x509_of(new_der);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), nk), 1);
	X509_free(x);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/complete", no);
	snprintf(certs, sizeof(certs), "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"}]}", new_der);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 200);
	assert_string_equal(str(j, "state"), "completed");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", p256.sign_serial);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "reason"), "superseded");
	json_decref(j);
	it_sql(db, "UPDATE projects SET renewal_mode = 'recertify' WHERE code = 'yingtan'", NULL);
	free(csr);
	free(oldsig);
	OPENSSL_free(csr_der);
	EVP_PKEY_free(nk);
}

/* Makes a P-256 certificate for key k issued with CA key file cakey under CA certificate ca (as the
 * CA's old system did, outside certdesk), valid until 30 days from now; returns its PEM file path. */
static void old_system_cert_ku(EVP_PKEY *cakey, X509 *ca, EVP_PKEY *k, const char *uscc, const char *file,
			       const char *key_usage)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	X509_EXTENSION *ku;
	FILE *f;
	int sm2 = EVP_PKEY_is_a(cakey, "SM2");

	X509_set_version(x, 2);
	BN_rand(bn, 120, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"CN", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"鹰潭导入测试有限公司", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"鹰潭导入测试有限公司", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_UTF8, (const unsigned char *)uscc, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(x), -300L * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, k);
	ku = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, (char *)key_usage);
	X509_add_ext(x, ku, -1);
	X509_EXTENSION_free(ku);
	if (sm2) {
		pctx = EVP_PKEY_CTX_new(cakey, NULL);
		assert_true(EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16) > 0);
		EVP_MD_CTX_set_pkey_ctx(m, pctx);
	}
	assert_int_equal(EVP_DigestSignInit(m, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, cakey), 1);
	assert_true(X509_sign_ctx(x, m) > 0);
	f = fopen(file, "w");
	PEM_write_X509(f, x);
	fclose(f);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pctx);
	BN_free(bn);
	X509_NAME_free(n);
	X509_free(x);
}

static void old_system_cert(EVP_PKEY *cakey, X509 *ca, EVP_PKEY *k, const char *uscc, const char *file)
{
	old_system_cert_ku(cakey, ca, k, uscc, file, "critical,digitalSignature,nonRepudiation");
}

/* A certificate from before certdesk: certdesk certs import (refusing a forged one, idempotent), then
 * renewed online like any other. */
static void test_imported(void **state)
{
	char *loc = NULL, *ca_b64 = NULL, *out = NULL, csv[400], pem[400], forged[400], tok[80], no[32], path[160],
	     certs[5000], der[4096], body[1000];
	const char *uscc = "92340602MA2PBMEM24";
	struct db_conn *c;
	EVP_PKEY *cakey, *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *rogue = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca;
	FILE *f;
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	c = db_acquire(db);
	assert_int_equal(db_query_text(c,
				       "SELECT c.key_location FROM cas c JOIN cert_profiles p ON p.issuing_key_id = c.key_id"
				       " JOIN projects j ON j.id = p.project_id WHERE j.code = 'yingtan' AND"
				       " p.key_type = 'secondary' AND p.algorithm = 'p256'",
				       DB_NOARGS, &loc),
			 DB_OK);
	assert_int_equal(db_query_text(c,
				       "SELECT c.der FROM cas c JOIN cert_profiles p ON p.issuing_key_id = c.key_id"
				       " JOIN projects j ON j.id = p.project_id WHERE j.code = 'yingtan' AND"
				       " p.key_type = 'secondary' AND p.algorithm = 'p256'",
				       DB_NOARGS, &ca_b64),
			 DB_OK);
	db_release(c);
	assert_int_equal(strncmp(loc, "file:", 5), 0);
	f = fopen(loc + 5, "r");
	assert_non_null(f);
	cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(cakey);
	ca = x509_of(ca_b64);
	snprintf(pem, sizeof(pem), "%s/old-system.pem", S.dir);
	snprintf(forged, sizeof(forged), "%s/forged.pem", S.dir);
	snprintf(csv, sizeof(csv), "%s/old-system.csv", S.dir);
	old_system_cert(cakey, ca, k, uscc, pem);
	old_system_cert(rogue, ca, k, uscc, forged); /* the CA's name, another key's signature */
	f = fopen(csv, "w");
	fprintf(f, "serial,uscc,name,project_code,key_type,mobile,email\n,%s,鹰潭导入测试有限公司,yingtan,secondary,"
		   "13800138070,imp@example.com\n",
		uscc);
	fclose(f);
	char *argv[] = {(char *)harness_bin("certdesk"), "certs", "import", "--csv", csv, pem, NULL};
	assert_int_equal(harness_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "imported as order"));
	free(out);
	assert_int_equal(harness_run(argv, NULL, &out), 0); /* idempotent */
	assert_non_null(strstr(out, "imported before"));
	free(out);
	char *argv2[] = {(char *)harness_bin("certdesk"), "certs", "import", "--csv", csv, forged, NULL};
	assert_int_equal(harness_run(argv2, NULL, &out), 1);
	assert_non_null(strstr(out, "refused"));
	free(out);
	/* the imported certificate renews */
	f = fopen(pem, "r");
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	EVP_EncodeBlock((unsigned char *)der, d, n);
	OPENSSL_free(d);
	X509_free(x);
	assert_int_equal(challenge(der, &j), 200);
	assert_string_equal(str(j, "key_type"), "secondary");
	assert_string_equal(str(json_object_get(j, "certificate"), "uscc"), uscc);
	json_decref(j);
	assert_int_equal(prove(der, k, tok, NULL), 200);
	snprintf(body, sizeof(body), "{\"years\":1,\"invoice\":" ORG_INVOICE "}", uscc);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 201);
	snprintf(no, sizeof(no), "%s", str(j, "renewal_no"));
	assert_int_equal(json_integer_value(json_object_get(j, "amount_fen")), 19000);
	json_decref(j);
	pay(no, tok);
	assert_int_equal(issue(no, tok, der, k, NULL, &j), 200);
	char new_der[4096];
	snprintf(new_der, sizeof(new_der), "%s", str(json_array_get(json_object_get(j, "certificates"), 0), "der"));
	json_decref(j);
	assert_true(same_key(new_der, der));
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/complete", no);
	snprintf(certs, sizeof(certs), "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"}]}", new_der);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 200);
	assert_string_equal(str(j, "state"), "completed");
	json_decref(j);
	free(loc);
	free(ca_b64);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(k);
	EVP_PKEY_free(rogue);
}

/* Rekey of the dual key's renewed certificate (a renewal of a renewal): a new SM2 signing key, and
 * through key management a new encryption key pair, handed out wrapped for the new signing key. */
static void test_rekey_dual(void **state)
{
	char tok[80], body[3000], no[32], path[160], *csr, *oldsig, *t, extra[8000], sign_der[4096], enc_der[4096],
		certs[10000];
	unsigned char *csr_der = NULL;
	int csr_len = 0;
	json_t *j = NULL, *e;
	EVP_PKEY *nk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	(void)state;
	if (skipped)
		skip();
	assert_true(renewed_sign[0] != '\0');
	it_sql(db,
	       "UPDATE projects SET renewal_mode = 'rekey', renewal_window_before_days = 1000 WHERE code = "
	       "'yingtan'",
	       NULL);
	assert_int_equal(prove(renewed_sign, dual_key, tok, NULL), 200);
	snprintf(body, sizeof(body), "{\"years\":1,\"invoice\":" ORG_INVOICE "}", "91310115MA1K3BTP2B");
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 201);
	snprintf(no, sizeof(no), "%s", str(j, "renewal_no"));
	assert_string_equal(str(j, "mode"), "rekey");
	assert_true(json_is_true(json_object_get(j, "dual")));
	json_decref(j);
	pay(no, tok);
	csr = make_csr(nk, &csr_der, &csr_len);
	oldsig = sign_b64(dual_key, csr_der, (size_t)csr_len);
	e = json_pack("{s:s, s:s}", "csr", csr, "csr_old_signature", oldsig);
	t = json_dumps(e, JSON_COMPACT);
	snprintf(extra, sizeof(extra), ",%s", t + 1);
	extra[strlen(extra) - 1] = '\0';
	free(t);
	json_decref(e);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/issue?ulong=32", no);
	char id[64], *sig = signed_challenge(renewed_sign, dual_key, id), *ib = malloc(20000);
	snprintf(ib, 20000, "{\"challenge_id\":\"%s\",\"signature\":\"%s\"%s}", id, sig, extra);
	assert_int_equal(it_renewal_call(&S, "POST", path, ib, tok, &j), 200);
	free(ib);
	free(sig);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	snprintf(sign_der, sizeof(sign_der), "%s", str(json_array_get(json_object_get(j, "certificates"), 0), "der"));
	snprintf(enc_der, sizeof(enc_der), "%s", str(json_array_get(json_object_get(j, "certificates"), 1), "der"));
	assert_non_null(json_object_get(j, "enc_key"));
	assert_non_null(json_object_get(json_object_get(j, "enc_key"), "format"));
	assert_string_equal(str(json_object_get(j, "enc_key"), "enc_serial"),
			    str(json_array_get(json_object_get(j, "certificates"), 1), "serial"));
	json_decref(j);
	X509 *x = x509_of(sign_der);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), nk), 1);
	X509_free(x);
	assert_false(same_key(enc_der, dual.enc_der)); /* a new encryption key pair */
	/* a retry: the same certificates and the encryption key again */
	assert_int_equal(issue(no, tok, renewed_sign, dual_key, NULL, &j), 200);
	assert_string_equal(str(json_array_get(json_object_get(j, "certificates"), 0), "der"), sign_der);
	assert_non_null(json_object_get(j, "enc_key"));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/complete", no);
	snprintf(certs, sizeof(certs), "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]}",
		 sign_der, enc_der);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 200);
	assert_string_equal(str(j, "state"), "completed");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", renewed_enc_serial);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "reason"), "superseded");
	json_decref(j);
	it_sql(db,
	       "UPDATE projects SET renewal_mode = 'recertify', renewal_window_before_days = 400 WHERE code "
	       "= 'yingtan'",
	       NULL);
	free(csr);
	free(oldsig);
	OPENSSL_free(csr_der);
	EVP_PKEY_free(nk);
}

/* Reads the PEM certificate file into base64 DER b64. */
static void b64_of_pem_file(const char *file, char *b64)
{
	FILE *f = fopen(file, "r");
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);

	fclose(f);
	EVP_EncodeBlock((unsigned char *)b64, d, n);
	OPENSSL_free(d);
	X509_free(x);
}

/* An imported SM2 dual main key (both certificates imported onto one order) whose seal is read from
 * the key: the renewal re-certifies both keys and makes the seal anew with its picture. */
static void test_imported_main_seals(void **state)
{
	char *loc = NULL, *ca_b64 = NULL, *out = NULL, *maker_b64 = NULL, csv[400], spem[400], epem[400], tok[80],
	     no[32], path[160], body[1000], maker_id[48], sder[4096], eder[4096], new_sign[4096], new_enc[4096],
	     *seals;
	static char old_b64[300000], extra[300100], certs[320000];
	const char *uscc = "91110000600037341L";
	struct db_conn *c;
	EVP_PKEY *cakey, *ks = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), *ke = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	X509 *ca;
	FILE *f;
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	c = db_acquire(db);
	assert_int_equal(db_query_text(c,
				       "SELECT c.key_location FROM cas c JOIN cert_profiles p ON p.issuing_key_id = c.key_id"
				       " JOIN projects j ON j.id = p.project_id WHERE j.code = 'yingtan' AND"
				       " p.key_type = 'main' AND p.algorithm = 'sm2'",
				       DB_NOARGS, &loc),
			 DB_OK);
	assert_int_equal(db_query_text(c,
				       "SELECT c.der FROM cas c JOIN cert_profiles p ON p.issuing_key_id = c.key_id"
				       " JOIN projects j ON j.id = p.project_id WHERE j.code = 'yingtan' AND"
				       " p.key_type = 'main' AND p.algorithm = 'sm2'",
				       DB_NOARGS, &ca_b64),
			 DB_OK);
	char *issuing = NULL;
	assert_int_equal(db_query_text(c,
				       "SELECT p.issuing_key_id FROM cert_profiles p JOIN projects j ON j.id = p.project_id"
				       " WHERE j.code = 'yingtan' AND p.key_type = 'main' AND p.algorithm = 'sm2'",
				       DB_NOARGS, &issuing),
			 DB_OK);
	assert_int_equal(store_ca_sealmaker(c, issuing, maker_id, &maker_b64), DB_OK);
	free(issuing);
	db_release(c);
	f = fopen(loc + 5, "r");
	cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ca = x509_of(ca_b64);
	snprintf(spem, sizeof(spem), "%s/old-main-sign.pem", S.dir);
	snprintf(epem, sizeof(epem), "%s/old-main-enc.pem", S.dir);
	snprintf(csv, sizeof(csv), "%s/old-main.csv", S.dir);
	old_system_cert_ku(cakey, ca, ks, uscc, spem, "critical,digitalSignature,nonRepudiation");
	old_system_cert_ku(cakey, ca, ke, uscc, epem, "critical,keyEncipherment,dataEncipherment,keyAgreement");
	f = fopen(csv, "w");
	fprintf(f, "serial,uscc,name,project_code,key_type,mobile,email\n,%s,鹰潭更新第二有限公司,yingtan,main,"
		   "13800138062,fp2@example.com\n",
		uscc);
	fclose(f);
	char *argv[] = {(char *)harness_bin("certdesk"), "certs", "import", "--csv", csv, spem, epem, NULL};
	assert_int_equal(harness_run(argv, NULL, &out), 0);
	free(out);
	b64_of_pem_file(spem, sder);
	b64_of_pem_file(epem, eder);
	/* the seal on the key, made by the old system for the old signing certificate */
	{
		size_t png_len = 0, maker_len = 0, cert_len = 0, seal_len = 0;
		unsigned char *png = test_seal_png(0, 240, &png_len), *maker, *cert, *seal = NULL;
		char err[512] = "";
		maker = malloc(strlen(maker_b64));
		maker_len = (size_t)EVP_DecodeBlock(maker, (unsigned char *)maker_b64, (int)strlen(maker_b64));
		maker_len -= (maker_b64[strlen(maker_b64) - 1] == '=') + (maker_b64[strlen(maker_b64) - 2] == '=');
		cert = malloc(strlen(sder));
		cert_len = (size_t)EVP_DecodeBlock(cert, (unsigned char *)sder, (int)strlen(sder));
		cert_len -= (sder[strlen(sder) - 1] == '=') + (sder[strlen(sder) - 2] == '=');
		struct seal_in in = {.type = SEAL_TYPE_ORG, .es_id = "OLD-SYSTEM-1", .name = "鹰潭更新第二有限公司",
				     .cert_der = cert, .cert_len = cert_len, .png = png, .png_len = png_len,
				     .width_mm = 40, .height_mm = 40};
		assert_int_equal(seal_make(&in, cfg.signer_socket, maker_id, maker, maker_len, &seal, &seal_len, err,
					   sizeof(err)),
				 SEAL_OK);
		EVP_EncodeBlock((unsigned char *)old_b64, seal, (int)seal_len);
		free(seal);
		free(cert);
		free(maker);
		free(png);
	}
	assert_int_equal(challenge(sder, &j), 200);
	assert_string_equal(str(j, "key_type"), "main");
	assert_true(json_is_true(json_object_get(j, "dual")));
	json_decref(j);
	assert_int_equal(prove(sder, ks, tok, NULL), 200);
	snprintf(body, sizeof(body), "{\"years\":1,\"invoice\":" ORG_INVOICE "}", uscc);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body, tok, &j), 201);
	snprintf(no, sizeof(no), "%s", str(j, "renewal_no"));
	json_decref(j);
	pay(no, tok);
	/* a seal that is not this certificate's is refused */
	assert_int_equal(issue(no, tok, sder, ks, ",\"old_seals\":[\"AAAA\"]", &j), 422);
	assert_string_equal(error_code(j), "old_seal_invalid");
	json_decref(j);
	snprintf(extra, sizeof(extra), ",\"old_seals\":[\"%s\"]", old_b64);
	assert_int_equal(issue(no, tok, sder, ks, extra, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	snprintf(new_sign, sizeof(new_sign), "%s", str(json_array_get(json_object_get(j, "certificates"), 0), "der"));
	snprintf(new_enc, sizeof(new_enc), "%s", str(json_array_get(json_object_get(j, "certificates"), 1), "der"));
	assert_true(same_key(new_sign, sder));
	assert_true(same_key(new_enc, eder));
	assert_int_equal(json_array_size(json_object_get(j, "seals")), 1);
	assert_string_equal(str(json_array_get(json_object_get(j, "seals"), 0), "type"), "org");
	seals = json_dumps(json_object_get(j, "seals"), JSON_COMPACT);
	json_decref(j);
	/* the new seal verifies and is bound to the new signing certificate */
	{
		const char *esl = strstr(seals, "\"esl\":\"") + 7;
		size_t n = strcspn(esl, "\"");
		unsigned char *der = malloc(n);
		struct seal_report rep;
		int len = EVP_DecodeBlock(der, (const unsigned char *)esl, (int)n);
		len -= (esl[n - 1] == '=') + (esl[n - 2] == '=');
		assert_int_equal(seal_verify(der, (size_t)len, time(NULL), &rep), 1);
		assert_string_equal(rep.seal.name, "鹰潭更新第二有限公司");
		free(der);
	}
	/* a retry: the same seal */
	assert_int_equal(issue(no, tok, sder, ks, NULL, &j), 200);
	char *again = json_dumps(json_object_get(j, "seals"), JSON_COMPACT);
	assert_string_equal(again, seals);
	free(again);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/complete", no);
	snprintf(certs, sizeof(certs), "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]}",
		 new_sign, new_enc);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 409);
	json_decref(j);
	snprintf(certs, sizeof(certs),
		 "{\"certificates\":[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}],\"seals\":%s}",
		 new_sign, new_enc, seals);
	free(seals);
	assert_int_equal(it_renewal_call(&S, "POST", path, certs, tok, &j), 200);
	assert_string_equal(str(j, "state"), "completed");
	json_decref(j);
	free(loc);
	free(ca_b64);
	free(maker_b64);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(ks);
	EVP_PKEY_free(ke);
}

/* Returns the count of rows of query (one text parameter). */
static int64_t count_of(const char *query, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;

	assert_int_equal(db_query_int(c, query, DB_ARGS(DB_TEXT(arg)), &n), DB_OK);
	db_release(c);
	return n;
}

/* Starts a WeChat Pay attempt for renewal no; its out_trade_no into trade. */
static void start_wxpay(const char *no, const char *tok, char trade[80])
{
	char path[160];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/renewals/%s/payments", no);
	assert_int_equal(it_renewal_call(&S, "POST", path, "{\"provider\":\"wxpay\"}", tok, &j), 200);
	snprintf(trade, 80, "%s", str(json_object_get(j, "attempt"), "out_trade_no"));
	json_decref(j);
}

/* The state of renewal no as its token sees it. */
static const char *renewal_state(const char *no, const char *tok)
{
	char path[160];
	json_t *j = NULL;
	const char *s;

	snprintf(path, sizeof(path), "/api/v1/renewals/%s", no);
	assert_int_equal(it_renewal_call(&S, "GET", path, NULL, tok, &j), 200);
	s = str(j, "state");
	json_decref(j);
	return s;
}

/* An unpaid renewal asked for again: the same years and invoice data get it as it is; other ones
 * cancel it (its QR code closed at the provider) for a new one; a payment that still arrives for a
 * cancelled renewal is recorded and refunded, never lost; the user may cancel an unpaid renewal
 * (POST .../cancel), not a paid one; finance refunds a paid renewal not yet issued (which then cannot
 * be issued) and the certificate can be renewed again. */
static void test_cancel_and_refund(void **state)
{
	char tok[80], body1[3000], body2[3000], no1[32], no2[32], no3[32], no4[32], trade1[80], trade2[80], path[200];
	struct produced pc;
	json_t *j = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	(void)state;
	if (skipped)
		skip();
	it_sql(db,
	       "UPDATE projects SET renewal_window_before_days = 400, renewal_mode = 'recertify' WHERE code "
	       "= 'yingtan'",
	       NULL);
	it_sql(db, "DELETE FROM rate_limits WHERE bucket LIKE 'renew-%'",
	       NULL); /* the earlier tests' challenges */
	produce(&org2, "secondary", "pkcs11", "RENEW-CANCEL-1", k, &pc);
	assert_int_equal(prove(pc.sign_der, k, tok, NULL), 200);
	snprintf(body1, sizeof(body1), "{\"years\":1,\"invoice\":" ORG_INVOICE "}", "91110000600037341L");
	snprintf(body2, sizeof(body2), "{\"years\":2,\"invoice\":" ORG_INVOICE "}", "91110000600037341L");
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body1, tok, &j), 201);
	snprintf(no1, sizeof(no1), "%s", str(j, "renewal_no"));
	json_decref(j);
	start_wxpay(no1, tok, trade1);
	/* the same years and invoice data: the same renewal, its QR code still open */
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body1, tok, &j), 200);
	assert_string_equal(str(j, "renewal_no"), no1);
	json_decref(j);
	/* two years instead of one: a new renewal at the new price; the first cancelled, its QR code
	 * closed here and at WeChat Pay (it can no longer be paid) */
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body2, tok, &j), 201);
	snprintf(no2, sizeof(no2), "%s", str(j, "renewal_no"));
	assert_string_not_equal(no2, no1);
	assert_int_equal(json_integer_value(json_object_get(j, "amount_fen")), 38000);
	json_decref(j);
	assert_string_equal(renewal_state(no1, tok), "cancelled");
	assert_int_equal(count_of("SELECT COUNT(*) FROM payments WHERE out_trade_no = ? AND state = 'closed'", trade1), 1);
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/pay", trade1);
	assert_int_equal(sim_do(&S, "POST", path, "{\"notify\":true}", NULL), 409);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/payments", no1);
	assert_int_equal(it_renewal_call(&S, "POST", path, "{\"provider\":\"wxpay\"}", tok, &j), 409);
	json_decref(j);
	/* staff see it with its state */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no1);
	assert_int_equal(client_do(&admin, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "state"), "cancelled");
	assert_string_equal(str(j, "state_label"), "已取消");
	json_decref(j);
	/* a payment that still arrives for a cancelled renewal (a QR code closed here, not yet there):
	 * recorded paid, not credited, refunded whole */
	start_wxpay(no2, tok, trade2);
	it_sql(db, "UPDATE payments SET state = 'closed' WHERE out_trade_no = ?", trade2);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/cancel", no2);
	assert_int_equal(it_renewal_call(&S, "POST", path, NULL, tok, &j), 200);
	assert_string_equal(str(j, "state"), "cancelled");
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "POST", path, NULL, tok, &j), 200); /* again: the same */
	json_decref(j);
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/pay", trade2);
	assert_int_equal(sim_do(&S, "POST", path, "{\"notify\":true}", NULL), 200);
	for (int i = 0; i < 100 && count_of("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id"
					    " WHERE p.out_trade_no = ?",
					    trade2) == 0;
	     i++)
		usleep(100 * 1000);
	assert_int_equal(count_of("SELECT COUNT(*) FROM payments WHERE out_trade_no = ? AND state = 'paid' AND credited = 0",
				  trade2),
			 1);
	assert_int_equal(count_of("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE"
				  " p.out_trade_no = ? AND f.reason = '订单已取消，自动退款'",
				  trade2),
			 1);
	assert_string_equal(renewal_state(no2, tok), "cancelled");
	/* nothing live: the challenge names no renewal; a new one, paid: the user cannot cancel it */
	assert_int_equal(challenge(pc.sign_der, &j), 200);
	assert_null(json_object_get(j, "renewal"));
	json_decref(j);
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body1, tok, &j), 201);
	snprintf(no3, sizeof(no3), "%s", str(j, "renewal_no"));
	json_decref(j);
	pay(no3, tok);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/cancel", no3);
	assert_int_equal(it_renewal_call(&S, "POST", path, NULL, tok, &j), 409);
	assert_string_equal(error_code(j), "state_conflict");
	json_decref(j);
	/* a paid renewal with other years: the paid one, unchanged */
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body2, tok, &j), 200);
	assert_string_equal(str(j, "renewal_no"), no3);
	json_decref(j);
	/* finance refunds it before it is issued; then it cannot be issued */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/cancel", no3);
	assert_int_equal(client_do(&finance, "POST", path, "{\"reason\":\"用户申请退款\"}", &j), 200);
	assert_true(strcmp(str(j, "state"), "refunding") == 0 || strcmp(str(j, "state"), "refunded") == 0);
	json_decref(j);
	assert_int_equal(issue(no3, tok, pc.sign_der, k, NULL, &j), 409);
	assert_string_equal(error_code(j), "state_conflict");
	json_decref(j);
	/* the certificate can be renewed again; an unpaid renewal cancelled by its user */
	assert_int_equal(it_renewal_call(&S, "POST", "/api/v1/renewals", body1, tok, &j), 201);
	snprintf(no4, sizeof(no4), "%s", str(j, "renewal_no"));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/renewals/%s/cancel", no4);
	assert_int_equal(it_renewal_call(&S, "POST", path, NULL, tok, &j), 200);
	assert_string_equal(str(j, "state"), "cancelled");
	json_decref(j);
	assert_int_equal(prove(pc.sign_der, k, tok, &j), 200);
	assert_null(json_object_get(j, "renewal_no"));
	json_decref(j);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_and_unknown),
		cmocka_unit_test(test_proofs),
		cmocka_unit_test(test_recertify_dual),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_imported),
		cmocka_unit_test(test_rekey_dual),
		cmocka_unit_test(test_imported_main_seals),
		cmocka_unit_test(test_cancel_and_refund),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
