/* Payment (缴费): the organisation's payment step (a WeChat Pay or Alipay QR code for an order awaiting
 * payment, polled until paid), the providers' notifications, and finance's cancellation with refund.
 * The rules are in pay/payments.c; these handlers check who asks and shape the answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/form.h"
#include "core/workdays.h"
#include "docs/png_out.h"
#include "pay/payments.h"
#include "providers/alipay.h"
#include "providers/wxpay.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define CHECK_EVERY_S 10 /* a polled open attempt is asked about at the provider at most this often */
#define QR_SCALE 6

/* The payment step as the organisation's page shows it. */
static json_t *payment_json(const struct order_rec *o, const struct payment_rec *pm, int have)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:[s,s]}", "order_no", o->order_no, "order_state", o->state,
			      "amount_fen", (json_int_t)o->price_fen, "providers", "wxpay", "alipay");

	if (have)
		json_object_set_new(j, "attempt",
				    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "provider", pm->provider,
					      "out_trade_no", pm->out_trade_no, "state", pm->state, "qr_code",
					      strcmp(pm->state, "open") == 0 ? pm->qr_code : "", "expires_at",
					      pm->expires_at, "paid_at", pm->paid_at));
	return j;
}

/* GET /api/v1/orders/{order_no}/payment: the order's payment step; an open attempt not checked for a
 * while is asked about at the provider first (the notification may be late or lost). */
int api_payment_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct payment_rec pm;
	struct order_rec o;
	char stale[TIMEFMT_LEN];
	int have;
	json_t *j;

	if (api_own_order(r, c, &o) != 0) {
		db_release(c);
		return 0;
	}
	have = store_payment_latest(c, o.id, &pm) == DB_OK;
	timefmt_rfc3339(time(NULL) - CHECK_EVERY_S, stale);
	if (have && strcmp(pm.state, "open") == 0 && strcmp(pm.created_at, stale) < 0 &&
	    strcmp(pm.checked_at, stale) < 0) {
		db_release(c);
		paysvc_check(app->pay, &pm, http_remote_addr(r));
		c = db_acquire(app->db);
		store_order_free(&o);
		if (api_own_order(r, c, &o) != 0) {
			db_release(c);
			return 0;
		}
		have = store_payment_latest(c, o.id, &pm) == DB_OK;
	}
	j = payment_json(&o, &pm, have);
	store_order_free(&o);
	db_release(c);
	return http_reply_json(r, 200, j);
}

