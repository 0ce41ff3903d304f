/* SF Express route query: the reply parser (envelope, the JSON text in apiResultData, the routes of
 * one waybill, bounded and checked) and the opCode labels. Pure: no I/O, so it is fuzzed as is. */
#include "providers/sf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "util/xalloc.h"

#define MSG_SHOWN 150 /* bytes of SF's own message kept in err */

/* apiResultCode verdicts. A1000, A1004 and A1006 are in docs/reference (section 8); the others
 * are the gateway's common codes as remembered from SF's 公共响应参数 table [UNVERIFIED]. Codes not
 * listed are worth retrying: a route query costs nothing to repeat. */
static const struct {
	const char *code;
	int result;
} verdicts[] = {
	{"A1001", SF_PERMANENT}, /* a required parameter is empty [UNVERIFIED] */
	{"A1002", SF_RETRY},     /* request expired: a clock the operator can fix [UNVERIFIED] */
	{"A1003", SF_PERMANENT}, /* IP not allowed [UNVERIFIED] */
	{"A1004", SF_PERMANENT}, /* the service is not associated with the partner */
	{"A1005", SF_RETRY},     /* flow control [UNVERIFIED] */
	{"A1006", SF_PERMANENT}, /* msgDigest invalid: wrong check word */
	{"A1007", SF_RETRY},     /* duplicate requestID; the next call has a new one [UNVERIFIED] */
	{"A1009", SF_RETRY},     /* target service unavailable [UNVERIFIED] */
	{"A1099", SF_RETRY},     /* system error [UNVERIFIED] */
};

/* opCode labels. 50 and 80 are in docs/reference (section 8, SF's mock data); 30, 31, 36 and 54
 * are as seen with their remarks in public sample data (third-party, not SF's documentation); the
 * rest are [UNVERIFIED] readings of the codes, kept because their remarks agree in practice. */
static const struct {
	const char *code, *label;
} labels[] = {
	{"50", "已揽收"},   {"54", "已揽收"}, /* sample data: "顺丰速运 已收取快件" */
	{"30", "运输中"},   /* sample data: "快件在【…】完成分拣，准备发往 【…】" */
	{"36", "运输中"},   /* sample data: "快件离开 【…】，已在发往 【…】 的路上" */
	{"31", "运输中"},   /* sample data: "快件到达 【…】" */
	{"44", "派送中"},   /* [UNVERIFIED] */
	{"204", "派送中"},  /* [UNVERIFIED] */
	{"70", "派送失败"}, /* [UNVERIFIED] */
	{"33", "派送异常"}, /* [UNVERIFIED] */
	{"99", "转寄中"},   /* [UNVERIFIED] */
	{"80", "已签收"},   {"8000", "已签收"}, /* [UNVERIFIED] */
};

const char *sf_op_label(const char *op_code)
{
	for (size_t i = 0; op_code != NULL && i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i].code, op_code) == 0)
			return labels[i].label;
	return NULL;
}

void sf_routes_free(struct sf_route *routes)
{
	free(routes);
}

/* Returns the verdict for an apiResultCode other than A1000. */
static int classify(const char *code)
{
	for (size_t i = 0; code != NULL && i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (strcmp(verdicts[i].code, code) == 0)
			return verdicts[i].result;
	return SF_RETRY;
}

/* Returns 1 when s is printable UTF-8 of fewer than size bytes. */
static int text_ok(const char *s, size_t size)
{
	return strlen(s) < size && utf8_chars(s) >= 0 && !str_has_control(s);
}

/* Writes "code: message" into err, SF's message cut to MSG_SHOWN bytes on a character boundary and
 * left out when it is not printable text; returns result. */
static int fail(char *err, size_t errlen, int result, const char *code, const char *msg)
{
	size_t cut;

	if (code == NULL || !text_ok(code, 32))
		code = "?";
	if (msg == NULL || !text_ok(msg, 4096))
		msg = "";
	cut = strlen(msg);
	if (cut > MSG_SHOWN) {
		cut = MSG_SHOWN;
		while (cut > 0 && ((unsigned char)msg[cut] & 0xC0) == 0x80)
			cut--;
	}
	snprintf(err, errlen, "%s: %.*s", code, (int)cut, msg);
	return result;
}

/* Copies a text member of a route into dst (size bytes): absent or null gives "". Returns 0, or -1
 * when it is not a string or not printable UTF-8 shorter than size. */
static int member_text(json_t *route, const char *name, char *dst, size_t size)
{
	json_t *v = json_object_get(route, name);

	if (v == NULL || json_is_null(v)) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || !text_ok(json_string_value(v), size))
		return -1;
	str_copy(dst, json_string_value(v), size);
	return 0;
}

/* Returns 1 when the two digits at s make a number in [lo, hi]. */
static int two_digits(const char *s, int lo, int hi)
{
	int v;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return 0;
	v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi;
}

/* Returns 1 when s is "yyyy-MM-dd HH:mm:ss" with fields in range. */
static int time_ok(const char *s)
{
	return strlen(s) == SF_TIME_LEN - 1 && two_digits(s, 19, 29) && two_digits(s + 2, 0, 99) &&
	       s[4] == '-' && two_digits(s + 5, 1, 12) && s[7] == '-' && two_digits(s + 8, 1, 31) &&
	       s[10] == ' ' && two_digits(s + 11, 0, 23) && s[13] == ':' && two_digits(s + 14, 0, 59) &&
	       s[16] == ':' && two_digits(s + 17, 0, 59);
}

