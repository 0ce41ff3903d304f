/* A USB key's PINs at rest (issue 13): each sealed with AES-256-GCM under the KEK, the additional
 * data naming the order, the key's serial and which PIN, so a sealed PIN copied onto another row
 * does not open. The SO PIN is kept for a later PIN unlock; neither is ever logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "km/km.h"
#include "pki/pki.h"

#define GCM_NONCE 12
#define GCM_TAG 16
#define PIN_MAX 64

/* Runs AES-256-GCM over in into out; the tag is written (enc) or checked. Returns 0 or -1. */
static int pin_gcm(int enc, const struct km_kek *kek, const unsigned char *nonce, const char *aad,
		   const unsigned char *in, int inlen, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, ok;

	ok = ctx != NULL && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n, in, inlen) == 1 && n == inlen;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && fin == 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Writes the additional data of a PIN into aad. */
static void pin_aad(char *aad, size_t len, int64_t order_id, const char *serial, const char *which)
{
	snprintf(aad, len, "certdesk-pin-v1|order:%lld|serial:%s|%s", (long long)order_id, serial, which);
}

char *km_pin_seal(const struct km_kek *kek, const char *pin, int64_t order_id, const char *serial,
		  const char *which)
{
	unsigned char box[GCM_NONCE + PIN_MAX + GCM_TAG];
	size_t n = strlen(pin);
	char aad[200], *text = NULL;

	if (n == 0 || n > PIN_MAX)
		return NULL;
	pin_aad(aad, sizeof(aad), order_id, serial, which);
	if (RAND_bytes(box, GCM_NONCE) == 1 && pin_gcm(1, kek, box, aad, (const unsigned char *)pin, (int)n,
						       box + GCM_NONCE, box + GCM_NONCE + n) == 0)
		text = pki_b64_encode(box, GCM_NONCE + n + GCM_TAG);
	OPENSSL_cleanse(box, sizeof(box));
	return text;
}

char *km_pin_open(const struct km_kek *kek, const char *sealed, int64_t order_id, const char *serial,
		  const char *which)
{
	size_t len = 0, n;
	unsigned char *box = pki_b64_decode(sealed, &len);
	char aad[200], *pin = NULL;

	if (box == NULL || len <= GCM_NONCE + GCM_TAG || len > GCM_NONCE + PIN_MAX + GCM_TAG)
		goto out;
	n = len - GCM_NONCE - GCM_TAG;
	pin = calloc(1, n + 1);
	pin_aad(aad, sizeof(aad), order_id, serial, which);
	if (pin != NULL && pin_gcm(0, kek, box, aad, box + GCM_NONCE, (int)n, (unsigned char *)pin,
				   box + GCM_NONCE + n) != 0) {
		OPENSSL_cleanse(pin, n + 1);
		free(pin);
		pin = NULL;
	}
out:
	free(box);
	return pin;
}

int km_pin_random(char *out, size_t len, int digits_only)
{
	/* no 0/O, 1/l/I: the SO PIN may be read off a screen and typed */
	static const char alnum[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";
	const char *set = digits_only ? "0123456789" : alnum;
	unsigned setlen = (unsigned)strlen(set), limit = 256 - 256 % setlen;
	unsigned char b;
	size_t i = 0;

	while (i + 1 < len) {
		if (RAND_priv_bytes(&b, 1) != 1)
			return -1;
		if (b < limit) /* rejection sampling: every character equally likely */
			out[i++] = set[b % setlen];
	}
	out[i] = '\0';
	return 0;
}
