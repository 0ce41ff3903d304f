#include <string.h>

#include "store/store.h"
#include "util/strutil.h"

int store_session_get(struct db_conn *c, const char *id_hash, struct session_rec *s)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT kind, subject_id, csrf_token, last_seen_at, expires_at FROM sessions"
			  " WHERE id_hash = ?",
			  DB_ARGS(DB_TEXT(id_hash)), &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		str_copy(s->kind, db_rows_text(r, 0), sizeof(s->kind));
		s->subject_id = db_rows_int(r, 1);
		str_copy(s->csrf, db_rows_text(r, 2), sizeof(s->csrf));
		str_copy(s->last_seen_at, db_rows_text(r, 3), sizeof(s->last_seen_at));
		str_copy(s->expires_at, db_rows_text(r, 4), sizeof(s->expires_at));
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_NOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

int store_session_create(struct db_conn *c, const char *id_hash, const char *kind, int64_t subject_id,
			 const char *csrf, const char *now, const char *expires_at, const char *ip)
{
	return db_exec(
		c,
		"INSERT INTO sessions (id_hash, kind, subject_id, csrf_token, created_at, last_seen_at,"
		" expires_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		DB_ARGS(DB_TEXT(id_hash), DB_TEXT(kind), subject_id ? DB_INT(subject_id) : DB_NULLV,
			DB_TEXT(csrf), DB_TEXT(now), DB_TEXT(now), DB_TEXT(expires_at), DB_TEXT(ip)),
		NULL);
}

int store_session_touch(struct db_conn *c, const char *id_hash, const char *now)
{
	return db_exec(c, "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?",
		       DB_ARGS(DB_TEXT(now), DB_TEXT(id_hash)), NULL);
}

int store_session_delete(struct db_conn *c, const char *id_hash)
{
	return db_exec(c, "DELETE FROM sessions WHERE id_hash = ?", DB_ARGS(DB_TEXT(id_hash)), NULL);
}

int store_session_delete_subject(struct db_conn *c, const char *kind, int64_t subject_id)
{
	return db_exec(c, "DELETE FROM sessions WHERE kind = ? AND subject_id = ?",
		       DB_ARGS(DB_TEXT(kind), DB_INT(subject_id)), NULL);
}

int store_session_purge(struct db_conn *c, const char *now, const char *idle_before)
{
	return db_exec(c, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?",
		       DB_ARGS(DB_TEXT(now), DB_TEXT(idle_before)), NULL);
}

int store_session_set_captcha(struct db_conn *c, const char *id_hash, const char *hash,
			      const char *expires_at)
{
	return db_exec(c, "UPDATE sessions SET captcha_hash = ?, captcha_expires_at = ? WHERE id_hash = ?",
		       DB_ARGS(DB_TEXT(hash), DB_TEXT(expires_at), DB_TEXT(id_hash)), NULL);
}

int store_session_take_captcha(struct db_conn *c, const char *id_hash, char hash[72], char expires_at[32])
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT captcha_hash, captcha_expires_at FROM sessions WHERE id_hash = ?",
			  DB_ARGS(DB_TEXT(id_hash)), &r);

	hash[0] = expires_at[0] = '\0';
	if (rc != DB_OK)
		return rc;
	if (db_rows_next(r) == 1) {
		str_copy(hash, db_rows_text(r, 0), 72);
		str_copy(expires_at, db_rows_text(r, 1), 32);
	}
	db_rows_free(r);
	return db_exec(c,
		       "UPDATE sessions SET captcha_hash = NULL, captcha_expires_at = NULL WHERE id_hash = ?",
		       DB_ARGS(DB_TEXT(id_hash)), NULL);
}
