/* Production onto a USB key, certdeskd's half (issue 13): POST .../production records the key and
 * hands out its PINs (random per key, stored sealed: the column does not hold them); issuance needs
 * a live production (production_not_started) and is idempotent per order and key; a resume (same
 * key) returns the same PINs and the certificates issued; another key abandons the first, its
 * certificates revoked as superseded, and gets new ones (the encryption one too); a key in use by
 * another order is refused; POST .../production/complete accepts only a read-back equal to the
 * order's certificates, and for a main key its seals (issue 14; 409 readback_mismatch, the order
 * still producing) and moves the order to
 * produced (it ships afterwards); the PIN slip PDF shows the PIN and the serial; the SO PIN is for
 * admins; only producers and admins start; without the KEK: 503. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "ca_setup.h"
#include "harness.h"
#include "seal_png.h"
#include "store/store.h"

#define SM2_ID "1234567812345678"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, org2, org3, org4, producer, reviewer, admin, shipper, anon;
static int skipped;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates an order of key_type of oc put into production (payment and paper are other tests'). An
 * organisation applies for one main key at a time: each main order here is another organisation's. */
static void producing_order_of(struct client *oc, const char *key_type, char no[32])
{
	json_t *j = NULL;
	struct db_conn *dc;

	assert_int_equal(
		client_do(oc, "POST", "/api/v1/orders",
			  "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}",
			  &j),
		201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	dc = db_acquire(db);
	assert_int_equal(
		db_exec(dc,
			"UPDATE orders SET state = 'producing', submitted_at = created_at, key_type = ?"
			" WHERE order_no = ?",
			DB_ARGS(DB_TEXT(key_type), DB_TEXT(no)), NULL),
		DB_OK);
	db_release(dc);
}

static void producing_order(const char *key_type, char no[32])
{
	producing_order_of(&org, key_type, no);
}

/* POSTs .../production for key serial of kind as c; returns the status, the reply in *j. */
static long start_as(struct client *c, const char *no, const char *kind, const char *serial, json_t **j)
{
	char path[128], body[256];

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production", no);
	snprintf(body, sizeof(body),
		 "{\"kind\":\"%s\",\"serial\":\"%s\",\"model\":\"SoftKey 1\",\"manufacturer\":\"certdesk\"}",
		 kind, serial);
	return client_do(c, "POST", path, body, j);
}

static long start(const char *no, const char *kind, const char *serial, json_t **j)
{
	return start_as(&producer, no, kind, serial, j);
}

/* Returns a PEM CSR signed by k (SM2 with the ID and SM3, else SHA-256). Caller frees. */
static char *make_csr(EVP_PKEY *k)
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
	BIO_free(b);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	X509_REQ_free(req);
	return out;
}

/* Issues from a CSR of k for order no; returns the status, the reply in *j. */
static long issue(const char *no, EVP_PKEY *k, json_t **j)
{
	char path[128], *csr = make_csr(k);
	json_t *body = json_pack("{s:s}", "csr", csr);
	char *text = json_dumps(body, JSON_COMPACT);
	long st;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	st = client_do(&producer, "POST", path, text, j);
	free(text);
	free(csr);
	json_decref(body);
	return st;
}

/* POSTs .../production/complete with serial and the certificates list (JSON text). */
static long complete(const char *no, const char *serial, const char *certs, json_t **j)
{
	char path[128], *body = malloc(strlen(certs) + 256);
	long st;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/complete", no);
	sprintf(body, "{\"serial\":\"%s\",\"certificates\":%s}", serial, certs);
	st = client_do(&producer, "POST", path, body, j);
	free(body);
	return st;
}

/* A main key carries the organisation's seals (issue 14): staff choose both pictures (their own
 * PNGs here), the seals are made after issuance, and *seals gets the read-back list the completion
 * needs ([{type, esl}], caller frees). */
