/* Legal-person face verification end to end: the real Tencent FaceID adapter (providers/idv.c)
 * against certdesk-sim's FaceID simulator, over HTTP with TC3 signatures: pass, fail, pending,
 * the H5 page and its redirect, a wrong key, a stale signature, and a verified identity that is not
 * the expected one. Needs no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "providers/idv.h"
#include "providers/tc3.h"

#define NAME "张三"
#define ID "11010519491231002X"
#define REDIRECT "https://ca.example.cn/m/verify?order=CD2026000001"

static struct srv SIM; /* certdesk-sim: port, base URL, temporary directory */
static struct config CFG;
static struct idv_config IDV; /* from CFG, as certdeskd builds it */

static int setup(void **state)
{
	char err[512];
	(void)state;

	if (harness_sim_alone(&SIM) != 0)
		return -1;
	if (config_load(&CFG, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	idv_config_from(&IDV, &CFG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(&CFG);
	return harness_sim_alone_stop(&SIM);
}

/* Starts a verification of NAME/ID with redirect; fills token (IDV_TOKEN_MAX) and url. */
static void start(const char *redirect, char *token, char *url)
{
	char err[IDV_MSG_MAX];

	if (idv_start(&IDV, NAME, ID, redirect, "order CD2026000001", url, IDV_URL_MAX, token, IDV_TOKEN_MAX,
		      err, sizeof(err)) != 0)
		fail_msg("idv_start: %s", err);
}

/* Asks for the result of token, expecting NAME/ID; returns the outcome, reason in reason. */
static enum idv_outcome result(const char *token, char *reason)
{
	enum idv_outcome o = IDV_PENDING;
	char err[IDV_MSG_MAX];

	if (idv_result(&IDV, token, NAME, ID, &o, reason, IDV_MSG_MAX, err, sizeof(err)) != 0)
		fail_msg("idv_result: %s", err);
	return o;
}

/* POSTs the simulator's test hook for token with the JSON body; returns the HTTP status. */
static long sim_decide(const char *token, const char *body)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	char path[200];
	struct resp r;
	long status;

	snprintf(path, sizeof(path), "/_sim/faceid/%s/decide", token);
	assert_int_equal(http_do(&SIM, "POST", path, body, strlen(body), h, &r), 0);
	status = r.status;
	resp_free(&r);
	return status;
}

/* POSTs the H5 page's form (as the phone's browser does) and fills *r. */
static void h5_post(const char *form, struct resp *r)
{
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	assert_int_equal(http_do(&SIM, "POST", "/faceid/h5/decide", form, strlen(form), h, r), 0);
}

/* pending -> decided pass through the test hook -> passed; the request carried what we sent. */
static void test_pass_flow(void **state)
{
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], reason[IDV_MSG_MAX], want[300];
	struct resp r;
	json_t *j, *items, *body;
	(void)state;

	start(REDIRECT, token, url);
	snprintf(want, sizeof(want), "%s/faceid/h5?token=%s", SIM.base, token);
	assert_string_equal(url, want);
	assert_int_equal(strlen(token), 36);
	assert_int_equal(result(token, reason), IDV_PENDING);
	assert_string_equal(reason, "尚未完成人脸核验");
	assert_int_equal(sim_decide(token, "{\"pass\":true}"), 200);
	assert_int_equal(result(token, reason), IDV_PASSED);
	assert_string_equal(reason, "");
	/* the BizToken may be asked about again */
	assert_int_equal(result(token, reason), IDV_PASSED);

	/* What went over the wire: DetectAuth's body, signed (the simulator checked it). */
	assert_int_equal(http_do(&SIM, "GET", "/_sim/requests?prefix=/faceid/", NULL, 0, NULL, &r), 0);
	j = json_loadb(r.body, r.len, 0, NULL);
	items = json_object_get(j, "items");
	assert_true(json_array_size(items) >= 4);
	body = json_loads(json_string_value(json_object_get(json_array_get(items, 0), "body")), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(body, "Name")), NAME);
	assert_string_equal(json_string_value(json_object_get(body, "IdCard")), ID);
	assert_string_equal(json_string_value(json_object_get(body, "RuleId")), "1");
	assert_string_equal(json_string_value(json_object_get(body, "RedirectUrl")), REDIRECT);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "content_type")),
			    TC3_CONTENT_TYPE);
	json_decref(body);
	body = json_loads(json_string_value(json_object_get(json_array_get(items, 1), "body")), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(body, "BizToken")), token);
	assert_string_equal(json_string_value(json_object_get(body, "InfoType")), "1");
	json_decref(body);
	json_decref(j);
	resp_free(&r);
}

