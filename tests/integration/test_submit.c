/* From a complete draft to "submitted": the scans (decoded, QR codes of this order's forms read
 * back), the legal person's face verification through certdesk-sim's FaceID, and the guards. */
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

#include "config/config.h"
#include "harness.h"
#include "seal_png.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, other;
static char main_no[32], sec_no[32];

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* The USB key the main order is produced onto (what certdesk-agent reports of a software key). */
#define USB_KEY                                                                                              \
	"{\"kind\":\"skf\",\"serial\":\"SUBMIT-KEY-1\",\"model\":\"SoftKey\",\"manufacturer\":\"certdesk\"}"

/* Returns a PEM CSR of a new SM2 key signed with the GM/T default ID (what the key's CSR is).
 * Caller frees. */
static char *sm2_csr(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	X509_REQ *req = X509_REQ_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(k);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"USB key", -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	assert_true(EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16) > 0);
	EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	assert_int_equal(EVP_DigestSignInit(mctx, NULL, EVP_sm3(), NULL, k), 1);
	assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
	PEM_write_bio_X509_REQ(b, req);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, p, (size_t)n);
	BIO_free(b);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return out;
}

/* Sets the base64 DER of the PEM certificate pem as key name of o (the agent's read-back form). */
static void set_der(json_t *o, const char *name, const char *pem)
{
	const char *p = strstr(pem, "-----\n") + 6, *e = strstr(pem, "-----END");
	char *der = calloc(1, strlen(pem)), *d = der;

	for (; p < e; p++)
		if (*p != '\n' && *p != '\r')
			*d++ = *p;
	json_object_set_new(o, name, json_string(der));
	free(der);
}

/* A main key carries the organisation's seals (issue 14): the producer chooses both pictures (a
 * clean PNG of their own here) and has the seals made; returns them as read back ([{type, esl}]). */
static json_t *seals_on_key(struct client *producer, const char *no)
{
	static const char *const names[] = {"org", "legal"};
	char path[160];
	json_t *j = NULL, *s, *out = json_array();
	size_t len, i;

	for (int k = 0; k < 2; k++) {
		unsigned char *png = test_seal_png(k, 240, &len);
		char *b64 = test_b64(png, len), *body = malloc(strlen(b64) + 32);
		sprintf(body, "{\"png\":\"%s\"}", b64);
		snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures/%s", no, names[k]);
		assert_int_equal(client_do(producer, "PUT", path, body, &j), 200);
		json_decref(j);
		free(body);
		free(b64);
		free(png);
	}
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", no);
	assert_int_equal(client_do(producer, "POST", path, NULL, &j), 201);
	json_array_foreach (json_object_get(j, "seals"), i, s)
		json_array_append_new(out, json_pack("{s:O, s:O}", "type", json_object_get(s, "type"), "esl",
						     json_object_get(s, "esl")));
	json_decref(j);
	return out;
}

/* The agent's half of production on the started key, as the producer's page runs it: issue from
 * the key's CSR (dual SM2: the encryption certificate comes along), then complete with the
 * certificates and the main key's seals "read back". The completed order in *order. */
