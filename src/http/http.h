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

/* The declaration of a path parameter: when a server is given declarations, every {name} of its
 * route table must have one (else it does not start), and a request whose value does not fit is
 * answered 404 before its handler runs, so handlers only ever see well-formed values. */
struct http_param {
	const char *name;
	unsigned min_len, max_len; /* in bytes */
	const char *chars;         /* every byte allowed in the value */
	const char *code, *message; /* the 404's error, when not the generic not_found (may be NULL) */
};

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
/* Returns the client's address as text: the TCP peer, or the address a trusted proxy reports in
 * X-Forwarded-For (http_server_opts.trusted_proxies). */
const char *http_remote_addr(const struct http_req *r);
/* Returns the request's id (random, also sent as X-Request-Id) for logs and error reports. */
const char *http_request_id(const struct http_req *r);
/* Returns the pattern of the matched route ("/api/v1/orders/{order_no}"), or "-" before routing. */
const char *http_route(const struct http_req *r);
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
	char *filename;      /* as the browser named it (heap, at most 1,024 bytes, no NUL; may be
			      * any bytes, not only UTF-8): for display only, never trusted */
	int seen_file, several_files, too_large;
};

/* Parses a multipart/form-data body with one file part "file" of at most max bytes. Returns 0
 * with *u filled (free with http_upload_free), or -1 after replying (415, 400, 413, 422) with a
 * code for each problem (multipart.h lists them). */
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
/* Names what went wrong (a static string) for the log line of the 5xx reply that follows. */
void http_set_error_what(struct http_req *r, const char *what);
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
/* Returns the name of the first of the nparams matched values that does not fit its declaration
 * in decl (ndecl entries), or NULL when all fit. A name without a declaration never fits. */
const char *router_params_invalid(const struct http_param *decl, int ndecl, const char *const names[],
				  const char *const values[], int nparams);
/* Returns the first {name} of a route pattern without a declaration in decl (static buffer), or
 * NULL when every parameter of every route is declared. */
const char *router_undeclared(const struct route *routes, int n, const struct http_param *decl, int ndecl);

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
	/* The path parameters' declarations (NULL: values are not checked, for simulators). */
	const struct http_param *params;
	int nparams;
	/* Called for every 5xx reply with what went wrong (may be NULL): the server's log entry. */
	void (*on_error)(struct http_req *r, const char *what);
	/* Addresses (IPv4/IPv6, or CIDR prefixes) of reverse proxies whose X-Forwarded-For is believed;
	 * comma or space separated; NULL or "": none. */
	const char *trusted_proxies;
	unsigned max_connections;        /* 0: 1000 */
	unsigned max_connections_per_ip; /* 0: no limit; trusted proxies are never limited */
	unsigned head_timeout_s;         /* time to receive a request's head; 0: 10 s */
	/* > 0: a socket from http_listen, bound and listening already (by root, before the privilege
	 * drop), which the server takes over; 0: the server binds listen_address:port itself. */
	int listen_fd;
};

struct http_server;

/* Binds address:port (IPv4) and listens, without serving yet: a server started as root binds, drops
 * its privileges, then serves the socket (listen_fd), so that no request is answered as root.
 * Returns the socket (close-on-exec, non-blocking), or -1 with a message in err. */
int http_listen(const char *address, int port, char *err, size_t errlen);
/* Starts listening (unless o->listen_fd) and serving. Returns the server, or NULL with a message in
 * err. */
struct http_server *http_server_start(const struct http_server_opts *o, char *err, size_t errlen);
/* Returns the port the server listens on. */
int http_server_port(const struct http_server *s);
/* Stops accepting, waits up to timeout_s seconds for requests in flight to finish, then stops
 * and frees the server. */
void http_server_stop(struct http_server *s, int timeout_s);

#endif
