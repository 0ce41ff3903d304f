/* Tencent Cloud SMS adapter: SendSms over providers/tcapi.c, the request body built from an outbox
 * row's template and parameters, and the provider's error codes sorted into retry or give up. */
#include "providers/sms.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/phone.h"
#include "providers/tcapi.h"
#include "util/strutil.h"

#define SMS_SERVICE "sms"
#define SMS_ACTION "SendSms"
#define SMS_VERSION "2021-01-11"
#define PARAM_MAX_BYTES 100 /* far above what a template variable holds; refuses runaway values */

static const char *const template_names[SMS_TPL_COUNT] = {"verify_code", "review_pass", "review_reject",
							  "paper_problem", "shipped"};

static const char *const params_verify_code[] = {"code", "minutes", NULL};
static const char *const params_order[] = {"order_no", NULL};
static const char *const params_shipped[] = {"order_no", "detail", NULL}; /* detail: the SF tracking no. */
static const char *const *const template_params[SMS_TPL_COUNT] = {params_verify_code, params_order,
								  params_order, params_order, params_shipped};

/* Tencent error codes by prefix, first match wins; anything not listed is worth retrying (a
 * message kept a little longer beats one lost to a code we did not know). Sources: the SMS API 3.0
 * error code list (cloud.tencent.com/document/api/382/59177) and the common codes (382/52075). */
static const struct {
	const char *prefix;
	int result;
} verdicts[] = {
	{"LimitExceeded.PhoneNumberCountLimit", SMS_PERMANENT}, /* more than 200 numbers: our bug */
	{"LimitExceeded", SMS_RETRY},                           /* per-number and daily limits */
	{"RequestLimitExceeded", SMS_RETRY},
	{"InternalError", SMS_RETRY},
	{"AuthFailure", SMS_RETRY}, /* clock skew, a rotated key: fixable by the operator */
	{"FailedOperation.InsufficientBalanceInSmsPackage", SMS_RETRY},
	{"UnauthorizedOperation.ServiceSuspendDueToArrears", SMS_RETRY},
	{"InvalidParameter", SMS_PERMANENT}, /* InvalidParameterValue.IncorrectPhoneNumber among them */
	{"MissingParameter", SMS_PERMANENT},
	{"UnsupportedOperation", SMS_PERMANENT},
	{"UnauthorizedOperation", SMS_PERMANENT},
	{"InvalidAction", SMS_PERMANENT},
	{"NoSuchVersion", SMS_PERMANENT},
	{"FailedOperation.PhoneNumber", SMS_PERMANENT}, /* InBlacklist, ParseFail */
	{"FailedOperation.Template", SMS_PERMANENT},
	{"FailedOperation.Signature", SMS_PERMANENT},
	{"FailedOperation.ContainSensitiveWord", SMS_PERMANENT},
	{"FailedOperation.JsonParseFail", SMS_PERMANENT},
	{"FailedOperation.FailResolvePacket", SMS_PERMANENT},
};

void sms_config_from(struct sms_config *c, const struct config *cfg)
{
	c->endpoint = cfg->sms_endpoint;
	c->host = cfg->sms_host;
	c->secret_id = cfg->sms_secret_id;
	c->secret_key = cfg->sms_secret_key;
	c->region = cfg->sms_region;
	c->sdk_app_id = cfg->sms_sdk_app_id;
	c->sign_name = cfg->sms_sign_name;
	c->template_ids[SMS_TPL_VERIFY_CODE] = cfg->sms_template_verify_code;
	c->template_ids[SMS_TPL_REVIEW_PASS] = cfg->sms_template_review_pass;
	c->template_ids[SMS_TPL_REVIEW_REJECT] = cfg->sms_template_review_reject;
	c->template_ids[SMS_TPL_PAPER_PROBLEM] = cfg->sms_template_paper_problem;
	c->template_ids[SMS_TPL_SHIPPED] = cfg->sms_template_shipped;
	c->timeout_s = cfg->sms_timeout_s;
}

int sms_template_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < SMS_TPL_COUNT; i++)
		if (strcmp(template_names[i], name) == 0)
			return i;
	return -1;
}

const char *sms_template_name(int tmpl)
{
	return tmpl >= 0 && tmpl < SMS_TPL_COUNT ? template_names[tmpl] : "";
}

const char *const *sms_template_params(int tmpl)
{
	return tmpl >= 0 && tmpl < SMS_TPL_COUNT ? template_params[tmpl] : NULL;
}

int sms_classify(const char *code)
{
	for (size_t i = 0; code != NULL && i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (strncmp(code, verdicts[i].prefix, strlen(verdicts[i].prefix)) == 0)
			return verdicts[i].result;
	return SMS_RETRY;
}

/* Returns 1 when s is 1 to 32 decimal digits (SdkAppId, TemplateId). */
static int digits_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n > 0 && n <= 32 && strspn(s, "0123456789") == n;
}

/* Returns the TemplateParamSet of tmpl from params (a JSON object): one string per template
 * variable, integers written in decimal. Returns NULL with err when one is missing or unfit. */