static void produce_on_key(struct client *producer, const char *no, json_t **order)
{
	char path[128], *csr = sm2_csr(), *text;
	json_t *body = json_pack("{s:s}", "csr", csr), *issued = NULL, *sign, *enc, *done;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	text = json_dumps(body, JSON_COMPACT);
	assert_int_equal(client_do(producer, "POST", path, text, &issued), 201);
	free(text);
	sign = json_pack("{s:s}", "usage", "sign");
	set_der(sign, "der", json_string_value(json_object_get(issued, "pem")));
	enc = json_pack("{s:s}", "usage", "enc");
	set_der(enc, "der",
		json_string_value(json_object_get(json_object_get(issued, "enc_certificate"), "pem")));
	done = json_pack("{s:s, s:[o,o], s:o}", "serial", "SUBMIT-KEY-1", "certificates", sign, enc, "seals",
			 seals_on_key(producer, no));
	text = json_dumps(done, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/complete", no);
	assert_int_equal(client_do(producer, "POST", path, text, order), 200);
	free(text);
	free(csr);
	json_decref(done);
	json_decref(issued);
	json_decref(body);
}

/* Creates an order of key_type with the full form; writes its number into no. */
static void create(struct client *c, const char *key_type, char no[32])
{
	char body[2048];
	json_t *j = NULL;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"%s\",\"form\":%s}",
		 key_type, FULL_FORM);
	assert_int_equal(client_do(c, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
}

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	setenv("CERTDESK_COURIER_CACHE_S", "0", 1); /* the route test asks SF on every view */
	/* the CA (certdesk ca init, certdesk-signer) issues the main order's certificates */
	if (harness_start_sim(&S) != 0 || harness_run(argv, NULL, NULL) != 0 || harness_start_ca(&S) != 0)
		return -1;
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&other, &S, "other");
	if (client_register_login(&org, "鹰潭提交测试有限公司", "91310115MA1K3BTP2B", "13800138011") != 0 ||
	    client_register_login(&other, "鹰潭旁观有限公司", "91110000600037341L", "13800138012") != 0)
		return -1;
	create(&org, "main", main_no);
	create(&org, "secondary", sec_no);
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	db_close(db);
	config_free(&cfg);
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Downloads a form of an order and renders its first page as PNG at dpi; returns the PNG bytes
 * (caller frees) as a scanner would deliver the printed, stamped page. */
static unsigned char *scan_of(struct client *c, const char *no, const char *kind, int dpi, size_t *len)
{
	char url[160], cookie[200], pdf[400], png[420], res[8];
	const char *h[] = {cookie, NULL};
	struct resp r;
	FILE *f;

	snprintf(url, sizeof(url), "/api/v1/orders/%s/forms/%s", no, kind);
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(c));
	assert_int_equal(http_do(&S, "GET", url, NULL, 0, h, &r), 0);
	assert_int_equal(r.status, 200);
	snprintf(pdf, sizeof(pdf), "%s/%s-%s", S.dir, no, kind);
	f = fopen(pdf, "wb");
	fwrite(r.body, 1, r.len, f);
	fclose(f);
	resp_free(&r);
	snprintf(res, sizeof(res), "%d", dpi);
	char *argv[] = {"/usr/bin/pdftoppm", "-r", res, "-png", "-gray", "-f", "1", "-l", "1",
			"-singlefile",       pdf,  pdf, NULL};
	assert_int_equal(harness_run(argv, NULL, NULL), 0);
	snprintf(png, sizeof(png), "%s.png", pdf);
	f = fopen(png, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	unsigned char *buf = malloc(*len);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

/* Uploads data as kind of order no; returns the status and the reply in *j (may be NULL). */
static long upload(struct client *c, const char *no, const char *kind, const unsigned char *data, size_t len,
		   json_t **j)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/%s", no, kind);
	return client_upload(c, "PUT", path, NULL, "scan.png", data, len, j);
}

static void test_uploads(void **state)
{
	unsigned char *app, *letter, *seal, *wrong, *page;
	size_t app_len, letter_len, seal_len, wrong_len, page_len;
	json_t *j = NULL;
	(void)state;

	app = scan_of(&org, main_no, "application", 100, &app_len);
	assert_true(app_len <= 1048576);
	assert_int_equal(upload(&org, main_no, "application_form", app, app_len, &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "qr_status")), "matched");
	assert_int_equal(json_integer_value(json_object_get(j, "width")), 827);
	json_decref(j);

	/* another order's application form: refused, with the reason */
	wrong = scan_of(&org, sec_no, "application", 100, &wrong_len);
	assert_int_equal(upload(&org, main_no, "application_form", wrong, wrong_len, &j), 422);
	assert_string_equal(error_code(j), "form_mismatch");
	json_decref(j);
	/* this order's own papers in the wrong slots: refused as well */
	letter = scan_of(&org, main_no, "authorisation", 100, &letter_len);
	assert_int_equal(upload(&org, main_no, "application_form", letter, letter_len, &j), 422);
	assert_string_equal(error_code(j), "form_mismatch");
	json_decref(j);
	assert_int_equal(upload(&org, main_no, "seal_form", app, app_len, &j), 422);
	assert_string_equal(error_code(j), "form_mismatch");
	json_decref(j);
	/* a page without any QR code is taken, flagged for the reviewer; the right one replaces it */
	page = harness_png(1000, 700, &page_len);
	assert_int_equal(upload(&org, main_no, "application_form", page, page_len, &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "qr_status")), "unreadable");
	assert_non_null(json_object_get(json_object_get(j, "checks"), "qr_unreadable"));
	json_decref(j);
	assert_int_equal(upload(&org, main_no, "application_form", app, app_len, NULL), 201);

	assert_int_equal(upload(&org, main_no, "authorisation_letter", letter, letter_len, &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "qr_status")), "matched");
	json_decref(j);
	seal = scan_of(&org, main_no, "seal", 100, &seal_len);
	assert_int_equal(upload(&org, main_no, "seal_form", seal, seal_len, &j), 201);
	json_decref(j);
	assert_int_equal(upload(&org, main_no, "business_licence", page, page_len, &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "qr_status")), "not_checked");
	json_decref(j);
	assert_int_equal(upload(&org, main_no, "handler_id_front", page, page_len, NULL), 201);

	/* no seal slot for a secondary key; nobody else's order; not-an-image */
	assert_int_equal(upload(&org, sec_no, "seal_form", seal, seal_len, NULL), 404);
	assert_int_equal(upload(&other, main_no, "handler_id_back", page, page_len, NULL), 404);
	assert_int_equal(upload(&org, main_no, "handler_id_back", (const unsigned char *)"MZ\x90\0", 4, &j),
			 415);
	assert_string_equal(error_code(j), "file_type");
	json_decref(j);

	/* the slots show what is there, the rules, and what is missing */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents", main_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "slots")), 6);
	int present = 0;
	json_t *slot;
	size_t i;
	json_array_foreach (json_object_get(j, "slots"), i, slot) {
		present += json_object_get(slot, "document") != NULL;
		assert_non_null(json_string_value(json_object_get(slot, "rule")));
	}
	assert_int_equal(present, 5);
	json_decref(j);

	/* the file comes back to its owner and to staff, with the decoded type; not to others */
	struct client reviewer;
	client_init(&reviewer, &S, "reviewer");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/documents/application_form", main_no);
	char cookie[200];
	const char *h[] = {cookie, NULL};
	struct resp r;
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&reviewer));
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type"), "image/png");
	assert_string_equal(resp_header(&r, "X-Content-Type-Options"), "nosniff");
	assert_int_equal(r.len, app_len);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/application_form", main_no);
	assert_int_equal(client_do(&other, "GET", path, NULL, NULL), 404);
	free(app);
	free(wrong);
	free(letter);
	free(seal);
	free(page);
}

