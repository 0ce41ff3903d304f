/* Payments (缴费) end to end: certdeskd's real WeChat Pay and Alipay adapters against certdesk-sim,
 * on both backends. Paying through the simulator moves the order on exactly once, whatever the
 * notifications do (1,000 replays, forged ones, a tampered amount, none at all, racing the
 * reconciliation job); a second QR code paid is refunded; expired attempts are closed; finance
 * cancels a paid order and the money goes back through the provider. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "docs/qrscan.h"
#include "harness.h"
#include "providers/wxpay.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, other, finance, reviewer;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates a secondary-key order (any number of them may be live) awaiting payment; writes its number. */
static void order_awaiting_payment(char no[32])
{
	char body[2048];
	json_t *j = NULL;
	struct db_conn *c;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":%s}",
		 FULL_FORM);
	assert_int_equal(client_do(&org, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	/* submission and pre-review are tested elsewhere: the order is put where they leave it */
	c = db_acquire(db);
	assert_int_equal(db_exec(c,
				 "UPDATE orders SET state = 'awaiting_payment', submitted_at = created_at"
				 " WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(no)), NULL),
			 DB_OK);
	db_release(c);
}

/* Asks for a QR code of provider for order no; returns the reply's attempt (caller decrefs the reply *j). */
static json_t *attempt(const char *no, const char *provider, json_t **j)
{
	char path[128], body[64];

	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", provider);
	assert_int_equal(client_do(&org, "POST", path, body, j), 200);
	return json_object_get(*j, "attempt");
}

static const char *str(json_t *o, const char *k);

/* Asks for a QR code of provider for order no and copies its out_trade_no into out (80 bytes). */
static void new_attempt(const char *no, const char *provider, char *out)
{
	json_t *j = NULL;

	snprintf(out, 80, "%s", str(attempt(no, provider, &j), "out_trade_no"));
	json_decref(j);
}

/* Pays attempt out_trade_no of provider on the simulator, with or without its notification. */
static void sim_pay(const char *provider, const char *out_trade_no, int notify)
{
	char path[160];

	snprintf(path, sizeof(path),
		 strcmp(provider, "wxpay") == 0 ? "/_sim/wxpay/orders/%s/pay" : "/_sim/alipay/trades/%s/pay",
		 out_trade_no);
	assert_int_equal(sim_do(&S, "POST", path, notify ? "{\"notify\":true}" : "{\"notify\":false}", NULL),
			 200);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL ? s : "";
}

/* The order's state as staff see it, without prompting a provider query. */
static void order_state(const char *no, char *out, size_t len)
{
	char path[128];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&finance, "GET", path, NULL, &j), 200);
	snprintf(out, len, "%s", str(j, "state"));
	json_decref(j);
}

