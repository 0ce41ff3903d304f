/* libmicrohttpd glue: request lifecycle, body limit, dispatch, access log, graceful stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/accesslog.h"
#include "http/conn_guard.h"
#include "http/http_internal.h"
#include "http/proxy.h"
#include "http/stats.h"
#include "util/xalloc.h"

struct http_server {
	struct MHD_Daemon *d;
	struct http_server_opts opts;
	atomic_int inflight;
	int port;
	struct proxy_list proxies;
	struct conn_guard *guard;
	struct http_stats *stats;
	struct accesslog *alog; /* NULL: no access log */
};

/* Writes the text form of the socket address sa into out (64 bytes), "-" when unknown. */
static void addr_text(const struct sockaddr *sa, char out[64])
{
	strcpy(out, "-");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
}

/* Fills r->remote: the peer, or the client a trusted proxy names in X-Forwarded-For. */
static void remote_addr(struct http_server *s, struct http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	addr_text(ci ? ci->client_addr : NULL, r->remote);
	proxy_client(&s->proxies, r->remote, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
									  "X-Forwarded-For"),
		     r->remote, sizeof(r->remote));
}

/* Unescapes %HH in place like libmicrohttpd, except that %00 becomes DEL (0x7f): a NUL would cut
 * the path short before routing, so such a path is refused whole (see PATH_NUL). */
#define PATH_NUL '\x7f'
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;

	(void)cls;
	(void)conn;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned v;
		if (p[0] == '%' && sscanf(p + 1, "%2x", &v) == 1 && strspn(p + 1, "0123456789abcdefABCDEF") >= 2) {
			*w++ = v == 0 ? PATH_NUL : (char)v;
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Answers 404 for the path parameter name whose value does not fit its declaration. */
static void param_refused(struct http_req *r, const char *name)
{
	const struct http_server_opts *o = r->opts;

	for (int i = 0; i < o->nparams; i++)
		if (strcmp(o->params[i].name, name) == 0 && o->params[i].code != NULL) {
			http_reply_error(r, 404, o->params[i].code, o->params[i].message, name);
			return;
		}
	http_reply_error(r, 404, "not_found", "未找到请求的资源", name);
}

/* Calls the matched route's handler, or answers 404/405, or serves the web UI. */
static void dispatch(struct http_req *r)
{
	const struct http_server_opts *o = r->opts;
	const struct route *rt = NULL;
	enum route_match m;
	int is_api = strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/api") == 0;

	if (r->too_large) {
		const char *ct = http_header(r, "Content-Type");
		if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0)
			http_reply_error(r, 413, "body_too_large", "上传的文件过大，请压缩后重新上传", NULL);
		else
			http_reply_error(r, 413, "body_too_large", "请求内容过大", NULL);
		return;
	}
	if (strchr(r->path, PATH_NUL) != NULL || r->path[0] != '/') {
		http_reply_error(r, 400, "bad_path", "请求路径不合法", NULL);
		return;
	}
	m = router_match(o->routes, o->nroutes, r->method, r->path, &rt, r->names, r->values, &r->nparams,
			 r->parambuf, sizeof(r->parambuf));
	if (m == ROUTE_FOUND) {
		r->route = rt;
		if (o->before == NULL || o->before(r, rt) == 0) {
			/* Path parameters are checked against their declarations once, here, after the
			 * caller is known (so an anonymous caller still gets 401), before any handler. */
			const char *bad = o->params != NULL ? router_params_invalid(o->params, o->nparams, r->names,
										      r->values, r->nparams)
							    : NULL;
			if (bad != NULL)
				param_refused(r, bad);
			else
				rt->fn(r);
		}
		if (!r->replied) { /* the handler failed without an answer of its own */
			http_set_error_what(r, "handler returned without a reply");
			http_reply_error(r, 500, "internal", "服务器内部错误，请稍后重试", NULL);
		}
	} else if (m == ROUTE_NO_METHOD) {
		char allow[128];
		router_allowed(o->routes, o->nroutes, r->path, allow, sizeof(allow));
		http_add_header(r, "Allow", allow);
		http_reply_error(r, 405, "method_not_allowed", "不支持该请求方法", NULL);
	} else if (!is_api && o->web_root != NULL && o->web_root[0] != '\0' &&
		   (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)) {
		http_serve_static(r);
	} else {
		http_reply_error(r, 404, "not_found", "未找到请求的资源", NULL);
	}
}

