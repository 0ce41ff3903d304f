/* Seals (seal/seal.h): the v4 encoder round trip, seals signed in process with SM2 (ID
 * 1234567812345678) verified, v1/v4/v5 seals built here with OpenSSL's ASN.1 types (independent of
 * the encoder under test), and the corrupted variants the issue names. With SEAL_CORPUS_DIR set, the
 * seals are also written there (the fuzz target's corpus). */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "seal/seal.h"

#define ID "1234567812345678"
#define DAY 86400L

static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
				    0, 0, 1, 0, 0, 0, 1, 0, 8, 6, 0, 0, 0, 1, 2, 3, 4};

struct fixture {
	EVP_PKEY *maker_key, *org_key;
	unsigned char *maker, *org; /* DER certificates */
	int maker_len, org_len;
};
static struct fixture fx;

/* Signs msg with SM2-with-SM3 and the standard ID; returns the DER signature (caller frees). */
static unsigned char *sm2_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
	unsigned char *sig = NULL;

	assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, ID, 16), 1);
	EVP_MD_CTX_set_pkey_ctx(md, pctx);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, NULL, siglen, msg, len), 1);
	sig = malloc(*siglen);
	assert_int_equal(EVP_DigestSign(md, sig, siglen, msg, len), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	return sig;
}

/* A self-signed SM2 certificate of key valid from now + nb to now + na seconds (DER, caller frees). */
static unsigned char *make_cert(EVP_PKEY *key, const char *cn, long nb, long na, int *len)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
	unsigned char *der = NULL;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	EVP_PKEY_CTX_set1_id(pctx, ID, 16);
	EVP_MD_CTX_set_pkey_ctx(md, pctx);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key), 1);
	assert_true(X509_sign_ctx(x, md) > 0);
	*len = i2d_X509(x, &der);
	assert_true(*len > 0);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	X509_NAME_free(n);
	X509_free(x);
	return der;
}

static int setup(void **state)
{
	(void)state;
	fx.maker_key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	fx.org_key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	assert_non_null(fx.maker_key);
	assert_non_null(fx.org_key);
	fx.maker = make_cert(fx.maker_key, "Seal Maker", -DAY, 3650 * DAY, &fx.maker_len);
	fx.org = make_cert(fx.org_key, "鹰潭测试有限公司", -DAY, 365 * DAY, &fx.org_len);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.maker_key);
	EVP_PKEY_free(fx.org_key);
	OPENSSL_free(fx.maker);
	OPENSSL_free(fx.org);
	return 0;
}

/* Writes a seal into $SEAL_CORPUS_DIR/name when that is set. */
static void corpus(const char *name, const unsigned char *p, size_t len)
{
	const char *dir = getenv("SEAL_CORPUS_DIR");
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s.esl", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(p, 1, len, f);
	fclose(f);
}

static const struct seal_in base_in = {
	.type = SEAL_TYPE_ORG,
	.es_id = "YT20261125-000001-1",
	.name = "鹰潭测试有限公司",
	.png = png,
	.png_len = sizeof(png),
	.width_mm = 40,
	.height_mm = 40,
	.created = 1764979200, /* 2025-12-06 */
};

/* A v4 seal made by the encoder under test and signed in process with maker (DER certificate). */
static unsigned char *make_v4(EVP_PKEY *key, const unsigned char *maker, size_t maker_len, size_t *len)
{
	struct seal_in in = base_in;
	unsigned char *info = NULL, *sig, *seal = NULL;
	size_t info_len = 0, sig_len = 0;
	char err[256];

	in.cert_der = fx.org;
	in.cert_len = (size_t)fx.org_len;
	assert_int_equal(seal_info_encode(&in, &info, &info_len, err, sizeof(err)), SEAL_OK);
	sig = sm2_sign(key, info, info_len, &sig_len);
	assert_int_equal(seal_encode_v4(info, info_len, maker, maker_len, sig, sig_len, &seal, len), 0);
	free(info);
	free(sig);
	return seal;
}

