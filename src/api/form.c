#include "api/form.h"

#include <stdio.h>
#include <string.h>

#include "http/http.h"
#include "util/strutil.h"

void form_init(struct form *f, struct http_req *r, json_t *body)
{
	f->r = r;
	f->body = body;
	f->errors = json_array();
	f->status = 0;
}

void form_error(struct form *f, unsigned status, const char *field, const char *code, const char *message)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (field != NULL)
		json_object_set_new(e, "field", json_string(field));
	json_array_append_new(f->errors, e);
	if (f->status == 0)
		f->status = status;
}

const char *form_text(struct form *f, const char *name, const char *label, long minc, long maxc, int required)
{
	json_t *v = json_object_get(f->body, name);
	char msg[256];
	const char *s;
	long n;

	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
		if (required) {
			snprintf(msg, sizeof(msg), "请填写%s", label);
			form_error(f, 422, name, "field_required", msg);
		}
		return NULL;
	}
	if (!json_is_string(v)) {
		snprintf(msg, sizeof(msg), "%s格式不正确", label);
		form_error(f, 422, name, "field_invalid", msg);
		return NULL;
	}
	/* Trim surrounding white space (the ideographic space of Chinese input included) in place:
	 * the stored value is what the user meant, and a value of spaces alone is no value. */
	s = json_string_value(v);
	size_t start, end;
	str_trim_span(s, &start, &end);
	if (start > 0 || end < strlen(s)) {
		json_string_setn(v, s + start, end - start);
		s = json_string_value(v);
	}
	n = utf8_chars(s);
	if (n < 0 || str_has_control(s)) {
		snprintf(msg, sizeof(msg), "%s含有无效字符", label);
		form_error(f, 422, name, "field_invalid", msg);
		return NULL;
	}
	/* Names are shown to staff and printed on the forms: one of zero-width characters looks
	 * empty, one with a direction override reads differently from what is stored. */
	if (str_has_invisible(s)) {
		snprintf(msg, sizeof(msg), "%s不能包含不可见字符或方向控制字符", label);
		form_error(f, 422, name, "field_invalid", msg);
		return NULL;
	}
	if (n == 0 && required) {
		snprintf(msg, sizeof(msg), "请填写%s", label);
		form_error(f, 422, name, "field_required", msg);
		return NULL;
	}
	if (n < minc || n > maxc) {
		snprintf(msg, sizeof(msg), "%s长度应为 %ld 至 %ld 个字符", label, minc, maxc);
		form_error(f, 422, name, n > maxc ? "field_too_long" : "field_too_short", msg);
		return NULL;
	}
	return s;
}

int form_bool(struct form *f, const char *name)
{
	json_t *v = json_object_get(f->body, name);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		form_error(f, 422, name, "field_invalid", "取值必须为 true 或 false");
		return 0;
	}
	return json_is_true(v);
}

int form_failed(const struct form *f)
{
	return json_array_size(f->errors) > 0;
}

int form_reply(struct form *f)
{
	json_t *first = json_deep_copy(json_array_get(f->errors, 0));
	json_t *body = json_pack("{s:o, s:o}", "error", first, "errors", f->errors);

	f->errors = NULL;
	return http_reply_json(f->r, f->status ? f->status : 422, body);
}

void form_free(struct form *f)
{
	json_decref(f->errors);
	f->errors = NULL;
}

int form_finish(struct form *f, json_t *body, unsigned status, json_t *ok)
{
	if (form_failed(f)) {
		json_decref(ok);
		form_reply(f);
	} else {
		http_reply_json(f->r, status, ok);
		form_free(f);
	}
	json_decref(body);
	return 0;
}