/* Waits up to 20 s for order no to reach state; returns 1 when it did. */
static int wait_state(const char *no, const char *state)
{
	char now[32];

	for (int i = 0; i < 200; i++) {
		order_state(no, now, sizeof(now));
		if (strcmp(now, state) == 0)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

/* Returns how many rows sql (one ? for a text) counts. */
static int64_t count(const char *sql, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;

	assert_int_equal(db_query_int(c, sql, DB_ARGS(DB_TEXT(arg)), &n), DB_OK);
	db_release(c);
	return n;
}

/* Waits up to 20 s for sql (one ? for arg) to count want rows; returns the last count. */
static int64_t wait_count(const char *sql, const char *arg, int64_t want)
{
	int64_t n = count(sql, arg);

	for (int i = 0; i < 200 && n != want; i++) {
		usleep(100 * 1000);
		n = count(sql, arg);
	}
	return n;
}

static int64_t paid_events(const char *no)
{
	return count("SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id"
		     " WHERE o.order_no = ? AND e.event = 'paid'",
		     no);
}

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	/* the reconciliation job looks every second at attempts older than 3 seconds */
	setenv("CERTDESK_PAYMENT_RECONCILE_AFTER_S", "3", 1);
	setenv("CERTDESK_PAYMENT_RECONCILE_INTERVAL_S", "1", 1);
	if (harness_start_sim(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&other, &S, "other");
	client_init(&finance, &S, "finance");
	client_init(&reviewer, &S, "reviewer");
	if (client_register_login(&org, "鹰潭缴费测试有限公司", "91310115MA1K3BTP2B", "13800138031") != 0 ||
	    client_register_login(&other, "鹰潭旁观有限公司", "91110000600037341L", "13800138032") != 0 ||
	    client_staff_login(&finance, "finance") != 0 || client_staff_login(&reviewer, "reviewer") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	db_close(db);
	config_free(&cfg);
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

static int qr_found(const char *text, void *arg)
{
	snprintf(arg, 512, "%s", text);
	return 1;
}

/* WeChat Pay: a QR code (also as a PNG that decodes to it), reused when asked again, paid on the
 * simulator's page; the notification moves the order on; staff see the payment. */
static void test_wxpay_pays(void **state)
{
	char no[32], path[160], out_trade_no[80], decoded[512] = "";
	json_t *j = NULL, *a;
	struct resp r;
	unsigned char *grey = NULL;
	unsigned w, h;
	(void)state;

	order_awaiting_payment(no);
	a = attempt(no, "wxpay", &j);
	assert_string_equal(str(a, "state"), "open");
	assert_int_equal(json_integer_value(json_object_get(j, "amount_fen")), 19000);
	assert_non_null(strstr(str(a, "qr_code"), "/wxpay/"));
	snprintf(out_trade_no, sizeof(out_trade_no), "%s", str(a, "out_trade_no"));
	assert_int_equal(strncmp(out_trade_no, no, 10), 0); /* YTyyyymmdd, then the sequence without '-' */
	/* the PNG holds the provider's code_url */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment/qr.png", no);
	const char *hdr[] = {NULL, NULL};
	char cookie[400];
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&org));
	hdr[0] = cookie;
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, hdr, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(image_decode_grey((unsigned char *)r.body, r.len, &grey, &w, &h), 0);
	assert_int_equal(qr_scan(grey, w, h, qr_found, decoded), 1);
	assert_string_equal(decoded, str(a, "qr_code"));
	free(grey);
	resp_free(&r);
	json_decref(j);
	/* asked again: the same QR code */
	a = attempt(no, "wxpay", &j);
	assert_string_equal(str(a, "out_trade_no"), out_trade_no);
	json_decref(j);
	/* another organisation and visitors get nothing */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	assert_int_equal(client_do(&other, "GET", path, NULL, NULL), 404);
	assert_int_equal(client_do(&other, "POST", path, "{\"provider\":\"wxpay\"}", NULL), 404);
	assert_int_equal(client_do(&org, "POST", path, "{\"provider\":\"bank\"}", &j), 422);
	json_decref(j);

	/* paid: the simulator notifies certdeskd, which credits the order */
	sim_pay("wxpay", out_trade_no, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(paid_events(no), 1);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_string_equal(str(j, "order_state"), "awaiting_paper");
	assert_string_equal(str(json_object_get(j, "attempt"), "state"), "paid");
	json_decref(j);
	/* no more QR codes for a paid order */
	assert_int_equal(client_do(&org, "POST", path, "{\"provider\":\"alipay\"}", &j), 409);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&finance, "GET", path, NULL, &j), 200);
	json_t *p = json_array_get(json_object_get(j, "payments"), 0);
	assert_string_equal(str(p, "state"), "paid");
	assert_true(json_is_true(json_object_get(p, "credited")));
	assert_true(str(p, "trade_no")[0] != '\0');
	json_decref(j);
}

/* 1,000 replays of the same notification, then forged, stale and tampered ones: credited once. */
static void test_replays_and_forgeries(void **state)
{
	static const char *const forged[] = {"bad_signature", "wrong_serial", "stale_timestamp",
					     "wrong_mchid", "bad_ciphertext"};
	char no[32], path[160], body[96], out_trade_no[80];
	json_t *j = NULL;
	size_t i;
	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", out_trade_no);
	/* paid (the notification lost), then notifications that must not count: forged ones are refused
	 * (WeChat would retry them: 4xx), one with another amount, signed properly, is recorded only */
	sim_pay("wxpay", out_trade_no, 0);
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/notify", out_trade_no);
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		snprintf(body, sizeof(body), "{\"variant\":\"%s\"}", forged[i]);
		assert_int_equal(sim_do(&S, "POST", path, body, &j), 200);
		if (json_integer_value(json_array_get(json_object_get(j, "statuses"), 0)) < 400)
			fail_msg("notification variant %s was accepted: %lld", forged[i],
				 (long long)json_integer_value(
					 json_array_get(json_object_get(j, "statuses"), 0)));
		json_decref(j);
	}
	assert_int_equal(sim_do(&S, "POST", path, "{\"variant\":\"wrong_amount\"}", &j), 200);
	json_decref(j);
	assert_true(count("SELECT COUNT(*) FROM payment_events WHERE verdict = 'forged' AND provider = ?",
			  "wxpay") >= 5);
	assert_true(count("SELECT COUNT(*) FROM audit_log WHERE action = ?", "payment.forged") >= 5);
	assert_int_equal(count("SELECT COUNT(*) FROM payment_events WHERE verdict = ?", "mismatch"), 1);

	/* then the genuine notification 1,000 times (the reconciliation job may have credited the
	 * order meanwhile: either way, once) */
	assert_int_equal(sim_do(&S, "POST", path, "{\"variant\":\"ok\",\"copies\":1000}", &j), 200);
	json_t *st = json_object_get(j, "statuses");
	assert_int_equal(json_array_size(st), 1000);
	for (i = 0; i < 1000; i++) {
		long code = (long)json_integer_value(json_array_get(st, i));
		assert_true(code == 200 || code == 204);
	}
	json_decref(j);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM payments WHERE state = 'paid' AND credited = 1"
			       " AND out_trade_no = ?",
			       out_trade_no),
			 1);
	assert_true(count("SELECT COUNT(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id"
			  " WHERE e.verdict = 'duplicate' AND p.out_trade_no = ?",
			  out_trade_no) >= 999);
}

