#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "util/timefmt.h"

static int project_ensure_steps(struct db_conn *c, const char *code, const char *name,
				const char *order_prefix, const struct key_type_def *types, int ntypes,
				const struct actor *a)
{
	char now[TIMEFMT_LEN], *detail;
	int64_t id = 0, changes = 0;
	int rc;

	rc = db_exec(c,
		     "INSERT INTO projects (code, name, order_prefix, created_at) VALUES (?, ?, ?, ?)"
		     " ON CONFLICT (code) DO NOTHING",
		     DB_ARGS(DB_TEXT(code), DB_TEXT(name), DB_TEXT(order_prefix),
			     DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		     &changes);
	if (rc != DB_OK)
		return rc;
	if (changes == 0)
		return DB_CONFLICT;
	rc = db_query_int(c, "SELECT id FROM projects WHERE code = ?", DB_ARGS(DB_TEXT(code)), &id);
	for (int i = 0; rc == DB_OK && i < ntypes; i++)
		rc = db_exec(c,
			     "INSERT INTO project_key_types (project_id, key_type, name, price_fen, "
			     "has_seal, documents,"
			     " years_offered, renewal_fen_per_year) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			     DB_ARGS(DB_INT(id), DB_TEXT(types[i].key_type), DB_TEXT(types[i].name),
				     DB_INT(types[i].price_fen), DB_INT(types[i].has_seal),
				     DB_TEXT(types[i].documents), DB_TEXT(types[i].years_offered),
				     DB_INT(types[i].renewal_fen_per_year)),
			     NULL);
	if (rc != DB_OK)
		return rc;
	json_t *j = json_pack("{s:s, s:s, s:s}", "code", code, "name", name, "order_prefix", order_prefix);
	detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	rc = store_audit_append(c, a, "project.create", "project", code, detail);
	free(detail);
	return rc;
}

/* The steps above change several rows: all or none. */
int store_project_ensure(struct db_conn *c, const char *code, const char *name, const char *order_prefix,
			 const struct key_type_def *types, int ntypes, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc
			   : db_end(c, project_ensure_steps(c, code, name, order_prefix, types, ntypes, a));
}
