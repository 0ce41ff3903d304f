/* WeChat Pay API v3 Native end to end: the real adapter (providers/wxpay.c) against certdesk-sim's
 * simulator over HTTP with both signatures: create, query, pay (test control and phone page), close,
 * refund, replies that are forged, failing or late, a request signed with the wrong key; and payment
 * notifications, received by a small server in this process that reads them with
 * wxpay_notification as certdeskd does (every fault variant, and the background delivery with its
 * retry). Needs no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "http/http.h"
#include "providers/wxpay.h"

static struct srv SIM; /* certdesk-sim: port, base URL, temporary directory */
static struct config CFG;
static struct wxpay *W;
static struct http_server *RECV; /* the merchant's notify_url */
static char NOTIFY_URL[128];
static int SEQ;

/* What the receiver saw (mu). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int fail_first; /* answer 500 to this many notifications first */
static int received_ok;
static struct pay_status last;

/* POST /notify: reads the notification as certdeskd would; 200 when believed, 500 when told to fail,
 * 401 when forged, 400 when not a notification. */
static int on_notify(struct http_req *r)
{
	size_t len;
	const char *body = http_body(r, &len);
	char err[PAY_ERR_MAX];
	struct pay_status st;
	int rc, failing;

	pthread_mutex_lock(&mu);
	failing = fail_first > 0;
	if (failing)
		fail_first--;
	pthread_mutex_unlock(&mu);
	if (failing)
		return http_reply_json(r, 500, json_pack("{s:s, s:s}", "code", "FAIL", "message", "busy"));
	rc = wxpay_notification(W, http_header(r, "Wechatpay-Timestamp"), http_header(r, "Wechatpay-Nonce"),
				http_header(r, "Wechatpay-Signature"), http_header(r, "Wechatpay-Serial"),
				body, len, (long long)time(NULL), &st, err, sizeof(err));
	if (rc != PAY_OK)
		return http_reply_json(r, rc == PAY_FORGED ? 401 : 400,
				       json_pack("{s:s, s:s}", "code", "FAIL", "message", err));
	pthread_mutex_lock(&mu);
	received_ok++;
	last = st;
	pthread_mutex_unlock(&mu);
	return http_reply_bytes(r, 204, "text/plain", "", 0);
}

static const struct route recv_routes[] = {{"POST", "/notify", on_notify, 0}};

/* Starts certdesk-sim as test_idv does, the adapter, and the receiver. */
static int setup(void **state)
{
	char err[512];
	(void)state;

	if (harness_sim_alone(&SIM) != 0)
		return -1;
	setenv("CERTDESK_WXPAY_TIMEOUT_S", "1", 1);
	if (config_load(&CFG, NULL, err, sizeof(err)) != 0 ||
	    (W = wxpay_new(&CFG, err, sizeof(err))) == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	RECV = http_server_start(&(struct http_server_opts){.listen_address = "127.0.0.1",
							    .threads = 2,
							    .max_body_bytes = 65536,
							    .routes = recv_routes,
							    .nroutes = 1},
				 err, sizeof(err));
	if (RECV == NULL)
		return -1;
	snprintf(NOTIFY_URL, sizeof(NOTIFY_URL), "http://127.0.0.1:%d/notify", http_server_port(RECV));
	return 0;
}

static int teardown(void **state)
{
	int rc = 0;
	(void)state;

	rc = harness_sim_alone_stop(&SIM);
	if (RECV != NULL)
		http_server_stop(RECV, 2);
	wxpay_free(W);
	config_free(&CFG);
	harness_cleanup(&SIM);
	return rc;
}

/* POSTs a JSON body to the simulator's control path; returns the status, the reply in *out (may
 * be NULL; caller decrefs). */
static long sim_post(const char *path, const char *body, json_t **out)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	struct resp r;
	long status;

	assert_int_equal(http_do(&SIM, "POST", path, body, strlen(body), h, &r), 0);
	status = r.status;
	if (out != NULL)
		*out = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	return status;
}

/* Writes a fresh out_trade_no into otn (33 bytes). */
static void new_no(char *otn)
{
	snprintf(otn, 33, "CD%dT%d", (int)getpid(), ++SEQ);
}

/* Creates otn for amount fen; returns the result, code_url in url. */
static int create(const char *otn, long long fen, char *url)
{
	char err[PAY_ERR_MAX];
	int rc = wxpay_create(W, otn, fen, "数字证书 1 年（测试）", NOTIFY_URL, (long long)time(NULL) + 1800,
			      url, PAY_QR_MAX, err, sizeof(err));
	if (rc != PAY_OK)
		fprintf(stderr, "create %s: %s\n", otn, err);
	return rc;
}

