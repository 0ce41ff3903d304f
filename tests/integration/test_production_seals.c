/* The electronic seals of a main key at production (issue 14), through the real certdeskd and
 * certdesk-signer: staff choose the two seal pictures (cut out of a synthetic scan of the seal form,
 * or their own clean PNG; the quality check refuses an empty box and a 1-pixel PNG; a secondary key's
 * order has none), production makes the two GB/T 38540 seals for the key's signing certificate
 * (`certdesk seal verify` accepts each, its certList holds that certificate, `openssl asn1parse`
 * reads the download; a retry returns the same seals), completion needs them read back byte-equal
 * (409 readback_mismatch otherwise, seal_invalid for one that does not verify; the order still
 * producing), and the organisation downloads them once the order is produced (another organisation:
 * 404). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/seal/extract_scene.h"
#include "config/config.h"
#include "ca_setup.h"
#include "harness.h"
#include "seal_png.h"
#include "store/store.h"

#define SM2_ID "1234567812345678"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, org2, producer, reviewer;
static int skipped;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\",\"handler_email\":\"zhang@example.com\",\"invoice_email\":"                             \
	"\"fp@example.com\",\"recipient_name\":\"王五\",\"recipient_mobile\":\"13700137000\","                        \
	"\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates an order of key_type for oc; writes its number into no and returns its form version. */
static long long create(struct client *oc, const char *key_type, char no[32])
{
	char body[1200];
	json_t *j = NULL;
	long long v;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"%s\",\"form\":%s}",
		 key_type, FULL_FORM);
	assert_int_equal(client_do(oc, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	v = json_integer_value(json_object_get(j, "form_version"));
	json_decref(j);
	return v;
}

/* Puts order no into production (payment and paper are other tests'). */
static void to_producing(const char *no)
{
	struct db_conn *dc = db_acquire(db);

	assert_int_equal(
		db_exec(dc,
			"UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no = ?",
			DB_ARGS(DB_TEXT(no)), NULL),
		DB_OK);
	db_release(dc);
}

/* Uploads a JPEG scan of the seal form of order no: red seals in unit_1, unit_2 and legal_1, legal_2
 * left empty, the page turned by 1.3 degrees (the scene of the extraction unit tests). */
static void upload_scan(const char *no, long long v)
{
	char qr[120], path[160];
	struct scene sc = {.dpi = 150, .angle_deg = 1.3, .qr_text = qr, .clean = 1};
	struct seal_rgb img;
	unsigned char *jpeg = NULL;
	size_t len = 0;
	json_t *j = NULL;

	snprintf(qr, sizeof(qr), "certdesk:form:seal:%s:v%lld", no, v);
	for (int i = 0; i < 3; i++) {
		sc.stamps[i] = (struct stamp){
			.shape = i < 2 ? STAMP_ROUND : STAMP_SQUARE, .r = 0.82, .g = 0.12, .b = 0.14};
		scene_box_centre(i, &sc.stamps[i].cx, &sc.stamps[i].cy);
	}
	assert_int_equal(scene_draw(&sc, &img), 0);
	assert_int_equal(scene_jpeg(&img, &jpeg, &len), 0);
	seal_rgb_free(&img);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/seal_form", no);
	assert_int_equal(client_upload(&org, "PUT", path, NULL, "seal.jpg", jpeg, len, &j), 201);
	free(jpeg);
	json_decref(j);
}

/* Returns the box of slot in the seal-crops reply j as {"x","y","w","h"} JSON text (static). */
static const char *box_text(json_t *j, const char *slot)
{
	static char out[2][200];
	static int n;
	json_t *b;
	size_t i;

	n = (n + 1) % 2;
	json_array_foreach (json_object_get(j, "boxes"), i, b)
		if (strcmp(json_string_value(json_object_get(b, "slot")), slot) == 0) {
			snprintf(out[n], sizeof(out[n]), "{\"x\":%g,\"y\":%g,\"w\":%g,\"h\":%g}",
				 json_number_value(json_object_get(b, "x")),
				 json_number_value(json_object_get(b, "y")),
				 json_number_value(json_object_get(b, "w")),
				 json_number_value(json_object_get(b, "h")));
			return out[n];
		}
	fail_msg("no box %s", slot);
	return NULL;
}

/* PUTs body to .../seal-pictures/seal of no as c; returns the status, the reply in *j. */
static long choose(struct client *c, const char *no, const char *seal, const char *body, json_t **j)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures/%s", no, seal);
	return client_do(c, "PUT", path, body, j);
}

