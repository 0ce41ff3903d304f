/* Issuing an order's certificate: the order and its profile decide everything in it, the CSR only
 * brings the public key (checked), certdesk-signer signs, the store keeps it once per order and kind. */
#ifndef CERTDESK_PKI_ISSUE_H
#define CERTDESK_PKI_ISSUE_H
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "store/store.h"

struct db;

/* The state an order must be in for its certificate to be issued. */
#define PKI_ISSUE_STATE "producing"

struct pki_issue_req {
	const char *order_no;
	const unsigned char *csr; /* PEM or DER PKCS#10 */
	size_t csrlen;
	const char *kind;          /* "sign", or "enc": the encryption certificate of a dual profile */
	const char *signer_socket; /* certdesk-signer's UNIX socket */
	const struct actor *actor;
	EVP_PKEY *key; /* kind "enc": the key certdesk generated (km_issue), instead of a CSR's; a
			* renewal's recertify: the old certificate's public key */
	/* Renewals (issue 15): the state the order must be in (NULL: PKI_ISSUE_STATE), no USB key being
	 * produced needed (without_key), and the end of the validity when not 0 (the old certificate's
	 * notAfter + the years paid; still capped by the CA's). */
	const char *order_state;
	int without_key;
	time_t not_after;
};

/* The keyUsage of an encryption certificate for a key of alg (enum pki_alg): RSA
 * keyEncipherment,dataEncipherment; SM2 those and keyAgreement (GM/T 0015 practice); P-256
 * keyAgreement only (RFC 5480 section 3: an id-ecPublicKey certificate MUST NOT assert
 * keyEncipherment or dataEncipherment). */
const char *pki_enc_key_usage(int alg);

/* Issues (or finds) the certificate of rq's order. Holds no pooled connection while the signer
 * works. Returns PKI_OK with *out filled (store_cert_free) and *created = 1 for a new certificate,
 * 0 when the order already had one (a retry gets the first, never a second); or an enum pki_err
 * with a detail for the log (English) in detail. */
int pki_issue(struct db *db, const struct pki_issue_req *rq, struct cert_rec *out, int *created, char *detail,
	      size_t detaillen);

/* [dev] issue_store_fault (tests only): when on, the store of each new issuance intent's certificate
 * fails once after the signature, as a crash there would; the retry signs the same TBS again. */
void pki_issue_set_store_fault(int on);

#endif
