/* The Alipay simulator: the OpenAPI gateway for face-to-face payment (alipay.trade.precreate,
 * .query, .close, .refund, .fastpay.refund.query; requests checked with [sim] alipay_app_pub and
 * [alipay] app_id, replies signed with [sim] alipay_gateway_key over the exact bytes of the
 * "..._response" object), the page a phone lands on when it scans the QR code, the asynchronous
 * notifications to notify_url (retried 1 s, 2 s, 4 s, 8 s apart, five tries at most, until the
 * answer is exactly "success") and test hooks. Trades live in memory (the newest 1,000). */
#ifndef CERTDESK_SIM_ALIPAY_H
#define CERTDESK_SIM_ALIPAY_H

struct http_req;

/* POST /alipay/gateway.do: the API; parameters in the form body, or in the query string. */
int alipay_sim_gateway(struct http_req *r);
/* GET /alipay/scan/{id}: the mobile page of the QR code (the trade counts as scanned from now). */
int alipay_sim_scan_page(struct http_req *r);
/* POST /alipay/scan/{id}/pay and /alipay/scan/{id}/cancel: the page's two buttons. */
int alipay_sim_scan_pay(struct http_req *r);
int alipay_sim_scan_cancel(struct http_req *r);
/* POST /_sim/alipay/trades/{out_trade_no}/pay {"notify":true|false}: pays the trade (scanning it
 * first when needed) and, unless notify is false, sends the notification in the background. */
int alipay_sim_pay(struct http_req *r);
/* POST /_sim/alipay/trades/{out_trade_no}/notify {"variant":"ok"|"bad_signature"|"wrong_app_id"|
 * "wrong_seller"|"wrong_amount"|"trade_closed", "copies":n}: sends n (1-10) copies of a notification
 * now, one after the other; replies {"notify_id", "answers":[{"status","body"}...]}. */
int alipay_sim_notify(struct http_req *r);
/* GET /_sim/alipay/trades: {"items":[...]} every trade with its state, refunds and deliveries. */
int alipay_sim_trades(struct http_req *r);
/* POST /_sim/alipay/fail-next {"status":500} | {"delay_ms":n} | {"bad_reply_signature":true} |
 * {"sub_code":"ACQ.SYSTEM_ERROR"}: the next gateway call (only) misbehaves so. */
int alipay_sim_fail_next(struct http_req *r);
/* DELETE /_sim/alipay: forgets trades, pending notifications and an armed failure. */
int alipay_sim_clear(struct http_req *r);
/* Stops the notification sender and frees everything (at exit). */
void alipay_sim_stop(void);

#endif