/* Alipay: paid on the simulator, the notification is answered "success" and credits the order. */
static void test_alipay_pays(void **state)
{
	char no[32], path[160], out_trade_no[80];
	json_t *j = NULL, *a;
	(void)state;

	order_awaiting_payment(no);
	a = attempt(no, "alipay", &j);
	assert_non_null(strstr(str(a, "qr_code"), "/alipay/"));
	snprintf(out_trade_no, sizeof(out_trade_no), "%s", str(a, "out_trade_no"));
	json_decref(j);
	sim_pay("alipay", out_trade_no, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	/* replays and forgeries change nothing */
	snprintf(path, sizeof(path), "/_sim/alipay/trades/%s/notify", out_trade_no);
	assert_int_equal(sim_do(&S, "POST", path, "{\"variant\":\"ok\",\"copies\":20}", &j), 200);
	json_t *answer = json_array_get(json_object_get(j, "answers"), 19);
	assert_string_equal(str(answer, "body"), "success"); /* a duplicate is still acknowledged */
	json_decref(j);
	/* forged ones are answered "fail" and audited; a signed one with another amount is recorded */
	const char *bad[] = {"bad_signature", "wrong_app_id", "wrong_seller", "wrong_amount"};
	int64_t forged = count(
		"SELECT COUNT(*) FROM payment_events WHERE verdict = 'forged' AND provider = ?", "alipay");
	for (size_t i = 0; i < 4; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"variant\":\"%s\"}", bad[i]);
		assert_int_equal(sim_do(&S, "POST", path, body, &j), 200);
		answer = json_array_get(json_object_get(j, "answers"), 0);
		assert_string_equal(str(answer, "body"), i < 3 ? "fail" : "success");
		json_decref(j);
	}
	assert_int_equal(
		count("SELECT COUNT(*) FROM payment_events WHERE verdict = 'forged' AND provider = ?",
		      "alipay"),
		forged + 3);
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(
		count("SELECT COUNT(*) FROM payments WHERE credited = 1 AND out_trade_no = ?", out_trade_no),
		1);
}

