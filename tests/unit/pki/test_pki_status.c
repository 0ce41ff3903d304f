/* Unit tests for src/pki/crl.c and src/pki/ocsp.c without a signer: revocation reasons, the CRL
 * built for a CA (issuer, number, entries, reasons, throwaway signature algorithm), and OCSP
 * requests: one CertID parsed, anything else refused; CertIDs matched to their issuer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ocsp.h>

#include "pki_fixture.h"
#include "pki/status.h"

static void test_reasons(void **state)
{
	(void)state;
	assert_int_equal(pki_reason_code("keyCompromise"), 1);
	assert_int_equal(pki_reason_code("cessationOfOperation"), 5);
	assert_int_equal(pki_reason_code("unspecified"), 0);
	assert_int_equal(pki_reason_code("certificateHold"), -1); /* revocation is final */
	assert_int_equal(pki_reason_code(NULL), -1);
	assert_string_equal(pki_reason_label("superseded"), "证书已更换");
}

/* The CRL of each algorithm's CA: v2, issuer, number, entries with reasons (none for unspecified). */
static void test_crl_build(void **state)
{
	static const char *const algs[] = {"RSA", "EC", "SM2"};
	(void)state;

	for (size_t a = 0; a < 3; a++) {
		EVP_PKEY *key = a == 0   ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
				: a == 1 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1")
					 : EVP_PKEY_Q_keygen(NULL, NULL, algs[a]);
		X509 *ca = fx_ca(key);
		time_t now = time(NULL);
		struct pki_revoked rv[] = {{"0ABCDEF123", now - 60, 1}, {"7F", now - 30, 0}};
		char err[256];
		X509_CRL *crl = pki_crl_build(ca, 7, now, now + 7200, rv, 2, err, sizeof(err));
		ASN1_INTEGER *num;
		int crit = 0;

		assert_non_null(crl);
		assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
		assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)), 0);
		num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
		assert_non_null(num);
		assert_int_equal(ASN1_INTEGER_get(num), 7);
		ASN1_INTEGER_free(num);
		assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
		for (int i = 0; i < 2; i++) {
			X509_REVOKED *r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), i);
			ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
			BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
			char *hex = BN_bn2hex(bn);
			if (strcmp(hex, "0ABCDEF123") == 0) {
				assert_non_null(e);
				assert_int_equal(ASN1_ENUMERATED_get(e), 1);
			} else {
				assert_string_equal(hex, "7F");
				assert_null(e); /* unspecified: no reason code (RFC 5280 5.3.1) */
			}
			ASN1_ENUMERATED_free(e);
			OPENSSL_free(hex);
			BN_free(bn);
		}
		/* the throwaway signature wrote the CA's algorithm */
		const X509_ALGOR *alg = NULL;
		X509_CRL_get0_signature(crl, NULL, &alg);
		assert_int_equal(OBJ_obj2nid(alg->algorithm), a == 0   ? NID_sha256WithRSAEncryption
							     : a == 1 ? NID_ecdsa_with_SHA256
								      : NID_SM2_with_SM3);
		/* a bad serial refuses the whole CRL */
		struct pki_revoked bad = {"not hex", now, 0};
		assert_null(pki_crl_build(ca, 8, now, now + 60, &bad, 1, err, sizeof(err)));
		X509_CRL_free(crl);
		X509_free(ca);
		EVP_PKEY_free(key);
	}
}

/* Encodes an OCSPRequest of the given CertIDs (DER, caller frees). */
static unsigned char *request_of(OCSP_CERTID **ids, int n, int *len)
{
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	unsigned char *der = NULL;

	for (int i = 0; i < n; i++)
		OCSP_request_add0_id(rq, OCSP_CERTID_dup(ids[i]));
	*len = i2d_OCSP_REQUEST(rq, &der);
	OCSP_REQUEST_free(rq);
	return der;
}

static void test_ocsp_requests(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	X509 *ca = fx_ca(key), *other = fx_ca(other_key);
	OCSP_CERTID *ids[2] = {pki_ocsp_id(ca, "01F2", EVP_sha1()), pki_ocsp_id(ca, "99", EVP_sha256())};
	OCSP_CERTID *got;
	unsigned char *der, err5[5];
	char serial[48];
	int len;
	(void)state;

	der = request_of(ids, 1, &len);
	got = pki_ocsp_request_id(der, (size_t)len);
	assert_non_null(got);
	assert_int_equal(OCSP_id_cmp(got, ids[0]), 0);
	assert_int_equal(pki_ocsp_id_serial(got, serial), 0);
	assert_string_equal(serial, "01F2"); /* as BN_bn2hex writes it; the store strips the zero */
	assert_true(pki_ocsp_id_issued_by(got, ca));
	assert_false(pki_ocsp_id_issued_by(got, other)); /* another key, same name */
	OCSP_CERTID_free(got);
	/* a trailing byte, a truncated request, two requests, nothing: refused */
	unsigned char *longer = malloc((size_t)len + 1);
	memcpy(longer, der, (size_t)len);
	longer[len] = 0;
	assert_null(pki_ocsp_request_id(longer, (size_t)len + 1));
	assert_null(pki_ocsp_request_id(der, (size_t)len - 1));
	assert_null(pki_ocsp_request_id(der, 0));
	free(longer);
	OPENSSL_free(der);
	der = request_of(ids, 2, &len);
	assert_null(pki_ocsp_request_id(der, (size_t)len));
	OPENSSL_free(der);
	/* SHA-256 CertIDs are matched to their issuer too */
	assert_true(pki_ocsp_id_issued_by(ids[1], ca));
	/* the unsuccessful responses */
	assert_int_equal(pki_ocsp_error(1, err5), 5);
	assert_memory_equal(err5, "\x30\x03\x0a\x01\x01", 5);
	OCSP_CERTID_free(ids[0]);
	OCSP_CERTID_free(ids[1]);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
}

int main(void)
{
	(void)fx_profile; /* the shared fixture's profile is not needed here */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_crl_build),
		cmocka_unit_test(test_ocsp_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
