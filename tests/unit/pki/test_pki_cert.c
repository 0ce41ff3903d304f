/* The CA engine's pure parts: serials, profile -> certificate fields for every key type, the TBS
 * signed outside (as the signer does) and assembled into a certificate that verifies, CSR decoding and
 * checks, weak keys and the ROCA fingerprint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdlib.h>

#include "pki_fixture.h"

static void test_serials(void **state)
{
	unsigned char a[PKI_SERIAL_LEN], b[PKI_SERIAL_LEN];
	char hex[48];
	(void)state;

	for (int i = 0; i < 200; i++) {
		assert_int_equal(pki_serial_new(a), 0);
		assert_true((a[0] & 0x80) == 0); /* positive */
	}
	assert_int_equal(pki_serial_new(b), 0);
	assert_memory_not_equal(a, b, PKI_SERIAL_LEN);
	memset(a, 0, sizeof(a));
	a[14] = 0x0a;
	a[15] = 0xbc;
	pki_serial_hex(a, hex);
	assert_string_equal(hex, "ABC"); /* no leading zeros: how the store and the API name it */
	a[0] = 0x7f;
	pki_serial_hex(a, hex);
	assert_int_equal(strlen(hex), 32);
}

/* Signs tbs with key as the signer does (SHA-256, or SM3 with the SM2 ID); returns the signature. */
static unsigned char *outside_sign(EVP_PKEY *key, const unsigned char *tbs, size_t len, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int sm2 = pki_key_alg(key, NULL, 0) == PKI_ALG_SM2;
	unsigned char *sig;

	if (sm2) {
		pc = EVP_PKEY_CTX_new(key, NULL);
		EVP_PKEY_CTX_set1_id(pc, PKI_SM2_ID, PKI_SM2_ID_LEN);
		EVP_MD_CTX_set_pkey_ctx(m, pc);
	}
	assert_int_equal(EVP_DigestSignInit(m, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(m, NULL, siglen, tbs, len), 1);
	sig = malloc(*siglen);
	assert_int_equal(EVP_DigestSign(m, sig, siglen, tbs, len), 1);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	return sig;
}

/* Builds the certificate of a subject key of alg under a CA of alg; checks fields, assembly and the
 * signature. */
static void profile_fields(int alg)
{
	EVP_PKEY *cakey = pki_key_generate(alg), *subj = pki_key_generate(alg);
	X509 *ca = fx_ca(cakey), *draft, *cert;
	struct cert_profile_rec p;
	unsigned char serial[PKI_SERIAL_LEN], *tbs, *algid, *sig, *der;
	size_t tbslen, alglen, siglen, derlen;
	struct pki_tbs_in in = {0};
	char err[256], buf[256];
	int days = 0, secs = 0;

	fx_profile(&p, pki_alg_name(alg), "x-issuing-1");
	assert_int_equal(pki_serial_new(serial), 0);
	in = (struct pki_tbs_in){.profile = &p,
				 .ca = ca,
				 .subject_key = subj,
				 .org_name = FX_ORG,
				 .uscc = FX_USCC,
				 .years = 2,
				 .now = time(NULL),
				 .serial = serial};
	draft = pki_tbs_build(&in, err, sizeof(err));
	if (draft == NULL)
		fail_msg("%s", err);
	assert_int_equal(pki_tbs_encode(draft, &tbs, &tbslen, &algid, &alglen), 0);
	sig = outside_sign(cakey, tbs, tbslen, &siglen);
	assert_int_equal(pki_cert_assemble(tbs, tbslen, algid, alglen, sig, siglen, &der, &derlen), 0);
	const unsigned char *q = der;
	cert = d2i_X509(NULL, &q, (long)derlen);
	assert_non_null(cert);
	assert_ptr_equal(q, der + derlen);
	assert_true(pki_x509_verify(cert, cakey));
	X509_NAME *n = X509_get_subject_name(cert);
	X509_NAME_get_text_by_NID(n, NID_organizationName, buf, sizeof(buf));
	assert_string_equal(buf, FX_ORG);
	X509_NAME_get_text_by_NID(n, NID_serialNumber, buf, sizeof(buf));
	assert_string_equal(buf, FX_USCC);
	X509_NAME_get_text_by_NID(n, NID_stateOrProvinceName, buf, sizeof(buf));
	assert_string_equal(buf, "江西省");
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)), 0);
	assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(cert), 0);
	assert_true(X509_get_ext_by_NID(cert, NID_certificate_policies, -1) >= 0);
	assert_true(X509_get_ext_by_NID(cert, NID_info_access, -1) >= 0);
	assert_true(X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) >= 0);
	ASN1_OBJECT *id = OBJ_txt2obj("1.2.156.10260.4.1.4", 1);
	int at = X509_get_ext_by_OBJ(cert, id, -1);
	ASN1_OBJECT_free(id);
	assert_true(at >= 0);
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, at));
	assert_int_equal(v->data[0], V_ASN1_PRINTABLESTRING);
	assert_memory_equal(v->data + 2, FX_USCC, 18);
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert));
	assert_in_range(days, 729, 731); /* two paid years */
	assert_int_equal(pki_key_alg(X509_get0_pubkey(cert), NULL, 0), alg);
	free(tbs);
	free(algid);
	free(sig);
	free(der);
	X509_free(cert);
	X509_free(draft);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(subj);
}

