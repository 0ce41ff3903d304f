/* SHA256withRSA (PKCS#1 v1.5) signatures in Base64, as WeChat Pay API v3 ("WECHATPAY2-SHA256-RSA2048")
 * and Alipay ("RSA2") use them, over OpenSSL 3. Keys are read once from PEM files (a private key in
 * PKCS#8 or PKCS#1, a public key as SubjectPublicKeyInfo or inside an X.509 certificate) and are
 * then safe to share between threads. Nothing here logs. */
#ifndef CERTDESK_PROVIDERS_RSASIG_H
#define CERTDESK_PROVIDERS_RSASIG_H
#include <stddef.h>

struct rsakey; /* an RSA private or public key (opaque) */

/* Base64 of a 4096-bit signature and its NUL fit in this many bytes. */
#define RSASIG_B64_MAX 700

/* Reads the PEM file at path: a private key when private_key is 1, otherwise a public key or a
 * certificate. Returns the key, or NULL with the reason in err (errlen bytes): file missing,
 * not PEM, not RSA, shorter than 2048 bits. */
struct rsakey *rsakey_load(const char *path, int private_key, char *err, size_t errlen);
/* Frees k (NULL is fine). */
void rsakey_free(struct rsakey *k);

/* Signs the len bytes at msg with the private key k; writes the Base64 (standard alphabet, padded)
 * signature into out (outlen bytes, RSASIG_B64_MAX is enough). Returns 0, or -1. */
int rsasig_sign(const struct rsakey *k, const void *msg, size_t len, char *out, size_t outlen);
/* Returns 1 when sig_b64 is a valid signature of the len bytes at msg under k (a public key, or a
 * private key whose public half is used), 0 when it is not or cannot be decoded. */
int rsasig_verify(const struct rsakey *k, const void *msg, size_t len, const char *sig_b64);

#endif
