/* SQLite backend: WAL, foreign keys on, a polling busy handler, prepared statements cached per
 * connection. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "store/db_driver.h"
#include "util/xalloc.h"

#define STMT_CACHE 64

struct sq {
	sqlite3 *db;
	int busy_timeout_ms;
	long long busy_since_ms; /* when the current wait for a lock began */
	struct {
		char *sql;
		const char *key; /* the caller's pointer it was last found by (compared, never read) */
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	int next_slot;
};

struct sq_rows {
	struct db_rows base;
	sqlite3_stmt *st;
	struct sq *h;
};

/* Maps an SQLite result code to enum db_status. */
static int sq_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return DB_OK;
	case SQLITE_CONSTRAINT:
		return DB_CONFLICT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_RETRY;
	default:
		return DB_ERROR;
	}
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits for another connection's write lock by polling every millisecond (0.2 ms at first) until
 * busy_timeout_ms have passed. SQLite's own busy timeout sleeps longer and longer (up to 100 ms a
 * time), which under steady writes from several threads left requests waiting a second or more for a
 * lock that had long been free (measured by bench/notify.sh). */
static int sq_busy(void *arg, int count)
{
	struct sq *h = arg;
	long long now = now_ms();

	if (count == 0)
		h->busy_since_ms = now;
	if (now - h->busy_since_ms >= h->busy_timeout_ms)
		return 0;
	usleep(count < 10 ? 200 : 1000);
	return 1;
}

/* SQLite counts every allocation under one process-wide mutex unless told not to (we never read
 * the counts): set once, before the library initialises on the first open. */
static void sq_global_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void *sq_connect(const struct config *cfg, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sq *h = xcalloc(sizeof(*h));
	char *pragmas;
	int rc;

	pthread_once(&once, sq_global_config);
	rc = sqlite3_open_v2(cfg->sqlite_path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "sqlite %s: %s", cfg->sqlite_path,
			 h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
		sqlite3_close(h->db);
		free(h);
		return NULL;
	}
	h->busy_timeout_ms = cfg->busy_timeout_ms;
	sqlite3_busy_handler(h->db, sq_busy, h);
	/* FULL synchronous: a committed payment or order must survive a power cut, not only a crash. */
	pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;";
	if (sqlite3_exec(h->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite %s: %s", cfg->sqlite_path, sqlite3_errmsg(h->db));
		sqlite3_close(h->db);
		free(h);
		return NULL;
	}
	return h;
}

static void sq_disconnect(void *p)
{
	struct sq *h = p;

	for (int i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(h->cache[i].st);
		free(h->cache[i].sql);
	}
	sqlite3_close(h->db);
	free(h);
}

/* Returns st reset and unbound, for another run. */
static sqlite3_stmt *reuse(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Returns the cached prepared statement for sql, preparing it on first use; NULL on error. */
static sqlite3_stmt *sq_prepare(struct sq *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int slot;

	/* The SQL is nearly always a string literal of a store function: the same pointer each call,
	 * so the entry last found by this pointer is tried first, with one comparison instead of a
	 * scan (strcmp over the cache was 2.5 % of an order page). The text is still compared: a
	 * buffer built at the same address may hold other SQL. */
	for (int i = 0; i < STMT_CACHE; i++)
		if (h->cache[i].key == sql && strcmp(h->cache[i].sql, sql) == 0)
			return reuse(h->cache[i].st);
	for (int i = 0; i < STMT_CACHE; i++)
		if (h->cache[i].sql != NULL && strcmp(h->cache[i].sql, sql) == 0) {
			h->cache[i].key = sql;
			return reuse(h->cache[i].st);
		}
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	slot = h->next_slot;
	h->next_slot = (h->next_slot + 1) % STMT_CACHE;
	sqlite3_finalize(h->cache[slot].st);
	free(h->cache[slot].sql);
	h->cache[slot].sql = xstrdup(sql);
	h->cache[slot].key = sql;
	h->cache[slot].st = st;
	return st;
}

/* Prepares sql and binds args; returns the statement or NULL. */
static sqlite3_stmt *sq_bind(struct sq *h, const char *sql, const struct db_val *args, int nargs)
{
	sqlite3_stmt *st = sq_prepare(h, sql);

	if (st == NULL || sqlite3_bind_parameter_count(st) != nargs)
		return NULL;
	for (int i = 0; i < nargs; i++) {
		int rc = SQLITE_OK;
		if (args[i].type == DBT_INT)
			rc = sqlite3_bind_int64(st, i + 1, args[i].i);
		else if (args[i].type == DBT_TEXT)
			rc = sqlite3_bind_text(st, i + 1, args[i].s, -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_null(st, i + 1);
		if (rc != SQLITE_OK)
			return NULL;
	}
	return st;
}

static int sq_exec(void *p, const char *sql, const struct db_val *args, int nargs, int64_t *changes)
{
	struct sq *h = p;
	sqlite3_stmt *st = sq_bind(h, sql, args, nargs);
	int rc;

	if (st == NULL)
		return DB_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	if (changes != NULL)
		*changes = sqlite3_changes64(h->db);
	return sq_status(rc);
}

static int sq_rows_next(struct db_rows *base)
{
	struct sq_rows *r = (struct sq_rows *)base;
	int rc = sqlite3_step(r->st);

	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : (sq_status(rc) < 0 ? sq_status(rc) : DB_ERROR);
}

static const char *sq_rows_text(struct db_rows *base, int col)
{
	struct sq_rows *r = (struct sq_rows *)base;

	if (col >= sqlite3_column_count(r->st) || sqlite3_column_type(r->st, col) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(r->st, col);
}

static void sq_rows_free(struct db_rows *base)
{
	struct sq_rows *r = (struct sq_rows *)base;

	sqlite3_reset(r->st);
	free(r);
}

static const struct db_rows_ops sq_rows_ops = {sq_rows_next, sq_rows_text, sq_rows_free};

static int sq_query(void *p, const char *sql, const struct db_val *args, int nargs, struct db_rows **out)
{
	struct sq *h = p;
	sqlite3_stmt *st = sq_bind(h, sql, args, nargs);
	struct sq_rows *r;

	if (st == NULL)
		return DB_ERROR;
	r = xcalloc(sizeof(*r));
	r->base.ops = &sq_rows_ops;
	r->st = st;
	r->h = h;
	*out = &r->base;
	return DB_OK;
}

static int sq_script(void *p, const char *sql)
{
	struct sq *h = p;

	return sq_status(sqlite3_exec(h->db, sql, NULL, NULL, NULL));
}

static const char *sq_error(void *p)
{
	return sqlite3_errmsg(((struct sq *)p)->db);
}

const struct db_driver db_driver_sqlite = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.exec = sq_exec,
	.query = sq_query,
	.script = sq_script,
	.error = sq_error,
	/* IMMEDIATE takes the write lock up front, so two writers wait instead of deadlocking. */
	.begin_sql = "BEGIN IMMEDIATE",
	.begin_exclusive_sql = "BEGIN EXCLUSIVE",
	/* DEFERRED takes no lock until the first read, and then only a reader's. */
	.read_begin_sql = "BEGIN DEFERRED",
	.revive = NULL,
};
