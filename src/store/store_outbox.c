#include <time.h>

#include "store/store.h"
#include "util/timefmt.h"

int store_outbox_add(struct db_conn *c, const char *channel, const char *recipient, const char *tmpl,
                     const char *params_json, const char *dedupe_key, const char *state)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
	               "INSERT INTO outbox (channel, recipient, template, params, dedupe_key, state, created_at)"
	               " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
	               DB_ARGS(DB_TEXT(channel), DB_TEXT(recipient), DB_TEXT(tmpl), DB_TEXT(params_json),
	                       DB_TEXT(dedupe_key), DB_TEXT(state), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
	               NULL);
}

int store_outbox_list(struct db_conn *c, const char *recipient, int limit, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
	                  "SELECT id, channel, recipient, template, params, state, created_at FROM outbox"
	                  " WHERE CAST(? AS TEXT) IS NULL OR recipient = ? ORDER BY id DESC LIMIT ?",
	                  DB_ARGS(DB_TEXT(recipient), DB_TEXT(recipient), DB_INT(limit)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *params = json_loads(db_rows_text(r, 4), 0, NULL);
		json_array_append_new(*items, json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s}", "id",
		                                        (json_int_t)db_rows_int(r, 0), "channel", db_rows_text(r, 1),
		                                        "recipient", db_rows_text(r, 2), "template", db_rows_text(r, 3),
		                                        "params", params ? params : json_object(), "state",
		                                        db_rows_text(r, 5), "created_at", db_rows_text(r, 6)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}