/* POST /api/v1/orders/{order_no}/payment {provider}: a QR code to pay with. */
int api_payment_post(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	struct payment_rec pm;
	struct order_rec o;
	struct db_conn *c;
	const char *provider;
	char err[PAY_ERR_MAX];
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	rc = api_own_order(r, c, &o);
	db_release(c);
	if (rc != 0) {
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	provider = form_text(&f, "provider", "支付方式", 1, 8, 1);
	if (provider != NULL && !paysvc_provider_ok(provider))
		form_error(&f, 422, "provider", "field_invalid", "支付方式应为微信支付或支付宝");
	else if (!form_failed(&f) && strcmp(o.state, "awaiting_payment") != 0)
		form_error(&f, 409, NULL, "state_conflict", "订单当前不在待缴费状态，请刷新");
	if (!form_failed(&f)) {
		rc = paysvc_attempt(app->pay, &o, provider, &a, &pm, err, sizeof(err));
		if (rc == 1)
			form_error(&f, 409, NULL, "state_conflict", "订单当前不在待缴费状态，请刷新");
		else if (rc == 2)
			form_error(&f, 429, NULL, "rate_limited", "付款二维码生成次数过多，请一小时后再试");
		else if (rc == -1)
			form_error(&f, 502, NULL, "provider_unavailable",
				   "支付平台暂时无法生成付款二维码，请稍后重试或换一种支付方式");
		else if (rc < 0)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		if (rc == -1)
			fprintf(stderr, "certdeskd: payment %s for %s: %s\n", provider, o.order_no, err);
	}
	rc = form_finish(&f, body, 200, form_failed(&f) ? NULL : payment_json(&o, &pm, 1));
	store_order_free(&o);
	return rc;
}

/* GET /api/v1/orders/{order_no}/payment/qr.png: the open attempt's QR code. */
int api_payment_qr(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct payment_rec pm;
	struct order_rec o;
	unsigned char *png = NULL;
	size_t len = 0;
	int ok;

	if (api_own_order(r, c, &o) != 0) {
		db_release(c);
		return 0;
	}
	ok = store_payment_latest(c, o.id, &pm) == DB_OK && strcmp(pm.state, "open") == 0;
	store_order_free(&o);
	db_release(c);
	if (!ok || png_out_qr(pm.qr_code, QR_SCALE, &png, &len) != 0)
		return http_reply_error(r, 404, "not_found", "没有待支付的付款二维码，请重新选择支付方式",
					NULL);
	http_add_header(r, "Cache-Control", "no-store");
	ok = http_reply_bytes(r, 200, "image/png", png, len);
	free(png);
	return ok;
}

/* Applies a verified notification; returns 0 when it is recorded (whatever became of it). */
static int apply_notification(struct http_req *r, const char *provider, struct pay_status *st)
{
	struct app *app = http_ctx(r);
	int verdict;

	return paysvc_apply(app->pay, provider, "notify", st, http_remote_addr(r), &verdict) == DB_OK ? 0
												      : -1;
}

/* POST /api/v1/payments/wxpay/notify: WeChat Pay's notification. 204 once recorded (WeChat stops);
 * 401 when it does not check; 500 when it could not be recorded (WeChat sends it again). */
int api_wxpay_notify(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct pay_status st;
	char err[PAY_ERR_MAX];
	size_t len;
	const char *body = http_body(r, &len);
	int rc = wxpay_notification(app->pay->wx, http_header(r, "Wechatpay-Timestamp"),
				    http_header(r, "Wechatpay-Nonce"), http_header(r, "Wechatpay-Signature"),
				    http_header(r, "Wechatpay-Serial"), body != NULL ? body : "", len,
				    (long long)time(NULL), &st, err, sizeof(err));

	if (rc != PAY_OK) {
		paysvc_refused(app->pay, "wxpay", err, http_remote_addr(r));
		return http_reply_json(r, rc == PAY_FORGED ? 401 : 400,
				       json_pack("{s:s, s:s}", "code", "FAIL", "message", "通知验证失败"));
	}
	if (apply_notification(r, "wxpay", &st) != 0)
		return http_reply_json(r, 500,
				       json_pack("{s:s, s:s}", "code", "FAIL", "message", "稍后重试"));
	return http_reply_bytes(r, 204, "text/plain", "", 0);
}

/* POST /api/v1/payments/alipay/notify: Alipay's notification, answered "success" once recorded. */
int api_alipay_notify(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct pay_status st;
	char err[PAY_ERR_MAX];
	size_t len;
	const char *body = http_body(r, &len);
	int rc = alipay_notification(app->pay->ali, body != NULL ? body : "", len, &st, err, sizeof(err));

	if (rc != PAY_OK) {
		paysvc_refused(app->pay, "alipay", err, http_remote_addr(r));
		return http_reply_bytes(r, 400, "text/plain", "fail", 4);
	}
	if (apply_notification(r, "alipay", &st) != 0)
		return http_reply_bytes(r, 500, "text/plain", "fail", 4);
	return http_reply_bytes(r, 200, "text/plain", "success", 7);
}

/* POST /api/v1/admin/orders/{order_no}/cancel {reason}: finance cancels a paid order that is not yet
 * in production and refunds its payment through the provider. */
int api_order_cancel(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *j;
	struct actor a = api_actor(r);
	struct order_rec o;
	struct db_conn *c;
	const char *reason;
	int64_t refund_id = 0;
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	rc = api_staff_order(r, c, &o);
	db_release(c);
	if (rc != 0) {
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	reason = form_text(&f, "reason", "取消原因", 2, 200, 1);
	if (!form_failed(&f) && strcmp(o.state, "awaiting_paper") != 0 &&
	    strcmp(o.state, "paper_sent") != 0 && strcmp(o.state, "paper_rejected") != 0)
		form_error(&f, 409, NULL, "state_conflict", "只有已缴费且尚未制证的订单可以取消退款");
	if (!form_failed(&f)) {
		rc = paysvc_cancel(app->pay, &o, reason, &a, &refund_id);
		if (rc == 1)
			form_error(&f, 409, NULL, "no_payment", "该订单没有可退的缴费记录，请线下处理");
		else if (rc == DB_NOTFOUND)
			form_error(&f, 409, NULL, "state_conflict", "订单状态已变化，请刷新");
		else if (rc < 0)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	j = NULL;
	if (!form_failed(&f)) {
		store_order_free(&o);
		c = db_acquire(app->db);
		if (store_order_get(c, http_param(r, "order_no"), &o) == DB_OK) {
			j = api_order_json(c, &o);
			json_t *pays = NULL;
			store_payments_json(c, o.id, &pays);
			json_object_set_new(j, "payments", pays != NULL ? pays : json_array());
		}
		db_release(c);
	}
	rc = form_finish(&f, body, 200, j != NULL ? j : json_object());
	store_order_free(&o);
	return rc;
}

/* POST /api/v1/admin/orders/{order_no}/refund-retry: finance sends a refund that failed again (after
 * fixing what the provider complained about, e.g. the merchant's balance). */
int api_refund_retry(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct order_rec o;
	struct db_conn *c = db_acquire(app->db);
	int64_t id = 0;
	json_t *j = NULL, *pays = NULL;
	int rc;

	if (api_staff_order(r, c, &o) != 0) {
		db_release(c);
		return 0;
	}
	rc = db_begin(c);
	if (rc == DB_OK)
		rc = db_end(c, store_refund_retry(c, o.id, o.order_no, &a, &id));
	db_release(c);
	if (rc == DB_NOTFOUND) {
		store_order_free(&o);
		return http_reply_error(r, 409, "no_failed_refund", "该订单没有失败的退款", NULL);
	}
	if (rc != DB_OK) {
		store_order_free(&o);
		return api_internal(r, "refund retry");
	}
	paysvc_refund_run(app->pay, id);
	store_order_free(&o);
	c = db_acquire(app->db);
	if (store_order_get(c, http_param(r, "order_no"), &o) == DB_OK) {
		j = api_order_json(c, &o);
		store_payments_json(c, o.id, &pays);
		json_object_set_new(j, "payments", pays != NULL ? pays : json_array());
		store_order_free(&o);
	}
	db_release(c);
	return j != NULL ? http_reply_json(r, 200, j) : api_internal(r, "refund retry");
}

/* Writes field as one CSV cell: quoted, quotes doubled, and a leading = + - @ neutralised so that a
 * spreadsheet never takes a unit name for a formula. */
static void csv_cell(FILE *f, const char *field, int last)
{
	fputc('"', f);
	if (field[0] == '=' || field[0] == '+' || field[0] == '-' || field[0] == '@')
		fputc('\'', f);
	for (const char *p = field; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputs(last ? "\"\r\n" : "\",", f);
}

/* Writes an RFC 3339 UTC time stamp as Beijing time "YYYY-MM-DD HH:MM:SS" into out (20 bytes). */
static void beijing(const char *utc, char out[20])
{
	struct tm tm = {0};
	time_t t;

	out[0] = '\0';
	if (sscanf(utc, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) + 8 * 3600;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Replies with the ledger as CSV (UTF-8 with a BOM, as spreadsheets in China expect). */
static int ledger_csv(struct http_req *r, const char *date, json_t *items)
{
	static const char *const heads[] = {
		"订单编号",   "单位名称",   "统一社会信用代码",     "支付方式", "商户订单号",
		"平台交易号", "金额（元）", "付款时间（北京时间）", "入账",     "退款"};
	char *buf = NULL, yuan[32], when[20], disposition[96];
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	json_t *it;
	int rc;

	fputs("\xEF\xBB\xBF", f);
	for (i = 0; i < 10; i++)
		csv_cell(f, heads[i], i == 9);
	json_array_foreach (items, i, it) {
		json_t *refund = json_object_get(it, "refund");
		long long fen = (long long)json_integer_value(json_object_get(it, "amount_fen"));
		snprintf(yuan, sizeof(yuan), "%lld.%02lld", fen / 100, fen % 100);
		beijing(json_string_value(json_object_get(it, "paid_at")), when);
		csv_cell(f, json_string_value(json_object_get(it, "order_no")), 0);
		csv_cell(f, json_string_value(json_object_get(it, "unit_name")), 0);
		csv_cell(f, json_string_value(json_object_get(it, "uscc")), 0);
		csv_cell(f,
			 strcmp(json_string_value(json_object_get(it, "provider")), "wxpay") == 0 ? "微信支付"
												  : "支付宝",
			 0);
		csv_cell(f, json_string_value(json_object_get(it, "out_trade_no")), 0);
		csv_cell(f, json_string_value(json_object_get(it, "trade_no")), 0);
		csv_cell(f, yuan, 0);
		csv_cell(f, when, 0);
		csv_cell(f, json_is_true(json_object_get(it, "credited")) ? "是" : "否（重复支付）", 0);
		csv_cell(f,
			 refund == NULL ? ""
			 : strcmp(json_string_value(json_object_get(refund, "state")), "done") == 0
				 ? "已退款"
				 : "退款中",
			 1);
	}
	fclose(f);
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"payments-%s.csv\"", date);
	http_add_header(r, "Content-Disposition", disposition);
	rc = http_reply_bytes(r, 200, "text/csv; charset=utf-8", buf, len);
	free(buf);
	return rc;
}

/* GET /api/v1/admin/payments?date=YYYY-MM-DD[&format=csv]: the payments of one Beijing day, with
 * totals per provider, for finance to reconcile with the providers' statements. */
int api_payments_ledger(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *date = http_query(r, "date"), *format = http_query(r, "format");
	char from[TIMEFMT_LEN], to[TIMEFMT_LEN];
	json_t *items = NULL, *totals, *it;
	struct db_conn *c;
	struct tm tm = {0};
	size_t i;
	int d, rc;

	if (date == NULL || strlen(date) != 10 || workdays_date_parse(date, &d) != WORKDAYS_OK)
		return http_reply_error(r, 400, "bad_query", "请给出日期，格式为 YYYY-MM-DD", "date");
	if (format != NULL && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return http_reply_error(r, 400, "bad_query", "format 应为 csv 或 json", "format");
	tm.tm_year = d / 10000 - 1900;
	tm.tm_mon = d / 100 % 100 - 1;
	tm.tm_mday = d % 100;
	timefmt_rfc3339(timegm(&tm) - 8 * 3600, from); /* Beijing midnight */
	timefmt_rfc3339(timegm(&tm) + 16 * 3600, to);
	c = db_acquire(app->db);
	rc = store_payments_ledger(c, from, to, &items);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "ledger");
	}
	if (format != NULL && strcmp(format, "csv") == 0) {
		rc = ledger_csv(r, date, items);
		json_decref(items);
		return rc;
	}
	totals = json_pack("{s:{s:i, s:I, s:I}, s:{s:i, s:I, s:I}}", "wxpay", "count", 0, "amount_fen",
			   (json_int_t)0, "refunded_fen", (json_int_t)0, "alipay", "count", 0, "amount_fen",
			   (json_int_t)0, "refunded_fen", (json_int_t)0);
	json_array_foreach (items, i, it) {
		json_t *t = json_object_get(totals, json_string_value(json_object_get(it, "provider")));
		json_t *refund = json_object_get(it, "refund");
		json_int_t fen = json_integer_value(json_object_get(it, "amount_fen"));
		if (t == NULL)
			continue;
		json_object_set_new(t, "count",
				    json_integer(json_integer_value(json_object_get(t, "count")) + 1));
		json_object_set_new(t, "amount_fen",
				    json_integer(json_integer_value(json_object_get(t, "amount_fen")) + fen));
		if (refund != NULL &&
		    strcmp(json_string_value(json_object_get(refund, "state")), "done") == 0)
			json_object_set_new(
				t, "refunded_fen",
				json_integer(json_integer_value(json_object_get(t, "refunded_fen")) +
					     json_integer_value(json_object_get(refund, "amount_fen"))));
	}
	return http_reply_json(r, 200,
			       json_pack("{s:s, s:s, s:s, s:o, s:o}", "date", date, "from", from, "to", to,
					 "items", items, "totals", totals));
}
