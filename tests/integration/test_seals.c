/* Electronic seals (issue 14) with the real certdesk-signer: seal_make signs a v4 seal with the demo
 * CA's seal-maker key (sm2-sealmaker-1, kind 4) and the result verifies; `certdesk seal verify`
 * (text, --json, --picture) and `openssl asn1parse` read it; POST /api/v1/seals/verify answers the
 * same report to staff only; a wrong maker key, a key of the wrong algorithm and a signer that is
 * down give their errors and no seal. */
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
#include <unistd.h>

#include "harness.h"
#include "seal/seal.h"

#define SM2_ID "1234567812345678"

static struct srv S;
static struct client staff, org;
static int skipped;
static unsigned char *maker, *orgcert;
static int maker_len, org_len;
static char sock[300];

static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
				    0, 0, 0, 2, 0, 0, 0, 2, 8, 6, 0, 0, 0, 9, 8, 7, 6};

/* The DER of the PEM certificate at path (caller frees), or NULL. */
static unsigned char *pem_cert_der(const char *path, int *len)
{
	FILE *f = fopen(path, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;

	if (f != NULL)
		fclose(f);
	*len = x != NULL ? i2d_X509(x, &der) : -1;
	X509_free(x);
	return *len > 0 ? der : NULL;
}

/* An SM2 certificate standing for the organisation's signing certificate (DER), issued by the demo
 * CA's SM2 issuing key: the signer makes seals only for certificates of its own CAs. */
static unsigned char *org_cert(int *len)
{
	char path[400];
	FILE *f;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), *ca_key = NULL;
	X509 *x = X509_new(), *ca = NULL;
	X509_NAME *n = X509_NAME_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;

	snprintf(path, sizeof(path), "%s/ca-keys/sm2-issuing-1.pem", S.dir);
	if ((f = fopen(path, "r")) != NULL) {
		ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/ca-keys/sm2-issuing-1.crt", S.dir);
	if ((f = fopen(path, "r")) != NULL) {
		ca = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	*len = -1;
	if (ca_key != NULL && ca != NULL && (pctx = EVP_PKEY_CTX_new(ca_key, NULL)) != NULL) {
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"鹰潭印章测试有限公司", -1,
					   -1, 0);
		X509_set_subject_name(x, n);
		X509_set_issuer_name(x, X509_get_subject_name(ca));
		X509_gmtime_adj(X509_getm_notBefore(x), -3600);
		X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
		X509_set_pubkey(x, k);
		EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16);
		EVP_MD_CTX_set_pkey_ctx(md, pctx);
		if (EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, ca_key) == 1 && X509_sign_ctx(x, md) > 0)
			*len = i2d_X509(x, &der);
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	X509_NAME_free(n);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(k);
	return der;
}

static int setup(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL}, path[400];
	int rc;
	(void)state;

	if (harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	rc = harness_start_ca(&S);
	if (rc == 77) {
		skipped = 1;
		return 0;
	}
	if (rc != 0)
		return -1;
	snprintf(sock, sizeof(sock), "%s/signer.sock", S.dir);
	snprintf(path, sizeof(path), "%s/ca-keys/sm2-sealmaker-1.crt", S.dir);
	maker = pem_cert_der(path, &maker_len);
	orgcert = org_cert(&org_len);
	client_init(&staff, &S, "producer");
	client_init(&org, &S, "org");
	if (maker == NULL || orgcert == NULL || client_staff_login(&staff, "producer") != 0 ||
	    client_register_login(&org, "鹰潭印章测试有限公司", "91310115MA1K3BTP2B", "13800138041") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	OPENSSL_free(maker);
	OPENSSL_free(orgcert);
	harness_cleanup(&S);
	return 0;
}

/* The seal_in of the tests. */
static struct seal_in seal_input(void)
{
	struct seal_in in = {.type = SEAL_TYPE_ORG,
			     .es_id = "YT20261206-000001-1",
			     .name = "鹰潭印章测试有限公司",
			     .cert_der = orgcert,
			     .cert_len = (size_t)org_len,
			     .png = png,
			     .png_len = sizeof(png),
			     .width_mm = 42,
			     .height_mm = 42};
	return in;
}

/* Writes len bytes to <dir>/name and returns the path (static buffer). */
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

/* Runs `certdesk seal verify path [extra...]`; returns the exit status, the output in *out. */
static int cli_verify(const char *path, const char *a1, const char *a2, const char *a3, char **out)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "seal", "verify", (char *)path, (char *)a1, (char *)a2, (char *)a3,
			NULL};
	return harness_run(argv, NULL, out);
}

