/* Tencent FaceID H5 adapter: DetectAuth and GetDetectInfoEnhanced over providers/tcapi.c, and the
 * mapping of the provider's result codes to reasons a user understands. */
#include "providers/idv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "providers/tcapi.h"
#include "util/strnum.h"
#include "util/strutil.h"

#define FACEID_SERVICE "faceid"
#define FACEID_VERSION "2018-03-01"
#define NAME_MAX_BYTES 150
#define EXTRA_MAX_BYTES 1000

/* Result codes of the H5 flow (cloud.tencent.com/document/product/1007/31082) and what we tell the
 * user; 0 is success and 17 (本次流程未完成) means the person has not finished. */
static const struct {
	int code;
	const char *reason;
} failure_reasons[] = {
	{4, "人脸核验服务异常，请稍后重试"},
	{8, "人脸核验服务异常，请稍后重试"},
	{10, "人脸核验服务异常，请稍后重试"},
	{12, "人脸核验服务异常，请稍后重试"},
	{13, "人脸核验服务异常，请稍后重试"},
	{15, "核验已过期，请重新发起人脸核验"},
	{16, "已达到核验次数上限"},
	{301, "核验人的身份证号与法定代表人的身份证号不一致"},
	{302, "身份证已过期，请使用有效身份证"},
	{303, "身份证识别失败，请重新拍摄"},
	{1001, "人脸核验服务繁忙，请稍后重试"},
	{1002, "活体检测未通过"},
	{1003, "活体检测未通过"},
	{1004, "活体检测未通过"},
	{1005, "活体检测未通过"},
	{1008, "网络不稳定，活体检测未完成，请重试"},
	{2001, "人脸核验服务繁忙，请稍后重试"},
	{2002, "姓名有误"},
	{2003, "身份证号有误"},
	{2005, "未查询到身份信息"},
	{2006, "身份信息与公安库不一致"},
	{2016, "人脸比对不一致"},
};

void idv_config_from(struct idv_config *c, const struct config *cfg)
{
	c->endpoint = cfg->idv_endpoint;
	c->host = cfg->idv_host;
	c->secret_id = cfg->idv_secret_id;
	c->secret_key = cfg->idv_secret_key;
	c->rule_id = cfg->idv_rule_id;
	c->region = cfg->idv_region;
	c->timeout_s = cfg->idv_timeout_s;
}

/* Writes the reason for result code into out, with the code in brackets. */
static void failure_reason(long code, char *out, size_t len)
{
	const char *r = "人脸核验未通过";

	for (size_t i = 0; i < sizeof(failure_reasons) / sizeof(failure_reasons[0]); i++)
		if (failure_reasons[i].code == code)
			r = failure_reasons[i].reason;
	snprintf(out, len, "%s（错误码 %ld）", r, code);
}

/* Writes the user's message for a failed call into err. */
static void call_error(int rc, const char *code, char *err, size_t errlen)
{
	const char *m;

	if (rc == TCAPI_TRANSPORT) {
		str_copy(err, "人脸核验服务暂时无法连接，请稍后重试", errlen);
		return;
	}
	if (rc == TCAPI_BAD_REPLY) {
		str_copy(err, "人脸核验服务应答异常，请稍后重试", errlen);
		return;
	}
	if (strcmp(code, "InvalidParameterValue.BizTokenExpired") == 0)
		m = "核验已过期，请重新发起人脸核验";
	else if (strcmp(code, "InvalidParameterValue.BizTokenIllegal") == 0)
		m = "核验流水号无效，请重新发起人脸核验";
	else if (strncmp(code, "AuthFailure", 11) == 0)
		m = "人脸核验服务认证失败，请联系管理员";
	else if (strcmp(code, "RequestLimitExceeded") == 0)
		m = "人脸核验请求过于频繁，请稍后重试";
	else
		m = "人脸核验服务暂不可用，请稍后重试";
	snprintf(err, errlen, "%s（%s）", m, code);
}

/* Calls action with payload; returns 0 with *response (caller decrefs), or -1 with err. */
static int call(const struct idv_config *c, const char *action, json_t *payload, json_t **response, char *err,
		size_t errlen)
{
	struct tcapi t = {c->endpoint, c->host, c->secret_id, c->secret_key, c->region, c->timeout_s};
	char code[128], detail[256];
	char *text = json_dumps(payload, JSON_COMPACT);
	int rc;

	if (text == NULL) {
		str_copy(err, "人脸核验请求无法生成", errlen);
		return -1;
	}
	rc = tcapi_call(&t, FACEID_SERVICE, action, FACEID_VERSION, text, response, code, sizeof(code),
			detail, sizeof(detail));
	free(text);
	if (rc != TCAPI_OK) {
		call_error(rc, code, err, errlen);
		return -1;
	}
	return 0;
}

/* Returns 1 when s is a plausible resident ID number: 18 characters, digits and a final X/x. */
static int id_plausible(const char *s)
{
	return s != NULL && strlen(s) == 18 && strspn(s, "0123456789") >= 17 &&
	       (s[17] == 'X' || s[17] == 'x' || (s[17] >= '0' && s[17] <= '9'));
}

/* Returns 1 when s is non-empty UTF-8 of at most max bytes without control characters. */
static int text_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= max && utf8_chars(s) > 0 && !str_has_control(s);
}

/* Copies the string member name of o into dst (len bytes); returns 0, or -1 when it is missing,
 * empty or does not fit. */
static int take_string(json_t *o, const char *name, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(o, name));

	if (v == NULL || v[0] == '\0' || strlen(v) >= len)
		return -1;
	str_copy(dst, v, len);
	return 0;
}

