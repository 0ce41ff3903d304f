/* httpc.h over the libcurl easy interface. */
#include "providers/httpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

struct transfer {
	struct httpc_reply *rp;
	size_t max_reply;
	struct httpc_capture *capture;
	int ncapture;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl write callback: keeps up to max_reply bytes, then stops the transfer. */
static size_t on_data(char *data, size_t size, size_t n, void *user)
{
	struct transfer *t = user;
	struct httpc_reply *rp = t->rp;
	size_t add = size * n;

	if (rp->len + add > t->max_reply) {
		rp->too_long = 1;
		return 0;
	}
	rp->body = xrealloc(rp->body, rp->len + add + 1);
	memcpy(rp->body + rp->len, data, add);
	rp->len += add;
	rp->body[rp->len] = '\0';
	return add;
}

/* Copies the value of header line h (len bytes) into c when it is c's header; returns 1 then. */
static int capture_one(const char *h, size_t len, struct httpc_capture *c)
{
	size_t nl = strlen(c->name), vl;

	if (len <= nl || strncasecmp(h, c->name, nl) != 0 || h[nl] != ':')
		return 0;
	h += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*h == ' ' || *h == '\t'))
		h++, len--;
	while (len > 0 && (h[len - 1] == '\r' || h[len - 1] == '\n' || h[len - 1] == ' '))
		len--;
	vl = len < c->size ? len : 0; /* a value too long for its buffer is as good as absent */
	memcpy(c->value, h, vl);
	c->value[vl] = '\0';
	return 1;
}

/* libcurl header callback: a status line starts a response (after a redirect or a 100), whose
 * headers replace what earlier responses gave. */
static size_t on_header(char *h, size_t size, size_t n, void *user)
{
	struct transfer *t = user;
	size_t len = size * n;

	for (int i = 0; i < t->ncapture; i++) {
		if (len >= 5 && strncmp(h, "HTTP/", 5) == 0)
			t->capture[i].value[0] = '\0';
		else if (capture_one(h, len, &t->capture[i]))
			break;
	}
	return len;
}

int httpc_send(const char *method, const char *url, struct curl_slist *headers, const char *body,
	       int timeout_s, size_t max_reply, struct httpc_capture *capture, int ncapture,
	       struct httpc_reply *rp, char *err, size_t errlen)
{
	struct transfer t = {rp, max_reply, capture, ncapture};
	CURLcode cc;
	CURL *c;

	memset(rp, 0, sizeof(*rp));
	rp->body = xcalloc(1);
	for (int i = 0; i < ncapture; i++)
		capture[i].value[0] = '\0';
	pthread_once(&curl_once, curl_init_once);
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rp->status);
	curl_easy_cleanup(c);
	if (rp->too_long) {
		snprintf(err, errlen, "reply longer than %zu bytes", max_reply);
		return -1;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		return -1;
	}
	return 0;
}
