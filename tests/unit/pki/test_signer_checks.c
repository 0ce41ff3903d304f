/* certdesk-signer's checks (src/signer/checks.c, der.c, p11uri.c): TBSCertificates, TBSCertLists,
 * OCSP ResponseData and seal parts built here with OpenSSL, for RSA, P-256 and SM2 CA keys; a good
 * one is accepted and signed (the signature verifies), each bad one is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "seal/seal.h"
#include "signer/signer.h"

#define DAY 86400L

struct ca {
	EVP_PKEY *key;
	X509 *cert;
	struct signer_key *sk; /* the signer's view: the same key and certificate */
};
static struct ca cas[4]; /* indexed by enum key_alg */
static EVP_PKEY *ee_key;

static EVP_PKEY *gen_key(int alg)
{
	if (alg == KEY_ALG_RSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (alg == KEY_ALG_P256)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
}

/* Signs x (a certificate or, with crl, a CRL) with key of alg as a CA would. */
static void sign_obj(X509 *x, X509_CRL *crl, EVP_PKEY *key, int alg)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	assert_int_equal(
		EVP_DigestSignInit_ex(m, &pc, alg == KEY_ALG_SM2 ? "SM3" : "SHA256", NULL, NULL, key, NULL),
		1);
	if (alg == KEY_ALG_SM2)
		assert_int_equal(EVP_PKEY_CTX_set1_id(pc, SIGNER_SM2_ID, SIGNER_SM2_ID_LEN), 1);
	assert_true((x != NULL ? X509_sign_ctx(x, m) : X509_CRL_sign_ctx(crl, m)) > 0);
	EVP_MD_CTX_free(m);
}

static X509_NAME *name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"CN", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* What an end-entity TBSCertificate gets wrong on purpose. */
struct ee_opts {
	int ca_true, key_cert_sign, wrong_issuer, long_validity, sign_alg; /* sign_alg 0: the CA's own */
};

/* Returns the DER TBSCertificate of an end-entity certificate of ca (alg), made as opts say. */
static unsigned char *make_tbs_cert(int alg, const struct ee_opts *o, size_t *len)
{
	struct ca *c = &cas[alg];
	X509 *x = X509_new();
	X509_NAME *subj = name("Jiangxi Test Org"), *iss = o->wrong_issuer ? name("Another CA") : NULL;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set_int64(X509_get_serialNumber(x), 0x1234567890abcdefLL);
	X509_set_issuer_name(x, iss != NULL ? iss : X509_get_subject_name(c->cert));
	X509_set_subject_name(x, subj);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), (o->long_validity ? 4000 : 365) * DAY);
	X509_set_pubkey(x, ee_key);
	add_ext(x, c->cert, NID_basic_constraints, o->ca_true ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, c->cert, NID_key_usage,
		o->key_cert_sign ? "critical,digitalSignature,keyCertSign" : "critical,digitalSignature");
	int salg = o->sign_alg != 0 ? o->sign_alg : alg;
	sign_obj(x, NULL, cas[salg].key, salg);
	unsigned char *der = NULL;
	int n = i2d_re_X509_tbs(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_NAME_free(subj);
	X509_NAME_free(iss);
	X509_free(x);
	return der;
}