static json_t *param_set(int tmpl, json_t *params, char *err, size_t errlen)
{
	const char *const *names = template_params[tmpl];
	json_t *set = json_array();
	char num[32];

	for (int i = 0; names[i] != NULL; i++) {
		json_t *v = json_object_get(params, names[i]);
		const char *s = json_string_value(v);
		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			s = num;
		}
		if (s == NULL || s[0] == '\0' || strlen(s) > PARAM_MAX_BYTES || utf8_chars(s) < 0 ||
		    str_has_control(s)) {
			snprintf(err, errlen, "template %s: parameter %s missing or not a short text",
				 template_names[tmpl], names[i]);
			json_decref(set);
			return NULL;
		}
		json_array_append_new(set, json_string(s));
	}
	return set;
}

int sms_request_body(const struct sms_config *c, const char *mobile, const char *tmpl,
		     const char *params_json, const char *session_context, char **body, char *err,
		     size_t errlen)
{
	char digits[MOBILE_LEN + 1], e164[MOBILE_LEN + 4];
	int t = sms_template_from_name(tmpl);
	json_t *params = NULL, *set = NULL, *req;

	*body = NULL;
	str_copy(err, "", errlen);
	if (mobile == NULL || phone_mobile_normalise(mobile, digits) != 0) {
		str_copy(err, "recipient is not a mainland mobile number", errlen);
		return SMS_PERMANENT;
	}
	snprintf(e164, sizeof(e164), "+86%s", digits);
	if (t < 0) {
		snprintf(err, errlen, "unknown template '%.40s'", tmpl != NULL ? tmpl : "");
		return SMS_PERMANENT;
	}
	if (!digits_ok(c->template_ids[t]) || !digits_ok(c->sdk_app_id) || c->sign_name == NULL ||
	    c->sign_name[0] == '\0') {
		snprintf(err, errlen, "sms.sdk_app_id, sms.sign_name or sms.template_%s not set",
			 template_names[t]);
		return SMS_PERMANENT;
	}
	if (session_context == NULL || session_context[0] == '\0' ||
	    strlen(session_context) > SMS_CONTEXT_MAX || str_has_control(session_context) ||
	    utf8_chars(session_context) < 0) {
		str_copy(err, "SessionContext empty, too long or not text", errlen);
		return SMS_PERMANENT;
	}
	params = params_json != NULL ? json_loads(params_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!json_is_object(params)) {
		str_copy(err, "message parameters are not a JSON object", errlen);
		json_decref(params);
		return SMS_PERMANENT;
	}
	set = param_set(t, params, err, errlen);
	json_decref(params);
	if (set == NULL)
		return SMS_PERMANENT;
	req = json_pack("{s:[s], s:s, s:s, s:s, s:o, s:s}", "PhoneNumberSet", e164, "SmsSdkAppId",
			c->sdk_app_id, "SignName", c->sign_name, "TemplateId", c->template_ids[t],
			"TemplateParamSet", set, "SessionContext", session_context);
	*body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (*body == NULL) {
		str_copy(err, "request cannot be encoded", errlen);
		return SMS_PERMANENT;
	}
	return 0;
}

int sms_parse_reply(json_t *response, char *serial, size_t seriallen, char *err, size_t errlen)
{
	json_t *st = json_array_get(json_object_get(response, "SendStatusSet"), 0);
	const char *code = json_string_value(json_object_get(st, "Code"));
	const char *msg = json_string_value(json_object_get(st, "Message"));
	const char *sn = json_string_value(json_object_get(st, "SerialNo"));

	str_copy(serial, "", seriallen);
	str_copy(err, "", errlen);
	if (!json_is_object(st) || code == NULL) {
		/* Whether it went is unknown; a retry may send it twice, which beats never. */
		str_copy(err, "reply without SendStatusSet[0].Code", errlen);
		return SMS_RETRY;
	}
	if (strcmp(code, "Ok") != 0) {
		snprintf(err, errlen, "%.100s: %.200s", code, msg != NULL ? msg : "");
		return sms_classify(code);
	}
	if (sn != NULL && (strlen(sn) >= seriallen || str_has_control(sn)))
		sn = NULL; /* sent all the same; only the reference is unusable */
	str_copy(serial, sn, seriallen);
	return SMS_SENT;
}

int sms_send(const struct sms_config *c, const char *mobile, const char *tmpl, const char *params_json,
	     const char *session_context, char *serial, size_t seriallen, char *err, size_t errlen)
{
	struct tcapi t = {c->endpoint, c->host, c->secret_id, c->secret_key, c->region, c->timeout_s};
	char code[128], detail[256], *body = NULL;
	json_t *resp = NULL;
	int rc;

	str_copy(serial, "", seriallen);
	rc = sms_request_body(c, mobile, tmpl, params_json, session_context, &body, err, errlen);
	if (rc != 0)
		return rc;
	rc = tcapi_call(&t, SMS_SERVICE, SMS_ACTION, SMS_VERSION, body, &resp, code, sizeof(code), detail,
			sizeof(detail));
	free(body);
	if (rc == TCAPI_OK) {
		rc = sms_parse_reply(resp, serial, seriallen, err, errlen);
	} else {
		/* transport and unreadable replies: the provider may or may not have it; try again */
		snprintf(err, errlen, "%s", detail);
		rc = rc == TCAPI_ERROR ? sms_classify(code) : SMS_RETRY;
	}
	json_decref(resp);
	return rc;
}
