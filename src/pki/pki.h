/* The CA engine's pure parts (OpenSSL 3 libcrypto): key algorithms, CSR checks, the TBSCertificate
 * built from an order and its profile, the final certificate, and the errors issuance answers with.
 * Nothing here holds a CA private key: certificates are signed by certdesk-signer (signer_client.h);
 * only the key ceremony (ca_init.c, run by the CLI) creates CA keys and writes them for the signer. */
#ifndef CERTDESK_PKI_H
#define CERTDESK_PKI_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct cert_profile_rec;

/* The GM/T 0009 default distinguishing ID: set explicitly on every SM2 signature and verification,
 * because OpenSSL 3.0 uses an empty ID otherwise (and 4.0 this one). */
#define PKI_SM2_ID "1234567812345678"
#define PKI_SM2_ID_LEN 16

enum pki_alg { PKI_ALG_RSA2048 = 0, PKI_ALG_RSA3072, PKI_ALG_P256, PKI_ALG_SM2, PKI_ALG_COUNT };

/* Returns "rsa2048", "rsa3072", "p256", "sm2" (or "?"). */
const char *pki_alg_name(int alg);
/* Returns the enum pki_alg of name, or -1. */
int pki_alg_from_name(const char *name);
/* Returns the algorithm of public key pk (type, size, curve), or -1 for any other key; *desc (may be
 * NULL) gets a short description such as "RSA-1024" or "EC secp384r1" (static or into buf). */
int pki_key_alg(const EVP_PKEY *pk, char *desc, size_t desclen);
/* Generates a key of alg. Returns it (caller frees) or NULL. */
EVP_PKEY *pki_key_generate(int alg);
/* Signs x with key: SHA-256 (RSA PKCS#1 v1.5, ECDSA) or SM3 with the SM2 ID. Returns 0 or -1. */
int pki_x509_sign(X509 *x, EVP_PKEY *key);
/* Verifies x's signature with the issuer's public key (the SM2 ID set for SM2). Returns 1 when it
 * verifies, 0 otherwise. */
int pki_x509_verify(X509 *x, EVP_PKEY *issuer_key);
/* Writes the hex SHA-256 of pk's DER SubjectPublicKeyInfo into out. Returns 0 or -1. */
int pki_spki_sha256(const EVP_PKEY *pk, char out[65]);
/* Writes t as RFC 3339 UTC ("YYYY-MM-DDTHH:MM:SSZ") into out (32 bytes). Returns 0 or -1. */
int pki_asn1_time_text(const ASN1_TIME *t, char out[32]);
/* Writes name as one line (RFC 2253 order reversed to the usual C=..., UTF-8 kept) into out. */
void pki_name_text(const X509_NAME *name, char *out, size_t len);
/* Base64 of len bytes (caller frees), and back (caller frees; NULL on bad input). */
char *pki_b64_encode(const unsigned char *data, size_t len);
unsigned char *pki_b64_decode(const char *text, size_t *len);
/* Parses a certificate stored as base64 DER. Returns it (caller frees) or NULL. */
X509 *pki_cert_from_b64(const char *b64);
/* The parsed certificate of CA key_id whose stored text is der_b64, from a process-wide cache
 * (parsed and kept on first use). Returns a new reference (X509_free it) or NULL. */
X509 *pki_ca_cert(const char *key_id, const char *der_b64);
/* The cached certificate of CA key_id if it was parsed before (a new reference), or NULL. */
X509 *pki_ca_cert_cached(const char *key_id);

/* --- errors of issuance: stable codes for the API --- */
enum pki_err {
	PKI_OK = 0,
	PKI_CSR_INVALID,        /* not a PKCS#10 request (PEM or DER) */
	PKI_CSR_BAD_SIGNATURE,  /* the request's signature does not verify */
	PKI_CSR_KEY_MISMATCH,   /* the key's type, size or curve is not one the profile takes */
	PKI_KEY_WEAK,           /* RSA < 2048, bad exponent, ROCA fingerprint, bad EC point */
	PKI_KEY_REUSED,         /* the key is certified for another organisation */
	PKI_ORDER_NOT_FOUND,    /* no such order */
	PKI_ORDER_STATE,        /* the order is not in production */
	PKI_NO_PROFILE,         /* the project has no certificate profile for the key type */
	PKI_CA_MISSING,         /* the profile's issuing CA is not recorded */
	PKI_LINT,               /* the certificate failed a pre-issuance lint */
	PKI_SIGNER_UNAVAILABLE, /* the signer cannot be reached, or its key is unavailable: retry */
	PKI_SIGNER_REFUSED,     /* the signer refused to sign */
	PKI_CA_KEY_UNAVAILABLE, /* the signer lacks the CA's key or its token: retry once fixed */
	PKI_PRODUCTION_NOT_STARTED, /* the order has no USB key being produced (POST .../production) */
	PKI_INTERNAL,
};

