/* Payment attempts, what the providers reported about them, and refunds. The rules that make
 * crediting exactly-once live in pay/payments.c; here every change is a conditional update whose
 * row count tells the caller whether it was the one that made it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define PAYMENT_COLS                                                                                         \
	"p.id, p.order_id, p.amount_fen, p.credited, p.provider, p.out_trade_no, p.state, p.qr_code,"        \
	" p.trade_no, p.created_at, p.expires_at, p.paid_at, p.checked_at, o.order_no"

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static void payment_row(struct db_rows *r, struct payment_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->id = db_rows_int(r, 0);
	p->order_id = db_rows_int(r, 1);
	p->amount_fen = db_rows_int(r, 2);
	p->credited = (int)db_rows_int(r, 3);
	str_copy(p->provider, nz(db_rows_text(r, 4)), sizeof(p->provider));
	str_copy(p->out_trade_no, nz(db_rows_text(r, 5)), sizeof(p->out_trade_no));
	str_copy(p->state, nz(db_rows_text(r, 6)), sizeof(p->state));
	str_copy(p->qr_code, nz(db_rows_text(r, 7)), sizeof(p->qr_code));
	str_copy(p->trade_no, nz(db_rows_text(r, 8)), sizeof(p->trade_no));
	str_copy(p->created_at, nz(db_rows_text(r, 9)), sizeof(p->created_at));
	str_copy(p->expires_at, nz(db_rows_text(r, 10)), sizeof(p->expires_at));
	str_copy(p->paid_at, nz(db_rows_text(r, 11)), sizeof(p->paid_at));
	str_copy(p->checked_at, nz(db_rows_text(r, 12)), sizeof(p->checked_at));
	str_copy(p->order_no, nz(db_rows_text(r, 13)), sizeof(p->order_no));
}

/* Runs sql (selecting PAYMENT_COLS) and copies up to max rows into ps; *n gets how many. */
static int payment_rows(struct db_conn *c, const char *sql, const struct db_val *args, int nargs,
			struct payment_rec *ps, int max, int *n)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, sql, args, nargs, &r);

	*n = 0;
	while (rc == DB_OK && *n < max && (rc = db_rows_next(r)) == 1) {
		payment_row(r, &ps[(*n)++]);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_payment_create(struct db_conn *c, struct payment_rec *p, const char *order_no,
			 const struct actor *a)
{
	int rc;

	timefmt_rfc3339(time(NULL), p->created_at);
	str_copy(p->state, "creating", sizeof(p->state));
	rc = db_query_int(
		c,
		"INSERT INTO payments (order_id, provider, out_trade_no, amount_fen, state, created_at,"
		" expires_at) VALUES (?, ?, ?, ?, 'creating', ?, ?) RETURNING id",
		DB_ARGS(DB_INT(p->order_id), DB_TEXT(p->provider), DB_TEXT(p->out_trade_no),
			DB_INT(p->amount_fen), DB_TEXT(p->created_at), DB_TEXT(p->expires_at)),
		&p->id);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "payment.create", order_no,
				 json_pack("{s:s, s:s, s:I, s:s}", "provider", p->provider, "out_trade_no",
					   p->out_trade_no, "amount_fen", (json_int_t)p->amount_fen,
					   "expires_at", p->expires_at));
}

