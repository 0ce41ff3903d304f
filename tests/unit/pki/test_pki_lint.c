/* Every pre-issuance lint with a certificate that passes it and one that fails it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>

#include "pki/lint.h"
#include "pki_fixture.h"

static EVP_PKEY *cakey;
static X509 *ca;
static struct cert_profile_rec prof;

static int setup(void **state)
{
	(void)state;
	cakey = pki_key_generate(PKI_ALG_P256);
	ca = fx_ca(cakey);
	fx_profile(&prof, "p256", "p256-issuing-1");
	return ca != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return 0;
}

/* Returns a fresh draft for profile p (re-decoded after mutate, so no cached extension flags). */
static X509 *draft(const struct cert_profile_rec *p, void (*mutate)(X509 *))
{
	EVP_PKEY *subj = pki_key_generate(PKI_ALG_P256);
	unsigned char serial[PKI_SERIAL_LEN], *der = NULL;
	struct pki_tbs_in in = {.profile = p,
				.ca = ca,
				.subject_key = subj,
				.org_name = FX_ORG,
				.uscc = FX_USCC,
				.years = 1,
				.now = time(NULL),
				.serial = serial};
	char err[256];
	X509 *x, *back;
	const unsigned char *q;
	int len;

	pki_serial_new(serial);
	x = pki_tbs_build(&in, err, sizeof(err));
	assert_non_null(x);
	if (mutate != NULL) {
		mutate(x);
		assert_int_equal(pki_x509_sign(x, pki_throwaway_key(PKI_ALG_P256)), 0);
	}
	len = i2d_X509(x, &der);
	q = der;
	back = d2i_X509(NULL, &q, len);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(subj);
	return back;
}

/* Returns the result of lint name on x (uscc as the organisation's). */
static int run(const char *name, X509 *x, const struct cert_profile_rec *p, const char *uscc)
{
	const struct pki_lint *l = pki_lint_find(name);
	struct pki_lint_in in = {x, ca, p, uscc};
	char why[256] = "";
	int rc;

	assert_non_null(l);
	rc = l->check(&in, why, sizeof(why));
	if (rc != 0)
		assert_true(why[0] != '\0');
	return rc;
}

static void small_serial(X509 *x)
{
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
}
static void past_ca(X509 *x)
{
	ASN1_TIME_set(X509_getm_notAfter(x), time(NULL) + 30L * 365 * 86400);
}
static void utc_after_2050(X509 *x)
{
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_TIME_set_string(t, "20500101000000Z"); /* GeneralizedTime: right; now as UTCTime, wrong */
	ASN1_TIME_set_string(X509_getm_notAfter(x), "500101000000Z");
	ASN1_TIME_free(t);
}
static void other_issuer(X509 *x)
{
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Someone Else", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
}
/* Replaces extension nid by value (NULL: removes it). */
static void replace_ext(X509 *x, int nid, const char *value)
{
	int at = X509_get_ext_by_NID(x, nid, -1);
	if (at >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, at));
	if (value != NULL) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
}
static void ca_true(X509 *x)
{
	replace_ext(x, NID_basic_constraints, "critical,CA:TRUE");
}
static void ku_not_critical(X509 *x)
{
	replace_ext(x, NID_key_usage, "digitalSignature");
}
static void no_aki(X509 *x)
{
	replace_ext(x, NID_authority_key_identifier, NULL);
}
static void long_cn(X509 *x)
{
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"CHN", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}
static void rsa_signed(X509 *x)
{
	(void)x; /* draft() signs with the P-256 throwaway key; this one re-signs with RSA below */
}

static void test_serial(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, small_serial);
	(void)state;
	assert_int_equal(run("e_serial_positive_64bit", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_serial_positive_64bit", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_validity(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, past_ca), *enc = draft(&prof, utc_after_2050);
	(void)state;
	assert_int_equal(run("e_validity_encoding", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_validity_encoding", bad, &prof, FX_USCC), 1);
	assert_int_equal(run("e_validity_encoding", enc, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
	X509_free(enc);
}

static void test_issuer(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, other_issuer);
	(void)state;
	assert_int_equal(run("e_issuer_is_ca_subject", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_issuer_is_ca_subject", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_end_entity(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, ca_true);
	(void)state;
	assert_int_equal(run("e_end_entity_only", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_end_entity_only", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_key_usage(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, ku_not_critical);
	(void)state;
	assert_int_equal(run("e_key_usage_critical", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_key_usage_critical", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_key_ids(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, no_aki);
	(void)state;
	assert_int_equal(run("e_key_identifiers", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_key_identifiers", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_uscc(void **state)
{
	X509 *good = draft(&prof, NULL);
	(void)state;
	assert_int_equal(run("e_profile_uscc", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_profile_uscc", good, &prof, "91110000600037341L"), 1);
	X509_free(good);
}

static void test_subject_bounds(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, long_cn);
	(void)state;
	assert_int_equal(run("e_subject_bounds", good, &prof, FX_USCC), 0);
	assert_int_equal(run("e_subject_bounds", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_signature_algorithm(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, rsa_signed);
	(void)state;
	assert_int_equal(run("e_signature_algorithm", good, &prof, FX_USCC), 0);
	assert_int_equal(pki_x509_sign(bad, pki_throwaway_key(PKI_ALG_RSA2048)),
			 0); /* the P-256 CA's TBS with RSA */
	assert_int_equal(run("e_signature_algorithm", bad, &prof, FX_USCC), 1);
	X509_free(good);
	X509_free(bad);
}

static void test_urls(void **state)
{
	struct cert_profile_rec p = prof;
	X509 *good = draft(&prof, NULL);
	(void)state;
	assert_int_equal(run("e_urls_http", good, &prof, FX_USCC), 0);
	snprintf(p.crl_url, sizeof(p.crl_url), "ldap://ca.example/crl");
	assert_int_equal(run("e_urls_http", good, &p, FX_USCC), 1);
	X509_free(good);
}

static void test_run_all(void **state)
{
	X509 *good = draft(&prof, NULL), *bad = draft(&prof, ca_true);
	char err[300];
	(void)state;
	assert_int_equal(pki_lint_run(good, ca, &prof, FX_USCC, err, sizeof(err)), 0);
	assert_int_equal(pki_lint_run(bad, ca, &prof, FX_USCC, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "e_end_entity_only"));
	assert_true(pki_lint_count >= 10);
	X509_free(good);
	X509_free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_issuer),
		cmocka_unit_test(test_end_entity),
		cmocka_unit_test(test_key_usage),
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_uscc),
		cmocka_unit_test(test_subject_bounds),
		cmocka_unit_test(test_signature_algorithm),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_run_all),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
