/* Strict DER walking for the signer's checks. OpenSSL's d2i functions accept some BER (indefinite
 * lengths, non-minimal lengths) and keep the original bytes; a signature over such bytes would make
 * certificates that strict verifiers reject, so the signer first checks that the request is DER. */
#include "signer/signer.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

/* Reads the identifier and length of the TLV at p (n bytes): sets *hlen (header bytes) and *vlen;
 * returns 0, or -1 when it is not DER or runs past n. */
static int der_head(const unsigned char *p, size_t n, size_t *hlen, size_t *vlen)
{
	size_t i = 1;

	if (n < 2)
		return -1;
	if ((p[0] & 0x1f) == 0x1f) { /* high tag number: base 128, minimal, at least 31 */
		unsigned long t = 0;
		if (p[1] == 0x80)
			return -1;
		do {
			if (i >= n || i > 4)
				return -1;
			t = t << 7 | (p[i] & 0x7f);
		} while (p[i++] & 0x80);
		if (t < 31)
			return -1;
	}
	if (i >= n)
		return -1;
	unsigned char b = p[i++];
	if (b < 0x80) {
		*vlen = b;
	} else {
		size_t k = b & 0x7f, v = 0;
		if (k == 0 || k > 4 || i + k > n || p[i] == 0) /* 0x80 is BER's indefinite length */
			return -1;
		for (size_t j = 0; j < k; j++)
			v = v << 8 | p[i + j];
		if (v < 0x80) /* the short form was required */
			return -1;
		i += k;
		*vlen = v;
	}
	if (*vlen > n - i)
		return -1;
	*hlen = i;
	return 0;
}

/* Checks the DER rules of one primitive universal value that BER allows to vary. */
static int der_primitive_ok(unsigned char tag, const unsigned char *v, size_t n)
{
	switch (tag) {
	case 0x01: /* BOOLEAN: one byte, 0x00 or 0xff */
		return n == 1 && (v[0] == 0x00 || v[0] == 0xff);
	case 0x02: /* INTEGER: minimal two's complement */
		if (n == 0)
			return 0;
		if (n > 1 && ((v[0] == 0x00 && !(v[1] & 0x80)) || (v[0] == 0xff && (v[1] & 0x80))))
			return 0;
		return 1;
	case 0x03: /* BIT STRING: unused bits 0-7, none when empty */
		return n >= 1 && v[0] <= 7 && (n > 1 || v[0] == 0);
	case 0x05: /* NULL */
		return n == 0;
	default:
		return 1;
	}
}

/* Checks that p (n bytes) is a run of DER values. */
static int der_walk(const unsigned char *p, size_t n, int depth)
{
	if (depth > MAX_DEPTH)
		return -1;
	while (n > 0) {
		size_t hl, vl;
		if (der_head(p, n, &hl, &vl) != 0)
			return -1;
		if (p[0] & 0x20) {
			if (der_walk(p + hl, vl, depth + 1) != 0)
				return -1;
		} else if ((p[0] & 0xc0) == 0 && !der_primitive_ok(p[0], p + hl, vl)) {
			return -1;
		}
		p += hl + vl;
		n -= hl + vl;
	}
	return 0;
}

int der_is_one_value(const unsigned char *p, size_t n, unsigned char *tag)
{
	size_t hl, vl;

	if (p == NULL || der_head(p, n, &hl, &vl) != 0 || hl + vl != n || der_walk(p, n, 0) != 0)
		return 0;
	*tag = p[0];
	return 1;
}

int der_children(const unsigned char *p, size_t n, size_t *off, size_t *len, int max)
{
	size_t hl, vl, pos;
	int count = 0;

	if (der_head(p, n, &hl, &vl) != 0 || p[0] != 0x30)
		return -1;
	pos = hl;
	while (pos < hl + vl) {
		size_t chl, cvl;
		if (der_head(p + pos, hl + vl - pos, &chl, &cvl) != 0)
			return -1;
		if (count < max) {
			off[count] = pos;
			len[count] = chl + cvl;
		}
		count++;
		pos += chl + cvl;
	}
	return count;
}

/* Writes a DER length at out (5 bytes room); returns the bytes written. */
static size_t der_put_len(unsigned char *out, size_t v)
{
	if (v < 0x80) {
		out[0] = (unsigned char)v;
		return 1;
	}
	size_t k = v > 0xffffff ? 4 : v > 0xffff ? 3 : v > 0xff ? 2 : 1;
	out[0] = (unsigned char)(0x80 | k);
	for (size_t j = 0; j < k; j++)
		out[1 + j] = (unsigned char)(v >> (8 * (k - 1 - j)));
	return 1 + k;
}

unsigned char *der_wrap3(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
			 const unsigned char *c, size_t clen, size_t *outlen)
{
	size_t body = alen + blen + clen;

	if (body > 0x7fffffff)
		return NULL;
	unsigned char *out = malloc(body + 6);
	if (out == NULL)
		return NULL;
	out[0] = 0x30;
	size_t h = 1 + der_put_len(out + 1, body);
	memcpy(out + h, a, alen);
	memcpy(out + h + alen, b, blen);
	memcpy(out + h + alen + blen, c, clen);
	*outlen = h + body;
	return out;
}

static const unsigned char alg_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const unsigned char alg_p256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
					 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const unsigned char alg_sm2[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81,
					0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75};
/* SM2-with-SM3 with an explicit NULL: OpenSSL writes none, some CAs write one (domain.md §4). */
static const unsigned char alg_sm2_null[] = {0x30, 0x0c, 0x06, 0x08, 0x2a, 0x81, 0x1c,
					     0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00};

const unsigned char *der_alg_id(int alg, size_t *len)
{
	switch (alg) {
	case KEY_ALG_RSA:
		*len = sizeof(alg_rsa);
		return alg_rsa;
	case KEY_ALG_P256:
		*len = sizeof(alg_p256);
		return alg_p256;
	default:
		*len = sizeof(alg_sm2);
		return alg_sm2;
	}
}

int der_alg_id_matches(int alg, const unsigned char *p, size_t n)
{
	size_t want;
	const unsigned char *w = der_alg_id(alg, &want);

	if (n == want && memcmp(p, w, n) == 0)
		return 1;
	return alg == KEY_ALG_SM2 && n == sizeof(alg_sm2_null) && memcmp(p, alg_sm2_null, n) == 0;
}