int store_payment_opened(struct db_conn *c, int64_t id, const char *qr_code, const char *error)
{
	char now[TIMEFMT_LEN];
	int64_t changes = 0;
	int rc = qr_code != NULL ? db_exec(c,
					   "UPDATE payments SET state = 'open', qr_code = ? WHERE id = ? AND "
					   "state = 'creating'",
					   DB_ARGS(DB_TEXT(qr_code), DB_INT(id)), &changes)
				 : db_exec(c,
					   "UPDATE payments SET state = 'failed', error = ?, closed_at = ? "
					   "WHERE id = ?"
					   " AND state = 'creating'",
					   DB_ARGS(DB_TEXT(error), DB_TEXT(timefmt_rfc3339(time(NULL), now)),
						   DB_INT(id)),
					   &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_payment_get(struct db_conn *c, const char *out_trade_no, struct payment_rec *p)
{
	int n, rc = payment_rows(c,
				 "SELECT " PAYMENT_COLS " FROM payments p JOIN orders o ON o.id = p.order_id"
				 " WHERE p.out_trade_no = ?",
				 DB_ARGS(DB_TEXT(out_trade_no)), p, 1, &n);

	return rc != DB_OK ? rc : n == 1 ? DB_OK : DB_NOTFOUND;
}

int store_payment_latest(struct db_conn *c, int64_t order_id, struct payment_rec *p)
{
	int n, rc = payment_rows(c,
				 "SELECT " PAYMENT_COLS " FROM payments p JOIN orders o ON o.id = p.order_id"
				 " WHERE p.order_id = ? AND p.state <> 'failed' ORDER BY p.id DESC LIMIT 1",
				 DB_ARGS(DB_INT(order_id)), p, 1, &n);

	return rc != DB_OK ? rc : n == 1 ? DB_OK : DB_NOTFOUND;
}

int store_payments_list(struct db_conn *c, const char *state, const char *created_before,
			const char *checked_before, int64_t order_id, struct payment_rec *ps, int max, int *n)
{
	/* closed here but maybe still payable there (Alipay keeps an unscanned QR code payable until it
	 * expires): asked about until it has expired */
	if (strcmp(state, "due") == 0)
		return payment_rows(c,
				    "SELECT " PAYMENT_COLS
				    " FROM payments p JOIN orders o ON o.id = p.order_id"
				    " WHERE (p.state IN ('creating', 'open') OR (p.state = 'closed' AND "
				    "p.expires_at > ?))"
				    " AND p.created_at < ? AND (p.checked_at IS NULL OR p.checked_at < ?)"
				    " ORDER BY p.id LIMIT ?",
				    DB_ARGS(DB_TEXT(checked_before), DB_TEXT(created_before),
					    DB_TEXT(checked_before), DB_INT(max)),
				    ps, max, n);
	if (strcmp(state, "live") == 0)
		return payment_rows(c,
				    "SELECT " PAYMENT_COLS
				    " FROM payments p JOIN orders o ON o.id = p.order_id"
				    " WHERE p.state IN ('creating', 'open') AND p.order_id = ? ORDER BY p.id"
				    " LIMIT ?",
				    DB_ARGS(DB_INT(order_id), DB_INT(max)), ps, max, n);
	return payment_rows(c,
			    "SELECT " PAYMENT_COLS " FROM payments p JOIN orders o ON o.id = p.order_id"
			    " WHERE p.state = ? AND p.order_id = ? ORDER BY p.id LIMIT ?",
			    DB_ARGS(DB_TEXT(state), DB_INT(order_id), DB_INT(max)), ps, max, n);
}

int store_payment_mark_paid(struct db_conn *c, int64_t id, const char *trade_no, const char *paid_at,
			    int credited)
{
	int64_t changes = 0;
	int rc =
		db_exec(c,
			"UPDATE payments SET state = 'paid', trade_no = ?, paid_at = ?, credited = ?"
			" WHERE id = ? AND state IN ('creating', 'open', 'closed')",
			DB_ARGS(DB_TEXT(trade_no), DB_TEXT(paid_at), DB_INT(credited), DB_INT(id)), &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_payment_close(struct db_conn *c, int64_t id, const char *why)
{
	char now[TIMEFMT_LEN];
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE payments SET state = 'closed', closed_at = ?, error = ? WHERE id = ?"
			 " AND state IN ('creating', 'open')",
			 DB_ARGS(DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(why), DB_INT(id)),
			 &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_payments_close_others(struct db_conn *c, int64_t order_id, int64_t except_id, const char *why)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
		       "UPDATE payments SET state = 'closed', closed_at = ?, error = ? WHERE order_id = ?"
		       " AND id <> ? AND state IN ('creating', 'open')",
		       DB_ARGS(DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(why), DB_INT(order_id),
			       DB_INT(except_id)),
		       NULL);
}

int store_payment_recent(struct db_conn *c, int64_t order_id, const char *since, int64_t *n)
{
	return db_query_int(c, "SELECT COUNT(*) FROM payments WHERE order_id = ? AND created_at >= ?",
			    DB_ARGS(DB_INT(order_id), DB_TEXT(since)), n);
}

int store_payment_checked(struct db_conn *c, int64_t id)
{
	char now[TIMEFMT_LEN];

	return db_exec(c, "UPDATE payments SET checked_at = ? WHERE id = ?",
		       DB_ARGS(DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(id)), NULL);
}

int store_payment_event(struct db_conn *c, int64_t payment_id, const char *provider, const char *source,
			const char *event_id, const char *verdict, const char *detail, const char *ip)
{
	char now[TIMEFMT_LEN];

	return db_exec(
		c,
		"INSERT INTO payment_events (payment_id, provider, source, event_id, verdict, detail, ip,"
		" at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		DB_ARGS(payment_id > 0 ? DB_INT(payment_id) : DB_NULLV, DB_TEXT(provider), DB_TEXT(source),
			DB_TEXT(event_id != NULL && event_id[0] != '\0' ? event_id : NULL), DB_TEXT(verdict),
			DB_TEXT(detail), DB_TEXT(nz(ip)), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		NULL);
}

/* Adds the refund and the events of payment id to j. */
static int payment_details(struct db_conn *c, int64_t id, json_t *j)
{
	struct db_rows *r = NULL;
	json_t *events = json_array();
	int rc = db_query(c,
			  "SELECT kind, state, amount_fen, reason, requested_by, created_at, done_at, error"
			  " FROM refunds WHERE payment_id = ?",
			  DB_ARGS(DB_INT(id)), &r);

	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *f = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "kind", db_rows_text(r, 0), "state",
				      db_rows_text(r, 1), "amount_fen", (json_int_t)db_rows_int(r, 2),
				      "reason", db_rows_text(r, 3), "requested_by", db_rows_text(r, 4),
				      "created_at", db_rows_text(r, 5));
		if (db_rows_text(r, 6) != NULL)
			json_object_set_new(f, "done_at", json_string(db_rows_text(r, 6)));
		if (db_rows_text(r, 7) != NULL)
			json_object_set_new(f, "error", json_string(db_rows_text(r, 7)));
		json_object_set_new(j, "refund", f);
		rc = DB_OK;
	}
	db_rows_free(r);
	r = NULL;
	if (rc == DB_OK)
		rc = db_query(c,
			      "SELECT source, verdict, event_id, at FROM payment_events WHERE payment_id = ?"
			      " ORDER BY id DESC LIMIT 50",
			      DB_ARGS(DB_INT(id)), &r);
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:s}", "source", db_rows_text(r, 0),
							"verdict", db_rows_text(r, 1), "event_id",
							nz(db_rows_text(r, 2)), "at", db_rows_text(r, 3)));
		rc = DB_OK;
	}
	db_rows_free(r);
	json_object_set_new(j, "events", events);
	return rc < 0 ? rc : DB_OK;
}