/* Failures carry a reason in Chinese with the provider's code. */
static void test_fail_flow(void **state)
{
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], reason[IDV_MSG_MAX];
	(void)state;

	start(REDIRECT, token, url);
	assert_int_equal(sim_decide(token, "{\"pass\":false,\"err_code\":2016}"), 200);
	assert_int_equal(result(token, reason), IDV_FAILED);
	assert_string_equal(reason, "人脸比对不一致（错误码 2016）");
	assert_int_equal(sim_decide(token, "{\"pass\":false,\"err_code\":2006}"), 200);
	assert_int_equal(result(token, reason), IDV_FAILED);
	assert_string_equal(reason, "身份信息与公安库不一致（错误码 2006）");
	assert_int_equal(sim_decide(token, "{\"pass\":false,\"err_code\":1002}"), 200);
	assert_int_equal(result(token, reason), IDV_FAILED);
	assert_string_equal(reason, "活体检测未通过（错误码 1002）");
	assert_int_equal(sim_decide(token, "{\"pass\":false,\"err_code\":9999}"), 200);
	assert_int_equal(result(token, reason), IDV_FAILED);
	assert_string_equal(reason, "人脸核验未通过（错误码 9999）");
	/* 17 (本次流程未完成): the person left; still pending for us */
	assert_int_equal(sim_decide(token, "{\"pass\":false,\"err_code\":17}"), 200);
	assert_int_equal(result(token, reason), IDV_PENDING);
	/* the hook refuses what it cannot mean */
	assert_int_equal(sim_decide(token, "{\"pass\":false,\"err_code\":0}"), 400);
	assert_int_equal(sim_decide(token, "{\"err_code\":2016}"), 400);
	assert_int_equal(sim_decide("NO-SUCH-TOKEN", "{\"pass\":true}"), 404);
}

/* The phone's side: the page, the pass button, the 302 back with BizToken, no second answer. */
static void test_h5_pass_redirect(void **state)
{
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], reason[IDV_MSG_MAX], path[IDV_URL_MAX], form[200],
		want[400];
	struct resp r;
	(void)state;

	start(REDIRECT, token, url);
	assert_int_equal(strncmp(url, SIM.base, strlen(SIM.base)), 0);
	snprintf(path, sizeof(path), "%s", url + strlen(SIM.base));
	assert_int_equal(http_do(&SIM, "GET", path, NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "人脸核验（模拟器）"));
	assert_non_null(strstr(r.body, "模拟核验通过"));
	assert_non_null(strstr(r.body, "模拟核验失败"));
	assert_non_null(strstr(r.body, "<select"));
	assert_non_null(strstr(r.body, "张*")); /* masked */
	assert_non_null(strstr(r.body, "110***********002X"));
	assert_null(strstr(r.body, ID));
	assert_null(strstr(r.body, "<script"));
	resp_free(&r);

	snprintf(form, sizeof(form), "token=%s&result=pass", token);
	h5_post(form, &r);
	assert_int_equal(r.status, 302);
	snprintf(want, sizeof(want), "%s&BizToken=%s", REDIRECT, token);
	assert_string_equal(resp_header(&r, "Location"), want);
	resp_free(&r);
	assert_int_equal(result(token, reason), IDV_PASSED);

	/* decided: the page and the form say so and change nothing */
	h5_post(form, &r);
	assert_int_equal(r.status, 409);
	resp_free(&r);
	assert_int_equal(http_do(&SIM, "GET", path, NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 409);
	resp_free(&r);
	assert_int_equal(result(token, reason), IDV_PASSED);
}

/* The fail button with a reason; a redirect without a query gets "?"; bad forms are refused. */
static void test_h5_fail_redirect(void **state)
{
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], reason[IDV_MSG_MAX], form[200], want[400];
	struct resp r;
	(void)state;

	start("https://ca.example.cn/m/done#top", token, url);
	snprintf(form, sizeof(form), "token=%s&result=fail&err_code=abc", token);
	h5_post(form, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	h5_post("token=NO-SUCH&result=pass", &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	assert_int_equal(result(token, reason), IDV_PENDING);

	snprintf(form, sizeof(form), "token=%s&result=fail&err_code=1002", token);
	h5_post(form, &r);
	assert_int_equal(r.status, 302);
	snprintf(want, sizeof(want), "https://ca.example.cn/m/done?BizToken=%s#top", token);
	assert_string_equal(resp_header(&r, "Location"), want);
	resp_free(&r);
	assert_int_equal(result(token, reason), IDV_FAILED);
	assert_string_equal(reason, "活体检测未通过（错误码 1002）");

	/* what the page shows of the name is escaped */
	if (idv_start(&IDV, "<b>王", ID, NULL, NULL, url, sizeof(url), token, sizeof(token), reason,
		      sizeof(reason)) != 0)
		fail_msg("idv_start: %s", reason);
	assert_int_equal(http_do(&SIM, "GET", url + strlen(SIM.base), NULL, 0, NULL, &r), 0);
	assert_non_null(strstr(r.body, "&lt;***"));
	assert_null(strstr(r.body, "<b>"));
	resp_free(&r);

	/* no RedirectUrl: a page telling the person to go back to the computer */
	start(NULL, token, url);
	snprintf(form, sizeof(form), "token=%s&result=pass", token);
	h5_post(form, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "核验已完成"));
	resp_free(&r);
}