static void make_seals(const char *no, char **seals)
{
	static const char *const names[] = {"org", "legal"};
	char path[160], *b64, *body;
	json_t *j = NULL, *s;
	size_t len, i;

	for (int k = 0; k < 2; k++) {
		unsigned char *png = test_seal_png(k, 240, &len);
		b64 = test_b64(png, len);
		body = malloc(strlen(b64) + 32);
		sprintf(body, "{\"png\":\"%s\"}", b64);
		snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures/%s", no, names[k]);
		assert_int_equal(client_do(&producer, "PUT", path, body, &j), 200);
		json_decref(j);
		free(body);
		free(b64);
		free(png);
	}
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", no);
	assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 201);
	json_array_foreach (json_object_get(j, "seals"), i, s)
		json_object_del(s, "file"), json_object_del(s, "es_id"), json_object_del(s, "cert_serial"),
			json_object_del(s, "sha256"), json_object_del(s, "valid_start"), json_object_del(s, "valid_end"),
			json_object_del(s, "state"), json_object_del(s, "created_at");
	*seals = json_dumps(json_object_get(j, "seals"), JSON_COMPACT);
	json_decref(j);
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

/* Returns the string field name of j (static buffer copy so j can be freed). */
static const char *str(json_t *j, const char *name)
{
	static char buf[8][4096];
	static int n;
	const char *s = json_string_value(json_object_get(j, name));

	assert_non_null(s);
	n = (n + 1) % 8;
	snprintf(buf[n], sizeof(buf[n]), "%s", s);
	return buf[n];
}

