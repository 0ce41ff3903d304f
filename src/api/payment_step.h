/* The payment step (缴费) shared by an order's routes (/orders/{order_no}/payment, the organisation's
 * session) and a renewal's (/renewals/{renewal_no}/payments, the renewal token): one code path for
 * starting an attempt, the polled current state and the QR picture (payments.c); only the loading of
 * the order that pays differs, and that is the caller's pay_owner_fn. */
#ifndef CERTDESK_API_PAYMENT_STEP_H
#define CERTDESK_API_PAYMENT_STEP_H

#include "api/api.h"

/* Loads the order that pays into *o for the request (whose it is, checked); returns 0, or -1 after
 * replying (401 / 404 ...). arg is the caller's. */
typedef int (*pay_owner_fn)(struct http_req *r, struct db_conn *c, void *arg, struct order_rec *o);

/* {order_no, order_state, amount_fen, providers, attempt?} as both pages show it. Caller decrefs. */
json_t *pay_current_json(const struct order_rec *o, const struct payment_rec *pm, int have);
/* POST {provider}: a QR code to pay o with (the open one reused, else a new one). not_awaiting is
 * the 409 message when o no longer awaits payment. Replies; returns what the reply returned. */
int pay_start(struct http_req *r, pay_owner_fn load, void *arg, const char *not_awaiting);
/* GET: the payment step, polled; an open attempt not checked for a while is asked about at the
 * provider first (the notification may be late or lost). Replies. */
int pay_current(struct http_req *r, pay_owner_fn load, void *arg);
/* GET: the open attempt's QR code as a PNG (404 when none). Replies. */
int pay_qr(struct http_req *r, pay_owner_fn load, void *arg);

#endif