/* The provider verified someone else (or we expect someone else): not a pass. */
static void test_identity_mismatch(void **state)
{
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], reason[IDV_MSG_MAX], err[IDV_MSG_MAX];
	enum idv_outcome o;
	(void)state;

	start(REDIRECT, token, url);
	assert_int_equal(sim_decide(token, "{\"pass\":true}"), 200);
	/* our record says another ID number, or another name */
	assert_int_equal(idv_result(&IDV, token, NAME, "110105194912310037", &o, reason, sizeof(reason), err,
				    sizeof(err)),
			 0);
	assert_int_equal(o, IDV_FAILED);
	assert_string_equal(reason, "核验人与法定代表人的姓名或身份证号不一致");
	assert_int_equal(idv_result(&IDV, token, "李四", ID, &o, reason, sizeof(reason), err, sizeof(err)),
			 0);
	assert_int_equal(o, IDV_FAILED);
	/* a lowercase x is the same ID number */
	assert_int_equal(idv_result(&IDV, token, NAME, "11010519491231002x", &o, reason, sizeof(reason), err,
				    sizeof(err)),
			 0);
	assert_int_equal(o, IDV_PASSED);
	/* the provider reports another verified person */
	assert_int_equal(sim_decide(token, "{\"pass\":true,\"name\":\"李四\"}"), 200);
	assert_int_equal(result(token, reason), IDV_FAILED);
	assert_int_equal(
		sim_decide(token, "{\"pass\":true,\"name\":\"张三\",\"id_card\":\"110105194912310037\"}"),
		200);
	assert_int_equal(result(token, reason), IDV_FAILED);
	/* masked digits are not compared */
	assert_int_equal(sim_decide(token, "{\"pass\":true,\"id_card\":\"110105**********2X\"}"), 200);
	assert_int_equal(result(token, reason), IDV_PASSED);
}

/* A wrong SecretKey or SecretId is refused by the simulator's signature check. */
static void test_wrong_credentials(void **state)
{
	struct idv_config c = IDV;
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], err[IDV_MSG_MAX], reason[IDV_MSG_MAX];
	enum idv_outcome o;
	(void)state;

	c.secret_key = "not-the-simulator-key";
	assert_int_equal(idv_start(&c, NAME, ID, REDIRECT, NULL, url, sizeof(url), token, sizeof(token), err,
				   sizeof(err)),
			 -1);
	assert_string_equal(err, "人脸核验服务认证失败，请联系管理员（AuthFailure.SignatureFailure）");
	start(REDIRECT, token, url);
	assert_int_equal(idv_result(&c, token, NAME, ID, &o, reason, sizeof(reason), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "AuthFailure.SignatureFailure"));
	c = IDV;
	c.secret_id = "AKIDsomeoneelse";
	assert_int_equal(idv_start(&c, NAME, ID, REDIRECT, NULL, url, sizeof(url), token, sizeof(token), err,
				   sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "AuthFailure.SecretIdNotFound"));
	/* signing for the endpoint's own host instead of faceid.tencentcloudapi.com also verifies */
	c = IDV;
	c.host = "";
	assert_int_equal(
		idv_start(&c, NAME, ID, NULL, NULL, url, sizeof(url), token, sizeof(token), err, sizeof(err)),
		0);
	/* another RuleId */
	c = IDV;
	c.rule_id = "2";
	assert_int_equal(
		idv_start(&c, NAME, ID, NULL, NULL, url, sizeof(url), token, sizeof(token), err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "RuleIdNotExist"));
}

