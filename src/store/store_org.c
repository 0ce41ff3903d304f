#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pii.h"
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

/* locked_until: the end of the latest lockout of its logins, from any address (login_attempts). */
#define ORG_COLUMNS                                                                                          \
	"id, uscc, name, handler_name, handler_mobile, password_hash, uscc_status,"                          \
	" (SELECT MAX(a.period_ends) FROM login_attempts a WHERE a.account = 'org:' || organisations.uscc"   \
	" AND a.attempts >= a.max_attempts), created_at"

/* Copies the current row (ORG_COLUMNS) into o. */
static void org_from_row(struct db_rows *r, struct org_rec *o)
{
	o->id = db_rows_int(r, 0);
	str_copy(o->uscc, db_rows_text(r, 1), sizeof(o->uscc));
	str_copy(o->name, db_rows_text(r, 2), sizeof(o->name));
	str_copy(o->handler_name, db_rows_text(r, 3), sizeof(o->handler_name));
	pii_open(db_rows_text(r, 4), o->handler_mobile, sizeof(o->handler_mobile)); /* sealed at rest */
	str_copy(o->password_hash, db_rows_text(r, 5), sizeof(o->password_hash));
	str_copy(o->uscc_status, db_rows_text(r, 6), sizeof(o->uscc_status));
	str_copy(o->locked_until, db_rows_text(r, 7), sizeof(o->locked_until));
	str_copy(o->created_at, db_rows_text(r, 8), sizeof(o->created_at));
}

/* Loads one organisation by a query with one argument. */
static int org_get(struct db_conn *c, const char *sql, struct db_val arg, struct org_rec *o)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, sql, &arg, 1, &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1)
		org_from_row(r, o);
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

int store_org_get(struct db_conn *c, const char *uscc, struct org_rec *o)
{
	return org_get(c, "SELECT " ORG_COLUMNS " FROM organisations WHERE uscc = ?", DB_TEXT(uscc), o);
}

int store_org_get_id(struct db_conn *c, int64_t id, struct org_rec *o)
{
	return org_get(c, "SELECT " ORG_COLUMNS " FROM organisations WHERE id = ?", DB_INT(id), o);
}

/* Appends an audit entry about organisation uscc with a detail object (stolen). */
static int audit_org(struct db_conn *c, const struct actor *a, const char *action, const char *uscc,
		     json_t *detail)
{
	char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = store_audit_append(c, a, action, "organisation", uscc, text);

	free(text);
	json_decref(detail);
	return rc;
}

/* Returns the empty string as SQL NULL (no keyed hash without a key). */
static struct db_val hash_val(const char *hash)
{
	return DB_TEXT(hash[0] != '\0' ? hash : NULL);
}

static int org_create_steps(struct db_conn *c, const struct org_rec *o, const struct actor *a, int64_t *id)
{
	char now[TIMEFMT_LEN], sealed[PII_SEALED_MAX], hash[PII_HASH_LEN + 1], masked[16];
	int rc = pii_store_value(o->handler_mobile, sealed, sizeof(sealed), hash) == 0 ? DB_OK : DB_ERROR;

	if (rc == DB_OK)
		rc = db_query_int(c,
				  "INSERT INTO organisations (uscc, name, handler_name, handler_mobile,"
				  " handler_mobile_hash, password_hash, uscc_status, created_at, updated_at)"
				  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
				  DB_ARGS(DB_TEXT(o->uscc), DB_TEXT(o->name), DB_TEXT(o->handler_name),
					  DB_TEXT(sealed), hash_val(hash), DB_TEXT(o->password_hash),
					  DB_TEXT(o->uscc_status), DB_TEXT(timefmt_rfc3339(time(NULL), now)),
					  DB_TEXT(now)),
				  id);
	if (rc != DB_OK)
		return rc;
	pii_mask_mobile(o->handler_mobile, masked, sizeof(masked));
	return audit_org(c, a, "organisation.register", o->uscc,
			 json_pack("{s:s, s:s, s:s, s:s}", "name", o->name, "handler_name", o->handler_name,
				   "handler_mobile", masked, "uscc_status", o->uscc_status));
}