static int setup(void **state)
{
	int rc;
	(void)state;

	rc = it_start_with_ca(&S, 0, &cfg, &db);
	if (rc == 77) {
		skipped = 1;
		return 0;
	}
	if (rc != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&org2, &S, "org2");
	client_init(&org3, &S, "org3");
	client_init(&org4, &S, "org4");
	client_init(&producer, &S, "producer");
	client_init(&reviewer, &S, "reviewer");
	client_init(&admin, &S, "admin");
	client_init(&shipper, &S, "shipper");
	client_init(&anon, &S, "anon");
	if (client_register_login(&org, "鹰潭制证测试有限公司", "91310115MA1K3BTP2B", "13800138051") != 0 ||
	    client_register_login(&org2, "鹰潭制证第二有限公司", "91110000600037341L", "13800138052") != 0 ||
	    client_register_login(&org3, "鹰潭制证第三有限公司", "9144030071526726XG", "13800138053") != 0 ||
	    client_register_login(&org4, "鹰潭制证第四有限公司", "92340602MA2PBMEM24", "13800138054") != 0 ||
	    client_staff_login(&producer, "producer") != 0 ||
	    client_staff_login(&reviewer, "reviewer") != 0 || client_staff_login(&admin, "admin") != 0 ||
	    client_staff_login(&shipper, "shipper") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = it_stop_with_ca(&S, &cfg, &db);
	return status == 0 ? 0 : -1;
}

/* Start: PINs random per key and sealed; the reply's shape; the audit without PINs. */
static void test_start_pins(void **state)
{
	char a[32], b[32], so[64], user[64];
	json_t *j = NULL, *k;
	struct db_conn *dc;
	char *col = NULL;
	int64_t n = 0;
	(void)state;
	if (skipped)
		skip();
	producing_order("main", a);
	producing_order("secondary", b);
	assert_int_equal(start(a, "skf", "PIN-KEY-A", &j), 201);
	snprintf(so, sizeof(so), "%s", str(j, "so_pin"));
	snprintf(user, sizeof(user), "%s", str(j, "user_pin"));
	assert_int_equal(strlen(so), 16);
	assert_int_equal(strlen(user), 8);
	assert_int_equal(strspn(user, "0123456789"), 8);
	assert_false(json_is_true(json_object_get(j, "user_pin_is_default")));
	assert_false(json_is_true(json_object_get(j, "resumed")));
	assert_true(json_is_true(json_object_get(j, "dual")));
	assert_string_equal(str(j, "algorithm"), "sm2");
	assert_string_equal(str(j, "label"), a);
	assert_string_equal(str(j, "order_no"), a);
	k = json_object_get(j, "key");
	assert_string_equal(str(k, "serial"), "PIN-KEY-A");
	assert_string_equal(str(k, "state"), "producing");
	assert_string_equal(str(k, "kind"), "skf");
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 0);
	assert_null(json_object_get(j, "previous_key"));
	json_decref(j);
	/* another key: other PINs; a PKCS#11 key of a secondary order gets a non-SM2 algorithm, single */
	assert_int_equal(start(b, "pkcs11", "PIN-KEY-B", &j), 201);
	assert_string_not_equal(str(j, "so_pin"), so);
	assert_string_not_equal(str(j, "user_pin"), user);
	assert_string_equal(str(j, "algorithm"), "ec-p256");
	assert_false(json_is_true(json_object_get(j, "dual")));
	json_decref(j);
	/* sealed: the columns do not hold the PINs; the audit names the key, not its PINs */
	dc = db_acquire(db);
	assert_int_equal(
		db_query_text(dc, "SELECT so_pin || '|' || user_pin FROM usb_keys WHERE serial = 'PIN-KEY-A'",
			      DB_NOARGS, &col),
		DB_OK);
	assert_null(strstr(col, so));
	assert_null(strstr(col, user));
	free(col);
	assert_int_equal(db_query_int(dc, "SELECT COUNT(*) FROM audit_log WHERE action = 'production.start'",
				      DB_NOARGS, &n),
			 DB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(db_query_int(dc,
				      "SELECT COUNT(*) FROM audit_log WHERE detail LIKE ? OR detail LIKE ?",
				      DB_ARGS(DB_TEXT(so), DB_TEXT(user)), &n),
			 DB_OK);
	assert_int_equal(n, 0);
	db_release(dc);
}

/* Issuance needs a production; roles; key_in_use; bad bodies. */
static void test_refusals(void **state)
{
	char a[32], b[32];
	json_t *j = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	(void)state;
	if (skipped)
		skip();
	producing_order("secondary", a);
	producing_order("secondary", b);
	assert_int_equal(issue(a, k, &j), 409);
	assert_string_equal(error_code(j), "production_not_started");
	json_decref(j);
	assert_int_equal(start_as(&org, a, "pkcs11", "ROLE-KEY", &j), 403);
	json_decref(j);
	assert_int_equal(start_as(&reviewer, a, "pkcs11", "ROLE-KEY", &j), 403);
	json_decref(j);
	assert_int_equal(start_as(&anon, a, "pkcs11", "ROLE-KEY", &j), 401);
	json_decref(j);
	assert_int_equal(start(a, "pkcs11", "bad serial!", &j), 422);
	json_decref(j);
	assert_int_equal(start(a, "usb", "GOOD-SERIAL", &j), 422);
	json_decref(j);
	/* an admin may start; the key is then in use for that order */
	assert_int_equal(start_as(&admin, a, "pkcs11", "SHARED-KEY", &j), 201);
	json_decref(j);
	assert_int_equal(start(b, "pkcs11", "SHARED-KEY", &j), 409);
	assert_string_equal(error_code(j), "key_in_use");
	json_decref(j);
	/* nothing to complete or print for an order without production */
	assert_int_equal(complete(b, "X", "[{\"usage\":\"sign\",\"der\":\"AA==\"}]", &j), 409);
	assert_string_equal(error_code(j), "production_not_started");
	json_decref(j);
	EVP_PKEY_free(k);
}

/* Returns the status of GET path as c, writing the body to file (when 200). */
static long fetch_to(struct client *c, const char *path, const char *file)
{
	char cookie[200];
	const char *h[] = {cookie, NULL};
	struct resp r;
	long st;

	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(c));
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, &r), 0);
	st = r.status;
	if (st == 200) {
		FILE *f = fopen(file, "wb");
		assert_string_equal(resp_header(&r, "Cache-Control"), "no-store");
		fwrite(r.body, 1, r.len, f);
		fclose(f);
	}
	resp_free(&r);
	return st;
}

