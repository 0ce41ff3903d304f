/* SF Express route query end to end: the real adapter (providers/sf.c) against certdesk-sim's SF
 * simulator over HTTP with msgDigest: the mock route, routes the test sets, checkPhoneNo, a wrong
 * check word or partner, an outage, a slow answer, no simulator at all, and raw requests. Needs no
 * database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "providers/sf.h"

#define NO "SF1234567890123"

static struct srv SIM; /* certdesk-sim: port, base URL, temporary directory */
static struct config CFG;
static struct sf_config SF; /* from CFG, as certdeskd builds it */

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
	sf_config_from(&SF, &CFG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(&CFG);
	return harness_sim_alone_stop(&SIM);
}

/* Sends method path with a JSON body (may be NULL) to the simulator; returns the HTTP status. */
static long sim_json(const char *method, const char *path, const char *body)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	struct resp r;
	long status;

	assert_int_equal(http_do(&SIM, method, path, body, body ? strlen(body) : 0, h, &r), 0);
	status = r.status;
	resp_free(&r);
	return status;
}

/* Returns the newest query the simulator received (caller decrefs). */
static json_t *last_query(void)
{
	struct resp r;
	json_t *j, *q;

	assert_int_equal(http_do(&SIM, "GET", "/_sim/sf", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	q = json_incref(json_array_get(json_object_get(j, "items"),
				       json_array_size(json_object_get(j, "items")) - 1));
	json_decref(j);
	assert_non_null(q);
	return q;
}

/* Any SF number has the sandbox-like mock route, oldest first, with the same times when asked
 * again; the query carried the partner, a UUID, the number and checkPhoneNo. */
static void test_mock_route(void **state)
{
	struct sf_route *r = NULL, *r2 = NULL;
	char err[SF_ERR_MAX];
	size_t n = 0, n2 = 0;
	json_t *q;
	(void)state;

	assert_int_equal(sim_json("DELETE", "/_sim/sf", NULL), 200);
	assert_int_equal(sf_routes(&SF, NO, NULL, &r, &n, err, sizeof(err)), SF_OK);
	assert_string_equal(err, "");
	assert_int_equal(n, 4);
	assert_string_equal(r[0].op_code, "50");
	assert_string_equal(r[0].address, "深圳市");
	assert_string_equal(r[0].remark, "顺丰速运 已收取快件");
	assert_string_equal(sf_op_label(r[0].op_code), "已揽收");
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(r[i - 1].time, r[i].time) < 0);
	q = last_query();
	assert_string_equal(json_string_value(json_object_get(q, "partnerID")), "CERTDESK_SIM");
	assert_string_equal(json_string_value(json_object_get(q, "apiResultCode")), "A1000");
	assert_int_equal(strlen(json_string_value(json_object_get(q, "requestID"))), 36);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(q, "msgData"), "trackingNumber"), 0)),
			    NO);
	assert_null(json_object_get(json_object_get(q, "msgData"), "checkPhoneNo"));
	json_decref(q);

	/* typed with spaces and dashes, with checkPhoneNo: the same route, dated the same */
	assert_int_equal(sf_routes(&SF, "sf 1234-5678-90123", "0138", &r2, &n2, err, sizeof(err)), SF_OK);
	assert_int_equal(n2, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(r2[i].time, r[i].time);
	q = last_query();
	assert_string_equal(json_string_value(json_object_get(json_object_get(q, "msgData"), "checkPhoneNo")),
			    "0138");
	json_decref(q);
	sf_routes_free(r);
	sf_routes_free(r2);
}

