/* Alipay face-to-face payment end to end: the real adapter (providers/alipay.c) against
 * certdesk-sim's Alipay gateway over HTTP with RSA2 both ways: precreate and the QR code's page,
 * query before and after a scan and a payment, close, refunds (repeated, over the total), replies
 * that must not be believed, a gateway that fails or answers late, the wrong keys, and the
 * notifications the simulator posts (retried until "success") read back by the adapter. Needs no
 * database; notifications go to a small receiver in this process. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "providers/alipay.h"

#define SUBJECT "数字证书 A&B=C"
#define MAX_BODIES 64

static struct srv SIM;
static struct config CFG;
static struct alipay *ALI;
static char NOTIFY_URL[80];
static int serial;

/* The notification receiver: every body it got, and what it answers. */
static struct {
	pthread_mutex_t mu;
	pthread_t thread;
	int fd;
	char *bodies[MAX_BODIES];
	int n;
	char answer[16];
} RX = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Reads one HTTP request from fd and returns its body (caller frees), or NULL. */
static char *read_request(int fd)
{
	char *buf = calloc(1, 65537), *end, *cl;
	size_t len = 0, want;
	ssize_t n;

	while (len < 65536 && (n = read(fd, buf + len, 65536 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "Content-Length:");
		want = (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 15, NULL, 10) : 0);
		if (len >= want) {
			char *body = strndup(end + 4, want - (size_t)(end + 4 - buf));
			free(buf);
			return body;
		}
	}
	free(buf);
	return NULL;
}

/* The receiver's thread: one request per connection, answered with RX.answer. */
static void *receiver(void *arg)
{
	int c;
	(void)arg;

	while ((c = accept(RX.fd, NULL, NULL)) >= 0) {
		char *body = read_request(c), reply[200];
		pthread_mutex_lock(&RX.mu);
		if (body != NULL && RX.n < MAX_BODIES)
			RX.bodies[RX.n++] = body;
		else
			free(body);
		snprintf(reply, sizeof(reply),
			 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: "
			 "close\r\n\r\n%s",
			 strlen(RX.answer), RX.answer);
		pthread_mutex_unlock(&RX.mu);
		if (write(c, reply, strlen(reply)) < 0)
			perror("receiver write");
		close(c);
	}
	return NULL;
}

