#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pii.h"
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

static int create_steps(struct db_conn *c, const struct mobile_req *m, const struct actor *a, int64_t *id)
{
	char now[TIMEFMT_LEN], idtext[24], *detail, sealed[PII_SEALED_MAX], masked[16];
	int64_t pending = 0;
	int rc = db_query_int(
		c, "SELECT COUNT(*) FROM mobile_change_requests WHERE org_id = ? AND state = 'pending'",
		DB_ARGS(DB_INT(m->org_id)), &pending);

	if (rc != DB_OK)
		return rc;
	if (pending > 0)
		return DB_CONFLICT;
	if (pii_store_value(m->new_mobile, sealed, sizeof(sealed), NULL) != 0)
		return DB_ERROR;
	rc = db_query_int(
		c,
		"INSERT INTO mobile_change_requests (org_id, new_handler_name, new_mobile, letter_sha256,"
		" letter_media_type, state, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?) RETURNING id",
		DB_ARGS(DB_INT(m->org_id), DB_TEXT(m->new_handler_name), DB_TEXT(sealed),
			DB_TEXT(m->letter_sha256), DB_TEXT(m->letter_media_type),
			DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		id);
	if (rc != DB_OK)
		return rc;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)*id);
	pii_mask_mobile(m->new_mobile, masked, sizeof(masked)); /* the audit log shows no whole mobile */
	json_t *j = json_pack("{s:s, s:s, s:s}", "new_handler_name", m->new_handler_name, "new_mobile",
			      masked, "letter_sha256", m->letter_sha256);
	detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	rc = store_audit_append(c, a, "mobile_request.create", "mobile_request", idtext, detail);
	free(detail);
	return rc;
}

int store_mobile_req_create(struct db_conn *c, const struct mobile_req *m, const struct actor *a, int64_t *id)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, create_steps(c, m, a, id));
}

#define REQ_COLUMNS "id, org_id, new_handler_name, new_mobile, letter_sha256, letter_media_type, state"

int store_mobile_req_get(struct db_conn *c, int64_t id, struct mobile_req *m)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT " REQ_COLUMNS " FROM mobile_change_requests WHERE id = ?",
			  DB_ARGS(DB_INT(id)), &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		m->id = db_rows_int(r, 0);
		m->org_id = db_rows_int(r, 1);
		str_copy(m->new_handler_name, db_rows_text(r, 2), sizeof(m->new_handler_name));
		pii_open(db_rows_text(r, 3), m->new_mobile, sizeof(m->new_mobile));
		str_copy(m->letter_sha256, db_rows_text(r, 4), sizeof(m->letter_sha256));
		str_copy(m->letter_media_type, db_rows_text(r, 5), sizeof(m->letter_media_type));
		str_copy(m->state, db_rows_text(r, 6), sizeof(m->state));
	}
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

int store_mobile_req_list(struct db_conn *c, int64_t org_id, const char *state, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT m.id, o.uscc, o.name, o.handler_name, o.handler_mobile, "
			  "m.new_handler_name, m.new_mobile,"
			  " m.state, m.reason, m.created_at, m.decided_at FROM mobile_change_requests m"
			  " JOIN organisations o ON o.id = m.org_id WHERE (? = 0 OR m.org_id = ?)"
			  " AND (CAST(? AS TEXT) IS NULL OR m.state = ?) ORDER BY m.id DESC LIMIT 200",
			  DB_ARGS(DB_INT(org_id), DB_INT(org_id), DB_TEXT(state), DB_TEXT(state)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		char old_m[PII_PLAIN_MAX + 1], new_m[PII_PLAIN_MAX + 1];
		pii_open(db_rows_text(r, 4), old_m, sizeof(old_m)); /* admin or the organisation itself */
		pii_open(db_rows_text(r, 6), new_m, sizeof(new_m));
		json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
				      (json_int_t)db_rows_int(r, 0), "uscc", db_rows_text(r, 1), "unit_name",
				      db_rows_text(r, 2), "old_handler_name", db_rows_text(r, 3),
				      "old_mobile", old_m, "new_handler_name",
				      db_rows_text(r, 5), "new_mobile", new_m, "state",
				      db_rows_text(r, 7), "created_at", db_rows_text(r, 9));
		if (db_rows_text(r, 8) != NULL)
			json_object_set_new(j, "reason", json_string(db_rows_text(r, 8)));
		if (db_rows_text(r, 10) != NULL)
			json_object_set_new(j, "decided_at", json_string(db_rows_text(r, 10)));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

static int decide_steps(struct db_conn *c, int64_t id, int approve, const char *reason, int64_t staff_id,
			const struct actor *a)
{
	struct mobile_req m;
	char now[TIMEFMT_LEN], idtext[24];
	int64_t changes = 0;
	int rc = store_mobile_req_get(c, id, &m);

	if (rc != DB_OK)
		return rc;
	rc = db_exec(c,
		     "UPDATE mobile_change_requests SET state = ?, reason = ?, decided_at = ?, decided_by = ?"
		     " WHERE id = ? AND state = 'pending'",
		     DB_ARGS(DB_TEXT(approve ? "approved" : "rejected"), DB_TEXT(reason),
			     DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(staff_id), DB_INT(id)),
		     &changes);
	if (rc != DB_OK)
		return rc;
	if (changes != 1)
		return DB_NOTFOUND;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	rc = store_audit_append(c, a, approve ? "mobile_request.approve" : "mobile_request.reject",
				"mobile_request", idtext, NULL);
	if (rc == DB_OK && approve)
		rc = store_org_set_handler(c, m.org_id, m.new_handler_name, m.new_mobile,
					   "organisation.mobile_change", a);
	return rc;
}

int store_mobile_req_decide(struct db_conn *c, int64_t id, int approve, const char *reason, int64_t staff_id,
			    const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, decide_steps(c, id, approve, reason, staff_id, a));
}
