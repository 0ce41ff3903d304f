/* Payment (缴费): the organisation's payment step (a WeChat Pay or Alipay QR code for an order awaiting
 * payment, polled until paid), the providers' notifications, and finance's cancellation with refund.
 * The rules are in pay/payments.c; these handlers check who asks and shape the answers. The payment
 * step's three routes are shared with the renewal's (api/payment_step.h): only who may see the order
 * differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/form.h"
#include "api/payment_step.h"
#include "docs/png_out.h"
#include "pay/payments.h"
#include "providers/alipay.h"
#include "providers/wxpay.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define CHECK_EVERY_S 10 /* a polled open attempt is asked about at the provider at most this often */
#define QR_SCALE 6

json_t *pay_current_json(const struct order_rec *o, const struct payment_rec *pm, int have)
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

/* 1 when pm is open and was neither made nor asked about in the last CHECK_EVERY_S seconds. */
static int stale_open(const struct payment_rec *pm)
{
	char stale[TIMEFMT_LEN];

	timefmt_rfc3339(time(NULL) - CHECK_EVERY_S, stale);
	return strcmp(pm->state, "open") == 0 && strcmp(pm->created_at, stale) < 0 &&
	       strcmp(pm->checked_at, stale) < 0;
}

int pay_current(struct http_req *r, pay_owner_fn load, void *arg)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct payment_rec pm = {0};
	struct order_rec o = {0};
	int have;
	json_t *j;

	if (load(r, c, arg, &o) != 0) {
		db_release(c);
		return 0;
	}
	have = store_payment_latest(c, o.id, &pm) == DB_OK;
	if (have && stale_open(&pm)) {
		/* the provider is asked with no pooled connection held */
		db_release(c);
		paysvc_check(app->pay, &pm, http_remote_addr(r));
		c = db_acquire(app->db);
		store_order_free(&o);
		if (load(r, c, arg, &o) != 0) {
			db_release(c);
			return 0;
		}
		have = store_payment_latest(c, o.id, &pm) == DB_OK;
	}
	j = pay_current_json(&o, &pm, have);
	store_order_free(&o);
	db_release(c);
	return http_reply_json(r, 200, j);
}

/* Turns paysvc_attempt's answer rc into f's error (none for 0). */
static void attempt_error(struct form *f, int rc, const char *not_awaiting)
{
	if (rc == 1)
		form_error(f, 409, NULL, "state_conflict", not_awaiting);
	else if (rc == 2)
		form_error(f, 429, NULL, "rate_limited", "付款二维码生成次数过多，请一小时后再试");
	else if (rc == -1)
		form_error(f, 502, NULL, "provider_unavailable",
			   "支付平台暂时无法生成付款二维码，请稍后重试或换一种支付方式");
	else if (rc < 0)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
}

int pay_start(struct http_req *r, pay_owner_fn load, void *arg, const char *not_awaiting)
{
	struct app *app = http_ctx(r);
	json_t *body;
	struct actor a = api_actor(r);
	struct payment_rec pm = {0};
	struct order_rec o = {0};
	struct db_conn *c;
	const char *provider;
	char err[PAY_ERR_MAX];
	struct form f;
	int rc;

	/* the owner first: another's order is 404 whatever the body (not 400 for a malformed one) */
	c = db_acquire(app->db);
	rc = load(r, c, arg, &o);
	db_release(c);
	if (rc != 0)
		return 0;
	if ((body = http_json_body(r)) == NULL) {
		store_order_free(&o);
		return 0;
	}
	form_init(&f, r, body);
	provider = form_text(&f, "provider", "支付方式", 1, 8, 1);
	if (provider != NULL && !paysvc_provider_ok(provider))
		form_error(&f, 422, "provider", "field_invalid", "支付方式应为微信支付或支付宝");
	else if (!form_failed(&f) && strcmp(o.state, "awaiting_payment") != 0)
		form_error(&f, 409, NULL, "state_conflict", not_awaiting);
	if (!form_failed(&f)) {
		/* the provider is asked with no pooled connection held */
		rc = paysvc_attempt(app->pay, &o, provider, &a, &pm, err, sizeof(err));
		attempt_error(&f, rc, not_awaiting);
		if (rc == -1)
			log_error("payments", "payment %s for %s: %s", provider, o.order_no, err);
	}
	rc = form_finish(&f, body, 200, form_failed(&f) ? NULL : pay_current_json(&o, &pm, 1));
	store_order_free(&o);
	return rc;
}

int pay_qr(struct http_req *r, pay_owner_fn load, void *arg)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct payment_rec pm = {0};
	struct order_rec o = {0};
	unsigned char *png = NULL;
	size_t len = 0;
	int ok;

	if (load(r, c, arg, &o) != 0) {
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

/* The organisation's own order of the path (api_own_order) as a pay_owner_fn. */
static int own_order(struct http_req *r, struct db_conn *c, void *arg, struct order_rec *o)
{
	(void)arg;
	return api_own_order(r, c, o);
}

/* GET /api/v1/orders/{order_no}/payment: the order's payment step. */
int api_payment_get(struct http_req *r)
{
	return pay_current(r, own_order, NULL);
}

/* POST /api/v1/orders/{order_no}/payment {provider}: a QR code to pay with. */
int api_payment_post(struct http_req *r)
{
	return pay_start(r, own_order, NULL, "订单当前不在待缴费状态，请刷新");
}

/* GET /api/v1/orders/{order_no}/payment/qr.png: the open attempt's QR code. */
int api_payment_qr(struct http_req *r)
{
	return pay_qr(r, own_order, NULL);
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
	struct order_rec o = {0};
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
	/* paid and not yet produced; a renewal (issue 15): paid and not yet issued */
	if (!form_failed(&f) && strcmp(o.state, "awaiting_paper") != 0 &&
	    strcmp(o.state, "paper_sent") != 0 && strcmp(o.state, "paper_rejected") != 0 &&
	    strcmp(o.state, "paid") != 0)
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

struct retry_tx {
	const struct order_rec *o;
	const struct actor *a;
	int64_t id;
};

static int retry_tx(struct db_conn *c, void *arg)
{
	struct retry_tx *t = arg;

	return store_refund_retry(c, t->o->id, t->o->order_no, t->a, &t->id);
}

/* POST /api/v1/admin/orders/{order_no}/refund-retry: finance sends a refund that failed again (after
 * fixing what the provider complained about, e.g. the merchant's balance). */
int api_refund_retry(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct order_rec o = {0};
	struct db_conn *c = db_acquire(app->db);
	struct retry_tx t = {.o = &o, .a = &a};
	json_t *j = NULL, *pays = NULL;
	int rc;

	if (api_staff_order(r, c, &o) != 0) {
		db_release(c);
		return 0;
	}
	db_release(c);
	rc = db_tx(app->db, retry_tx, &t);
	if (rc == DB_NOTFOUND) {
		store_order_free(&o);
		return http_reply_error(r, 409, "no_failed_refund", "该订单没有失败的退款", NULL);
	}
	if (rc != DB_OK) {
		store_order_free(&o);
		return api_internal(r, "refund retry");
	}
	paysvc_refund_run(app->pay, t.id);
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
