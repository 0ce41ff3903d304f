/* Personal data at rest in the database (pii_store.h): sealing what a database from before holds in
 * clear, re-sealing under a new key (rotation), and checking that the loaded key fits the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/pii.h"
#include "store/pii_store.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define BATCH 200

/* A column of personal data: hash names the keyed-hash column beside it (NULL: none); form says
 * the column is the order form's JSON with personal fields inside. */
struct pii_col {
	const char *table, *col, *hash;
	int form;
};

static const struct pii_col cols[] = {
	{"organisations", "handler_mobile", "handler_mobile_hash", 0},
	{"verifications", "legal_id_number", NULL, 0},
	{"mobile_change_requests", "new_mobile", NULL, 0},
	{"orders", "form", "handler_mobile_hash", 1},
	{"outbox", "recipient", "recipient_hash", 0},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

struct row {
	int64_t id;
	char *value;
	int hashed;
};

/* Computes the new value (and hash) of one row; NULL when it is already current. */
static char *resealed(const struct pii_col *pc, const struct row *rw, char hash[PII_HASH_LEN + 1], int *bad)
{
	char plain[PII_PLAIN_MAX + 1], out[PII_SEALED_MAX];

	*bad = 0;
	hash[0] = '\0';
	if (pc->form) {
		if (pii_form_current(rw->value) && rw->hashed)
			return NULL;
		char *f = pii_form_seal(rw->value, hash);
		*bad = f == NULL;
		return f;
	}
	if (pii_is_current(rw->value) && (pc->hash == NULL || rw->hashed))
		return NULL;
	if (pii_open(rw->value, plain, sizeof(plain)) != PII_OK || pii_seal(plain, out, sizeof(out)) != 0 ||
	    (pc->hash != NULL && pii_hash(plain, hash) != 0)) {
		sodium_memzero(plain, sizeof(plain));
		*bad = 1;
		return NULL;
	}
	sodium_memzero(plain, sizeof(plain));
	return xstrdup(out);
}

/* Writes one row's new value, only if nobody changed it meanwhile. */
static int write_row(struct db_conn *c, const struct pii_col *pc, int64_t id, const char *old,
		     const char *val, const char *hash)
{
	char sql[256];

	if (pc->hash != NULL) {
		snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ?, %s = ? WHERE id = ? AND %s = ?", pc->table,
			 pc->col, pc->hash, pc->col);
		return db_exec(c, sql,
			       DB_ARGS(DB_TEXT(val), DB_TEXT(hash[0] != '\0' ? hash : NULL), DB_INT(id),
				       DB_TEXT(old)),
			       NULL);
	}
	snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ? WHERE id = ? AND %s = ?", pc->table, pc->col,
		 pc->col);
	return db_exec(c, sql, DB_ARGS(DB_TEXT(val), DB_INT(id), DB_TEXT(old)), NULL);
}

/* Reads up to BATCH rows of pc after id *after. Returns the number read, or a DB_ error. */
static int read_batch(struct db_conn *c, const struct pii_col *pc, int64_t after, struct row *rows)
{
	char sql[256];
	struct db_rows *r = NULL;
	int n = 0, rc;

	snprintf(sql, sizeof(sql), "SELECT id, %s, %s FROM %s WHERE id > ? ORDER BY id LIMIT %d", pc->col,
		 pc->hash != NULL ? pc->hash : "NULL", pc->table, BATCH);
	rc = db_query(c, sql, DB_ARGS(DB_INT(after)), &r);
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		rows[n].id = db_rows_int(r, 0);
		rows[n].value = xstrdup(db_rows_text(r, 1) != NULL ? db_rows_text(r, 1) : "");
		rows[n].hashed = db_rows_text(r, 2) != NULL;
		n++;
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : n;
}

/* Re-seals the rows of one column; counts what changed and what could not be opened. */
static int reseal_col(struct db *db, const struct pii_col *pc, int *changed, int *failed)
{
	struct row rows[BATCH];
	int64_t after = 0;
	int n, rc = DB_OK;

	do {
		struct db_conn *c = db_acquire(db);
		if (c == NULL)
			return DB_ERROR;
		n = read_batch(c, pc, after, rows);
		for (int i = 0; i < n; i++) {
			char hash[PII_HASH_LEN + 1];
			int bad = 0;
			char *v = rc == DB_OK ? resealed(pc, &rows[i], hash, &bad) : NULL;
			*failed += bad;
			if (v != NULL && (rc = write_row(c, pc, rows[i].id, rows[i].value, v, hash)) == DB_OK)
				(*changed)++;
			after = rows[i].id;
			free(v);
			free(rows[i].value);
		}
		db_release(c);
		if (n < 0)
			return n;
	} while (n == BATCH && rc == DB_OK);
	return rc;
}