/* Returns a PEM CSR of SM2 key k (caller frees). */
static char *make_csr(EVP_PKEY *k)
{
	X509_REQ *req = X509_REQ_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"USB key", -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	if (EVP_PKEY_is_a(k, "SM2"))
		assert_true(EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16) > 0);
	EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	assert_int_equal(
		EVP_DigestSignInit(mctx, NULL, EVP_PKEY_is_a(k, "SM2") ? EVP_sm3() : EVP_sha256(), NULL, k),
		1);
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

/* Starts production of no on key serial of kind and issues its certificates from a new key of alg;
 * writes the read-back certificates list (JSON text) into certs and the signing serial into serial. */
static void start_and_issue(const char *no, const char *kind, const char *serial_key, const char *alg,
			    char *certs, size_t certs_len, char serial[48])
{
	char path[160], body[256], *csr, *text, *sign, *enc = NULL;
	EVP_PKEY *k = strcmp(alg, "SM2") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
					      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	json_t *j = NULL, *req;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production", no);
	snprintf(body, sizeof(body), "{\"kind\":\"%s\",\"serial\":\"%s\",\"model\":\"SoftKey 1\"}", kind,
		 serial_key);
	assert_int_equal(client_do(&producer, "POST", path, body, &j), 201);
	json_decref(j);
	csr = make_csr(k);
	req = json_pack("{s:s}", "csr", csr);
	text = json_dumps(req, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	assert_int_equal(client_do(&producer, "POST", path, text, &j), 201);
	snprintf(serial, 48, "%s", json_string_value(json_object_get(j, "serial")));
	sign = der_of_pem(json_string_value(json_object_get(j, "pem")));
	if (json_object_get(j, "enc_certificate") != NULL)
		enc = der_of_pem(
			json_string_value(json_object_get(json_object_get(j, "enc_certificate"), "pem")));
	if (enc != NULL)
		snprintf(certs, certs_len,
			 "[{\"usage\":\"sign\",\"der\":\"%s\"},{\"usage\":\"enc\",\"der\":\"%s\"}]", sign,
			 enc);
	else
		snprintf(certs, certs_len, "[{\"usage\":\"sign\",\"der\":\"%s\"}]", sign);
	free(sign);
	free(enc);
	free(text);
	free(csr);
	json_decref(req);
	json_decref(j);
	EVP_PKEY_free(k);
}

/* POSTs .../production/complete with serial, the certificates and the seals (JSON text or NULL). */
static long complete(const char *no, const char *serial, const char *certs, const char *seals, json_t **j)
{
	char path[160], *body = malloc(strlen(certs) + (seals != NULL ? strlen(seals) : 0) + 256);
	long st;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/complete", no);
	if (seals != NULL)
		sprintf(body, "{\"serial\":\"%s\",\"certificates\":%s,\"seals\":%s}", serial, certs, seals);
	else
		sprintf(body, "{\"serial\":\"%s\",\"certificates\":%s}", serial, certs);
	st = client_do(&producer, "POST", path, body, j);
	free(body);
	return st;
}

/* GETs path as c; returns the status, the body in *body (malloc'd, *len) and headers checked. */
static long fetch(struct client *c, const char *path, unsigned char **body, size_t *len, char disp[200])
{
	char cookie[200];
	const char *h[] = {cookie, NULL};
	struct resp r;
	long st;

	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(c));
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, &r), 0);
	st = r.status;
	*body = NULL;
	if (st == 200) {
		assert_string_equal(resp_header(&r, "Content-Type"), "application/octet-stream");
		snprintf(disp, 200, "%s", resp_header(&r, "Content-Disposition"));
		*body = malloc(r.len);
		memcpy(*body, r.body, r.len);
		*len = r.len;
	}
	resp_free(&r);
	return st;
}

/* Writes len bytes to S.dir/name; returns the path (static). */
static const char *write_tmp(const char *name, const unsigned char *p, size_t len)
{
	static char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", S.dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
	return path;
}

