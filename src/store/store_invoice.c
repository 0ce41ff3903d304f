/* Invoices (发票): the files finance uploads for paid orders, the e-mail that carries each one, and
 * the queue of paid orders still waiting for theirs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define INVOICE_COLS                                                                                         \
	"id, order_id, sha256, media_type, size, file_name, uploaded_by, uploaded_at, email_to, outbox_id,"  \
	" sent_at"

/* Copies the current row (INVOICE_COLS) into v. */
static void from_row(struct db_rows *r, struct invoice_rec *v)
{
	memset(v, 0, sizeof(*v));
	v->id = db_rows_int(r, 0);
	v->order_id = db_rows_int(r, 1);
	str_copy(v->sha256, db_rows_text(r, 2), sizeof(v->sha256));
	str_copy(v->media_type, db_rows_text(r, 3), sizeof(v->media_type));
	v->size = db_rows_int(r, 4);
	str_copy(v->file_name, db_rows_text(r, 5), sizeof(v->file_name));
	v->uploaded_by = db_rows_int(r, 6);
	str_copy(v->uploaded_at, db_rows_text(r, 7), sizeof(v->uploaded_at));
	str_copy(v->email_to, db_rows_text(r, 8), sizeof(v->email_to));
	v->outbox_id = db_rows_text(r, 9) != NULL ? db_rows_int(r, 9) : 0;
	if (db_rows_text(r, 10) != NULL)
		str_copy(v->sent_at, db_rows_text(r, 10), sizeof(v->sent_at));
}

/* Runs a query for one invoice row into v. Returns DB_OK, DB_NOTFOUND or < 0. */
static int get_one(struct db_conn *c, const char *sql, int64_t key, struct invoice_rec *v)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, sql, DB_ARGS(DB_INT(key)), &r);

	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1)
			from_row(r, v);
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_invoice_current(struct db_conn *c, int64_t order_id, struct invoice_rec *v)
{
	return get_one(c, "SELECT " INVOICE_COLS " FROM invoices WHERE order_id = ? ORDER BY id DESC LIMIT 1",
		       order_id, v);
}

int store_invoice_get(struct db_conn *c, int64_t id, struct invoice_rec *v)
{
	return get_one(c, "SELECT " INVOICE_COLS " FROM invoices WHERE id = ?", id, v);
}

int store_invoice_create(struct db_conn *c, struct invoice_rec *v, const char *order_no,
			 const char *outbox_state, const struct actor *a)
{
	char now[TIMEFMT_LEN], key[64], *params;
	json_t *p;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	str_copy(v->uploaded_at, now, sizeof(v->uploaded_at));
	rc = db_query_int(c,
			  "INSERT INTO invoices (order_id, sha256, media_type, size, file_name, uploaded_by,"
			  " uploaded_at, email_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
			  DB_ARGS(DB_INT(v->order_id), DB_TEXT(v->sha256), DB_TEXT(v->media_type),
				  DB_INT(v->size), DB_TEXT(v->file_name), DB_INT(v->uploaded_by),
				  DB_TEXT(now), DB_TEXT(v->email_to)),
			  &v->id);
	if (rc != DB_OK)
		return rc;
	snprintf(key, sizeof(key), "invoice:%lld", (long long)v->id);
	p = json_pack("{s:s, s:I}", "order_no", order_no, "invoice_id", (json_int_t)v->id);
	params = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	rc = store_outbox_add(c, "email", v->email_to, "invoice", params, key, outbox_state);
	free(params);
	if (rc == DB_OK)
		rc = db_exec(c,
			     "UPDATE invoices SET outbox_id = (SELECT id FROM outbox WHERE dedupe_key = ?)"
			     " WHERE id = ?",
			     DB_ARGS(DB_TEXT(key), DB_INT(v->id)), NULL);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "invoice.upload", order_no,
				 json_pack("{s:I, s:s, s:s, s:I}", "invoice_id", (json_int_t)v->id, "sha256",
					   v->sha256, "media_type", v->media_type, "size",
					   (json_int_t)v->size));
}

int store_invoice_mark_sent(struct db_conn *c, int64_t id, const char *now)
{
	return db_exec(c, "UPDATE invoices SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
		       DB_ARGS(DB_TEXT(now), DB_INT(id)), NULL);
}

int store_invoice_queue(struct db_conn *c, json_t **items)
{
	struct db_rows *r = NULL;
	/* Paid orders: "since" is when the order entered awaiting_paper (the payment's credit; also for
	 * orders moved there by hand before payments existed), or else its submission time. */
	int rc = db_query(
		c,
		"SELECT o.order_no, g.name, g.uscc, o.key_type, o.state, o.price_fen, o.form,"
		" COALESCE((SELECT MIN(e.at) FROM order_events e WHERE e.order_id = o.id"
		" AND e.to_state IN ('awaiting_paper', 'paid')), o.submitted_at, o.created_at) AS since"
		" FROM orders o JOIN organisations g ON g.id = o.org_id"
		" WHERE o.state IN ('awaiting_paper', 'paper_sent', 'paper_rejected', 'producing', "
		"'produced',"
		" 'shipped', 'completed', 'paid', 'issued') AND o.kind <> 'imported' AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id)"
		" ORDER BY 8, o.id LIMIT 500",
		NULL, 0, &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *form = json_loads(db_rows_text(r, 6), 0, NULL);
		const char *email = json_string_value(json_object_get(form, "invoice_email"));
		json_array_append_new(
			*items,
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "order_no", db_rows_text(r, 0),
				  "unit_name", db_rows_text(r, 1), "uscc", db_rows_text(r, 2), "key_type",
				  db_rows_text(r, 3), "state", db_rows_text(r, 4), "price_fen",
				  (json_int_t)db_rows_int(r, 5), "invoice_email", email ? email : "", "since",
				  db_rows_text(r, 7) ? db_rows_text(r, 7) : ""));
		json_decref(form);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}