/* Starts the receiver on a free loopback port; fills NOTIFY_URL. */
static int receiver_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	RX.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (RX.fd < 0 || bind(RX.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(RX.fd, 16) != 0 ||
	    getsockname(RX.fd, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	snprintf(NOTIFY_URL, sizeof(NOTIFY_URL), "http://127.0.0.1:%d/api/v1/pay/alipay/notify",
		 ntohs(a.sin_port));
	strcpy(RX.answer, "success");
	return pthread_create(&RX.thread, NULL, receiver, NULL);
}

/* Sets what the receiver answers and forgets what it received. */
static void receiver_reset(const char *answer)
{
	pthread_mutex_lock(&RX.mu);
	for (int i = 0; i < RX.n; i++)
		free(RX.bodies[i]);
	RX.n = 0;
	snprintf(RX.answer, sizeof(RX.answer), "%s", answer);
	pthread_mutex_unlock(&RX.mu);
}

/* Returns how many bodies the receiver has, waiting up to ms for at least want. */
static int receiver_wait(int want, int ms)
{
	int n = 0;

	for (int waited = 0; waited <= ms; waited += 50) {
		pthread_mutex_lock(&RX.mu);
		n = RX.n;
		pthread_mutex_unlock(&RX.mu);
		if (n >= want)
			break;
		usleep(50000);
	}
	return n;
}

/* Returns a copy of received body i (caller frees). */
static char *received(int i)
{
	char *b;

	pthread_mutex_lock(&RX.mu);
	b = i < RX.n ? strdup(RX.bodies[i]) : NULL;
	pthread_mutex_unlock(&RX.mu);
	assert_non_null(b);
	return b;
}

static int setup(void **state)
{
	char err[512];
	(void)state;

	if (receiver_start() != 0 || harness_sim_alone(&SIM) != 0)
		return -1;
	if (config_load(&CFG, NULL, err, sizeof(err)) != 0 ||
	    (ALI = alipay_new(&CFG, err, sizeof(err))) == NULL) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	int rc = 0;
	(void)state;

	alipay_free(ALI);
	config_free(&CFG);
	shutdown(RX.fd, SHUT_RDWR);
	close(RX.fd);
	pthread_join(RX.thread, NULL);
	receiver_reset("");
	rc = harness_sim_alone_stop(&SIM);
	return rc;
}

/* Writes a fresh out_trade_no into otn (PAY_ID_MAX). */
static void new_otn(char *otn)
{
	snprintf(otn, PAY_ID_MAX, "CD2026%06d_%ld", ++serial, (long)getpid());
}

/* Precreates otn for fen; returns the qr_code (static). */
static const char *precreate(const char *otn, long long fen)
{
	static char qr[PAY_QR_MAX];
	char err[PAY_ERR_MAX];
	int rc = alipay_precreate(ALI, otn, fen, SUBJECT, NOTIFY_URL, (long long)time(NULL) + 900, qr,
				  sizeof(qr), err, sizeof(err));

	if (rc != PAY_OK)
		fail_msg("precreate: %d %s", rc, err);
	return qr;
}

/* Queries otn into *st; returns the result. */
static int query(const struct alipay *a, const char *otn, struct pay_status *st, char *err)
{
	return alipay_query(a, otn, st, err, PAY_ERR_MAX);
}

/* POSTs a JSON body to a /_sim path; returns the status, the reply in *out when not NULL. */
static long sim_post(const char *path, const char *json, json_t **out)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	struct resp r;
	long status;

	assert_int_equal(http_do(&SIM, "POST", path, json, strlen(json), h, &r), 0);
	status = r.status;
	if (out != NULL)
		*out = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	return status;
}

/* Pays otn through the test hook. */
static void sim_pay(const char *otn, int notify)
{
	char path[200];

	snprintf(path, sizeof(path), "/_sim/alipay/trades/%s/pay", otn);
	assert_int_equal(sim_post(path, notify ? "{\"notify\":true}" : "{\"notify\":false}", NULL), 200);
}

/* Returns the simulator's view of trade otn (GET /_sim/alipay/trades); caller decrefs. */
static json_t *sim_trade(const char *otn)
{
	struct resp r;
	json_t *j, *items, *t = NULL;

	assert_int_equal(http_do(&SIM, "GET", "/_sim/alipay/trades", NULL, 0, NULL, &r), 0);
	j = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	items = json_object_get(j, "items");
	for (size_t i = 0; i < json_array_size(items); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(items, i), "out_trade_no")),
			   otn) == 0)
			t = json_incref(json_array_get(items, i));
	json_decref(j);
	assert_non_null(t);
	return t;
}

/* GETs path on the simulator (a QR code's page) into *r. */
static void get_page(const char *qr, struct resp *r)
{
	assert_int_equal(strncmp(qr, SIM.base, strlen(SIM.base)), 0);
	assert_int_equal(http_do(&SIM, "GET", qr + strlen(SIM.base), NULL, 0, NULL, r), 0);
}

/* precreate -> QR code; unknown before the scan, waiting after it, paid after the payment. */
static void test_precreate_scan_pay(void **state)
{
	char otn[PAY_ID_MAX], err[PAY_ERR_MAX], qr[PAY_QR_MAX], want[200];
	struct pay_status st;
	struct resp r;
	(void)state;

	new_otn(otn);
	snprintf(qr, sizeof(qr), "%s", precreate(otn, 22000));
	snprintf(want, sizeof(want), "%s/alipay/scan/", SIM.base);
	assert_int_equal(strncmp(qr, want, strlen(want)), 0);
	assert_int_equal(strlen(qr), strlen(want) + 32);
	/* the same request again: the same QR code */
	assert_string_equal(precreate(otn, 22000), qr);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_UNKNOWN);
	assert_int_equal(st.amount_fen, -1);
	assert_string_equal(st.out_trade_no, otn);

	get_page(qr, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "支付宝（模拟器）"));
	assert_non_null(strstr(r.body, "220.00"));
	assert_non_null(strstr(r.body, "数字证书 A&amp;B=C"));
	assert_non_null(strstr(r.body, "确认付款"));
	assert_non_null(strstr(r.body, "取消"));
	assert_null(strstr(r.body, "<script"));
	resp_free(&r);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_NOTPAY);
	assert_int_equal(st.amount_fen, 22000);
	assert_string_equal(st.trade_no, "");

	sim_pay(otn, 0);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_int_equal(st.amount_fen, 22000);
	assert_int_equal(strlen(st.trade_no), 28);
	assert_int_equal(strlen(st.paid_at), 20);
	/* paid: neither a second payment nor a new QR code for it */
	assert_int_equal(alipay_precreate(ALI, otn, 22000, SUBJECT, NOTIFY_URL, (long long)time(NULL) + 900,
					  qr, sizeof(qr), err, sizeof(err)),
			 PAY_PERMANENT);
	assert_non_null(strstr(err, "ACQ.TRADE_HAS_SUCCESS"));
	new_otn(otn);
	precreate(otn, 100);
	assert_int_equal(alipay_precreate(ALI, otn, 200, SUBJECT, NOTIFY_URL, (long long)time(NULL) + 900, qr,
					  sizeof(qr), err, sizeof(err)),
			 PAY_PERMANENT);
	assert_non_null(strstr(err, "ACQ.CONTEXT_INCONSISTENT"));
}

