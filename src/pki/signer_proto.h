/* The wire protocol between certdesk and certdesk-signer (issue 12; /work/briefs/pki-contract.md).
 * One request per connection over a UNIX stream socket, every integer big-endian, exact lengths:
 *   request: "CDS1" | u8 kind | u8 key_id_len | u32 data_len | key_id | data
 *   reply:   "CDS1" | u8 status | u32 len | bytes
 * A request that breaks a limit below is answered SIGNER_REFUSED ("bad request: ...") and the
 * connection closed; a peer never makes either side read more than these limits. */
#ifndef CERTDESK_SIGNER_PROTO_H
#define CERTDESK_SIGNER_PROTO_H
#include <stddef.h>
#include <stdint.h>

#define SIGNER_MAGIC "CDS1"
#define SIGNER_MAGIC_LEN 4
#define SIGNER_REQ_HEAD_LEN 10 /* magic, kind, key_id_len, data_len */
#define SIGNER_REP_HEAD_LEN 9  /* magic, status, len */
#define SIGNER_MAX_DATA 65536  /* largest data_len of a request */
#define SIGNER_MAX_KEY_ID 40   /* key ids are [a-z0-9-]{1,40} */
/* Largest reply body: an RSA-8192 signature is 1024 bytes, a reason a few hundred. */
#define SIGNER_MAX_REPLY 4096
#define SIGNER_IO_TIMEOUT_MS 10000 /* whole exchange, either side */

/* What is being signed: each kind is parsed and checked by the signer before it signs. */
enum signer_kind {
	SIGNER_KIND_TBS_CERT = 1, /* TBSCertificate (RFC 5280), end-entity only */
	SIGNER_KIND_TBS_CRL = 2,  /* TBSCertList (RFC 5280) */
	SIGNER_KIND_OCSP = 3,     /* OCSP ResponseData (RFC 6960) */
	SIGNER_KIND_SEAL = 4,     /* an electronic seal's signed part (GB/T 38540) */
};
#define SIGNER_KIND_MIN 1
#define SIGNER_KIND_MAX 4

/* Reply status; signer_sign() returns the same positive numbers. */
enum signer_status {
	SIGNER_OK = 0,              /* bytes: the signature as it goes into the BIT STRING */
	SIGNER_REFUSED = 1,         /* bytes: UTF-8 reason (English, for logs) */
	SIGNER_NO_KEY = 2,          /* the signer holds no key of that id */
	SIGNER_KEY_UNAVAILABLE = 3, /* token removed, PIN wrong, ...: may work on a later try */
	SIGNER_INTERNAL = 4,        /* the signer failed (or is busy) */
};
#define SIGNER_STATUS_MAX 4

/* A request's head, decoded. */
struct signer_req_head {
	int kind;
	size_t key_id_len;
	size_t data_len;
};

/* A reply's head, decoded. */
struct signer_rep_head {
	int status;
	size_t len;
};

#endif
