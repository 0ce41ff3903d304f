#include "api/order_form.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/form.h"
#include "core/fullwidth.h"
#include "core/idcard.h"
#include "core/phone.h"
#include "store/store.h"

enum fkind { FK_TEXT, FK_MOBILE, FK_IDCARD, FK_EMAIL, FK_TAX, FK_ID_TYPE };

struct ofield {
	const char *name, *label;
	enum fkind kind;
	int min, max;
	int main_only; /* only for a main key (the electronic seal) */
};

static const struct ofield fields[] = {
	{"unit_address", "单位地址", FK_TEXT, 5, 200, 0},
	{"legal_name", "法定代表人姓名", FK_TEXT, 2, 40, 0},
	{"legal_id_type", "法定代表人证件类型", FK_ID_TYPE, 1, 32, 0},
	{"legal_id_number", "法定代表人证件号码", FK_IDCARD, 1, 32, 0},
	{"legal_mobile", "法定代表人手机号", FK_MOBILE, 1, 20, 0},
	{"handler_name", "经办人姓名", FK_TEXT, 2, 40, 0},
	{"handler_id_number", "经办人身份证号", FK_IDCARD, 1, 32, 0},
	{"handler_mobile", "经办人手机号", FK_MOBILE, 1, 20, 0},
	{"handler_email", "经办人电子邮箱", FK_EMAIL, 6, 100, 0},
	{"invoice_title", "发票抬头", FK_TEXT, 2, 100, 0},
	{"invoice_tax_number", "纳税人识别号", FK_TAX, 15, 20, 0},
	{"invoice_email", "发票接收邮箱", FK_EMAIL, 6, 100, 0},
	{"recipient_name", "证书收件人姓名", FK_TEXT, 2, 40, 0},
	{"recipient_mobile", "证书收件人手机号", FK_MOBILE, 1, 20, 0},
	{"recipient_address", "证书收件地址", FK_TEXT, 8, 200, 0},
	{"seal_name", "电子印章名称", FK_TEXT, 2, 100, 1},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct {
	const char *code, *label;
} id_types[] = {
	{"resident_id", "居民身份证"},
	{"residence_permit", "港澳台居民居住证"},
};

const char *order_form_id_type_label(const char *code)
{
	for (size_t i = 0; code != NULL && i < sizeof(id_types) / sizeof(id_types[0]); i++)
		if (strcmp(code, id_types[i].code) == 0)
			return id_types[i].label;
	return "";
}

/* Returns today's Beijing date as YYYYMMDD, the bound for birth dates. */
static long today(void)
{
	time_t t = time(NULL) + 8 * 3600;
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000L + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Returns 1 when s looks like an e-mail address: one @, a dotted domain, no spaces. */
static int email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *dot;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strpbrk(s, " \t,;<>\"'()[]\\") != NULL)
		return 0;
	dot = strrchr(at, '.');
	return dot != NULL && dot > at + 1 && dot[1] != '\0' && strlen(dot + 1) >= 2;
}