/* close: never scanned (nothing to close), scanned and waiting, paid (refused). */
static void test_close(void **state)
{
	char otn[PAY_ID_MAX], err[PAY_ERR_MAX], qr[PAY_QR_MAX];
	struct pay_status st;
	struct resp r;
	(void)state;

	new_otn(otn);
	precreate(otn, 22000);
	assert_int_equal(alipay_close(ALI, otn, err, sizeof(err)), PAY_OK);
	new_otn(otn);
	snprintf(qr, sizeof(qr), "%s", precreate(otn, 22000));
	get_page(qr, &r);
	resp_free(&r);
	assert_int_equal(alipay_close(ALI, otn, err, sizeof(err)), PAY_OK);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_CLOSED);
	assert_int_equal(alipay_close(ALI, otn, err, sizeof(err)), PAY_OK); /* closed already */
	/* the page says so; paying it is refused */
	get_page(qr, &r);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.body, "交易已关闭"));
	resp_free(&r);
	new_otn(otn);
	precreate(otn, 22000);
	sim_pay(otn, 0);
	assert_int_equal(alipay_close(ALI, otn, err, sizeof(err)), PAY_PERMANENT);
	assert_non_null(strstr(err, "ACQ.TRADE_STATUS_ERROR"));
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
}

/* refunds: partial, repeated (the same answer, no money moved twice), the rest, then nothing more. */
static void test_refund(void **state)
{
	char otn[PAY_ID_MAX], err[PAY_ERR_MAX], id[PAY_ID_MAX];
	struct pay_status st;
	json_t *t;
	(void)state;

	new_otn(otn);
	precreate(otn, 22000);
	assert_int_equal(alipay_refund(ALI, otn, "R1", 100, "未付款", id, err, sizeof(err)), PAY_PERMANENT);
	assert_non_null(strstr(err, "ACQ.TRADE_NOT_EXIST"));
	sim_pay(otn, 0);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(alipay_refund(ALI, otn, "R1", 10000, "客户撤单", id, err, sizeof(err)), PAY_OK);
	assert_string_equal(id, st.trade_no);
	assert_int_equal(alipay_refund(ALI, otn, "R1", 10000, "客户撤单", id, err, sizeof(err)), PAY_OK);
	assert_string_equal(id, st.trade_no);
	/* the same request number for another amount was not what was done */
	assert_int_equal(alipay_refund(ALI, otn, "R1", 500, NULL, id, err, sizeof(err)), PAY_PERMANENT);
	assert_non_null(strstr(err, "another amount"));
	assert_int_equal(alipay_refund(ALI, otn, "R2", 12001, NULL, id, err, sizeof(err)), PAY_PERMANENT);
	assert_non_null(strstr(err, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"));
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_int_equal(alipay_refund(ALI, otn, "R2", 12000, NULL, id, err, sizeof(err)), PAY_OK);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK);
	assert_int_equal(st.state, PAY_ST_REFUNDED);
	assert_int_equal(alipay_refund(ALI, otn, "R2", 12000, NULL, id, err, sizeof(err)), PAY_OK);
	assert_int_equal(alipay_refund(ALI, otn, "R3", 1, NULL, id, err, sizeof(err)), PAY_PERMANENT);
	assert_non_null(strstr(err, "ACQ.TRADE_HAS_CLOSE"));
	/* the simulator moved 220.00 in all */
	t = sim_trade(otn);
	assert_string_equal(json_string_value(json_object_get(t, "refund_fee")), "220.00");
	assert_int_equal(json_array_size(json_object_get(t, "refunds")), 2);
	assert_string_equal(json_string_value(json_object_get(t, "trade_status")), "TRADE_CLOSED");
	json_decref(t);
}

/* Replies that must not be believed, and a gateway that fails or answers late. */
static void test_gateway_failures(void **state)
{
	char otn[PAY_ID_MAX], err[PAY_ERR_MAX];
	struct config c = CFG;
	struct alipay *quick;
	struct pay_status st;
	time_t t0;
	(void)state;

	new_otn(otn);
	precreate(otn, 22000);
	sim_pay(otn, 0);
	assert_int_equal(sim_post("/_sim/alipay/fail-next", "{\"bad_reply_signature\":true}", NULL), 200);
	assert_int_equal(query(ALI, otn, &st, err), PAY_FORGED);
	assert_non_null(strstr(err, "signature"));
	assert_int_equal(st.state, PAY_ST_UNKNOWN);
	assert_int_equal(query(ALI, otn, &st, err), PAY_OK); /* one call only */
	assert_int_equal(sim_post("/_sim/alipay/fail-next", "{\"status\":500}", NULL), 200);
	assert_int_equal(query(ALI, otn, &st, err), PAY_RETRY);
	assert_non_null(strstr(err, "HTTP status 500"));
	assert_int_equal(sim_post("/_sim/alipay/fail-next", "{\"sub_code\":\"ACQ.SYSTEM_ERROR\"}", NULL),
			 200);
	assert_int_equal(query(ALI, otn, &st, err), PAY_RETRY);
	assert_non_null(strstr(err, "40004 ACQ.SYSTEM_ERROR"));
	assert_int_equal(sim_post("/_sim/alipay/fail-next", "{\"sub_code\":\"isp.unknow-error\"}", NULL),
			 200);
	assert_int_equal(alipay_close(ALI, otn, err, sizeof(err)), PAY_RETRY);
	assert_non_null(strstr(err, "20000 isp.unknow-error"));
	assert_int_equal(sim_post("/_sim/alipay/fail-next", "{\"status\":42}", NULL), 400);
	/* later than the adapter waits */
	c.alipay_timeout_s = 1;
	quick = alipay_new(&c, err, sizeof(err));
	assert_non_null(quick);
	assert_int_equal(sim_post("/_sim/alipay/fail-next", "{\"delay_ms\":2500}", NULL), 200);
	t0 = time(NULL);
	assert_int_equal(query(quick, otn, &st, err), PAY_RETRY);
	assert_true(time(NULL) - t0 <= 2);
	assert_non_null(strstr(err, "transport"));
	alipay_free(quick);
	sleep(2); /* let the simulator finish the late answer */
	/* nothing listens */
	c = CFG;
	c.alipay_gateway = "http://127.0.0.1:1/alipay/gateway.do";
	quick = alipay_new(&c, err, sizeof(err));
	assert_int_equal(query(quick, otn, &st, err), PAY_RETRY);
	alipay_free(quick);
}

/* The wrong application key, app_id or Alipay public key: refused, and never taken for success. */
static void test_wrong_keys(void **state)
{
	char otn[PAY_ID_MAX], err[PAY_ERR_MAX], qr[PAY_QR_MAX];
	struct config c = CFG;
	struct alipay *a;
	struct pay_status st;
	long long later = (long long)time(NULL) + 900;
	(void)state;

	new_otn(otn);
	c.alipay_app_key = SOURCE_DIR "/config/testkeys/wxpay-merchant.key";
	a = alipay_new(&c, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(
		alipay_precreate(a, otn, 22000, SUBJECT, NOTIFY_URL, later, qr, sizeof(qr), err, sizeof(err)),
		PAY_PERMANENT);
	assert_non_null(strstr(err, "40002 isv.invalid-signature"));
	assert_non_null(strstr(err, "[unsigned]"));
	assert_int_equal(alipay_close(a, otn, err, sizeof(err)), PAY_PERMANENT);
	alipay_free(a);
	c = CFG;
	c.alipay_app_id = "2021000000000002";
	a = alipay_new(&c, err, sizeof(err));
	assert_int_equal(query(a, otn, &st, err), PAY_PERMANENT);
	assert_non_null(strstr(err, "isv.invalid-app-id"));
	alipay_free(a);
	/* replies signed by a key that is not the one we hold for Alipay */
	c = CFG;
	c.alipay_public_key = SOURCE_DIR "/config/testkeys/alipay-app.pub";
	a = alipay_new(&c, err, sizeof(err));
	assert_int_equal(
		alipay_precreate(a, otn, 22000, SUBJECT, NOTIFY_URL, later, qr, sizeof(qr), err, sizeof(err)),
		PAY_FORGED);
	assert_int_equal(query(a, otn, &st, err), PAY_FORGED); /* TRADE_NOT_EXIST, signed by another */
	assert_int_equal(alipay_close(a, otn, err, sizeof(err)), PAY_FORGED);
	alipay_free(a);
}

/* Returns form field name of a received body (static, %-decoding only what the ids use). */
static const char *field(const char *body, const char *name)
{
	static char v[128];
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "%s=", name);
	for (p = body; (p = strstr(p, key)) != NULL; p++)
		if (p == body || p[-1] == '&')
			break;
	if (p == NULL)
		return "";
	snprintf(v, sizeof(v), "%.*s", (int)strcspn(p + strlen(key), "&"), p + strlen(key));
	return v;
}

/* Reads received body i with the adapter; returns the result and fills *st. */
static int read_notification(int i, struct pay_status *st)
{
	char err[PAY_ERR_MAX], *b = received(i);
	int rc = alipay_notification(ALI, b, strlen(b), st, err, sizeof(err));

	free(b);
	return rc;
}

/* Paying sends the notification; it comes again (same notify_id) until the answer is "success". */
static void test_notification_retries(void **state)
{
	char otn[PAY_ID_MAX], id[128], path[200], *b;
	struct pay_status st, q;
	char err[PAY_ERR_MAX];
	json_t *j;
	(void)state;

	new_otn(otn);
	precreate(otn, 22000);
	receiver_reset("fail");
	sim_pay(otn, 1);
	assert_true(receiver_wait(2, 4000) >= 2); /* at once, then 1 s later */
	receiver_reset("success");
	assert_int_equal(receiver_wait(1, 4000), 1); /* 2 s later */
	usleep(300000);
	b = received(0);
	snprintf(id, sizeof(id), "%s", field(b, "notify_id"));
	free(b);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(read_notification(0, &st), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_int_equal(st.amount_fen, 22000);
	assert_string_equal(st.out_trade_no, otn);
	assert_string_equal(st.event_id, id);
	assert_int_equal(query(ALI, otn, &q, err), PAY_OK);
	assert_string_equal(st.trade_no, q.trade_no);
	assert_string_equal(st.paid_at, q.paid_at);
	/* the simulator's record: three attempts, delivered, and no more after that */
	sleep(1);
	j = sim_trade(otn);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "notifications"), "attempts")),
			 3);
	assert_true(json_is_true(json_object_get(json_object_get(j, "notifications"), "delivered")));
	assert_string_equal(json_string_value(json_object_get(j, "notify_id")), id);
	json_decref(j);
	assert_int_equal(receiver_wait(2, 0), 1);

	/* the test hook: copies now, and the variants the adapter must refuse */
	receiver_reset("success");
	snprintf(path, sizeof(path), "/_sim/alipay/trades/%s/notify", otn);
	assert_int_equal(sim_post(path, "{\"variant\":\"ok\",\"copies\":2}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "notify_id")), id);
	assert_int_equal(json_array_size(json_object_get(j, "answers")), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "answers"), 1), "body")),
		"success");
	assert_int_equal(json_integer_value(
				 json_object_get(json_array_get(json_object_get(j, "answers"), 0), "status")),
			 200);
	json_decref(j);
	assert_int_equal(read_notification(0, &st), PAY_OK);
	assert_int_equal(read_notification(1, &st), PAY_OK);
	assert_string_equal(st.event_id, id);
	receiver_reset("success");
	assert_int_equal(sim_post(path, "{\"variant\":\"bad_signature\"}", NULL), 200);
	assert_int_equal(sim_post(path, "{\"variant\":\"wrong_app_id\"}", NULL), 200);
	assert_int_equal(sim_post(path, "{\"variant\":\"wrong_seller\"}", NULL), 200);
	assert_int_equal(sim_post(path, "{\"variant\":\"wrong_amount\"}", NULL), 200);
	assert_int_equal(sim_post(path, "{\"variant\":\"trade_closed\"}", NULL), 200);
	assert_int_equal(receiver_wait(5, 2000), 5);
	assert_int_equal(read_notification(0, &st), PAY_FORGED);
	assert_int_equal(read_notification(1, &st), PAY_FORGED);
	assert_int_equal(read_notification(2, &st), PAY_FORGED);
	assert_int_equal(read_notification(3, &st), PAY_OK); /* signed: the caller compares the amount */
	assert_int_equal(st.amount_fen, 22001);
	assert_int_equal(read_notification(4, &st), PAY_OK);
	assert_int_equal(st.state, PAY_ST_REFUNDED); /* closed after a payment */
	assert_int_equal(sim_post(path, "{\"variant\":\"other\"}", NULL), 400);
	assert_int_equal(sim_post(path, "{\"variant\":\"ok\",\"copies\":1001}", NULL), 400);
	assert_int_equal(sim_post("/_sim/alipay/trades/NOPE/notify", "{\"variant\":\"ok\"}", NULL), 404);
}

