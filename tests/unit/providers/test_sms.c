/* The Tencent Cloud SMS adapter without a network: the SendSms body built from an outbox row, its
 * TC3 signature against a vector computed outside this code, the reading of replies and the
 * sorting of error codes into retry and give up, and a transport failure.
 *
 * The signature vector was computed with the openssl command line (OpenSSL 3.0), the steps of
 * tests/unit/providers/test_tc3.c, for PAYLOAD below, host sms.tencentcloudapi.com, service sms,
 * timestamp 1767225600 (2026-01-01T00:00:00Z), the simulator's key: payload hash
 * 3fc618feeb880acebed34fa746ff90d1d253fd99e8fab5d033f992d3a201528d, canonical request hash
 * cc0716821791cfb3b221fb11d3f7a40c30fb1d923222c8acb9be11bb8841643a. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "providers/sms.h"
#include "providers/tc3.h"

#define SIM_ID "AKIDcertdeskSIMULATOR"
#define SIM_KEY "certdesk-simulator-key-not-secret"
#define CONTEXT "sms-code:13800138000:0123456789abcdef"
#define CODE_PARAMS "{\"code\":\"123456\",\"purpose\":\"register\",\"minutes\":5}"
#define PAYLOAD                                                                                              \
	"{\"PhoneNumberSet\":[\"+8613800138000\"],\"SmsSdkAppId\":\"1400000000\",\"SignName\":\"江西CA\"," \
	"\"TemplateId\":\"2000001\",\"TemplateParamSet\":[\"123456\",\"5\"],\"SessionContext\":\"" CONTEXT   \
	"\"}"

static const struct sms_config CFG = {
	.endpoint = "http://127.0.0.1:1/sms", /* nothing listens on port 1 */
	.host = "sms.tencentcloudapi.com",
	.secret_id = SIM_ID,
	.secret_key = SIM_KEY,
	.region = "ap-guangzhou",
	.sdk_app_id = "1400000000",
	.sign_name = "江西CA",
	.template_ids = {"2000001", "2000002", "2000003", "2000004", "2000005"},
	.timeout_s = 2,
};

/* Builds a body; returns the SMS result and the body in *body (caller frees), err in err. */
static int body_of(const char *mobile, const char *tmpl, const char *params, char **body,
		   char err[SMS_ERR_MAX])
{
	return sms_request_body(&CFG, mobile, tmpl, params, CONTEXT, body, err, SMS_ERR_MAX);
}

/* A verification code: E.164 number, app, signature, template id, parameters in template order
 * (integers as text, members the template does not use left out), SessionContext; and its TC3
 * signature as computed independently. */
static void test_verify_code_body_and_signature(void **state)
{
	char err[SMS_ERR_MAX], auth[TC3_AUTH_MAX], *b = NULL;
	(void)state;

	assert_int_equal(body_of("13800138000", "verify_code", CODE_PARAMS, &b, err), 0);
	assert_string_equal(b, PAYLOAD);
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "sms", "sms.tencentcloudapi.com", b, 1767225600,
					   auth, sizeof(auth)),
			 TC3_OK);
	assert_string_equal(auth,
			    "TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/sms/tc3_request, "
			    "SignedHeaders=content-type;host, "
			    "Signature=ce687797f187b2cb44ada6d7a3495cad23dac573cda53a5b698c102d8bc6b105");
	free(b);
	/* +86 and 86 prefixes name the same phone */
	assert_int_equal(body_of("+86 138-0013-8000", "verify_code", CODE_PARAMS, &b, err), 0);
	assert_string_equal(b, PAYLOAD);
	free(b);
}

/* The other templates take their parameters in order; the shipping notice carries the tracking
 * number the back office stores as "detail". */
