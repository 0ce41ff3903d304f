/* What the Alipay simulator's files (sim/alipay.c, sim/alipay_notify.c, sim/alipay_page.c) share:
 * the trades, kept under ali_mu, and the notification sender. */
#ifndef CERTDESK_SIM_ALIPAY_INT_H
#define CERTDESK_SIM_ALIPAY_INT_H
#include <jansson.h>
#include <pthread.h>

#include "providers/pay.h"

struct config;
struct urlform;
struct rsakey;

/* Where a trade is. Alipay knows a precreated trade only once its QR code has been scanned. */
enum ali_status { ALI_PRECREATED, ALI_WAIT, ALI_SUCCESS, ALI_CLOSED };

#define ALI_MAX_REFUNDS 50

struct ali_refund {
	char out_request_no[PAY_ID_MAX];
	long long fen;
	char gmt[20];
};

struct ali_trade {
	char out_trade_no[PAY_ID_MAX], qr_id[33], trade_no[33], notify_id[33];
	char *subject, *notify_url;     /* notify_url "" when none */
	long long total_fen, expire_at; /* expire_at 0: none */
	int status;                     /* enum ali_status */
	char gmt_create[20], gmt_payment[20], gmt_close[20];
	char buyer_id[17], buyer_logon_id[24];
	long long refunded_fen;
	struct ali_refund refunds[ALI_MAX_REFUNDS];
	int nrefunds;
	int deliveries;       /* notification attempts made by the background sender */
	int delivered;        /* one was answered "success" */
	char last_answer[64]; /* what the last attempt got back ("HTTP 200: success") */
};

extern pthread_mutex_t ali_mu;

/* Returns the trade of out_trade_no, or by qr_id; NULL when unknown. Call with ali_mu held. */
struct ali_trade *ali_find(const char *out_trade_no);
struct ali_trade *ali_find_qr(const char *qr_id);
/* Marks the trade scanned (known to Alipay) and closes it when its time_expire has passed. Call with
 * ali_mu held. */
void ali_touch(struct ali_trade *t, int scanned);
/* Pays t (ali_mu held). Returns 0, or -1 when it is paid or closed already. */
int ali_pay(struct ali_trade *t);
/* Returns trade_status of t ("WAIT_BUYER_PAY", ...; "NOT_SCANNED" before a scan). */
const char *ali_status_name(const struct ali_trade *t);
/* Returns the [sim] gateway private key (loaded once), or NULL when it cannot be read. */
const struct rsakey *ali_gateway_key(const struct config *cfg);

/* Returns the signed notification fields for t in its present state, changed as variant says
 * ("ok", "bad_signature", "wrong_app_id", "wrong_seller", "wrong_amount", "trade_closed"), with
 * notify_id; NULL for an unknown variant or no key. Call with ali_mu held. Caller frees the
 * returned body (form-encoded). */
char *ali_notification(const struct config *cfg, const struct ali_trade *t, const char *variant,
		       const char *notify_id);
/* Queues body (taken over) for delivery to url in the background, on behalf of out_trade_no. */
void ali_notify_enqueue(const char *url, char *body, const char *out_trade_no);
/* Posts body to url now; returns the answer's status (0: no answer) and its body in *answer
 * (caller frees). */
long ali_notify_post(const char *url, const char *body, char **answer);
/* Drops the queued notifications. */
void ali_notify_clear(void);
/* Stops the background sender (waits for it). */
void ali_notify_stop(void);

#endif
