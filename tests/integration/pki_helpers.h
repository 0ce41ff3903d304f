/* Helpers of the integration tests that issue certificates through certdeskd and check them in C
 * (test_pki, test_km, test_production_agent): a CSR made with OpenSSL, SM2 verification with the
 * GM/T 0009 default ID, the CA certificates `certdesk ca init` wrote. Failures are cmocka failures. */
#ifndef CERTDESK_TEST_PKI_HELPERS_H
#define CERTDESK_TEST_PKI_HELPERS_H
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "harness.h"

#define IT_SM2_ID "1234567812345678"

/* Returns a PEM CSR for k with subject CN=cn, signed by k: SM2 with the ID and SM3, else SHA-256.
 * Caller frees. */
char *it_make_csr(EVP_PKEY *k, const char *cn);
/* Verifies x's signature with issuer's SM2 key, the ID set on x: 1 or 0. */
int it_sm2_verify(X509 *x, X509 *issuer);
/* Reads the CA certificate <s->dir>/ca-keys/<name>.crt (e.g. "sm2-issuing-1"). Caller frees. */
X509 *it_ca_cert(const struct srv *s, const char *name);

#endif