/* Returns pdftotext's text of file (caller frees). */
static char *pdf_text(const char *file)
{
	char cmd[600], *out = calloc(1, 65536);
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 '%s' -", file);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, 65535, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

/* The whole flow on an SM2 dual main key: issue, resume, retry, wrong and right read-back, the PIN
 * slip, shipping. */
static void test_flow_dual(void **state)
{
	char no[32], so[64], user[64], sign_der[4096], enc_der[4096], sign_serial[48], certs[9000], path[200],
		file[400];
	json_t *j = NULL, *c0, *c1;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	char *der, *text, *seals = NULL, *all;
	(void)state;
	if (skipped)
		skip();
	producing_order_of(&org2, "main", no);
	assert_int_equal(start(no, "skf", "FLOW-KEY-1", &j), 201);
	snprintf(so, sizeof(so), "%s", str(j, "so_pin"));
	snprintf(user, sizeof(user), "%s", str(j, "user_pin"));
	json_decref(j);
	assert_int_equal(issue(no, k, &j), 201);
	snprintf(sign_serial, sizeof(sign_serial), "%s", str(j, "serial"));
	der = der_of_pem(str(j, "pem"));
	snprintf(sign_der, sizeof(sign_der), "%s", der);
	free(der);
	der = der_of_pem(str(json_object_get(j, "enc_certificate"), "pem"));
	snprintf(enc_der, sizeof(enc_der), "%s", der);
	free(der);
	json_decref(j);
	/* a retried issuance returns the same certificate */
	assert_int_equal(issue(no, k, &j), 200);
	assert_string_equal(str(j, "serial"), sign_serial);
	json_decref(j);
	/* resume on the same key: the same PINs, the certificates issued */
	assert_int_equal(start(no, "skf", "FLOW-KEY-1", &j), 200);
	assert_true(json_is_true(json_object_get(j, "resumed")));
	assert_string_equal(str(j, "so_pin"), so);
	assert_string_equal(str(j, "user_pin"), user);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 2);
	c0 = json_array_get(json_object_get(j, "certificates"), 0);
	c1 = json_array_get(json_object_get(j, "certificates"), 1);
	assert_string_equal(str(c0, "usage"), "sign");
	assert_string_equal(str(c0, "serial"), sign_serial);
	assert_string_equal(str(c0, "der"), sign_der);
	assert_non_null(json_object_get(c0, "public_key"));
	assert_string_equal(str(c1, "usage"), "enc");
	assert_string_equal(str(c1, "der"), enc_der);
	json_decref(j);
	/* wrong read-backs: 409 with what differs, the order still producing */
	snprintf(certs, sizeof(certs), "[{\"usage\":\"sign\",\"der\":\"%s\"}]", sign_der);
	assert_int_equal(complete(no, "FLOW-KEY-1", certs, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			       "加密证书"));
	json_decref(j);
	snprintf(certs, sizeof(certs),
		 "[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]", enc_der,
		 sign_der);
	assert_int_equal(complete(no, "FLOW-KEY-1", certs, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	snprintf(certs, sizeof(certs),
		 "[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]", sign_der,
		 enc_der);
	assert_int_equal(complete(no, "OTHER-KEY", certs, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "state"), "producing");
	assert_string_equal(str(json_object_get(j, "usb_key"), "state"), "producing");
	json_decref(j);
	/* the organisation does not see a key before it is written */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	assert_int_equal(client_do(&org2, "GET", path, NULL, &j), 200);
	assert_null(json_object_get(j, "usb_key"));
	json_decref(j);
	/* the PIN slip shows the PIN and the serial */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/pin-slip.pdf", no);
	snprintf(file, sizeof(file), "%s/slip.pdf", S.dir);
	assert_int_equal(fetch_to(&producer, path, file), 200);
	text = pdf_text(file);
	assert_non_null(strstr(text, user));
	assert_non_null(strstr(text, "FLOW-KEY-1"));
	assert_non_null(strstr(text, "证书密码信封"));
	assert_non_null(strstr(text, no));
	free(text);
	assert_int_equal(fetch_to(&reviewer, path, file), 403);
	/* the right read-back (with the main key's seals): produced, the key written, ships as before */
	make_seals(no, &seals);
	assert_int_equal(complete(no, "FLOW-KEY-1", certs, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	all = malloc(strlen(certs) + strlen(seals) + 32);
	sprintf(all, "%s,\"seals\":%s", certs, seals);
	assert_int_equal(complete(no, "FLOW-KEY-1", all, &j), 200);
	free(all);
	free(seals);
	assert_string_equal(str(j, "state"), "produced");
	assert_string_equal(str(json_object_get(j, "usb_key"), "state"), "written");
	json_decref(j);
	assert_int_equal(start(no, "skf", "FLOW-KEY-1", &j), 409);
	assert_string_equal(error_code(j), "state_conflict");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	assert_int_equal(client_do(&org2, "GET", path, NULL, &j), 200);
	assert_string_equal(str(json_object_get(j, "usb_key"), "serial"), "FLOW-KEY-1");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/ship", no);
	assert_int_equal(client_do(&shipper, "POST", path, "{\"tracking_no\":\"SF1234567890123\"}", &j), 200);
	assert_string_equal(str(j, "state"), "shipped");
	json_decref(j);
	/* the SO PIN: admins only */
	assert_int_equal(client_do(&producer, "GET", "/api/v1/admin/usb-keys/FLOW-KEY-1/so-pin", NULL, &j),
			 403);
	json_decref(j);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/usb-keys/FLOW-KEY-1/so-pin", NULL, &j), 200);
	assert_string_equal(str(j, "so_pin"), so);
	assert_string_equal(str(j, "order_no"), no);
	json_decref(j);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/usb-keys/NO-SUCH-KEY/so-pin", NULL, &j),
			 404);
	json_decref(j);
	EVP_PKEY_free(k);
}

/* A different key mid-production: the first abandoned, its certificates revoked, new ones issued. */
static void test_key_switch(void **state)
{
	char no[32], so1[64], sign1[48], enc1[48], path[200];
	json_t *j = NULL;
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	(void)state;
	if (skipped)
		skip();
	producing_order_of(&org3, "main", no);
	assert_int_equal(start(no, "skf", "SWITCH-KEY-1", &j), 201);
	snprintf(so1, sizeof(so1), "%s", str(j, "so_pin"));
	json_decref(j);
	assert_int_equal(issue(no, k1, &j), 201);
	snprintf(sign1, sizeof(sign1), "%s", str(j, "serial"));
	snprintf(enc1, sizeof(enc1), "%s", str(json_object_get(j, "enc_certificate"), "serial"));
	json_decref(j);
	assert_int_equal(start(no, "skf", "SWITCH-KEY-2", &j), 201);
	assert_false(json_is_true(json_object_get(j, "resumed")));
	assert_string_equal(str(json_object_get(j, "previous_key"), "serial"), "SWITCH-KEY-1");
	assert_string_equal(str(json_object_get(j, "previous_key"), "so_pin"), so1);
	assert_int_equal(json_array_size(json_object_get(j, "certificates")), 0);
	json_decref(j);
	/* the first key's certificates are revoked as superseded */
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", sign1);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "status"), "revoked");
	assert_string_equal(str(j, "reason"), "superseded");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", enc1);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "status"), "revoked");
	json_decref(j);
	/* the new key gets new certificates; the encryption key goes to it */
	assert_int_equal(issue(no, k2, &j), 201);
	assert_string_not_equal(str(j, "serial"), sign1);
	assert_string_not_equal(str(json_object_get(j, "enc_certificate"), "serial"), enc1);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates/enc-key", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	json_decref(j);
	/* the abandoned key may serve another order now */
	char other[32];
	producing_order_of(&org4, "main", other);
	assert_int_equal(start(other, "skf", "SWITCH-KEY-1", &j), 201);
	json_decref(j);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* Without the KEK nothing starts: 503. */
static void test_kek_missing(void **state)
{
	char no[32], saved[400];
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order("secondary", no);
	snprintf(saved, sizeof(saved), "%s.saved", cfg.km_kek_file);
	assert_int_equal(rename(cfg.km_kek_file, saved), 0);
	assert_int_equal(start(no, "pkcs11", "KEK-KEY", &j), 503);
	assert_string_equal(error_code(j), "km_unavailable");
	assert_null(json_object_get(j, "so_pin"));
	json_decref(j);
	assert_int_equal(rename(saved, cfg.km_kek_file), 0);
	assert_int_equal(start(no, "pkcs11", "KEK-KEY", &j), 201);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_pins),  cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_flow_dual),   cmocka_unit_test(test_key_switch),
		cmocka_unit_test(test_kek_missing),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
