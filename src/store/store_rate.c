#include <time.h>

#include "store/store.h"
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
