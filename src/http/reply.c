/* Request accessors and replies: one place that shapes every answer and every error. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_internal.h"
#include "util/xalloc.h"

const char *http_method(const struct http_req *r)
{
	return r->method;
}

const char *http_path(const struct http_req *r)
{
	return r->path;
}

const char *http_param(const struct http_req *r, const char *name)
{
	return router_param(r->names, r->values, r->nparams, name);
}

const char *http_query(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const struct http_req *r, size_t *len)
{
	if (len != NULL)
		*len = r->body_len;
	return r->body != NULL ? r->body : "";
}

const char *http_remote_addr(const struct http_req *r)
{
	return r->remote;
}

const char *http_request_id(const struct http_req *r)
{
	return r->request_id;
}

const char *http_route(const struct http_req *r)
{
	return r->route != NULL ? r->route->pattern : "-";
}

void *http_ctx(const struct http_req *r)
{
	return r->opts->ctx;
}

void http_set_user(struct http_req *r, void *p, void (*free_fn)(void *))
{
	if (r->user != NULL && r->user_free != NULL)
		r->user_free(r->user);
	r->user = p;
	r->user_free = free_fn;
}

void *http_user(const struct http_req *r)
{
	return r->user;
}

const char *http_cookie(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nextra >= HTTP_MAX_HEADERS_ADDED)
		return;
	r->extra[r->nextra].name = xstrdup(name);
	r->extra[r->nextra].value = xstrdup(value);
	r->nextra++;
}

int http_queue(struct http_req *r, unsigned status, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	for (int i = 0; i < r->nextra; i++)
		MHD_add_response_header(resp, r->extra[i].name, r->extra[i].value);
	r->status = status;
	r->replied = 1;
	MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return 0;
}

int http_reply_bytes(struct http_req *r, unsigned status, const char *content_type, const void *data,
		     size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

	MHD_add_response_header(resp, "Content-Type", content_type);
	return http_queue(r, status, resp);
}

int http_reply_json(struct http_req *r, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *resp;

	json_decref(body);
	if (text == NULL)
		text = xstrdup("{}");
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return http_queue(r, status, resp);
}

int http_reply_error(struct http_req *r, unsigned status, const char *code, const char *message,
		     const char *field)
{
	json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (err == NULL) /* a message that is not UTF-8 is a programming error: still answer JSON */
		err = json_pack("{s:s, s:s}", "code", "internal", "message", "服务器内部错误，请稍后重试");
	if (field != NULL)
		json_object_set_new(err, "field", json_string(field));
	if (status >= 500) {
		/* Every internal error is logged once, and the user can quote its id. */
		json_object_set_new(err, "request_id", json_string(r->request_id));
		if (r->opts->on_error != NULL)
			r->opts->on_error(r, r->error_what != NULL ? r->error_what : code);
	}
	/* "errors" lists it too, so that clients read every error reply the same way. */
	return http_reply_json(r, status, json_pack("{s:O, s:[o]}", "error", err, "errors", err));
}

json_t *http_json_body(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	json_error_t jerr;
	json_t *j;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		http_reply_error(r, 415, "unsupported_media_type", "请求内容类型必须为 application/json",
				 NULL);
		return NULL;
	}
	j = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		http_reply_error(r, 400, "bad_json", "请求内容不是有效的 JSON 对象", NULL);
		return NULL;
	}
	return j;
}

int http_reply_fd(struct http_req *r, int fd, const char *content_type, const char *filename)
{
	struct stat st;
	struct MHD_Response *resp;
	char disp[300];

	if (fstat(fd, &st) != 0 || (resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd)) == NULL) {
		close(fd);
		return http_reply_error(r, 500, "internal", "服务器内部错误，请稍后重试", NULL);
	}
	MHD_add_response_header(resp, "Content-Type", content_type);
	MHD_add_response_header(resp, "Cache-Control", "private, no-store");
	/* The name is ours (ASCII), never the uploader's. */
	snprintf(disp, sizeof(disp), "inline; filename=\"%s\"", filename);
	MHD_add_response_header(resp, "Content-Disposition", disp);
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; sandbox");
	return http_queue(r, 200, resp);
}

void http_set_error_what(struct http_req *r, const char *what)
{
	r->error_what = what;
}
