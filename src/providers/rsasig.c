/* SHA256withRSA over OpenSSL's EVP interface; Base64 with libsodium (the rest of the project's codec). */
#include "providers/rsasig.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAX 512 /* bytes of a 4096-bit signature */

struct rsakey {
	EVP_PKEY *pkey;
};

/* Reads a public key from f: SubjectPublicKeyInfo, or the key of a certificate. */
static EVP_PKEY *read_public(FILE *f)
{
	EVP_PKEY *pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	X509 *cert;

	if (pkey != NULL)
		return pkey;
	rewind(f);
	if ((cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		return NULL;
	pkey = X509_get_pubkey(cert);
	X509_free(cert);
	return pkey;
}

struct rsakey *rsakey_load(const char *path, int private_key, char *err, size_t errlen)
{
	FILE *f = path != NULL && path[0] != '\0' ? fopen(path, "r") : NULL;
	EVP_PKEY *pkey;
	struct rsakey *k;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open key file '%s'", path != NULL ? path : "");
		return NULL;
	}
	pkey = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : read_public(f);
	fclose(f);
	if (pkey == NULL) {
		snprintf(err, errlen, "'%s' holds no PEM %s", path,
			 private_key ? "private key" : "public key");
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pkey) < 2048) {
		snprintf(err, errlen, "'%s' is not an RSA key of at least 2048 bits", path);
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->pkey = pkey;
	return k;
}

void rsakey_free(struct rsakey *k)
{
	if (k != NULL) {
		EVP_PKEY_free(k->pkey);
		free(k);
	}
}

int rsasig_sign(const struct rsakey *k, const void *msg, size_t len, char *out, size_t outlen)
{
	unsigned char sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && k != NULL &&
		 EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		 EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1;

	EVP_MD_CTX_free(ctx);
	if (!ok || outlen < sodium_base64_ENCODED_LEN(siglen, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	sodium_bin2base64(out, outlen, sig, siglen, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int rsasig_verify(const struct rsakey *k, const void *msg, size_t len, const char *sig_b64)
{
	unsigned char sig[SIG_MAX];
	size_t siglen;
	EVP_MD_CTX *ctx;
	int ok;

	if (k == NULL || sig_b64 == NULL ||
	    sodium_base642bin(sig, sizeof(sig), sig_b64, strlen(sig_b64), NULL, &siglen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}
