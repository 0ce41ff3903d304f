/* An RSA or P-256 encryption key for a USB key spoken to through PKCS#11: its PKCS#8 DER under
 * AES key wrap with padding (RFC 5649, CKM_AES_KEY_WRAP_KWP), the AES-256 key reaching the token
 * as the token's own mechanisms can take it in, so the private key is unwrapped inside it:
 * - RSA signing key: RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) of the AES key, which the token
 *   unwraps with C_UnwrapKey(CKM_RSA_PKCS_OAEP) into a CKK_AES key;
 * - P-256 signing key (an EC key cannot encrypt): an ephemeral P-256 key; the token derives the
 *   same AES key with C_DeriveKey(CKM_ECDH1_DERIVE, kdf CKD_SHA256_KDF, no shared data, the
 *   ephemeral point) — the ANSI X9.63 KDF with SHA-256 over the ECDH shared secret.
 * Then C_UnwrapKey(CKM_AES_KEY_WRAP_KWP, wrapped_private_key) makes the private key object. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "km/km.h"
#include "km/km_int.h"
#include "pki/pki.h"

#define AES_KEY 32

/* AES-KWP (RFC 5649) of in under key. Returns the wrapped bytes (caller frees, *outlen) or NULL. */
static unsigned char *kwp(const unsigned char key[AES_KEY], const unsigned char *in, size_t inlen,
			  size_t *outlen)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char *out = malloc(inlen + 16);
	int n = 0, fin = 0, ok;

	if (ctx != NULL)
		EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = ctx != NULL && out != NULL &&
	     EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, key, NULL) == 1 &&
	     EVP_EncryptUpdate(ctx, out, &n, in, (int)inlen) == 1 &&
	     EVP_EncryptFinal_ex(ctx, out + n, &fin) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)(n + fin);
	return out;
}

/* RSA-OAEP (SHA-256, MGF1-SHA-256) of the AES key to pub. Returns it (caller frees, *outlen) or NULL. */
static unsigned char *oaep(EVP_PKEY *pub, const unsigned char key[AES_KEY], size_t *outlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	unsigned char *out = NULL;
	size_t n = 0;
	int ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
		 EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
		 EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
		 EVP_PKEY_encrypt(ctx, NULL, &n, key, AES_KEY) == 1 && (out = malloc(n)) != NULL &&
		 EVP_PKEY_encrypt(ctx, out, &n, key, AES_KEY) == 1;

	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		free(out);
		return NULL;
	}
	*outlen = n;
	return out;
}

/* Derives the AES key from an ephemeral P-256 key and pub (ECDH, then X9.63 KDF with SHA-256).
 * Returns the ephemeral key (caller frees) with key filled, or NULL. */
static EVP_PKEY *ecdh_key(EVP_PKEY *pub, unsigned char key[AES_KEY])
{
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	EVP_PKEY_CTX *ctx = eph != NULL ? EVP_PKEY_CTX_new(eph, NULL) : NULL;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	unsigned char z[32];
	size_t zlen = sizeof(z);
	OSSL_PARAM params[3];
	int ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pub) == 1 &&
		 EVP_PKEY_derive(ctx, z, &zlen) == 1 && zlen == sizeof(z);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zlen);
	params[2] = OSSL_PARAM_construct_end();
	ok = ok && kctx != NULL && EVP_KDF_derive(kctx, key, AES_KEY, params) == 1;
	OPENSSL_cleanse(z, sizeof(z));
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(eph);
		return NULL;
	}
	return eph;
}

/* Sets name in j to the base64 of len bytes of data; returns 0 or -1. */
static int set_b64(json_t *j, const char *name, const unsigned char *data, size_t len)
{
	char *b = pki_b64_encode(data, len);
	int rc = b != NULL ? json_object_set_new(j, name, json_string(b)) : -1;

	free(b);
	return rc;
}

/* Adds the ephemeral public key (uncompressed point) of eph to j; returns 0 or -1. */
static int set_point(json_t *j, EVP_PKEY *eph)
{
	unsigned char pt[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 || n != 65)
		return -1;
	return set_b64(j, "ephemeral_public_key", pt, n);
}

json_t *km_wrap_p11(EVP_PKEY *enc, EVP_PKEY *sign_pub)
{
	int alg = pki_key_alg(sign_pub, NULL, 0);
	unsigned char key[AES_KEY], *p8 = NULL, *wrapped = NULL, *wk = NULL;
	size_t p8len = 0, wlen = 0, wklen = 0;
	EVP_PKEY *eph = NULL;
	json_t *j = json_object();
	int ok = 0;

	if (alg == PKI_ALG_RSA2048 || alg == PKI_ALG_RSA3072) {
		ok = RAND_priv_bytes(key, AES_KEY) == 1 && (wk = oaep(sign_pub, key, &wklen)) != NULL &&
		     json_object_set_new(j, "format", json_string("pkcs11-rsa-oaep-aes-kwp")) == 0 &&
		     json_object_set_new(j, "oaep_hash", json_string("sha256")) == 0 &&
		     set_b64(j, "wrapped_key", wk, wklen) == 0;
	} else if (alg == PKI_ALG_P256) {
		ok = (eph = ecdh_key(sign_pub, key)) != NULL &&
		     json_object_set_new(j, "format", json_string("pkcs11-ecdh-aes-kwp")) == 0 &&
		     json_object_set_new(j, "kdf", json_string("x963-sha256")) == 0 && set_point(j, eph) == 0;
	}
	ok = ok && (p8 = km_pkcs8_der(enc, &p8len)) != NULL &&
	     (wrapped = kwp(key, p8, p8len, &wlen)) != NULL &&
	     json_object_set_new(j, "wrap", json_string("aes-256-kwp")) == 0 &&
	     set_b64(j, "wrapped_private_key", wrapped, wlen) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	km_secret_free(p8, p8len);
	free(wrapped);
	free(wk);
	EVP_PKEY_free(eph);
	if (!ok) {
		json_decref(j);
		return NULL;
	}
	return j;
}
