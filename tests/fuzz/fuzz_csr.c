/* libFuzzer: the CSR decoder and checks of the CA engine (pki/csr.c) on any bytes, PEM or DER:
 * pki_csr_decode, the self-signature (SM2 with its ID), the key's algorithm, the weak-key checks and
 * the ROCA test. Checks: a decoded request re-encodes; a reason is always written for a weak key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *req = pki_csr_decode(data, size);
	EVP_PKEY *pk;
	char why[160], desc[64];
	unsigned char *der = NULL;

	if (req == NULL)
		return 0;
	if (i2d_X509_REQ(req, &der) <= 0)
		abort(); /* what decodes must encode */
	OPENSSL_free(der);
	(void)pki_csr_verify(req);
	pk = X509_REQ_get0_pubkey(req);
	if (pk != NULL) {
		BIGNUM *n = NULL;
		int alg = pki_key_alg(pk, desc, sizeof(desc));
		if (alg >= PKI_ALG_COUNT || memchr(desc, '\0', sizeof(desc)) == NULL)
			abort();
		why[0] = '\0';
		if (pki_key_check_weak(pk, why, sizeof(why)) != 0 && why[0] == '\0')
			abort(); /* a refusal always says why */
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) == 1)
			(void)pki_roca_fingerprint(n);
		BN_free(n);
	}
	X509_REQ_free(req);
	return 0;
}
