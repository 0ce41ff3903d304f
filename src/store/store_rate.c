/* Shared counters: fixed-window rate limits, and the login attempts behind the lockouts. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

/* Writes the start of the window of window_s seconds that holds now into buf. */
static const char *window_start(int window_s, char buf[TIMEFMT_LEN])
{
	time_t now = time(NULL);
	return timefmt_rfc3339(now - now % window_s, buf);
}

int store_rate_hit(struct db_conn *c, const char *bucket, int window_s, int64_t *hits)
{
	char start[TIMEFMT_LEN];

	window_start(window_s, start);
	return db_query_int(c,
			    "INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1)"
			    " ON CONFLICT (bucket) DO UPDATE SET"
			    " hits = CASE WHEN rate_limits.window_start = excluded.window_start"
			    " THEN rate_limits.hits + 1 ELSE 1 END,"
			    " window_start = excluded.window_start RETURNING hits",
			    DB_ARGS(DB_TEXT(bucket), DB_TEXT(start)), hits);
}

int store_rate_peek(struct db_conn *c, const char *bucket, int window_s, int64_t *hits)
{
	char start[TIMEFMT_LEN];
	int rc = db_query_int(c, "SELECT hits FROM rate_limits WHERE bucket = ? AND window_start = ?",
			      DB_ARGS(DB_TEXT(bucket), DB_TEXT(window_start(window_s, start))), hits);

	return rc == DB_NOTFOUND ? DB_OK : rc;
}

int store_rate_clear(struct db_conn *c, const char *bucket)
{
	return db_exec(c, "DELETE FROM rate_limits WHERE bucket = ?", DB_ARGS(DB_TEXT(bucket)), NULL);
}

const char *store_login_account(char out[STORE_LOGIN_ACCOUNT_LEN], const char *kind, const char *name)
{
	snprintf(out, STORE_LOGIN_ACCOUNT_LEN, "%s:%s", kind, name);
	return out;
}

/* One statement reads and counts, so that parallel attempts each get their own number: the
 * database serialises them on the row, and exactly max_attempts of them come out at or under it. */
int store_login_claim(struct db_conn *c, const char *account, const char *ip, const struct login_rule *rule,
		      struct login_claim *out)
{
	char now[TIMEFMT_LEN], ends[TIMEFMT_LEN];
	time_t t = time(NULL);
	struct db_rows *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	timefmt_rfc3339(t, now);
	timefmt_rfc3339(t + rule->period_s, ends);
	rc = db_query(c,
		      "INSERT INTO login_attempts (account, ip, attempts, max_attempts, period_ends)"
		      " VALUES (?, ?, 1, ?, ?) ON CONFLICT (account, ip) DO UPDATE SET"
		      " attempts = CASE WHEN login_attempts.period_ends <= ? THEN 1"
		      " ELSE login_attempts.attempts + 1 END,"
		      " period_ends = CASE WHEN login_attempts.period_ends <= ?"
		      " OR login_attempts.attempts < excluded.max_attempts"
		      " THEN excluded.period_ends ELSE login_attempts.period_ends END,"
		      " max_attempts = excluded.max_attempts"
		      " RETURNING attempts, period_ends, ok_at",
		      DB_ARGS(DB_TEXT(account), DB_TEXT(ip), DB_INT(rule->max_attempts), DB_TEXT(ends),
			      DB_TEXT(now), DB_TEXT(now)),
		      &r);
	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		out->attempts = db_rows_int(r, 0);
		str_copy(out->until, db_rows_text(r, 1), sizeof(out->until));
		str_copy(out->ok_at, db_rows_text(r, 2), sizeof(out->ok_at));
	}
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_ERROR : rc;
}

int store_login_passed(struct db_conn *c, const char *account, const char *ip)
{
	char now[TIMEFMT_LEN];
	int rc = db_exec(c, "UPDATE login_attempts SET attempts = 0, ok_at = ? WHERE account = ? AND ip = ?",
			 DB_ARGS(DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(account), DB_TEXT(ip)),
			 NULL);

	if (rc == DB_OK)
		rc = db_exec(c,
			     "UPDATE login_attempts SET attempts = attempts - 1 WHERE account = ? AND ip = ?"
			     " AND attempts > 0",
			     DB_ARGS(DB_TEXT(account), DB_TEXT(STORE_LOGIN_ALL)), NULL);
	return rc;
}

int store_login_clear(struct db_conn *c, const char *account)
{
	return db_exec(c, "UPDATE login_attempts SET attempts = 0 WHERE account = ?",
		       DB_ARGS(DB_TEXT(account)), NULL);
}

/* Counts that ended a day ago are of no use; an address stays known for STORE_LOGIN_KNOWN_S. */
int store_login_purge(struct db_conn *c)
{
	char ended[TIMEFMT_LEN], known[TIMEFMT_LEN];
	time_t t = time(NULL);

	return db_exec(c, "DELETE FROM login_attempts WHERE period_ends < ? AND (ok_at IS NULL OR ok_at < ?)",
		       DB_ARGS(DB_TEXT(timefmt_rfc3339(t - 86400, ended)),
			       DB_TEXT(timefmt_rfc3339(t - STORE_LOGIN_KNOWN_S, known))),
		       NULL);
}
