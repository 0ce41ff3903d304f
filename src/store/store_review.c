/* Pre-review in the database: claims, the queue, decisions, standard reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

int store_review_claim(struct db_conn *c, int64_t id, int64_t staff_id, char holder[164])
{
	char now[TIMEFMT_LEN], until[TIMEFMT_LEN], *name = NULL;
	time_t t = time(NULL);
	int64_t changes = 0;
	int rc;

	timefmt_rfc3339(t, now);
	timefmt_rfc3339(t + REVIEW_CLAIM_S, until);
	/* One conditional UPDATE: of two reviewers claiming at once, one wins. */
	rc = db_exec(c,
		     "UPDATE orders SET claimed_by = ?, claim_expires_at = ? WHERE id = ?"
		     " AND (claimed_by IS NULL OR claimed_by = ? OR claim_expires_at <= ?)",
		     DB_ARGS(DB_INT(staff_id), DB_TEXT(until), DB_INT(id), DB_INT(staff_id), DB_TEXT(now)),
		     &changes);
	if (rc != DB_OK || changes == 1)
		return rc;
	rc = db_query_text(
		c, "SELECT s.display_name FROM orders o JOIN staff s ON s.id = o.claimed_by WHERE o.id = ?",
		DB_ARGS(DB_INT(id)), &name);
	str_copy(holder, name, 164);
	free(name);
	return rc == DB_OK ? DB_CONFLICT : rc;
}

int store_review_holds(struct db_conn *c, int64_t id, int64_t staff_id)
{
	char now[TIMEFMT_LEN];
	int64_t n = 0;

	return db_query_int(
		       c,
		       "SELECT COUNT(*) FROM orders WHERE id = ? AND claimed_by = ? AND claim_expires_at > ?",
		       DB_ARGS(DB_INT(id), DB_INT(staff_id), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		       &n) == DB_OK &&
	       n == 1;
}

int store_review_queue(struct db_conn *c, json_t **items)
{
	char now[TIMEFMT_LEN];
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT o.order_no, g.name, g.uscc, o.key_type, o.submitted_at, s.display_name, "
			  "o.claim_expires_at,"
			  " (SELECT COUNT(*) FROM documents d WHERE d.order_id = o.id AND d.is_current = 1 "
			  "AND d.checks <> '{}')"
			  " FROM orders o JOIN organisations g ON g.id = o.org_id LEFT JOIN staff s ON s.id "
			  "= o.claimed_by"
			  " WHERE o.state = 'submitted' ORDER BY o.submitted_at, o.id LIMIT 500",
			  DB_NOARGS, &r);

	timefmt_rfc3339(time(NULL), now);
	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "order_no", db_rows_text(r, 0),
				      "unit_name", db_rows_text(r, 1), "uscc", db_rows_text(r, 2), "key_type",
				      db_rows_text(r, 3), "submitted_at",
				      db_rows_text(r, 4) ? db_rows_text(r, 4) : "", "flagged_documents",
				      (json_int_t)db_rows_int(r, 7));
		/* a claim counts only while it lasts */
		if (db_rows_text(r, 5) != NULL && db_rows_text(r, 6) != NULL &&
		    strcmp(db_rows_text(r, 6), now) > 0) {
			json_object_set_new(j, "claimed_by", json_string(db_rows_text(r, 5)));
			json_object_set_new(j, "claim_expires_at", json_string(db_rows_text(r, 6)));
		}
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_review_record(struct db_conn *c, int64_t id, int64_t staff_id, const char *decision,
			const char *detail, int64_t *review_id)
{
	char now[TIMEFMT_LEN];
	int rc = db_query_int(c,
			      "INSERT INTO reviews (order_id, staff_id, decision, detail, created_at) VALUES "
			      "(?, ?, ?, ?, ?)"
			      " RETURNING id",
			      DB_ARGS(DB_INT(id), DB_INT(staff_id), DB_TEXT(decision), DB_TEXT(detail),
				      DB_TEXT(timefmt_rfc3339(time(NULL), now))),
			      review_id);

	if (rc == DB_OK)
		rc = db_exec(c, "UPDATE orders SET claimed_by = NULL, claim_expires_at = NULL WHERE id = ?",
			     DB_ARGS(DB_INT(id)), NULL);
	return rc;
}

int store_documents_accept_all(struct db_conn *c, int64_t order_id)
{
	return db_exec(c,
		       "UPDATE documents SET review = 'accepted', review_reason = NULL WHERE order_id = ? "
		       "AND is_current = 1",
		       DB_ARGS(DB_INT(order_id)), NULL);
}

int store_document_review(struct db_conn *c, int64_t order_id, const char *kind, const char *review,
			  const char *reason)
{
	int64_t changes = 0;
	int rc;

	/* a missing reason would leave a rejection without its why: refused rather than written */
	if (kind == NULL || review == NULL || (strcmp(review, "rejected") == 0 && reason == NULL))
		return DB_ERROR;
	rc = db_exec(c,
		     "UPDATE documents SET review = ?, review_reason = ? WHERE order_id = ? AND kind = ? "
		     "AND is_current = 1",
		     DB_ARGS(DB_TEXT(review), DB_TEXT(reason), DB_INT(order_id), DB_TEXT(kind)), &changes);
	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_review_reasons(struct db_conn *c, int all, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c, "SELECT id, text, active FROM review_reasons WHERE (? = 1 OR active = 1) ORDER BY id",
		DB_ARGS(DB_INT(all)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(
			*items, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)db_rows_int(r, 0), "text",
					  db_rows_text(r, 1), "active", (int)db_rows_int(r, 2)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

static int reason_add_steps(struct db_conn *c, const char *text, const struct actor *a)
{
	char now[TIMEFMT_LEN];
	int rc = db_exec(c, "INSERT INTO review_reasons (text, created_at) VALUES (?, ?)",
			 DB_ARGS(DB_TEXT(text), DB_TEXT(timefmt_rfc3339(time(NULL), now))), NULL);
	json_t *j;
	char *detail;

	if (rc != DB_OK)
		return rc;
	j = json_pack("{s:s}", "text", text);
	detail = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = store_audit_append(c, a, "review_reason.add", "review_reason", text, detail);
	free(detail);
	return rc;
}

int store_review_reason_add(struct db_conn *c, const char *text, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, reason_add_steps(c, text, a));
}

static int reason_retire_steps(struct db_conn *c, int64_t id, const struct actor *a)
{
	char object[24];
	int64_t changes = 0;
	int rc = db_exec(c, "UPDATE review_reasons SET active = 0 WHERE id = ? AND active = 1",
			 DB_ARGS(DB_INT(id)), &changes);

	if (rc != DB_OK)
		return rc;
	if (changes != 1)
		return DB_NOTFOUND;
	snprintf(object, sizeof(object), "%lld", (long long)id);
	return store_audit_append(c, a, "review_reason.retire", "review_reason", object, NULL);
}

int store_review_reason_retire(struct db_conn *c, int64_t id, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, reason_retire_steps(c, id, a));
}