/* Pays otn through the test control, notifying or not. */
static void pay(const char *otn, int notify)
{
	char path[128];

	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/pay", otn);
	assert_int_equal(sim_post(path, notify ? "{\"notify\":true}" : "{\"notify\":false}", NULL), 200);
}

/* create -> code_url on the simulator; NOTPAY; paid without notification -> SUCCESS with amount. */
static void test_create_query_pay(void **state)
{
	char otn[33], url[PAY_QR_MAX], url2[PAY_QR_MAX], want[200], err[PAY_ERR_MAX];
	struct pay_status st;
	(void)state;

	new_no(otn);
	assert_int_equal(create(otn, 12345, url), PAY_OK);
	snprintf(want, sizeof(want), "%s/wxpay/scan/", SIM.base);
	assert_memory_equal(url, want, strlen(want));
	assert_int_equal(create(otn, 12345, url2), PAY_OK); /* the same order again: the same QR */
	assert_string_equal(url, url2);
	assert_int_equal(create(otn, 12346, url2), PAY_PERMANENT); /* the same number, other content */
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_NOTPAY);
	assert_string_equal(st.out_trade_no, otn);
	assert_string_equal(st.trade_no, "");
	pay(otn, 0);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_int_equal(st.amount_fen, 12345);
	assert_int_equal(strlen(st.trade_no), 28);
	assert_int_equal(strlen(st.paid_at), 20);
	assert_int_equal(create(otn, 12345, url2), PAY_PERMANENT); /* ORDERPAID */
	assert_int_equal(wxpay_query(W, "CDNOSUCHORDER1", &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_UNKNOWN);
	assert_int_equal(received_ok, 0); /* notify false: nothing was sent */
}

/* Closing: an unpaid order closes (twice is fine), a paid one cannot be closed. */
static void test_close(void **state)
{
	char otn[33], paid[33], url[PAY_QR_MAX], err[PAY_ERR_MAX];
	struct pay_status st;
	(void)state;

	new_no(otn);
	assert_int_equal(create(otn, 100, url), PAY_OK);
	assert_int_equal(wxpay_close(W, otn, err, sizeof(err)), PAY_OK);
	assert_int_equal(wxpay_close(W, otn, err, sizeof(err)), PAY_OK);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_CLOSED);
	new_no(paid);
	assert_int_equal(create(paid, 100, url), PAY_OK);
	pay(paid, 0);
	assert_int_equal(wxpay_close(W, paid, err, sizeof(err)), PAY_PERMANENT);
	assert_non_null(strstr(err, "ORDERPAID"));
	assert_int_equal(wxpay_close(W, "CDNOSUCHORDER2", err, sizeof(err)), PAY_PERMANENT);
}

