/* WeChat Pay API v3, Native payment: create a transaction (code_url for the QR code), query it, close
 * it, refund it, and read a payment notification. Requests are signed with the merchant API private key
 * (Authorization: WECHATPAY2-SHA256-RSA2048 ...); every reply and notification is checked against WeChat
 * Pay's public key (Wechatpay-Timestamp/-Nonce/-Signature/-Serial) before it is believed, and a
 * notification's resource is decrypted with the APIv3 key (AEAD_AES_256_GCM). certdesk-sim speaks the
 * same API (src/sim/wxpay.c). Never logs; no secret reaches err. Thread-safe once made. */
#ifndef CERTDESK_PROVIDERS_WXPAY_H
#define CERTDESK_PROVIDERS_WXPAY_H
#include <stddef.h>

#include "providers/pay.h"

struct config;
struct wxpay; /* the adapter with its keys loaded (opaque) */

/* Makes the adapter from the [wxpay] section of cfg (cfg must outlive it), reading both key files.
 * Returns NULL with the reason in err when a key cannot be read or a setting is unfit. */
struct wxpay *wxpay_new(const struct config *cfg, char *err, size_t errlen);
void wxpay_free(struct wxpay *w);

/* POST /v3/pay/transactions/native for out_trade_no (<= 32 of [0-9A-Za-z_-*]), amount_fen > 0 CNY,
 * description (<= 127 bytes), notify_url, expiring at expire_at (Unix seconds; sent as time_expire in
 * +08:00). Returns PAY_OK with code_url (codelen bytes, PAY_QR_MAX is enough), or PAY_RETRY /
 * PAY_PERMANENT / PAY_FORGED (reply signature does not check) with a reason in err. */
int wxpay_create(const struct wxpay *w, const char *out_trade_no, long long amount_fen,
		 const char *description, const char *notify_url, long long expire_at, char *code_url,
		 size_t codelen, char *err, size_t errlen);

/* GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=...: fills st (state, trade_no,
 * amount_fen, paid_at). An order the provider does not know (404 ORDER_NOT_EXIST) is PAY_OK with
 * st->state PAY_ST_UNKNOWN. The reply's appid/mchid must be ours, else PAY_FORGED. */
int wxpay_query(const struct wxpay *w, const char *out_trade_no, struct pay_status *st, char *err,
		size_t errlen);

/* POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close. PAY_OK when closed (204), also when
 * the provider already had it closed; PAY_PERMANENT when it is paid (ORDERPAID) and cannot be. */
int wxpay_close(const struct wxpay *w, const char *out_trade_no, char *err, size_t errlen);

/* POST /v3/refund/domestic/refunds: refunds refund_fen of the paid out_trade_no (total total_fen) as
 * out_refund_no (<= 64), with reason (<= 80 bytes, may be ""). Returns PAY_OK with *done 1 when the
 * refund status is SUCCESS, 0 when PROCESSING (ask again with wxpay_refund_query), and the provider's
 * refund_id (PAY_ID_MAX bytes); else PAY_RETRY / PAY_PERMANENT / PAY_FORGED with err. */
int wxpay_refund(const struct wxpay *w, const char *out_trade_no, const char *out_refund_no,
		 long long refund_fen, long long total_fen, const char *reason, int *done, char *refund_id,
		 char *err, size_t errlen);

/* GET /v3/refund/domestic/refunds/{out_refund_no}: PAY_OK with *done 1 (SUCCESS), 0 (PROCESSING);
 * PAY_PERMANENT for CLOSED / ABNORMAL or an unknown refund. */
int wxpay_refund_query(const struct wxpay *w, const char *out_refund_no, int *done, char *err, size_t errlen);

/* Reads a payment notification: the four Wechatpay-* headers as received (NULL when absent) and the raw
 * body. Checks the serial is ours, |now - timestamp| <= 300 s, the signature over
 * "timestamp\nnonce\nbody\n", event_type TRANSACTION.SUCCESS, decrypts resource and checks its
 * appid and mchid; fills st (state from trade_state, event_id from the notification's id). Returns
 * PAY_OK, PAY_FORGED (signature, serial, time, decryption, appid/mchid) or PAY_PERMANENT (not a
 * notification of this shape) with a reason in err. */
