/* The payment service: starts attempts (a QR code of WeChat Pay or Alipay for an order awaiting
 * payment), applies what the providers report (a verified notification, or a query), refunds, and
 * the reconciliation pass that asks about attempts whose notification never came.
 *
 * Exactly-once crediting: an attempt moves to 'paid' by a conditional update, and only the call that
 * made that change goes on to move the order from awaiting_payment (another conditional update);
 * so duplicates, replays, out-of-order deliveries and a notification racing a query credit once. An
 * attempt paid after its order was already paid (two QR codes paid) is refunded whole. Every report,
 * whatever became of it, is recorded (payment_events) and audited. */
#ifndef CERTDESK_PAY_PAYMENTS_H
#define CERTDESK_PAY_PAYMENTS_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/pay.h"
#include "store/store.h"

struct config;
struct db;
struct wxpay;
struct alipay;

struct paysvc {
	struct db *db;
	const struct config *cfg;
	struct wxpay *wx;
	struct alipay *ali;
};

/* What became of one report about an attempt. */
enum pay_verdict {
	PV_APPLIED,   /* paid: the order moved on */
	PV_DUPLICATE, /* already known: nothing changed */
	PV_EXTRA,     /* paid, but the order was already paid: a refund is queued */
	PV_UNKNOWN,   /* no such attempt */
	PV_MISMATCH,  /* amount or provider differ from the attempt: not credited */
	PV_CLOSED,    /* the attempt is closed */
	PV_OPEN,      /* not paid yet */
	PV_FORGED,    /* refused before it was read (signature, merchant, app, time) */
	PV_COUNT
};

/* Returns the code name of v ("applied", ...). */
const char *pay_verdict_name(int v);

/* Makes the adapters of both providers from cfg. Returns 0, or -1 with the reason in err. */
int paysvc_init(struct paysvc *p, struct db *db, const struct config *cfg, char *err, size_t errlen);
void paysvc_free(struct paysvc *p);

/* Returns 1 when name is a provider the platform offers ("wxpay", "alipay"). */
int paysvc_provider_ok(const char *name);

/* Gives the order o (awaiting payment) an open attempt with provider: the current one when it has
 * at least 5 minutes left, else a new one (and closes the others, here and at their provider). An
 * order has at most one live attempt per provider (a unique index): racing requests get the same
 * one, those that lost waiting (no connection held) while the winner asks the provider. The
 * provider is asked with no pooled connection held. Returns 0 with *out filled; 1 when the order
 * is no longer awaiting payment; 2 when the order asked for too many QR codes in the last hour;
 * -1 when the provider failed (a short reason in err); -2 on a database error. */
int paysvc_attempt(struct paysvc *p, const struct order_rec *o, const char *provider, const struct actor *a,
		   struct payment_rec *out, char *err, size_t errlen);

/* Closes the live attempts of the unpaid order o (given up: a renewal superseded by a new one, or
 * cancelled by its user) at their provider and here, with no connection held. An attempt the
 * provider cannot close (paid: credited now) or does not answer about, or one being made right now,
 * keeps the order. Returns 0 when none is live any more (the caller may cancel o, checking again in
 * its transaction), 1 when one is kept, < 0 on a database error. A payment that still arrives for a
 * cancelled order is recorded paid, not credited, and refunded whole (paysvc_apply). */
int paysvc_close_unpaid(struct paysvc *p, const struct order_rec *o);

/* Applies a verified report st from provider (source "notify" or "query") in one transaction and
 * sets *verdict. Returns DB_OK, or < 0 when the database failed (nothing applied: report again). */
int paysvc_apply(struct paysvc *p, const char *provider, const char *source, const struct pay_status *st,
		 const char *ip, int *verdict);

/* Records and audits a notification refused before it could be believed. */
void paysvc_refused(struct paysvc *p, const char *provider, const char *why, const char *ip);

/* Asks the provider about attempt pm and applies the answer; closes it when it has expired unpaid.
 * Returns DB_OK (whatever the provider said) or < 0 on a database error. */
int paysvc_check(struct paysvc *p, const struct payment_rec *pm, const char *ip);

/* Cancels the paid order o (finance): awaiting_paper / paper_sent / paper_rejected -> refunding,
 * with a refund of its payment, then tries the refund at once (the reconciliation job tries again
 * if need be). Returns 0 with *refund_id; 1 when the order has no credited payment; DB_NOTFOUND
 * when it left its state meanwhile; < 0 when nothing was done. */
int paysvc_cancel(struct paysvc *p, const struct order_rec *o, const char *reason, const struct actor *a,
		  int64_t *refund_id);

/* Sends refund id to the provider (or asks about one in progress) and records the outcome; a done
 * refund of a cancelled order moves it to 'refunded'. Returns DB_OK or < 0. */
int paysvc_refund_run(struct paysvc *p, int64_t refund_id);

/* One reconciliation pass: attempts open for longer than [payment] reconcile_after_s, refunds not
 * yet done. */
void paysvc_reconcile(struct paysvc *p);

/* paysvc_reconcile as one pass of a util/periodic.h job (arg: the struct paysvc); certdeskd runs it
 * every [payment] reconcile_interval_s. */
int paysvc_reconcile_pass(void *arg, const atomic_int *stop);

#endif