static void make_ca(int alg)
{
	struct ca *c = &cas[alg];
	c->key = gen_key(alg);
	assert_non_null(c->key);
	c->cert = X509_new();
	X509_NAME *n = name(alg == KEY_ALG_RSA    ? "Test CA RSA"
			    : alg == KEY_ALG_P256 ? "Test CA P-256"
						  : "Test CA SM2");
	X509_set_version(c->cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(c->cert), alg);
	X509_set_issuer_name(c->cert, n);
	X509_set_subject_name(c->cert, n);
	X509_gmtime_adj(X509_getm_notBefore(c->cert), -DAY);
	X509_gmtime_adj(X509_getm_notAfter(c->cert), 3650 * DAY);
	X509_set_pubkey(c->cert, c->key);
	add_ext(c->cert, NULL, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(c->cert, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	sign_obj(c->cert, NULL, c->key, alg);
	X509_NAME_free(n);
	EVP_PKEY_up_ref(c->key);
	c->sk = keystore_key_from_evp(alg == KEY_ALG_RSA    ? "rsa-ca"
				      : alg == KEY_ALG_P256 ? "p256-ca"
							    : "sm2-ca",
				      c->key, c->cert);
	assert_int_equal(c->sk->alg, alg);
}

static int setup(void **state)
{
	(void)state;
	for (int alg = KEY_ALG_RSA; alg <= KEY_ALG_SM2; alg++)
		make_ca(alg);
	ee_key = gen_key(KEY_ALG_P256);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int alg = KEY_ALG_RSA; alg <= KEY_ALG_SM2; alg++) {
		keystore_key_free(cas[alg].sk);
		EVP_PKEY_free(cas[alg].key);
		X509_free(cas[alg].cert);
	}
	EVP_PKEY_free(ee_key);
	return 0;
}

/* Runs the checks of kind on data with the CA key of alg; returns their result, reason in why. */
static int check(int alg, int kind, const unsigned char *data, size_t len, char *why)
{
	struct check_info info;
	return checks_request(cas[alg].sk, kind, data, len, &info, why, 256);
}

/* A good TBSCertificate of each key type is accepted, signed, and the certificate made of it verifies
 * with the CA's public key (SM2 with the ID 1234567812345678). */
static void test_good_cert_each_alg(void **state)
{
	static const unsigned char bits0 = 0x00;
	(void)state;
	for (int alg = KEY_ALG_RSA; alg <= KEY_ALG_SM2; alg++) {
		struct ee_opts o = {0};
		struct check_info info;
		char why[256] = "";
		size_t len, alen, wl;
		unsigned char *tbs = make_tbs_cert(alg, &o, &len), *sig = NULL;
		assert_int_equal(
			checks_request(cas[alg].sk, SIGNER_KIND_TBS_CERT, tbs, len, &info, why, sizeof(why)),
			0);
		assert_string_equal(info.serial, "1234567890ABCDEF");
		size_t siglen = 0;
		assert_int_equal(cas[alg].sk->be->sign(cas[alg].sk->state, alg, tbs, len, &sig, &siglen, why,
						       sizeof(why)),
				 0);
		/* BIT STRING { 0 unused bits, sig } */
		unsigned char *bs = malloc(siglen + 4);
		bs[0] = 0x03;
		bs[1] = 0x82;
		bs[2] = (unsigned char)((siglen + 1) >> 8);
		bs[3] = (unsigned char)(siglen + 1);
		unsigned char *bsv = malloc(siglen + 5);
		memcpy(bsv, bs, 4);
		bsv[4] = bits0;
		memcpy(bsv + 5, sig, siglen);
		const unsigned char *alg_der = der_alg_id(alg, &alen);
		unsigned char *der = der_wrap3(tbs, len, alg_der, alen, bsv, siglen + 5, &wl);
		const unsigned char *q = der;
		X509 *x = d2i_X509(NULL, &q, (long)wl);
		assert_non_null(x);
		if (alg == KEY_ALG_SM2) {
			ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
			ASN1_OCTET_STRING_set(id, (const unsigned char *)SIGNER_SM2_ID, SIGNER_SM2_ID_LEN);
			X509_set0_distinguishing_id(x, id);
		}
		assert_int_equal(X509_verify(x, cas[alg].key), 1);
		X509_free(x);
		free(der);
		free(bs);
		free(bsv);
		OPENSSL_free(sig);
		OPENSSL_free(tbs);
	}
}

static void expect_refused(int alg, const struct ee_opts *o, const char *reason_part)
{
	char why[256] = "";
	size_t len;
	unsigned char *tbs = make_tbs_cert(alg, o, &len);
	assert_int_equal(check(alg, SIGNER_KIND_TBS_CERT, tbs, len, why), -1);
	if (strstr(why, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why, reason_part);
	OPENSSL_free(tbs);
}

static void test_bad_certs(void **state)
{
	(void)state;
	for (int alg = KEY_ALG_RSA; alg <= KEY_ALG_SM2; alg++) {
		expect_refused(alg, &(struct ee_opts){.ca_true = 1}, "cA TRUE");
		expect_refused(alg, &(struct ee_opts){.wrong_issuer = 1}, "issuer");
		expect_refused(alg, &(struct ee_opts){.long_validity = 1}, "validity");
		expect_refused(alg, &(struct ee_opts){.key_cert_sign = 1}, "keyCertSign");
		/* TBS signed with another algorithm than the key's */
		expect_refused(alg,
			       &(struct ee_opts){.sign_alg = alg == KEY_ALG_RSA ? KEY_ALG_P256 : KEY_ALG_RSA},
			       "algorithm");
	}
	/* SM2 key, TBS says ecdsa-with-SHA256 (P-256's) */
	expect_refused(KEY_ALG_SM2, &(struct ee_opts){.sign_alg = KEY_ALG_P256}, "algorithm");
	expect_refused(KEY_ALG_P256, &(struct ee_opts){.sign_alg = KEY_ALG_SM2}, "algorithm");
}

static void test_trailing_and_ber(void **state)
{
	char why[256];
	size_t len;
	struct ee_opts o = {0};
	(void)state;
	unsigned char *tbs = make_tbs_cert(KEY_ALG_RSA, &o, &len);
	unsigned char *t = malloc(len + 2);
	memcpy(t, tbs, len);
	t[len] = 0x00;
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_TBS_CERT, t, len + 1, why), -1); /* trailing byte */
	assert_non_null(strstr(why, "DER"));
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_TBS_CERT, t, len - 1, why), -1); /* one byte short */
	/* The same TBS as a CRL, an OCSP ResponseData: not what it claims. */
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_TBS_CRL, tbs, len, why), -1);
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_OCSP, tbs, len, why), -1);
	/* BER: the outer length in indefinite form (0x30 0x80 ... 0x00 0x00) */
	assert_true(tbs[1] == 0x82);
	unsigned char *ber = malloc(len + 2);
	ber[0] = 0x30;
	ber[1] = 0x80;
	memcpy(ber + 2, tbs + 4, len - 4);
	ber[len - 2] = 0;
	ber[len - 1] = 0;
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_TBS_CERT, ber, len, why), -1);
	free(ber);
	free(t);
	OPENSSL_free(tbs);
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_TBS_CERT, (const unsigned char *)"\x30\x00", 2, why),
			 -1);
}

