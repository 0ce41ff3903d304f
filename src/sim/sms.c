/* Tencent Cloud SMS SendSms, simulated: TC3 checked with the [sms] keys, the request checked as
 * Tencent checks it (application, signature, template, parameter count, E.164 numbers), answers in
 * Tencent's shape (Response.SendStatusSet, or Response.Error), every delivered message kept in the
 * recipient's inbox. */
#include "sim/sms.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http.h"
#include "providers/sms.h"
#include "sim/recorder.h"
#include "sim/tcsim.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define KEEP 1000
#define VERSION "2021-01-11"
#define MAX_NUMBERS 200
#define CODE_MAX 128

/* What the approved templates say, by enum sms_template; {n} is the n-th parameter. */
static const char *const template_texts[SMS_TPL_COUNT] = {
	"您的验证码为{1}，{2}分钟内有效，请勿泄露给他人。",
	"您的数字证书申请（订单{1}）已通过审核，请登录平台完成缴费。",
	"您的数字证书申请（订单{1}）未通过审核，请登录平台查看原因，修改后重新提交。",
	"您寄来的纸质材料（订单{1}）有问题，请登录平台查看并按要求补寄。",
	"您的数字证书（订单{1}）已由顺丰寄出，运单号{2}，请注意查收。",
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *inbox; /* array, oldest first */
static char fail_code[CODE_MAX], fail_message[256];
static int fail_count, delay_s;

void sms_clear(void)
{
	pthread_mutex_lock(&mu);
	json_decref(inbox);
	inbox = NULL;
	fail_count = 0;
	delay_s = 0;
	pthread_mutex_unlock(&mu);
}

/* Replies with Response = body plus a RequestId (body reference stolen). */
static int reply_response(struct http_req *r, json_t *body)
{
	unsigned char b[16];
	char hex[33], id[37];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(hex, sizeof(hex), b, sizeof(b));
	snprintf(id, sizeof(id), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	json_object_set_new(body, "RequestId", json_string(id));
	return http_reply_json(r, 200, json_pack("{s:o}", "Response", body));
}

/* Replies with Tencent's error shape (HTTP 200, Response.Error) and returns -1. */
static int refuse(struct http_req *r, const char *code, const char *message)
{
	reply_response(r, json_pack("{s:{s:s, s:s}}", "Error", "Code", code, "Message", message));
	return -1;
}

/* Checks the signature and common headers (sim/tcsim.h); returns 0, or replies with Tencent's error and
 * returns -1. */
static int check_request(struct http_req *r, const struct config *cfg, const char *body, size_t len)
{
	const char *action = http_header(r, "X-TC-Action");
	const char *msg = NULL, *code = tcsim_check(r, cfg->sms_secret_id, cfg->sms_secret_key, "sms",
						    VERSION, "NoSuchVersion", body, len, &msg);

	if (code == NULL && (action == NULL || strcmp(action, "SendSms") != 0))
		code = "InvalidAction", msg = "接口不存在";
	return code != NULL ? refuse(r, code, msg) : 0;
}

/* Returns the enum sms_template whose configured id is id, or -1. */
static int template_of(const struct config *cfg, const char *id)
{
	struct sms_config c;

	sms_config_from(&c, cfg);
	for (int i = 0; id != NULL && i < SMS_TPL_COUNT; i++)
		if (strcmp(c.template_ids[i], id) == 0)
			return i;
	return -1;
}

/* Returns the number of names in a NULL-terminated list. */
static size_t count_of(const char *const *names)
{
	size_t n = 0;
	while (names[n] != NULL)
		n++;
	return n;
}

/* Checks what applies to the whole request; returns the template, or replies with the error
 * Tencent gives and returns -1. */
static int check_fields(struct http_req *r, const struct config *cfg, json_t *in)
{
	json_t *phones = json_object_get(in, "PhoneNumberSet"),
	       *params = json_object_get(in, "TemplateParamSet");
	const char *app = json_string_value(json_object_get(in, "SmsSdkAppId"));
	const char *sign = json_string_value(json_object_get(in, "SignName"));
	json_t *ctx = json_object_get(in, "SessionContext"), *p;
	int t = template_of(cfg, json_string_value(json_object_get(in, "TemplateId")));
	size_t i;

	if (!json_is_array(phones) || json_array_size(phones) == 0)
		return refuse(r, "MissingParameter.EmptyPhoneNumberSet", "传入的号码列表为空");
	if (json_array_size(phones) > MAX_NUMBERS)
		return refuse(r, "LimitExceeded.PhoneNumberCountLimit", "单次提交的手机号个数超过200个");
	if (app == NULL || strcmp(app, cfg->sms_sdk_app_id) != 0)
		return refuse(r, "UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId 校验失败");
	if (sign == NULL || strcmp(sign, cfg->sms_sign_name) != 0)
		return refuse(r, "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误");
	if (t < 0)
		return refuse(r, "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配");
	if (ctx != NULL && (!json_is_string(ctx) || strlen(json_string_value(ctx)) > SMS_CONTEXT_MAX))
		return refuse(r, "InvalidParameter", "SessionContext 长度需小于512字节");
	if (!json_is_array(params) || json_array_size(params) != count_of(sms_template_params(t)))
		return refuse(r, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
			      "请求内容与审核通过的模板内容不匹配");
	json_array_foreach (params, i, p) {
		const char *s = json_string_value(p);
		if (s == NULL || str_has_control(s))
			return refuse(r, "InvalidParameter", "TemplateParamSet 须为字符串数组");
		if (t == SMS_TPL_VERIFY_CODE && i == 0 &&
		    (strlen(s) > 6 || strspn(s, "0123456789") != strlen(s)))
			return refuse(r, "InvalidParameterValue.TemplateParameterFormatError",
				      "验证码模板参数格式错误，验证码类模板，模板变量只能传入0 - "
				      "6位（包括6位）纯数字");
	}
	return t;
}

/* Returns "【sign】" and the template's text with its parameters filled in. Caller frees. */
static char *render(const char *sign, int t, json_t *params)
{
	const char *s = template_texts[t];
	size_t cap = strlen(sign) + strlen(s) + 16, len;
	char *out;

	for (size_t i = 0; i < json_array_size(params); i++)
		cap += strlen(json_string_value(json_array_get(params, i)));
	out = xcalloc(cap);
	len = (size_t)snprintf(out, cap, "【%s】", sign);
	while (*s != '\0') {
		size_t k;
		if (s[0] == '{' && s[1] >= '1' && s[1] <= '9' && s[2] == '}' &&
		    (k = (size_t)(s[1] - '1')) < json_array_size(params)) {
			len += (size_t)snprintf(out + len, cap - len, "%s",
						json_string_value(json_array_get(params, k)));
			s += 3;
		} else {
			out[len++] = *s++;
		}
	}
	out[len] = '\0';
	return out;
}

/* Returns 1 when e164 is +86 and a mainland mobile number (1[3-9] and 9 more digits). */
static int mainland_mobile(const char *e164)
{
	return e164 != NULL && strlen(e164) == 14 && strncmp(e164, "+86", 3) == 0 && e164[3] == '1' &&
	       e164[4] >= '3' && e164[4] <= '9' && strspn(e164 + 3, "0123456789") == 11;
}

/* Takes one armed failure, if any, into code/message; returns 1 when one was armed. */
static int take_failure(char code[CODE_MAX], char message[256])
{
	int armed;

	pthread_mutex_lock(&mu);
	armed = fail_count > 0;
	if (armed) {
		fail_count--;
		str_copy(code, fail_code, CODE_MAX);
		str_copy(message, fail_message, 256);
	}
	pthread_mutex_unlock(&mu);
	return armed;
}

/* Returns 1 when a failure code concerns one number (reported in SendStatusSet). */
static int per_number(const char *code)
{
	return strncmp(code, "LimitExceeded.", 14) == 0 || strstr(code, "PhoneNumber") != NULL;
}

/* Delivers to one number and returns its SendStatus: the message goes to the inbox, or the
 * number's error (fail_code non-NULL: the armed failure). */
static json_t *deliver(const struct config *cfg, const char *phone, int t, json_t *params, const char *ctx,
		       const char *fail, const char *fail_msg)
{
	json_t *st =
		json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "SerialNo", "", "PhoneNumber", phone, "Fee",
			  0, "SessionContext", ctx, "Code", "Ok", "Message", "send success", "IsoCode", "CN");
	char serial[64], at[TIMEFMT_LEN], *text;
	struct sms_config c;

	if (fail != NULL || !mainland_mobile(phone)) {
		json_object_set_new(st, "Code",
				    json_string(fail ? fail : "InvalidParameterValue.IncorrectPhoneNumber"));
		json_object_set_new(st, "Message", json_string(fail ? fail_msg : "手机号格式错误"));
		return st;
	}
	snprintf(serial, sizeof(serial), "2433:%010u%010u", randombytes_random() % 1000000000u,
		 randombytes_random() % 1000000000u);
	json_object_set_new(st, "SerialNo", json_string(serial));
	json_object_set_new(st, "Fee", json_integer(1));
	text = render(cfg->sms_sign_name, t, params);
	sms_config_from(&c, cfg);
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:s, s:s}", "phone", phone + 3,
			      "phone_number", phone, "template", sms_template_name(t), "template_id",
			      c.template_ids[t], "params", params, "text", text, "session_context", ctx,
			      "serial_no", serial, "time", timefmt_now_ms(at));
	free(text);
	pthread_mutex_lock(&mu);
	if (inbox == NULL)
		inbox = json_array();
	json_array_append_new(inbox, m);
	if (json_array_size(inbox) > KEEP)
		json_array_remove(inbox, 0);
	pthread_mutex_unlock(&mu);
	return st;
}

