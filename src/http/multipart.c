/* multipart/form-data bodies (uploads), parsed with libmicrohttpd's post processor from the
 * buffered body: one file part named "file" and a few small text fields. */
#include <string.h>

#include "http/http_internal.h"
#include "util/xalloc.h"

#define FIELD_MAX 4096

struct mp {
	struct http_upload *u;
	size_t max;
	int bad;
};

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
			       const char *content_type, const char *encoding, const char *data, uint64_t off,
			       size_t size)
{
	struct mp *m = cls;
	struct http_upload *u = m->u;

	(void)kind, (void)content_type, (void)encoding;
	if (filename != NULL) {
		if (strcmp(key, "file") != 0 || (off == 0 && u->data != NULL && u->len > 0 && u->seen_file)) {
			u->several_files = 1;
			return MHD_YES;
		}
		u->seen_file = 1;
		snprintf(u->filename, sizeof(u->filename), "%s", filename);
		if (u->len + size > m->max) {
			u->too_large = 1;
			return MHD_YES;
		}
		u->data = xrealloc(u->data, u->len + size + 1);
		memcpy(u->data + u->len, data, size);
		u->len += size;
		return MHD_YES;
	}
	/* A text field, possibly in several pieces. */
	json_t *cur = json_object_get(u->fields, key);
	size_t have = cur ? json_string_length(cur) : 0;
	if (have + size > FIELD_MAX) {
		m->bad = 1;
		return MHD_NO;
	}
	char *joined = xcalloc(have + size + 1);
	if (cur != NULL)
		memcpy(joined, json_string_value(cur), have);
	memcpy(joined + have, data, size);
	json_t *v = json_stringn(joined, have + size);
	free(joined);
	if (v == NULL) { /* not UTF-8 */
		m->bad = 1;
		return MHD_NO;
	}
	json_object_set_new(u->fields, key, v);
	return MHD_YES;
}

int http_multipart(struct http_req *r, size_t max, struct http_upload *u)
{
	const char *ct = http_header(r, "Content-Type");
	struct mp m = {u, max, 0};
	struct MHD_PostProcessor *pp;
	enum MHD_Result ok;

	memset(u, 0, sizeof(*u));
	u->fields = json_object();
	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0) {
		http_reply_error(r, 415, "unsupported_media_type", "上传请使用 multipart/form-data", NULL);
		return -1;
	}
	pp = MHD_create_post_processor(r->conn, 65536, on_part, &m);
	if (pp == NULL) {
		http_reply_error(r, 400, "bad_multipart", "上传内容格式不正确", NULL);
		return -1;
	}
	ok = MHD_post_process(pp, r->body ? r->body : "", r->body_len);
	MHD_destroy_post_processor(pp);
	if (ok != MHD_YES || m.bad || u->several_files) {
		http_reply_error(r, 400, "bad_multipart",
				 "上传内容格式不正确（每次只能上传一个名为 file 的文件）", NULL);
		return -1;
	}
	if (u->too_large) {
		http_reply_error(r, 413, "file_too_large",
				 "图片大小不能超过 1M（1,048,576 字节），请降低扫描分辨率或压缩后重新上传",
				 "file");
		return -1;
	}
	if (!u->seen_file) {
		http_reply_error(r, 422, "file_required", "请选择要上传的文件", "file");
		return -1;
	}
	return 0;
}

void http_upload_free(struct http_upload *u)
{
	free(u->data);
	json_decref(u->fields);
	memset(u, 0, sizeof(*u));
}
