/* The notification outbox: messages queued with the change that causes them, and the claims,
 * leases and outcomes of the worker that delivers them (jobs/outbox.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pii.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

int store_outbox_add(struct db_conn *c, const char *channel, const char *recipient, const char *tmpl,
		     const char *params_json, const char *dedupe_key, const char *state)
{
	char now[TIMEFMT_LEN], sealed[PII_SEALED_MAX], hash[PII_HASH_LEN + 1];

	/* mobiles and addresses are personal data: sealed at rest, found by their keyed hash */
	if (pii_store_value(recipient, sealed, sizeof(sealed), hash) != 0)
		return DB_ERROR;
	timefmt_rfc3339(time(NULL), now);
	return db_exec(
		c,
		"INSERT INTO outbox (channel, recipient, recipient_hash, template, params, dedupe_key, state,"
		" created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
		DB_ARGS(DB_TEXT(channel), DB_TEXT(sealed), DB_TEXT(hash[0] != '\0' ? hash : NULL), DB_TEXT(tmpl),
			DB_TEXT(params_json),
			DB_TEXT(dedupe_key), DB_TEXT(state), DB_TEXT(now), DB_TEXT(now)),
		NULL);
}

int store_outbox_list(struct db_conn *c, const char *recipient, int limit, json_t **items)
{
	struct db_rows *r = NULL;
	char hash[PII_HASH_LEN + 1] = "";
	const char *key = recipient != NULL && pii_hash(recipient, hash) == 0 && hash[0] != '\0' ? hash : recipient;
	int rc = db_query(
		c,
		"SELECT id, channel, recipient, template, params, state, created_at, attempts, sent_at,"
		" last_error FROM outbox WHERE CAST(? AS TEXT) IS NULL OR recipient_hash = ? OR recipient = ?"
		" ORDER BY id DESC LIMIT ?",
		DB_ARGS(DB_TEXT(key), DB_TEXT(key), DB_TEXT(recipient), DB_INT(limit)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		char to[PII_PLAIN_MAX + 1];
		pii_open(db_rows_text(r, 2), to, sizeof(to));
		json_t *params = json_loads(db_rows_text(r, 4), 0, NULL);
		json_array_append_new(*items,
				      json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s?, s:s?}", "id",
						(json_int_t)db_rows_int(r, 0), "channel", db_rows_text(r, 1),
						"recipient", to, "template",
						db_rows_text(r, 3), "params", params ? params : json_object(),
						"state", db_rows_text(r, 5), "created_at", db_rows_text(r, 6),
						"attempts", (json_int_t)db_rows_int(r, 7), "sent_at",
						db_rows_text(r, 8), "last_error", db_rows_text(r, 9)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

/* The due messages of a channel: pending, their time come, and no live lease on them. */
#define DUE_WHERE                                                                                            \
	" WHERE state = 'pending' AND channel = ? AND next_attempt_at <= ?"                                  \
	" AND (claimed_until IS NULL OR claimed_until <= ?)"

/* One statement claims and returns the batch. PostgreSQL locks the chosen rows and skips rows
 * another transaction is claiming (a row claimed and committed meanwhile is re-checked against
 * DUE_WHERE and dropped); SQLite has a single writer, so the statement alone is enough there. */
#define CLAIM_HEAD                                                                                           \
	"UPDATE outbox SET claimed_until = ?, claim_token = ?, attempts = attempts + 1, last_attempt_at = ?" \
	" WHERE id IN (SELECT id FROM outbox" DUE_WHERE " ORDER BY next_attempt_at, id LIMIT ?"
#define CLAIM_TAIL ") RETURNING id, attempts, channel, recipient, template, params, dedupe_key, created_at"

static const char claim_sqlite[] = CLAIM_HEAD CLAIM_TAIL;
static const char claim_postgres[] = CLAIM_HEAD " FOR UPDATE SKIP LOCKED" CLAIM_TAIL;

/* Copies the current row of a claim into m. */
static void msg_from_row(struct db_rows *r, struct outbox_msg *m)
{
	m->id = db_rows_int(r, 0);
	m->attempts = (int)db_rows_int(r, 1);
	m->channel = xstrdup(db_rows_text(r, 2));
	char to[PII_PLAIN_MAX + 1];

	pii_open(db_rows_text(r, 3), to, sizeof(to)); /* sealed at rest */
	m->recipient = xstrdup(to);
	m->tmpl = xstrdup(db_rows_text(r, 4));
	m->params = xstrdup(db_rows_text(r, 5));
	m->dedupe_key = xstrdup(db_rows_text(r, 6));
	m->created_at = xstrdup(db_rows_text(r, 7));
}

/* Runs the claim statement of the backend and collects the rows into *msgs / *n. */
static int claim_rows(struct db_conn *c, const char *channel, const char *now, const char *lease_until,
		      const char *token, int max, struct outbox_msg **msgs, int *n)
{
	int pg = strcmp(db_backend_name(db_conn_pool(c)), "postgres") == 0;
	struct db_rows *r = NULL;
	int rc = db_query(c, pg ? claim_postgres : claim_sqlite,
			  DB_ARGS(DB_TEXT(lease_until), DB_TEXT(token), DB_TEXT(now), DB_TEXT(channel),
				  DB_TEXT(now), DB_TEXT(now), DB_INT(max)),
			  &r);

	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		if (*n < max) /* LIMIT holds on both backends; the check only guards the array */
			msg_from_row(r, &(*msgs)[(*n)++]);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_outbox_claim(struct db_conn *c, const char *channel, const char *now, const char *lease_until,
		       const char *token, int max, struct outbox_msg **msgs, int *n)
{
	int64_t any = 0;
	int rc;

	*msgs = NULL;
	*n = 0;
	/* A read first: an idle poll then never takes SQLite's write lock. */
	rc = db_query_int(c, "SELECT id FROM outbox" DUE_WHERE " LIMIT 1",
			  DB_ARGS(DB_TEXT(channel), DB_TEXT(now), DB_TEXT(now)), &any);
	if (rc == DB_NOTFOUND || max <= 0)
		return DB_OK;
	if (rc != DB_OK)
		return rc;
	*msgs = xcalloc(sizeof(**msgs) * (size_t)max);
	if ((rc = db_begin(c)) != DB_OK)
		return rc;
	rc = db_end(c, claim_rows(c, channel, now, lease_until, token, max, msgs, n));
	if (rc != DB_OK) {
		store_outbox_msgs_free(*msgs, *n);
		*msgs = NULL;
		*n = 0;
	}
	return rc;
}

void store_outbox_msgs_free(struct outbox_msg *msgs, int n)
{
	for (int i = 0; msgs != NULL && i < n; i++) {
		free(msgs[i].channel);
		free(msgs[i].recipient);
		free(msgs[i].tmpl);
		free(msgs[i].params);
		free(msgs[i].dedupe_key);
		free(msgs[i].created_at);
	}
	free(msgs);
}

/* Runs an update of one claimed row that only its lease holder may make; DB_NOTFOUND when the
 * lease is no longer this token's (it ran out and another worker claimed the row). */
static int holder_exec(struct db_conn *c, const char *sql, const struct db_val *args, int nargs)
{
	int64_t changes = 0;
	int rc = db_exec(c, sql, args, nargs, &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_outbox_renew(struct db_conn *c, int64_t id, const char *token, const char *lease_until)
{
	/* The token alone decides: any other claim, even of an expired lease, replaces it. */
	return holder_exec(
		c,
		"UPDATE outbox SET claimed_until = ? WHERE id = ? AND state = 'pending' AND claim_token = ?",
		DB_ARGS(DB_TEXT(lease_until), DB_INT(id), DB_TEXT(token)));
}

int store_outbox_sent(struct db_conn *c, int64_t id, const char *token, const char *now,
		      const char *provider_ref, const char *params)
{
	return holder_exec(
		c,
		"UPDATE outbox SET state = 'sent', sent_at = ?, provider_ref = ?, last_error = NULL,"
		" params = COALESCE(?, params), claimed_until = NULL, claim_token = NULL"
		" WHERE id = ? AND state = 'pending' AND claim_token = ?",
		DB_ARGS(DB_TEXT(now), DB_TEXT(provider_ref), DB_TEXT(params), DB_INT(id), DB_TEXT(token)));
}

int store_outbox_retry(struct db_conn *c, int64_t id, const char *token, const char *next_attempt_at,
		       const char *error)
{
	return holder_exec(c,
			   "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_until = NULL,"
			   " claim_token = NULL WHERE id = ? AND state = 'pending' AND claim_token = ?",
			   DB_ARGS(DB_TEXT(next_attempt_at), DB_TEXT(error), DB_INT(id), DB_TEXT(token)));
}

int store_outbox_failed(struct db_conn *c, int64_t id, const char *token, const char *error,
			const char *params)
{
	return holder_exec(c,
			   "UPDATE outbox SET state = 'failed', last_error = ?, params = COALESCE(?, params),"
			   " claimed_until = NULL, claim_token = NULL WHERE id = ? AND state = 'pending'"
			   " AND claim_token = ?",
			   DB_ARGS(DB_TEXT(error), DB_TEXT(params), DB_INT(id), DB_TEXT(token)));
}

int store_outbox_release(struct db_conn *c, int64_t id, const char *token)
{
	return holder_exec(
		c,
		"UPDATE outbox SET attempts = attempts - 1, claimed_until = NULL, claim_token = NULL"
		" WHERE id = ? AND state = 'pending' AND claim_token = ?",
		DB_ARGS(DB_INT(id), DB_TEXT(token)));
}