/* SendSms on a checked request. */
static int send_sms(struct http_req *r, const struct config *cfg, json_t *in, int t)
{
	char code[CODE_MAX], message[256];
	int failing = take_failure(code, message), wait;
	const char *ctx = json_string_value(json_object_get(in, "SessionContext"));
	json_t *phones = json_object_get(in, "PhoneNumberSet"), *set = json_array(), *p;
	size_t i;

	if (failing && !per_number(code)) {
		json_decref(set);
		refuse(r, code, message);
		return 0;
	}
	json_array_foreach (phones, i, p)
		json_array_append_new(set, deliver(cfg, json_is_string(p) ? json_string_value(p) : "", t,
						   json_object_get(in, "TemplateParamSet"), ctx ? ctx : "",
						   failing ? code : NULL, message));
	pthread_mutex_lock(&mu);
	wait = delay_s;
	delay_s = 0;
	pthread_mutex_unlock(&mu);
	if (wait > 0)
		sleep((unsigned)wait); /* delivered already: only the answer is late */
	return reply_response(r, json_pack("{s:o}", "SendStatusSet", set));
}

int sms_api(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	size_t len;
	const char *body = http_body(r, &len);
	json_t *in;
	int t, rc = 0;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	if (check_request(r, cfg, body, len) != 0)
		return 0;
	if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(in)) {
		json_decref(in);
		refuse(r, "FailedOperation.JsonParseFail", "解析请求包体时候失败");
		return 0;
	}
	if ((t = check_fields(r, cfg, in)) >= 0)
		rc = send_sms(r, cfg, in, t);
	json_decref(in);
	return rc;
}