static unsigned char *make_tbs_crl(int alg, int wrong_issuer, int sign_alg, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	X509_NAME *other = name("Another CA");
	ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, 0), *nt = ASN1_TIME_adj(NULL, time(NULL), 1, 0);

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, wrong_issuer ? other : X509_get_subject_name(cas[alg].cert));
	X509_CRL_set1_lastUpdate(crl, t);
	X509_CRL_set1_nextUpdate(crl, nt);
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_INTEGER_set(sn, 77);
	X509_REVOKED_set_serialNumber(r, sn);
	X509_REVOKED_set_revocationDate(r, t);
	X509_CRL_add0_revoked(crl, r);
	sign_obj(NULL, crl, cas[sign_alg].key, sign_alg);
	unsigned char *der = NULL;
	int n = i2d_re_X509_CRL_tbs(crl, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	ASN1_TIME_free(nt);
	X509_NAME_free(other);
	X509_CRL_free(crl);
	return der;
}

static void test_crls(void **state)
{
	char why[256];
	size_t len;
	(void)state;
	for (int alg = KEY_ALG_RSA; alg <= KEY_ALG_SM2; alg++) {
		unsigned char *tbs = make_tbs_crl(alg, 0, alg, &len);
		assert_int_equal(check(alg, SIGNER_KIND_TBS_CRL, tbs, len, why), 0);
		assert_int_equal(check(alg, SIGNER_KIND_TBS_CERT, tbs, len, why), -1); /* wrong kind */
		OPENSSL_free(tbs);
		tbs = make_tbs_crl(alg, 1, alg, &len);
		assert_int_equal(check(alg, SIGNER_KIND_TBS_CRL, tbs, len, why), -1);
		assert_non_null(strstr(why, "issuer"));
		OPENSSL_free(tbs);
		int other = alg == KEY_ALG_RSA ? KEY_ALG_SM2 : KEY_ALG_RSA;
		tbs = make_tbs_crl(alg, 0, other, &len);
		assert_int_equal(check(alg, SIGNER_KIND_TBS_CRL, tbs, len, why), -1);
		assert_non_null(strstr(why, "algorithm"));
		OPENSSL_free(tbs);
	}
}

/* Returns the DER ResponseData of a response signed by responder (by key hash or by name). */
static unsigned char *make_ocsp(X509 *responder, EVP_PKEY *rkey, int by_key, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), NULL, cas[KEY_ALG_RSA].cert);
	ASN1_TIME *t = ASN1_TIME_adj(NULL, time(NULL), 0, 0);

	assert_non_null(OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, t, NULL));
	assert_int_equal(OCSP_basic_sign(bs, responder, rkey, EVP_sha256(), NULL,
					 OCSP_NOCERTS | (by_key ? OCSP_RESPID_KEY : 0)),
			 1);
	unsigned char *der = NULL;
	int n = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), &der);
	assert_true(n > 0);
	*len = (size_t)n;
	ASN1_TIME_free(t);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	return der;
}