/* Returns the biz token in a simulator H5 URL (static buffer). */
static const char *biz_of(const char *url)
{
	static char tok[160];
	const char *p = strstr(url, "token=");

	assert_non_null(p);
	snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(p + 6, "&"), p + 6);
	return tok;
}

/* The simulator decides a verification, as the legal person would on the H5 page. */
static void sim_decide(const char *biz, int pass)
{
	struct srv sim = S;
	char path[256];
	struct resp r;
	const char *h[] = {"Content-Type: application/json", NULL};
	const char *body = pass ? "{\"pass\":true}" : "{\"pass\":false}";

	snprintf(sim.base, sizeof(sim.base), "%s", S.sim_base);
	snprintf(path, sizeof(path), "/_sim/faceid/%s/decide", biz);
	assert_int_equal(http_do(&sim, "POST", path, body, strlen(body), h, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static void test_verification_and_submit(void **state)
{
	struct client phone;
	char *token = NULL, path[256], submit[128], biz[160];
	json_t *j = NULL;
	struct db_conn *c;
	(void)state;

	snprintf(submit, sizeof(submit), "/api/v1/orders/%s/submit", main_no);
	/* one document and the verification missing */
	assert_int_equal(client_do(&org, "POST", submit, NULL, &j), 422);
	assert_int_equal(json_array_size(json_object_get(j, "missing")), 2);
	json_decref(j);

	c = db_acquire(db);
	assert_int_equal(db_query_text(c, "SELECT verify_token FROM orders WHERE order_no = ?",
				       DB_ARGS(DB_TEXT(main_no)), &token),
			 DB_OK);
	db_release(c);
	/* the phone that scanned the letter: an anonymous visitor */
	client_init(&phone, &S, "phone");
	snprintf(path, sizeof(path), "/api/v1/verify/%s", token);
	assert_int_equal(client_do(&phone, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "order_no")), main_no);
	assert_string_equal(json_string_value(json_object_get(j, "legal_name_masked")), "李*");
	assert_string_equal(json_string_value(json_object_get(j, "legal_id_masked")), "360426********0071");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "state")),
			    "none");
	json_decref(j);
	assert_int_equal(client_do(&phone, "GET", "/api/v1/verify/not-a-token", NULL, &j), 404);
	assert_string_equal(error_code(j), "verify_link_invalid");
	json_decref(j);

	/* a failed attempt, then a passed one */
	snprintf(path, sizeof(path), "/api/v1/verify/%s/start", token);
	assert_int_equal(client_do(&phone, "POST", path, NULL, &j), 200);
	assert_non_null(strstr(json_string_value(json_object_get(j, "redirect_url")), S.sim_base));
	snprintf(biz, sizeof(biz), "%s", biz_of(json_string_value(json_object_get(j, "redirect_url"))));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/verify/%s/result", token);
	assert_int_equal(client_do(&phone, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "state")),
			    "started");
	json_decref(j);
	sim_decide(biz, 0);
	assert_int_equal(client_do(&phone, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "state")),
			    "failed");
	assert_non_null(json_object_get(json_object_get(j, "verification"), "reason"));
	json_decref(j);

	snprintf(path, sizeof(path), "/api/v1/verify/%s/start", token);
	assert_int_equal(client_do(&phone, "POST", path, NULL, &j), 200);
	snprintf(biz, sizeof(biz), "%s", biz_of(json_string_value(json_object_get(j, "redirect_url"))));
	json_decref(j);
	sim_decide(biz, 1);
	snprintf(path, sizeof(path), "/api/v1/verify/%s/result", token);
	assert_int_equal(client_do(&phone, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "message")),
			    "认证成功");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/verify/%s/start", token);
	assert_int_equal(client_do(&phone, "POST", path, NULL, &j), 409);
	assert_string_equal(error_code(j), "already_verified");
	json_decref(j);

	/* the last document, then submission */
	size_t len;
	unsigned char *page = harness_png(800, 600, &len);
	assert_int_equal(upload(&org, main_no, "handler_id_back", page, len, NULL), 201);
	free(page);
	assert_int_equal(client_do(&org, "POST", submit, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "submitted");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "state")),
			    "passed");
	json_decref(j);
	/* after submission nothing changes from the organisation's side */
	assert_int_equal(client_do(&org, "POST", submit, NULL, NULL), 409);
	assert_int_equal(upload(&org, main_no, "handler_id_back", (const unsigned char *)"x", 1, NULL), 409);
	free(token);
}