/* The phone's side: the page's button pays and notifies. */
static void test_page_pay(void **state)
{
	char otn[PAY_ID_MAX], qr[PAY_QR_MAX], path[PAY_QR_MAX];
	struct pay_status st;
	struct resp r;
	(void)state;

	new_otn(otn);
	snprintf(qr, sizeof(qr), "%s", precreate(otn, 1));
	receiver_reset("success");
	snprintf(path, sizeof(path), "%s/cancel", qr + strlen(SIM.base));
	assert_int_equal(http_do(&SIM, "POST", path, "", 0, NULL, &r), 0);
	assert_non_null(strstr(r.body, "已取消付款"));
	resp_free(&r);
	snprintf(path, sizeof(path), "%s/pay", qr + strlen(SIM.base));
	assert_int_equal(http_do(&SIM, "POST", path, "", 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "付款成功"));
	assert_non_null(strstr(r.body, "0.01"));
	resp_free(&r);
	assert_int_equal(receiver_wait(1, 3000), 1);
	assert_int_equal(read_notification(0, &st), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_int_equal(st.amount_fen, 1);
	assert_int_equal(sim_post("/_sim/alipay/trades/NOPE/pay", "{}", NULL), 404);
	snprintf(path, sizeof(path), "/_sim/alipay/trades/%s/pay", otn);
	assert_int_equal(sim_post(path, "{}", NULL), 409);
	assert_int_equal(http_do(&SIM, "GET", "/alipay/scan/0123", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);
}

/* Parameters in the query string, as Alipay's SDKs send the common ones, are read too; a body that
 * is not a form, or an unknown method, is answered in Alipay's error shape. */
static void test_raw_gateway(void **state)
{
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	struct resp r;
	(void)state;

	assert_int_equal(
		http_do(&SIM, "POST", "/alipay/gateway.do?method=alipay.trade.nothing", "", 0, h, &r), 0);
	assert_non_null(strstr(r.body, "\"error_response\""));
	assert_non_null(strstr(r.body, "isv.invalid-method"));
	resp_free(&r);
	assert_int_equal(http_do(&SIM, "POST",
				 "/alipay/gateway.do?method=alipay.trade.query&app_id=2021000000000001",
				 "sign=x", 6, h, &r),
			 0);
	assert_non_null(strstr(r.body, "\"alipay_trade_query_response\""));
	assert_non_null(strstr(r.body, "isv.invalid-signature-type"));
	assert_null(strstr(r.body, "\"sign\""));
	resp_free(&r);
	assert_int_equal(http_do(&SIM, "POST", "/alipay/gateway.do", "a=%zz", 5, h, &r), 0);
	assert_non_null(strstr(r.body, "\"error_response\""));
	resp_free(&r);
	assert_int_equal(http_do(&SIM, "DELETE", "/_sim/alipay", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(http_do(&SIM, "GET", "/_sim/alipay/trades", NULL, 0, NULL, &r), 0);
	{
		json_t *j = json_loadb(r.body, r.len, 0, NULL);
		assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
		json_decref(j);
	}
	resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precreate_scan_pay),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_gateway_failures),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_notification_retries),
		cmocka_unit_test(test_page_pay),
		cmocka_unit_test(test_raw_gateway),
	};
	return cmocka_run_group_tests_name("alipay", tests, setup, teardown);
}
