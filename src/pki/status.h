/* What the CA says about its certificates after issuing them: revocation reasons, CRLs and OCSP
 * responses (RFC 5280, RFC 6960). The CRL's TBSCertList and the OCSP ResponseData are built here
 * and signed by certdesk-signer (the CA key and the OCSP responder key never come here). */
#ifndef CERTDESK_PKI_STATUS_H
#define CERTDESK_PKI_STATUS_H
#include <stddef.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

/* --- revocation reasons (RFC 5280 5.3.1) --- */

/* Returns the CRLReason code of name ("keyCompromise", ...), or -1 for a name that is not one an
 * admin may give (certificateHold and removeFromCRL are not used: revocation is final). */
int pki_reason_code(const char *name);
/* Returns the Chinese label of a reason name (for the console), or the name itself. */
const char *pki_reason_label(const char *name);

/* Verifies sig over the DER tbs with public key pk: SHA-256 (RSA PKCS#1 v1.5, ECDSA) or SM3 with the
 * SM2 ID for an SM2 key. Returns 1 when it verifies, 0 otherwise. */
int pki_tbs_verify(EVP_PKEY *pk, const unsigned char *tbs, size_t tbslen, const unsigned char *sig, size_t siglen);

/* --- CRLs (crl.c) --- */

struct pki_revoked {
	const char *serial_hex; /* upper-case hex */
	time_t when;
	int reason; /* CRLReason code; 0 (unspecified) is written without the extension */
};

/* Builds the TBSCertList of ca's CRL number with the revoked entries, valid from this_update to
 * next_update, with its real signature AlgorithmIdentifier (a throwaway-key signature writes it).
 * Returns the CRL (caller frees) or NULL with the reason in err. */
X509_CRL *pki_crl_build(X509 *ca, long number, time_t this_update, time_t next_update,
			const struct pki_revoked *revoked, size_t n, char *err, size_t errlen);
/* Has the CRL's TBSCertList signed by key_id through the signer at socket_path and returns the
 * CertificateList DER (caller frees) in *der, after checking the signature with ca's public key.
 * Returns 0, a SIGNER_* status (> 0) or -1 (signer unreachable), with err. */
int pki_crl_sign(X509_CRL *crl, X509 *ca, const char *socket_path, const char *key_id, unsigned char **der,
		 size_t *derlen, char *err, size_t errlen);

/* --- OCSP (ocsp.c) --- */

enum pki_ocsp_status { PKI_OCSP_GOOD, PKI_OCSP_REVOKED, PKI_OCSP_UNKNOWN };

/* One answer about one certificate: its CertID as asked (or as we compute it), its status. */
struct pki_ocsp_answer {
	const OCSP_CERTID *id;
	int status;    /* enum pki_ocsp_status */
	time_t revoked_at;
	int reason;    /* CRLReason, -1: none */
	time_t this_update, next_update;
};

/* Parses a DER OCSPRequest holding exactly one request (RFC 5019's lightweight profile). Returns
 * the request's CertID (caller frees) or NULL. */
OCSP_CERTID *pki_ocsp_request_id(const unsigned char *der, size_t len);
/* Returns the CertID of the certificate with serial_hex issued by ca, hashed with md (EVP_sha1()
 * for pre-signed responses). Caller frees; NULL on error. */
OCSP_CERTID *pki_ocsp_id(X509 *ca, const char *serial_hex, const EVP_MD *md);
/* Writes the serial of id as upper-case hex (how certificates are stored) into out. Returns 0/-1. */
int pki_ocsp_id_serial(const OCSP_CERTID *id, char out[48]);
/* Returns 1 when id names a certificate of CA ca (issuer name and key hashes match), else 0. */
int pki_ocsp_id_issued_by(const OCSP_CERTID *id, X509 *ca);
/* Builds, has signed by the responder (key_id, certificate responder) and returns the DER
 * OCSPResponse (successful, basic) for answer a in *der (caller frees). Returns 0, a SIGNER_*
 * status or -1 with err. */
int pki_ocsp_sign(const struct pki_ocsp_answer *a, X509 *responder, const char *socket_path, const char *key_id,
		  unsigned char **der, size_t *derlen, char *err, size_t errlen);
/* Writes the DER of an unsuccessful OCSPResponse with status (1 malformedRequest, 2 internalError,
 * 3 tryLater, 6 unauthorized) into out (5 bytes). Returns its length. */
size_t pki_ocsp_error(int status, unsigned char out[5]);

#endif
