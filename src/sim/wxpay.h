/* The WeChat Pay API v3 simulator (Native payment) under /wxpay: the five API calls certdesk makes,
 * with the Authorization header checked against the merchant public key ([sim] wxpay_merchant_pub,
 * [wxpay] mchid and merchant_serial) and every reply signed with the platform private key ([sim]
 * wxpay_platform_key, Wechatpay-Serial = [wxpay] platform_serial); a phone page at the code_url
 * (<sim_url>/wxpay/scan/<pr>) to pay or not; payment notifications, encrypted with [wxpay]
 * apiv3_key, sent to the order's notify_url from a background thread (tries after 0, 1, 2, 4, 8 s,
 * until the answer is 200 or 204); and test controls under /_sim/wxpay. Orders live in memory.
 *
 * An order whose time_expire has passed cannot be paid, but queries as NOTPAY until it is closed,
 * as WeChat Pay's do: the merchant must close it. */
#ifndef CERTDESK_SIM_WXPAY_H
#define CERTDESK_SIM_WXPAY_H
#include <jansson.h>

struct http_req;
struct config;

/* POST /wxpay/v3/pay/transactions/native: {code_url}; the same code_url for a repeated identical
 * order, 400 INVALID_REQUEST for a repeated out_trade_no with other content. */
int wxpay_sim_create(struct http_req *r);
/* GET /wxpay/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=: the transaction, or 404
 * ORDER_NOT_EXIST. */
int wxpay_sim_query(struct http_req *r);
/* POST /wxpay/v3/pay/transactions/out-trade-no/{out_trade_no}/close {mchid}: 204 (also when closed
 * already), 400 ORDERPAID when paid, 404 ORDER_NOT_EXIST. */
int wxpay_sim_close(struct http_req *r);
/* POST /wxpay/v3/refund/domestic/refunds: refunds part or all of a paid order (status as the refund
 * mode says: SUCCESS, PROCESSING or ABNORMAL); the same out_refund_no again returns the same refund. */
int wxpay_sim_refund(struct http_req *r);
/* GET /wxpay/v3/refund/domestic/refunds/{out_refund_no}: the refund; a PROCESSING one turns SUCCESS
 * once the refund mode is "success" again. 404 RESOURCE_NOT_EXISTS when unknown. */
int wxpay_sim_refund_query(struct http_req *r);

/* GET /wxpay/scan/{pr}: the phone page (微信支付（模拟器）) with amount, description and two buttons. */
int wxpay_sim_page(struct http_req *r);
/* POST /wxpay/scan/{pr}/pay: pays the order and notifies in the background; a result page. */
int wxpay_sim_page_pay(struct http_req *r);
/* POST /wxpay/scan/{pr}/cancel: the payer walks away; the order stays NOTPAY. */
int wxpay_sim_page_cancel(struct http_req *r);

/* POST /_sim/wxpay/orders/{out_trade_no}/pay {"notify": true|false}: pays without the page; with
 * notify false no notification is sent (a lost notification). 404 unknown, 409 not payable. */
int wxpay_sim_ctl_pay(struct http_req *r);
/* POST /_sim/wxpay/orders/{out_trade_no}/notify {"variant": "ok" | "bad_signature" | "wrong_serial" |
 * "stale_timestamp" | "wrong_mchid" | "wrong_amount" | "bad_ciphertext", "copies": 1-10}: sends the
 * paid order's notification copies times, one after the other, and replies {"statuses":[...]} with
 * what the notify_url answered (0: no answer). */
int wxpay_sim_ctl_notify(struct http_req *r);
/* GET /_sim/wxpay/orders: {"orders":[...], "refunds":[...]} as the simulator holds them, each order
 * with notify_statuses (the answers to its notifications so far). */
int wxpay_sim_ctl_orders(struct http_req *r);
/* POST /_sim/wxpay/fail-next {"status": 500, "code": "SYSTEM_ERROR"} | {"delay_ms": n} |
 * {"bad_reply_signature": true}: the next API request (one) answers with that status and code, answers
 * n ms late (0-30000), or gets a reply whose signature does not check. Fields combine. */
int wxpay_sim_ctl_fail_next(struct http_req *r);
/* POST /_sim/wxpay/refund-mode {"mode": "success" | "processing" | "abnormal"}: how new refunds end. */
int wxpay_sim_ctl_refund_mode(struct http_req *r);
/* DELETE /_sim/wxpay: forgets orders, refunds, armed failures; the refund mode is success again. */
int wxpay_sim_ctl_clear(struct http_req *r);
/* At exit: stops the notification threads (waits for them) and frees everything. */
void wxpay_sim_stop(void);

/* --- shared by sim/wxpay.c, sim/wxpay_notify.c and sim/wxpay_page.c --- */

enum { WXSIM_PAID = 0, WXSIM_NO_ORDER = -1, WXSIM_NOT_PAYABLE = -2, WXSIM_EXPIRED = -3 };

/* Returns a copy of the order with out_trade_no (by_pr 0) or pr (by_pr 1), or NULL. Caller decrefs. */
json_t *wxsim_order_get(const char *key, int by_pr);
/* Pays the order with out_trade_no: SUCCESS, a transaction_id, success_time now. Returns WXSIM_PAID with
 * *paid a copy of the order (caller decrefs), or WXSIM_NO_ORDER / WXSIM_NOT_PAYABLE / WXSIM_EXPIRED. */
int wxsim_order_pay(const char *out_trade_no, json_t **paid);
/* Notes that a notification about out_trade_no was answered with status (0: no answer). */
void wxsim_order_notified(const char *out_trade_no, long status);
/* Returns the transaction as WeChat Pay describes the order (query reply, notification resource). */
json_t *wxsim_transaction(const struct config *cfg, const json_t *order);

/* Signs "ts\nnonce\nbody\n" (len bytes of body) with the platform key: fills ts (now + skew_s), nonce
 * (32 bytes) and sig (RSASIG_B64_MAX); with corrupt 1 the signature is over other bytes. Returns 0,
 * or -1 when the key cannot be read. */
int wxsim_sign(const struct config *cfg, const char *body, size_t len, long long skew_s, int corrupt,
	       char ts[24], char nonce[40], char *sig);
/* Writes n random characters of [0-9A-Za-z] and a NUL into out. */
void wxsim_random_alnum(char *out, size_t n);
/* Sends one notification of the paid order (variant as wxpay_sim_ctl_notify) and returns the HTTP
 * status the notify_url answered, 0 when none. */
long wxsim_notify_send(const struct config *cfg, const json_t *order, const char *variant);
/* Delivers the notification of the paid order in the background, retrying (order reference stolen). */
void wxsim_notify_background(const struct config *cfg, json_t *order);
/* Stops the background deliveries and waits for them; frees the platform key. */
void wxsim_notify_stop(void);

#endif
