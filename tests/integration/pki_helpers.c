/* Shared helpers of the issuing integration tests (pki_helpers.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki_helpers.h"

char *it_make_csr(EVP_PKEY *k, const char *cn)
{
	X509_REQ *req = X509_REQ_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	int sm2 = EVP_PKEY_is_a(k, "SM2");
	char *p, *out;
	long n;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	if (sm2) /* the signature's Z is computed for the ID, as the USB keys do */
		assert_true(EVP_PKEY_CTX_set1_id(pctx, IT_SM2_ID, strlen(IT_SM2_ID)) > 0);
	EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	assert_int_equal(EVP_DigestSignInit(mctx, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, k), 1);
	assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
	PEM_write_bio_X509_REQ(b, req);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, p, (size_t)n);
	BIO_free(b);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	X509_REQ_free(req);
	return out;
}

int it_sm2_verify(X509 *x, X509 *issuer)
{
	ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();

	ASN1_OCTET_STRING_set(id, (const unsigned char *)IT_SM2_ID, (int)strlen(IT_SM2_ID));
	X509_set0_distinguishing_id(x, id);
	return X509_verify(x, X509_get0_pubkey(issuer)) == 1;
}

X509 *it_ca_cert(const struct srv *s, const char *name)
{
	char path[400];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/ca-keys/%s.crt", s->dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}
