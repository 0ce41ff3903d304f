/* The payment service (pay/payments.h): attempts, applying reports, refunds, reconciliation. Calls
 * to the providers are made outside any database transaction; what they answer is applied in one. */
#include "pay/payments.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/order_fsm.h"
#include "providers/alipay.h"
#include "providers/wxpay.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define REUSE_MIN_LEFT_S 300 /* an attempt with less than this left is replaced by a new one */
#define ATTEMPTS_PER_HOUR 20 /* QR codes one order may ask the providers for in an hour */
#define RECONCILE_BATCH 50

static const char *const verdict_names[PV_COUNT] = {"applied",  "duplicate", "extra", "unknown",
						    "mismatch", "closed",    "open",  "forged"};

const char *pay_verdict_name(int v)
{
	return v >= 0 && v < PV_COUNT ? verdict_names[v] : "";
}

int paysvc_provider_ok(const char *name)
{
	return name != NULL && (strcmp(name, "wxpay") == 0 || strcmp(name, "alipay") == 0);
}

int paysvc_init(struct paysvc *p, struct db *db, const struct config *cfg, char *err, size_t errlen)
{
	char why[256];

	memset(p, 0, sizeof(*p));
	p->db = db;
	p->cfg = cfg;
	if ((p->wx = wxpay_new(cfg, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "[wxpay]: %s", why);
		return -1;
	}
	if ((p->ali = alipay_new(cfg, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "[alipay]: %s", why);
		wxpay_free(p->wx);
		p->wx = NULL;
		return -1;
	}
	return 0;
}

void paysvc_free(struct paysvc *p)
{
	if (p->wx != NULL)
		wxpay_free(p->wx);
	if (p->ali != NULL)
		alipay_free(p->ali);
	p->wx = NULL;
	p->ali = NULL;
}

static int is_wx(const char *provider)
{
	return strcmp(provider, "wxpay") == 0;
}

static struct actor system_actor(const char *provider, const char *ip)
{
	return (struct actor){.kind = "system", .id = provider, .ip = ip != NULL ? ip : ""};
}

struct close_tx {
	int64_t id;
	const char *why;
};

/* Closes attempt t->id here (creating/open -> closed); already closed or paid is fine. */
static int close_tx(struct db_conn *c, void *arg)
{
	const struct close_tx *t = arg;
	int rc = store_payment_close(c, t->id, t->why);

	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* --- attempts --- */

/* One live attempt per order and provider (a unique index, migration 014): a request that finds
 * one being made by another waits for it, re-reading every WAIT_STEP_MS, for at most the
 * provider's time-out and WAIT_SLACK_S; a 'creating' attempt older than CREATING_STALE_S was left
 * by a crash during the provider's call and is closed (the reconciliation job still asks about it). */
#define WAIT_STEP_MS 100
#define WAIT_SLACK_S 5
#define CREATING_STALE_S 150
#define MAX_LIVE 8

struct attempt_tx {
	const struct order_rec *o;
	const char *provider;
	const struct actor *a;
	struct payment_rec *pm;           /* the new or reused attempt */
	struct payment_rec old[MAX_LIVE]; /* the order's live attempts, to close once pm is open */
	int nold, reused, pending, not_awaiting, too_many;
	long long expire_at;
};

/* Looks at the order's live attempt of t->provider, old[i]: reused when it lasts long enough,
 * waited for while another request makes it, else closed here so that a new one may be made.
 * Returns DB_OK (t->reused / t->pending set when so) or < 0. */
static int same_provider(struct db_conn *c, struct attempt_tx *t, const struct payment_rec *old)
{
	char when[TIMEFMT_LEN];

	if (strcmp(old->state, "creating") == 0) {
		timefmt_rfc3339(time(NULL) - CREATING_STALE_S, when);
		if (strcmp(old->created_at, when) > 0) {
			t->pending = 1;
			return DB_OK;
		}
		return store_payment_close(c, old->id, "abandoned");
	}
	timefmt_rfc3339(time(NULL) + REUSE_MIN_LEFT_S, when); /* reused only if it lasts beyond this */
	if (strcmp(old->expires_at, when) > 0) {
		*t->pm = *old;
		t->reused = 1;
		return DB_OK;
	}
	return store_payment_close(c, old->id, "replaced"); /* closed at the provider once pm is open */
}

/* Fills t->pm with a new attempt's numbers: the order number's letters and digits, '_' and 8
 * random hex digits (at most 32 characters of [0-9A-Za-z_], which both providers take). */
static void new_attempt(struct attempt_tx *t)
{
	unsigned char rnd[4];
	size_t k = 0;

	memset(t->pm, 0, sizeof(*t->pm));
	randombytes_buf(rnd, sizeof(rnd));
	for (const char *p = t->o->order_no; *p != '\0' && k < 22; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			t->pm->out_trade_no[k++] = *p;
	snprintf(t->pm->out_trade_no + k, sizeof(t->pm->out_trade_no) - k, "_%02x%02x%02x%02x", rnd[0],
		 rnd[1], rnd[2], rnd[3]);
	t->pm->order_id = t->o->id;
	t->pm->amount_fen = t->o->price_fen;
	str_copy(t->pm->provider, t->provider, sizeof(t->pm->provider));
	str_copy(t->pm->order_no, t->o->order_no, sizeof(t->pm->order_no));
	timefmt_rfc3339((time_t)t->expire_at, t->pm->expires_at);
}

/* The order's open attempt with t->provider: reused, waited for, or made ('creating'). Returns
 * DB_OK, DB_CONFLICT when another request made one meanwhile (read again), or < 0. */
static int attempt_tx(struct db_conn *c, void *arg)
{
	struct attempt_tx *t = arg;
	char state[24] = "", when[TIMEFMT_LEN], *s = NULL;
	int64_t recent = 0;
	int rc = db_query_text(c, "SELECT state FROM orders WHERE id = ?", DB_ARGS(DB_INT(t->o->id)), &s);

	if (rc != DB_OK)
		return rc;
	str_copy(state, s, sizeof(state));
	free(s);
	if (strcmp(state, "awaiting_payment") != 0) {
		t->not_awaiting = 1;
		return DB_OK;
	}
	rc = store_payments_list(c, "live", NULL, NULL, t->o->id, t->old, MAX_LIVE, &t->nold);
	for (int i = 0; rc == DB_OK && i < t->nold; i++)
		if (strcmp(t->old[i].provider, t->provider) == 0) /* at most one (the index) */
			rc = same_provider(c, t, &t->old[i]);
	if (rc != DB_OK || t->reused || t->pending)
		return rc;
	timefmt_rfc3339(time(NULL) - 3600, when);
	if ((rc = store_payment_recent(c, t->o->id, when, &recent)) != DB_OK)
		return rc;
	if (recent >= ATTEMPTS_PER_HOUR) {
		t->too_many = 1;
		return DB_OK;
	}
	new_attempt(t);
	return store_payment_create(c, t->pm, t->o->order_no, t->a);
}

/* Runs attempt_tx until it reuses, makes, or gives up on an attempt; no connection is held while
 * it waits for another request's. Returns DB_OK (t's flags say what happened) or < 0. */
static int attempt_serialised(struct paysvc *p, struct attempt_tx *t)
{
	int timeout_s = is_wx(t->provider) ? p->cfg->wxpay_timeout_s : p->cfg->alipay_timeout_s;
	long long waits = ((long long)timeout_s + WAIT_SLACK_S) * 1000 / WAIT_STEP_MS;
	struct timespec step = {0, WAIT_STEP_MS * 1000000L};
	int rc;

	for (long long i = 0;; i++) {
		t->nold = t->reused = t->pending = t->not_awaiting = t->too_many = 0;
		rc = db_tx(p->db, attempt_tx, t);
		if (rc == DB_CONFLICT && i < waits) /* lost the race to another request: read its attempt */
			continue;
		if (rc != DB_OK || !t->pending || i >= waits)
			return rc;
		nanosleep(&step, NULL);
	}
}

struct opened_tx {
	int64_t id;
	const char *qr, *error;
	int gone; /* the attempt was closed meanwhile (the order paid with the other provider) */
};

static int opened_tx(struct db_conn *c, void *arg)
{
	struct opened_tx *t = arg;
	int rc = store_payment_opened(c, t->id, t->qr, t->error);

	t->gone = rc == DB_NOTFOUND;
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* Closes attempt pm at the provider, and here when the provider agreed or (force) does not know it.
 * Returns what the provider said (PAY_PERMANENT: it cannot be closed, typically because it is paid). */
static int close_attempt(struct paysvc *p, const struct payment_rec *pm, const char *why, int force)
{
	char err[PAY_ERR_MAX];
	int rc = is_wx(pm->provider) ? wxpay_close(p->wx, pm->out_trade_no, err, sizeof(err))
				     : alipay_close(p->ali, pm->out_trade_no, err, sizeof(err));

	if (rc == PAY_OK || force)
		db_tx(p->db, close_tx, &(struct close_tx){pm->id, why});
	return rc;
}

/* Asks the provider for the QR code of the new attempt out (no connection held), records the
 * answer. Returns 0, 1 when the attempt was closed meanwhile, -1 (provider, reason in err) or -2. */
static int attempt_open(struct paysvc *p, const struct order_rec *o, struct payment_rec *out,
			long long expire_at, char *err, size_t errlen)
{
	char notify[1200], desc[200], qr[PAY_QR_MAX], why[PAY_ERR_MAX];
	struct opened_tx ot;
	int rc;

	snprintf(notify, sizeof(notify), "%s/api/v1/payments/%s/notify", p->cfg->public_url, out->provider);
	/* short: WeChat Pay takes at most 127 bytes */
	snprintf(desc, sizeof(desc), "数字证书%s 订单%s", strcmp(o->key_type, "main") == 0 ? "主锁" : "副锁",
		 o->order_no);
	rc = is_wx(out->provider) ? wxpay_create(p->wx, out->out_trade_no, out->amount_fen, desc, notify,
						 expire_at, qr, sizeof(qr), why, sizeof(why))
				  : alipay_precreate(p->ali, out->out_trade_no, out->amount_fen, desc, notify,
						     expire_at, qr, sizeof(qr), why, sizeof(why));
	if (rc == PAY_RETRY) {
		/* maybe created after all: closed here, so that the next request may make another, and
		 * still asked about by the reconciliation job (closed at the provider, or credited) */
		snprintf(err, errlen, "%s", why);
		return db_tx(p->db, close_tx, &(struct close_tx){out->id, why}) == DB_OK ? -1 : -2;
	}
	ot = (struct opened_tx){
		.id = out->id, .qr = rc == PAY_OK ? qr : NULL, .error = rc == PAY_OK ? NULL : why};
	if (db_tx(p->db, opened_tx, &ot) != DB_OK)
		return -2;
	if (rc != PAY_OK) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (ot.gone) {
		close_attempt(p, out, "replaced", 0);
		return 1;
	}
	str_copy(out->qr_code, qr, sizeof(out->qr_code));
	str_copy(out->state, "open", sizeof(out->state));
	return 0;
}

int paysvc_attempt(struct paysvc *p, const struct order_rec *o, const char *provider, const struct actor *a,
		   struct payment_rec *out, char *err, size_t errlen)
{
	struct attempt_tx t = {.o = o, .provider = provider, .a = a, .pm = out};
	int rc;

	t.expire_at = (long long)time(NULL) + (long long)p->cfg->payment_qr_timeout_min * 60;
	if (attempt_serialised(p, &t) != DB_OK)
		return -2;
	if (t.not_awaiting)
		return 1;
	if (t.too_many)
		return 2;
	if (t.reused)
		return 0;
	if (t.pending) {
		snprintf(err, errlen, "another request's QR code is still being made");
		return -1;
	}
	if ((rc = attempt_open(p, o, out, t.expire_at, err, errlen)) != 0)
		return rc;
	for (int i = 0; i < t.nold; i++) /* one open QR code per order; a paid one is taken into account */
		if (close_attempt(p, &t.old[i], "replaced", 0) == PAY_PERMANENT)
			paysvc_check(p, &t.old[i], "");
	return 0;
}

/* An unpaid order given up (a renewal superseded by a new one, or cancelled by its user): its live
 * attempts closed at their provider first, so that nothing can be paid on it any more. */
int paysvc_close_unpaid(struct paysvc *p, const struct order_rec *o)
{
	struct payment_rec live[MAX_LIVE] = {0};
	struct db_conn *c = db_acquire(p->db);
	char when[TIMEFMT_LEN];
	int n = 0, kept = 0, rc = store_payments_list(c, "live", NULL, NULL, o->id, live, MAX_LIVE, &n);

	db_release(c);
	if (rc != DB_OK)
		return rc;
	timefmt_rfc3339(time(NULL) - CREATING_STALE_S, when);
	for (int i = 0; i < n; i++) {
		if (strcmp(live[i].state, "creating") == 0) {
			/* being made right now (its QR code may show in a moment), or left by a crash (closed
			 * here; the reconciliation job still asks about it) */
			if (strcmp(live[i].created_at, when) > 0)
				kept = 1;
			else
				db_tx(p->db, close_tx, &(struct close_tx){live[i].id, "abandoned"});
			continue;
		}
		if (close_attempt(p, &live[i], "cancelled", 0) != PAY_OK) {
			/* paid there (credited now by the check), or the provider did not answer */
			paysvc_check(p, &live[i], "");
			kept = 1;
		}
	}
	return kept;
}

/* --- applying reports --- */

struct apply_tx {
	const char *provider, *source, *ip;
	const struct pay_status *st;
	int verdict;
};

/* Returns 1 when order_id was cancelled unpaid (a late payment of a superseded renewal), 0 when
 * not, < 0 on error. */
static int order_cancelled(struct db_conn *c, int64_t order_id)
{
	int64_t n = 0;
	int rc = db_query_int(c, "SELECT COUNT(*) FROM orders WHERE id = ? AND state = 'cancelled'",
			      DB_ARGS(DB_INT(order_id)), &n);

	return rc != DB_OK ? rc : n > 0;
}

static int apply_paid(struct db_conn *c, struct apply_tx *t, const struct payment_rec *pm,
		      const struct actor *a)
{
	enum order_state next;
	char note[200];
	int64_t refund_id;
	int rc;

	if (t->st->amount_fen != pm->amount_fen) {
		t->verdict = PV_MISMATCH;
		return DB_OK;
	}
	char now[TIMEFMT_LEN];
	/* when the provider did not say when it was paid, when we learnt it */
	rc = store_payment_mark_paid(
		c, pm->id, t->st->trade_no,
		t->st->paid_at[0] != '\0' ? t->st->paid_at : timefmt_rfc3339(time(NULL), now), 1);
	if (rc == DB_NOTFOUND) {
		t->verdict = PV_DUPLICATE;
		return DB_OK;
	}
	if (rc != DB_OK)
		return rc;
	order_fsm_decide(OS_AWAITING_PAYMENT, OE_PAID, OA_SYSTEM, 0, NULL, &next);
	/* a renewal (issue 15) has no paper to send: paid, its certificates are issued online */
	rc = store_order_is_renewal(c, pm->order_id);
	if (rc < 0)
		return rc;
	if (rc == 1)
		next = OS_PAID;
	snprintf(note, sizeof(note), "%s %s", t->provider, t->st->trade_no);
	rc = store_order_transition(c, pm->order_id, order_state_name(OS_AWAITING_PAYMENT),
				    order_state_name(next), order_event_name(OE_PAID), note, a);
	if (rc == DB_OK) {
		t->verdict = PV_APPLIED;
		/* no QR code of a paid order stays open (the reconciliation job closes them at the
		 * provider, and refunds one paid all the same) */
		return store_payments_close_others(c, pm->order_id, pm->id, "order paid");
	}
	if (rc != DB_NOTFOUND)
		return rc;
	/* the order was paid by another attempt (or left awaiting_payment): give this money back */
	t->verdict = PV_EXTRA;
	rc = db_exec(c, "UPDATE payments SET credited = 0 WHERE id = ?", DB_ARGS(DB_INT(pm->id)), NULL);
	if (rc == DB_OK)
		rc = order_cancelled(c, pm->order_id);
	/* recorded paid, not credited, refunded whole; staff see it with the order's payments */
	if (rc >= 0)
		rc = store_refund_create(c, pm->id, pm->order_no, "duplicate",
					 rc == 1 ? "订单已取消，自动退款" : "重复支付，自动退款", a,
					 &refund_id);
	return rc;
}

static int apply_tx(struct db_conn *c, void *arg)
{
	struct apply_tx *t = arg;
	struct payment_rec pm = {0};
	struct actor a = system_actor(t->provider, t->ip);
	json_t *d;
	char *detail, action[48];
	int rc = store_payment_get(c, t->st->out_trade_no, &pm);

	if (rc != DB_OK && rc != DB_NOTFOUND)
		return rc;
	if (rc == DB_NOTFOUND)
		t->verdict = PV_UNKNOWN;
	else if (strcmp(pm.provider, t->provider) != 0)
		t->verdict = PV_MISMATCH;
	else if (t->st->state == PAY_ST_PAID && (rc = apply_paid(c, t, &pm, &a)) != DB_OK)
		return rc;
	else if (t->st->state == PAY_ST_CLOSED)
		t->verdict = store_payment_close(c, pm.id, "closed at the provider") == DB_OK ? PV_CLOSED
											      : PV_DUPLICATE;
	else if (t->st->state != PAY_ST_PAID)
		t->verdict = strcmp(pm.state, "paid") == 0 ? PV_DUPLICATE : PV_OPEN;
	if (t->verdict == PV_OPEN && strcmp(t->source, "query") == 0)
		return DB_OK; /* nothing new: polling is not worth a record each time */
	d = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "provider", t->provider, "source", t->source,
		      "out_trade_no", t->st->out_trade_no, "verdict", pay_verdict_name(t->verdict),
		      "amount_fen", (json_int_t)t->st->amount_fen, "trade_no", t->st->trade_no);
	if (t->st->event_id[0] != '\0')
		json_object_set_new(d, "event_id", json_string(t->st->event_id));
	detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	rc = store_payment_event(c, t->verdict == PV_UNKNOWN ? 0 : pm.id, t->provider, t->source,
				 t->st->event_id, pay_verdict_name(t->verdict), detail, t->ip);
	snprintf(action, sizeof(action), "payment.%s", pay_verdict_name(t->verdict));
	if (rc == DB_OK)
		rc = store_audit_append(c, &a, action, t->verdict == PV_UNKNOWN ? "payment" : "order",
					t->verdict == PV_UNKNOWN ? t->st->out_trade_no : pm.order_no, detail);
	free(detail);
	return rc;
}

int paysvc_apply(struct paysvc *p, const char *provider, const char *source, const struct pay_status *st,
		 const char *ip, int *verdict)
{
	struct apply_tx t = {.provider = provider, .source = source, .ip = ip != NULL ? ip : "", .st = st};
	int rc = db_tx(p->db, apply_tx, &t);

	*verdict = t.verdict;
	return rc;
}

struct refused_tx {
	const char *provider, *why, *ip;
};

static int refused_tx(struct db_conn *c, void *arg)
{
	struct refused_tx *t = arg;
	struct actor a = system_actor(t->provider, t->ip);
	json_t *d = json_pack("{s:s, s:s}", "provider", t->provider, "why", t->why);
	char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = store_payment_event(c, 0, t->provider, "notify", NULL, "forged", detail, t->ip);

	if (rc == DB_OK)
		rc = store_audit_append(c, &a, "payment.forged", "payment", t->provider, detail);
	json_decref(d);
	free(detail);
	return rc;
}

void paysvc_refused(struct paysvc *p, const char *provider, const char *why, const char *ip)
{
	struct refused_tx t = {provider, why, ip != NULL ? ip : ""};

	if (db_tx(p->db, refused_tx, &t) != DB_OK) /* refused all the same; the log keeps a trace */
		log_error("payments", "%s notification refused (%s) and not recorded: database error",
			  provider, why);
}

int paysvc_check(struct paysvc *p, const struct payment_rec *pm, const char *ip)
{
	struct pay_status st;
	char err[PAY_ERR_MAX], now[TIMEFMT_LEN];
	struct db_conn *c;
	int rc, verdict;

	memset(&st, 0, sizeof(st));
	rc = is_wx(pm->provider) ? wxpay_query(p->wx, pm->out_trade_no, &st, err, sizeof(err))
				 : alipay_query(p->ali, pm->out_trade_no, &st, err, sizeof(err));
	c = db_acquire(p->db);
	store_payment_checked(c, pm->id);
	db_release(c);
	if (rc != PAY_OK)
		return DB_OK; /* asked again on the next pass */
	str_copy(st.out_trade_no, pm->out_trade_no, sizeof(st.out_trade_no));
	if (st.state == PAY_ST_PAID || st.state == PAY_ST_REFUNDED ||
	    (st.state == PAY_ST_CLOSED && strcmp(pm->state, "closed") != 0))
		return paysvc_apply(p, pm->provider, "query", &st, ip, &verdict);
	/* closed here (replaced, or its order paid) but still payable there: closed there too */
	if (strcmp(pm->state, "closed") == 0) {
		if (st.state == PAY_ST_NOTPAY)
			close_attempt(p, pm, "closed", 0);
		return DB_OK;
	}
	/* not paid (or never seen by the provider): close it once it has expired */
	if (strcmp(pm->expires_at, timefmt_rfc3339(time(NULL), now)) < 0)
		close_attempt(p, pm, "expired", st.state == PAY_ST_UNKNOWN);
	return DB_OK;
}

/* --- refunds --- */

struct cancel_tx {
	const struct order_rec *o;
	const char *reason;
	const struct actor *a;
	int64_t refund_id;
	int no_payment;
};

static int cancel_tx(struct db_conn *c, void *arg)
{
	struct cancel_tx *t = arg;
	struct payment_rec ps[8] = {0};
	enum order_state next;
	int n, i, rc;

	rc = store_payments_list(c, "paid", NULL, NULL, t->o->id, ps, 8, &n);
	for (i = 0; rc == DB_OK && i < n && !ps[i].credited; i++)
		;
	if (rc != DB_OK)
		return rc;
	if (i == n) {
		t->no_payment = 1;
		return DB_OK;
	}
	order_fsm_decide(order_state_from_name(t->o->state), OE_CANCEL, OA_STAFF, ~0u, NULL, &next);
	rc = store_order_transition(c, t->o->id, t->o->state, order_state_name(next),
				    order_event_name(OE_CANCEL), t->reason, t->a);
	if (rc == DB_OK)
		rc = store_refund_create(c, ps[i].id, t->o->order_no, "cancel", t->reason, t->a,
					 &t->refund_id);
	return rc;
}

int paysvc_cancel(struct paysvc *p, const struct order_rec *o, const char *reason, const struct actor *a,
		  int64_t *refund_id)
{
	struct cancel_tx t = {.o = o, .reason = reason, .a = a};
	int rc = db_tx(p->db, cancel_tx, &t);

	if (rc != DB_OK)
		return rc;
	if (t.no_payment)
		return 1;
	*refund_id = t.refund_id;
	/* cancelled: the refund goes now, or else with the reconciliation job */
	paysvc_refund_run(p, t.refund_id);
	return 0;
}

struct refund_tx {
	const struct refund_rec *f;
	const char *to, *refund_id, *error;
};

static int refund_tx(struct db_conn *c, void *arg)
{
	struct refund_tx *t = arg;
	struct actor a = system_actor(t->f->provider, "");
	enum order_state next;
	json_t *d;
	char *detail;
	int rc = store_refund_update(c, t->f->id, t->f->state, t->to, t->refund_id, t->error);

	if (rc == DB_NOTFOUND || strcmp(t->to, t->f->state) == 0)
		return rc == DB_NOTFOUND ? DB_OK : rc; /* someone else recorded it; or still waiting */
	d = json_pack("{s:s, s:s, s:s, s:I}", "out_refund_no", t->f->out_refund_no, "kind", t->f->kind,
		      "state", t->to, "amount_fen", (json_int_t)t->f->amount_fen);
	if (t->error != NULL)
		json_object_set_new(d, "error", json_string(t->error));
	detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	if (rc == DB_OK)
		rc = store_audit_append(c, &a, "payment.refund_update", "order", t->f->order_no, detail);
	free(detail);
	if (rc == DB_OK && strcmp(t->to, "done") == 0 && strcmp(t->f->kind, "cancel") == 0) {
		order_fsm_decide(OS_REFUNDING, OE_REFUNDED, OA_SYSTEM, 0, NULL, &next);
		rc = store_order_transition(c, t->f->order_id, order_state_name(OS_REFUNDING),
					    order_state_name(next), order_event_name(OE_REFUNDED), NULL, &a);
		if (rc == DB_NOTFOUND)
			rc = DB_OK;
	}
	return rc;
}

int paysvc_refund_run(struct paysvc *p, int64_t refund_id)
{
	struct refund_rec f = {0};
	struct refund_tx t;
	struct db_conn *c = db_acquire(p->db);
	char err[PAY_ERR_MAX] = "", rid[PAY_ID_MAX] = "";
	int n, done = 0, rc = store_refunds_due(c, refund_id, &f, 1, &n);

	db_release(c);
	if (rc != DB_OK || n != 1)
		return rc != DB_OK ? rc : DB_NOTFOUND;
	if (strcmp(f.state, "requested") != 0 && strcmp(f.state, "processing") != 0)
		return DB_OK;
	if (is_wx(f.provider))
		rc = strcmp(f.state, "processing") == 0
			     ? wxpay_refund_query(p->wx, f.out_refund_no, &done, err, sizeof(err))
			     : wxpay_refund(p->wx, f.out_trade_no, f.out_refund_no, f.amount_fen, f.total_fen,
					    f.reason, &done, rid, err, sizeof(err));
	else if ((rc = alipay_refund(p->ali, f.out_trade_no, f.out_refund_no, f.amount_fen, f.reason, rid,
				     err, sizeof(err))) == PAY_OK)
		done = 1;
	t = (struct refund_tx){
		.f = &f, .refund_id = rid[0] != '\0' ? rid : NULL, .error = err[0] ? err : NULL};
	t.to = rc == PAY_OK ? (done ? "done" : "processing") : rc == PAY_RETRY ? f.state : "failed";
	return db_tx(p->db, refund_tx, &t);
}

/* --- reconciliation --- */

void paysvc_reconcile(struct paysvc *p)
{
	struct payment_rec ps[RECONCILE_BATCH] = {0};
	struct refund_rec fs[RECONCILE_BATCH] = {0};
	char created_before[TIMEFMT_LEN], checked_before[TIMEFMT_LEN];
	time_t now = time(NULL);
	struct db_conn *c = db_acquire(p->db);
	int n = 0, nf = 0;

	timefmt_rfc3339(now - p->cfg->payment_reconcile_after_s, created_before);
	timefmt_rfc3339(now - p->cfg->payment_reconcile_interval_s, checked_before);
	store_payments_list(c, "due", created_before, checked_before, 0, ps, RECONCILE_BATCH, &n);
	store_refunds_due(c, 0, fs, RECONCILE_BATCH, &nf);
	db_release(c);
	for (int i = 0; i < n; i++)
		paysvc_check(p, &ps[i], "");
	for (int i = 0; i < nf; i++)
		paysvc_refund_run(p, fs[i].id);
}

int paysvc_reconcile_pass(void *arg, const atomic_int *stop)
{
	(void)stop;
	paysvc_reconcile(arg);
	return 0;
}
