/* libmicrohttpd glue: request lifecycle, body limit, dispatch, access log, graceful stop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_internal.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

struct http_server {
	struct MHD_Daemon *d;
	struct http_server_opts opts;
	atomic_int inflight;
	int port;
};

/* Fills r->remote from the connection's peer address. */
static void remote_addr(struct http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	strcpy(r->remote, "-");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->remote, sizeof(r->remote));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->remote,
			  sizeof(r->remote));
}

/* Calls the matched route's handler, or answers 404/405, or serves the web UI. */
static void dispatch(struct http_req *r)
{
	const struct http_server_opts *o = r->opts;
	const struct route *rt = NULL;
	enum route_match m;
	int is_api = strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/api") == 0;

	if (r->too_large) {
		http_reply_error(r, 413, "body_too_large", "请求内容过大（上传的图片不能超过 1M）", NULL);
		return;
	}
	m = router_match(o->routes, o->nroutes, r->method, r->path, &rt, r->names, r->values, &r->nparams,
			 r->parambuf, sizeof(r->parambuf));
	if (m == ROUTE_FOUND) {
		if (o->before == NULL || o->before(r, rt) == 0)
			rt->fn(r);
		if (!r->replied) /* the handler failed without an answer of its own */
			http_reply_error(r, 500, "internal", "服务器内部错误，请稍后重试", NULL);
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

	(void)version;
	if (r == NULL) {
		/* First call: only headers are known. Answer on a later call so keep-alive stays on. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		r = xcalloc(sizeof(*r));
		r->conn = conn;
		r->opts = &s->opts;
		r->method = method;
		r->path = xstrdup(url);
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		remote_addr(r);
		/* Refuse an announced oversize body before reading any of it. */
		if (cl != NULL && strtoull(cl, NULL, 10) > s->opts.max_body_bytes)
			r->too_large = 1;
		atomic_fetch_add(&s->inflight, 1);
		*con_cls = r;
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

/* Writes one JSON line for the finished request. */
static void access_log(FILE *f, const struct http_req *r, int ok)
{
	struct timespec end;
	char at[TIMEFMT_LEN];
	json_t *j;
	char *line;

	clock_gettime(CLOCK_MONOTONIC, &end);
	double ms =
		(double)(end.tv_sec - r->start.tv_sec) * 1e3 + (double)(end.tv_nsec - r->start.tv_nsec) / 1e6;
	j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:f, s:b}", "time", timefmt_now_ms(at), "remote",
		      r->remote, "method", r->method, "path", r->path, "status", (int)r->status, "in_bytes",
		      (json_int_t)r->body_len, "ms", ms, "completed", ok);
	line = json_dumps(j, JSON_COMPACT);
	if (line != NULL) {
		/* One call per line: stdio's lock keeps concurrent lines whole. */
		fprintf(f, "%s\n", line);
		fflush(f);
	}
	free(line);
	json_decref(j);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;

	(void)conn;
	if (r == NULL)
		return;
	if (s->opts.access_log != NULL)
		access_log(s->opts.access_log, r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
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
	s->opts = *o;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
				(uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
	if (s->d == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d (in use or not allowed)", o->listen_address,
			 o->port);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o->port;
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
	free(s);
}
