/* An encryption private key at rest: its PKCS#8 DER sealed with AES-256-GCM under the KEK. The
 * additional authenticated data names the order and algorithm, so a sealed key copied onto another
 * order's row (or relabelled) does not open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "km/km.h"
#include "km/km_int.h"
#include "pki/pki.h"

#define GCM_NONCE 12
#define GCM_TAG 16

unsigned char *km_pkcs8_der(EVP_PKEY *pk, size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
	unsigned char *der = NULL, *out = NULL;
	int n = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;

	if (n > 0 && (out = malloc((size_t)n)) != NULL) {
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
	}
	if (n > 0)
		OPENSSL_clear_free(der, (size_t)n);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return out;
}

EVP_PKEY *km_pkcs8_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	EVP_PKEY *pk = p8 != NULL && p == der + len ? EVP_PKCS82PKEY(p8) : NULL;

	PKCS8_PRIV_KEY_INFO_free(p8);
	return pk;
}

void km_secret_free(unsigned char *p, size_t len)
{
	if (p != NULL)
		OPENSSL_cleanse(p, len);
	free(p);
}

/* Writes the additional data binding a sealed key to its row into aad; returns its length. */
static int aad_of(char *aad, size_t len, int64_t order_id, const char *algorithm)
{
	return snprintf(aad, len, "certdesk-km-v1|order:%lld|alg:%s", (long long)order_id, algorithm);
}

/* Runs AES-256-GCM over in (inlen) into out; enc selects the direction, tag is written (enc) or
 * checked. Returns 0 or -1 (for decryption: the tag does not match). */
static int gcm(int enc, const struct km_kek *kek, const unsigned char *nonce, const char *aad, int aadlen,
	       const unsigned char *in, int inlen, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, ok;

	ok = ctx != NULL && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, aadlen) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, inlen) == 1 && n == inlen;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && fin == 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

char *km_key_seal(const struct km_kek *kek, EVP_PKEY *pk, int64_t order_id, const char *algorithm)
{
	size_t plen = 0;
	unsigned char *plain = km_pkcs8_der(pk, &plen), *box = NULL;
	char aad[128], *text = NULL;
	int aadlen = aad_of(aad, sizeof(aad), order_id, algorithm);

	if (plain == NULL || plen > 16384 || (box = malloc(GCM_NONCE + plen + GCM_TAG)) == NULL)
		goto out;
	/* a random 96-bit nonce: a KEK seals one key per order, far below GCM's 2^32 random-nonce bound */
	if (RAND_bytes(box, GCM_NONCE) != 1 ||
	    gcm(1, kek, box, aad, aadlen, plain, (int)plen, box + GCM_NONCE, box + GCM_NONCE + plen) != 0)
		goto out;
	text = pki_b64_encode(box, GCM_NONCE + plen + GCM_TAG);
out:
	km_secret_free(plain, plen);
	free(box);
	return text;
}

EVP_PKEY *km_key_open(const struct km_kek *kek, const char *sealed, int64_t order_id, const char *algorithm)
{
	size_t len = 0, plen;
	unsigned char *box = pki_b64_decode(sealed, &len), *plain = NULL;
	char aad[128];
	int aadlen = aad_of(aad, sizeof(aad), order_id, algorithm);
	EVP_PKEY *pk = NULL;

	if (box == NULL || len <= GCM_NONCE + GCM_TAG || len > 20000)
		goto out;
	plen = len - GCM_NONCE - GCM_TAG;
	plain = malloc(plen + 16);
	if (plain == NULL ||
	    gcm(0, kek, box, aad, aadlen, box + GCM_NONCE, (int)plen, plain, box + GCM_NONCE + plen) != 0) {
		km_secret_free(plain, plen + 16);
		plain = NULL;
		goto out;
	}
	pk = km_pkcs8_parse(plain, plen);
	km_secret_free(plain, plen + 16);
	plain = NULL;
out:
	free(box);
	return pk;
}
