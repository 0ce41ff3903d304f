/* Tencent Cloud API 3.0 transport: sign, POST with libcurl, unwrap "Response". */
#include "providers/tcapi.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/httpc.h"
#include "providers/tc3.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* Writes into host (size bytes) the host[:port] of an http(s) URL; returns 0, or -1 when the URL
 * is not http(s), has user information, or no host. */
static int url_host(const char *url, char *host, size_t size)
{
	const char *s;
	size_t len;

	if (strncmp(url, "https://", 8) == 0)
		s = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		s = url + 7;
	else
		return -1;
	len = strcspn(s, "/?#");
	if (len == 0 || len >= size || memchr(s, '@', len) != NULL)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	return 0;
}

/* Builds the request headers; returns the list (caller frees) or NULL when the request cannot be
 * signed. */
static struct curl_slist *headers(const struct tcapi *t, const char *service, const char *action,
				  const char *version, const char *host, const char *payload)
{
	char line[TC3_AUTH_MAX + 32], auth[TC3_AUTH_MAX];
	long long now = (long long)time(NULL);
	struct curl_slist *h = NULL;

	if (tc3_authorization(t->secret_id, t->secret_key, service, host, payload, now, auth, sizeof(auth)) !=
	    0)
		return NULL;
	h = curl_slist_append(h, "Content-Type: " TC3_CONTENT_TYPE);
	snprintf(line, sizeof(line), "Host: %s", host);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-TC-Action: %s", action);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-TC-Version: %s", version);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-TC-Timestamp: %lld", now);
	h = curl_slist_append(h, line);
	if (t->region != NULL && t->region[0] != '\0' && !str_has_control(t->region)) {
		snprintf(line, sizeof(line), "X-TC-Region: %s", t->region);
		h = curl_slist_append(h, line);
	}
	snprintf(line, sizeof(line), "Authorization: %s", auth);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	return h;
}

/* Unwraps the reply body: TCAPI_OK with *response, TCAPI_ERROR with code, or TCAPI_BAD_REPLY. */
static int unwrap(const struct httpc_reply *b, json_t **response, char *code, size_t codelen, char *detail,
		  size_t detaillen)
{
	json_t *root = json_loadb(b->body, b->len, JSON_REJECT_DUPLICATES, NULL);
	json_t *resp = json_object_get(root, "Response"), *e;
	int rc = TCAPI_BAD_REPLY;

	if (!json_is_object(resp)) {
		snprintf(detail, detaillen, "reply without a Response object");
	} else if ((e = json_object_get(resp, "Error")) != NULL) {
		const char *c = json_string_value(json_object_get(e, "Code"));
		const char *m = json_string_value(json_object_get(e, "Message"));
		str_copy(code, c != NULL ? c : "UnknownError", codelen);
		snprintf(detail, detaillen, "%s: %.150s", code, m != NULL ? m : "");
		rc = TCAPI_ERROR;
	} else {
		*response = json_incref(resp);
		snprintf(detail, detaillen, "ok");
		rc = TCAPI_OK;
	}
	json_decref(root);
	return rc;
}

int tcapi_call(const struct tcapi *t, const char *service, const char *action, const char *version,
	       const char *payload, json_t **response, char *code, size_t codelen, char *detail,
	       size_t detaillen)
{
	struct httpc_reply b = {0};
	struct curl_slist *hl = NULL;
	char host[256], *url = NULL;
	int rc = TCAPI_TRANSPORT;

	*response = NULL;
	str_copy(code, "", codelen);
	if (t->endpoint == NULL || url_host(t->endpoint, host, sizeof(host)) != 0) {
		snprintf(detail, detaillen, "endpoint is not an http(s) URL with a host");
		goto out;
	}
	if (t->host != NULL && t->host[0] != '\0')
		str_copy(host, t->host, sizeof(host));
	if ((hl = headers(t, service, action, version, host, payload)) == NULL) {
		snprintf(detail, detaillen, "request cannot be signed (check secret_id, secret_key, host)");
		goto out;
	}
	url = xasprintf("%s%s", t->endpoint, t->endpoint[strlen(t->endpoint) - 1] == '/' ? "" : "/");
	if (httpc_send("POST", url, hl, payload, t->timeout_s, TCAPI_MAX_REPLY, NULL, 0, &b, detail,
		       detaillen) != 0) {
		if (b.too_long)
			rc = TCAPI_BAD_REPLY;
		goto out;
	}
	rc = TCAPI_BAD_REPLY;
	if (b.status != 200)
		snprintf(detail, detaillen, "HTTP status %ld", b.status);
	else
		rc = unwrap(&b, response, code, codelen, detail, detaillen);
out:
	curl_slist_free_all(hl);
	free(url);
	free(b.body);
	return rc;
}