/* Validates one present field; returns its normalised JSON value or NULL (error recorded). */
static json_t *one(struct form *f, const struct ofield *d)
{
	const char *s = form_text(f, d->name, d->label, d->min, d->max, 1);
	char buf[320], msg[160]; /* 100 full-width characters fold to 100 bytes */

	if (s == NULL)
		return NULL;
	switch (d->kind) {
	case FK_TEXT:
		return json_string(s);
	case FK_MOBILE:
		if (phone_mobile_normalise(s, buf) == 0)
			return json_string(buf);
		snprintf(msg, sizeof(msg), "%s须为 11 位手机号码（不支持座机号码）", d->label);
		form_error(f, 422, d->name, "mobile_invalid", msg);
		return NULL;
	case FK_IDCARD:
		switch (idcard_check(s, today(), buf)) {
		case IDCARD_OK:
			return json_string(buf);
		case IDCARD_BAD_DATE:
			snprintf(msg, sizeof(msg), "%s中的出生日期不正确", d->label);
			form_error(f, 422, d->name, "id_birth_date", msg);
			return NULL;
		case IDCARD_BAD_CHECK:
			snprintf(msg, sizeof(msg), "%s校验位不正确，请核对（最后一位可能为 X）", d->label);
			form_error(f, 422, d->name, "id_check_digit", msg);
			return NULL;
		case IDCARD_BAD_REGION:
			snprintf(msg, sizeof(msg), "%s的前 6 位地址码不正确（前两位应为省级行政区划代码）",
				 d->label);
			form_error(f, 422, d->name, "id_region", msg);
			return NULL;
		default:
			snprintf(msg, sizeof(msg), "%s应为 18 位（17 位数字加最后一位数字或 X）", d->label);
			form_error(f, 422, d->name, "id_format", msg);
			return NULL;
		}
	case FK_EMAIL:
		if (fullwidth_fold(s, buf, sizeof(buf)) < sizeof(buf) && email_ok(buf))
			return json_string(buf);
		snprintf(msg, sizeof(msg), "%s格式不正确", d->label);
		form_error(f, 422, d->name, "email_invalid", msg);
		return NULL;
	case FK_TAX:
		if (fullwidth_fold(s, buf, sizeof(buf)) >= sizeof(buf))
			buf[0] = '\0';
		for (char *p = buf; *p != '\0'; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		if (buf[0] != '\0' && strspn(buf, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(buf))
			return json_string(buf);
		form_error(f, 422, d->name, "tax_number_invalid",
			   "纳税人识别号应为 15 至 20 位数字或大写字母");
		return NULL;
	case FK_ID_TYPE:
		if (order_form_id_type_label(s)[0] != '\0')
			return json_string(s);
		form_error(f, 422, d->name, "field_invalid", "证件类型应为居民身份证或港澳台居民居住证");
		return NULL;
	}
	return NULL;
}

json_t *order_form_read(struct form *f, json_t *in, json_t *base, const char *key_type)
{
	json_t *out = base != NULL ? json_deep_copy(base) : json_object(), *saved = f->body;
	int main_key = strcmp(key_type, "main") == 0;

	f->body = in;
	for (size_t i = 0; i < NFIELDS; i++) {
		json_t *v = json_object_get(in, fields[i].name), *ok;
		if (fields[i].main_only && !main_key)
			continue;
		if (v == NULL)
			continue;
		if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
			json_object_del(out, fields[i].name); /* cleared */
			continue;
		}
		if ((ok = one(f, &fields[i])) != NULL)
			json_object_set_new(out, fields[i].name, ok);
	}
	f->body = saved;
	return out;
}

void order_form_defaults(json_t *form, const struct org_rec *o, const char *key_type)
{
	if (json_object_get(form, "handler_name") == NULL)
		json_object_set_new(form, "handler_name", json_string(o->handler_name));
	if (json_object_get(form, "handler_mobile") == NULL)
		json_object_set_new(form, "handler_mobile", json_string(o->handler_mobile));
	if (json_object_get(form, "invoice_title") == NULL)
		json_object_set_new(form, "invoice_title", json_string(o->name));
	if (json_object_get(form, "invoice_tax_number") == NULL)
		json_object_set_new(form, "invoice_tax_number", json_string(o->uscc));
	if (json_object_get(form, "legal_id_type") == NULL)
		json_object_set_new(form, "legal_id_type", json_string("resident_id"));
	if (strcmp(key_type, "main") == 0 && json_object_get(form, "seal_name") == NULL)
		json_object_set_new(form, "seal_name", json_string(o->name));
}

json_t *order_form_missing(json_t *form, const char *key_type)
{
	json_t *missing = json_array();

	for (size_t i = 0; i < NFIELDS; i++) {
		if (fields[i].main_only && strcmp(key_type, "main") != 0)
			continue;
		if (json_object_get(form, fields[i].name) == NULL)
			json_array_append_new(missing, json_pack("{s:s, s:s}", "field", fields[i].name,
								 "label", fields[i].label));
	}
	return missing;
}