int idv_start(const struct idv_config *c, const char *name, const char *id_number, const char *redirect_url,
	      const char *extra, char *url, size_t urllen, char *biz_token, size_t toklen, char *err,
	      size_t errlen)
{
	json_t *payload, *resp = NULL;
	int rc = -1;

	str_copy(err, "", errlen);
	if (!text_ok(name, NAME_MAX_BYTES) || !id_plausible(id_number)) {
		str_copy(err, "姓名或身份证号格式不正确", errlen);
		return -1;
	}
	if ((redirect_url != NULL && !text_ok(redirect_url, IDV_URL_MAX - 1)) ||
	    (extra != NULL && extra[0] != '\0' && !text_ok(extra, EXTRA_MAX_BYTES))) {
		str_copy(err, "人脸核验请求参数不正确", errlen);
		return -1;
	}
	payload = json_pack("{s:s, s:s, s:s}", "RuleId", c->rule_id, "IdCard", id_number, "Name", name);
	if (redirect_url != NULL)
		json_object_set_new(payload, "RedirectUrl", json_string(redirect_url));
	if (extra != NULL && extra[0] != '\0')
		json_object_set_new(payload, "Extra", json_string(extra));
	if (call(c, "DetectAuth", payload, &resp, err, errlen) != 0)
		goto out;
	if (take_string(resp, "Url", url, urllen) != 0 ||
	    take_string(resp, "BizToken", biz_token, toklen) != 0 || str_has_control(biz_token)) {
		str_copy(err, "人脸核验服务应答异常，请稍后重试", errlen);
		goto out;
	}
	rc = 0;
out:
	json_decref(payload);
	json_decref(resp);
	return rc;
}

/* Reads an integer that may come as a number or a string of digits; returns 0 with *out, 1 when
 * it is null or absent, -1 when it is something else. */
static int int_member(json_t *o, const char *name, long *out)
{
	json_t *v = json_object_get(o, name);
	int64_t n;

	if (v == NULL || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && strnum_parse(json_string_value(v), -1000000, 1000000, &n) == 0) {
		*out = (long)n;
		return 0;
	}
	return -1;
}

/* Returns 1 when the ID number the provider returned matches want: same length, equal ignoring the
 * case of X, positions the provider masked with '*' not compared. */
static int id_matches(const char *got, const char *want)
{
	if (strlen(got) != strlen(want))
		return 0;
	for (; *got != '\0'; got++, want++) {
		int x = (*got == 'X' || *got == 'x') && (*want == 'X' || *want == 'x');
		if (*got != '*' && *got != *want && !x)
			return 0;
	}
	return 1;
}

/* Decides a finished verification (ErrCode 0): the checks that also stages passed and that the
 * person verified is the one expected. */
static enum idv_outcome judge_pass(json_t *text, const char *expect_name, const char *expect_id, char *reason,
				   size_t reasonlen)
{
	const char *name = json_string_value(json_object_get(text, "Name"));
	const char *id = json_string_value(json_object_get(text, "IdCard"));
	long live = 0, compare = 0;

	if (int_member(text, "LiveStatus", &live) == 0 && live != 0) {
		failure_reason(live, reason, reasonlen);
		return IDV_FAILED;
	}
	if (int_member(text, "Comparestatus", &compare) == 0 && compare != 0) {
		failure_reason(compare, reason, reasonlen);
		return IDV_FAILED;
	}
	if ((expect_name != NULL && name != NULL && name[0] != '\0' && strcmp(name, expect_name) != 0) ||
	    (expect_id != NULL && id != NULL && id[0] != '\0' && !id_matches(id, expect_id))) {
		str_copy(reason, "核验人与法定代表人的姓名或身份证号不一致", reasonlen);
		return IDV_FAILED;
	}
	str_copy(reason, "", reasonlen);
	return IDV_PASSED;
}

int idv_result(const struct idv_config *c, const char *biz_token, const char *expect_name,
	       const char *expect_id, enum idv_outcome *outcome, char *reason, size_t reasonlen, char *err,
	       size_t errlen)
{
	json_t *payload, *resp = NULL, *text;
	long code = 0;
	int rc = -1, k;

	str_copy(err, "", errlen);
	str_copy(reason, "", reasonlen);
	if (!text_ok(biz_token, IDV_TOKEN_MAX - 1)) {
		str_copy(err, "核验流水号无效", errlen);
		return -1;
	}
	/* InfoType 1: the text results only, not the ID card images, best frames or video. */
	payload = json_pack("{s:s, s:s, s:s}", "BizToken", biz_token, "RuleId", c->rule_id, "InfoType", "1");
	if (call(c, "GetDetectInfoEnhanced", payload, &resp, err, errlen) != 0)
		goto out;
	text = json_object_get(resp, "Text");
	if (!json_is_object(text) || (k = int_member(text, "ErrCode", &code)) < 0) {
		str_copy(err, "人脸核验服务应答异常，请稍后重试", errlen);
		goto out;
	}
	if (k == 1 || code == 17) {
		*outcome = IDV_PENDING;
		str_copy(reason, "尚未完成人脸核验", reasonlen);
	} else if (code != 0) {
		*outcome = IDV_FAILED;
		failure_reason(code, reason, reasonlen);
	} else {
		*outcome = judge_pass(text, expect_name, expect_id, reason, reasonlen);
	}
	rc = 0;
out:
	json_decref(payload);
	json_decref(resp);
	return rc;
}