/* Signed raw requests: a stale timestamp, a body changed after signing, an unknown action. */
static void test_raw_signatures(void **state)
{
	const char *payload = "{\"BizToken\":\"X\",\"RuleId\":\"1\",\"InfoType\":\"1\"}";
	char auth[TC3_AUTH_MAX], h_auth[TC3_AUTH_MAX + 20], h_ts[64];
	const char *h[] = {"Content-Type: " TC3_CONTENT_TYPE,
			   "Host: faceid.tencentcloudapi.com",
			   "X-TC-Action: GetDetectInfoEnhanced",
			   "X-TC-Version: 2018-03-01",
			   h_ts,
			   h_auth,
			   NULL};
	long long now = (long long)time(NULL);
	struct resp r;
	(void)state;

	/* ten minutes old */
	assert_int_equal(tc3_authorization(IDV.secret_id, IDV.secret_key, "faceid",
					   "faceid.tencentcloudapi.com", payload, now - 600, auth,
					   sizeof(auth)),
			 0);
	snprintf(h_auth, sizeof(h_auth), "Authorization: %s", auth);
	snprintf(h_ts, sizeof(h_ts), "X-TC-Timestamp: %lld", now - 600);
	assert_int_equal(http_do(&SIM, "POST", "/faceid/", payload, strlen(payload), h, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"AuthFailure.SignatureExpire\""));
	resp_free(&r);
	/* fresh, but the body differs from what was signed */
	assert_int_equal(tc3_authorization(IDV.secret_id, IDV.secret_key, "faceid",
					   "faceid.tencentcloudapi.com", payload, now, auth, sizeof(auth)),
			 0);
	snprintf(h_auth, sizeof(h_auth), "Authorization: %s", auth);
	snprintf(h_ts, sizeof(h_ts), "X-TC-Timestamp: %lld", now);
	assert_int_equal(http_do(&SIM, "POST", "/faceid/",
				 "{\"BizToken\":\"Y\",\"RuleId\":\"1\",\"InfoType\":\"1\"}", strlen(payload),
				 h, &r),
			 0);
	assert_non_null(strstr(r.body, "\"AuthFailure.SignatureFailure\""));
	resp_free(&r);
	/* as signed: an unknown BizToken */
	assert_int_equal(http_do(&SIM, "POST", "/faceid/", payload, strlen(payload), h, &r), 0);
	assert_non_null(strstr(r.body, "\"InvalidParameterValue.BizTokenIllegal\""));
	assert_non_null(strstr(r.body, "\"RequestId\""));
	resp_free(&r);
	h[2] = "X-TC-Action: DescribeNothing";
	assert_int_equal(http_do(&SIM, "POST", "/faceid/", payload, strlen(payload), h, &r), 0);
	assert_non_null(strstr(r.body, "\"InvalidAction\""));
	resp_free(&r);
}

/* Errors the adapter reports without an outcome: unknown token, no provider, bad input. */
static void test_errors(void **state)
{
	struct idv_config c = IDV;
	char token[IDV_TOKEN_MAX], url[IDV_URL_MAX], err[IDV_MSG_MAX], reason[IDV_MSG_MAX];
	enum idv_outcome o;
	(void)state;

	assert_int_equal(idv_result(&IDV, "00000000-0000-0000-0000-000000000000", NAME, ID, &o, reason,
				    sizeof(reason), err, sizeof(err)),
			 -1);
	assert_string_equal(err,
			    "核验流水号无效，请重新发起人脸核验（InvalidParameterValue.BizTokenIllegal）");
	assert_int_equal(idv_start(&IDV, NAME, "12345", NULL, NULL, url, sizeof(url), token, sizeof(token),
				   err, sizeof(err)),
			 -1);
	assert_string_equal(err, "姓名或身份证号格式不正确");
	assert_int_equal(
		idv_start(&IDV, "", ID, NULL, NULL, url, sizeof(url), token, sizeof(token), err, sizeof(err)),
		-1);
	/* nothing listens on port 1 */
	c.endpoint = "http://127.0.0.1:1/faceid";
	c.timeout_s = 2;
	assert_int_equal(
		idv_start(&c, NAME, ID, NULL, NULL, url, sizeof(url), token, sizeof(token), err, sizeof(err)),
		-1);
	assert_string_equal(err, "人脸核验服务暂时无法连接，请稍后重试");
	c.endpoint = "ftp://127.0.0.1/faceid";
	assert_int_equal(
		idv_start(&c, NAME, ID, NULL, NULL, url, sizeof(url), token, sizeof(token), err, sizeof(err)),
		-1);
	/* an answer that is not the API's */
	c.endpoint = SIM.base; /* POST / on the simulator: its 404 */
	assert_int_equal(
		idv_start(&c, NAME, ID, NULL, NULL, url, sizeof(url), token, sizeof(token), err, sizeof(err)),
		-1);
	assert_string_equal(err, "人脸核验服务应答异常，请稍后重试");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_flow),         cmocka_unit_test(test_fail_flow),
		cmocka_unit_test(test_h5_pass_redirect),  cmocka_unit_test(test_h5_fail_redirect),
		cmocka_unit_test(test_identity_mismatch), cmocka_unit_test(test_wrong_credentials),
		cmocka_unit_test(test_raw_signatures),    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("idv", tests, setup, teardown);
}
