/* Alipay OpenAPI, face-to-face payment (当面付): alipay.trade.precreate (qr_code for the QR code),
 * alipay.trade.query, alipay.trade.close, alipay.trade.refund, and the asynchronous notification.
 * Requests are signed RSA2 (SHA256withRSA over the sorted parameters) with the application private
 * key; every reply is checked over the raw text of its "..._response" object and every notification
 * over its sorted parameters (sign and sign_type left out) against Alipay's public key. certdesk-sim
 * speaks the same API (src/sim/alipay.c). Never logs; no secret reaches err. Thread-safe once made. */
#ifndef CERTDESK_PROVIDERS_ALIPAY_H
#define CERTDESK_PROVIDERS_ALIPAY_H
#include <stddef.h>

#include "providers/pay.h"

struct config;
struct alipay; /* the adapter with its keys loaded (opaque) */

/* Makes the adapter from the [alipay] section of cfg (cfg must outlive it), reading both key files.
 * Returns NULL with the reason in err. */
struct alipay *alipay_new(const struct config *cfg, char *err, size_t errlen);
void alipay_free(struct alipay *a);

/* alipay.trade.precreate for out_trade_no (<= 64 of [0-9A-Za-z_]), amount_fen > 0 (sent as yuan with
 * two decimals), subject (<= 256 bytes), notify_url, expiring at expire_at (Unix seconds; sent as
 * time_expire "yyyy-MM-dd HH:mm:ss" Beijing time). Returns PAY_OK with qr_code (qrlen bytes,
 * PAY_QR_MAX is enough), or PAY_RETRY / PAY_PERMANENT / PAY_FORGED with a reason in err. */
int alipay_precreate(const struct alipay *a, const char *out_trade_no, long long amount_fen,
		     const char *subject, const char *notify_url, long long expire_at, char *qr_code,
		     size_t qrlen, char *err, size_t errlen);

/* alipay.trade.query: fills st. A trade Alipay does not know (ACQ.TRADE_NOT_EXIST: not scanned yet)
 * is PAY_OK with st->state PAY_ST_UNKNOWN. TRADE_CLOSED is PAY_ST_CLOSED, or PAY_ST_REFUNDED when the
 * reply shows a payment (a send_pay_date / a refund). */
int alipay_query(const struct alipay *a, const char *out_trade_no, struct pay_status *st, char *err,
		 size_t errlen);

/* alipay.trade.close. PAY_OK when closed, also when Alipay does not know the trade (never scanned:
 * nothing to close); PAY_PERMANENT when it is paid. */
int alipay_close(const struct alipay *a, const char *out_trade_no, char *err, size_t errlen);

/* alipay.trade.refund of refund_fen as out_request_no, with reason. PAY_OK when the reply says the
 * money moved (fund_change Y, or a repeat of a request already done), with Alipay's trade_no in
 * refund_id (PAY_ID_MAX bytes); else PAY_RETRY / PAY_PERMANENT / PAY_FORGED with err. */
int alipay_refund(const struct alipay *a, const char *out_trade_no, const char *out_request_no,
		  long long refund_fen, const char *reason, char *refund_id, char *err, size_t errlen);

/* Reads an asynchronous notification: the raw application/x-www-form-urlencoded body. Checks the RSA2
 * signature (V1: sign and sign_type left out), app_id and seller_id; fills st (state from
 * trade_status, amount from total_amount, event_id from notify_id). Returns PAY_OK, PAY_FORGED or
 * PAY_PERMANENT (not a notification of this shape) with a reason in err. The caller answers
 * "success" (exactly those 7 bytes) once it has recorded the notification. */
int alipay_notification(const struct alipay *a, const char *body, size_t len, struct pay_status *st,
			char *err, size_t errlen);

#endif
