/* Seals in DER: a strict reader (definite, minimal lengths, nothing after the seal) that is lenient
 * where real seals differ (pki.md "Seals in the wild"), and the v4 writer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "seal/seal.h"
#include "seal/seal_internal.h"
#include "util/strutil.h"

enum {
	T_BOOL = 0x01,
	T_INT = 0x02,
	T_BITS = 0x03,
	T_OCTETS = 0x04,
	T_NULL = 0x05,
	T_OID = 0x06,
	T_UTF8 = 0x0c,
	T_PRINTABLE = 0x13,
	T_IA5 = 0x16,
	T_UTCTIME = 0x17,
	T_GENTIME = 0x18,
	T_VISIBLE = 0x1a,
	T_SEQ = 0x30,
	T_CTX0 = 0xa0,
};

const unsigned char seal_sm2_sm3_oid_der[10] = {0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75};

/* --- reader --- */

struct der {
	const unsigned char *p;
	size_t len;
};

struct tlv {
	int tag;
	const unsigned char *tlv, *v;
	size_t tlv_len, vlen;
};

/* Reads the next TLV of d (one-byte tags, DER lengths of at most 4 bytes). Returns 0 or -1. */
static int der_next(struct der *d, struct tlv *t)
{
	size_t i = 2, l;

	if (d->len < 2 || (d->p[0] & 0x1f) == 0x1f)
		return -1;
	l = d->p[1];
	if (l & 0x80) {
		size_t k = l & 0x7f;
		if (k == 0 || k > 4 || d->len - 2 < k || d->p[2] == 0)
			return -1; /* indefinite, too long, truncated or not minimal */
		l = 0;
		for (size_t j = 0; j < k; j++)
			l = (l << 8) | d->p[2 + j];
		if (l < 0x80)
			return -1;
		i += k;
	}
	if (l > d->len - i)
		return -1;
	t->tag = d->p[0];
	t->tlv = d->p;
	t->tlv_len = i + l;
	t->v = d->p + i;
	t->vlen = l;
	d->p += i + l;
	d->len -= i + l;
	return 0;
}

/* Reads the children of the constructed value t into kids (at most max); returns their number, or
 * -1 when one is malformed or there are more than max. */
static int der_children(const struct tlv *t, struct tlv *kids, int max)
{
	struct der d = {t->v, t->vlen};
	int n = 0;

	while (d.len > 0) {
		if (n == max || der_next(&d, &kids[n]) != 0)
			return -1;
		n++;
	}
	return n;
}

/* A DER INTEGER of at most 7 bytes, minimal. Returns 0 or -1. */
static int der_long(const struct tlv *t, long *v)
{
	int64_t x;

	if (t->tag != T_INT || t->vlen == 0 || t->vlen > 7)
		return -1;
	if (t->vlen > 1 && ((t->v[0] == 0 && !(t->v[1] & 0x80)) || (t->v[0] == 0xff && (t->v[1] & 0x80))))
		return -1;
	x = (t->v[0] & 0x80) ? -1 : 0;
	for (size_t i = 0; i < t->vlen; i++)
		x = (int64_t)((uint64_t)x << 8) | t->v[i];
	*v = (long)x;
	return 0;
}

/* A character string (UTF8, Printable, IA5 or Visible: vendors mix them) copied into out (cap
 * bytes) when it is valid UTF-8 without NUL and fits. Returns 0 or -1. */
static int der_str(const struct tlv *t, char *out, size_t cap)
{
	if ((t->tag != T_UTF8 && t->tag != T_PRINTABLE && t->tag != T_IA5 && t->tag != T_VISIBLE) ||
	    t->vlen >= cap || memchr(t->v, 0, t->vlen) != NULL)
		return -1;
	memcpy(out, t->v, t->vlen);
	out[t->vlen] = '\0';
	return utf8_chars(out) < 0 ? -1 : 0;
}