int sms_sim_inbox(struct http_req *r)
{
	const char *q = http_query(r, "phone");
	size_t qlen = q != NULL ? strlen(q) : 0, i;
	json_t *out = json_array(), *m;

	/* +8613800138000, 8613800138000 and 13800138000 name the same phone */
	if (qlen > 11)
		q += qlen - 11;
	pthread_mutex_lock(&mu);
	json_array_foreach (inbox, i, m)
		if (q == NULL || strcmp(json_string_value(json_object_get(m, "phone")), q) == 0)
			json_array_append_new(out, json_deep_copy(m));
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200, json_pack("{s:o}", "items", out));
}

int sms_sim_clear(struct http_req *r)
{
	sms_clear();
	return http_reply_json(r, 200, json_object());
}

int sms_sim_fail_next(struct http_req *r)
{
	size_t len;
	const char *body = http_body(r, &len), *code, *msg;
	json_t *in, *n;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	if ((in = http_json_body(r)) == NULL)
		return 0;
	code = json_string_value(json_object_get(in, "code"));
	msg = json_string_value(json_object_get(in, "message"));
	n = json_object_get(in, "count");
	if (code == NULL || code[0] == '\0' || strlen(code) >= CODE_MAX || str_has_control(code) ||
	    (n != NULL &&
	     (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 100))) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request", "需要 code（腾讯云错误码）；count 为 1-100",
					NULL);
	}
	pthread_mutex_lock(&mu);
	str_copy(fail_code, code, sizeof(fail_code));
	str_copy(fail_message, msg != NULL ? msg : "模拟器按测试要求返回的错误", sizeof(fail_message));
	fail_count = n != NULL ? (int)json_integer_value(n) : 1;
	pthread_mutex_unlock(&mu);
	json_t *reply =
		json_pack("{s:s, s:i}", "code", code, "count", n != NULL ? (int)json_integer_value(n) : 1);
	json_decref(in);
	return http_reply_json(r, 200, reply);
}

int sms_sim_delay_next(struct http_req *r)
{
	size_t len;
	const char *body = http_body(r, &len);
	json_t *in, *s;
	int seconds;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	if ((in = http_json_body(r)) == NULL)
		return 0;
	s = json_object_get(in, "seconds");
	if (!json_is_integer(s) || json_integer_value(s) < 1 || json_integer_value(s) > 60) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request", "需要 seconds（1-60）", NULL);
	}
	seconds = (int)json_integer_value(s);
	json_decref(in);
	pthread_mutex_lock(&mu);
	delay_s = seconds;
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200, json_pack("{s:i}", "seconds", seconds));
}
