/* Keeping what the CA publishes current: each CA's CRL (made again every crl_interval_s, and at once
 * after a revocation) and a pre-signed OCSP response for every valid certificate (refreshed at half
 * its validity, and at once after a revocation). certdeskd runs pki_publish_pass as a background
 * job; it holds no pooled connection while certdesk-signer signs. */
#ifndef CERTDESK_PKI_PUBLISH_H
#define CERTDESK_PKI_PUBLISH_H
#include <stdatomic.h>
#include <stddef.h>

struct db;

struct pki_publisher {
	struct db *db;
	const char *signer_socket;
	int crl_interval_s;  /* a CRL is made at least this often; it is valid for twice as long */
	int ocsp_validity_s; /* an OCSP response is valid this long, and refreshed at half of it */
};

/* Makes and records a new CRL of CA ca_key_id. Returns 0, a SIGNER_* status (> 0) or -1 (signer
 * unreachable, database error) with err. */
int pki_publish_crl(const struct pki_publisher *p, const char *ca_key_id, char *err, size_t errlen);
/* Signs and records the OCSP response of certificate serial as it stands now. Returns as above. */
int pki_publish_ocsp(const struct pki_publisher *p, const char *serial, char *err, size_t errlen);
/* One pass of the job (util/periodic.h): due CRLs, then a batch of due OCSP responses. */
/* An issuance intent still being signed a day after it was made, and held by no request, was not
 * retried (the producer made the key another way, or the order ended): pki_publish_pass closes it
 * abandoned, so its serial goes on the CRL. */
#define INTENT_STALE_S (24 * 3600)

int pki_publish_pass(void *arg, const atomic_int *stop);

#endif