/* n decimal digits at p. Returns the value or -1. */
static int digits(const unsigned char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSS[.f...]Z, either where the other is
 * expected (v1 writes UTCTime, v4 GeneralizedTime; vendors mix them). Returns 0 or -1. */
static int der_time(const struct tlv *t, time_t *out)
{
	const unsigned char *p = t->v;
	size_t yl = t->tag == T_UTCTIME ? 2 : 4, end;
	struct tm tm = {0};
	int y;

	if ((t->tag != T_UTCTIME && t->tag != T_GENTIME) || t->vlen < yl + 11 || t->v[t->vlen - 1] != 'Z')
		return -1;
	end = yl + 10;
	if (t->tag == T_GENTIME && t->vlen > end + 1) { /* a fraction: '.' and digits */
		if (p[end] != '.' || t->vlen < end + 3 || digits(p + end + 1, (int)(t->vlen - end - 2)) < 0)
			return -1;
	} else if (t->vlen != end + 1) {
		return -1;
	}
	y = digits(p, (int)yl);
	if (y < 0)
		return -1;
	tm.tm_year = (yl == 2 ? (y < 50 ? 2000 + y : 1900 + y) : y) - 1900;
	tm.tm_mon = digits(p + yl, 2) - 1;
	tm.tm_mday = digits(p + yl + 2, 2);
	tm.tm_hour = digits(p + yl + 4, 2);
	tm.tm_min = digits(p + yl + 6, 2);
	tm.tm_sec = digits(p + yl + 8, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The content of a BIT STRING without unused bits, or of an OCTET STRING (some vendors). */
static int der_bits(const struct tlv *t, struct seal_bytes *b)
{
	if (t->tag == T_OCTETS) {
		b->p = t->v;
		b->len = t->vlen;
		return 0;
	}
	if (t->tag != T_BITS || t->vlen < 2 || t->v[0] != 0)
		return -1;
	b->p = t->v + 1;
	b->len = t->vlen - 1;
	return 0;
}

/* An OID (or an AlgorithmIdentifier SEQUENCE{OID, NULL?}) as dotted text. Returns 0 or -1. */
static int der_alg(const struct tlv *t, char *out, size_t cap)
{
	struct tlv kids[2], oid = *t;
	const unsigned char *p;
	ASN1_OBJECT *o;
	int n;

	if (t->tag == T_SEQ) {
		n = der_children(t, kids, 2);
		if (n < 1 || kids[0].tag != T_OID || (n == 2 && (kids[1].tag != T_NULL || kids[1].vlen != 0)))
			return -1;
		oid = kids[0];
	}
	if (oid.tag != T_OID || oid.vlen == 0 || oid.vlen > 40)
		return -1;
	p = oid.tlv;
	o = d2i_ASN1_OBJECT(NULL, &p, (long)oid.tlv_len);
	if (o == NULL)
		return -1;
	n = OBJ_obj2txt(out, (int)cap, o, 1);
	ASN1_OBJECT_free(o);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

#define FAIL(...)                                       \
	do {                                            \
		snprintf(err, errlen, __VA_ARGS__);     \
		return -1;                              \
	} while (0)

/* SES_Header { id "ES", version, vid }. */
static int decode_header(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct tlv k[3];
	char id[8];

	if (t->tag != T_SEQ || der_children(t, k, 3) != 3 || der_str(&k[0], id, sizeof(id)) != 0 ||
	    der_long(&k[1], &s->version) != 0 || der_str(&k[2], s->vid, sizeof(s->vid)) != 0)
		FAIL("印章头（SES_Header）格式错误");
	if (strcmp(id, "ES") != 0)
		FAIL("印章头标识应为“ES”，实际为“%s”", id);
	return 0;
}

/* certList: type 1 SEQUENCE OF OCTET STRING (DER certificates; a bare certificate SEQUENCE is
 * taken too), type 2 SEQUENCE OF CertDigestObj { type, value OCTET STRING }. */
static int decode_cert_list(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct tlv k[SEAL_MAX_CERTS], d[2];
	int n = t->tag == T_SEQ ? der_children(t, k, SEAL_MAX_CERTS) : -1;

	if (n < 0)
		FAIL("证书列表格式错误或超过 %d 项", SEAL_MAX_CERTS);
	for (int i = 0; i < n; i++) {
		if (s->cert_list_type == 1 && (k[i].tag == T_OCTETS || k[i].tag == T_SEQ)) {
			s->certs[i].p = k[i].tag == T_OCTETS ? k[i].v : k[i].tlv;
			s->certs[i].len = k[i].tag == T_OCTETS ? k[i].vlen : k[i].tlv_len;
		} else if (s->cert_list_type == 2 && k[i].tag == T_SEQ && der_children(&k[i], d, 2) == 2 &&
			   der_str(&d[0], s->digest_types[i], sizeof(s->digest_types[i])) == 0 && d[1].tag == T_OCTETS) {
			s->certs[i].p = d[1].v;
			s->certs[i].len = d[1].vlen;
		} else {
			FAIL("证书列表第 %d 项格式错误", i + 1);
		}
	}
	s->ncerts = n;
	return 0;
}

/* SES_ESPropertyInfo: v1 { type, name, certList, 3 times }, v4 { type, name, certListType,
 * certList, 3 times }: told apart by the third element, whatever the header says. */
static int decode_property(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct tlv k[7];
	int n = t->tag == T_SEQ ? der_children(t, k, 7) : -1, i = 2;

	if (n < 6 || der_long(&k[0], &s->type) != 0 || der_str(&k[1], s->name, sizeof(s->name)) != 0)
		FAIL("印章属性（SES_ESPropertyInfo）格式错误");
	s->cert_list_type = 1;
	if (k[2].tag == T_INT) {
		if (n != 7 || der_long(&k[2], &s->cert_list_type) != 0)
			FAIL("印章属性（SES_ESPropertyInfo）格式错误");
		if (s->cert_list_type != 1 && s->cert_list_type != 2)
			FAIL("未知的证书列表类型 %ld", s->cert_list_type);
		i = 3;
	} else if (n != 6) {
		FAIL("印章属性（SES_ESPropertyInfo）格式错误");
	}
	if (decode_cert_list(&k[i], s, err, errlen) != 0)
		return -1;
	if (der_time(&k[i + 1], &s->create_date) != 0 || der_time(&k[i + 2], &s->valid_start) != 0 ||
	    der_time(&k[i + 3], &s->valid_end) != 0)
		FAIL("印章属性中的时间格式错误");
	return 0;
}

/* SES_ESPictrueInfo { type, data, width, height }. */
static int decode_picture(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct tlv k[4];

	if (t->tag != T_SEQ || der_children(t, k, 4) != 4 || der_str(&k[0], s->pic_type, sizeof(s->pic_type)) != 0 ||
	    k[1].tag != T_OCTETS || der_long(&k[2], &s->width_mm) != 0 || der_long(&k[3], &s->height_mm) != 0)
		FAIL("印章图片信息（SES_ESPictrueInfo）格式错误");
	s->picture.p = k[1].v;
	s->picture.len = k[1].vlen;
	return 0;
}

/* extDatas: SEQUENCE OF ExtData { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
static int decode_ext_datas(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct der d = {t->v, t->vlen};
	struct tlv e, k[3];

	if (t->tag != T_SEQ)
		FAIL("扩展数据（extDatas）格式错误");
	while (d.len > 0) {
		int n = der_next(&d, &e) == 0 && e.tag == T_SEQ ? der_children(&e, k, 3) : -1;
		if (n < 2 || k[0].tag != T_OID || k[n - 1].tag != T_OCTETS || (n == 3 && k[1].tag != T_BOOL))
			FAIL("扩展数据（extDatas）第 %d 项格式错误", s->next_datas + 1);
		s->next_datas++;
	}
	return 0;
}

/* SES_SealInfo { header, esID, property, picture, extDatas OPTIONAL }. */
static int decode_seal_info(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct tlv k[5];
	int n = t->tag == T_SEQ ? der_children(t, k, 5) : -1;

	if (n < 4)
		FAIL("印章信息（SES_SealInfo）格式错误");
	s->seal_info.p = t->tlv;
	s->seal_info.len = t->tlv_len;
	if (decode_header(&k[0], s, err, errlen) != 0)
		return -1;
	if (der_str(&k[1], s->es_id, sizeof(s->es_id)) != 0)
		FAIL("印章编码（esID）格式错误");
	if (decode_property(&k[2], s, err, errlen) != 0 || decode_picture(&k[3], s, err, errlen) != 0)
		return -1;
	return n == 5 ? decode_ext_datas(&k[4], s, err, errlen) : 0;
}

/* The maker's certificate: an OCTET STRING holding the DER (a bare SEQUENCE is taken too). */
static int decode_maker_cert(const struct tlv *t, struct seal *s)
{
	if (t->tag == T_OCTETS && t->vlen > 0) {
		s->maker_cert.p = t->v;
		s->maker_cert.len = t->vlen;
		return 0;
	}
	if (t->tag == T_SEQ) {
		s->maker_cert.p = t->tlv;
		s->maker_cert.len = t->tlv_len;
		return 0;
	}
	return -1;
}

/* v1 SES_SignInfo { cert, signatureAlgorithm, signData }. */
static int decode_sign_info(const struct tlv *t, struct seal *s, char *err, size_t errlen)
{
	struct tlv k[3];

	if (t->tag != T_SEQ || der_children(t, k, 3) != 3)
		FAIL("签名信息（SES_SignInfo）格式错误");
	if (decode_maker_cert(&k[0], s) != 0)
		FAIL("制章人证书格式错误");
	if (der_alg(&k[1], s->alg_oid, sizeof(s->alg_oid)) != 0)
		FAIL("签名算法标识格式错误");
	s->alg_tlv.p = k[1].tlv;
	s->alg_tlv.len = k[1].tlv_len;
	if (der_bits(&k[2], &s->signature) != 0)
		FAIL("签名值格式错误");
	return 0;
}

/* The format from the number of top-level elements and the header's version; -1 when they
 * disagree or the version is unknown. */
static int seal_format(int n, long version, const struct tlv *last)
{
	if (n == 2 && (version == 1 || version == 2))
		return 1; /* GM/T 0031: the ofdrw test writes 1, some tools 2 */
	if (n == 4 && version == 4)
		return 4;
	if ((n == 4 || (n == 5 && last->tag == T_CTX0)) && version == 5)
		return 5;
	return -1;
}

int seal_decode(const unsigned char *der, size_t len, struct seal *s, char *err, size_t errlen)
{
	struct der top = {der, len};
	struct tlv t, k[6];
	int n;

	memset(s, 0, sizeof(*s));
	if (der_next(&top, &t) != 0 || t.tag != T_SEQ)
		FAIL("不是完整的 DER 编码印章（文件被截断或格式错误）");
	if (top.len != 0)
		FAIL("印章数据之后还有 %zu 字节多余数据", top.len);
	n = der_children(&t, k, 6);
	if (n != 2 && n != 4 && n != 5)
		FAIL("印章结构错误：顶层应为 2 个（GM/T 0031）或 4 个（GB/T 38540）元素");
	if (decode_seal_info(&k[0], s, err, errlen) != 0)
		return -1;
	s->format = seal_format(n, s->version, &k[n - 1]);
	if (s->format < 0)
		FAIL("不支持的印章版本 %ld（%d 个顶层元素）", s->version, n);
	if (s->format == 1)
		return decode_sign_info(&k[1], s, err, errlen);
	if (decode_maker_cert(&k[1], s) != 0)
		FAIL("制章人证书格式错误");
	if (der_alg(&k[2], s->alg_oid, sizeof(s->alg_oid)) != 0)
		FAIL("签名算法标识格式错误");
	s->alg_tlv.p = k[2].tlv;
	s->alg_tlv.len = k[2].tlv_len;
	if (der_bits(&k[3], &s->signature) != 0)
		FAIL("签名值格式错误");
	s->has_timestamp = n == 5;
	return 0;
}

int seal_info_decode(const unsigned char *der, size_t len, struct seal *s, char *err, size_t errlen)
{
	struct der top = {der, len};
	struct tlv t;

	memset(s, 0, sizeof(*s));
	if (der_next(&top, &t) != 0 || t.tag != T_SEQ || top.len != 0)
		FAIL("不是一个完整的 DER 编码印章信息（SES_SealInfo）");
	if (decode_seal_info(&t, s, err, errlen) != 0)
		return -1;
	if (s->version != 4)
		FAIL("印章信息的版本应为 4（GB/T 38540），实际为 %ld", s->version);
	s->format = 4;
	return 0;
}

/* --- writer --- */

void dbuf_put(struct dbuf *b, const void *d, size_t n)
{
	if (b->fail || n == 0)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->fail = 1;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		unsigned char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->fail = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

void dbuf_tlv(struct dbuf *b, int tag, const void *v, size_t n)
{
	unsigned char h[6];
	size_t hl = 0;

	h[hl++] = (unsigned char)tag;
	if (n < 0x80) {
		h[hl++] = (unsigned char)n;
	} else {
		int k = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
		h[hl++] = (unsigned char)(0x80 | k);
		for (int i = k - 1; i >= 0; i--)
			h[hl++] = (unsigned char)(n >> (8 * i));
	}
	dbuf_put(b, h, hl);
	dbuf_put(b, v, n);
}

void dbuf_wrap(struct dbuf *b, int tag, struct dbuf *inner)
{
	if (inner->fail)
		b->fail = 1;
	dbuf_tlv(b, tag, inner->p, inner->len);
	dbuf_free(inner);
}

void dbuf_int(struct dbuf *b, long v)
{
	unsigned char x[9];
	size_t n = 0;
	unsigned long u = (unsigned long)v;

	do {
		x[8 - n++] = (unsigned char)(u & 0xff);
		u >>= 8;
	} while (u != 0);
	if (x[9 - n] & 0x80)
		x[8 - n++] = 0; /* stays positive */
	dbuf_tlv(b, T_INT, x + 9 - n, n);
}

void dbuf_free(struct dbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* A GeneralizedTime of t ("YYYYMMDDHHMMSSZ"). */
static void dbuf_gentime(struct dbuf *b, time_t t)
{
	struct tm tm;
	char s[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm) != 15) {
		b->fail = 1;
		return;
	}
	dbuf_tlv(b, T_GENTIME, s, 15);
}

/* Reads the validity of the DER certificate der. Returns 0 or -1. */
static int cert_validity(const unsigned char *der, size_t len, time_t *start, time_t *end)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	struct tm a = {0}, b = {0};
	int ok;

	if (x == NULL)
		return -1;
	ok = p == der + len && ASN1_TIME_to_tm(X509_get0_notBefore(x), &a) == 1 &&
	     ASN1_TIME_to_tm(X509_get0_notAfter(x), &b) == 1;
	X509_free(x);
	if (!ok)
		return -1;
	*start = timegm(&a);
	*end = timegm(&b);
	return 0;
}

/* Checks what seal_in promises (seal.h). Returns 0 or -1 with err. */
static int seal_in_check(const struct seal_in *in, char *err, size_t errlen)
{
	static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	size_t n;

	if (in->type != SEAL_TYPE_ORG && in->type != SEAL_TYPE_LEGAL_PERSON)
		FAIL("印章类型应为 1（单位印章）或 2（法人章）");
	n = in->es_id != NULL ? strlen(in->es_id) : 0;
	if (n == 0 || n > 64)
		FAIL("印章编码应为 1 至 64 个可打印 ASCII 字符");
	for (size_t i = 0; i < n; i++)
		if (in->es_id[i] < 0x20 || in->es_id[i] > 0x7e)
			FAIL("印章编码应为 1 至 64 个可打印 ASCII 字符");
	n = in->name != NULL ? strlen(in->name) : 0;
	if (n == 0 || n > 200 || utf8_chars(in->name) < 0 || str_has_control(in->name))
		FAIL("印章名称应为 1 至 200 字节的 UTF-8 文本");
	if (in->vid != NULL && (strlen(in->vid) == 0 || strlen(in->vid) > 64))
		FAIL("厂商标识应为 1 至 64 个字符");
	if (in->png == NULL || in->png_len < 8 || memcmp(in->png, png_magic, 8) != 0)
		FAIL("印章图片不是 PNG 文件");
	if (in->width_mm < 1 || in->width_mm > 200 || in->height_mm < 1 || in->height_mm > 200)
		FAIL("印章图片尺寸应为 1 至 200 毫米");
	return 0;
}

int seal_info_encode(const struct seal_in *in, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	struct dbuf info = {0}, h = {0}, prop = {0}, list = {0}, pic = {0};
	const char *vid = in->vid != NULL ? in->vid : SEAL_VID;
	time_t start, end;

	if (seal_in_check(in, err, errlen) != 0)
		return SEAL_ERR_INPUT;
	if (in->cert_der == NULL || cert_validity(in->cert_der, in->cert_len, &start, &end) != 0) {
		snprintf(err, errlen, "单位签名证书无法解析");
		return SEAL_ERR_INPUT;
	}
	dbuf_tlv(&h, T_IA5, "ES", 2);
	dbuf_int(&h, 4);
	dbuf_tlv(&h, T_IA5, vid, strlen(vid));
	dbuf_wrap(&info, T_SEQ, &h);
	dbuf_tlv(&info, T_IA5, in->es_id, strlen(in->es_id));
	dbuf_int(&prop, in->type);
	dbuf_tlv(&prop, T_UTF8, in->name, strlen(in->name));
	dbuf_int(&prop, 1); /* certListType 1: the certificates themselves */
	dbuf_tlv(&list, T_OCTETS, in->cert_der, in->cert_len);
	dbuf_wrap(&prop, T_SEQ, &list);
	dbuf_gentime(&prop, in->created != 0 ? in->created : time(NULL));
	dbuf_gentime(&prop, start);
	dbuf_gentime(&prop, end);
	dbuf_wrap(&info, T_SEQ, &prop);
	dbuf_tlv(&pic, T_IA5, "PNG", 3);
	dbuf_tlv(&pic, T_OCTETS, in->png, in->png_len);
	dbuf_int(&pic, in->width_mm);
	dbuf_int(&pic, in->height_mm);
	dbuf_wrap(&info, T_SEQ, &pic);
	h = (struct dbuf){0};
	dbuf_wrap(&h, T_SEQ, &info);
	if (h.fail) {
		dbuf_free(&h);
		snprintf(err, errlen, "内存不足");
		return SEAL_ERR_INTERNAL;
	}
	*out = h.p;
	*outlen = h.len;
	return SEAL_OK;
}

int seal_encode_v4(const unsigned char *info, size_t info_len, const unsigned char *maker_der, size_t maker_len,
		   const unsigned char *sig, size_t sig_len, unsigned char **out, size_t *outlen)
{
	struct dbuf body = {0}, bits = {0}, seal = {0};
	static const unsigned char zero = 0;

	dbuf_put(&body, info, info_len);
	dbuf_tlv(&body, T_OCTETS, maker_der, maker_len);
	dbuf_put(&body, seal_sm2_sm3_oid_der, sizeof(seal_sm2_sm3_oid_der));
	dbuf_put(&bits, &zero, 1); /* no unused bits */
	dbuf_put(&bits, sig, sig_len);
	dbuf_wrap(&body, T_BITS, &bits);
	dbuf_wrap(&seal, T_SEQ, &body);
	if (seal.fail) {
		dbuf_free(&seal);
		return -1;
	}
	*out = seal.p;
	*outlen = seal.len;
	return 0;
}

const char *seal_err_code(int e)
{
	static const char *const codes[] = {"ok", "seal_input", "seal_signer_unavailable", "seal_signer_refused",
					    "seal_verify_failed", "internal"};
	return e >= 0 && e <= SEAL_ERR_INTERNAL ? codes[e] : "internal";
}