static void test_new_legal_person_voids_verification(void **state)
{
	struct client phone;
	char *token = NULL, path[256], biz[160];
	json_t *j = NULL;
	struct db_conn *c;
	(void)state;

	c = db_acquire(db);
	assert_int_equal(db_query_text(c, "SELECT verify_token FROM orders WHERE order_no = ?",
				       DB_ARGS(DB_TEXT(sec_no)), &token),
			 DB_OK);
	db_release(c);
	client_init(&phone, &S, "phone2");
	snprintf(path, sizeof(path), "/api/v1/verify/%s/start", token);
	assert_int_equal(client_do(&phone, "POST", path, NULL, &j), 200);
	snprintf(biz, sizeof(biz), "%s", biz_of(json_string_value(json_object_get(j, "redirect_url"))));
	json_decref(j);
	sim_decide(biz, 1);
	/* the phone never comes back to the result page: the organisation's order page asks the provider */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", sec_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "state")),
			    "passed");
	json_decref(j);
	/* a new legal person: the old QR code and its verification no longer count */
	assert_int_equal(client_do(&org, "PUT", path, "{\"form\":{\"legal_name\":\"王小二\"}}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "verification"), "state")),
			    "none");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/verify/%s", token);
	assert_int_equal(client_do(&phone, "GET", path, NULL, NULL), 404);
	/* deleting the order voids its link too */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", sec_no);
	assert_int_equal(client_do(&org, "DELETE", path, NULL, NULL), 200);
	free(token);
}