/* Refunds: at once, processing then done, abnormal, more than was paid, an unpaid order. */
static void test_refunds(void **state)
{
	char otn[33], url[PAY_QR_MAX], err[PAY_ERR_MAX], rid[PAY_ID_MAX], rid2[PAY_ID_MAX], rno[40];
	struct pay_status st;
	int done = -1;
	(void)state;

	new_no(otn);
	assert_int_equal(create(otn, 1000, url), PAY_OK);
	snprintf(rno, sizeof(rno), "%sR1", otn);
	assert_int_equal(wxpay_refund(W, otn, rno, 100, 1000, "", &done, rid, err, sizeof(err)),
			 PAY_PERMANENT);
	pay(otn, 0);
	assert_int_equal(wxpay_refund(W, otn, rno, 400, 1000, "客户取消", &done, rid, err, sizeof(err)),
			 PAY_OK);
	assert_int_equal(done, 1);
	assert_int_equal(strlen(rid), 30);
	/* the same refund asked again is the same refund */
	assert_int_equal(wxpay_refund(W, otn, rno, 400, 1000, "客户取消", &done, rid2, err, sizeof(err)),
			 PAY_OK);
	assert_string_equal(rid, rid2);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_REFUNDED);
	/* 400 refunded of 1000: 601 is too much */
	snprintf(rno, sizeof(rno), "%sR2", otn);
	assert_int_equal(wxpay_refund(W, otn, rno, 601, 1000, "", &done, rid, err, sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(sim_post("/_sim/wxpay/refund-mode", "{\"mode\":\"processing\"}", NULL), 200);
	assert_int_equal(wxpay_refund(W, otn, rno, 600, 1000, "", &done, rid, err, sizeof(err)), PAY_OK);
	assert_int_equal(done, 0);
	assert_int_equal(wxpay_refund_query(W, rno, &done, err, sizeof(err)), PAY_OK);
	assert_int_equal(done, 0);
	assert_int_equal(sim_post("/_sim/wxpay/refund-mode", "{\"mode\":\"success\"}", NULL), 200);
	assert_int_equal(wxpay_refund_query(W, rno, &done, err, sizeof(err)), PAY_OK);
	assert_int_equal(done, 1);
	assert_int_equal(wxpay_refund_query(W, "NOSUCHREFUND", &done, err, sizeof(err)), PAY_PERMANENT);
	/* abnormal */
	new_no(otn);
	assert_int_equal(create(otn, 1000, url), PAY_OK);
	pay(otn, 0);
	assert_int_equal(sim_post("/_sim/wxpay/refund-mode", "{\"mode\":\"abnormal\"}", NULL), 200);
	snprintf(rno, sizeof(rno), "%sR1", otn);
	assert_int_equal(wxpay_refund(W, otn, rno, 1000, 1000, "", &done, rid, err, sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(sim_post("/_sim/wxpay/refund-mode", "{\"mode\":\"success\"}", NULL), 200);
}

/* A forged reply, a provider fault, a late answer, then normal service again. */
static void test_faults(void **state)
{
	char otn[33], url[PAY_QR_MAX], err[PAY_ERR_MAX];
	struct pay_status st;
	(void)state;

	new_no(otn);
	assert_int_equal(create(otn, 100, url), PAY_OK);
	assert_int_equal(sim_post("/_sim/wxpay/fail-next", "{\"bad_reply_signature\":true}", NULL), 200);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_FORGED);
	assert_int_equal(sim_post("/_sim/wxpay/fail-next", "{\"bad_reply_signature\":true}", NULL), 200);
	assert_int_equal(wxpay_close(W, otn, err, sizeof(err)), PAY_FORGED); /* a 204 is signed too */
	assert_int_equal(sim_post("/_sim/wxpay/fail-next", "{\"status\":500}", NULL), 200);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_RETRY);
	assert_non_null(strstr(err, "SYSTEM_ERROR"));
	assert_int_equal(
		sim_post("/_sim/wxpay/fail-next", "{\"status\":429,\"code\":\"FREQUENCY_LIMITED\"}", NULL),
		200);
	assert_int_equal(create(otn, 100, url), PAY_RETRY);
	assert_int_equal(sim_post("/_sim/wxpay/fail-next", "{\"delay_ms\":2500}", NULL), 200);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_RETRY); /* timeout_s is 1 */
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_CLOSED);
}

