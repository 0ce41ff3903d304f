/* Orders in the database: numbering, the one-main-key rule, form data, state changes with history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/order_fsm.h"
#include "store/pii.h"
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

/* Returns the Beijing (UTC+8, no daylight saving) date of t as YYYYMMDD. */
static int beijing_day(time_t t)
{
	struct tm tm;

	t += 8 * 3600;
	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Adds a history entry. */
static int history(struct db_conn *c, int64_t id, const char *event, const char *from, const char *to,
		   const char *note, const struct actor *a)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
		       "INSERT INTO order_events (order_id, event, from_state, to_state, actor_kind, "
		       "actor_id, note, at)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		       DB_ARGS(DB_INT(id), DB_TEXT(event), DB_TEXT(from), DB_TEXT(to), DB_TEXT(a->kind),
			       DB_TEXT(a->id), DB_TEXT(note), DB_TEXT(timefmt_now_ms(now))),
		       NULL);
}

static int create_steps(struct db_conn *c, struct order_rec *o, const char *prefix, const struct actor *a)
{
	char now[TIMEFMT_LEN], hash[PII_HASH_LEN + 1], *form = NULL;
	time_t t = time(NULL);
	int64_t seq = 0, held = 0;
	int day = beijing_day(t), rc;

	/* Taking the organisation's row first serialises its orders (PostgreSQL row lock; SQLite's
	 * transactions are serial anyway), so the held-key check below cannot race. */
	rc = db_exec(c, "UPDATE organisations SET updated_at = updated_at WHERE id = ?",
		     DB_ARGS(DB_INT(o->org_id)), NULL);
	if (rc == DB_OK && strcmp(o->key_type, "main") == 0)
		rc = db_query_int(c,
				  "SELECT COUNT(*) FROM held_main_keys WHERE org_id = ? AND project_id = ?",
				  DB_ARGS(DB_INT(o->org_id), DB_INT(o->project_id)), &held);
	if (rc != DB_OK)
		return rc;
	if (held > 0)
		return DB_CONFLICT;
	rc = db_query_int(c,
			  "INSERT INTO order_counters (project_id, day, last_seq) VALUES (?, ?, 1) ON "
			  "CONFLICT (project_id, day)"
			  " DO UPDATE SET last_seq = order_counters.last_seq + 1 RETURNING last_seq",
			  DB_ARGS(DB_INT(o->project_id), DB_INT(day)), &seq);
	if (rc != DB_OK)
		return rc;
	snprintf(o->order_no, sizeof(o->order_no), "%s%08d-%06lld", prefix, day, (long long)seq);
	snprintf(o->state, sizeof(o->state), "draft");
	timefmt_rfc3339(t, now);
	form = pii_form_seal(o->form, hash); /* ID numbers and mobiles sealed at rest */
	rc = db_query_int(c,
			  "INSERT INTO orders (order_no, org_id, project_id, key_type, state, price_fen, "
			  "form, handler_mobile_hash, verify_token,"
			  " created_at, updated_at) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?) RETURNING id",
			  DB_ARGS(DB_TEXT(o->order_no), DB_INT(o->org_id), DB_INT(o->project_id),
				  DB_TEXT(o->key_type), DB_INT(o->price_fen), DB_TEXT(form),
				  DB_TEXT(hash[0] != '\0' ? hash : NULL), DB_TEXT(o->verify_token), DB_TEXT(now),
				  DB_TEXT(now)),
			  &o->id);
	free(form);
	if (rc == DB_OK)
		rc = history(c, o->id, "create", "", "draft", NULL, a);
	if (rc == DB_OK)
		rc = store_audit_order(c, a, "order.create", o->order_no,
				       json_pack("{s:s, s:I}", "key_type", o->key_type, "price_fen",
						 (json_int_t)o->price_fen));
	return rc;
}

int store_order_create(struct db_conn *c, struct order_rec *o, const char *prefix, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, create_steps(c, o, prefix, a));
}

#define ORDER_COLUMNS                                                                                        \
	"o.id, o.org_id, o.project_id, o.price_fen, o.form_version, o.order_no, o.key_type, o.state, "       \
	"o.verify_token,"                                                                                    \
	" o.created_at, o.updated_at, o.submitted_at, p.code, p.name, o.form"