/* Returns the bytes of base64 text (malloc'd, *len). */
static unsigned char *unb64(const char *text, size_t *len)
{
	unsigned char *out = malloc(strlen(text));

	assert_int_equal(sodium_base642bin(out, strlen(text), text, strlen(text), NULL, len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	return out;
}

/* Checks a seal file with `certdesk seal verify --json`: valid, its certList holds the certificate
 * with serial, its type and name. */
static void cli_check(const char *path, const char *serial, int type, const char *name)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "seal", "verify", (char *)path, "--json", NULL};
	char *out = NULL;
	json_t *j, *certs;
	const char *got;

	assert_int_equal(harness_run(argv, NULL, &out), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "valid")));
	assert_int_equal(json_integer_value(json_object_get(j, "type")), type);
	assert_string_equal(json_string_value(json_object_get(j, "name")), name);
	certs = json_object_get(j, "certificates");
	assert_int_equal(json_array_size(certs), 1);
	got = json_string_value(json_object_get(json_array_get(certs, 0), "serial"));
	while (*got == '0') /* BN_bn2hex pads to whole bytes; certdesk's serials have no leading zeros */
		got++;
	assert_string_equal(got, serial);
	json_decref(j);
	free(out);
}

/* A secondary key's order has no seals: no pictures, no seals made. */
static void test_secondary(void **state)
{
	char no[32], certs[8000], serial[48], body[200], *b64;
	size_t len;
	unsigned char *png = test_seal_png(0, 300, &len);
	json_t *j = NULL;
	char *seals;

	(void)state;
	if (skipped)
		skip();
	create(&org, "secondary", no);
	b64 = test_b64(png, len);
	seals = malloc(strlen(b64) + 64);
	sprintf(seals, "{\"png\":\"%s\"}", b64);
	assert_int_equal(choose(&producer, no, "org", seals, &j), 409);
	assert_string_equal(error_code(j), "no_seal_for_secondary");
	json_decref(j);
	to_producing(no);
	start_and_issue(no, "pkcs11", "SEC-SEAL-KEY", "P-256", certs, sizeof(certs), serial);
	snprintf(body, sizeof(body), "/api/v1/admin/orders/%s/production/seals", no);
	assert_int_equal(client_do(&producer, "POST", body, NULL, &j), 409);
	assert_string_equal(error_code(j), "no_seal_for_secondary");
	json_decref(j);
	/* seals sent with a secondary key's completion: refused, nothing changes */
	sprintf(seals, "[{\"type\":\"org\",\"esl\":\"%s\"}]", b64);
	assert_int_equal(complete(no, "SEC-SEAL-KEY", certs, seals, &j), 422);
	json_decref(j);
	assert_int_equal(complete(no, "SEC-SEAL-KEY", certs, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "produced");
	json_decref(j);
	free(seals);
	free(b64);
	free(png);
}

/* Pictures chosen from the scan and uploaded; the quality check; the GET. */
static void choose_pictures(const char *no)
{
	char path[160], body[600], *b64, *up;
	json_t *j = NULL, *crops = NULL;
	size_t one_len;
	unsigned char *one = harness_png(1, 1, &one_len);

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &crops), 200);
	/* the organisation's seal from box unit_1 */
	snprintf(body, sizeof(body), "{\"slot\":\"unit_1\",\"box\":%s}", box_text(crops, "unit_1"));
	assert_int_equal(choose(&producer, no, "org", body, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "source")), "scan");
	assert_string_equal(json_string_value(json_object_get(j, "slot")), "unit_1");
	assert_true(json_number_value(json_object_get(j, "width_mm")) > 38 &&
		    json_number_value(json_object_get(j, "width_mm")) < 46);
	json_decref(j);
	/* a box of the other seal, an empty box, no body: refused */
	snprintf(body, sizeof(body), "{\"slot\":\"legal_1\",\"box\":%s}", box_text(crops, "legal_1"));
	assert_int_equal(choose(&producer, no, "org", body, &j), 422);
	assert_string_equal(error_code(j), "invalid_slot");
	json_decref(j);
	snprintf(body, sizeof(body), "{\"slot\":\"legal_2\",\"box\":%s}", box_text(crops, "legal_2"));
	assert_int_equal(choose(&reviewer, no, "legal", body, &j), 422);
	assert_string_equal(error_code(j), "picture_no_impression");
	assert_non_null(
		strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "印"));
	json_decref(j);
	assert_int_equal(choose(&producer, no, "legal", "{}", &j), 422);
	json_decref(j);
	assert_int_equal(choose(&org, no, "legal", body, &j), 403);
	json_decref(j);
	/* the legal person's seal from legal_1 (a reviewer may choose too) */
	snprintf(body, sizeof(body), "{\"slot\":\"legal_1\",\"box\":%s}", box_text(crops, "legal_1"));
	assert_int_equal(choose(&reviewer, no, "legal", body, &j), 200);
	json_decref(j);
	json_decref(crops);
	/* staff's own PNG instead: a 1-pixel one fails the check, a clean square seal passes */
	b64 = test_b64(one, one_len);
	up = malloc(strlen(b64) + 64);
	sprintf(up, "{\"png\":\"%s\"}", b64);
	assert_int_equal(choose(&producer, no, "legal", up, &j), 422);
	assert_string_equal(error_code(j), "picture_too_small");
	json_decref(j);
	free(up);
	free(b64);
	free(one);
	{
		size_t len;
		unsigned char *png = test_seal_png(1, 240, &len);
		b64 = test_b64(png, len);
		up = malloc(strlen(b64) + 64);
		sprintf(up, "{\"png\":\"%s\",\"width_mm\":20}", b64);
		assert_int_equal(choose(&producer, no, "legal", up, &j), 200);
		assert_string_equal(json_string_value(json_object_get(j, "source")), "upload");
		assert_true(json_number_value(json_object_get(j, "width_mm")) > 15);
		json_decref(j);
		free(up);
		free(b64);
		free(png);
	}
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures", no);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "org"), "source")), "scan");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "legal"), "source")),
			    "upload");
	assert_non_null(json_object_get(json_object_get(j, "org"), "png_base64"));
	assert_non_null(json_object_get(json_object_get(j, "org"), "box"));
	json_decref(j);
}

