/* HTTP transport on libmicrohttpd: a server with a route table, request bodies with a size limit,
 * JSON replies and errors in one shape, static files for the web UI, a JSON-lines access log and
 * a graceful stop. Used by certdeskd and certdesk-sim. Handlers never see libmicrohttpd types. */
#ifndef CERTDESK_HTTP_H
#define CERTDESK_HTTP_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct http_req;

/* A handler answers the request with one of the http_reply_* calls and returns 0, or returns
 * -1 without replying to get a generic 500 error. */
typedef int (*http_handler)(struct http_req *r);

struct route {
	const char *method;  /* GET, POST, PUT, PATCH, DELETE */
	const char *pattern; /* "/api/v1/orders/{order_no}": {name} matches one path segment;
			      * a trailing "*" matches a non-empty rest of the path */
	http_handler fn;
	unsigned access; /* who may call it: opaque here, interpreted by the server's before hook */
};

#define HTTP_MAX_PARAMS 8

/* --- request accessors --- */

/* Returns the request method ("GET", ...). */
const char *http_method(const struct http_req *r);
/* Returns the decoded request path, without the query string. */
const char *http_path(const struct http_req *r);
/* Returns the path parameter name from the route pattern, or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* Returns the query argument name, or NULL. */
const char *http_query(const struct http_req *r, const char *name);
/* Returns the request header name (case-insensitive), or NULL. */
const char *http_header(const struct http_req *r, const char *name);
/* Returns the request body (NUL-terminated) and its length in *len (may be NULL). */
const char *http_body(const struct http_req *r, size_t *len);
/* Returns the client's address as text. */
const char *http_remote_addr(const struct http_req *r);
/* Returns the context pointer given to http_server_start. */
void *http_ctx(const struct http_req *r);
/* Attaches p to the request; free_fn (may be NULL) releases it when the request ends. */
void http_set_user(struct http_req *r, void *p, void (*free_fn)(void *));
/* Returns what http_set_user attached, or NULL. */
void *http_user(const struct http_req *r);
/* Returns the value of cookie name, or NULL. */
const char *http_cookie(const struct http_req *r, const char *name);
/* Parses the body as a JSON object; on failure replies 415/400 and returns NULL. Caller decrefs. */
json_t *http_json_body(struct http_req *r);

/* --- uploads (multipart.c) --- */

struct http_upload {
	json_t *fields;      /* the text fields, name -> string */
	unsigned char *data; /* the bytes of the part named "file" */
	size_t len;
	char filename[256]; /* as the browser named it: for display only, never trusted */
	int seen_file, several_files, too_large;
};

/* Parses a multipart/form-data body with one file part "file" of at most max bytes. Returns 0
 * with *u filled (free with http_upload_free), or -1 after replying (415, 400, 413, 422). */
int http_multipart(struct http_req *r, size_t max, struct http_upload *u);
/* Frees what http_multipart filled in. */
void http_upload_free(struct http_upload *u);
/* Replies with the open file fd (taken over) of size bytes as content_type, for download as
 * filename. Returns 0. */
int http_reply_fd(struct http_req *r, int fd, const char *content_type, const char *filename);

/* --- replies: each returns 0 so handlers can `return http_reply_...(...)` --- */

/* Replies with status and the JSON value body (reference stolen). */
int http_reply_json(struct http_req *r, unsigned status, json_t *body);
/* Replies {"error":{"code","message"[,"field"]}} with status; field may be NULL. */
int http_reply_error(struct http_req *r, unsigned status, const char *code, const char *message,
		     const char *field);
/* Replies with a copy of len bytes of data and the given content type. */
int http_reply_bytes(struct http_req *r, unsigned status, const char *content_type, const void *data,
		     size_t len);
/* Adds a header to the reply that the next http_reply_* call sends. */
void http_add_header(struct http_req *r, const char *name, const char *value);

/* --- router (router.c) --- */

enum route_match { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_NO_METHOD };

/* Finds the route for method and path; fills params (names and values point into pattern and a
 * copy of path kept in buf, bufsize bytes). Returns the match kind and, for ROUTE_FOUND, *out. */
enum route_match router_match(const struct route *routes, int n, const char *method, const char *path,
			      const struct route **out, const char *names[HTTP_MAX_PARAMS],
			      const char *values[HTTP_MAX_PARAMS], int *nparams, char *buf, size_t bufsize);
/* Writes into allow (len bytes) the comma-separated methods routes offer for path. */
void router_allowed(const struct route *routes, int n, const char *path, char *allow, size_t len);

/* --- server (server.c) --- */

struct http_server_opts {
	const char *listen_address;
	int port; /* 0: any free port, see http_server_port */
	int threads;
	size_t max_body_bytes;
	const char *web_root; /* NULL or "": no static files */
	FILE *access_log;     /* NULL: none */
	const struct route *routes;
	int nroutes;
	void *ctx;
	/* Runs before every routed handler (may be NULL): returns 0 to go on, or replies itself (an
	 * authentication or CSRF refusal) and returns -1. */
	int (*before)(struct http_req *r, const struct route *rt);
};

struct http_server;

/* Starts listening and serving. Returns the server, or NULL with a message in err. */
struct http_server *http_server_start(const struct http_server_opts *o, char *err, size_t errlen);
/* Returns the port the server listens on. */
int http_server_port(const struct http_server *s);
/* Stops accepting, waits up to timeout_s seconds for requests in flight to finish, then stops
 * and frees the server. */
void http_server_stop(struct http_server *s, int timeout_s);

#endif