/* SQLite keeps the old bytes of a rewritten row in free pages and in the WAL: VACUUM rewrites the
 * file without them and the checkpoint empties the WAL, so that a copy of the file holds no clear
 * value. Best effort (another process may hold the database); PostgreSQL's dump holds live rows only. */
static void scrub(struct db *db)
{
	struct db_conn *c;
	struct db_rows *r = NULL;

	if (strcmp(db_backend_name(db), "sqlite") != 0 || (c = db_acquire(db)) == NULL)
		return;
	if (db_exec(c, "VACUUM", DB_NOARGS, NULL) == DB_OK &&
	    db_query(c, "PRAGMA wal_checkpoint(TRUNCATE)", DB_NOARGS, &r) == DB_OK)
		while (db_rows_next(r) == 1)
			;
	db_rows_free(r);
	db_release(c);
}

int pii_store_reseal(struct db *db, int *changed, int *failed)
{
	int rc = DB_OK;

	*changed = 0;
	*failed = 0;
	if (!pii_ready())
		return DB_ERROR;
	for (size_t i = 0; i < NCOLS && rc == DB_OK; i++)
		rc = reseal_col(db, &cols[i], changed, failed);
	if (rc == DB_OK && *changed > 0)
		scrub(db);
	return rc;
}

/* Sets kid from the first sealed value of a plain column (not the form), "" when none. */
static int first_kid(struct db_conn *c, const struct pii_col *pc, char kid[PII_KID_LEN + 1])
{
	char sql[256], *v = NULL;
	int rc;

	kid[0] = '\0';
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s LIKE 'v1:%%' ORDER BY id DESC LIMIT 1",
		 pc->col, pc->table, pc->col);
	rc = db_query_text(c, sql, DB_NOARGS, &v);
	if (rc == DB_OK && v != NULL && strlen(v) > 3 + PII_KID_LEN) {
		memcpy(kid, v + 3, PII_KID_LEN);
		kid[PII_KID_LEN] = '\0';
	}
	free(v);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

int pii_store_check(struct db *db, int *sealed, char *why, size_t whylen)
{
	struct db_conn *c = db_acquire(db);
	char kid[PII_KID_LEN + 1];
	int rc = c != NULL ? DB_OK : DB_ERROR;

	*sealed = 0;
	for (size_t i = 0; i < NCOLS && rc == DB_OK; i++) {
		if (cols[i].form)
			continue;
		rc = first_kid(c, &cols[i], kid);
		if (rc != DB_OK || kid[0] == '\0')
			continue;
		*sealed = 1;
		if (!pii_has_kid(kid)) {
			snprintf(why, whylen,
				 "the database holds personal data sealed under key %s, but the key file "
				 "holds key %s",
				 kid, pii_ready() ? pii_current_kid() : "(none)");
			rc = DB_CONFLICT;
		}
	}
	db_release(c);
	return rc;
}

/* Loads the key file; when it is missing and the database holds nothing sealed (a new installation,
 * or one from before sealing), creates it. */
static int start_key(struct db *db, const char *key_file, int *created, char *why, size_t whylen)
{
	int sealed = 0, rc = pii_init(key_file, why, whylen);

	*created = 0;
	if (rc == PII_BAD)
		return -1;
	if (rc == PII_MISSING) {
		if (pii_store_check(db, &sealed, why, whylen) != DB_CONFLICT || !sealed) {
			/* nothing sealed yet: a key of its own is safe to make */
			if (pii_key_create(key_file, created, why, whylen) != 0 ||
			    pii_init(key_file, why, whylen) != PII_OK)
				return -1;
		} else {
			snprintf(why, whylen,
				 "%s is missing, but the database holds personal data sealed with it "
				 "(个人信息密钥文件缺失，数据库中的加密数据无法解密)",
				 key_file);
			return -1;
		}
	}
	return 0;
}

int pii_store_start(struct db *db, const char *key_file, char *why, size_t whylen)
{
	int sealed = 0, created = 0, changed = 0, failed = 0;
	char detail[512];

	if (start_key(db, key_file, &created, why, whylen) != 0)
		return -1;
	if (pii_store_check(db, &sealed, detail, sizeof(detail)) != DB_OK) {
		snprintf(why, whylen, "%s: %s (个人信息密钥文件与数据库不符)", key_file, detail);
		return -1;
	}
	if (pii_store_reseal(db, &changed, &failed) != DB_OK) {
		snprintf(why, whylen, "sealing personal data failed (database error)");
		return -1;
	}
	if (created || changed > 0 || failed > 0)
		log_write(failed > 0 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "pii", NULL,
			  "personal data at rest: key %s%s (%s), %d value(s) sealed now, %d not opened",
			  pii_current_kid(), created ? " created" : "", key_file, changed, failed);
	return 0;
}