static void test_notice_templates(void **state)
{
	char err[SMS_ERR_MAX], *b = NULL;
	json_t *j;
	(void)state;

	assert_int_equal(body_of("13900139000", "shipped",
				 "{\"order_no\":\"CD2026000001\",\"detail\":\"SF1234567890123\"}", &b, err),
			 0);
	j = json_loads(b, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "TemplateId")), "2000005");
	assert_int_equal(json_array_size(json_object_get(j, "TemplateParamSet")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "TemplateParamSet"), 0)),
			    "CD2026000001");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "TemplateParamSet"), 1)),
			    "SF1234567890123");
	json_decref(j);
	free(b);
	assert_int_equal(body_of("13900139000", "review_reject",
				 "{\"order_no\":\"CD2026000002\",\"detail\":\"x\"}", &b, err),
			 0);
	assert_non_null(strstr(b, "\"TemplateId\":\"2000003\",\"TemplateParamSet\":[\"CD2026000002\"]"));
	free(b);
	assert_int_equal(sms_template_from_name("paper_problem"), SMS_TPL_PAPER_PROBLEM);
	assert_int_equal(sms_template_from_name("nope"), -1);
	assert_string_equal(sms_template_name(SMS_TPL_REVIEW_PASS), "review_pass");
}

/* What cannot be sent as it stands is refused before any call, as permanent, and the reason
 * never carries the parameters (an SMS code). */
static void test_refused_before_sending(void **state)
{
	char err[SMS_ERR_MAX], *b = NULL;
	struct sms_config bad = CFG;
	(void)state;

	assert_int_equal(body_of("12345", "verify_code", CODE_PARAMS, &b, err), SMS_PERMANENT);
	assert_null(b);
	assert_int_equal(body_of("+1 415 555 0100", "verify_code", CODE_PARAMS, &b, err), SMS_PERMANENT);
	assert_int_equal(body_of("13800138000", "birthday", CODE_PARAMS, &b, err), SMS_PERMANENT);
	assert_int_equal(body_of("13800138000", "verify_code", "{\"code\":\"123456\"}", &b, err),
			 SMS_PERMANENT);
	assert_non_null(strstr(err, "minutes"));
	assert_null(strstr(err, "123456"));
	assert_int_equal(body_of("13800138000", "verify_code", "{\"code\":\"\",\"minutes\":5}", &b, err),
			 SMS_PERMANENT);
	assert_int_equal(body_of("13800138000", "verify_code", "{\"code\":\"1\\n2\",\"minutes\":5}", &b, err),
			 SMS_PERMANENT);
	assert_int_equal(body_of("13800138000", "verify_code", "[1,2]", &b, err), SMS_PERMANENT);
	assert_int_equal(body_of("13800138000", "verify_code", "not json", &b, err), SMS_PERMANENT);
	assert_int_equal(
		sms_request_body(&CFG, "13800138000", "verify_code", CODE_PARAMS, "", &b, err, sizeof(err)),
		SMS_PERMANENT);
	bad.template_ids[SMS_TPL_VERIFY_CODE] = "";
	assert_int_equal(sms_request_body(&bad, "13800138000", "verify_code", CODE_PARAMS, CONTEXT, &b, err,
					  sizeof(err)),
			 SMS_PERMANENT);
	assert_non_null(strstr(err, "template_verify_code"));
	assert_null(b);
}

/* Reads a reply text's Response; returns the result, serial and err filled. */
static int parse(const char *text, char serial[SMS_SERIAL_MAX], char err[SMS_ERR_MAX])
{
	json_t *root = json_loads(text, 0, NULL), *resp = json_object_get(root, "Response");
	int rc = sms_parse_reply(resp, serial, SMS_SERIAL_MAX, err, SMS_ERR_MAX);

	json_decref(root);
	return rc;
}

/* SendStatusSet[0].Code "Ok" is sent with its SerialNo; other codes are errors with the code and
 * the message; a reply without a status is worth retrying (it may or may not have gone). */
