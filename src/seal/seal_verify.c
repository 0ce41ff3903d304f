/* Verifying a seal: every check named, with a Chinese message for each failure, and the report as
 * JSON for `certdesk seal verify --json` and POST /api/v1/seals/verify. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "pki/pki.h" /* PKI_SM2_ID only: cd_seal does not link cd_pki (and its database) */
#include "seal/seal.h"
#include "seal/seal_internal.h"
#include "util/timefmt.h"

static const char *const check_names[SEAL_CHECK_COUNT] = {
	"structure", "algorithm", "maker_certificate", "maker_signature",
	"maker_validity", "seal_validity", "cert_list", "picture",
};

const char *seal_check_name(int id)
{
	return id >= 0 && id < SEAL_CHECK_COUNT ? check_names[id] : "?";
}

/* Records the result of check id, with a printf-style message. Returns result == SEAL_PASSED. */
__attribute__((format(printf, 4, 5))) static int set_check(struct seal_report *rep, int id, int result,
							    const char *fmt, ...)
{
	va_list ap;

	rep->checks[id].result = result;
	va_start(ap, fmt);
	vsnprintf(rep->checks[id].message, sizeof(rep->checks[id].message), fmt, ap);
	va_end(ap);
	return result == SEAL_PASSED;
}

/* Writes t as RFC 3339 UTC into out (32 bytes; "" when it cannot). */
static void time_text(const ASN1_TIME *t, char out[32])
{
	struct tm tm = {0};

	out[0] = '\0';
	if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes name as one line (RFC 2253 escaping, UTF-8 kept, C first) into out. */
static void name_text(const X509_NAME *name, char *out, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	out[0] = '\0';
	if (b == NULL)
		return;
	X509_NAME_print_ex(b, name, 0,
			   (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_DN_REV) | ASN1_STRFLGS_UTF8_CONVERT);
	n = BIO_get_mem_data(b, &p);
	if (n > 0 && (size_t)n < len) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
}

/* Records check id as passed, without a message. */
static void passed(struct seal_report *rep, int id)
{
	rep->checks[id].result = SEAL_PASSED;
	rep->checks[id].message[0] = '\0';
}

/* Parses a whole DER certificate. Returns it (caller frees) or NULL. */
static X509 *cert_parse(const struct seal_bytes *b)
{
	const unsigned char *p = b->p;
	X509 *x = b->len > 0 && b->len < 65536 ? d2i_X509(NULL, &p, (long)b->len) : NULL;

	if (x != NULL && p != b->p + b->len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Returns 1 for an SM2 public key (the SM2 type, or an EC key on the SM2 curve). */
static int key_is_sm2(const EVP_PKEY *pk)
{
	char curve[32] = "";

	if (EVP_PKEY_is_a(pk, "SM2"))
		return 1;
	return EVP_PKEY_is_a(pk, "EC") &&
	       EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL) == 1 &&
	       strcasecmp(curve, "SM2") == 0;
}

/* Verifies an SM2-with-SM3 signature (DER SEQUENCE{r,s}) over msg with the standard ID. */
static int sm2_verify(EVP_PKEY *pk, const unsigned char *msg, size_t mlen, const unsigned char *sig, size_t slen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok = 0;

	/* the ID goes on before any data: Z = SM3(ENTL||ID||...) is computed first */
	if (md != NULL && pctx != NULL && EVP_PKEY_CTX_set1_id(pctx, PKI_SM2_ID, PKI_SM2_ID_LEN) > 0) {
		EVP_MD_CTX_set_pkey_ctx(md, pctx);
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pk) == 1 &&
		     EVP_DigestVerify(md, sig, slen, msg, mlen) == 1;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

/* The signature as DER SEQUENCE{r,s}: as written, or converted from raw 64-byte r||s (one real
 * vendor). Returns a malloc'd copy with *len and *format set, or NULL. */
static unsigned char *sig_der(const struct seal_bytes *s, size_t *len, const char **format)
{
	const unsigned char *p = s->p;
	ECDSA_SIG *es = s->len > 0 ? d2i_ECDSA_SIG(NULL, &p, (long)s->len) : NULL;
	unsigned char *out = NULL;
	int n;

	*format = "der";
	if (es != NULL && p != s->p + s->len) {
		ECDSA_SIG_free(es);
		es = NULL;
	}
	if (es == NULL && s->len == 64) {
		BIGNUM *r = BN_bin2bn(s->p, 32, NULL), *sv = BN_bin2bn(s->p + 32, 32, NULL);
		es = ECDSA_SIG_new();
		if (es == NULL || r == NULL || sv == NULL || ECDSA_SIG_set0(es, r, sv) != 1) {
			BN_free(r);
			BN_free(sv);
			ECDSA_SIG_free(es);
			return NULL;
		}
		*format = "raw";
	}
	if (es == NULL)
		return NULL;
	n = i2d_ECDSA_SIG(es, &out);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

/* What the maker signed: v4/v5 DER(SES_SealInfo); v1 DER(SEQUENCE{SES_SealInfo, cert,
 * signatureAlgorithm}), with cert as an OCTET STRING of the certificate. */
static int signed_data(const struct seal *s, struct dbuf *out)
{
	struct dbuf body = {0};

	if (s->format != 1) {
		dbuf_put(out, s->seal_info.p, s->seal_info.len);
		return out->fail ? -1 : 0;
	}
	dbuf_put(&body, s->seal_info.p, s->seal_info.len);
	dbuf_tlv(&body, 0x04, s->maker_cert.p, s->maker_cert.len);
	dbuf_put(&body, s->alg_tlv.p, s->alg_tlv.len);
	dbuf_wrap(out, 0x30, &body);
	return out->fail ? -1 : 0;
}

/* The maker signature check, with the maker's parsed certificate. */
static void check_signature(struct seal_report *rep, X509 *maker)
{
	struct dbuf msg = {0};
	size_t slen = 0;
	unsigned char *sig = sig_der(&rep->seal.signature, &slen, &rep->signature_format);
	EVP_PKEY *pk = X509_get0_pubkey(maker);

	if (sig == NULL) {
		rep->signature_format = NULL;
		set_check(rep, SEAL_CHECK_SIGNATURE, SEAL_FAILED, "签名值既不是 DER 编码的 SM2 签名，也不是 64 字节的 r‖s");
	} else if (signed_data(&rep->seal, &msg) != 0) {
		set_check(rep, SEAL_CHECK_SIGNATURE, SEAL_FAILED, "内存不足");
	} else if (pk == NULL || !sm2_verify(pk, msg.p, msg.len, sig, slen)) {
		set_check(rep, SEAL_CHECK_SIGNATURE, SEAL_FAILED, "制章人签名验证失败：印章被篡改或签名不是制章人证书的密钥所签");
	} else {
		passed(rep, SEAL_CHECK_SIGNATURE);
	}
	OPENSSL_free(sig);
	dbuf_free(&msg);
}

/* The maker certificate's validity at rep->now. */
static void check_maker_validity(struct seal_report *rep, X509 *maker)
{
	time_t now = rep->now;
	char a[32] = "", b[32] = "";

	time_text(X509_get0_notBefore(maker), a);
	time_text(X509_get0_notAfter(maker), b);
	if (X509_cmp_time(X509_get0_notBefore(maker), &now) > 0)
		set_check(rep, SEAL_CHECK_MAKER_VALIDITY, SEAL_FAILED, "制章人证书尚未生效（%s 起）", a);
	else if (X509_cmp_time(X509_get0_notAfter(maker), &now) < 0)
		set_check(rep, SEAL_CHECK_MAKER_VALIDITY, SEAL_FAILED, "制章人证书已过期（%s 止）", b);
	else
		passed(rep, SEAL_CHECK_MAKER_VALIDITY);
}

/* The checks that need the maker's certificate: algorithm, certificate, signature, validity. */
static void check_maker(struct seal_report *rep)
{
	struct seal *s = &rep->seal;
	X509 *maker = cert_parse(&s->maker_cert);
	EVP_PKEY *pk = maker != NULL ? X509_get0_pubkey(maker) : NULL;
	int alg_ok = strcmp(s->alg_oid, SEAL_SM2_SM3_OID) == 0;

	if (alg_ok)
		passed(rep, SEAL_CHECK_ALGORITHM);
	else
		set_check(rep, SEAL_CHECK_ALGORITHM, SEAL_FAILED, "不支持的签名算法 %s（应为 SM2-SM3 %s）", s->alg_oid,
			  SEAL_SM2_SM3_OID);
	if (maker == NULL)
		set_check(rep, SEAL_CHECK_MAKER_CERT, SEAL_FAILED, "制章人证书无法解析");
	else if (pk == NULL || !key_is_sm2(pk))
		set_check(rep, SEAL_CHECK_MAKER_CERT, SEAL_FAILED, "制章人证书的密钥不是 SM2 密钥");
	else
		passed(rep, SEAL_CHECK_MAKER_CERT);
	if (alg_ok && rep->checks[SEAL_CHECK_MAKER_CERT].result == SEAL_PASSED)
		check_signature(rep, maker);
	if (maker != NULL)
		check_maker_validity(rep, maker);
	X509_free(maker);
}

/* The seal's own validity window at rep->now. */
static void check_seal_validity(struct seal_report *rep)
{
	const struct seal *s = &rep->seal;
	char a[TIMEFMT_LEN], b[TIMEFMT_LEN];

	timefmt_rfc3339(s->valid_start, a);
	timefmt_rfc3339(s->valid_end, b);
	if (s->valid_start > s->valid_end)
		set_check(rep, SEAL_CHECK_SEAL_VALIDITY, SEAL_FAILED, "印章有效期起始（%s）晚于截止（%s）", a, b);
	else if (rep->now < s->valid_start)
		set_check(rep, SEAL_CHECK_SEAL_VALIDITY, SEAL_FAILED, "印章尚未生效（%s 起）", a);
	else if (rep->now > s->valid_end)
		set_check(rep, SEAL_CHECK_SEAL_VALIDITY, SEAL_FAILED, "印章已过有效期（%s 止）", b);
	else
		passed(rep, SEAL_CHECK_SEAL_VALIDITY);
}

/* certList: type 1 certificates parse, type 2 digests are listed. */
static void check_cert_list(struct seal_report *rep)
{
	const struct seal *s = &rep->seal;

	if (s->ncerts == 0) {
		set_check(rep, SEAL_CHECK_CERT_LIST, SEAL_FAILED, "证书列表为空：印章未绑定任何签章人证书");
		return;
	}
	for (int i = 0; i < s->ncerts; i++) {
		X509 *x = s->cert_list_type == 1 ? cert_parse(&s->certs[i]) : NULL;
		int ok = s->cert_list_type == 1 ? x != NULL : s->certs[i].len > 0;
		X509_free(x);
		if (!ok) {
			set_check(rep, SEAL_CHECK_CERT_LIST, SEAL_FAILED,
				  s->cert_list_type == 1 ? "证书列表第 %d 项不是有效的证书" : "证书列表第 %d 项摘要为空",
				  i + 1);
			return;
		}
	}
	passed(rep, SEAL_CHECK_CERT_LIST);
}

/* The image kind the picture's first bytes say: "PNG", "GIF", "JPG" or NULL. */
static const char *picture_magic(const struct seal_bytes *b)
{
	if (b->len >= 8 && memcmp(b->p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "PNG";
	if (b->len >= 6 && (memcmp(b->p, "GIF87a", 6) == 0 || memcmp(b->p, "GIF89a", 6) == 0))
		return "GIF";
	if (b->len >= 3 && memcmp(b->p, "\xff\xd8\xff", 3) == 0)
		return "JPG";
	return NULL;
}

/* The picture: a PNG/GIF/JPG/JPEG type (any case) must carry that image; other types are kept as
 * opaque data (vector OFD, SVG, BMP ...); width and height > 0. */
static void check_picture(struct seal_report *rep)
{
	const struct seal *s = &rep->seal;
	const char *t = s->pic_type, *magic = picture_magic(&s->picture);
	int known = strcasecmp(t, "PNG") == 0 || strcasecmp(t, "GIF") == 0 || strcasecmp(t, "JPG") == 0 ||
		    strcasecmp(t, "JPEG") == 0;

	if (s->width_mm <= 0 || s->height_mm <= 0)
		set_check(rep, SEAL_CHECK_PICTURE, SEAL_FAILED, "印章图片尺寸无效（%ld × %ld 毫米）", s->width_mm,
			  s->height_mm);
	else if (s->picture.len == 0)
		set_check(rep, SEAL_CHECK_PICTURE, SEAL_FAILED, "印章图片为空");
	else if (known && (magic == NULL || (strcasecmp(t, magic) != 0 && !(strcasecmp(t, "JPEG") == 0 &&
									   strcmp(magic, "JPG") == 0))))
		set_check(rep, SEAL_CHECK_PICTURE, SEAL_FAILED, "印章图片不是 %s 图像（类型与内容不符）", t);
	else if (!known)
		set_check(rep, SEAL_CHECK_PICTURE, SEAL_PASSED, "图片类型 %s 未检查内容", t);
	else
		passed(rep, SEAL_CHECK_PICTURE);
}

int seal_verify(const unsigned char *der, size_t len, time_t now, struct seal_report *rep)
{
	char err[256] = "";

	memset(rep, 0, sizeof(*rep));
	rep->now = now;
	if (len > SEAL_MAX_LEN) {
		set_check(rep, SEAL_CHECK_STRUCTURE, SEAL_FAILED, "印章文件超过 %d 字节", SEAL_MAX_LEN);
		return 0;
	}
	if (seal_decode(der, len, &rep->seal, err, sizeof(err)) != 0) {
		set_check(rep, SEAL_CHECK_STRUCTURE, SEAL_FAILED, "%s", err);
		return 0;
	}
	rep->decoded = 1;
	passed(rep, SEAL_CHECK_STRUCTURE);
	check_maker(rep);
	check_seal_validity(rep);
	check_cert_list(rep);
	check_picture(rep);
	rep->valid = 1;
	for (int i = 0; i < SEAL_CHECK_COUNT; i++)
		if (rep->checks[i].result != SEAL_PASSED)
			rep->valid = 0;
	return rep->valid;
}

/* --- JSON --- */

/* Hex SHA-256 of b into out (65 bytes). */
static const char *sha256_hex(const struct seal_bytes *b, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(b->p, b->len, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return out;
}

/* A certificate's summary (or {"sha256"} when it does not parse). */
static json_t *cert_json(const struct seal_bytes *b)
{
	X509 *x = cert_parse(b);
	char hex[65], subject[512], issuer[512], nb[32] = "", na[32] = "", *serial = NULL;
	json_t *j = json_pack("{s:s}", "sha256", sha256_hex(b, hex));
	BIGNUM *bn;

	if (x == NULL)
		return j;
	name_text(X509_get_subject_name(x), subject, sizeof(subject));
	name_text(X509_get_issuer_name(x), issuer, sizeof(issuer));
	time_text(X509_get0_notBefore(x), nb);
	time_text(X509_get0_notAfter(x), na);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	serial = bn != NULL ? BN_bn2hex(bn) : NULL;
	json_object_set_new(j, "subject", json_string(subject));
	json_object_set_new(j, "issuer", json_string(issuer));
	json_object_set_new(j, "serial", json_string(serial != NULL ? serial : ""));
	json_object_set_new(j, "not_before", json_string(nb));
	json_object_set_new(j, "not_after", json_string(na));
	OPENSSL_free(serial);
	BN_free(bn);
	X509_free(x);
	return j;
}

/* The certList: certificates (type 1) or digests (type 2). */
static json_t *cert_list_json(const struct seal *s)
{
	json_t *a = json_array();
	char hex[2 * 64 + 1];

	for (int i = 0; i < s->ncerts; i++) {
		if (s->cert_list_type == 1) {
			json_array_append_new(a, cert_json(&s->certs[i]));
			continue;
		}
		hex[0] = '\0';
		for (size_t k = 0; k < s->certs[i].len && k < 64; k++)
			snprintf(hex + 2 * k, 3, "%02x", s->certs[i].p[k]);
		json_array_append_new(a, json_pack("{s:s,s:s}", "digest_type", s->digest_types[i], "digest", hex));
	}
	return a;
}

/* The decoded seal's contents. */
static void seal_json_contents(json_t *j, const struct seal *s)
{
	char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN], t3[TIMEFMT_LEN], hex[65];
	const char *format = s->format == 1 ? "GM/T 0031 (v1)" : s->format == 4 ? "GB/T 38540 (v4)" : "v5";

	json_object_set_new(j, "format", json_string(format));
	json_object_set_new(j, "version", json_integer(s->version));
	json_object_set_new(j, "vid", json_string(s->vid));
	json_object_set_new(j, "es_id", json_string(s->es_id));
	json_object_set_new(j, "type", json_integer(s->type));
	json_object_set_new(j, "name", json_string(s->name));
	json_object_set_new(j, "cert_list_type", json_integer(s->cert_list_type));
	json_object_set_new(j, "certificates", cert_list_json(s));
	json_object_set_new(j, "create_date", json_string(timefmt_rfc3339(s->create_date, t1)));
	json_object_set_new(j, "valid_start", json_string(timefmt_rfc3339(s->valid_start, t2)));
	json_object_set_new(j, "valid_end", json_string(timefmt_rfc3339(s->valid_end, t3)));
	json_object_set_new(j, "picture", json_pack("{s:s,s:I,s:I,s:I,s:s}", "type", s->pic_type, "width_mm",
						    (json_int_t)s->width_mm, "height_mm", (json_int_t)s->height_mm,
						    "bytes", (json_int_t)s->picture.len, "sha256",
						    sha256_hex(&s->picture, hex)));
	json_object_set_new(j, "ext_datas", json_integer(s->next_datas));
	json_object_set_new(j, "has_timestamp", json_boolean(s->has_timestamp));
	json_object_set_new(j, "maker", cert_json(&s->maker_cert));
	json_object_set_new(j, "signature_algorithm", json_string(s->alg_oid));
}

json_t *seal_report_json(const struct seal_report *rep)
{
	static const char *const results[] = {"skipped", "passed", "failed"};
	json_t *j = json_pack("{s:b}", "valid", rep->valid), *checks = json_array();

	if (rep->decoded) {
		seal_json_contents(j, &rep->seal);
		if (rep->signature_format != NULL)
			json_object_set_new(j, "signature_format", json_string(rep->signature_format));
	}
	for (int i = 0; i < SEAL_CHECK_COUNT; i++)
		json_array_append_new(checks, json_pack("{s:s,s:s,s:s}", "name", check_names[i], "result",
							results[rep->checks[i].result], "message",
							rep->checks[i].message));
	json_object_set_new(j, "checks", checks);
	return j;
}