static void test_make_and_verify(void **state)
{
	struct seal_in in = seal_input();
	unsigned char *seal = NULL;
	size_t len = 0;
	char err[512] = "", *out = NULL, pic[400];
	struct seal_report rep;
	char *asn1[] = {"/usr/bin/openssl", "asn1parse", "-inform", "DER", "-in", NULL, NULL};
	json_t *j;
	FILE *f;
	unsigned char back[sizeof(png) + 1];

	(void)state;
	if (skipped)
		skip();
	assert_int_equal(seal_make(&in, sock, "sm2-sealmaker-1", maker, (size_t)maker_len, &seal, &len, err, sizeof(err)),
			 SEAL_OK);
	assert_int_equal(seal_verify(seal, len, time(NULL), &rep), 1);
	assert_int_equal(rep.seal.format, 4);
	assert_int_equal(rep.seal.ncerts, 1);
	assert_memory_equal(rep.seal.certs[0].p, orgcert, org_len);
	assert_memory_equal(rep.seal.maker_cert.p, maker, maker_len);

	/* the CLI: text, then JSON, then the picture */
	const char *path = write_tmp("org.esl", seal, len);
	assert_int_equal(cli_verify(path, NULL, NULL, NULL, &out), 0);
	assert_non_null(strstr(out, "有效"));
	free(out);
	snprintf(pic, sizeof(pic), "%s/org.png", S.dir);
	assert_int_equal(cli_verify(path, "--json", "--picture", pic, &out), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "valid")));
	assert_string_equal(json_string_value(json_object_get(j, "name")), "鹰潭印章测试有限公司");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "maker"), "subject")), "Seal Maker"));
	json_decref(j);
	free(out);
	f = fopen(pic, "rb");
	assert_non_null(f);
	assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(png));
	fclose(f);
	assert_memory_equal(back, png, sizeof(png));

	/* openssl reads it */
	asn1[5] = (char *)path;
	assert_int_equal(harness_run(asn1, NULL, &out), 0);
	assert_non_null(strstr(out, ":ES"));
	free(out);

	/* a flipped signature bit: invalid (1); a missing file: 2 */
	seal[len - 1] ^= 1;
	path = write_tmp("bad.esl", seal, len);
	assert_int_equal(cli_verify(path, "--json", NULL, NULL, &out), 1);
	assert_non_null(strstr(out, "maker_signature"));
	free(out);
	assert_int_equal(cli_verify("/nonexistent/seal.esl", NULL, NULL, NULL, &out), 2);
	free(out);
	free(seal);
}

static void test_api_verify(void **state)
{
	struct seal_in in = seal_input();
	unsigned char *seal = NULL;
	size_t len = 0;
	char err[512] = "", csrf[120], cookie[200];
	const char *hdrs[4];
	json_t *j = NULL;
	struct resp r;

	(void)state;
	if (skipped)
		skip();
	in.type = SEAL_TYPE_LEGAL_PERSON;
	in.name = "李四";
	assert_int_equal(seal_make(&in, sock, "sm2-sealmaker-1", maker, (size_t)maker_len, &seal, &len, err, sizeof(err)),
			 SEAL_OK);
	assert_int_equal(client_upload(&staff, "POST", "/api/v1/seals/verify", NULL, "seal.esl", seal, len, &j), 200);
	assert_true(json_is_true(json_object_get(j, "valid")));
	assert_int_equal(json_integer_value(json_object_get(j, "type")), 2);
	json_decref(j);
	/* the raw body form */
	snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", staff.csrf);
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&staff));
	hdrs[0] = "Content-Type: application/octet-stream";
	hdrs[1] = csrf;
	hdrs[2] = cookie;
	hdrs[3] = NULL;
	seal[len - 1] ^= 1;
	assert_int_equal(http_do(&S, "POST", "/api/v1/seals/verify", (const char *)seal, len, hdrs, &r), 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	assert_false(json_is_true(json_object_get(j, "valid")));
	assert_non_null(strstr(r.body, "\"maker_signature\""));
	json_decref(j);
	resp_free(&r);
	/* truncated: still a report, structure failed */
	assert_int_equal(client_upload(&staff, "POST", "/api/v1/seals/verify", NULL, "seal.esl", seal, len / 2, &j), 200);
	assert_false(json_is_true(json_object_get(j, "valid")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "checks"), 0), "result")),
			    "failed");
	json_decref(j);
	/* organisations may not use it */
	assert_int_equal(client_upload(&org, "POST", "/api/v1/seals/verify", NULL, "seal.esl", seal, len, &j), 403);
	json_decref(j);
	free(seal);
}

static void test_wrong_keys_and_signer_down(void **state)
{
	struct seal_in in = seal_input();
	unsigned char *seal = NULL;
	size_t len = 0;
	char err[512] = "";

	(void)state;
	if (skipped)
		skip();
	/* signed by another SM2 key than the maker certificate's: checked before returning */
	assert_int_equal(seal_make(&in, sock, "sm2-issuing-1", maker, (size_t)maker_len, &seal, &len, err, sizeof(err)),
			 SEAL_ERR_VERIFY);
	assert_null(seal);
	assert_non_null(strstr(err, "maker_signature"));
	/* seals are SM2 only: the signer refuses an RSA key; an unknown key id likewise */
	assert_int_equal(seal_make(&in, sock, "rsa2048-issuing-1", maker, (size_t)maker_len, &seal, &len, err,
				   sizeof(err)),
			 SEAL_ERR_SIGNER_REFUSED);
	assert_int_equal(seal_make(&in, sock, "sm2-nosuch-1", maker, (size_t)maker_len, &seal, &len, err, sizeof(err)),
			 SEAL_ERR_SIGNER_REFUSED);
	/* the signer down */
	assert_int_equal(harness_signer_kill(&S), 0);
	assert_int_equal(seal_make(&in, sock, "sm2-sealmaker-1", maker, (size_t)maker_len, &seal, &len, err, sizeof(err)),
			 SEAL_ERR_SIGNER_DOWN);
	assert_null(seal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_and_verify),
		cmocka_unit_test(test_api_verify),
		cmocka_unit_test(test_wrong_keys_and_signer_down),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