int store_order_get(struct db_conn *c, const char *order_no, struct order_rec *o)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT " ORDER_COLUMNS
			  " FROM orders o JOIN projects p ON p.id = o.project_id WHERE o.order_no = ?",
			  DB_ARGS(DB_TEXT(order_no)), &r);

	memset(o, 0, sizeof(*o));
	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		o->id = db_rows_int(r, 0);
		o->org_id = db_rows_int(r, 1);
		o->project_id = db_rows_int(r, 2);
		o->price_fen = db_rows_int(r, 3);
		o->form_version = db_rows_int(r, 4);
		str_copy(o->order_no, db_rows_text(r, 5), sizeof(o->order_no));
		str_copy(o->key_type, db_rows_text(r, 6), sizeof(o->key_type));
		str_copy(o->state, db_rows_text(r, 7), sizeof(o->state));
		str_copy(o->verify_token, db_rows_text(r, 8), sizeof(o->verify_token));
		str_copy(o->created_at, db_rows_text(r, 9), sizeof(o->created_at));
		str_copy(o->updated_at, db_rows_text(r, 10), sizeof(o->updated_at));
		str_copy(o->submitted_at, db_rows_text(r, 11), sizeof(o->submitted_at));
		str_copy(o->project_code, db_rows_text(r, 12), sizeof(o->project_code));
		str_copy(o->project_name, db_rows_text(r, 13), sizeof(o->project_name));
		o->form = pii_form_open(db_rows_text(r, 14)); /* the API sees clear text */
	}
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

int store_order_get_by_token(struct db_conn *c, const char *token, struct order_rec *o)
{
	char *no = NULL;
	int rc = db_query_text(c, "SELECT order_no FROM orders WHERE verify_token = ? AND state <> 'deleted'",
			       DB_ARGS(DB_TEXT(token)), &no);

	memset(o, 0, sizeof(*o));
	if (rc == DB_OK)
		rc = store_order_get(c, no, o);
	free(no);
	return rc;
}

void store_order_free(struct order_rec *o)
{
	free(o->form);
	o->form = NULL;
}

int store_order_list(struct db_conn *c, int64_t org_id, const char *state, const char *q, int limit,
		     int64_t before, json_t **items)
{
	struct db_rows *r = NULL;
	char *like = store_like_pattern(q);
	char mobile[PII_HASH_LEN + 1] = "";
	int rc;

	if (q != NULL) /* the mobiles are sealed: found by their keyed hash, whole numbers only */
		pii_hash(q, mobile);
	rc = db_query(
		c,
		"SELECT o.id, o.order_no, o.key_type, o.state, o.price_fen, o.created_at, o.updated_at, "
		"o.submitted_at,"
		" p.code, p.name, g.uscc, g.name, k.name, o.kind FROM orders o JOIN projects p ON p.id = o.project_id"
		" JOIN organisations g ON g.id = o.org_id"
		" JOIN project_key_types k ON k.project_id = o.project_id AND k.key_type = o.key_type"
		" WHERE (? = 0 OR o.org_id = ?) AND (CAST(? AS TEXT) IS NULL OR o.state = ?)"
		" AND (CAST(? AS TEXT) IS NULL OR o.order_no LIKE ? ESCAPE '\\' OR g.uscc LIKE ? ESCAPE '\\'"
		" OR g.name LIKE ? ESCAPE '\\' OR g.handler_mobile_hash = ? OR o.handler_mobile_hash = ?"
		" OR EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id"
		" AND UPPER(s.tracking_no) LIKE UPPER(?) ESCAPE '\\'))"
		" AND (? = 0 OR o.id < ?) ORDER BY o.id DESC LIMIT ?",
		DB_ARGS(DB_INT(org_id), DB_INT(org_id), DB_TEXT(state), DB_TEXT(state), DB_TEXT(like),
			DB_TEXT(like), DB_TEXT(like), DB_TEXT(like), DB_TEXT(mobile[0] != '\0' ? mobile : NULL),
			DB_TEXT(mobile[0] != '\0' ? mobile : NULL), DB_TEXT(like), DB_INT(before), DB_INT(before),
			DB_INT(limit)),
		&r);
	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j =
			json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
				  (json_int_t)db_rows_int(r, 0), "order_no", db_rows_text(r, 1), "key_type",
				  db_rows_text(r, 2), "state", db_rows_text(r, 3), "price_fen",
				  (json_int_t)db_rows_int(r, 4), "created_at", db_rows_text(r, 5),
				  "updated_at", db_rows_text(r, 6), "project_code", db_rows_text(r, 8),
				  "project_name", db_rows_text(r, 9), "uscc", db_rows_text(r, 10),
				  "unit_name", db_rows_text(r, 11), "key_type_label", db_rows_text(r, 12));
		if (db_rows_text(r, 7) != NULL)
			json_object_set_new(j, "submitted_at", json_string(db_rows_text(r, 7)));
		json_object_set_new(j, "kind", json_string(db_rows_text(r, 13))); /* new, renewal, imported */
		json_object_set_new(
			j, "state_label",
			json_string(order_state_label(order_state_from_name(db_rows_text(r, 3)))));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	free(like);
	return rc < 0 ? rc : DB_OK;
}

