/* multipart/form-data bodies (uploads), parsed from the buffered body by our own small parser
 * rather than libmicrohttpd's post processor: that one answers every problem with the same "no",
 * while a user needs to hear which one it was (a name too long, a body cut short, ...). */
#include "http/multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"
#include "util/xalloc.h"

#define BOUNDARY_MAX 70 /* RFC 2046 */

struct span {
	const char *p;
	size_t n;
};

/* What the headers of one part say. */
struct part {
	struct span name, filename;
	int has_name, has_filename, has_disposition;
};

/* Returns the first occurrence of needle (nlen bytes) in hay (hlen bytes), or NULL. */
static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *p = hay, *end = hay + hlen;

	while ((size_t)(end - p) >= nlen && (p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1)) != NULL) {
		if (memcmp(p, needle, nlen) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* Returns 1 when the span s equals word, ignoring case. */
static int span_is(struct span s, const char *word)
{
	return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

/* Skips spaces and tabs from *p up to end. */
static void skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/* Reads one parameter `name=value` or `name="value"` of a header value from *p (up to end) into
 * *name and *value; returns 0, 1 at the end of the value, or -1 when it is not well-formed. */
static int next_param(const char **p, const char *end, struct span *name, struct span *value)
{
	const char *q;

	while (*p < end && (**p == ' ' || **p == '\t' || **p == ';'))
		(*p)++;
	if (*p == end)
		return 1;
	for (q = *p; q < end && *q != '=' && *q != ';'; q++)
		;
	if (q == end || *q != '=')
		return -1;
	*name = (struct span){*p, (size_t)(q - *p)};
	while (name->n > 0 && (name->p[name->n - 1] == ' ' || name->p[name->n - 1] == '\t'))
		name->n--;
	*p = q + 1;
	skip_ws(p, end);
	if (*p < end && **p == '"') {
		/* No backslash escapes: browsers send a quote in a file name as %22, and a backslash
		 * in a Windows path must stay what it is. */
		q = memchr(*p + 1, '"', (size_t)(end - *p - 1));
		if (q == NULL)
			return -1;
		*value = (struct span){*p + 1, (size_t)(q - *p - 1)};
		*p = q + 1;
		return 0;
	}
	for (q = *p; q < end && *q != ';'; q++)
		;
	*value = (struct span){*p, (size_t)(q - *p)};
	while (value->n > 0 && (value->p[value->n - 1] == ' ' || value->p[value->n - 1] == '\t'))
		value->n--;
	*p = q;
	return 0;
}

/* Copies the boundary parameter of content type ct into out (BOUNDARY_MAX + 1 bytes). Returns
 * MP_OK, MP_NOT_MULTIPART or MP_MALFORMED (no usable boundary). */
static int boundary_of(const char *ct, char out[BOUNDARY_MAX + 1])
{
	const char *p = ct, *end;
	struct span name, value;
	int rc;

	if (ct == NULL)
		return MP_NOT_MULTIPART;
	end = ct + strlen(ct);
	skip_ws(&p, end);
	if (strncasecmp(p, "multipart/form-data", 19) != 0 ||
	    (p[19] != '\0' && p[19] != ';' && p[19] != ' ' && p[19] != '\t'))
		return MP_NOT_MULTIPART;
	p += 19;
	while ((rc = next_param(&p, end, &name, &value)) == 0) {
		if (!span_is(name, "boundary"))
			continue;
		if (value.n == 0 || value.n > BOUNDARY_MAX)
			return MP_MALFORMED;
		memcpy(out, value.p, value.n);
		out[value.n] = '\0';
		return MP_OK;
	}
	return MP_MALFORMED;
}

/* Reads the Content-Disposition value (p, n bytes) into pt. Returns MP_OK or MP_MALFORMED. */
static int disposition(const char *p, size_t n, struct part *pt)
{
	const char *end = p + n, *q;
	struct span name, value;
	int rc;

	skip_ws(&p, end);
	for (q = p; q < end && *q != ';' && *q != ' ' && *q != '\t'; q++)
		;
	if (!span_is((struct span){p, (size_t)(q - p)}, "form-data"))
		return MP_MALFORMED;
	p = q;
	while ((rc = next_param(&p, end, &name, &value)) == 0) {
		if (span_is(name, "name")) {
			if (pt->has_name++)
				return MP_MALFORMED;
			pt->name = value;
		} else if (span_is(name, "filename")) {
			if (pt->has_filename++)
				return MP_MALFORMED;
			pt->filename = value;
		} /* others (filename* and the like) are not sent by browsers for form data */
	}
	return rc < 0 ? MP_MALFORMED : MP_OK;
}

/* Reads the header lines of a part (h, n bytes, each line ending in CRLF) into pt and checks
 * its name and file name. Returns an enum mp_result. */
static int part_headers(const char *h, size_t n, struct part *pt)
{
	const char *end = h + n, *eol, *colon;
	int rc;

	for (; h < end; h = eol + 2) {
		eol = find(h, (size_t)(end - h), "\r\n", 2);
		if (eol == NULL)
			return MP_MALFORMED;
		colon = memchr(h, ':', (size_t)(eol - h));
		if (colon == NULL)
			return MP_MALFORMED;
		if (!span_is((struct span){h, (size_t)(colon - h)}, "Content-Disposition"))
			continue; /* Content-Type and others: the content decides what a file is */
		if (pt->has_disposition++)
			return MP_MALFORMED;
		if ((rc = disposition(colon + 1, (size_t)(eol - colon - 1), pt)) != MP_OK)
			return rc;
	}
	if (!pt->has_name || pt->name.n == 0 || pt->name.n > MP_NAME_MAX)
		return MP_MALFORMED;
	for (size_t i = 0; i < pt->name.n; i++)
		if (pt->name.p[i] <= ' ' || pt->name.p[i] > '~')
			return MP_MALFORMED;
	if (pt->has_filename && pt->filename.n > MP_FILENAME_MAX)
		return MP_FILENAME_TOO_LONG;
	if (pt->has_filename && (memchr(pt->filename.p, '\0', pt->filename.n) != NULL ||
				 memchr(pt->filename.p, '\r', pt->filename.n) != NULL ||
				 memchr(pt->filename.p, '\n', pt->filename.n) != NULL))
		return MP_FILENAME_INVALID;
	return MP_OK;
}

/* Keeps the part pt with its content (data, n bytes) in u; max bounds the file. Returns an enum
 * mp_result. */
static int take_part(struct http_upload *u, const struct part *pt, const char *name, const char *data,
		     size_t n, size_t max)
{
	json_t *v;

	if (pt->has_filename) {
		if (strcmp(name, "file") != 0 || u->seen_file) {
			u->several_files = 1;
			return MP_SEVERAL_FILES;
		}
		u->seen_file = 1;
		u->filename = xstrndup(pt->filename.p, pt->filename.n);
		if (n > max) {
			u->too_large = 1; /* reported once the rest is known to be well-formed */
			return MP_OK;
		}
		u->data = xcalloc(n + 1);
		memcpy(u->data, data, n);
		u->len = n;
		return MP_OK;
	}
	if (n > MP_FIELD_MAX)
		return MP_FIELD_TOO_LONG;
	if (json_object_get(u->fields, name) != NULL)
		return MP_FIELD_DUPLICATE;
	if (memchr(data, '\0', n) != NULL || (v = json_stringn(data, n)) == NULL)
		return MP_FIELD_INVALID; /* a NUL, or not UTF-8 */
	json_object_set_new(u->fields, name, v);
	return MP_OK;
}

/* Parses the parts after the first delimiter (body[pos..len), delimiter "--boundary" in delim).
 * Returns an enum mp_result; part gets the name of the part a result is about. */
static int parse_parts(const char *body, size_t len, size_t pos, const char *delim, size_t max,
		       struct http_upload *u, char part[MP_NAME_MAX + 1])
{
	char next[BOUNDARY_MAX + 5];
	size_t dlen = strlen(delim), nparts = 0;
	const char *p, *hend, *content, *cend;
	int rc;

	snprintf(next, sizeof(next), "\r\n%s", delim);
	for (;;) {
		p = body + pos;
		if (len - pos >= 2 && p[0] == '-' && p[1] == '-')
			return MP_OK; /* the closing delimiter; what follows is an epilogue */
		while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
			pos++;
		if (len - pos < 2)
			return MP_INCOMPLETE;
		if (body[pos] != '\r' || body[pos + 1] != '\n')
			return MP_MALFORMED;
		pos += 2;
		if (++nparts > MP_PARTS_MAX)
			return MP_TOO_MANY_PARTS;
		/* The headers end with an empty line: CRLF right away when there are none. */
		p = body + pos;
		if (len - pos >= 2 && p[0] == '\r' && p[1] == '\n') {
			hend = p;
			content = p + 2;
		} else if ((hend = find(p, len - pos, "\r\n\r\n", 4)) != NULL) {
			hend += 2;
			content = hend + 2;
		} else {
			return MP_INCOMPLETE;
		}
		struct part pt = {0};
		char name[MP_NAME_MAX + 1] = "";
		rc = part_headers(p, (size_t)(hend - p), &pt);
		if (pt.has_name && pt.name.n <= MP_NAME_MAX) {
			memcpy(name, pt.name.p, pt.name.n);
			name[pt.name.n] = '\0';
			if (rc == MP_OK)
				memcpy(part, name, pt.name.n + 1);
		}
		if (rc != MP_OK)
			return rc;
		cend = find(content, len - (size_t)(content - body), next, dlen + 2);
		if (cend == NULL)
			return MP_INCOMPLETE;
		if ((rc = take_part(u, &pt, name, content, (size_t)(cend - content), max)) != MP_OK)
			return rc;
		part[0] = '\0';
		pos = (size_t)(cend - body) + 2 + dlen;
	}
}

int multipart_parse(const char *content_type, const char *body, size_t len, size_t max,
		    struct http_upload *u, char part[MP_NAME_MAX + 1])
{
	char boundary[BOUNDARY_MAX + 1], delim[BOUNDARY_MAX + 3], first[BOUNDARY_MAX + 5];
	const char *start;
	size_t dlen;
	int rc;

	memset(u, 0, sizeof(*u));
	u->fields = json_object();
	part[0] = '\0';
	if ((rc = boundary_of(content_type, boundary)) != MP_OK)
		return rc;
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	snprintf(first, sizeof(first), "\r\n%s", delim);
	/* The first delimiter opens the body, or ends a preamble. */
	if (len >= dlen && memcmp(body, delim, dlen) == 0)
		start = body;
	else if ((start = find(body, len, first, dlen + 2)) != NULL)
		start += 2;
	else
		return len == 0 ? MP_INCOMPLETE : MP_MALFORMED;
	if ((rc = parse_parts(body, len, (size_t)(start - body) + dlen, delim, max, u, part)) != MP_OK)
		return rc;
	if (u->too_large) {
		snprintf(part, MP_NAME_MAX + 1, "file");
		return MP_FILE_TOO_LARGE;
	}
	if (!u->seen_file)
		return MP_NO_FILE;
	return MP_OK;
}

/* Replies with the error of multipart_parse's result rc about part (may be ""); max is the
 * caller's bound on the file. Returns -1. */
static int reply_error(struct http_req *r, int rc, const char *part, size_t max)
{
	const char *field = part[0] != '\0' ? part : NULL;
	char msg[256];

	switch (rc) {
	case MP_NOT_MULTIPART:
		http_reply_error(r, 415, "unsupported_media_type", "上传请使用 multipart/form-data", NULL);
		break;
	case MP_INCOMPLETE:
		http_reply_error(r, 400, "multipart_incomplete", "上传内容不完整，请重新上传", NULL);
		break;
	case MP_SEVERAL_FILES:
		http_reply_error(r, 400, "bad_multipart", "每次只能上传一个文件（字段名为 file）", "file");
		break;
	case MP_FILENAME_TOO_LONG:
		snprintf(msg, sizeof(msg), "文件名过长（不能超过 %d 字节），请改短文件名后重新上传",
			 MP_FILENAME_MAX);
		http_reply_error(r, 400, "filename_too_long", msg, "file");
		break;
	case MP_FILENAME_INVALID:
		http_reply_error(r, 400, "filename_invalid", "文件名含有无效字符（如 NUL 或换行），请改名后重新上传",
				 "file");
		break;
	case MP_FIELD_TOO_LONG:
		snprintf(msg, sizeof(msg), "字段 %s 的内容超过 %d 字节", field ? field : "", MP_FIELD_MAX);
		http_reply_error(r, 422, "field_too_long", msg, field);
		break;
	case MP_FIELD_INVALID:
		snprintf(msg, sizeof(msg), "字段 %s 不是有效的 UTF-8 文本", field ? field : "");
		http_reply_error(r, 422, "field_invalid", msg, field);
		break;
	case MP_FIELD_DUPLICATE:
		snprintf(msg, sizeof(msg), "字段 %s 出现了不止一次", field ? field : "");
		http_reply_error(r, 400, "field_duplicate", msg, field);
		break;
	case MP_TOO_MANY_PARTS:
		snprintf(msg, sizeof(msg), "上传内容的字段过多（最多 %d 个）", MP_PARTS_MAX);
		http_reply_error(r, 400, "too_many_parts", msg, NULL);
		break;
	case MP_FILE_TOO_LARGE:
		if (max == 1048576)
			snprintf(msg, sizeof(msg), "图片大小不能超过 1M（1,048,576 字节），请降低扫描分辨率或压缩后重新上传");
		else
			snprintf(msg, sizeof(msg), "文件大小不能超过 %zu 字节，请压缩后重新上传", max);
		http_reply_error(r, 413, "file_too_large", msg, "file");
		break;
	case MP_NO_FILE:
		http_reply_error(r, 422, "file_required", "请选择要上传的文件", "file");
		break;
	default: /* MP_MALFORMED */
		http_reply_error(r, 400, "bad_multipart", "上传内容格式不正确，请重新上传", NULL);
		break;
	}
	return -1;
}

int http_multipart(struct http_req *r, size_t max, struct http_upload *u)
{
	char part[MP_NAME_MAX + 1];
	int rc = multipart_parse(http_header(r, "Content-Type"), r->body ? r->body : "", r->body_len, max, u,
				 part);

	return rc == MP_OK ? 0 : reply_error(r, rc, part, max);
}

void http_upload_free(struct http_upload *u)
{
	free(u->data);
	free(u->filename);
	json_decref(u->fields);
	memset(u, 0, sizeof(*u));
}
