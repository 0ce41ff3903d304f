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

/* --- the pieces below are exposed for the unit tests, the fuzz target and certdesk-sim --- */

struct urlform;

/* The largest reply read from the gateway; anything longer is a PAY_RETRY. */
#define ALIPAY_MAX_REPLY (256 * 1024)

/* Returns the text Alipay signs for the fields of f: every field but "sign" (and also "sign_type"
 * when v1, the rule for notifications), fields with an empty value dropped, sorted by name
 * (bytewise, ASCII), joined "k1=v1&k2=v2" with the raw values (not %-encoded). Caller frees. */
char *alipay_sign_content(const struct urlform *f, int v1);

/* Finds in a gateway reply (len bytes, a JSON object) the top-level member name, e.g.
 * "alipay_trade_query_response", and sets *obj and *objlen to the exact bytes of its value (an
 * object), which is what the reply's signature covers; copies the top-level "sign" into sign
 * (signlen bytes; "" when there is none). Returns 0, or -1 when the body is not one JSON object,
 * repeats a key, has no such member or not an object there, or a sign that is not a string or does
 * not fit. */
int alipay_reply_extract(const char *body, size_t len, const char *name, const char **obj, size_t *objlen,
			 char *sign, size_t signlen);

/* Parses an amount in yuan as Alipay writes it ("220.00"; "220" and "220.1" are read too): ASCII
 * digits only, no sign, exponent, spaces or leading zero ("0.5" is fine, "00.5" is not), 1 to 12
 * digits before an optional point and 1 or 2 after it. Returns 0 with *fen, or -1. */
int alipay_yuan_to_fen(const char *s, long long *fen);
/* Writes fen (>= 0) as yuan with two decimals ("220.00") into out (32 bytes); returns out. */
char *alipay_fen_to_yuan(long long fen, char *out);
/* Writes the Unix time t as Beijing time (UTC+8) "yyyy-MM-dd HH:mm:ss" into out (20 bytes);
 * returns out. */
char *alipay_time_format(long long t, char *out);
/* Parses Beijing time "yyyy-MM-dd HH:mm:ss" (exactly that, a real date) into the Unix time *t.
 * Returns 0, or -1. */
int alipay_time_parse(const char *s, long long *t);

#endif