/* The notification never comes: the reconciliation job asks Alipay and credits the order. */
static void test_reconciliation_credits(void **state)
{
	char no[32], out_trade_no[80];

	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "alipay", out_trade_no);
	sim_pay("alipay", out_trade_no, 0);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id"
			       " WHERE e.source = 'query' AND e.verdict = 'applied' AND p.out_trade_no = ?",
			       out_trade_no),
			 1);
}

struct poller {
	const char *no;
	int stop;
};

/* Polls the payment page (each poll may query the provider) until told to stop. */
static void *poll_page(void *arg)
{
	struct poller *p = arg;
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", p->no);
	while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
		client_do(&org, "GET", path, NULL, NULL);
	return NULL;
}

/* A notification storm racing the page's queries and the reconciliation job: credited once. */
static void test_notify_races_reconciliation(void **state)
{
	char no[32], path[160], out_trade_no[80];
	struct poller p;
	pthread_t t;
	json_t *j = NULL;
	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", out_trade_no);
	sim_pay("wxpay", out_trade_no, 0);
	p = (struct poller){.no = no};
	assert_int_equal(pthread_create(&t, NULL, poll_page, &p), 0);
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/notify", out_trade_no);
	assert_int_equal(sim_do(&S, "POST", path, "{\"variant\":\"ok\",\"copies\":200}", &j), 200);
	json_decref(j);
	__atomic_store_n(&p.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id"
			       " WHERE e.verdict = 'applied' AND p.out_trade_no = ?",
			       out_trade_no),
			 1);
}

/* Two QR codes paid: the first is found paid when the second replaces it and credits the order;
 * the second, paid too, is refunded whole by the reconciliation job. */
static void test_second_payment_refunded(void **state)
{
	char no[32], path[160], first[80], second[80];

	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", first);
	sim_pay("wxpay", first, 0);
	new_attempt(no, "alipay", second); /* replaces the WeChat QR code, which turns out to be paid */
	assert_true(wait_state(no, "awaiting_paper"));
	sim_pay("alipay", second, 1);
	assert_int_equal(wait_count("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id"
				    " WHERE f.state = 'done' AND f.kind = 'duplicate' AND p.out_trade_no = ?",
				    second, 1),
			 1);
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(
		count("SELECT COUNT(*) FROM payments WHERE credited = 1 AND out_trade_no = ?", first), 1);
	order_state(no, path, sizeof(path));
	assert_string_equal(path, "awaiting_paper");
}

/* A QR code closed here (replaced) but still payable at the provider is paid anyway: the money
 * counts (the order is paid by it); the open one paid afterwards is refunded. */
static void test_closed_attempt_paid(void **state)
{
	char no[32], first[80], second[80];

	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "alipay", first); /* never scanned: Alipay does not know it yet */
	new_attempt(no, "wxpay", second); /* replaces it: closed here */
	assert_int_equal(
		count("SELECT COUNT(*) FROM payments WHERE state = 'closed' AND out_trade_no = ?", first), 1);
	sim_pay("alipay", first, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(count("SELECT COUNT(*) FROM payments WHERE state = 'paid' AND credited = 1 AND "
			       "out_trade_no = ?",
			       first),
			 1);
	sim_pay("wxpay", second, 1);
	assert_int_equal(wait_count("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id"
				    " WHERE f.state = 'done' AND f.kind = 'duplicate' AND p.out_trade_no = ?",
				    second, 1),
			 1);
	assert_int_equal(paid_events(no), 1);
}

/* A genuine notification about a payment certdeskd never made (another system on the same merchant
 * account): recorded and audited as unknown, answered so that WeChat Pay stops, nothing credited. */
static void test_unknown_trade(void **state)
{
	struct wxpay *w;
	char err[PAY_ERR_MAX], qr[PAY_QR_MAX], notify[200];
	(void)state;

	assert_non_null(w = wxpay_new(&cfg, err, sizeof(err)));
	snprintf(notify, sizeof(notify), "%s/api/v1/payments/wxpay/notify", S.base);
	assert_int_equal(wxpay_create(w, "OTHERSYSTEM_0001", 100, "别的系统的订单", notify,
				      (long long)time(NULL) + 600, qr, sizeof(qr), err, sizeof(err)),
			 PAY_OK);
	wxpay_free(w);
	sim_pay("wxpay", "OTHERSYSTEM_0001", 1);
	assert_int_equal(
		wait_count(
			"SELECT COUNT(*) FROM audit_log WHERE action = 'payment.unknown' AND object_id = ?",
			"OTHERSYSTEM_0001", 1),
		1);
	assert_int_equal(count("SELECT COUNT(*) FROM payments WHERE out_trade_no = ?", "OTHERSYSTEM_0001"),
			 0);
}