/* Counts outbox messages with template to mobile. */
static int64_t outbox_count(const char *mobile, const char *tmpl)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;

	assert_int_equal(db_query_int(c, "SELECT COUNT(*) FROM outbox WHERE recipient_hash = ? AND template = ?",
				      DB_ARGS(DB_TEXT(harness_pii_hash(mobile)), DB_TEXT(tmpl)), &n),
			 DB_OK);
	db_release(c);
	return n;
}

static void test_pre_review(void **state)
{
	struct client reviewer, second, admin;
	char path[160], claim[160], resubmit[160];
	json_t *j = NULL;
	(void)state;

	client_init(&reviewer, &S, "rev1");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	client_init(&admin, &S, "admin");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	assert_int_equal(client_do(&admin, "POST", "/api/v1/admin/staff",
				   "{\"username\":\"reviewer2\",\"display_name\":\"第二预审员\",\"roles\":["
				   "\"reviewer\"],"
				   "\"password\":\"Demo-2026\",\"password_confirm\":\"Demo-2026\"}",
				   NULL),
			 201);
	client_init(&second, &S, "rev2");
	assert_int_equal(client_staff_login(&second, "reviewer2"), 0);

	/* the queue, oldest first */
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/review/queue", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0),
							      "order_no")),
			    main_no);
	json_decref(j);
	assert_int_equal(client_do(&org, "GET", "/api/v1/admin/review/queue", NULL, NULL), 403);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/review/queue", NULL, NULL), 403);

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/review", main_no);
	snprintf(claim, sizeof(claim), "/api/v1/admin/orders/%s/claim", main_no);
	/* no decision without a claim; one reviewer at a time */
	assert_int_equal(client_do(&reviewer, "POST", path, "{\"decision\":\"pass\"}", &j), 409);
	assert_string_equal(error_code(j), "claim_required");
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "POST", claim, NULL, NULL), 200);
	assert_int_equal(client_do(&second, "POST", claim, NULL, &j), 409);
	assert_string_equal(error_code(j), "claimed_by_other");
	assert_non_null(
		strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "预审员"));
	json_decref(j);
	/* a rejection needs its reasons */
	assert_int_equal(client_do(&reviewer, "POST", path, "{\"decision\":\"reject\"}", &j), 422);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "POST", path,
				   "{\"decision\":\"reject\",\"documents\":[{\"kind\":\"business_licence\","
				   "\"reasons\":[\"图片不清晰，无法辨认\"],\"note\":\"请重新扫描\"}]}",
				   &j),
			 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "rejected");
	json_decref(j);
	assert_int_equal(outbox_count("13800138011", "review_reject"), 1);

	/* the organisation sees the reason on that document, replaces it, submits again */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", main_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	json_t *slot;
	size_t i;
	int seen = 0;
	json_array_foreach (json_object_get(json_object_get(j, "documents"), "slots"), i, slot) {
		json_t *d = json_object_get(slot, "document");
		if (strcmp(json_string_value(json_object_get(slot, "kind")), "business_licence") == 0) {
			assert_string_equal(json_string_value(json_object_get(d, "review")), "rejected");
			assert_non_null(
				strstr(json_string_value(json_object_get(d, "review_reason")), "图片不清晰"));
			seen = 1;
		} else {
			assert_string_equal(json_string_value(json_object_get(d, "review")), "accepted");
		}
	}
	assert_true(seen);
	assert_false(json_is_true(json_object_get(j, "can_submit")));
	json_decref(j);
	size_t len;
	unsigned char *page = harness_png(1200, 800, &len);
	assert_int_equal(upload(&org, main_no, "business_licence", page, len, NULL), 201);
	free(page);
	snprintf(resubmit, sizeof(resubmit), "/api/v1/orders/%s/submit", main_no);
	assert_int_equal(client_do(&org, "POST", resubmit, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "submitted");
	json_decref(j);

	/* the second reviewer now claims it (the first claim ended with the decision) and passes it */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/review", main_no);
	assert_int_equal(client_do(&second, "POST", claim, NULL, NULL), 200);
	assert_int_equal(
		client_do(&second, "POST", path, "{\"decision\":\"pass\",\"note\":\"资料齐全\"}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "awaiting_payment");
	json_decref(j);
	assert_int_equal(client_do(&second, "POST", path, "{\"decision\":\"pass\"}", &j), 409);
	json_decref(j);
	assert_int_equal(outbox_count("13800138011", "review_pass"), 1);

	/* standard reasons: any staff reads, admins keep the list */
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/review-reasons", NULL, &j), 200);
	assert_true(json_array_size(json_object_get(j, "items")) >= 5);
	json_int_t first =
		json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id"));
	json_decref(j);
	assert_int_equal(
		client_do(&reviewer, "POST", "/api/v1/admin/review-reasons", "{\"text\":\"新原因\"}", NULL),
		403);
	assert_int_equal(client_do(&admin, "POST", "/api/v1/admin/review-reasons",
				   "{\"text\":\"营业执照副本复印不完整\"}", NULL),
			 201);
	assert_int_equal(client_do(&admin, "POST", "/api/v1/admin/review-reasons",
				   "{\"text\":\"营业执照副本复印不完整\"}", NULL),
			 409);
	snprintf(path, sizeof(path), "/api/v1/admin/review-reasons/%lld", (long long)first);
	assert_int_equal(client_do(&admin, "DELETE", path, NULL, NULL), 200);
	assert_int_equal(client_do(&admin, "DELETE", path, NULL, NULL), 404);
}

static void test_paper_production_shipping(void **state)
{
	struct client paper, producer, shipper, reviewer;
	char path[200];
	json_t *j = NULL;
	struct db_conn *c;
	(void)state;

	/* payment is the next issue's: here the order is moved on as the payment would */
	c = db_acquire(db);
	assert_int_equal(db_exec(c,
				 "UPDATE orders SET state = 'awaiting_paper' WHERE order_no = ? AND state = "
				 "'awaiting_payment'",
				 DB_ARGS(DB_TEXT(main_no)), NULL),
			 DB_OK);
	db_release(c);
	client_init(&paper, &S, "paper");
	assert_int_equal(client_staff_login(&paper, "paper"), 0);
	client_init(&producer, &S, "producer");
	assert_int_equal(client_staff_login(&producer, "producer"), 0);
	client_init(&shipper, &S, "shipper");
	assert_int_equal(client_staff_login(&shipper, "shipper"), 0);
	client_init(&reviewer, &S, "rev3");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);

	snprintf(path, sizeof(path), "/api/v1/orders/%s/courier", main_no);
	assert_int_equal(
		client_do(&org, "POST", path, "{\"carrier\":\"sf\",\"tracking_no\":\"SF12345\"}", &j), 422);
	assert_string_equal(error_code(j), "tracking_invalid");
	json_decref(j);
	assert_int_equal(client_do(&org, "POST", path,
				   "{\"carrier\":\"sf\",\"tracking_no\":\"sf 1234 5678 9012 3\"}", &j),
			 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "paper_sent");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "shipments"), 0), "tracking_no")),
			    "SF1234567890123");
	json_decref(j);

	/* the paper queue is the paper role's */
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/queues/paper", NULL, NULL), 403);
	assert_int_equal(client_do(&paper, "GET", "/api/v1/admin/queues/paper", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0),
							      "inbound_tracking_no")),
			    "SF1234567890123");
	json_decref(j);
	assert_int_equal(client_do(&paper, "GET", "/api/v1/admin/queues/nonsense", NULL, NULL), 404);

	/* bad paper: reasons and the phone call are required, the handler gets an SMS */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/paper-check", main_no);
	assert_int_equal(client_do(&paper, "POST", path, "{\"decision\":\"bad\"}", &j), 422);
	json_decref(j);
	assert_int_equal(
		client_do(&paper, "POST", path,
			  "{\"decision\":\"bad\",\"reasons\":\"签章采集表印模有底色\",\"called_at\":\"2026-"
			  "11-25 10:30\","
			  "\"answered_by\":\"张三（经办人）\",\"asked\":\"重新加盖印模后补寄签章采集表\"}",
			  &j),
		200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "paper_rejected");
	json_decref(j);
	assert_int_equal(outbox_count("13800138011", "paper_problem"), 1);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", main_no);
	assert_int_equal(client_do(&paper, "GET", path, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "paper_contacts")), 1);
	json_decref(j);

	/* the organisation sends again; now the paper is good */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/courier", main_no);
	assert_int_equal(client_do(&org, "POST", path,
				   "{\"carrier\":\"ems\",\"tracking_no\":\"EA123456789CN\"}", NULL),
			 200);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/paper-check", main_no);
	assert_int_equal(client_do(&paper, "POST", path, "{\"decision\":\"ok\"}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "producing");
	json_decref(j);

	/* the dashboard measures the promise in working days: shipped about 2 working days after */
	assert_int_equal(client_do(&paper, "GET", "/api/v1/admin/dashboard", NULL, &j), 200);
	json_t *promise = json_array_get(json_object_get(j, "promises"), 0);
	assert_int_equal(json_integer_value(json_object_get(promise, "open")), 1);
	assert_int_equal(json_integer_value(json_object_get(promise, "working_days")), 2);
	json_t *due = json_object_get(json_array_get(json_object_get(promise, "items"), 0), "due");
	assert_int_equal(json_string_length(due), 10);
	assert_false(json_is_true(
		json_object_get(json_array_get(json_object_get(promise, "items"), 0), "overdue")));
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(json_object_get(j, "queues"), 2), "size")),
		1);
	json_decref(j);
	assert_int_equal(client_do(&org, "GET", "/api/v1/admin/dashboard", NULL, NULL), 403);

	/* production onto a USB key, then shipping, each by its role only; the old "made" button
	 * (produced without a key) is gone */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/made", main_no);
	assert_int_equal(client_do(&producer, "POST", path, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production", main_no);
	assert_int_equal(client_do(&shipper, "POST", path, USB_KEY, NULL), 403);
	assert_int_equal(client_do(&producer, "GET", "/api/v1/admin/queues/production", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
	assert_int_equal(client_do(&producer, "POST", path, USB_KEY, NULL), 201);
	produce_on_key(&producer, main_no, &j);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "produced");
	json_decref(j);
	/* and the invoice is promised within 3 working days of production */
	assert_int_equal(client_do(&producer, "GET", "/api/v1/admin/dashboard", NULL, &j), 200);
	promise = json_array_get(json_object_get(j, "promises"), 1);
	assert_string_equal(json_string_value(json_object_get(promise, "name")), "production_to_invoice");
	assert_int_equal(json_integer_value(json_object_get(promise, "working_days")), 3);
	assert_int_equal(json_integer_value(json_object_get(promise, "open")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(promise, "items"), 0), "order_no")),
			    main_no);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/ship", main_no);
	assert_int_equal(client_do(&shipper, "POST", path,
				   "{\"carrier\":\"ems\",\"tracking_no\":\"EA123456789CN\"}", NULL),
			 422);
	assert_int_equal(client_do(&shipper, "POST", path, "{\"tracking_no\":\"SF9876543210987\"}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "shipped");
	json_decref(j);
	assert_int_equal(client_do(&shipper, "POST", path, "{\"tracking_no\":\"SF9876543210987\"}", NULL),
			 409);
	assert_int_equal(outbox_count("13800138011", "shipped"), 1);
	/* staff find the order by its outbound tracking number (any case) and by the handler's mobile */
	const char *searches[] = {"/api/v1/admin/orders?q=sf9876543210987",
				  "/api/v1/admin/orders?q=13800138011"};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(client_do(&shipper, "GET", searches[i], NULL, &j), 200);
		json_t *items = json_object_get(j, "items");
		int found = 0;
		for (size_t k = 0; k < json_array_size(items); k++)
			found |= strcmp(json_string_value(
						json_object_get(json_array_get(items, k), "order_no")),
					main_no) == 0;
		assert_true(found);
		json_decref(j);
	}
	assert_int_equal(client_do(&shipper, "GET", "/api/v1/admin/orders?q=SF0000000000000", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);

	/* the organisation sees every step and both tracking numbers; no staff contact log */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", main_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state_label")), "证书已寄出");
	assert_int_equal(json_array_size(json_object_get(j, "shipments")), 3);
	assert_null(json_object_get(j, "paper_contacts"));
	assert_true(json_array_size(json_object_get(j, "history")) >= 9);
	json_decref(j);

	/* the outbound parcel's route, from SF (the simulator's mock route), for the owner and staff */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/route", main_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "tracking_no")), "SF9876543210987");
	assert_true(json_is_true(json_object_get(j, "supported")));
	assert_true(json_array_size(json_object_get(j, "routes")) >= 1);
	assert_null(json_object_get(j, "notice"));
	json_decref(j);
	assert_int_equal(client_do(&other, "GET", path, NULL, NULL), 404);
	/* SF down: the route last fetched, with a notice; never an error */
	assert_int_equal(sim_do(&S, "POST", "/_sim/sf/fail-next", "{\"status\":503}", NULL), 200);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_true(json_array_size(json_object_get(j, "routes")) >= 1);
	assert_non_null(json_object_get(j, "notice"));
	json_decref(j);
	/* signed for: the order is completed */
	assert_int_equal(
		sim_do(&S, "POST", "/_sim/sf/routes",
		       "{\"mailNo\":\"SF9876543210987\",\"routes\":[{\"acceptTime\":\"2026-11-20 10:00:00\","
		       "\"acceptAddress\":\"鹰潭市\",\"remark\":\"已签收\",\"opCode\":\"80\"}]}",
		       NULL),
		200);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/route", main_no);
	assert_int_equal(client_do(&shipper, "GET", path, NULL, &j), 200);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "routes"), 0), "label")),
		"已签收");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", main_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "completed");
	json_decref(j);
}