/* Returns the stable error code ("csr_bad_signature", ...), its Chinese message, and the HTTP
 * status it is answered with. */
const char *pki_err_code(int e);
const char *pki_err_message(int e);
unsigned pki_err_status(int e);

/* --- CSRs (csr.c) --- */

/* Decodes a PKCS#10 request in PEM or DER (len bytes, at most 64 KiB). Returns it (caller frees)
 * or NULL. */
X509_REQ *pki_csr_decode(const unsigned char *data, size_t len);
/* Verifies the request's self-signature (the SM2 ID set for an SM2 key). Returns 1 or 0. */
int pki_csr_verify(X509_REQ *req);
/* Checks a public key for known weaknesses: RSA modulus under 2048 bits, an even, small (< 65537)
 * or huge exponent, a ROCA-fingerprinted modulus; an EC key off its curve. Returns 0 when none,
 * else PKI_KEY_WEAK with the reason (English) in why. */
int pki_key_check_weak(const EVP_PKEY *pk, char *why, size_t whylen);
/* Returns 1 when the RSA modulus n has the fingerprint of keys made by Infineon's RSALib
 * (ROCA, CVE-2017-15361: n mod p lies in the subgroup generated by 65537 for every small prime p
 * of the test), else 0. */
int pki_roca_fingerprint(const BIGNUM *n);

/* --- TBSCertificate and certificate (tbs.c) --- */

/* What a certificate is made of; everything comes from the order and the profile. */
struct pki_tbs_in {
	const struct cert_profile_rec *profile;
	X509 *ca;                 /* the issuing CA's certificate */
	EVP_PKEY *subject_key;    /* the CSR's public key */
	const char *org_name;     /* the organisation's registered name */
	const char *uscc;         /* its unified social credit code */
	int years;                /* years paid (1..9) */
	time_t now;
	time_t not_after;         /* when not 0: the end of the validity (a renewal), else from years */
	const unsigned char *serial; /* PKI_SERIAL_LEN bytes (pki_serial_new) */
};
#define PKI_SERIAL_LEN 16

/* Writes a fresh serial: 16 bytes from the CSPRNG with the top bit cleared (a positive INTEGER of
 * 127 random bits) and never zero. Returns 0 or -1. */
int pki_serial_new(unsigned char out[PKI_SERIAL_LEN]);
/* Writes the serial as upper-case hex without leading zeros (how it is stored) into out. */
void pki_serial_hex(const unsigned char serial[PKI_SERIAL_LEN], char out[48]);
/* Expands the profile's subject template ("C=CN,ST=江西省,O={org_name},serialNumber={uscc}") into
 * a name. Returns it (caller frees), or NULL when the template is malformed. */
X509_NAME *pki_subject_from_template(const char *tmpl, const char *org_name, const char *uscc);
/* Builds the certificate of in, signed with a throwaway key of the CA's algorithm so that its
 * signature AlgorithmIdentifier is the real one (and lints can read a whole certificate). Returns it
 * (caller frees) or NULL with the reason in err. */
X509 *pki_tbs_build(const struct pki_tbs_in *in, char *err, size_t errlen);
/* Returns the throwaway key of alg (generated once per process, shared; do not free), or NULL. */
EVP_PKEY *pki_throwaway_key(int alg);
/* Encodes x's TBSCertificate and its signature AlgorithmIdentifier (both caller frees). Returns 0
 * or -1. */
int pki_tbs_encode(X509 *x, unsigned char **tbs, size_t *tbslen, unsigned char **alg, size_t *alglen);
/* Assembles Certificate ::= SEQUENCE { tbs, alg, BIT STRING sig }. Returns 0 with *der (caller
 * frees) or -1. */
int pki_cert_assemble(const unsigned char *tbs, size_t tbslen, const unsigned char *alg, size_t alglen,
		      const unsigned char *sig, size_t siglen, unsigned char **der, size_t *derlen);

#endif