int wxpay_notification(const struct wxpay *w, const char *timestamp, const char *nonce, const char *signature,
		       const char *serial, const char *body, size_t len, long long now, struct pay_status *st,
		       char *err, size_t errlen);

/* --- the pieces, exposed for tests, the fuzz target and certdesk-sim --- */

/* Room for an Authorization header value (scheme, five items, a 4096-bit signature). */
#define WXPAY_AUTH_MAX 1024

/* Returns the message a request signature covers: "METHOD\nPATH\nTIMESTAMP\nNONCE\nBODY\n" where
 * PATH is the URL path with its query as WeChat Pay sees it (starting at /v3/) and BODY is "" for a
 * GET. Caller frees. */
char *wxpay_request_message(const char *method, const char *path, long long timestamp, const char *nonce,
			    const char *body);

/* Writes into out (outlen bytes, WXPAY_AUTH_MAX is enough) the value of the Authorization header of
 * a request signed with the merchant key: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",
 * signature="..",timestamp="..",serial_no="..". Returns 0, or -1 (nonce not [0-9A-Za-z], no room). */
int wxpay_authorization(const struct wxpay *w, const char *method, const char *path, long long timestamp,
			const char *nonce, const char *body, char *out, size_t outlen);

/* Returns 1 when sig_b64 is WeChat Pay's signature (the platform key of w) over
 * "timestamp\nnonce\nbody\n" (len bytes of body), 0 when not. */
int wxpay_verify_signature(const struct wxpay *w, const char *timestamp, const char *nonce, const char *body,
			   size_t len, const char *sig_b64);

/* AEAD_AES_256_GCM as WeChat Pay uses it: key = the 32 ASCII bytes of the APIv3 key, nonce = the
 * 12 ASCII bytes of resource.nonce, AAD = associated_data (may be ""), ciphertext = Base64 of the
 * encrypted bytes followed by the 16-byte tag. Returns the plaintext, NUL-terminated, its length in
 * *len (caller frees), or NULL when an input is unfit or the tag does not check. */
char *wxpay_decrypt_resource(const char *apiv3_key, const char *nonce, const char *associated_data,
			     const char *ciphertext_b64, size_t *len);
/* The reverse, for certdesk-sim: returns the Base64 of the len bytes of plain encrypted and tagged
 * (caller frees), or NULL when the key or nonce is unfit. */
char *wxpay_encrypt_resource(const char *apiv3_key, const char *nonce, const char *associated_data,
			     const char *plain, size_t len);

/* Reads a transaction as WeChat Pay describes it (the query's reply, or a notification's decrypted
 * resource; len bytes of JSON) into st: trade_state SUCCESS -> PAY_ST_PAID, REFUND -> REFUNDED,
 * NOTPAY / USERPAYING / PAYERROR -> NOTPAY, CLOSED / REVOKED -> CLOSED; transaction_id, amount.total
 * and success_time (turned into UTC). Returns PAY_OK; PAY_FORGED when appid or mchid is not the one
 * given; PAY_PERMANENT with err when it is not such a transaction (a paid one needs transaction_id
 * and amount.total). */
int wxpay_parse_transaction(const char *json, size_t len, const char *appid, const char *mchid,
			    struct pay_status *st, char *err, size_t errlen);

/* Writes t (Unix seconds) as RFC 3339 in China time, "YYYY-MM-DDTHH:MM:SS+08:00", into buf (32
 * bytes); returns buf. */
char *wxpay_time_cn(long long t, char buf[32]);
/* Parses an RFC 3339 time with a Z or +hh:mm / -hh:mm offset (fractions of a second ignored) into
 * *t (Unix seconds). Returns 0, or -1. */
int wxpay_time_parse(const char *s, long long *t);

#endif
