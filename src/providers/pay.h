/* What the payment adapters (providers/wxpay.h: WeChat Pay API v3 Native; providers/alipay.h: Alipay
 * face-to-face precreate) have in common: the result of a call, and what the provider says about one
 * payment attempt (out_trade_no), from a query or from a verified notification. Money is integer fen. */
#ifndef CERTDESK_PROVIDERS_PAY_H
#define CERTDESK_PROVIDERS_PAY_H

/* The outcome of a call to a payment provider. */
enum pay_result {
	PAY_OK = 0,
	PAY_RETRY = -1,     /* no answer or a provider fault: the same call may succeed later */
	PAY_PERMANENT = -2, /* refused as it stands (bad request, unknown order, closed order, keys) */
	PAY_FORGED = -3,    /* a reply or notification whose signature, merchant or app does not check */
};

/* The state of an attempt at the provider. */
enum pay_state {
	PAY_ST_UNKNOWN = 0, /* not yet known (e.g. the provider does not know the order yet) */
	PAY_ST_NOTPAY,      /* created, not paid */
	PAY_ST_PAID,        /* paid (WeChat SUCCESS; Alipay TRADE_SUCCESS / TRADE_FINISHED) */
	PAY_ST_CLOSED,      /* closed unpaid, or revoked */
	PAY_ST_REFUNDED,    /* paid, then refunded (WeChat REFUND; Alipay TRADE_CLOSED after payment) */
};

#define PAY_ID_MAX 65 /* out_trade_no, transaction ids, refund ids and their NUL */

/* What the provider says about one attempt. */
struct pay_status {
	int state;                     /* enum pay_state */
	char out_trade_no[PAY_ID_MAX]; /* ours */
	char trade_no[PAY_ID_MAX];     /* the provider's (transaction_id / trade_no); "" when unpaid */
	long long amount_fen;          /* the order's total as the provider has it; -1 when not given */
	char paid_at[40];              /* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" when paid, else "" */
	char event_id[PAY_ID_MAX];     /* a notification's id (WeChat id / Alipay notify_id), else "" */
};

/* Sizes of what the adapters write. */
#define PAY_QR_MAX 512 /* code_url / qr_code and its NUL */
#define PAY_ERR_MAX 320

#endif