static void test_profile_fields_rsa2048(void **state)
{
	(void)state;
	profile_fields(PKI_ALG_RSA2048);
}

static void test_profile_fields_p256(void **state)
{
	(void)state;
	profile_fields(PKI_ALG_P256);
}

static void test_profile_fields_sm2(void **state)
{
	(void)state;
	profile_fields(PKI_ALG_SM2);
}

static void test_subject_template(void **state)
{
	X509_NAME *n;
	(void)state;
	n = pki_subject_from_template("C=CN,O={org_name},serialNumber={uscc}", FX_ORG, FX_USCC);
	assert_non_null(n);
	assert_int_equal(X509_NAME_entry_count(n), 3);
	X509_NAME_free(n);
	assert_null(pki_subject_from_template("C=CN,O={name}", FX_ORG, FX_USCC)); /* unknown field */
	assert_null(pki_subject_from_template("C=CN,nonsense", FX_ORG, FX_USCC)); /* no '=' */
	assert_null(pki_subject_from_template("XX=1", FX_ORG, FX_USCC));          /* unknown attribute */
	assert_null(pki_subject_from_template("", FX_ORG, FX_USCC));
}

/* Makes a CSR of key (SM2: with the ID); returns its DER in *der. */
static int csr_der(EVP_PKEY *key, unsigned char **der)
{
	X509_REQ *r = X509_REQ_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int sm2 = pki_key_alg(key, NULL, 0) == PKI_ALG_SM2, len;

	X509_REQ_set_pubkey(r, key);
	if (sm2) {
		pc = EVP_PKEY_CTX_new(key, NULL);
		EVP_PKEY_CTX_set1_id(pc, PKI_SM2_ID, PKI_SM2_ID_LEN);
		EVP_MD_CTX_set_pkey_ctx(m, pc);
	}
	EVP_DigestSignInit(m, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, key);
	X509_REQ_sign_ctx(r, m);
	*der = NULL;
	len = i2d_X509_REQ(r, der);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	X509_REQ_free(r);
	return len;
}

static void test_csr_decode_and_verify(void **state)
{
	(void)state;
	for (int alg = 0; alg < PKI_ALG_COUNT; alg++) {
		EVP_PKEY *k = pki_key_generate(alg);
		unsigned char *der = NULL, *junk;
		int len = csr_der(k, &der);
		X509_REQ *r = pki_csr_decode(der, (size_t)len);
		char why[128];

		assert_non_null(r);
		assert_true(pki_csr_verify(r));
		assert_int_equal(pki_key_alg(X509_REQ_get0_pubkey(r), NULL, 0), alg);
		assert_int_equal(pki_key_check_weak(X509_REQ_get0_pubkey(r), why, sizeof(why)), 0);
		X509_REQ_free(r);
		/* a flipped signature byte */
		der[len - 3] ^= 1;
		r = pki_csr_decode(der, (size_t)len);
		assert_non_null(r);
		assert_false(pki_csr_verify(r));
		X509_REQ_free(r);
		/* trailing bytes: not one DER value */
		junk = malloc((size_t)len + 1);
		memcpy(junk, der, (size_t)len);
		junk[len] = 0;
		assert_null(pki_csr_decode(junk, (size_t)len + 1));
		assert_null(pki_csr_decode(der, 0));
		free(junk);
		OPENSSL_free(der);
		EVP_PKEY_free(k);
	}
}

/* An SM2 CSR signed with OpenSSL's empty default ID does not verify: the ID is set explicitly. */
static void test_csr_sm2_needs_the_id(void **state)
{
	EVP_PKEY *k = pki_key_generate(PKI_ALG_SM2);
	X509_REQ *r = X509_REQ_new(), *back;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int len;
	(void)state;

	X509_REQ_set_pubkey(r, k);
	EVP_DigestSignInit(m, NULL, EVP_sm3(), NULL, k); /* no ID */
	assert_true(X509_REQ_sign_ctx(r, m) > 0);
	len = i2d_X509_REQ(r, &der);
	back = pki_csr_decode(der, (size_t)len);
	assert_non_null(back);
	assert_false(pki_csr_verify(back));
	X509_REQ_free(back);
	X509_REQ_free(r);
	EVP_MD_CTX_free(m);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

/* Returns an RSA public key (n, e). */
static EVP_PKEY *rsa_pub(const BIGNUM *n, unsigned long e)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *be = BN_new();
	OSSL_PARAM *ps;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;

	BN_set_word(be, e);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	ps = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_fromdata_init(ctx);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, ps), 1);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* Returns a 2048-bit modulus with the ROCA fingerprint: 65537^k mod M plus a random multiple of M,
 * M the product of the test's primes (how RSALib's primes, and so their products, look mod M). */
