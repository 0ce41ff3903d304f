#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

static int staff_create_steps(struct db_conn *c, const char *username, const char *display_name,
			      const char *password_hash, const char *roles, const struct actor *a,
			      int64_t *id)
{
	char now[TIMEFMT_LEN], idtext[24], *list = xstrdup(roles), *save = NULL, *detail;
	int rc;

	if (role_list_valid(roles) != 0) {
		free(list);
		return DB_ERROR;
	}
	timefmt_rfc3339(time(NULL), now);
	rc = db_query_int(c,
			  "INSERT INTO staff (username, display_name, password_hash, created_at, updated_at)"
			  " VALUES (?, ?, ?, ?, ?) RETURNING id",
			  DB_ARGS(DB_TEXT(username), DB_TEXT(display_name), DB_TEXT(password_hash),
				  DB_TEXT(now), DB_TEXT(now)),
			  id);
	for (char *r = strtok_r(list, ",", &save); rc == DB_OK && r != NULL; r = strtok_r(NULL, ",", &save)) {
		rc = db_exec(c, "INSERT INTO staff_roles (staff_id, role) VALUES (?, ?)",
			     DB_ARGS(DB_INT(*id), DB_TEXT(r)), NULL);
	}
	free(list);
	if (rc != DB_OK)
		return rc;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)*id);
	json_t *j = json_pack("{s:s, s:s}", "username", username, "roles", roles);
	detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	rc = store_audit_append(c, a, "staff.create", "staff", idtext, detail);
	free(detail);
	return rc;
}

int store_staff_get(struct db_conn *c, const char *username, int64_t id, struct staff_rec *s)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c,
		"SELECT s.id, s.username, s.display_name, s.password_hash, s.disabled, r.role FROM staff s"
		" LEFT JOIN staff_roles r ON r.staff_id = s.id WHERE s.username = ? OR s.id = ?",
		DB_ARGS(DB_TEXT(username), DB_INT(username != NULL ? -1 : id)), &r);

	if (rc != DB_OK)
		return rc;
	memset(s, 0, sizeof(*s));
	while ((rc = db_rows_next(r)) == 1) {
		int role = role_from_name(db_rows_text(r, 5));
		s->id = db_rows_int(r, 0);
		str_copy(s->username, db_rows_text(r, 1), sizeof(s->username));
		str_copy(s->display_name, db_rows_text(r, 2), sizeof(s->display_name));
		str_copy(s->password_hash, db_rows_text(r, 3), sizeof(s->password_hash));
		s->disabled = (int)db_rows_int(r, 4);
		if (role >= 0)
			s->roles |= 1u << role;
	}
	db_rows_free(r);
	return rc < 0 ? rc : s->id != 0 ? DB_OK : DB_NOTFOUND;
}

int store_staff_list(struct db_conn *c, json_t **items)
{
	struct db_rows *r = NULL;
	json_t *cur = NULL;
	int rc = db_query(
		c,
		"SELECT s.id, s.username, s.display_name, s.disabled, s.created_at, r.role,"
		" (SELECT MAX(a.period_ends) FROM login_attempts a WHERE a.account = 'staff:' || s.username"
		" AND a.attempts >= a.max_attempts) FROM staff s"
		" LEFT JOIN staff_roles r ON r.staff_id = s.id ORDER BY s.id, r.role",
		DB_NOARGS, &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_int_t id = db_rows_int(r, 0);
		if (cur == NULL || json_integer_value(json_object_get(cur, "id")) != id) {
			cur = json_pack("{s:I, s:s, s:s, s:b, s:s, s:[]}", "id", id, "username",
					db_rows_text(r, 1), "display_name", db_rows_text(r, 2), "disabled",
					(int)db_rows_int(r, 3), "created_at", db_rows_text(r, 4), "roles");
			json_array_append_new(*items, cur);
			/* the end of the latest lockout of its logins, from any address */
			if (db_rows_text(r, 6) != NULL && db_rows_text(r, 6)[0] != '\0')
				json_object_set_new(cur, "locked_until", json_string(db_rows_text(r, 6)));
		}
		if (db_rows_text(r, 5) != NULL)
			json_array_append_new(json_object_get(cur, "roles"), json_string(db_rows_text(r, 5)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

/* The steps above change several rows: all or none. */
int store_staff_create(struct db_conn *c, const char *username, const char *display_name,
		       const char *password_hash, const char *roles, const struct actor *a, int64_t *id)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc
			   : db_end(c, staff_create_steps(c, username, display_name, password_hash, roles, a,
							  id));
}

int store_staff_unlock(struct db_conn *c, int64_t id, const struct actor *a)
{
	char account[STORE_LOGIN_ACCOUNT_LEN];
	struct staff_rec s = {0};
	int rc = store_staff_get(c, NULL, id, &s);

	if (rc != DB_OK)
		return rc;
	rc = store_login_clear(c, store_login_account(account, "staff", s.username));
	return rc != DB_OK ? rc : store_audit_append(c, a, "staff.unlock", "staff", s.username, NULL);
}