static void test_ocsp(void **state)
{
	char why[256];
	size_t len;
	(void)state;
	for (int by_key = 0; by_key <= 1; by_key++) {
		unsigned char *rd = make_ocsp(cas[KEY_ALG_RSA].cert, cas[KEY_ALG_RSA].key, by_key, &len);
		assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_OCSP, rd, len, why), 0);
		/* The P-256 key is not this responder. */
		assert_int_equal(check(KEY_ALG_P256, SIGNER_KIND_OCSP, rd, len, why), -1);
		assert_non_null(strstr(why, "responder"));
		OPENSSL_free(rd);
	}
}

/* Returns the DER of a whole end-entity certificate claiming cas[alg] as issuer, signed by that CA's
 * key or (forged) by another key of the same algorithm. */
static unsigned char *issued_cert(int alg, int forged, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *subj = name("Jiangxi Seal Org");
	EVP_PKEY *other = forged ? gen_key(alg) : NULL;
	unsigned char *der = NULL;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
	X509_set_issuer_name(x, X509_get_subject_name(cas[alg].cert));
	X509_set_subject_name(x, subj);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365 * DAY);
	X509_set_pubkey(x, ee_key);
	sign_obj(x, NULL, forged ? other : cas[alg].key, alg);
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	EVP_PKEY_free(other);
	X509_NAME_free(subj);
	X509_free(x);
	return der;
}

/* Returns a v4 SES_SealInfo (seal_info_encode, as production makes it) listing cert. */
static unsigned char *seal_info(const unsigned char *cert, size_t cert_len, size_t *len)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0};
	struct seal_in in = {.type = SEAL_TYPE_ORG, .es_id = "YT20261206-000001-1", .name = "鹰潭测试有限公司",
			     .cert_der = cert, .cert_len = cert_len, .png = png, .png_len = sizeof(png),
			     .width_mm = 40, .height_mm = 40};
	unsigned char *out = NULL;
	char err[256];

	assert_int_equal(seal_info_encode(&in, &out, len, err, sizeof(err)), SEAL_OK);
	return out;
}

/* Kind 4: only a seal maker's SES_SealInfo, with an SM2 key, whose certificates a CA of this signer
 * issued (checks_seal_issuers); an electronic signature's TBS_Sign, a look-alike of the right shape
 * only, or a certificate of another CA (or forged in this CA's name) is refused. */