/* The whole flow on an SM2 main key. */
static void test_flow(void **state)
{
	char no[32], certs[9000], serial[48], path[200], disp[200], *seals, *esl[2] = {0};
	json_t *j = NULL, *s;
	unsigned char *body = NULL;
	size_t len = 0;
	long long v;
	char *asn1[] = {"/usr/bin/openssl", "asn1parse", "-inform", "DER", "-in", NULL, NULL}, *out = NULL;

	(void)state;
	if (skipped)
		skip();
	v = create(&org, "main", no);
	upload_scan(no, v);
	to_producing(no);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", no);
	/* nothing before the key is started, nor before the certificate is issued */
	assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 409);
	assert_string_equal(error_code(j), "production_not_started");
	json_decref(j);
	start_and_issue(no, "skf", "SEAL-KEY-1", "SM2", certs, sizeof(certs), serial);
	/* the pictures missing */
	assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 409);
	assert_string_equal(error_code(j), "seal_pictures_missing");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			       "单位公章"));
	json_decref(j);
	choose_pictures(no);
	assert_int_equal(client_do(&reviewer, "POST", path, NULL, &j), 403);
	json_decref(j);
	assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 201);
	assert_int_equal(json_array_size(json_object_get(j, "seals")), 2);
	s = json_array_get(json_object_get(j, "seals"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "type")), "org");
	assert_string_equal(json_string_value(json_object_get(s, "file")), "CDSEAL_ORG.esl");
	assert_string_equal(json_string_value(json_object_get(s, "cert_serial")), serial);
	{
		char es[48];
		snprintf(es, sizeof(es), "%s-1", no);
		assert_string_equal(json_string_value(json_object_get(s, "es_id")), es);
	}
	esl[0] = strdup(json_string_value(json_object_get(s, "esl")));
	s = json_array_get(json_object_get(j, "seals"), 1);
	assert_string_equal(json_string_value(json_object_get(s, "type")), "legal");
	assert_string_equal(json_string_value(json_object_get(s, "file")), "CDSEAL_LEGAL.esl");
	esl[1] = strdup(json_string_value(json_object_get(s, "esl")));
	json_decref(j);
	/* a retry returns the same seals */
	assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 200);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "seals"), 0), "esl")),
		esl[0]);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "seals"), 1), "esl")),
		esl[1]);
	json_decref(j);
	/* certdesk seal verify accepts each, bound to the signing certificate */
	body = unb64(esl[0], &len);
	cli_check(write_tmp("org.esl", body, len), serial, 1, "鹰潭签章生产有限公司");
	free(body);
	body = unb64(esl[1], &len);
	cli_check(write_tmp("legal.esl", body, len), serial, 2, "李四");
	free(body);

	/* staff see and download them */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seals", no);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "seals")), 2);
	s = json_array_get(json_object_get(j, "seals"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "state")), "made");
	assert_non_null(json_object_get(json_object_get(s, "picture"), "png_base64"));
	assert_null(json_object_get(s, "esl"));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seals/legal.esl", no);
	assert_int_equal(fetch(&producer, path, &body, &len, disp), 200);
	assert_non_null(strstr(disp, "attachment"));
	assert_non_null(strstr(disp, ".esl"));
	free(body);
	/* the organisation: not before the order is produced */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/seals", no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 404);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/seals/org.esl", no);
	assert_int_equal(fetch(&org, path, &body, &len, disp), 404);

	/* completion: without the seals, with them swapped, with one changed: 409, still producing */
	assert_int_equal(complete(no, "SEAL-KEY-1", certs, NULL, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	seals = malloc(strlen(esl[0]) + strlen(esl[1]) + 200);
	sprintf(seals, "[{\"type\":\"org\",\"esl\":\"%s\"},{\"type\":\"legal\",\"esl\":\"%s\"}]", esl[1],
		esl[0]);
	assert_int_equal(complete(no, "SEAL-KEY-1", certs, seals, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	sprintf(seals, "[{\"type\":\"org\",\"esl\":\"%s\"}]", esl[0]);
	assert_int_equal(complete(no, "SEAL-KEY-1", certs, seals, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	assert_non_null(
		strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "法人章"));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "producing");
	json_decref(j);
	/* a stored seal that no longer verifies (its signature changed): 409 seal_invalid even when the
	 * key holds the same bytes */
	{
		size_t blen;
		unsigned char *bad = unb64(esl[0], &blen);
		char *bad64;
		struct db_conn *dc = db_acquire(db);
		bad[blen - 1] ^= 0x01;
		bad64 = test_b64(bad, blen);
		assert_int_equal(db_exec(dc, "UPDATE seals SET der = ? WHERE type = 'org' AND der = ?",
					 DB_ARGS(DB_TEXT(bad64), DB_TEXT(esl[0])), NULL),
				 DB_OK);
		sprintf(seals, "[{\"type\":\"org\",\"esl\":\"%s\"},{\"type\":\"legal\",\"esl\":\"%s\"}]",
			bad64, esl[1]);
		assert_int_equal(complete(no, "SEAL-KEY-1", certs, seals, &j), 409);
		assert_string_equal(error_code(j), "seal_invalid");
		json_decref(j);
		assert_int_equal(db_exec(dc, "UPDATE seals SET der = ? WHERE type = 'org' AND der = ?",
					 DB_ARGS(DB_TEXT(esl[0]), DB_TEXT(bad64)), NULL),
				 DB_OK);
		db_release(dc);
		free(bad64);
		free(bad);
	}
	/* the right read-back: produced */
	sprintf(seals, "[{\"type\":\"org\",\"esl\":\"%s\"},{\"type\":\"legal\",\"esl\":\"%s\"}]", esl[0],
		esl[1]);
	assert_int_equal(complete(no, "SEAL-KEY-1", certs, seals, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "produced");
	json_decref(j);
	free(seals);
	/* no more seals for a written key */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", no);
	assert_int_equal(client_do(&producer, "POST", path, NULL, &j), 409);
	json_decref(j);

	/* the organisation downloads them now; openssl reads the file; another organisation: 404 */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/seals", no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "seals")), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "seals"), 0), "state")),
		"written");
	json_decref(j);
	assert_int_equal(client_do(&org2, "GET", path, NULL, &j), 404);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/seals/org.esl", no);
	assert_int_equal(fetch(&org, path, &body, &len, disp), 200);
	assert_non_null(strstr(disp, no));
	{
		size_t elen;
		unsigned char *e = unb64(esl[0], &elen);
		assert_int_equal(len, elen);
		assert_memory_equal(body, e, len);
		free(e);
	}
	asn1[5] = (char *)write_tmp("download.esl", body, len);
	free(body);
	assert_int_equal(harness_run(asn1, NULL, &out), 0);
	assert_non_null(strstr(out, ":ES"));
	free(out);
	assert_int_equal(fetch(&org2, path, &body, &len, disp), 404);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/seals/stamp.esl", no);
	assert_int_equal(fetch(&org, path, &body, &len, disp), 404);
	free(esl[0]);
	free(esl[1]);
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
	client_init(&producer, &S, "producer");
	client_init(&reviewer, &S, "reviewer");
	if (client_register_login(&org, "鹰潭签章生产有限公司", "91310115MA1K3BTP2B", "13800138061") != 0 ||
	    client_register_login(&org2, "鹰潭签章其他有限公司", "91110000600037341L", "13800138062") != 0 ||
	    client_staff_login(&producer, "producer") != 0 || client_staff_login(&reviewer, "reviewer") != 0)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secondary),
		cmocka_unit_test(test_flow),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