int store_payments_json(struct db_conn *c, int64_t order_id, json_t **items)
{
	struct payment_rec ps[20] = {0};
	int n, rc = payment_rows(c,
				 "SELECT " PAYMENT_COLS " FROM payments p JOIN orders o ON o.id = p.order_id"
				 " WHERE p.order_id = ? ORDER BY p.id DESC LIMIT 20",
				 DB_ARGS(DB_INT(order_id)), ps, 20, &n);

	*items = json_array();
	for (int i = 0; rc == DB_OK && i < n; i++) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:b, s:s, s:s}", "provider", ps[i].provider,
				      "out_trade_no", ps[i].out_trade_no, "amount_fen",
				      (json_int_t)ps[i].amount_fen, "state", ps[i].state, "credited",
				      ps[i].credited, "created_at", ps[i].created_at, "expires_at",
				      ps[i].expires_at);
		if (ps[i].trade_no[0] != '\0')
			json_object_set_new(j, "trade_no", json_string(ps[i].trade_no));
		if (ps[i].paid_at[0] != '\0')
			json_object_set_new(j, "paid_at", json_string(ps[i].paid_at));
		rc = payment_details(c, ps[i].id, j);
		json_array_append_new(*items, j);
	}
	return rc;
}

int store_refund_create(struct db_conn *c, int64_t payment_id, const char *order_no, const char *kind,
			const char *reason, const struct actor *a, int64_t *id)
{
	char now[TIMEFMT_LEN], no[80];
	struct db_rows *r = NULL;
	int64_t amount = 0;
	char out_trade_no[72] = "", provider[8] = "";
	int rc = db_query(
		c, "SELECT amount_fen, out_trade_no, provider FROM payments WHERE id = ? AND state = 'paid'",
		DB_ARGS(DB_INT(payment_id)), &r);

	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		amount = db_rows_int(r, 0);
		str_copy(out_trade_no, db_rows_text(r, 1), sizeof(out_trade_no));
		str_copy(provider, db_rows_text(r, 2), sizeof(provider));
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_NOTFOUND;
	}
	db_rows_free(r);
	if (rc != DB_OK)
		return rc;
	/* one refund per payment (a unique index), so the payment's number names it */
	snprintf(no, sizeof(no), "%sR", out_trade_no);
	rc = db_query_int(c,
			  "INSERT INTO refunds (payment_id, out_refund_no, amount_fen, kind, reason, state,"
			  " requested_by, created_at) VALUES (?, ?, ?, ?, ?, 'requested', ?, ?) RETURNING id",
			  DB_ARGS(DB_INT(payment_id), DB_TEXT(no), DB_INT(amount), DB_TEXT(kind),
				  DB_TEXT(reason), DB_TEXT(a->id), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
			  id);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "payment.refund_request", order_no,
				 json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "provider", provider,
					   "out_trade_no", out_trade_no, "out_refund_no", no, "amount_fen",
					   (json_int_t)amount, "kind", kind, "reason", reason));
}

