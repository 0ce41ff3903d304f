/* The project catalogue (key types, prices, documents) and the main keys held from before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

int store_project_get(struct db_conn *c, const char *code, struct project_rec *p)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT id, code, name, order_prefix, active FROM projects WHERE code = ?",
			  DB_ARGS(DB_TEXT(code)), &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		p->id = db_rows_int(r, 0);
		str_copy(p->code, db_rows_text(r, 1), sizeof(p->code));
		str_copy(p->name, db_rows_text(r, 2), sizeof(p->name));
		str_copy(p->order_prefix, db_rows_text(r, 3), sizeof(p->order_prefix));
		p->active = (int)db_rows_int(r, 4);
	}
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

#define KT_COLUMNS "key_type, name, price_fen, has_seal, documents, years_offered, renewal_fen_per_year"

/* Copies the current row (KT_COLUMNS from offset col) into k. */
static void key_type_from_row(struct db_rows *r, int col, struct key_type_rec *k)
{
	str_copy(k->key_type, db_rows_text(r, col), sizeof(k->key_type));
	str_copy(k->name, db_rows_text(r, col + 1), sizeof(k->name));
	k->price_fen = db_rows_int(r, col + 2);
	k->has_seal = (int)db_rows_int(r, col + 3);
	str_copy(k->documents, db_rows_text(r, col + 4), sizeof(k->documents));
	str_copy(k->years_offered, db_rows_text(r, col + 5), sizeof(k->years_offered));
	k->renewal_fen_per_year = db_rows_int(r, col + 6);
}

int store_key_type_get(struct db_conn *c, int64_t project_id, const char *key_type, struct key_type_rec *k)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c, "SELECT " KT_COLUMNS " FROM project_key_types WHERE project_id = ? AND key_type = ?",
		DB_ARGS(DB_INT(project_id), DB_TEXT(key_type)), &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1)
		key_type_from_row(r, 0, k);
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

json_t *store_csv_json(const char *list, int as_int)
{
	json_t *a = json_array();

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, as_int ? json_integer(strtol(p, NULL, 10)) : json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}

int store_catalogue_json(struct db_conn *c, int all, json_t **items)
{
	struct db_rows *r = NULL;
	json_t *cur = NULL;
	int rc = db_query(
		c,
		"SELECT p.code, p.name, p.active, k.key_type, k.name, k.price_fen, k.has_seal, k.documents,"
		" k.years_offered, k.renewal_fen_per_year FROM projects p"
		" JOIN project_key_types k ON k.project_id = p.id WHERE (? = 1 OR p.active = 1)"
		" ORDER BY p.id, k.key_type",
		DB_ARGS(DB_INT(all)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		struct key_type_rec k = {0};
		if (cur == NULL ||
		    strcmp(json_string_value(json_object_get(cur, "code")), db_rows_text(r, 0)) != 0) {
			cur = json_pack("{s:s, s:s, s:b, s:[]}", "code", db_rows_text(r, 0), "name",
					db_rows_text(r, 1), "active", (int)db_rows_int(r, 2), "key_types");
			json_array_append_new(*items, cur);
		}
		key_type_from_row(r, 3, &k);
		json_array_append_new(json_object_get(cur, "key_types"),
				      json_pack("{s:s, s:s, s:I, s:b, s:o, s:o, s:I}", "key_type", k.key_type,
						"name", k.name, "price_fen", (json_int_t)k.price_fen,
						"has_seal", k.has_seal, "documents",
						store_csv_json(k.documents, 0), "years_offered",
						store_csv_json(k.years_offered, 1), "renewal_fen_per_year",
						(json_int_t)k.renewal_fen_per_year));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

static int key_type_update_steps(struct db_conn *c, int64_t project_id, const struct key_type_rec *k,
				 const struct actor *a)
{
	struct key_type_rec old = {0};
	char *detail, object[64];
	int64_t changes = 0;
	int rc = store_key_type_get(c, project_id, k->key_type, &old);

	if (rc == DB_OK)
		rc = db_exec(c,
			     "UPDATE project_key_types SET name = ?, price_fen = ?, years_offered = ?, "
			     "renewal_fen_per_year = ?"
			     " WHERE project_id = ? AND key_type = ?",
			     DB_ARGS(DB_TEXT(k->name), DB_INT(k->price_fen), DB_TEXT(k->years_offered),
				     DB_INT(k->renewal_fen_per_year), DB_INT(project_id),
				     DB_TEXT(k->key_type)),
			     &changes);
	if (rc != DB_OK)
		return rc;
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s}", "old_price_fen", (json_int_t)old.price_fen,
			      "new_price_fen", (json_int_t)k->price_fen, "old_renewal_fen_per_year",
			      (json_int_t)old.renewal_fen_per_year, "new_renewal_fen_per_year",
			      (json_int_t)k->renewal_fen_per_year, "years_offered", k->years_offered, "name",
			      k->name);
	detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(object, sizeof(object), "%lld/%s", (long long)project_id, k->key_type);
	rc = store_audit_append(c, a, "catalogue.key_type_update", "key_type", object, detail);
	free(detail);
	return rc;
}

int store_key_type_update(struct db_conn *c, int64_t project_id, const struct key_type_rec *k,
			  const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, key_type_update_steps(c, project_id, k, a));
}

static int held_add_steps(struct db_conn *c, int64_t org_id, int64_t project_id, const char *note,
			  int64_t staff_id, const struct actor *a)
{
	char now[TIMEFMT_LEN], object[48];
	int rc = db_exec(c,
			 "INSERT INTO held_main_keys (org_id, project_id, note, recorded_by, created_at) "
			 "VALUES (?, ?, ?, ?, ?)",
			 DB_ARGS(DB_INT(org_id), DB_INT(project_id), DB_TEXT(note), DB_INT(staff_id),
				 DB_TEXT(timefmt_rfc3339(time(NULL), now))),
			 NULL);

	if (rc != DB_OK)
		return rc;
	snprintf(object, sizeof(object), "%lld/%lld", (long long)org_id, (long long)project_id);
	json_t *j = json_pack("{s:s}", "note", note);
	char *detail = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = store_audit_append(c, a, "organisation.held_main_key", "organisation", object, detail);
	free(detail);
	return rc;
}

int store_held_main_key_add(struct db_conn *c, int64_t org_id, int64_t project_id, const char *note,
			    int64_t staff_id, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, held_add_steps(c, org_id, project_id, note, staff_id, a));
}

int store_held_main_key_list(struct db_conn *c, int64_t org_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT h.id, p.code, p.name, h.note, h.created_at FROM held_main_keys h"
			  " JOIN projects p ON p.id = h.project_id WHERE h.org_id = ? ORDER BY h.id",
			  DB_ARGS(DB_INT(org_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(*items, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
							(json_int_t)db_rows_int(r, 0), "project_code",
							db_rows_text(r, 1), "project_name",
							db_rows_text(r, 2), "note", db_rows_text(r, 3),
							"created_at", db_rows_text(r, 4)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}
