#include <string.h>

#include "store/pii.h"
#include "store/store.h"

/* The codes' table holds the mobile's keyed hash, never the number (personal data at rest): every
 * use is a lookup by equality. Without a key (a CLI run) the number itself. */
static const char *mobile_key(const char *mobile, char buf[PII_HASH_LEN + 1])
{
	return pii_hash(mobile, buf) == 0 && buf[0] != '\0' ? buf : mobile;
}

int store_sms_count_since(struct db_conn *c, const char *mobile, const char *ip, const char *since,
			  int64_t *n)
{
	char key[PII_HASH_LEN + 1];

	return db_query_int(c,
			    "SELECT COUNT(*) FROM sms_codes WHERE mobile = ? AND created_at > ?"
			    " AND (CAST(? AS TEXT) IS NULL OR ip = ?)",
			    DB_ARGS(DB_TEXT(mobile_key(mobile, key)), DB_TEXT(since), DB_TEXT(ip), DB_TEXT(ip)), n);
}

int store_sms_insert(struct db_conn *c, const char *mobile, const char *purpose, const char *code_hash,
		     const char *ip, const char *now, const char *expires_at)
{
	char key[PII_HASH_LEN + 1];

	return db_exec(c,
		       "INSERT INTO sms_codes (mobile, purpose, code_hash, ip, created_at, expires_at)"
		       " VALUES (?, ?, ?, ?, ?, ?)",
		       DB_ARGS(DB_TEXT(mobile_key(mobile, key)), DB_TEXT(purpose), DB_TEXT(code_hash), DB_TEXT(ip),
			       DB_TEXT(now), DB_TEXT(expires_at)),
		       NULL);
}

/* Uses the code up, or counts a wrong guess, in one conditional statement each: parallel requests
 * cannot use one code twice nor make more than max_attempts guesses. Returns DB_OK or < 0 and sets
 * *result to ok (or wrong) when the statement changed the row, else to locked. */
static int consume_row(struct db_conn *c, int64_t id, int match, const char *now, int max_attempts,
		       int *result)
{
	int64_t changed = 0;
	int rc = match ? db_exec(c,
				 "UPDATE sms_codes SET used_at = ? WHERE id = ? AND used_at IS NULL"
				 " AND attempts < ?",
				 DB_ARGS(DB_TEXT(now), DB_INT(id), DB_INT(max_attempts)), &changed)
		       : db_exec(c,
				 "UPDATE sms_codes SET attempts = attempts + 1 WHERE id = ? AND used_at IS "
				 "NULL"
				 " AND attempts < ?",
				 DB_ARGS(DB_INT(id), DB_INT(max_attempts)), &changed);

	*result = changed == 1 ? (match ? SMS_CODE_OK : SMS_CODE_WRONG) : SMS_CODE_LOCKED;
	return rc;
}

int store_sms_consume(struct db_conn *c, const char *mobile, const char *purpose, const char *code_hash,
		      const char *now, int max_attempts, int *result)
{
	struct db_rows *r = NULL;
	char key[PII_HASH_LEN + 1];
	int64_t id = 0;
	int match = 0, rc;

	/* Only the newest code counts: asking for a new one retires the older ones. */
	rc = db_query(c,
		      "SELECT id, attempts, code_hash, used_at, expires_at FROM sms_codes"
		      " WHERE mobile = ? AND purpose = ? ORDER BY id DESC LIMIT 1",
		      DB_ARGS(DB_TEXT(mobile_key(mobile, key)), DB_TEXT(purpose)), &r);
	if (rc != DB_OK)
		return rc;
	*result = SMS_CODE_NONE;
	/* Times are compared here, as text of one fixed format: the backends' booleans differ. */
	if (db_rows_next(r) == 1 && db_rows_text(r, 3) == NULL && strcmp(db_rows_text(r, 4), now) > 0) {
		id = db_rows_int(r, 0);
		match = db_rows_text(r, 2) != NULL && strcmp(db_rows_text(r, 2), code_hash) == 0;
	}
	db_rows_free(r);
	return id == 0 ? DB_OK : consume_row(c, id, match, now, max_attempts, result);
}