/* Appends up to n bytes of upload data to r's body, or marks it too large. */
static void take_body(struct http_req *r, const char *data, size_t n)
{
	if (r->too_large || r->body_len + n > r->opts->max_body_bytes) {
		r->too_large = 1;
		return;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		r->body_cap = (r->body_len + n + 1) * 2;
		if (r->body_cap > r->opts->max_body_bytes + 1)
			r->body_cap = r->opts->max_body_bytes + 1;
		r->body = xrealloc(r->body, r->body_cap);
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size,
				  void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;

	if (r == NULL) {
		/* First call: only headers are known. Answer on a later call so keep-alive stays on. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		unsigned char rid[8];
		r = xcalloc(sizeof(*r));
		r->conn = conn;
		r->opts = &s->opts;
		r->stats = s->stats;
		r->method = method;
		r->path = xstrdup(url);
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		randombytes_buf(rid, sizeof(rid));
		sodium_bin2hex(r->request_id, sizeof(r->request_id), rid, sizeof(rid));
		remote_addr(s, r);
		conn_guard_head_done(conn);
		/* Refuse an announced oversize body before reading any of it. */
		if (cl != NULL && strtoull(cl, NULL, 10) > s->opts.max_body_bytes)
			r->too_large = 1;
		atomic_fetch_add(&s->inflight, 1);
		*con_cls = r;
		/* HTTP/1.1 requires Host (RFC 9112 3.2); answered here so the refusal is JSON too. */
		if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host") == NULL)
			http_reply_error(r, 400, "bad_request", "请求缺少 Host 头", NULL);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!r->too_large)
			take_body(r, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (!r->replied)
		dispatch(r);
	return MHD_YES;
}

/* Returns the seconds since r's head arrived. */
static double elapsed_s(const struct http_req *r)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	return (double)(end.tv_sec - r->start.tv_sec) + (double)(end.tv_nsec - r->start.tv_nsec) / 1e9;
}

/* Queues one JSON line for the finished request (written by the access log's own thread). */
static void access_log(struct accesslog *l, const struct http_req *r, int ok)
{
	struct accesslog_entry e = {.remote = r->remote,
				    .method = r->method,
				    .path = r->path,
				    .status = (int)r->status,
				    .in_bytes = (long long)r->body_len,
				    .ms = elapsed_s(r) * 1e3,
				    .completed = ok,
				    .request_id = r->request_id};

	accesslog_write(l, &e);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;

	conn_guard_head_wait(conn); /* keep-alive: the next request's head is timed from now */
	if (r == NULL)
		return;
	if (s->alog != NULL)
		access_log(s->alog, r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	http_stats_record(s->stats, r->route != NULL ? (int)(r->route - s->opts.routes) : -1, r->status,
			  elapsed_s(r));
	for (int i = 0; i < r->nextra; i++) {
		free(r->extra[i].name);
		free(r->extra[i].value);
	}
	if (r->user != NULL && r->user_free != NULL)
		r->user_free(r->user);
	free(r->path);
	free(r->body);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

/* Bytes of libmicrohttpd's memory pool per connection (request head, then the reply's head): it
 * is kept, and mostly touched, for as long as a keep-alive connection stays open, so it is what
 * 1,000 idle connections cost. libmicrohttpd's default is 32 KiB (33 MB of RSS for 1,000 idle
 * connections, issue 17; 17 MB with 16 KiB). 16 KiB still takes a request head of 15 KiB, several
 * times what a browser sends with our cookies. Bodies do not go through it (streamed to take_body). */
#define CONN_MEMORY (16 * 1024)

/* Each connection takes two descriptors (its socket, and the guard's duplicate): the soft limit of
 * open files (often 1024) is raised to the hard one so that max_connections can be reached. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int http_listen(const char *address, int port, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd, one = 1;

	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "listen_address '%s' is not an IPv4 address", address);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* as libmicrohttpd's MHD_OPTION_LISTENING_ADDRESS_REUSE 1 did before */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "cannot listen on %s:%d (%s)", address, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Returns the port fd is bound to, or 0. */
static int bound_port(int fd)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);

	return getsockname(fd, (struct sockaddr *)&sa, &len) == 0 ? ntohs(sa.sin_port) : 0;
}

struct http_server *http_server_start(const struct http_server_opts *o, char *err, size_t errlen)
{
	struct http_server *s = xcalloc(sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	const union MHD_DaemonInfo *info;

	if (inet_pton(AF_INET, o->listen_address, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "listen_address '%s' is not an IPv4 address", o->listen_address);
		free(s);
		return NULL;
	}
	if (o->params != NULL && router_undeclared(o->routes, o->nroutes, o->params, o->nparams) != NULL) {
		snprintf(err, errlen, "route parameter {%s} has no declaration",
			 router_undeclared(o->routes, o->nroutes, o->params, o->nparams));
		free(s);
		return NULL;
	}
	if (proxy_list_parse(&s->proxies, o->trusted_proxies, err, errlen) != 0) {
		free(s);
		return NULL;
	}
	if (o->access_log != NULL && (s->alog = accesslog_open(o->access_log)) == NULL) {
		snprintf(err, errlen, "cannot start the access log's writer thread");
		free(s);
		return NULL;
	}
	raise_fd_limit();
	s->opts = *o;
	s->stats = http_stats_new(o->routes, o->nroutes);
	s->guard = conn_guard_new(&s->proxies, o->max_connections_per_ip,
				  o->head_timeout_s ? o->head_timeout_s : 10);
	/* the socket bound before the privilege drop, or the address to bind here */
	struct MHD_OptionItem where[] = {
		o->listen_fd > 0 ? (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL}
				 : (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa},
		o->listen_fd > 0 ? (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL}
				 : (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
		{MHD_OPTION_END, 0, NULL}};
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
				(uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, where,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
				conn_guard_notify, s->guard, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
				MHD_OPTION_STRICT_FOR_CLIENT, -1, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				MHD_OPTION_CONNECTION_LIMIT, o->max_connections ? o->max_connections : 1000u,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_END);
	if (s->d == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d (in use or not allowed)", o->listen_address,
			 o->port);
		conn_guard_free(s->guard);
		http_stats_free(s->stats);
		accesslog_close(s->alog);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = o->listen_fd > 0 ? bound_port(o->listen_fd) : info ? info->port : o->port;
	return s;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_stop(struct http_server *s, int timeout_s)
{
	MHD_socket fd = MHD_quiesce_daemon(s->d);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Requests already started run to their end; new connections are refused. */
	for (int i = 0; i < timeout_s * 20 && atomic_load(&s->inflight) > 0; i++)
		usleep(50000);
	MHD_stop_daemon(s->d);
	/* after the last request's line: written out before the process exits */
	accesslog_close(s->alog);
	conn_guard_free(s->guard);
	http_stats_free(s->stats);
	free(s);
}
