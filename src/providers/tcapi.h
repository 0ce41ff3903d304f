/* One call to a Tencent Cloud API 3.0 endpoint: a signed JSON POST (TC3-HMAC-SHA256, providers/tc3.h)
 * with the X-TC-* headers, over libcurl with a time limit, and the "Response" object of the reply.
 * Shared by the face-verification and SMS adapters. Never logs; thread-safe. */
#ifndef CERTDESK_PROVIDERS_TCAPI_H
#define CERTDESK_PROVIDERS_TCAPI_H
#include <jansson.h>
#include <stddef.h>

struct tcapi {
	const char *endpoint;   /* http(s)://host[:port][/path]; the request goes to <endpoint>/ */
	const char *host;       /* Host header sent and signed; NULL or "": the endpoint's host[:port] */
	const char *secret_id;  /* SecretId */
	const char *secret_key; /* SecretKey: only ever used to sign */
	const char *region;     /* X-TC-Region; NULL or "": not sent */
	int timeout_s;          /* for the whole call */
};

enum tcapi_status {
	TCAPI_OK = 0,
	TCAPI_TRANSPORT = -1, /* no answer: bad endpoint, connection refused, time-out, TLS */
	TCAPI_BAD_REPLY = -2, /* an answer that is not a 200 with {"Response":{...}} */
	TCAPI_ERROR = -3,     /* {"Response":{"Error":{"Code","Message"}}} */
};

/* The largest reply read; anything longer is a TCAPI_BAD_REPLY. */
#define TCAPI_MAX_REPLY (1 << 20)

/* Posts payload (a JSON text) as action of version to the endpoint, signed for service (the first
 * label of the real host name, e.g. "faceid"). Returns TCAPI_OK with *response set to the
 * Response object (a new reference, caller decrefs), or another enum tcapi_status with *response
 * NULL; for TCAPI_ERROR code holds Error.Code (codelen bytes). detail (detaillen bytes) always
 * gets a short technical description for logs: curl's message, the HTTP status, the error code
 * and message; never a secret. */
int tcapi_call(const struct tcapi *t, const char *service, const char *action, const char *version,
	       const char *payload, json_t **response, char *code, size_t codelen, char *detail,
	       size_t detaillen);

#endif
