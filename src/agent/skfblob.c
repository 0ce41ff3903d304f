/* SKF blob conversions and the SM2 Z digest (skfblob.h). */
#include "agent/skfblob.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

/* The SM2 curve (GM/T 0003.5): a, b, G as Z covers them. */
static const uint8_t sm2_abg[4][32] = {
	{0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC},
	{0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
	 0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93},
	{0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9, 0x94,
	 0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C, 0x74, 0xC7},
	{0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21, 0x53,
	 0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0},
};

/* Returns 1 when the first 32 bytes of a 64-byte field are zero (the value is right-aligned). */
static int right_aligned(const uint8_t f[SKFB_FIELD])
{
	for (int i = 0; i < SKFB_FIELD - 32; i++)
		if (f[i] != 0)
			return 0;
	return 1;
}

EVP_PKEY *skfb_pub_to_pkey(unsigned long bitlen, const uint8_t x[SKFB_FIELD], const uint8_t y[SKFB_FIELD])
{
	uint8_t pt[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;

	if (bitlen != 256 || !right_aligned(x) || !right_aligned(y))
		return NULL;
	pt[0] = 0x04;
	memcpy(pt + 1, x + 32, 32);
	memcpy(pt + 33, y + 32, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"SM2", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	if (pk != NULL) { /* fromdata does not check the point: a point off the curve is refused here */
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		if (c == NULL || EVP_PKEY_public_check(c) != 1) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		EVP_PKEY_CTX_free(c);
	}
	return pk;
}

int skfb_pub_to_spki(unsigned long bitlen, const uint8_t x[SKFB_FIELD], const uint8_t y[SKFB_FIELD],
		     unsigned char **der, size_t *len)
{
	EVP_PKEY *pk = skfb_pub_to_pkey(bitlen, x, y);
	int n;

	*der = NULL;
	if (pk == NULL)
		return -1;
	n = i2d_PUBKEY(pk, der);
	EVP_PKEY_free(pk);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

int skfb_pkey_xy(EVP_PKEY *pk, uint8_t x[32], uint8_t y[32])
{
	uint8_t pt[133];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 ||
	    n != 65 || pt[0] != 0x04)
		return -1;
	memcpy(x, pt + 1, 32);
	memcpy(y, pt + 33, 32);
	return 0;
}

int skfb_spki_to_pub(const unsigned char *der, size_t len, unsigned long *bitlen, uint8_t x[SKFB_FIELD],
		     uint8_t y[SKFB_FIELD])
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);
	char group[32] = "";
	int rc = -1;

	if (pk == NULL || p != der + len)
		goto out;
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "SM2") != 0)
		goto out;
	memset(x, 0, SKFB_FIELD);
	memset(y, 0, SKFB_FIELD);
	if (skfb_pkey_xy(pk, x + 32, y + 32) != 0)
		goto out;
	*bitlen = 256;
	rc = 0;
out:
	EVP_PKEY_free(pk);
	return rc;
}

/* Writes DER SEQUENCE{r, s} of two big-endian numbers of n bytes each. */
static int rs_to_der(const uint8_t *r, const uint8_t *s, size_t n, unsigned char **der, size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(r, (int)n, NULL), *bs = BN_bin2bn(s, (int)n, NULL);
	int out;

	*der = NULL;
	if (sig == NULL || br == NULL || bs == NULL || BN_is_zero(br) || BN_is_zero(bs) ||
	    ECDSA_SIG_set0(sig, br, bs) != 1) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(sig);
		return -1;
	}
	out = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	if (out <= 0)
		return -1;
	*len = (size_t)out;
	return 0;
}

int skfb_sig_to_der(const uint8_t r[SKFB_FIELD], const uint8_t s[SKFB_FIELD], unsigned char **der,
		    size_t *len)
{
	*der = NULL;
	if (!right_aligned(r) || !right_aligned(s))
		return -1;
	return rs_to_der(r + 32, s + 32, 32, der, len);
}

int skfb_raw_to_der(const unsigned char *rs, size_t n2, unsigned char **der, size_t *len)
{
	*der = NULL;
	if (n2 == 0 || n2 % 2 != 0 || n2 > 2 * 66)
		return -1;
	return rs_to_der(rs, rs + n2 / 2, n2 / 2, der, len);
}

int skfb_der_to_sig(const unsigned char *der, size_t len, uint8_t r[SKFB_FIELD], uint8_t s[SKFB_FIELD])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *br, *bs;
	int rc = -1;

	if (sig == NULL || p != der + len)
		goto out;
	ECDSA_SIG_get0(sig, &br, &bs);
	memset(r, 0, SKFB_FIELD);
	memset(s, 0, SKFB_FIELD);
	if (BN_is_negative(br) || BN_is_negative(bs) || BN_bn2binpad(br, r + 32, 32) != 32 ||
	    BN_bn2binpad(bs, s + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	return rc;
}

int skfb_sm2_e(const uint8_t x[32], const uint8_t y[32], const unsigned char *msg, size_t len, uint8_t e[32])
{
	static const uint8_t entl[2] = {(SKFB_SM2_ID_LEN * 8) >> 8, (SKFB_SM2_ID_LEN * 8) & 0xff};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t z[32];
	unsigned zl = 0, el = 0;
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sm3(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, entl, 2) == 1 && EVP_DigestUpdate(ctx, SKFB_SM2_ID, SKFB_SM2_ID_LEN) == 1;
	for (int i = 0; ok && i < 4; i++)
		ok = EVP_DigestUpdate(ctx, sm2_abg[i], 32) == 1;
	ok = ok && EVP_DigestUpdate(ctx, x, 32) == 1 && EVP_DigestUpdate(ctx, y, 32) == 1 &&
	     EVP_DigestFinal_ex(ctx, z, &zl) == 1 && EVP_DigestInit_ex(ctx, EVP_sm3(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, z, 32) == 1 && EVP_DigestUpdate(ctx, msg, len) == 1 &&
	     EVP_DigestFinal_ex(ctx, e, &el) == 1;
	EVP_MD_CTX_free(ctx);
	return ok && zl == 32 && el == 32 ? 0 : -1;
}
