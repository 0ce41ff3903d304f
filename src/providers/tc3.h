/* Tencent Cloud API 3.0 request signing (TC3-HMAC-SHA256), for POST requests with a JSON body and
 * the signed headers "content-type;host" (content type "application/json; charset=utf-8"). Used by
 * the face-verification adapter and the SMS adapter, and by certdesk-sim to check what it receives. */
#ifndef CERTDESK_PROVIDERS_TC3_H
#define CERTDESK_PROVIDERS_TC3_H
#include <stddef.h>

/* The content type the signature covers: send exactly this Content-Type header. */
#define TC3_CONTENT_TYPE "application/json; charset=utf-8"
/* Enough for any Authorization value tc3_authorization writes with a SecretId up to 128 bytes. */
#define TC3_AUTH_MAX 384

enum tc3_status {
	TC3_OK = 0,
	TC3_MALFORMED = -1, /* not a TC3-HMAC-SHA256 header of the supported shape, or bad arguments */
	TC3_WRONG_ID = -2,  /* the Credential names another SecretId */
	TC3_SKEW = -3,      /* the timestamp is further from now than allowed */
	TC3_BAD_SIGNATURE = -4,
};

/* Writes the Authorization header value for a POST of payload to host (the Host header as sent),
 * signed with secret_key for service ("faceid", "sms") at timestamp (Unix seconds; the credential
 * date is its UTC date) into out (outlen bytes, TC3_AUTH_MAX is enough). Returns TC3_OK, or
 * TC3_MALFORMED for an argument that cannot be signed (empty, control characters, a timestamp
 * before 1970, out too small). Derived keys are wiped before returning. */
int tc3_authorization(const char *secret_id, const char *secret_key, const char *service, const char *host,
		      const char *payload, long long timestamp, char *out, size_t outlen);

/* Checks an Authorization header received for a POST of payload with the given Host header and
 * X-TC-Timestamp: the SecretId must be secret_id, |now - timestamp| at most max_skew_s, the
 * credential date the UTC date of timestamp, and the signature (compared in constant time) the one
 * secret_key gives for the service named in the credential. Returns an enum tc3_status. */
int tc3_verify(const char *authorization_header, const char *secret_id, const char *secret_key,
	       const char *host, const char *payload, long long timestamp, long long now, int max_skew_s);

#endif
