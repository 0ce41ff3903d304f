/* Client of certdesk-signer (the only process that holds CA private keys), and the encoding of
 * its protocol (pki/signer_proto.h), shared with the signer itself. */
#ifndef CERTDESK_SIGNER_CLIENT_H
#define CERTDESK_SIGNER_CLIENT_H
#include <stddef.h>
#include <stdint.h>

#include "pki/signer_proto.h"

/* Asks the signer at socket_path to sign data (len bytes, one DER value of kind) with key key_id.
 * Returns 0 with *sig (malloc'd, caller frees) and *siglen set to the signature exactly as it goes
 * into the BIT STRING; or SIGNER_REFUSED / SIGNER_NO_KEY / SIGNER_KEY_UNAVAILABLE / SIGNER_INTERNAL
 * (positive) with the signer's reason in err; or -1 when the signer cannot be reached or breaks the
 * protocol (connect, read or write failed, 10 s passed): certdeskd answers 503 then. A request that
 * breaks the protocol's limits is refused here without connecting (SIGNER_REFUSED). err (errlen
 * bytes) always holds a printable ASCII message on a non-zero return. */
int signer_sign(const char *socket_path, const char *key_id, int kind, const unsigned char *data, size_t len,
		unsigned char **sig, size_t *siglen, char *err, size_t errlen);

/* Returns 1 when id (len bytes) is a valid key id, [a-z0-9-]{1,40}, else 0. */
int signer_key_id_valid(const char *id, size_t len);
/* Returns the English name of a status ("ok", "refused", "no_key", "key_unavailable", "internal"). */
const char *signer_status_name(int status);

/* Writes a request head into out (SIGNER_REQ_HEAD_LEN bytes); returns 0, or -1 when kind,
 * key_id_len or data_len is out of the protocol's limits. */
int signer_req_head_encode(unsigned char out[SIGNER_REQ_HEAD_LEN], int kind, size_t key_id_len,
			   size_t data_len);
/* Decodes a request head; returns 0, or -1 with a short reason in *why when the magic, kind,
 * key_id_len or data_len breaks the protocol. */
int signer_req_head_decode(const unsigned char in[SIGNER_REQ_HEAD_LEN], struct signer_req_head *h,
			   const char **why);
/* Writes a reply head into out (SIGNER_REP_HEAD_LEN bytes); returns 0, or -1 when status or len
 * is out of limits. */
int signer_rep_head_encode(unsigned char out[SIGNER_REP_HEAD_LEN], int status, size_t len);
/* Decodes a reply head; returns 0, or -1 when the magic, status or len breaks the protocol
 * (an OK reply carries at least one byte). */
int signer_rep_head_decode(const unsigned char in[SIGNER_REP_HEAD_LEN], struct signer_rep_head *h);

/* Milliseconds of a monotonic clock. */
int64_t signer_now_ms(void);
/* Reads exactly len bytes from fd before deadline_ms (signer_now_ms() time); returns 0, or -1
 * on end of file, error or timeout. fd may be blocking or not. */
int signer_read_full(int fd, void *buf, size_t len, int64_t deadline_ms);
/* Writes exactly len bytes to fd before deadline_ms (no SIGPIPE); returns 0 or -1. */
int signer_write_full(int fd, const void *buf, size_t len, int64_t deadline_ms);

#endif
