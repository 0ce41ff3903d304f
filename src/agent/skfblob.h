/* The SKF blobs as OpenSSL objects, independent of the ULONG width (the caller reads BitLen):
 * ECCPUBLICKEYBLOB <-> SM2 SubjectPublicKeyInfo, ECCSIGNATUREBLOB <-> DER SEQUENCE{r, s}, and the SM2
 * digest e = SM3(Z || M) for the GM/T 0009 default ID that SKF_ECCSignData expects. Values of 256 bits
 * sit right-aligned in 64-byte fields; a blob whose first 32 bytes of a field are not zero is refused. */
#ifndef CERTDESK_AGENT_SKFBLOB_H
#define CERTDESK_AGENT_SKFBLOB_H
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define SKFB_FIELD 64
#define SKFB_SM2_ID "1234567812345678"
#define SKFB_SM2_ID_LEN 16

/* Returns the SM2 public key of the blob's fields (bitlen must be 256), caller frees, or NULL. */
EVP_PKEY *skfb_pub_to_pkey(unsigned long bitlen, const uint8_t x[SKFB_FIELD], const uint8_t y[SKFB_FIELD]);
/* Writes the DER SubjectPublicKeyInfo of the blob's key into *der (caller frees). Returns 0 or -1. */
int skfb_pub_to_spki(unsigned long bitlen, const uint8_t x[SKFB_FIELD], const uint8_t y[SKFB_FIELD],
		     unsigned char **der, size_t *len);
/* Fills the blob fields (right-aligned, *bitlen = 256) from an SM2 SubjectPublicKeyInfo. Returns 0 or -1. */
int skfb_spki_to_pub(const unsigned char *der, size_t len, unsigned long *bitlen, uint8_t x[SKFB_FIELD],
		     uint8_t y[SKFB_FIELD]);
/* Writes the 32-byte coordinates of an EC/SM2 public key. Returns 0 or -1. */
int skfb_pkey_xy(EVP_PKEY *pk, uint8_t x[32], uint8_t y[32]);
/* Writes DER SEQUENCE{r, s} of an ECCSIGNATUREBLOB into *der (caller frees). Returns 0 or -1. */
int skfb_sig_to_der(const uint8_t r[SKFB_FIELD], const uint8_t s[SKFB_FIELD], unsigned char **der,
		    size_t *len);
/* Fills r and s (right-aligned) from a DER ECDSA/SM2 signature. Returns 0 or -1. */
int skfb_der_to_sig(const unsigned char *der, size_t len, uint8_t r[SKFB_FIELD], uint8_t s[SKFB_FIELD]);
/* Converts a raw r||s of 2*n bytes (PKCS#11 CKM_ECDSA) into DER (caller frees). Returns 0 or -1. */
int skfb_raw_to_der(const unsigned char *rs, size_t n2, unsigned char **der, size_t *len);
/* Computes e = SM3(Z || msg) with Z for the default ID and the public key (x, y). Returns 0 or -1. */
int skfb_sm2_e(const uint8_t x[32], const uint8_t y[32], const unsigned char *msg, size_t len, uint8_t e[32]);

#endif
