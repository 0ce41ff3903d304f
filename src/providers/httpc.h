/* One HTTP exchange with an outside service over libcurl, shared by the adapters (Tencent Cloud API,
 * WeChat Pay, Alipay, SF Express): http(s) only, no signals, one time limit for the whole call, the
 * reply body kept up to a bound, chosen headers of the final response copied out. Signing, headers
 * and the reading of replies stay with each adapter. Thread-safe; never logs. */
#ifndef CERTDESK_PROVIDERS_HTTPC_H
#define CERTDESK_PROVIDERS_HTTPC_H
#include <curl/curl.h>
#include <stddef.h>

struct httpc_reply {
	char *body;   /* NUL-terminated; free() it (also after a failure) */
	size_t len;   /* bytes in body, the NUL not counted */
	long status;  /* HTTP status of the final response; 0 when none came */
	int too_long; /* the body went beyond max_reply: the transfer was cut */
};

/* A response header to copy: name (case-insensitive) and where its value goes (size bytes; a value
 * that does not fit, or an absent header, gives ""). */
struct httpc_capture {
	const char *name;
	char *value;
	size_t size;
};

/* Sends method ("GET", "POST") to url with headers (may be NULL) and body (NULL: none) within
 * timeout_s seconds, connection included; keeps at most max_reply bytes of the reply body and fills
 * the ncapture captures from the final response's headers. Returns 0 when a whole answer came,
 * whatever its status; -1 with a short reason in err (errlen bytes) when none did (transport,
 * time-out) or it was longer than max_reply (rp->too_long). rp is filled either way. */
int httpc_send(const char *method, const char *url, struct curl_slist *headers, const char *body,
	       int timeout_s, size_t max_reply, struct httpc_capture *capture, int ncapture,
	       struct httpc_reply *rp, char *err, size_t errlen);

#endif