int store_refunds_due(struct db_conn *c, int64_t id, struct refund_rec *rs, int max, int *n)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c,
		"SELECT f.id, f.payment_id, f.amount_fen, f.attempts, f.out_refund_no, f.kind, f.state,"
		" f.reason, p.provider, p.out_trade_no, p.order_id, p.amount_fen, o.order_no"
		" FROM refunds f JOIN payments p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id"
		" WHERE (? = 0 AND f.state IN ('requested', 'processing')) OR f.id = ?"
		" ORDER BY f.id LIMIT ?",
		DB_ARGS(DB_INT(id), DB_INT(id), DB_INT(max)), &r);

	*n = 0;
	while (rc == DB_OK && *n < max && (rc = db_rows_next(r)) == 1) {
		struct refund_rec *f = &rs[(*n)++];
		memset(f, 0, sizeof(*f));
		f->id = db_rows_int(r, 0);
		f->payment_id = db_rows_int(r, 1);
		f->amount_fen = db_rows_int(r, 2);
		f->attempts = db_rows_int(r, 3);
		str_copy(f->out_refund_no, nz(db_rows_text(r, 4)), sizeof(f->out_refund_no));
		str_copy(f->kind, nz(db_rows_text(r, 5)), sizeof(f->kind));
		str_copy(f->state, nz(db_rows_text(r, 6)), sizeof(f->state));
		str_copy(f->reason, nz(db_rows_text(r, 7)), sizeof(f->reason));
		str_copy(f->provider, nz(db_rows_text(r, 8)), sizeof(f->provider));
		str_copy(f->out_trade_no, nz(db_rows_text(r, 9)), sizeof(f->out_trade_no));
		f->order_id = db_rows_int(r, 10);
		f->total_fen = db_rows_int(r, 11);
		str_copy(f->order_no, nz(db_rows_text(r, 12)), sizeof(f->order_no));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_refund_update(struct db_conn *c, int64_t id, const char *from, const char *to,
			const char *refund_id, const char *error)
{
	char now[TIMEFMT_LEN];
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE refunds SET state = ?, refund_id = COALESCE(?, refund_id), error = ?,"
			 " attempts = attempts + 1, done_at = CASE WHEN ? = 'done' THEN ? ELSE done_at END"
			 " WHERE id = ? AND state = ?",
			 DB_ARGS(DB_TEXT(to), DB_TEXT(refund_id), DB_TEXT(error), DB_TEXT(to),
				 DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(id), DB_TEXT(from)),
			 &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_payments_ledger(struct db_conn *c, const char *from, const char *to, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c,
		"SELECT o.order_no, g.name, g.uscc, p.provider, p.out_trade_no, p.trade_no, p.amount_fen,"
		" p.paid_at, p.credited, f.kind, f.state, f.amount_fen, f.done_at"
		" FROM payments p JOIN orders o ON o.id = p.order_id JOIN organisations g ON g.id ="
		" o.org_id LEFT JOIN refunds f ON f.payment_id = p.id"
		" WHERE p.state = 'paid' AND p.paid_at >= ? AND p.paid_at < ? ORDER BY p.paid_at, p.id",
		DB_ARGS(DB_TEXT(from), DB_TEXT(to)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b}", "order_no",
				      db_rows_text(r, 0), "unit_name", db_rows_text(r, 1), "uscc",
				      db_rows_text(r, 2), "provider", db_rows_text(r, 3), "out_trade_no",
				      db_rows_text(r, 4), "trade_no", nz(db_rows_text(r, 5)), "amount_fen",
				      (json_int_t)db_rows_int(r, 6), "paid_at", db_rows_text(r, 7),
				      "credited", (int)db_rows_int(r, 8));
		if (db_rows_text(r, 9) != NULL) {
			json_t *f =
				json_pack("{s:s, s:s, s:I}", "kind", db_rows_text(r, 9), "state",
					  db_rows_text(r, 10), "amount_fen", (json_int_t)db_rows_int(r, 11));
			if (db_rows_text(r, 12) != NULL)
				json_object_set_new(f, "done_at", json_string(db_rows_text(r, 12)));
			json_object_set_new(j, "refund", f);
		}
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_refund_retry(struct db_conn *c, int64_t order_id, const char *order_no, const struct actor *a,
		       int64_t *id)
{
	struct db_rows *r = NULL;
	char no[80] = "";
	int rc = db_query(c,
			  "SELECT f.id, p.out_trade_no, f.attempts FROM refunds f JOIN payments p ON p.id ="
			  " f.payment_id WHERE p.order_id = ? AND f.state = 'failed' ORDER BY f.id LIMIT 1",
			  DB_ARGS(DB_INT(order_id)), &r);

	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		*id = db_rows_int(r, 0);
		/* a new request number: the provider answers a repeated one with the same refusal */
		snprintf(no, sizeof(no), "%sR%lld", db_rows_text(r, 1), (long long)db_rows_int(r, 2) + 1);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_NOTFOUND;
	}
	db_rows_free(r);
	if (rc == DB_OK)
		rc = db_exec(
			c,
			"UPDATE refunds SET state = 'requested', error = NULL, out_refund_no = ? WHERE id = ?"
			" AND state = 'failed'",
			DB_ARGS(DB_TEXT(no), DB_INT(*id)), NULL);
	if (rc == DB_OK)
		rc = store_audit_order(
			c, a, "payment.refund_retry", order_no,
			json_pack("{s:I, s:s}", "refund_id", (json_int_t)*id, "out_refund_no", no));
	return rc;
}

int store_alerts_json(struct db_conn *c, const char *since, json_t **out)
{
	int64_t refunds = 0, suspect = 0, messages = 0;
	int rc = db_query_int(c, "SELECT COUNT(*) FROM refunds WHERE state = 'failed'", NULL, 0, &refunds);

	if (rc == DB_OK)
		rc = db_query_int(c,
				  "SELECT COUNT(*) FROM payment_events WHERE verdict IN ('forged', "
				  "'mismatch') AND at >= ?",
				  DB_ARGS(DB_TEXT(since)), &suspect);
	if (rc == DB_OK)
		rc = db_query_int(c, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND created_at >= ?",
				  DB_ARGS(DB_TEXT(since)), &messages);
	*out = rc == DB_OK ? json_pack("{s:I, s:I, s:I}", "refunds_failed", (json_int_t)refunds,
				       "payment_reports_suspect", (json_int_t)suspect, "messages_failed",
				       (json_int_t)messages)
			   : NULL;
	return rc;
}