static int set_form_steps(struct db_conn *c, int64_t id, const char *state, const char *form,
			  const char *new_token, const struct actor *a)
{
	char now[TIMEFMT_LEN], *no = NULL, hash[PII_HASH_LEN + 1], *sealed = pii_form_seal(form, hash);
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE orders SET form = ?, handler_mobile_hash = ?, form_version = form_version + 1,"
			 " verify_token = COALESCE(?, verify_token),"
			 " updated_at = ? WHERE id = ? AND state = ?",
			 DB_ARGS(DB_TEXT(sealed), DB_TEXT(hash[0] != '\0' ? hash : NULL), DB_TEXT(new_token),
				 DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(id), DB_TEXT(state)),
			 &changes);

	free(sealed);

	if (rc != DB_OK)
		return rc;
	if (changes != 1)
		return DB_NOTFOUND;
	rc = db_query_text(c, "SELECT order_no FROM orders WHERE id = ?", DB_ARGS(DB_INT(id)), &no);
	if (rc == DB_OK)
		rc = history(c, id, "edit", state, state,
			     new_token != NULL ? "法定代表人信息已修改，原授权委托书和法人核验作废" : NULL,
			     a);
	if (rc == DB_OK)
		rc = store_audit_order(c, a, "order.edit", no,
				       json_pack("{s:b}", "verification_voided", new_token != NULL));
	free(no);
	return rc;
}

int store_order_set_form(struct db_conn *c, int64_t id, const char *state, const char *form,
			 const char *new_token, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, set_form_steps(c, id, state, form, new_token, a));
}

static int transition_steps(struct db_conn *c, int64_t id, const char *from, const char *to,
			    const char *event, const char *note, const struct actor *a)
{
	char now[TIMEFMT_LEN], action[64], *no = NULL;
	int64_t changes = 0;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	/* "WHERE state = from" makes the change conditional: of two racing actors one wins. */
	rc = db_exec(c,
		     "UPDATE orders SET state = ?, updated_at = ?,"
		     " submitted_at = CASE WHEN ? = 'submitted' THEN ? ELSE submitted_at END WHERE id = ? "
		     "AND state = ?",
		     DB_ARGS(DB_TEXT(to), DB_TEXT(now), DB_TEXT(to), DB_TEXT(now), DB_INT(id), DB_TEXT(from)),
		     &changes);
	if (rc != DB_OK)
		return rc;
	if (changes != 1)
		return DB_NOTFOUND;
	rc = history(c, id, event, from, to, note, a);
	if (rc == DB_OK)
		rc = db_query_text(c, "SELECT order_no FROM orders WHERE id = ?", DB_ARGS(DB_INT(id)), &no);
	snprintf(action, sizeof(action), "order.%s", event);
	if (rc == DB_OK)
		rc = store_audit_order(
			c, a, action, no,
			note ? json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "note", note)
			     : json_pack("{s:s, s:s}", "from", from, "to", to));
	free(no);
	return rc;
}

int store_order_transition(struct db_conn *c, int64_t id, const char *from, const char *to, const char *event,
			   const char *note, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, transition_steps(c, id, from, to, event, note, a));
}

int store_order_history(struct db_conn *c, int64_t id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT event, from_state, to_state, actor_kind, note, at FROM order_events WHERE "
			  "order_id = ?"
			  " ORDER BY id",
			  DB_ARGS(DB_INT(id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", db_rows_text(r, 0), "from",
				      db_rows_text(r, 1), "to", db_rows_text(r, 2), "actor",
				      db_rows_text(r, 3), "at", db_rows_text(r, 5));
		if (db_rows_text(r, 4) != NULL)
			json_object_set_new(j, "note", json_string(db_rows_text(r, 4)));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}
