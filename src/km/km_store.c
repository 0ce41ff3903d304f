/* The table enc_keys (migration 017): one sealed encryption key per order. */
#include <stdlib.h>
#include <string.h>

#include "km/km.h"
#include "store/db.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define KEY_COLS "id, order_id, cert_serial, algorithm, spki_sha256, kek_id, created_at, wrapped_key"

int km_enc_key_of_order(struct db_conn *c, int64_t order_id, struct enc_key_rec *k)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT " KEY_COLS " FROM enc_keys WHERE order_id = ?",
			  DB_ARGS(DB_INT(order_id)), &r);

	memset(k, 0, sizeof(*k));
	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		k->id = db_rows_int(r, 0);
		k->order_id = db_rows_int(r, 1);
		if (db_rows_text(r, 2) != NULL)
			str_copy(k->cert_serial, db_rows_text(r, 2), sizeof(k->cert_serial));
		str_copy(k->algorithm, db_rows_text(r, 3), sizeof(k->algorithm));
		str_copy(k->spki_sha256, db_rows_text(r, 4), sizeof(k->spki_sha256));
		str_copy(k->kek_id, db_rows_text(r, 5), sizeof(k->kek_id));
		str_copy(k->created_at, db_rows_text(r, 6), sizeof(k->created_at));
		k->wrapped = xstrdup(db_rows_text(r, 7) != NULL ? db_rows_text(r, 7) : "");
	}
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

int km_enc_key_insert(struct db_conn *c, const struct enc_key_rec *k, const char *order_no,
		      const struct actor *a)
{
	char now[TIMEFMT_LEN];
	int rc;

	timefmt_rfc3339(time(NULL), now);
	rc = db_exec(
		c,
		"INSERT INTO enc_keys (order_id, algorithm, spki_sha256, wrapped_key, kek_id, created_at)"
		" VALUES (?, ?, ?, ?, ?, ?)",
		DB_ARGS(DB_INT(k->order_id), DB_TEXT(k->algorithm), DB_TEXT(k->spki_sha256),
			DB_TEXT(k->wrapped), DB_TEXT(k->kek_id), DB_TEXT(now)),
		NULL);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "km.key_generate", order_no,
				 json_pack("{s:s, s:s, s:s}", "algorithm", k->algorithm, "spki_sha256",
					   k->spki_sha256, "kek_id", k->kek_id));
}

int km_enc_key_link(struct db_conn *c, int64_t order_id, const char *serial)
{
	return db_exec(c, "UPDATE enc_keys SET cert_serial = ? WHERE order_id = ? AND cert_serial IS NULL",
		       DB_ARGS(DB_TEXT(serial), DB_INT(order_id)), NULL);
}

int km_enc_key_rewrap(struct db_conn *c, int64_t id, const char *old_kek_id, const char *wrapped,
		      const char *kek_id)
{
	int64_t n = 0;
	int rc = db_exec(c, "UPDATE enc_keys SET wrapped_key = ?, kek_id = ? WHERE id = ? AND kek_id = ?",
			 DB_ARGS(DB_TEXT(wrapped), DB_TEXT(kek_id), DB_INT(id), DB_TEXT(old_kek_id)), &n);

	return rc != DB_OK ? rc : n == 1 ? DB_OK : DB_NOTFOUND;
}

void km_enc_key_free(struct enc_key_rec *k)
{
	if (k == NULL)
		return;
	free(k->wrapped);
	k->wrapped = NULL;
}