/* Admins upload a year of the working-day calendar in the console; the server uses it at once. */
static void test_calendar_upload(void **state)
{
	const char *year2031 = "{\"year\": 2031, \"days\": [{\"name\": \"元旦\", \"date\": \"2031-01-01\","
			       " \"isOffDay\": true}]}";
	struct client admin, reviewer;
	json_t *j = NULL, *it;
	size_t i;
	int published = 0;
	(void)state;

	client_init(&admin, &S, "admin");
	client_init(&reviewer, &S, "reviewer2");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	assert_int_equal(client_do(&reviewer, "PUT", "/api/v1/admin/calendar/2031", year2031, NULL), 403);
	assert_int_equal(
		client_do(&admin, "PUT", "/api/v1/admin/calendar/2031", "{\"year\": 2030, \"days\": []}", &j),
		422);
	assert_string_equal(error_code(j), "calendar_invalid");
	json_decref(j);
	assert_int_equal(client_do(&admin, "PUT", "/api/v1/admin/calendar/2031", year2031, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "off_days")), 1);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/calendar", NULL, &j), 200);
	json_array_foreach (json_object_get(j, "published_years"), i, it)
		published |= json_integer_value(it) == 2031;
	assert_true(published);
	it = json_array_get(json_object_get(j, "uploads"), 0);
	assert_int_equal(json_integer_value(json_object_get(it, "year")), 2031);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uploads),
		cmocka_unit_test(test_verification_and_submit),
		cmocka_unit_test(test_new_legal_person_voids_verification),
		cmocka_unit_test(test_pre_review),
		cmocka_unit_test(test_paper_production_shipping),
		cmocka_unit_test(test_calendar_upload),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
