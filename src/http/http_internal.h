/* Shared between the files of src/http; not for handlers. */
#ifndef CERTDESK_HTTP_INTERNAL_H
#define CERTDESK_HTTP_INTERNAL_H
#include <microhttpd.h>
#include <time.h>

#include "http/http.h"

#define HTTP_MAX_HEADERS_ADDED 16

struct http_req {
	struct MHD_Connection *conn;
	const struct http_server_opts *opts;
	struct http_stats *stats;   /* the server's request counters (stats.h) */
	const char *method;
	char *path;
	char *body;
	size_t body_len, body_cap;
	int too_large;
	int replied;
	unsigned status;
	struct timespec start;
	const char *names[HTTP_MAX_PARAMS], *values[HTTP_MAX_PARAMS];
	int nparams;
	char parambuf[1024];
	char remote[64];      /* the client: peer address, or X-Forwarded-For from a trusted proxy */
	char request_id[24];  /* random, hex */
	const struct route *route;  /* the matched route, or NULL */
	const char *error_what;     /* what went wrong, for the log of a 5xx (http_set_error_what) */
	struct {
		char *name, *value;
	} extra[HTTP_MAX_HEADERS_ADDED];
	int nextra;
	void *user;
	void (*user_free)(void *);
};

/* Queues resp for r with the status, adding the common and extra headers; destroys resp. */
int http_queue(struct http_req *r, unsigned status, struct MHD_Response *resp);
/* Answers a GET/HEAD for the web UI from the web root; returns 0. */
int http_serve_static(struct http_req *r);
/* Finds a matched path parameter by name. */
const char *router_param(const char *const names[], const char *const values[], int n, const char *name);

#endif