/* An attempt past its time is closed by the reconciliation job, here and at the provider. */
static void test_expired_attempt_closed(void **state)
{
	char no[32], out_trade_no[80];
	json_t *j = NULL, *a;
	struct db_conn *c;
	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", out_trade_no);
	c = db_acquire(db);
	assert_int_equal(
		db_exec(c, "UPDATE payments SET expires_at = '2000-01-01T00:00:00Z' WHERE out_trade_no = ?",
			DB_ARGS(DB_TEXT(out_trade_no)), NULL),
		DB_OK);
	db_release(c);
	assert_int_equal(
		wait_count("SELECT COUNT(*) FROM payments WHERE state = 'closed' AND out_trade_no = ?",
			   out_trade_no, 1),
		1);
	/* the order still waits for payment, with a fresh QR code when asked */
	a = attempt(no, "wxpay", &j);
	assert_string_not_equal(str(a, "out_trade_no"), out_trade_no);
	json_decref(j);
}

/* The provider is down: a clear error, no QR code, nothing lost. */
static void test_provider_down(void **state)
{
	char no[32], path[160];
	json_t *j = NULL;
	(void)state;

	order_awaiting_payment(no);
	assert_int_equal(sim_do(&S, "POST", "/_sim/wxpay/fail-next", "{\"status\":500}", NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	assert_int_equal(client_do(&org, "POST", path, "{\"provider\":\"wxpay\"}", &j), 502);
	assert_string_equal(error_code(j), "provider_unavailable");
	json_decref(j);
	/* and works again afterwards */
	json_t *a = attempt(no, "wxpay", &j);
	assert_string_equal(str(a, "state"), "open");
	json_decref(j);
}

/* An order switching providers again and again gets at most 20 QR codes an hour from them. */
static void test_attempts_limited(void **state)
{
	char no[32], path[160];
	json_t *j = NULL;
	(void)state;

	order_awaiting_payment(no);
	for (int i = 0; i < 20; i++) {
		attempt(no, i % 2 ? "wxpay" : "alipay", &j);
		json_decref(j);
	}
	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	assert_int_equal(client_do(&org, "POST", path, "{\"provider\":\"alipay\"}", &j), 429);
	assert_string_equal(error_code(j), "rate_limited");
	json_decref(j);
	/* only the newest is open */
	assert_int_equal(count("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id"
			       " WHERE p.state = 'open' AND o.order_no = ?",
			       no),
			 1);
}

#define RACERS 8

/* One of RACERS requests for a QR code, sent at the same time as the others. */
struct racer {
	const char *path, *body, *cookie, *csrf;
	long status;
	char out_trade_no[80], qr_code[512];
};

/* Sends the racer's request (from a thread: no cmocka asserts here) and keeps what came back. */
static void *race_one(void *arg)
{
	struct racer *x = arg;
	const char *hdr[] = {x->cookie, x->csrf, "Content-Type: application/json", NULL};
	struct resp r;
	json_t *j, *a;

	if (http_do(&S, "POST", x->path, x->body, strlen(x->body), hdr, &r) != 0)
		return NULL;
	x->status = r.status;
	j = json_loadb(r.body, r.len, 0, NULL);
	a = json_object_get(j, "attempt");
	snprintf(x->out_trade_no, sizeof(x->out_trade_no), "%s", str(a, "out_trade_no"));
	snprintf(x->qr_code, sizeof(x->qr_code), "%s", str(a, "qr_code"));
	json_decref(j);
	resp_free(&r);
	return NULL;
}

/* RACERS requests for a QR code of provider for order no at once; asserts that all got the same
 * open attempt and copies its out_trade_no into out (80 bytes). */
static void race_attempts(const char *no, const char *provider, char *out)
{
	struct racer x[RACERS];
	pthread_t t[RACERS];
	char path[128], body[64], cookie[400], csrf[128];

	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	snprintf(body, sizeof(body), "{\"provider\":\"%s\"}", provider);
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&org));
	snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", org.csrf);
	for (int i = 0; i < RACERS; i++) {
		x[i] = (struct racer){.path = path, .body = body, .cookie = cookie, .csrf = csrf};
		assert_int_equal(pthread_create(&t[i], NULL, race_one, &x[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < RACERS; i++) {
		assert_int_equal(x[i].status, 200);
		assert_string_equal(x[i].out_trade_no, x[0].out_trade_no);
		assert_string_equal(x[i].qr_code, x[0].qr_code);
	}
	assert_non_null(strstr(x[0].qr_code, strcmp(provider, "wxpay") == 0 ? "/wxpay/" : "/alipay/"));
	snprintf(out, 80, "%s", x[0].out_trade_no);
}

static int64_t live_attempts(const char *no, const char *provider)
{
	char sql[300];

	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.order_no = ?"
		 " AND p.state IN ('creating', 'open')%s",
		 provider == NULL                 ? ""
		 : strcmp(provider, "wxpay") == 0 ? " AND p.provider = 'wxpay'"
						  : " AND p.provider = 'alipay'");
	return count(sql, no);
}

/* Parallel requests for a QR code (a double click, the page open twice) once opened 4 QR codes of
 * one order, and paying 3 charged 3 times: now one attempt per order and provider, the same QR code
 * for all (WeChat Pay asked once, its reply slowed so that the requests overlap); switching to
 * Alipay closes the WeChat Pay one; paid once, and no attempt is left open. */
static void test_racing_attempts(void **state)
{
	char no[32], wx[80], ali[80], key[40];
	json_t *j = NULL, *orders;
	const char *k;
	json_t *v;
	int asked = 0;
	(void)state;

	order_awaiting_payment(no);
	assert_int_equal(sim_do(&S, "POST", "/_sim/wxpay/fail-next", "{\"delay_ms\":700}", NULL), 200);
	race_attempts(no, "wxpay", wx);
	assert_int_equal(live_attempts(no, "wxpay"), 1);
	/* the simulator was asked for one QR code of this order */
	for (size_t i = 0, n = 0; no[i] != '\0' && n + 1 < sizeof(key); i++)
		if (no[i] != '-')
			key[n++] = no[i], key[n] = '\0';
	assert_int_equal(sim_do(&S, "GET", "/_sim/wxpay/orders", NULL, &j), 200);
	orders = json_object_get(j, "orders");
	json_object_foreach (orders, k, v)
		asked += strncmp(k, key, strlen(key)) == 0;
	json_decref(j);
	assert_int_equal(asked, 1);

	assert_int_equal(sim_do(&S, "POST", "/_sim/alipay/fail-next", "{\"delay_ms\":700}", NULL), 200);
	race_attempts(no, "alipay", ali);
	assert_int_equal(live_attempts(no, "alipay"), 1);
	assert_int_equal(live_attempts(no, "wxpay"), 0); /* replaced, closed at WeChat Pay too */
	sim_pay("alipay", ali, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(count("SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id"
			       " WHERE o.order_no = ? AND p.state = 'paid'",
			       no),
			 1);
	assert_int_equal(live_attempts(no, NULL), 0);
}

/* WeChat Pay was down when the organisation switched to Alipay, so its QR code could not be closed:
 * crediting the Alipay payment closes it here at once, and the reconciliation job at WeChat Pay. */
static void test_paid_closes_other_attempts(void **state)
{
	char no[32], wx[80], ali[80];
	json_t *j = NULL;
	int i;
	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", wx);
	assert_int_equal(sim_do(&S, "POST", "/_sim/wxpay/fail-next", "{\"status\":500}", NULL), 200);
	new_attempt(no, "alipay", ali); /* WeChat Pay refuses to close the first */
	assert_int_equal(live_attempts(no, "wxpay"), 1);
	sim_pay("alipay", ali, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(live_attempts(no, NULL), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(sim_do(&S, "GET", "/_sim/wxpay/orders", NULL, &j), 200);
		const char *st = str(json_object_get(json_object_get(j, "orders"), wx), "trade_state");
		int closed = strcmp(st, "CLOSED") == 0;
		json_decref(j);
		if (closed)
			break;
		usleep(100 * 1000);
	}
	assert_true(i < 100);
	assert_int_equal(paid_events(no), 1);
}

/* Finance cancels a paid order: refunded through the provider; other roles may not. */
static void test_cancel_refunds(void **state)
{
	char no[32], path[160], out_trade_no[80];
	json_t *j = NULL;
	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "alipay", out_trade_no);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/cancel", no);
	assert_int_equal(client_do(&finance, "POST", path, "{\"reason\":\"单位申请取消\"}", &j),
			 409); /* unpaid */
	json_decref(j);
	sim_pay("alipay", out_trade_no, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/cancel", no);
	assert_int_equal(client_do(&reviewer, "POST", path, "{\"reason\":\"单位申请取消\"}", NULL), 403);
	assert_int_equal(client_do(&org, "POST", path, "{\"reason\":\"单位申请取消\"}", NULL), 403);
	assert_int_equal(client_do(&finance, "POST", path, "{}", &j), 422);
	json_decref(j);
	assert_int_equal(client_do(&finance, "POST", path, "{\"reason\":\"单位申请取消\"}", &j), 200);
	json_decref(j);
	assert_true(wait_state(no, "refunded"));
	assert_int_equal(count("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id"
			       " WHERE f.state = 'done' AND f.kind = 'cancel' AND p.out_trade_no = ?",
			       out_trade_no),
			 1);
	assert_true(count("SELECT COUNT(*) FROM audit_log WHERE action = ?", "payment.refund_update") >= 1);
	/* once is enough */
	assert_int_equal(client_do(&finance, "POST", path, "{\"reason\":\"单位申请取消\"}", &j), 409);
	json_decref(j);
}

/* certdeskd dies (kill -9) and is down while the organisation pays: WeChat Pay's notification finds
 * nobody; after the restart the payment is credited, once (the provider's next try, or the
 * reconciliation job, whichever comes first). */
static void test_paid_while_server_down(void **state)
{
	char no[32], out_trade_no[80];

	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", out_trade_no);
	assert_int_equal(harness_kill(&S), 0);
	sim_pay("wxpay", out_trade_no, 1);
	sleep(1); /* the first deliveries fail */
	assert_int_equal(harness_restart(&S), 0);
	assert_true(wait_state(no, "awaiting_paper"));
	sleep(3); /* the simulator's later tries and the job's queries change nothing */
	assert_int_equal(paid_events(no), 1);
	assert_int_equal(
		count("SELECT COUNT(*) FROM payments WHERE credited = 1 AND out_trade_no = ?", out_trade_no),
		1);
}

/* A refund the provider refuses ends 'failed' (the order stays refunding); finance sends it again
 * once the cause is fixed, under a new request number, and the order ends refunded. */
static void test_refund_failed_then_retried(void **state)
{
	char no[32], path[160], out_trade_no[80];
	json_t *j = NULL;
	(void)state;

	order_awaiting_payment(no);
	new_attempt(no, "wxpay", out_trade_no);
	sim_pay("wxpay", out_trade_no, 1);
	assert_true(wait_state(no, "awaiting_paper"));
	assert_int_equal(sim_do(&S, "POST", "/_sim/wxpay/refund-mode", "{\"mode\":\"abnormal\"}", NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/cancel", no);
	assert_int_equal(client_do(&finance, "POST", path, "{\"reason\":\"单位申请取消\"}", &j), 200);
	json_decref(j);
	assert_int_equal(count("SELECT COUNT(*) FROM refunds f JOIN payments p ON p.id = f.payment_id"
			       " WHERE f.state = 'failed' AND p.out_trade_no = ?",
			       out_trade_no),
			 1);
	order_state(no, path, sizeof(path));
	assert_string_equal(path, "refunding");
	/* the dashboard points at it (and at the forged and mismatched notifications of earlier tests) */
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/dashboard", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "alerts"), "refunds_failed")),
			 1);
	assert_true(json_integer_value(
			    json_object_get(json_object_get(j, "alerts"), "payment_reports_suspect")) >= 6);
	json_decref(j);
	assert_int_equal(sim_do(&S, "POST", "/_sim/wxpay/refund-mode", "{\"mode\":\"success\"}", NULL), 200);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/refund-retry", no);
	assert_int_equal(client_do(&reviewer, "POST", path, NULL, NULL), 403);
	assert_int_equal(client_do(&finance, "POST", path, NULL, &j), 200);
	json_decref(j);
	assert_true(wait_state(no, "refunded"));
	assert_int_equal(client_do(&finance, "POST", path, NULL, &j), 409); /* nothing failed any more */
	json_decref(j);
}

/* Finance's daily ledger: the day's paid attempts with totals per provider, also as CSV. */
static void test_ledger(void **state)
{
	char path[160], today[11];
	time_t now = time(NULL) + 8 * 3600; /* Beijing */
	struct tm tm;
	json_t *j = NULL;
	struct resp r;
	(void)state;

	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	snprintf(path, sizeof(path), "/api/v1/admin/payments?date=%s", today);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, NULL), 403);
	assert_int_equal(client_do(&finance, "GET", path, NULL, &j), 200);
	/* the day's paid attempts, whatever the hour the test runs at (all orders here are 190 元) */
	int64_t paid = -1;
	struct db_conn *c = db_acquire(db);
	assert_int_equal(
		db_query_int(
			c,
			"SELECT COUNT(*) FROM payments WHERE state = 'paid' AND paid_at >= ? AND paid_at < ?",
			DB_ARGS(DB_TEXT(str(j, "from")), DB_TEXT(str(j, "to"))), &paid),
		DB_OK);
	db_release(c);
	assert_true(paid > 0);
	assert_int_equal((int64_t)json_array_size(json_object_get(j, "items")), paid);
	json_t *t = json_object_get(j, "totals");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(t, "wxpay"), "amount_fen")) +
			json_integer_value(json_object_get(json_object_get(t, "alipay"), "amount_fen")),
		paid * 19000);
	assert_true(json_integer_value(json_object_get(json_object_get(t, "alipay"), "refunded_fen")) >=
		    19000);
	json_decref(j);
	assert_int_equal(client_do(&finance, "GET", "/api/v1/admin/payments?date=2026-02-30", NULL, &j), 400);
	json_decref(j);
	assert_int_equal(client_do(&finance, "GET", "/api/v1/admin/payments?date=2000-01-01", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);

	snprintf(path, sizeof(path), "/api/v1/admin/payments?date=%s&format=csv", today);
	const char *hdr[] = {NULL, NULL};
	char cookie[400];
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&finance));
	hdr[0] = cookie;
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, hdr, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(resp_header(&r, "Content-Type"), "text/csv"));
	assert_memory_equal(r.body, "\xEF\xBB\xBF\"订单编号\"", 3 + 14);
	int lines = 0;
	for (size_t i = 0; i < r.len; i++)
		lines += r.body[i] == '\n';
	assert_int_equal(lines, paid + 1);
	assert_non_null(strstr(r.body, "\"190.00\""));
	resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wxpay_pays),
		cmocka_unit_test(test_replays_and_forgeries),
		cmocka_unit_test(test_alipay_pays),
		cmocka_unit_test(test_reconciliation_credits),
		cmocka_unit_test(test_notify_races_reconciliation),
		cmocka_unit_test(test_second_payment_refunded),
		cmocka_unit_test(test_closed_attempt_paid),
		cmocka_unit_test(test_unknown_trade),
		cmocka_unit_test(test_expired_attempt_closed),
		cmocka_unit_test(test_provider_down),
		cmocka_unit_test(test_attempts_limited),
		cmocka_unit_test(test_racing_attempts),
		cmocka_unit_test(test_paid_closes_other_attempts),
		cmocka_unit_test(test_cancel_refunds),
		cmocka_unit_test(test_refund_failed_then_retried),
		cmocka_unit_test(test_paid_while_server_down),
		cmocka_unit_test(test_ledger),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
