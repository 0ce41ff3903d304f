/* The audit log: each entry's hash covers the previous entry's hash and its own fields, so a
 * changed, removed or reordered entry breaks the chain that `certdesk audit verify` checks. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define HASH_HEX (crypto_hash_sha256_BYTES * 2 + 1)
#define REQUEST_ID_MAX 48

/* The request id of the HTTP request this thread serves ("" when none): each of certdeskd's worker
 * threads serves one request at a time from its start to its reply, so the entries a request makes,
 * however deep in the call tree, get its id without every caller passing it. */
static _Thread_local char request_id[REQUEST_ID_MAX];

void store_audit_set_request_id(const char *id)
{
	snprintf(request_id, sizeof(request_id), "%s", id != NULL ? id : "");
}
#define NFIELDS 7 /* actor_kind, actor_id, ip, action, object_kind, object_id, detail */

/* Computes the hex hash of one entry from its fields into out (HASH_HEX bytes). */
static void entry_hash(const char *prev, int64_t seq, const char *at, const char *const f[NFIELDS],
		       const char *rid, char out[HASH_HEX])
{
	crypto_hash_sha256_state st;
	unsigned char md[crypto_hash_sha256_BYTES];
	char num[32];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)prev, strlen(prev));
	snprintf(num, sizeof(num), "\n%lld\n", (long long)seq);
	crypto_hash_sha256_update(&st, (const unsigned char *)num, strlen(num));
	crypto_hash_sha256_update(&st, (const unsigned char *)at, strlen(at));
	for (int i = 0; i < NFIELDS; i++) {
		/* Length prefixes keep field boundaries unambiguous. */
		snprintf(num, sizeof(num), "\n%zu:", strlen(f[i]));
		crypto_hash_sha256_update(&st, (const unsigned char *)num, strlen(num));
		crypto_hash_sha256_update(&st, (const unsigned char *)f[i], strlen(f[i]));
	}
	/* Entries without a request id hash as they did before migration 021. */
	if (rid != NULL && rid[0] != '\0') {
		snprintf(num, sizeof(num), "\nrequest %zu:", strlen(rid));
		crypto_hash_sha256_update(&st, (const unsigned char *)num, strlen(num));
		crypto_hash_sha256_update(&st, (const unsigned char *)rid, strlen(rid));
	}
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(out, HASH_HEX, md, sizeof(md));
}

static int audit_append_steps(struct db_conn *c, const struct actor *a, const char *action,
			      const char *object_kind, const char *object_id, const char *detail)
{
	struct db_rows *r = NULL;
	char at[TIMEFMT_LEN], hash[HASH_HEX], *prev = NULL;
	const char *f[NFIELDS] = {a->kind,     a->id,     a->ip ? a->ip : "",    action,
				  object_kind, object_id, detail ? detail : "{}"};
	int64_t seq;
	int rc;

	/* The UPDATE takes the head row's write lock, serialising appenders until commit. */
	rc = db_exec(c, "UPDATE audit_head SET seq = seq + 1 WHERE id = 1", DB_NOARGS, NULL);
	if (rc == DB_OK)
		rc = db_query(c, "SELECT seq, hash FROM audit_head WHERE id = 1", DB_NOARGS, &r);
	if (rc != DB_OK)
		return rc;
	if (db_rows_next(r) != 1) {
		db_rows_free(r);
		return DB_ERROR;
	}
	seq = db_rows_int(r, 0);
	prev = xstrdup(db_rows_text(r, 1));
	db_rows_free(r);
	timefmt_now_ms(at);
	entry_hash(prev, seq, at, f, request_id, hash);
	rc = db_exec(
		c,
		"INSERT INTO audit_log (seq, at, actor_kind, actor_id, ip, action, object_kind, object_id,"
		" detail, prev_hash, hash, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		DB_ARGS(DB_INT(seq), DB_TEXT(at), DB_TEXT(f[0]), DB_TEXT(f[1]), DB_TEXT(f[2]), DB_TEXT(f[3]),
			DB_TEXT(f[4]), DB_TEXT(f[5]), DB_TEXT(f[6]), DB_TEXT(prev), DB_TEXT(hash),
			DB_TEXT(request_id[0] != '\0' ? request_id : NULL)),
		NULL);
	if (rc == DB_OK)
		rc = db_exec(c, "UPDATE audit_head SET hash = ? WHERE id = 1", DB_ARGS(DB_TEXT(hash)), NULL);
	free(prev);
	return rc;
}

int64_t store_audit_verify(struct db *db, int64_t *bad_seq)
{
	struct db_conn *c = db_acquire(db);
	struct db_rows *r = NULL;
	char prev[HASH_HEX], hash[HASH_HEX];
	int64_t n = 0, expect = 1;
	int rc;

	memset(prev, '0', HASH_HEX - 1);
	prev[HASH_HEX - 1] = '\0';
	*bad_seq = 0;
	rc = db_query(c,
		      "SELECT seq, at, actor_kind, actor_id, ip, action, object_kind, object_id, detail,"
		      " prev_hash, hash, request_id FROM audit_log ORDER BY seq",
		      DB_NOARGS, &r);
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		const char *f[NFIELDS];
		int64_t seq = db_rows_int(r, 0);
		for (int i = 0; i < NFIELDS; i++)
			f[i] = db_rows_text(r, 2 + i);
		entry_hash(prev, seq, db_rows_text(r, 1), f, db_rows_text(r, 4 + NFIELDS), hash);
		if (seq != expect || strcmp(prev, db_rows_text(r, 2 + NFIELDS)) != 0 ||
		    strcmp(hash, db_rows_text(r, 3 + NFIELDS)) != 0) {
			*bad_seq = seq;
			n = -1;
			break;
		}
		memcpy(prev, hash, HASH_HEX);
		expect++;
		n++;
		rc = DB_OK;
	}
	db_rows_free(r);
	db_release(c);
	return rc < 0 ? -2 : n;
}

/* The steps above change several rows: all or none. */
int store_audit_append(struct db_conn *c, const struct actor *a, const char *action, const char *object_kind,
		       const char *object_id, const char *detail)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, audit_append_steps(c, a, action, object_kind, object_id, detail));
}

int store_audit_order(struct db_conn *c, const struct actor *a, const char *action, const char *order_no,
		      json_t *detail)
{
	char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc = store_audit_append(c, a, action, "order", order_no, text);

	free(text);
	json_decref(detail);
	return rc;
}