/* Ends the lockouts of the organisation's logins and password changes, from every address. */
static int org_clear_locks(struct db_conn *c, const char *uscc)
{
	char account[STORE_LOGIN_ACCOUNT_LEN];
	int rc = store_login_clear(c, store_login_account(account, "org", uscc));

	return rc == DB_OK ? store_login_clear(c, store_login_account(account, "password:org", uscc)) : rc;
}

/* Runs an UPDATE of one organisation row with the time stamp as the last argument but one. */
static int org_update(struct db_conn *c, const char *sql, const struct db_val *args, int nargs)
{
	int64_t changes = 0;
	int rc = db_exec(c, sql, args, nargs, &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

static int org_set_password_steps(struct db_conn *c, int64_t id, const char *hash, const char *action,
				  const struct actor *a)
{
	struct org_rec o = {0};
	char now[TIMEFMT_LEN];
	int rc = store_org_get_id(c, id, &o);

	if (rc == DB_OK)
		rc = org_update(
			c, "UPDATE organisations SET password_hash = ?, updated_at = ? WHERE id = ?",
			DB_ARGS(DB_TEXT(hash), DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(id)));
	/* Whoever sets a new password (the owner by SMS code, or logged in) is let in everywhere. */
	if (rc == DB_OK)
		rc = org_clear_locks(c, o.uscc);
	return rc == DB_OK ? audit_org(c, a, action, o.uscc, json_object()) : rc;
}

static int org_set_handler_steps(struct db_conn *c, int64_t id, const char *name, const char *mobile,
				 const char *action, const struct actor *a)
{
	struct org_rec o = {0};
	char now[TIMEFMT_LEN], sealed[PII_SEALED_MAX], hash[PII_HASH_LEN + 1], old_m[16], new_m[16];
	int rc = store_org_get_id(c, id, &o);

	if (rc == DB_OK && pii_store_value(mobile, sealed, sizeof(sealed), hash) != 0)
		rc = DB_ERROR;
	if (rc == DB_OK)
		rc = org_update(c,
				"UPDATE organisations SET handler_name = ?, handler_mobile = ?,"
				" handler_mobile_hash = ?, updated_at = ? WHERE id = ?",
				DB_ARGS(DB_TEXT(name), DB_TEXT(sealed), hash_val(hash),
					DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(id)));
	if (rc != DB_OK)
		return rc;
	pii_mask_mobile(o.handler_mobile, old_m, sizeof(old_m));
	pii_mask_mobile(mobile, new_m, sizeof(new_m));
	return audit_org(c, a, action, o.uscc,
			 json_pack("{s:s, s:s, s:s, s:s}", "old_name", o.handler_name, "old_mobile", old_m,
				   "new_name", name, "new_mobile", new_m));
}

static int org_rename_steps(struct db_conn *c, int64_t id, const char *name, const struct actor *a)
{
	struct org_rec o = {0};
	char now[TIMEFMT_LEN];
	int rc = store_org_get_id(c, id, &o);

	if (rc == DB_OK)
		rc = org_update(
			c, "UPDATE organisations SET name = ?, updated_at = ? WHERE id = ?",
			DB_ARGS(DB_TEXT(name), DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(id)));
	if (rc != DB_OK)
		return rc;
	return audit_org(c, a, "organisation.rename", o.uscc,
			 json_pack("{s:s, s:s}", "old_name", o.name, "new_name", name));
}

static int org_confirm_uscc_steps(struct db_conn *c, int64_t id, const struct actor *a)
{
	struct org_rec o = {0};
	int rc = store_org_get_id(c, id, &o);

	if (rc == DB_OK)
		rc = org_update(c,
				"UPDATE organisations SET uscc_status = 'confirmed' WHERE id = ? AND "
				"uscc_status = 'pending_review'",
				DB_ARGS(DB_INT(id)));
	return rc == DB_OK ? audit_org(c, a, "organisation.confirm_uscc", o.uscc, json_object()) : rc;
}

static int org_unlock_steps(struct db_conn *c, int64_t id, const struct actor *a)
{
	struct org_rec o = {0};
	int rc = store_org_get_id(c, id, &o);

	if (rc == DB_OK)
		rc = org_clear_locks(c, o.uscc);
	return rc == DB_OK ? audit_org(c, a, "organisation.unlock", o.uscc, json_object()) : rc;
}

json_t *store_org_json(const struct org_rec *o)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "uscc", o->uscc, "name", o->name,
			      "handler_name", o->handler_name, "handler_mobile", o->handler_mobile,
			      "uscc_status", o->uscc_status, "created_at", o->created_at);

	if (o->locked_until[0] != '\0')
		json_object_set_new(j, "locked_until", json_string(o->locked_until));
	return j;
}

