/* The GM/T 0016 (SKF) ENVELOPEDKEYBLOB that SKF_ImportECCKeyPair takes: the SM2 encryption private
 * key encrypted with SM4-ECB under a random session key, the session key encrypted with SM2 to the
 * USB key's signing public key. Byte layout written (ULONG = u32 little-endian by default, the
 * structures packed as #pragma pack(1) in the standard's header; 256-bit values right-aligned in
 * their 64-byte fields, the leading 32 bytes zero):
 *
 *   off len  field
 *     0   4  Version            1
 *     4   4  ulSymmAlgID        SGD_SM4_ECB = 0x00000401
 *     8   4  ulBits             256
 *    12  64  cbEncryptedPriKey  32 zero bytes | SM4-ECB(session key, d) (32 bytes, no padding)
 *    76   4  PubKey.BitLen      256
 *    80  64  PubKey.X           32 zero bytes | x of the encryption public key
 *   144  64  PubKey.Y           32 zero bytes | y
 *   208  64  ECCCipherBlob.X    32 zero bytes | x of C1 (SM2 encryption of the session key)
 *   272  64  ECCCipherBlob.Y    32 zero bytes | y of C1
 *   336  32  ECCCipherBlob.HASH C3 = SM3(x2 | session key | y2)
 *   368   4  ECCCipherBlob.CipherLen  16
 *   372  16  ECCCipherBlob.Cipher     C2 (the encrypted session key)
 *   388      end
 * With 8-byte ULONG every ULONG above is 8 bytes wide (408 bytes in all). OpenSSL writes an SM2
 * ciphertext as DER SEQUENCE { INTEGER x, INTEGER y, OCTET STRING C3, OCTET STRING C2 } (C1C3C2);
 * it is taken apart into the blob's fields here. */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "km/km.h"
#include "km/km_int.h"

#define FIELD 64
#define COORD 32

/* Writes v as a little-endian unsigned integer of w bytes at p; returns p + w. */
static unsigned char *put_ulong(unsigned char *p, uint32_t v, int w)
{
	for (int i = 0; i < w; i++)
		p[i] = i < 4 ? (unsigned char)(v >> (8 * i)) : 0;
	return p + w;
}

/* Writes the 32-byte big-endian value of bn right-aligned in a 64-byte field at p; returns 0 or -1. */
static int put_coord(unsigned char *p, const BIGNUM *bn)
{
	memset(p, 0, FIELD);
	return bn != NULL && BN_bn2binpad(bn, p + FIELD - COORD, COORD) == COORD ? 0 : -1;
}

/* Writes the public key of an SM2 key as ECCPUBLICKEYBLOB (BitLen, X[64], Y[64]). Returns 0 or -1. */
static int put_pubkey(unsigned char *p, EVP_PKEY *pk, int w)
{
	BIGNUM *x = NULL, *y = NULL;
	int ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
		 EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;

	p = put_ulong(p, 256, w);
	ok = ok && put_coord(p, x) == 0 && put_coord(p + FIELD, y) == 0;
	BN_free(x);
	BN_free(y);
	return ok ? 0 : -1;
}

/* Encrypts the 32-byte d with SM4-ECB under key (no padding) into out. Returns 0 or -1. */
static int sm4_ecb(const unsigned char key[KM_SESSION_KEY_LEN], const unsigned char *d, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *sm4 = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
	int n = 0, fin = 0;
	int ok = ctx != NULL && sm4 != NULL && EVP_EncryptInit_ex(ctx, sm4, NULL, key, NULL) == 1 &&
		 EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_EncryptUpdate(ctx, out, &n, d, COORD) == 1 &&
		 EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1 && n + fin == COORD;

	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(sm4);
	return ok ? 0 : -1;
}

/* SM2-encrypts the session key to sign_pub and writes it as ECCCIPHERBLOB (X, Y, HASH, CipherLen,
 * Cipher) at p. Returns 0 or -1. */