/* The first failed check of rep, or -1. */
static int first_failed(const struct seal_report *rep)
{
	for (int i = 0; i < SEAL_CHECK_COUNT; i++)
		if (rep->checks[i].result == SEAL_FAILED)
			return i;
	return -1;
}

static void test_roundtrip(void **state)
{
	size_t len;
	unsigned char *der = make_v4(fx.maker_key, fx.maker, (size_t)fx.maker_len, &len);
	struct seal s;
	char err[256];
	const unsigned char *p = fx.org;
	X509 *x = d2i_X509(NULL, &p, fx.org_len);
	struct tm tm;

	(void)state;
	assert_int_equal(seal_decode(der, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.format, 4);
	assert_int_equal(s.version, 4);
	assert_string_equal(s.vid, SEAL_VID);
	assert_string_equal(s.es_id, "YT20261125-000001-1");
	assert_int_equal(s.type, SEAL_TYPE_ORG);
	assert_string_equal(s.name, "鹰潭测试有限公司");
	assert_int_equal(s.cert_list_type, 1);
	assert_int_equal(s.ncerts, 1);
	assert_int_equal(s.certs[0].len, fx.org_len);
	assert_memory_equal(s.certs[0].p, fx.org, fx.org_len);
	assert_int_equal(s.create_date, 1764979200);
	ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
	assert_int_equal(s.valid_start, timegm(&tm));
	ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
	assert_int_equal(s.valid_end, timegm(&tm));
	assert_string_equal(s.pic_type, "PNG");
	assert_int_equal(s.picture.len, sizeof(png));
	assert_memory_equal(s.picture.p, png, sizeof(png));
	assert_int_equal(s.width_mm, 40);
	assert_int_equal(s.height_mm, 40);
	assert_int_equal(s.next_datas, 0);
	assert_int_equal(s.maker_cert.len, fx.maker_len);
	assert_memory_equal(s.maker_cert.p, fx.maker, fx.maker_len);
	assert_string_equal(s.alg_oid, SEAL_SM2_SM3_OID);
	assert_false(s.has_timestamp);
	corpus("v4", der, len);
	X509_free(x);
	free(der);
}

static void test_v4_verifies(void **state)
{
	size_t len;
	unsigned char *der = make_v4(fx.maker_key, fx.maker, (size_t)fx.maker_len, &len);
	struct seal_report rep;
	json_t *j;

	(void)state;
	assert_int_equal(seal_verify(der, len, time(NULL), &rep), 1);
	for (int i = 0; i < SEAL_CHECK_COUNT; i++)
		assert_int_equal(rep.checks[i].result, SEAL_PASSED);
	assert_string_equal(rep.signature_format, "der");
	j = seal_report_json(&rep);
	assert_true(json_is_true(json_object_get(j, "valid")));
	assert_string_equal(json_string_value(json_object_get(j, "name")), "鹰潭测试有限公司");
	assert_int_equal(json_array_size(json_object_get(j, "checks")), SEAL_CHECK_COUNT);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "maker"), "subject")), "CN=Seal Maker");
	json_decref(j);
	free(der);
}

/* `openssl asn1parse -inform DER` reads the seal, and finds the header and the algorithm. */
static void test_openssl_asn1parse(void **state)
{
	size_t len;
	unsigned char *der = make_v4(fx.maker_key, fx.maker, (size_t)fx.maker_len, &len);
	char path[] = "/tmp/test-seal-XXXXXX", cmd[128], line[512];
	int fd = mkstemp(path), es = 0, alg = 0;
	FILE *p;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, der, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "openssl asn1parse -inform DER -in %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL) {
		es |= strstr(line, "IA5STRING") != NULL && strstr(line, ":ES") != NULL;
		alg |= strstr(line, "1.2.156.10197.1.501") != NULL || strstr(line, "SM2-with-SM3") != NULL;
		assert_null(strstr(line, "Error"));
	}
	assert_int_equal(pclose(p), 0);
	assert_true(es);
	assert_true(alg);
	unlink(path);
	free(der);
}

/* --- seals built with OpenSSL's ASN.1 types --- */

