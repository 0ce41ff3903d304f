/* Helpers the token backends share (token.h). */
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/token.h"
#include "util/xalloc.h"

void tok_field(char *out, size_t outlen, const void *field, size_t n)
{
	const char *f = field;
	size_t len = 0;

	while (len < n && f[len] != '\0')
		len++;
	while (len > 0 && (f[len - 1] == ' ' || f[len - 1] == '\0'))
		len--;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, f, len);
	out[len] = '\0';
	/* labels are shown as JSON text: a field that is not UTF-8 gets '?' for its odd bytes */
	json_t *probe = json_stringn(out, len);
	if (probe == NULL)
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
				out[i] = '?';
	json_decref(probe);
}

void tok_id_safe(char *out, size_t outlen, const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", s[i]) !=
					 NULL
				 ? s[i]
				 : '_';
	out[i] = '\0';
}

/* Formats an ASN1_TIME as ISO 8601 UTC into out (32 bytes). */
static void iso_time(const ASN1_TIME *t, char out[32])
{
	struct tm tm = {0};

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		out[0] = '\0';
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Returns the one-line UTF-8 text of a name (caller frees). */
static char *name_text(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long len;

	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(b, &p);
	s = xstrndup(p != NULL ? p : "", (size_t)(len > 0 ? len : 0));
	BIO_free(b);
	return s;
}

json_t *tok_cert_json(const unsigned char *der, size_t len, const char *ref, const char *usage)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	char nb[32], na[32], *serial = NULL, *subject, *issuer, *b64;
	BIGNUM *bn;
	json_t *j;

	if (x == NULL)
		return NULL;
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	serial = bn != NULL ? BN_bn2hex(bn) : NULL;
	BN_free(bn);
	subject = name_text(X509_get_subject_name(x));
	issuer = name_text(X509_get_issuer_name(x));
	iso_time(X509_get0_notBefore(x), nb);
	iso_time(X509_get0_notAfter(x), na);
	b64 = xcalloc(len / 3 * 4 + 8);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s}", "key_ref", ref, "usage", usage, "serial",
		      serial != NULL ? serial : "", "subject", subject, "issuer", issuer, "not_before", nb,
		      "not_after", na, "der", b64);
	OPENSSL_free(serial);
	free(subject);
	free(issuer);
	free(b64);
	X509_free(x);
	return j;
}

char *tok_spki_b64(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);
	char *b64;

	if (n <= 0)
		return NULL;
	b64 = xcalloc((size_t)n / 3 * 4 + 8);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	return b64;
}

int tok_cert_matches(const unsigned char *der, size_t len, EVP_PKEY *pub)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	int ok = x != NULL && p == der + len && X509_get0_pubkey(x) != NULL &&
		 EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1;

	X509_free(x);
	return ok;
}

void tok_random_hex(char *out, size_t n)
{
	unsigned char b[64];

	if (n > sizeof(b))
		n = sizeof(b);
	RAND_bytes(b, (int)n);
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}