/* Routes a test sets come back exactly, sorted; an empty list is no routes; checkPhoneNo counts. */
static void test_set_routes(void **state)
{
	const char *set =
		"{\"mailNo\":\"SF1000000000001\",\"routes\":["
		"{\"acceptTime\":\"2026-03-02 09:15:00\",\"acceptAddress\":\"南昌市\","
		"\"remark\":\"已签收，签收人：本人\",\"opCode\":\"80\"},"
		"{\"acceptTime\":\"2026-03-01 17:02:31\",\"acceptAddress\":\"南昌市\","
		"\"remark\":\"顺丰速运 已收取快件 (寄件: 江西CA) +*~\",\"opCode\":\"50\"},"
		"{\"acceptTime\":\"2026-03-02 07:40:00\",\"acceptAddress\":\"\",\"remark\":\"派送中\"}]}";
	struct sf_route *r = NULL;
	char err[SF_ERR_MAX];
	size_t n = 0;
	(void)state;

	assert_int_equal(sim_json("POST", "/_sim/sf/routes", set), 200);
	assert_int_equal(sf_routes(&SF, "SF1000000000001", NULL, &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 3);
	assert_string_equal(r[0].time, "2026-03-01 17:02:31");
	assert_string_equal(r[0].address, "南昌市");
	assert_string_equal(r[0].remark, "顺丰速运 已收取快件 (寄件: 江西CA) +*~");
	assert_string_equal(r[0].op_code, "50");
	assert_string_equal(r[1].time, "2026-03-02 07:40:00");
	assert_string_equal(r[1].address, "");
	assert_string_equal(r[1].remark, "派送中");
	assert_string_equal(r[1].op_code, "");
	assert_string_equal(r[2].time, "2026-03-02 09:15:00");
	assert_string_equal(r[2].remark, "已签收，签收人：本人");
	assert_string_equal(r[2].op_code, "80");
	sf_routes_free(r);

	/* none yet */
	assert_int_equal(
		sim_json("POST", "/_sim/sf/routes", "{\"mailNo\":\"SF1000000000002\",\"routes\":[]}"), 200);
	assert_int_equal(sf_routes(&SF, "SF1000000000002", NULL, &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 0);
	assert_null(r);

	/* a waybill someone else sent: the routes only with the right phone digits */
	assert_int_equal(
		sim_json("POST", "/_sim/sf/routes",
			 "{\"mailNo\":\"SF1000000000003\",\"checkPhoneNo\":\"8000\",\"routes\":[{"
			 "\"acceptTime\":"
			 "\"2026-03-01 10:00:00\",\"remark\":\"顺丰速运 已收取快件\",\"opCode\":\"50\"}]}"),
		200);
	assert_int_equal(sf_routes(&SF, "SF1000000000003", NULL, &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sf_routes(&SF, "SF1000000000003", "1234", &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sf_routes(&SF, "SF1000000000003", "8000", &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 1);
	sf_routes_free(r);

	/* what the provider sends wrong, the adapter refuses: too many routes, a bad time */
	char *many = malloc(300 * 80 + 100);
	strcpy(many, "{\"mailNo\":\"SF1000000000004\",\"routes\":[");
	for (int i = 0; i < SF_ROUTES_MAX + 1; i++)
		strcat(many, i ? ",{\"acceptTime\":\"2026-03-01 10:00:00\"}"
			       : "{\"acceptTime\":\"2026-03-01 10:00:00\"}");
	strcat(many, "]}");
	assert_int_equal(sim_json("POST", "/_sim/sf/routes", many), 200);
	free(many);
	assert_int_equal(sf_routes(&SF, "SF1000000000004", NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_string_equal(err, "reply: more than 200 routes");
	assert_int_equal(
		sim_json("POST", "/_sim/sf/routes",
			 "{\"mailNo\":\"SF1000000000005\",\"routes\":[{\"acceptTime\":\"yesterday\"}]}"),
		200);
	assert_int_equal(sf_routes(&SF, "SF1000000000005", NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	/* the hook refuses what it cannot mean */
	assert_int_equal(sim_json("POST", "/_sim/sf/routes", "{\"mailNo\":\"SF1\",\"routes\":[1]}"), 400);
	assert_int_equal(sim_json("POST", "/_sim/sf/routes", "{\"routes\":[]}"), 400);
}

/* A wrong check word gives A1006, a wrong partner A1004: both final. */
static void test_wrong_credentials(void **state)
{
	struct sf_config c = SF;
	struct sf_route *r = NULL;
	char err[SF_ERR_MAX];
	size_t n = 0;
	json_t *q;
	(void)state;

	c.check_word = "not-the-check-word";
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_string_equal(err, "A1006: 数字签名无效");
	assert_null(r);
	q = last_query();
	assert_string_equal(json_string_value(json_object_get(q, "apiResultCode")), "A1006");
	json_decref(q);
	c = SF;
	c.partner_id = "SOMEONE_ELSE";
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_string_equal(err, "A1004: 无对应服务权限");
}

/* An outage (HTTP 500) is worth retrying, and the next query goes through. */
static void test_outage(void **state)
{
	struct sf_route *r = NULL;
	char err[SF_ERR_MAX];
	size_t n = 0;
	(void)state;

	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{\"status\":500}"), 200);
	assert_int_equal(sf_routes(&SF, NO, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_string_equal(err, "HTTP status 500");
	assert_null(r);
	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{\"status\":502,\"count\":2}"), 200);
	assert_int_equal(sf_routes(&SF, NO, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_int_equal(sf_routes(&SF, NO, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_string_equal(err, "HTTP status 502");
	assert_int_equal(sf_routes(&SF, NO, NULL, &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 4);
	sf_routes_free(r);
	/* the hook refuses what it cannot mean */
	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{\"status\":200}"), 400);
	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{\"delay_ms\":0}"), 400);
	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{}"), 400);
}

/* Returns the monotonic time in seconds. */
static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* An answer later than the time limit is given up on at the limit; a slow one within it is fine. */
static void test_slow(void **state)
{
	struct sf_config c = SF;
	struct sf_route *r = NULL;
	char err[SF_ERR_MAX];
	size_t n = 0;
	double t0;
	(void)state;

	c.timeout_s = 1;
	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{\"delay_ms\":3000}"), 200);
	t0 = now_s();
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_true(now_s() - t0 < 2.0);
	assert_non_null(strstr(err, "transport: "));
	assert_null(r);
	assert_int_equal(sim_json("POST", "/_sim/sf/fail-next", "{\"delay_ms\":300}"), 200);
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_OK);
	assert_int_equal(n, 4);
	sf_routes_free(r);
}

/* No simulator listening: retry, quickly. */
static void test_not_running(void **state)
{
	struct sf_config c = SF;
	struct sf_route *r = NULL;
	char err[SF_ERR_MAX], url[100];
	size_t n = 0;
	double t0;
	(void)state;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/sf/std/service", harness_free_port());
	c.endpoint = url;
	t0 = now_s();
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_true(now_s() - t0 < 2.0);
	assert_non_null(strstr(err, "transport: "));
	/* something that answers, but not SF's API: the simulator's 404 */
	snprintf(url, sizeof(url), "%s/sf/other", SIM.base);
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_string_equal(err, "HTTP status 404");
}

/* POSTs a form to the API; returns apiResultCode and, in data, apiResultData (200 bytes). */
static void raw_query(const char *form, char code[16], char data[200])
{
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded;charset=UTF-8", NULL};
	struct resp r;
	json_t *j;

	assert_int_equal(http_do(&SIM, "POST", "/sf/std/service", form, strlen(form), h, &r), 0);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	snprintf(code, 16, "%s", json_string_value(json_object_get(j, "apiResultCode")));
	snprintf(data, 200, "%s", json_string_value(json_object_get(j, "apiResultData")));
	assert_non_null(json_object_get(j, "apiResponseID"));
	json_decref(j);
	resp_free(&r);
}

/* The gateway's checks on hand-made requests: missing fields, another service, a digest over
 * other data, and a signed msgData that is not a query. */
static void test_raw_requests(void **state)
{
	char form[600], digest[SF_DIGEST_LEN], code[16], data[200];
	(void)state;

	raw_query("partnerID=CERTDESK_SIM&serviceCode=EXP_RECE_SEARCH_ROUTES", code, data);
	assert_string_equal(code, "A1001");
	/* msgData "x" signed; another service is refused before the digest is looked at */
	assert_int_equal(sf_msg_digest("x", "1767225600000", SF.check_word, digest, sizeof(digest)), 0);
	snprintf(form, sizeof(form),
		 "partnerID=CERTDESK_SIM&requestID=r1&serviceCode=EXP_RECE_CREATE_ORDER&timestamp="
		 "1767225600000"
		 "&msgDigest=%s&msgData=x",
		 digest);
	raw_query(form, code, data);
	assert_string_equal(code, "A1004");
	/* the digest must be sent form-encoded; '+' and '/' and '=' as %2B %2F %3D */
	char e[64] = "", *o = e;
	for (const char *p = digest; *p != '\0'; p++)
		o += *p == '+'   ? sprintf(o, "%%2B")
		     : *p == '/' ? sprintf(o, "%%2F")
		     : *p == '=' ? sprintf(o, "%%3D")
				 : sprintf(o, "%c", *p);
	snprintf(form, sizeof(form),
		 "partnerID=CERTDESK_SIM&requestID=r2&serviceCode=EXP_RECE_SEARCH_ROUTES&timestamp="
		 "1767225600000"
		 "&msgDigest=%s&msgData=y",
		 e);
	raw_query(form, code, data);
	assert_string_equal(code, "A1006");
	snprintf(form, sizeof(form),
		 "partnerID=CERTDESK_SIM&requestID=r3&serviceCode=EXP_RECE_SEARCH_ROUTES&timestamp="
		 "1767225600000"
		 "&msgDigest=%s&msgData=x",
		 e);
	raw_query(form, code, data);
	assert_string_equal(code, "A1000");
	assert_non_null(strstr(data, "\"success\":false"));
	assert_non_null(strstr(data, "\"errorCode\":\"S0001\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mock_route),
		cmocka_unit_test(test_set_routes),
		cmocka_unit_test(test_wrong_credentials),
		cmocka_unit_test(test_outage),
		cmocka_unit_test(test_slow),
		cmocka_unit_test(test_not_running),
		cmocka_unit_test(test_raw_requests),
	};
	return cmocka_run_group_tests_name("sf", tests, setup, teardown);
}