static int put_cipher(unsigned char *p, EVP_PKEY *sign_pub, const unsigned char *key, int w)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(sign_pub, NULL);
	unsigned char *der = NULL;
	const unsigned char *q;
	size_t derlen = 0;
	STACK_OF(ASN1_TYPE) *seq = NULL;
	ASN1_TYPE *t[4];
	BIGNUM *x = NULL, *y = NULL;
	int ok = 0;

	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_encrypt(ctx, NULL, &derlen, key, KM_SESSION_KEY_LEN) != 1 ||
	    (der = malloc(derlen)) == NULL ||
	    EVP_PKEY_encrypt(ctx, der, &derlen, key, KM_SESSION_KEY_LEN) != 1)
		goto out;
	q = der;
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &q, (long)derlen);
	if (seq == NULL || q != der + derlen || sk_ASN1_TYPE_num(seq) != 4)
		goto out;
	for (int i = 0; i < 4; i++)
		t[i] = sk_ASN1_TYPE_value(seq, i);
	if (t[0]->type != V_ASN1_INTEGER || t[1]->type != V_ASN1_INTEGER ||
	    t[2]->type != V_ASN1_OCTET_STRING || t[3]->type != V_ASN1_OCTET_STRING ||
	    ASN1_STRING_length(t[2]->value.octet_string) != 32 ||
	    ASN1_STRING_length(t[3]->value.octet_string) != KM_SESSION_KEY_LEN)
		goto out;
	x = ASN1_INTEGER_to_BN(t[0]->value.integer, NULL);
	y = ASN1_INTEGER_to_BN(t[1]->value.integer, NULL);
	if (put_coord(p, x) != 0 || put_coord(p + FIELD, y) != 0)
		goto out;
	memcpy(p + 2 * FIELD, ASN1_STRING_get0_data(t[2]->value.octet_string), 32);
	p = put_ulong(p + 2 * FIELD + 32, KM_SESSION_KEY_LEN, w);
	memcpy(p, ASN1_STRING_get0_data(t[3]->value.octet_string), KM_SESSION_KEY_LEN);
	ok = 1;
out:
	BN_free(x);
	BN_free(y);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	free(der);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

unsigned char *km_envelope_sm2(EVP_PKEY *enc, EVP_PKEY *sign_pub, int ulong_bytes, size_t *len)
{
	unsigned char key[KM_SESSION_KEY_LEN], d[COORD], *blob, *p;
	BIGNUM *priv = NULL;
	size_t n = KM_ENVELOPE_LEN(ulong_bytes);
	int ok;

	if ((ulong_bytes != 4 && ulong_bytes != 8) || !EVP_PKEY_is_a(enc, "SM2") ||
	    !EVP_PKEY_is_a(sign_pub, "SM2"))
		return NULL;
	blob = calloc(1, n);
	ok = blob != NULL && RAND_priv_bytes(key, sizeof(key)) == 1 &&
	     EVP_PKEY_get_bn_param(enc, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1 &&
	     BN_bn2binpad(priv, d, COORD) == COORD;
	if (ok) {
		p = put_ulong(blob, KM_ENVELOPE_VERSION, ulong_bytes);
		p = put_ulong(p, KM_SGD_SM4_ECB, ulong_bytes);
		p = put_ulong(p, 256, ulong_bytes);
		ok = sm4_ecb(key, d, p + FIELD - COORD) == 0; /* the first 32 bytes stay zero */
		p += FIELD;
		ok = ok && put_pubkey(p, enc, ulong_bytes) == 0;
		p += ulong_bytes + 2 * FIELD;
		ok = ok && put_cipher(p, sign_pub, key, ulong_bytes) == 0;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(d, sizeof(d));
	BN_clear_free(priv);
	if (!ok) {
		free(blob);
		return NULL;
	}
	*len = n;
	return blob;
}
