/* Helpers shared by the files of src/km (not for other modules). */
#ifndef CERTDESK_KM_INT_H
#define CERTDESK_KM_INT_H
#include <stddef.h>

#include <openssl/evp.h>

/* Returns pk's private key as PKCS#8 PrivateKeyInfo DER (caller wipes and frees with
 * km_secret_free), or NULL. */
unsigned char *km_pkcs8_der(EVP_PKEY *pk, size_t *len);
/* Parses PKCS#8 DER. Returns the key (caller frees) or NULL. */
EVP_PKEY *km_pkcs8_parse(const unsigned char *der, size_t len);
/* Wipes len bytes of p and frees it (NULL is fine). */
void km_secret_free(unsigned char *p, size_t len);

#endif