static ASN1_TYPE *t_set(int type, void *value)
{
	ASN1_TYPE *t = ASN1_TYPE_new();
	ASN1_TYPE_set(t, type, value);
	return t;
}

static ASN1_TYPE *t_str(int type, const void *p, size_t len)
{
	ASN1_STRING *s = ASN1_STRING_type_new(type);
	ASN1_STRING_set(s, p, (int)len);
	return t_set(type, s);
}

static ASN1_TYPE *t_int(long v)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	ASN1_INTEGER_set(i, v);
	return t_set(V_ASN1_INTEGER, i);
}

static ASN1_TYPE *t_time(time_t t, int utc)
{
	return utc ? t_set(V_ASN1_UTCTIME, ASN1_UTCTIME_set(NULL, t))
		   : t_set(V_ASN1_GENERALIZEDTIME, ASN1_GENERALIZEDTIME_set(NULL, t));
}

static ASN1_TYPE *t_bits(const unsigned char *p, size_t len)
{
	ASN1_BIT_STRING *b = ASN1_BIT_STRING_new();
	ASN1_BIT_STRING_set(b, (unsigned char *)p, (int)len);
	b->flags = (b->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT; /* 0 unused bits, whatever the last byte */
	return t_set(V_ASN1_BIT_STRING, b);
}

/* A SEQUENCE of the n items (taken over). */
static ASN1_TYPE *t_seq(int n, ...)
{
	STACK_OF(ASN1_TYPE) *sk = sk_ASN1_TYPE_new_null();
	unsigned char *der = NULL;
	ASN1_STRING *s = ASN1_STRING_new();
	va_list ap;
	int len;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		sk_ASN1_TYPE_push(sk, va_arg(ap, ASN1_TYPE *));
	va_end(ap);
	len = i2d_ASN1_SEQUENCE_ANY(sk, &der);
	assert_true(len > 0);
	ASN1_STRING_set(s, der, len);
	OPENSSL_free(der);
	sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
	return t_set(V_ASN1_SEQUENCE, s);
}

/* Raw DER bytes as an item (an OTHER type is written as is). */
static ASN1_TYPE *t_raw(const unsigned char *p, size_t len)
{
	ASN1_STRING *s = ASN1_STRING_new();
	ASN1_STRING_set(s, p, (int)len);
	return t_set(V_ASN1_OTHER, s);
}

/* DER of t (taken over); *len its length; caller frees. */
static unsigned char *t_der(ASN1_TYPE *t, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_ASN1_TYPE(t, &der);

	assert_true(n > 0);
	ASN1_TYPE_free(t);
	*len = (size_t)n;
	return der;
}

struct variant {
	int v1;                   /* GM/T 0031 layout (2 elements) */
	long version;
	int utc;                  /* UTCTime dates */
	const char *pic_type;
	const unsigned char *pic; /* NULL: png */
	size_t pic_len;
	int ext;                  /* extDatas with one entry */
	int raw_sig;              /* r||s instead of DER */
	int timestamp;            /* v5's [0] */
	int octet_sig;            /* signature in an OCTET STRING */
};

/* SES_SealInfo of v. */
static ASN1_TYPE *sealinfo(const struct variant *v)
{
	time_t now = time(NULL);
	const unsigned char *pic = v->pic != NULL ? v->pic : png;
	size_t pic_len = v->pic != NULL ? v->pic_len : sizeof(png);
	ASN1_TYPE *certs = t_seq(1, t_str(V_ASN1_OCTET_STRING, fx.org, (size_t)fx.org_len));
	ASN1_TYPE *prop = v->v1 ? t_seq(6, t_int(2), t_str(V_ASN1_UTF8STRING, "张三", strlen("张三")), certs,
					t_time(now, v->utc), t_time(now - DAY, v->utc), t_time(now + DAY, v->utc))
				: t_seq(7, t_int(2), t_str(V_ASN1_UTF8STRING, "张三", strlen("张三")), t_int(1), certs,
					t_time(now, v->utc), t_time(now - DAY, v->utc), t_time(now + DAY, v->utc));
	ASN1_TYPE *picture = t_seq(4, t_str(V_ASN1_IA5STRING, v->pic_type, strlen(v->pic_type)),
				   t_str(V_ASN1_OCTET_STRING, pic, pic_len), t_int(30), t_int(20));
	ASN1_TYPE *header = t_seq(3, t_str(V_ASN1_IA5STRING, "ES", 2), t_int(v->version),
				  t_str(V_ASN1_IA5STRING, "othervendor", 11));
	ASN1_TYPE *id = t_str(V_ASN1_IA5STRING, "SEAL-0001", 9);

	if (v->ext)
		return t_seq(5, header, id, prop, picture,
			     t_seq(1, t_seq(2, t_set(V_ASN1_OBJECT, OBJ_txt2obj("1.2.3.4", 1)),
					    t_str(V_ASN1_OCTET_STRING, "x", 1))));
	return t_seq(4, header, id, prop, picture);
}

/* The signature value item of v over msg. */
static ASN1_TYPE *sig_item(const struct variant *v, const unsigned char *msg, size_t len)
{
	size_t sl = 0;
	unsigned char *sig = sm2_sign(fx.maker_key, msg, len, &sl), raw[64] = {0};
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
	ASN1_TYPE *t;

	assert_non_null(es);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	if (v->raw_sig)
		t = t_bits(raw, 64);
	else if (v->octet_sig)
		t = t_str(V_ASN1_OCTET_STRING, sig, sl);
	else
		t = t_bits(sig, sl);
	ECDSA_SIG_free(es);
	free(sig);
	return t;
}

/* A seal of variant v, built and signed here by the v1 or v4 rule. */
static unsigned char *build(const struct variant *v, size_t *len)
{
	static const unsigned char ts[] = {0xa0, 0x04, 0x03, 0x02, 0x00, 0x55};
	size_t il, tl;
	unsigned char *info = t_der(sealinfo(v), &il), *tbs;
	ASN1_TYPE *cert = t_str(V_ASN1_OCTET_STRING, fx.maker, (size_t)fx.maker_len);
	ASN1_TYPE *alg = t_set(V_ASN1_OBJECT, OBJ_txt2obj(SEAL_SM2_SM3_OID, 1)), *seal;

	if (v->v1) {
		tbs = t_der(t_seq(3, t_raw(info, il), t_str(V_ASN1_OCTET_STRING, fx.maker, (size_t)fx.maker_len),
				  t_set(V_ASN1_OBJECT, OBJ_txt2obj(SEAL_SM2_SM3_OID, 1))),
			    &tl);
		seal = t_seq(2, t_raw(info, il), t_seq(3, cert, alg, sig_item(v, tbs, tl)));
		OPENSSL_free(tbs);
	} else if (v->timestamp) {
		seal = t_seq(5, t_raw(info, il), cert, alg, sig_item(v, info, il), t_raw(ts, sizeof(ts)));
	} else {
		seal = t_seq(4, t_raw(info, il), cert, alg, sig_item(v, info, il));
	}
	OPENSSL_free(info);
	return t_der(seal, len);
}

/* Verifies variant v: expects valid, or the first failed check. */
static void expect(const struct variant *v, const char *name, int failed_check)
{
	size_t len;
	unsigned char *der = build(v, &len);
	struct seal_report rep;
	int valid = seal_verify(der, len, time(NULL), &rep);

	corpus(name, der, len);
	if (failed_check < 0 && !valid)
		fail_msg("%s: %s failed: %s", name, seal_check_name(first_failed(&rep)),
			 rep.checks[first_failed(&rep)].message);
	assert_int_equal(valid, failed_check < 0);
	assert_int_equal(first_failed(&rep), failed_check);
	OPENSSL_free(der);
}

static void test_v1_verifies(void **state)
{
	struct variant v = {.v1 = 1, .version = 1, .utc = 1, .pic_type = "png"};
	size_t len;
	unsigned char *der;
	struct seal s;
	char err[256];

	(void)state;
	expect(&v, "v1", -1);
	v.version = 2;
	expect(&v, "v1-version2", -1);
	der = build(&v, &len);
	assert_int_equal(seal_decode(der, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.format, 1);
	assert_string_equal(s.name, "张三");
	assert_int_equal(s.type, 2);
	OPENSSL_free(der);
	/* a GM/T 0031 layout claiming version 4 is refused */
	v.version = 4;
	expect(&v, "v1-version4", SEAL_CHECK_STRUCTURE);
}

static void test_v4_tolerances(void **state)
{
	static const unsigned char ofd[] = {'P', 'K', 3, 4, 0};
	struct variant v = {.version = 4, .pic_type = "PNG"};

	(void)state;
	expect(&v, "v4-built", -1);
	v.utc = 1; /* UTCTime in v4 */
	expect(&v, "v4-utctime", -1);
	v.utc = 0;
	v.raw_sig = 1; /* raw r||s */
	expect(&v, "v4-raw-sig", -1);
	v.raw_sig = 0;
	v.octet_sig = 1; /* OCTET STRING where BIT STRING is expected */
	expect(&v, "v4-octet-sig", -1);
	v.octet_sig = 0;
	v.ext = 1; /* extDatas */
	expect(&v, "v4-extdatas", -1);
	v.ext = 0;
	v.pic_type = "ofd"; /* unknown types are opaque */
	v.pic = ofd;
	v.pic_len = sizeof(ofd);
	expect(&v, "v4-ofd", -1);
	v.pic_type = "png";
	v.pic = NULL;
	v.version = 5; /* v5 with and without its timestamp */
	v.timestamp = 1;
	expect(&v, "v5-timestamp", -1);
	v.timestamp = 0;
	expect(&v, "v5", -1);
}

static void test_corrupted(void **state)
{
	static const unsigned char junk[] = "not an image at all";
	struct variant v = {.version = 3, .pic_type = "PNG"};
	size_t len;
	unsigned char *der = make_v4(fx.maker_key, fx.maker, (size_t)fx.maker_len, &len), *more;
	struct seal_report rep;

	(void)state;
	expect(&v, "version3", SEAL_CHECK_STRUCTURE);
	v.version = 4;
	v.pic = junk;
	v.pic_len = sizeof(junk);
	expect(&v, "picture-not-image", SEAL_CHECK_PICTURE);
	/* truncated */
	assert_int_equal(seal_verify(der, len - 1, time(NULL), &rep), 0);
	assert_int_equal(first_failed(&rep), SEAL_CHECK_STRUCTURE);
	corpus("truncated", der, len - 1);
	/* a trailing byte */
	more = malloc(len + 1);
	memcpy(more, der, len);
	more[len] = 0;
	assert_int_equal(seal_verify(more, len + 1, time(NULL), &rep), 0);
	assert_int_equal(first_failed(&rep), SEAL_CHECK_STRUCTURE);
	assert_non_null(strstr(rep.checks[SEAL_CHECK_STRUCTURE].message, "多余"));
	/* a flipped bit of the signature (its last byte) */
	memcpy(more, der, len);
	more[len - 1] ^= 0x01;
	assert_int_equal(seal_verify(more, len, time(NULL), &rep), 0);
	assert_int_equal(first_failed(&rep), SEAL_CHECK_SIGNATURE);
	/* a changed name: the signature no longer covers it */
	memcpy(more, der, len);
	{
		unsigned char *p = memmem(more, len, "鹰潭", strlen("鹰潭"));
		assert_non_null(p);
		p[0] ^= 0x01;
	}
	assert_int_equal(seal_verify(more, len, time(NULL), &rep), 0);
	assert_int_equal(rep.checks[SEAL_CHECK_SIGNATURE].result, SEAL_FAILED);
	/* an empty file */
	assert_int_equal(seal_verify(der, 0, time(NULL), &rep), 0);
	assert_int_equal(first_failed(&rep), SEAL_CHECK_STRUCTURE);
	free(more);
	free(der);
}

static void test_expired_maker(void **state)
{
	int mlen;
	unsigned char *maker = make_cert(fx.maker_key, "Old Maker", -20 * DAY, -10 * DAY, &mlen);
	size_t len;
	unsigned char *der = make_v4(fx.maker_key, maker, (size_t)mlen, &len);
	struct seal_report rep;

	(void)state;
	assert_int_equal(seal_verify(der, len, time(NULL), &rep), 0);
	assert_int_equal(first_failed(&rep), SEAL_CHECK_MAKER_VALIDITY);
	assert_int_equal(rep.checks[SEAL_CHECK_SIGNATURE].result, SEAL_PASSED);
	assert_non_null(strstr(rep.checks[SEAL_CHECK_MAKER_VALIDITY].message, "过期"));
	/* the seal's own window: a year later the organisation certificate has expired too */
	assert_int_equal(seal_verify(der, len, time(NULL) + 400 * DAY, &rep), 0);
	assert_int_equal(rep.checks[SEAL_CHECK_SEAL_VALIDITY].result, SEAL_FAILED);
	corpus("expired-maker", der, len);
	free(der);
	OPENSSL_free(maker);
}

static void test_wrong_maker_key(void **state)
{
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	size_t len;
	unsigned char *der = make_v4(other, fx.maker, (size_t)fx.maker_len, &len);
	struct seal_report rep;

	(void)state;
	assert_int_equal(seal_verify(der, len, time(NULL), &rep), 0);
	assert_int_equal(first_failed(&rep), SEAL_CHECK_SIGNATURE);
	free(der);
	EVP_PKEY_free(other);
}

static void test_encoder_refuses_bad_input(void **state)
{
	struct seal_in in = base_in;
	unsigned char *out = NULL;
	size_t len = 0;
	char err[256];

	(void)state;
	in.cert_der = fx.org;
	in.cert_len = (size_t)fx.org_len;
	in.type = 3;
	assert_int_equal(seal_info_encode(&in, &out, &len, err, sizeof(err)), SEAL_ERR_INPUT);
	in.type = SEAL_TYPE_LEGAL_PERSON;
	in.png = (const unsigned char *)"GIF89a......";
	in.png_len = 12;
	assert_int_equal(seal_info_encode(&in, &out, &len, err, sizeof(err)), SEAL_ERR_INPUT);
	in.png = png;
	in.png_len = sizeof(png);
	in.width_mm = 0;
	assert_int_equal(seal_info_encode(&in, &out, &len, err, sizeof(err)), SEAL_ERR_INPUT);
	in.width_mm = 40;
	in.cert_len = 10;
	assert_int_equal(seal_info_encode(&in, &out, &len, err, sizeof(err)), SEAL_ERR_INPUT);
	in.cert_len = (size_t)fx.org_len;
	in.es_id = "";
	assert_int_equal(seal_info_encode(&in, &out, &len, err, sizeof(err)), SEAL_ERR_INPUT);
	in.es_id = "A-1";
	assert_int_equal(seal_info_encode(&in, &out, &len, err, sizeof(err)), SEAL_OK);
	free(out);
	/* seal_make refuses before reaching any signer */
	in.type = 0;
	assert_int_equal(seal_make(&in, "/nonexistent.sock", "sm2-sealmaker-1", fx.maker, (size_t)fx.maker_len, &out,
				   &len, err, sizeof(err)),
			 SEAL_ERR_INPUT);
	in.type = 1;
	assert_int_equal(seal_make(&in, "/nonexistent.sock", "sm2-sealmaker-1", fx.maker, (size_t)fx.maker_len, &out,
				   &len, err, sizeof(err)),
			 SEAL_ERR_SIGNER_DOWN);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_v4_verifies),
		cmocka_unit_test(test_openssl_asn1parse),
		cmocka_unit_test(test_v1_verifies),
		cmocka_unit_test(test_v4_tolerances),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_expired_maker),
		cmocka_unit_test(test_wrong_maker_key),
		cmocka_unit_test(test_encoder_refuses_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