/* Sorts r[0..n) by time, oldest first, keeping SF's order among equal times (insertion sort: SF
 * sends them in order already, so this is one pass). */
static void sort_routes(struct sf_route *r, size_t n)
{
	struct sf_route tmp;

	for (size_t i = 1; i < n; i++) {
		size_t j = i;
		if (strcmp(r[i - 1].time, r[i].time) <= 0)
			continue;
		tmp = r[i];
		while (j > 0 && strcmp(r[j - 1].time, tmp.time) > 0) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = tmp;
	}
}

/* Reads the routes array of one routeResps entry. Returns SF_OK with *routes and *n, or SF_RETRY
 * with err. */
static int read_routes(json_t *list, struct sf_route **routes, size_t *n, char *err, size_t errlen)
{
	size_t count = json_array_size(list), i;
	struct sf_route *r;
	json_t *e;

	if (!json_is_array(list))
		return fail(err, errlen, SF_RETRY, "reply", "routes is not an array");
	if (count > SF_ROUTES_MAX)
		return fail(err, errlen, SF_RETRY, "reply", "more than 200 routes");
	if (count == 0)
		return SF_OK;
	r = xcalloc(count * sizeof(*r));
	json_array_foreach (list, i, e) {
		const char *bad = NULL;
		if (!json_is_object(e))
			bad = "a route is not an object";
		else if (member_text(e, "acceptTime", r[i].time, sizeof(r[i].time)) != 0 ||
			 !time_ok(r[i].time))
			bad = "acceptTime missing or not yyyy-MM-dd HH:mm:ss";
		else if (member_text(e, "acceptAddress", r[i].address, sizeof(r[i].address)) != 0)
			bad = "acceptAddress not a short text";
		else if (member_text(e, "remark", r[i].remark, sizeof(r[i].remark)) != 0)
			bad = "remark not a short text";
		else if (member_text(e, "opCode", r[i].op_code, sizeof(r[i].op_code)) != 0)
			bad = "opCode not a short text";
		if (bad != NULL) {
			free(r);
			return fail(err, errlen, SF_RETRY, "reply", bad);
		}
	}
	sort_routes(r, count);
	*routes = r;
	*n = count;
	return SF_OK;
}

/* Reads the business result (apiResultData, parsed) for mail_no. Returns as sf_parse_reply. */
static int read_result(json_t *data, const char *mail_no, struct sf_route **routes, size_t *n, char *err,
		       size_t errlen)
{
	json_t *ok = json_object_get(data, "success"), *code = json_object_get(data, "errorCode");
	json_t *resps = json_object_get(json_object_get(data, "msgData"), "routeResps"), *e;
	const char *msg = json_string_value(json_object_get(data, "errorMsg"));
	size_t i;

	if (!json_is_object(data) || !json_is_boolean(ok) || (code != NULL && !json_is_string(code)))
		return fail(err, errlen, SF_RETRY, "reply", "apiResultData without success/errorCode");
	if (!json_is_true(ok) || (code != NULL && strcmp(json_string_value(code), "S0000") != 0)) {
		if (code == NULL || strcmp(json_string_value(code), "S0000") == 0)
			return fail(err, errlen, SF_RETRY, "reply", "success false without an errorCode");
		return fail(err, errlen, SF_PERMANENT, json_string_value(code), msg);
	}
	if (!json_is_array(resps))
		return fail(err, errlen, SF_RETRY, "reply", "msgData.routeResps is not an array");
	json_array_foreach (resps, i, e) {
		const char *m = json_string_value(json_object_get(e, "mailNo"));
		if (m != NULL && strcmp(m, mail_no) == 0)
			return read_routes(json_object_get(e, "routes"), routes, n, err, errlen);
	}
	return fail(err, errlen, SF_RETRY, "reply", "routeResps has no entry for the waybill");
}

int sf_parse_reply(const char *body, size_t len, const char *mail_no, struct sf_route **routes, size_t *n,
		   char *err, size_t errlen)
{
	json_t *env = NULL, *data = NULL;
	const char *code, *msg, *text;
	int rc;

	*routes = NULL;
	*n = 0;
	str_copy(err, "", errlen);
	if (body == NULL || mail_no == NULL)
		return fail(err, errlen, SF_RETRY, "reply", "empty");
	if (len > SF_MAX_REPLY)
		return fail(err, errlen, SF_RETRY, "reply", "longer than 1 MiB");
	env = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	code = json_string_value(json_object_get(env, "apiResultCode"));
	msg = json_string_value(json_object_get(env, "apiErrorMsg"));
	text = json_string_value(json_object_get(env, "apiResultData"));
	if (!json_is_object(env) || code == NULL) {
		rc = fail(err, errlen, SF_RETRY, "reply", "not a JSON object with apiResultCode");
	} else if (strcmp(code, "A1000") != 0) {
		rc = fail(err, errlen, classify(code), code, msg);
	} else if (text == NULL || (data = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		rc = fail(err, errlen, SF_RETRY, "reply", "apiResultData is not a JSON text");
	} else {
		rc = read_result(data, mail_no, routes, n, err, errlen);
	}
	json_decref(data);
	json_decref(env);
	return rc;
}