static BIGNUM *roca_like(void)
{
	static const unsigned ps[] = {3,   5,   7,   11,  13,  17,  19,  23,  29,  31,  37,  41,  43,
				      47,  53,  59,  61,  67,  71,  73,  79,  83,  89,  97,  101, 103,
				      107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *m = BN_new(), *g = BN_new(), *k = BN_new(), *r = BN_new(), *t = BN_new(), *n = BN_new();

	BN_one(m);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		BN_mul_word(m, ps[i]);
	BN_set_word(g, 65537);
	BN_set_word(k, 123457);
	BN_mod_exp(r, g, k, m, ctx);
	BN_rand(t, 2049 - BN_num_bits(m), BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
	BN_mul(n, t, m, ctx);
	BN_add(n, n, r);
	if (!BN_is_odd(n)) /* keep the residues: add M (odd) */
		BN_add(n, n, m);
	BN_free(m);
	BN_free(g);
	BN_free(k);
	BN_free(r);
	BN_free(t);
	BN_CTX_free(ctx);
	return n;
}

static void test_roca(void **state)
{
	BIGNUM *n = roca_like(), *n2 = BN_dup(n), *rn = NULL;
	EVP_PKEY *pk, *good = pki_key_generate(PKI_ALG_RSA2048);
	char why[128];
	(void)state;

	assert_true(BN_num_bits(n) >= 2048);
	assert_int_equal(pki_roca_fingerprint(n), 1);
	pk = rsa_pub(n, 65537);
	assert_int_equal(pki_key_check_weak(pk, why, sizeof(why)), PKI_KEY_WEAK);
	if (strstr(why, "ROCA") == NULL)
		fail_msg("%s", why);
	EVP_PKEY_free(pk);
	/* a modulus off the subgroup for one prime is not fingerprinted */
	BN_add_word(n2, 2 * 3 * 5 * 7); /* residues mod 11.. change */
	assert_int_equal(pki_roca_fingerprint(n2), 0);
	/* OpenSSL's own keys are not */
	EVP_PKEY_get_bn_param(good, OSSL_PKEY_PARAM_RSA_N, &rn);
	assert_int_equal(pki_roca_fingerprint(rn), 0);
	assert_int_equal(pki_key_check_weak(good, why, sizeof(why)), 0);
	BN_free(rn);
	BN_free(n);
	BN_free(n2);
	EVP_PKEY_free(good);
}

static void test_weak_rsa(void **state)
{
	EVP_PKEY *k = pki_key_generate(PKI_ALG_RSA2048), *pk;
	BIGNUM *n = NULL;
	char why[128];
	(void)state;

	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
	pk = rsa_pub(n, 3);
	assert_int_equal(pki_key_check_weak(pk, why, sizeof(why)), PKI_KEY_WEAK); /* small exponent */
	EVP_PKEY_free(pk);
	pk = rsa_pub(n, 65536 + 2);
	assert_int_equal(pki_key_check_weak(pk, why, sizeof(why)), PKI_KEY_WEAK); /* even exponent */
	EVP_PKEY_free(pk);
	BN_mul_word(n, 3); /* a small factor (and 2050 bits) */
	pk = rsa_pub(n, 65537);
	assert_int_equal(pki_key_check_weak(pk, why, sizeof(why)), PKI_KEY_WEAK);
	EVP_PKEY_free(pk);
	BN_free(n);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_int_equal(pki_key_check_weak(k, why, sizeof(why)), PKI_KEY_WEAK);
	assert_non_null(strstr(why, "1024"));
	assert_int_equal(pki_key_alg(k, why, sizeof(why)), -1);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
	assert_int_equal(pki_key_alg(k, why, sizeof(why)), -1); /* no profile takes P-384 */
	assert_string_equal(why, "EC secp384r1");
	EVP_PKEY_free(k);
}

static void test_error_codes(void **state)
{
	(void)state;
	assert_string_equal(pki_err_code(PKI_CSR_BAD_SIGNATURE), "csr_bad_signature");
	assert_int_equal(pki_err_status(PKI_KEY_REUSED), 422);
	assert_int_equal(pki_err_status(PKI_SIGNER_UNAVAILABLE), 503);
	assert_int_equal(pki_err_status(PKI_CA_KEY_UNAVAILABLE), 503);
	assert_string_equal(pki_err_code(999), "internal");
	for (int e = 1; e <= PKI_INTERNAL; e++)
		assert_true(pki_err_message(e)[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_profile_fields_rsa2048),
		cmocka_unit_test(test_profile_fields_p256),
		cmocka_unit_test(test_profile_fields_sm2),
		cmocka_unit_test(test_subject_template),
		cmocka_unit_test(test_csr_decode_and_verify),
		cmocka_unit_test(test_csr_sm2_needs_the_id),
		cmocka_unit_test(test_roca),
		cmocka_unit_test(test_weak_rsa),
		cmocka_unit_test(test_error_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