int store_org_search(struct db_conn *c, const char *q, int limit, int64_t before, json_t **items)
{
	struct db_rows *r = NULL;
	char *like, hash[PII_HASH_LEN + 1] = "";
	int rc;

	*items = json_array();
	like = store_like_pattern(q);
	if (q != NULL) /* the mobile is sealed: found by its keyed hash, whole numbers only */
		pii_hash(q, hash);
	rc = db_query(
		c,
		"SELECT " ORG_COLUMNS " FROM organisations WHERE (? = 0 OR id < ?) AND (CAST(? AS TEXT) IS "
		"NULL OR uscc LIKE ? ESCAPE '\\'"
		" OR name LIKE ? ESCAPE '\\' OR handler_mobile_hash = ?) ORDER BY id DESC LIMIT ?",
		DB_ARGS(DB_INT(before), DB_INT(before), DB_TEXT(like), DB_TEXT(like), DB_TEXT(like),
			hash_val(hash), DB_INT(limit)),
		&r);
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		struct org_rec o = {0};
		org_from_row(r, &o);
		pii_mask_mobile(o.handler_mobile, o.handler_mobile, sizeof(o.handler_mobile)); /* a list */
		json_t *j = store_org_json(&o);
		json_object_set_new(j, "id", json_integer(o.id));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	free(like);
	return rc < 0 ? rc : DB_OK;
}

/* The steps above change several rows: all or none. */
int store_org_create(struct db_conn *c, const struct org_rec *o, const struct actor *a, int64_t *id)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, org_create_steps(c, o, a, id));
}

/* The steps above change several rows: all or none. */
int store_org_set_password(struct db_conn *c, int64_t id, const char *hash, const char *action,
			   const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, org_set_password_steps(c, id, hash, action, a));
}

/* The steps above change several rows: all or none. */
int store_org_set_handler(struct db_conn *c, int64_t id, const char *name, const char *mobile,
			  const char *action, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, org_set_handler_steps(c, id, name, mobile, action, a));
}

/* The steps above change several rows: all or none. */
int store_org_rename(struct db_conn *c, int64_t id, const char *name, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, org_rename_steps(c, id, name, a));
}

/* The steps above change several rows: all or none. */
int store_org_confirm_uscc(struct db_conn *c, int64_t id, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, org_confirm_uscc_steps(c, id, a));
}

/* The steps above change several rows: all or none. */
int store_org_unlock(struct db_conn *c, int64_t id, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, org_unlock_steps(c, id, a));
}

char *store_like_pattern(const char *q)
{
	size_t n;
	char *like, *p;

	if (q == NULL || q[0] == '\0')
		return NULL;
	/* LIKE wildcards in the query are matched literally (ESCAPE '\\'). */
	n = strlen(q);
	like = calloc(1, n * 2 + 3);
	p = like;
	*p++ = '%';
	for (size_t i = 0; i < n; i++) {
		if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
			*p++ = '\\';
		*p++ = q[i];
	}
	*p = '%';
	return like;
}
