/* The legal person's face verifications, bound to an order and its verification token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pii.h"
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

int store_verification_start(struct db_conn *c, const struct verif_rec *v, const char *order_no,
			     const char *provider, const struct actor *a)
{
	char now[TIMEFMT_LEN], sealed[PII_SEALED_MAX];
	int64_t changes = 0;
	/* only while the order still has this token (not deleted, legal person unchanged): the
	 * provider was asked without holding the order */
	int rc = pii_store_value(v->legal_id_number, sealed, sizeof(sealed), NULL) == 0 ? DB_OK : DB_ERROR;

	if (rc == DB_OK)
		rc = db_exec(
		c,
		"INSERT INTO verifications (order_id, verify_token, provider, biz_token, "
		"legal_name, legal_id_number, state, created_at)"
		" SELECT CAST(? AS BIGINT), ?, ?, ?, ?, ?, 'started', ? WHERE EXISTS (SELECT 1 FROM orders"
		" WHERE id = ? AND verify_token = ? AND state <> 'deleted')",
		DB_ARGS(DB_INT(v->order_id), DB_TEXT(v->verify_token), DB_TEXT(provider),
			DB_TEXT(v->biz_token), DB_TEXT(v->legal_name), DB_TEXT(sealed),
			DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(v->order_id),
			DB_TEXT(v->verify_token)),
		&changes);

	if (rc != DB_OK)
		return rc;
	if (changes != 1)
		return DB_NOTFOUND;
	return store_audit_append(c, a, "verification.start", "order", order_no, NULL);
}

int store_verification_latest(struct db_conn *c, int64_t order_id, const char *verify_token,
			      struct verif_rec *v)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT id, order_id, verify_token, biz_token, legal_name, legal_id_number, state, "
			  "reason, created_at,"
			  " finished_at FROM verifications WHERE order_id = ? AND verify_token = ? ORDER BY "
			  "id DESC LIMIT 1",
			  DB_ARGS(DB_INT(order_id), DB_TEXT(verify_token)), &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		memset(v, 0, sizeof(*v));
		v->id = db_rows_int(r, 0);
		v->order_id = db_rows_int(r, 1);
		str_copy(v->verify_token, db_rows_text(r, 2), sizeof(v->verify_token));
		str_copy(v->biz_token, db_rows_text(r, 3), sizeof(v->biz_token));
		str_copy(v->legal_name, db_rows_text(r, 4), sizeof(v->legal_name));
		pii_open(db_rows_text(r, 5), v->legal_id_number, sizeof(v->legal_id_number)); /* sealed at rest */
		str_copy(v->state, db_rows_text(r, 6), sizeof(v->state));
		str_copy(v->reason, db_rows_text(r, 7), sizeof(v->reason));
		str_copy(v->created_at, db_rows_text(r, 8), sizeof(v->created_at));
		str_copy(v->finished_at, db_rows_text(r, 9), sizeof(v->finished_at));
	}
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

int store_verification_finish(struct db_conn *c, const char *biz_token, int passed, const char *reason,
			      const char *order_no, const struct actor *a)
{
	char now[TIMEFMT_LEN];
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE verifications SET state = ?, reason = ?, finished_at = ? WHERE biz_token = "
			 "? AND state = 'started'",
			 DB_ARGS(DB_TEXT(passed ? "passed" : "failed"), DB_TEXT(reason),
				 DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(biz_token)),
			 &changes);

	if (rc != DB_OK)
		return rc;
	if (changes != 1)
		return DB_NOTFOUND;
	json_t *j = reason ? json_pack("{s:s}", "reason", reason) : json_object();
	char *detail = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = store_audit_append(c, a, passed ? "verification.passed" : "verification.failed", "order",
				order_no, detail);
	free(detail);
	return rc;
}