static void test_seal(void **state)
{
	/* SES_SealInfo-like shape only: SEQUENCE { SEQUENCE { IA5String "ES", INTEGER 4, IA5String "v" },
	 * IA5String "1" } */
	static const unsigned char shape[] = {0x30, 0x0f, 0x30, 0x0a, 0x16, 0x02, 'E',  'S', 0x02,
					      0x01, 0x04, 0x16, 0x01, 'v',  0x16, 0x01, '1'};
	/* TBS_Sign-like: SEQUENCE { INTEGER 4, SEQUENCE {} } */
	static const unsigned char tbs_sign[] = {0x30, 0x05, 0x02, 0x01, 0x04, 0x30, 0x00};
	static const unsigned char junk[] = {0x30, 0x04, 0x05, 0x00, 0x05, 0x00};
	X509 *sm2_only[] = {cas[KEY_ALG_SM2].cert}, *all[] = {cas[KEY_ALG_RSA].cert, cas[KEY_ALG_SM2].cert};
	size_t cl, il, ol, fl;
	unsigned char *cert = issued_cert(KEY_ALG_SM2, 0, &cl), *info = seal_info(cert, cl, &il);
	unsigned char *ocert = issued_cert(KEY_ALG_RSA, 0, &ol), *oinfo = seal_info(ocert, ol, &ol);
	unsigned char *fcert = issued_cert(KEY_ALG_SM2, 1, &fl), *finfo = seal_info(fcert, fl, &fl);
	char why[256];
	(void)state;

	assert_int_equal(check(KEY_ALG_SM2, SIGNER_KIND_SEAL, info, il, why), 0);
	assert_int_equal(checks_seal_issuers(info, il, sm2_only, 1, why, sizeof(why)), 0);
	/* a certificate of the RSA CA: only when that CA is one of the signer's */
	assert_int_equal(check(KEY_ALG_SM2, SIGNER_KIND_SEAL, oinfo, ol, why), 0);
	assert_int_equal(checks_seal_issuers(oinfo, ol, sm2_only, 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not issued"));
	assert_int_equal(checks_seal_issuers(oinfo, ol, all, 2, why, sizeof(why)), 0);
	/* this CA's name, another key's signature */
	assert_int_equal(checks_seal_issuers(finfo, fl, all, 2, why, sizeof(why)), -1);
	/* the shape alone, an electronic signature's TBS, junk, the wrong key type: refused */
	assert_int_equal(check(KEY_ALG_SM2, SIGNER_KIND_SEAL, shape, sizeof(shape), why), -1);
	assert_non_null(strstr(why, "SES_SealInfo"));
	assert_int_equal(check(KEY_ALG_SM2, SIGNER_KIND_SEAL, tbs_sign, sizeof(tbs_sign), why), -1);
	assert_int_equal(check(KEY_ALG_SM2, SIGNER_KIND_SEAL, junk, sizeof(junk), why), -1);
	assert_int_equal(checks_seal_issuers(tbs_sign, sizeof(tbs_sign), all, 2, why, sizeof(why)), -1);
	assert_int_equal(check(KEY_ALG_RSA, SIGNER_KIND_SEAL, info, il, why), -1);
	assert_non_null(strstr(why, "SM2"));
	OPENSSL_free(cert);
	OPENSSL_free(ocert);
	OPENSSL_free(fcert);
	free(info);
	free(oinfo);
	free(finfo);
}

static void test_der(void **state)
{
	unsigned char tag;
	(void)state;
	assert_true(der_is_one_value((const unsigned char *)"\x30\x03\x02\x01\x05", 5, &tag));
	assert_int_equal(tag, 0x30);
	assert_false(der_is_one_value((const unsigned char *)"\x30\x81\x03\x02\x01\x05", 6,
				      &tag)); /* long form < 128 */
	assert_false(der_is_one_value((const unsigned char *)"\x30\x80\x02\x01\x05\x00\x00", 7,
				      &tag)); /* indefinite */
	assert_false(der_is_one_value((const unsigned char *)"\x30\x04\x02\x02\x00\x05", 6,
				      &tag)); /* INTEGER 00 05 */
	assert_false(
		der_is_one_value((const unsigned char *)"\x30\x03\x01\x01\x01", 5, &tag)); /* BOOLEAN 1 */
	assert_false(der_is_one_value((const unsigned char *)"\x30\x04\x02\x01\x05", 5, &tag)); /* too long */
	assert_false(der_is_one_value((const unsigned char *)"\x30\x02\x02\x01\x05", 5,
				      &tag)); /* child overruns */
	assert_false(
		der_is_one_value((const unsigned char *)"\x30\x03\x02\x01\x05\x00", 6, &tag)); /* trailing */
	assert_true(der_is_one_value((const unsigned char *)"\x30\x04\x02\x02\x00\x80", 6, &tag));
}

static void test_p11_uri(void **state)
{
	struct p11_uri u;
	char why[256];
	(void)state;
	assert_int_equal(p11_uri_parse("pkcs11:token=CA%20Token;object=rsa-issuing;id=%01%02;type=private"
				       "?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so\n",
				       &u, why, sizeof(why)),
			 0);
	assert_string_equal(u.token, "CA Token");
	assert_string_equal(u.object, "rsa-issuing");
	assert_int_equal(u.idlen, 2);
	assert_memory_equal(u.id, "\x01\x02", 2);
	assert_string_equal(u.pin, "1234");
	assert_string_equal(u.module, "/usr/lib/softhsm/libsofthsm2.so");
	p11_uri_free(&u);
	assert_int_equal(
		p11_uri_parse("pkcs11:token=T;manufacturer=SoftHSM%20project;id=%0a", &u, why, sizeof(why)),
		0);
	assert_null(u.object);
	assert_null(u.pin);
	p11_uri_free(&u);
	assert_int_equal(p11_uri_parse("pkcs11:object=k", &u, why, sizeof(why)), -1); /* no token */
	assert_int_equal(p11_uri_parse("pkcs11:token=T", &u, why, sizeof(why)), -1);  /* no object */
	assert_int_equal(p11_uri_parse("pkcs11:token=T;object=%4", &u, why, sizeof(why)), -1);
	assert_int_equal(p11_uri_parse("pkcs11:token=T;object=k;type=public", &u, why, sizeof(why)), -1);
	assert_int_equal(p11_uri_parse("pkcs11:token=T;object=k?pin-source=file:/p", &u, why, sizeof(why)),
			 -1);
	assert_int_equal(p11_uri_parse("pkcs11:token=T;object=a%00b", &u, why, sizeof(why)), -1);
	assert_int_equal(p11_uri_parse("file:token=T;object=k", &u, why, sizeof(why)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der),
		cmocka_unit_test(test_p11_uri),
		cmocka_unit_test(test_good_cert_each_alg),
		cmocka_unit_test(test_bad_certs),
		cmocka_unit_test(test_trailing_and_ber),
		cmocka_unit_test(test_crls),
		cmocka_unit_test(test_ocsp),
		cmocka_unit_test(test_seal),
	};
	return cmocka_run_group_tests_name("signer_checks", tests, setup, teardown);
}