static void test_reply_reading(void **state)
{
	char serial[SMS_SERIAL_MAX], err[SMS_ERR_MAX];
	(void)state;

	assert_int_equal(
		parse("{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"2433:0123\",\"PhoneNumber\":"
		      "\"+8613800138000\",\"Fee\":1,\"SessionContext\":\"x\",\"Code\":\"Ok\",\"Message\":"
		      "\"send success\",\"IsoCode\":\"CN\"}],\"RequestId\":\"r\"}}",
		      serial, err),
		SMS_SENT);
	assert_string_equal(serial, "2433:0123");
	assert_int_equal(parse("{\"Response\":{\"SendStatusSet\":[{\"SerialNo\":\"\",\"Code\":"
			       "\"LimitExceeded.PhoneNumberDailyLimit\",\"Message\":"
			       "\"单个手机号日下发短信条数超过设定的上限\"}]}}",
			       serial, err),
			 SMS_RETRY);
	assert_string_equal(err,
			    "LimitExceeded.PhoneNumberDailyLimit: 单个手机号日下发短信条数超过设定的上限");
	assert_string_equal(serial, "");
	assert_int_equal(parse("{\"Response\":{\"SendStatusSet\":[{\"Code\":\"InvalidParameterValue."
			       "IncorrectPhoneNumber\","
			       "\"Message\":\"手机号格式错误\"}]}}",
			       serial, err),
			 SMS_PERMANENT);
	assert_int_equal(parse("{\"Response\":{\"SendStatusSet\":[]}}", serial, err), SMS_RETRY);
	assert_int_equal(parse("{\"Response\":{}}", serial, err), SMS_RETRY);
}

/* The verdicts on Tencent's codes. */
static void test_classification(void **state)
{
	static const char *const retry[] = {
		"LimitExceeded.PhoneNumberDailyLimit",
		"LimitExceeded.PhoneNumberThirtySecondLimit",
		"LimitExceeded.AppDailyLimit",
		"RequestLimitExceeded",
		"InternalError.Timeout",
		"InternalError.SendAndRecvFail",
		"AuthFailure.SignatureExpire",
		"AuthFailure.SecretIdNotFound",
		"FailedOperation.InsufficientBalanceInSmsPackage",
		"UnauthorizedOperation.ServiceSuspendDueToArrears",
		"SomethingNew.NeverSeen",
		"FailedOperation.OtherError",
		"",
	};
	static const char *const permanent[] = {
		"InvalidParameterValue.IncorrectPhoneNumber",
		"InvalidParameterValue.TemplateParameterFormatError",
		"InvalidParameter",
		"MissingParameter.EmptyPhoneNumberSet",
		"FailedOperation.PhoneNumberInBlacklist",
		"FailedOperation.TemplateIncorrectOrUnapproved",
		"FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
		"FailedOperation.SignatureIncorrectOrUnapproved",
		"FailedOperation.ContainSensitiveWord",
		"UnauthorizedOperation.SmsSdkAppIdVerifyFail",
		"UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
		"LimitExceeded.PhoneNumberCountLimit",
		"InvalidAction",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (sms_classify(retry[i]) != SMS_RETRY)
			fail_msg("%s should be retried", retry[i]);
	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
		if (sms_classify(permanent[i]) != SMS_PERMANENT)
			fail_msg("%s should be permanent", permanent[i]);
	assert_int_equal(sms_classify(NULL), SMS_RETRY);
}

/* No answer (connection refused) is worth retrying, and says why. */
static void test_transport_failure_retries(void **state)
{
	char serial[SMS_SERIAL_MAX], err[SMS_ERR_MAX];
	(void)state;

	assert_int_equal(sms_send(&CFG, "13800138000", "verify_code", CODE_PARAMS, CONTEXT, serial,
				  sizeof(serial), err, sizeof(err)),
			 SMS_RETRY);
	assert_string_equal(serial, "");
	assert_true(err[0] != '\0');
	assert_null(strstr(err, "123456"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_code_body_and_signature),
		cmocka_unit_test(test_notice_templates),
		cmocka_unit_test(test_refused_before_sending),
		cmocka_unit_test(test_reply_reading),
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_transport_failure_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