/* A request signed with another key is refused (401 SIGN_ERROR): a setting to fix, not to retry. */
static void test_wrong_key(void **state)
{
	struct config c = CFG;
	struct wxpay *w;
	char otn[33], url[PAY_QR_MAX], err[PAY_ERR_MAX];
	(void)state;

	c.wxpay_merchant_key = SOURCE_DIR "/config/testkeys/alipay-app.key";
	w = wxpay_new(&c, err, sizeof(err));
	assert_non_null(w);
	new_no(otn);
	assert_int_equal(wxpay_create(w, otn, 100, "x", NOTIFY_URL, (long long)time(NULL) + 600, url,
				      sizeof(url), err, sizeof(err)),
			 PAY_PERMANENT);
	assert_non_null(strstr(err, "401 SIGN_ERROR"));
	wxpay_free(w);
	/* the reply checked with the wrong platform key does not check */
	c = CFG;
	c.wxpay_platform_key = SOURCE_DIR "/config/testkeys/alipay-gateway.pub";
	w = wxpay_new(&c, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(wxpay_create(w, otn, 100, "x", NOTIFY_URL, (long long)time(NULL) + 600, url,
				      sizeof(url), err, sizeof(err)),
			 PAY_FORGED);
	wxpay_free(w);
}

/* Sends variant copies times for otn; returns the statuses as a JSON array (caller decrefs). */
static json_t *notify(const char *otn, const char *variant, int copies)
{
	char path[128], body[100];
	json_t *out = NULL, *st;

	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/notify", otn);
	snprintf(body, sizeof(body), "{\"variant\":\"%s\",\"copies\":%d}", variant, copies);
	assert_int_equal(sim_post(path, body, &out), 200);
	st = json_incref(json_object_get(out, "statuses"));
	json_decref(out);
	assert_int_equal(json_array_size(st), copies);
	return st;
}

/* Returns the one status variant got for otn. */
static long notify_one(const char *otn, const char *variant)
{
	json_t *st = notify(otn, variant, 1);
	long s = (long)json_integer_value(json_array_get(st, 0));

	json_decref(st);
	return s;
}

/* Every fault variant is refused by the receiver; good ones (even copies) are believed. */
static void test_notification_variants(void **state)
{
	char otn[33], url[PAY_QR_MAX];
	json_t *st;
	(void)state;

	new_no(otn);
	assert_int_equal(create(otn, 2000, url), PAY_OK);
	pay(otn, 0);
	pthread_mutex_lock(&mu);
	received_ok = 0;
	pthread_mutex_unlock(&mu);
	st = notify(otn, "ok", 2);
	assert_int_equal(json_integer_value(json_array_get(st, 0)), 204);
	assert_int_equal(json_integer_value(json_array_get(st, 1)), 204);
	json_decref(st);
	assert_int_equal(received_ok, 2);
	assert_string_equal(last.out_trade_no, otn);
	assert_int_equal(last.state, PAY_ST_PAID);
	assert_int_equal(last.amount_fen, 2000);
	assert_int_equal(strlen(last.event_id), 36);
	assert_int_equal(notify_one(otn, "bad_signature"), 401);
	assert_int_equal(notify_one(otn, "wrong_serial"), 401);
	assert_int_equal(notify_one(otn, "stale_timestamp"), 401);
	assert_int_equal(notify_one(otn, "wrong_mchid"), 401);
	assert_int_equal(notify_one(otn, "bad_ciphertext"), 401);
	assert_int_equal(received_ok, 2);
	/* a wrong amount is genuine as far as WeChat Pay goes: the caller compares it with the order */
	assert_int_equal(notify_one(otn, "wrong_amount"), 204);
	assert_int_equal(last.amount_fen, 2001);
}

/* Returns the notify_statuses of otn as the simulator recorded them (caller decrefs). */
static json_t *notify_statuses(const char *otn)
{
	struct resp r;
	json_t *j, *st;

	assert_int_equal(http_do(&SIM, "GET", "/_sim/wxpay/orders", NULL, 0, NULL, &r), 0);
	j = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	st = json_incref(
		json_object_get(json_object_get(json_object_get(j, "orders"), otn), "notify_statuses"));
	json_decref(j);
	return st;
}

/* The phone page pays; the notification comes in the background and is tried again after a 500. */
static void test_page_and_background_notification(void **state)
{
	const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	char otn[33], url[PAY_QR_MAX], path[200], err[PAY_ERR_MAX];
	struct pay_status st;
	struct resp r;
	json_t *sts = NULL;
	(void)state;

	new_no(otn);
	assert_int_equal(create(otn, 990, url), PAY_OK);
	const char *p = url + strlen(SIM.base);
	assert_int_equal(http_do(&SIM, "GET", p, NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "微信支付（模拟器）"));
	assert_non_null(strstr(r.body, "¥9.90"));
	assert_non_null(strstr(r.body, "确认支付"));
	resp_free(&r);
	pthread_mutex_lock(&mu);
	received_ok = 0;
	fail_first = 1;
	pthread_mutex_unlock(&mu);
	snprintf(path, sizeof(path), "%s/pay", p);
	assert_int_equal(http_do(&SIM, "POST", path, "", 0, form, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "支付成功"));
	resp_free(&r);
	assert_int_equal(wxpay_query(W, otn, &st, err, sizeof(err)), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	for (int i = 0; i < 100 && received_ok == 0; i++)
		usleep(50000);
	assert_int_equal(received_ok, 1);
	assert_string_equal(last.out_trade_no, otn);
	sts = notify_statuses(otn);
	assert_int_equal(json_array_size(sts), 2);
	assert_int_equal(json_integer_value(json_array_get(sts, 0)), 500);
	assert_int_equal(json_integer_value(json_array_get(sts, 1)), 204);
	json_decref(sts);
	/* paid: the page says so and does not pay twice */
	assert_int_equal(http_do(&SIM, "GET", p, NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 409);
	resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_query_pay),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_refunds),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_notification_variants),
		cmocka_unit_test(test_page_and_background_notification),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
