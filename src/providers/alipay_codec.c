/* The pure parts of the Alipay adapter (providers/alipay.h): the text that is signed, the raw
 * "..._response" object of a reply, amounts in yuan and Beijing time stamps. No I/O. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/alipay.h"
#include "util/urlform.h"
#include "util/xalloc.h"

#define BEIJING_OFFSET_S (8 * 3600)
#define MAX_YUAN_DIGITS 12

/* qsort comparator: fields by name, bytewise. */
static int by_name(const void *a, const void *b)
{
	const struct urlform_field *x = *(const struct urlform_field *const *)a;
	const struct urlform_field *y = *(const struct urlform_field *const *)b;

	return strcmp(x->name, y->name);
}

/* Returns 1 when field x is part of the signed text. */
static int signed_field(const struct urlform_field *x, int v1)
{
	if (x->value[0] == '\0' || strcmp(x->name, "sign") == 0)
		return 0;
	return !(v1 && strcmp(x->name, "sign_type") == 0);
}

char *alipay_sign_content(const struct urlform *f, int v1)
{
	const struct urlform_field **v = xcalloc((f->n + 1) * sizeof(*v));
	size_t n = 0, total = 1;
	char *out, *p;

	for (size_t i = 0; i < f->n; i++)
		if (signed_field(&f->f[i], v1)) {
			v[n++] = &f->f[i];
			total += strlen(f->f[i].name) + strlen(f->f[i].value) + 2;
		}
	qsort(v, n, sizeof(*v), by_name);
	out = p = xcalloc(total);
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(v[i]->name), lv = strlen(v[i]->value);
		if (i > 0)
			*p++ = '&';
		memcpy(p, v[i]->name, ln);
		p += ln;
		*p++ = '=';
		memcpy(p, v[i]->value, lv);
		p += lv;
	}
	*p = '\0';
	free(v);
	return out;
}

/* Skips JSON white space from p; returns the first other position (or end). */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* p is at a '"': returns the position after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Returns the position after the JSON value starting at p, or NULL. The body has been checked by
 * jansson already; this only has to find where the value ends. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && strchr(",}] \t\r\n", *p) == NULL)
			p++;
		return p;
	}
	while (p < end) {
		if (*p == '"') {
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/* Finds the raw value of the top-level member name in the object text [p, end). Returns 0 with
 * *obj and *objlen set, or -1. */
static int find_member(const char *p, const char *end, const char *name, const char **obj, size_t *objlen)
{
	size_t nl = strlen(name);

	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	for (;;) {
		const char *key, *kend, *v;
		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			return -1;
		key = p + 1;
		if ((p = skip_string(p, end)) == NULL)
			return -1;
		kend = p - 1;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		v = p = skip_ws(p, end);
		if ((p = skip_value(p, end)) == NULL)
			return -1;
		if ((size_t)(kend - key) == nl && memcmp(key, name, nl) == 0) {
			*obj = v;
			*objlen = (size_t)(p - v);
			return *v == '{' ? 0 : -1;
		}
		p = skip_ws(p, end);
		if (p >= end || *p != ',')
			return -1;
		p++;
	}
}

int alipay_reply_extract(const char *body, size_t len, const char *name, const char **obj, size_t *objlen,
			 char *sign, size_t signlen)
{
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *s = json_object_get(root, "sign");
	int rc = -1;

	*obj = NULL;
	*objlen = 0;
	if (signlen > 0)
		sign[0] = '\0';
	if (!json_is_object(root) || !json_is_object(json_object_get(root, name)))
		goto out;
	if (s != NULL && (!json_is_string(s) || json_string_length(s) >= signlen))
		goto out;
	if (find_member(body, body + len, name, obj, objlen) != 0) {
		*obj = NULL;
		*objlen = 0;
		goto out;
	}
	if (s != NULL)
		memcpy(sign, json_string_value(s), json_string_length(s) + 1);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int alipay_yuan_to_fen(const char *s, long long *fen)
{
	long long yuan = 0, cents = 0;
	size_t i = 0, nd;

	if (s == NULL)
		return -1;
	/* the bound is checked digit by digit: a long run of digits must not overflow */
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i >= MAX_YUAN_DIGITS)
			return -1;
		yuan = yuan * 10 + (s[i] - '0');
	}
	if (i == 0 || (s[0] == '0' && i > 1))
		return -1;
	if (s[i] == '.') {
		for (nd = 0, i++; nd < 3 && s[i] >= '0' && s[i] <= '9'; nd++, i++)
			cents = cents * 10 + (s[i] - '0');
		if (nd == 0 || nd > 2)
			return -1;
		if (nd == 1)
			cents *= 10;
	}
	if (s[i] != '\0')
		return -1;
	*fen = yuan * 100 + cents;
	return 0;
}

char *alipay_fen_to_yuan(long long fen, char *out)
{
	if (fen < 0)
		fen = 0;
	snprintf(out, 32, "%lld.%02lld", fen / 100, fen % 100);
	return out;
}

char *alipay_time_format(long long t, char *out)
{
	time_t bj = (time_t)(t + BEIJING_OFFSET_S);
	struct tm tm;

	if (gmtime_r(&bj, &tm) == NULL || strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) != 19)
		snprintf(out, 20, "1970-01-01 08:00:00");
	return out;
}

int alipay_time_parse(const char *s, long long *t)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	struct tm tm = {0};
	char back[20];
	time_t u;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return -1;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	if ((u = timegm(&tm)) == (time_t)-1)
		return -1;
	/* a date that does not exist (2026-02-30) comes back as another one */
	if (strcmp(alipay_time_format((long long)u - BEIJING_OFFSET_S, back), s) != 0)
		return -1;
	*t = (long long)u - BEIJING_OFFSET_S;
	return 0;
}
