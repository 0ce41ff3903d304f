/* PostgreSQL backend (libpq): named prepared statements cached per connection, text results. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/db_driver.h"
#include "util/log.h"
#include "util/xalloc.h"

#define STMT_CACHE 128
#define MAX_ARGS 64

struct pg {
	PGconn *conn;
	struct {
		char *sql;
		char name[16];
	} cache[STMT_CACHE];
	int next_slot;
	unsigned serial;
	char err[512];
};

struct pg_rows {
	struct db_rows base;
	PGresult *res;
	int row; /* current row, -1 before the first */
};

/* The server's warnings (libpq would print them on stderr as plain text): a JSON log line each. */
static void pg_notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && message[n - 1] == '\n')
		n--;
	log_warn("database", "postgres: %.*s", (int)n, message);
}

static void *pg_connect(const struct config *cfg, char *err, size_t errlen)
{
	struct pg *h = xcalloc(sizeof(*h));
	PGresult *res;

	h->conn = PQconnectdb(cfg->postgres_conninfo);
	if (PQstatus(h->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "postgres: %s", PQerrorMessage(h->conn));
		PQfinish(h->conn);
		free(h);
		return NULL;
	}
	PQsetNoticeProcessor(h->conn, pg_notice, NULL);
	/* Times are stored as text in UTC; keep the session quiet and in UTC. */
	res = PQexec(h->conn, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
	PQclear(res);
	return h;
}

static void pg_disconnect(void *p)
{
	struct pg *h = p;

	for (int i = 0; i < STMT_CACHE; i++)
		free(h->cache[i].sql);
	PQfinish(h->conn);
	free(h);
}

/* Reconnects a connection the server dropped; its prepared statements are gone with it. */
static void pg_revive(void *p)
{
	struct pg *h = p;

	if (PQstatus(h->conn) == CONNECTION_OK)
		return;
	PQreset(h->conn);
	for (int i = 0; i < STMT_CACHE; i++) {
		free(h->cache[i].sql);
		h->cache[i].sql = NULL;
	}
}

/* Maps a failed result to enum db_status by its SQLSTATE and keeps the message. */
static int pg_status(struct pg *h, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return DB_OK;
	snprintf(h->err, sizeof(h->err), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(h->conn));
	if (state == NULL)
		return DB_ERROR;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		return DB_RETRY;
	return DB_ERROR;
}

/* Returns the name of the prepared statement for sql, preparing it on first use; NULL on error. */
static const char *pg_prepare(struct pg *h, const char *sql)
{
	size_t len = strlen(sql) * 4 + 16;
	char *text;
	PGresult *res;
	int slot, rc;

	for (int i = 0; i < STMT_CACHE; i++)
		if (h->cache[i].sql != NULL && strcmp(h->cache[i].sql, sql) == 0)
			return h->cache[i].name;
	slot = h->next_slot;
	h->next_slot = (h->next_slot + 1) % STMT_CACHE;
	if (h->cache[slot].sql != NULL) {
		char dealloc[48];
		snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", h->cache[slot].name);
		PQclear(PQexec(h->conn, dealloc));
		free(h->cache[slot].sql);
		h->cache[slot].sql = NULL;
	}
	text = xcalloc(len);
	if (db_sql_to_dollar(sql, text, len) < 0)
		abort(); /* the buffer is sized for the worst case */
	snprintf(h->cache[slot].name, sizeof(h->cache[slot].name), "s%u", ++h->serial);
	res = PQprepare(h->conn, h->cache[slot].name, text, 0, NULL);
	free(text);
	rc = pg_status(h, res);
	PQclear(res);
	if (rc != DB_OK)
		return NULL;
	h->cache[slot].sql = xstrdup(sql);
	return h->cache[slot].name;
}

/* Runs sql with args; returns the result (caller clears) or NULL when preparing failed. */
static PGresult *pg_run(struct pg *h, const char *sql, const struct db_val *args, int nargs)
{
	char nums[MAX_ARGS][24];
	const char *vals[MAX_ARGS];
	const char *name;

	if (nargs > MAX_ARGS)
		return NULL;
	/* BEGIN/COMMIT/ROLLBACK are not worth a prepared statement each. */
	if (nargs == 0 && strchr(sql, '?') == NULL && strncmp(sql, "SELECT", 6) != 0)
		return PQexec(h->conn, sql);
	name = pg_prepare(h, sql);
	if (name == NULL)
		return NULL;
	for (int i = 0; i < nargs; i++) {
		if (args[i].type == DBT_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)args[i].i);
			vals[i] = nums[i];
		} else {
			vals[i] = args[i].type == DBT_TEXT ? args[i].s : NULL;
		}
	}
	return PQexecPrepared(h->conn, name, nargs, vals, NULL, NULL, 0);
}

static int pg_exec(void *p, const char *sql, const struct db_val *args, int nargs, int64_t *changes)
{
	struct pg *h = p;
	PGresult *res = pg_run(h, sql, args, nargs);
	int rc;

	if (res == NULL)
		return DB_ERROR;
	rc = pg_status(h, res);
	if (rc == DB_OK && changes != NULL)
		*changes = strtoll(PQcmdTuples(res)[0] ? PQcmdTuples(res) : "0", NULL, 10);
	PQclear(res);
	return rc;
}

static int pg_rows_next(struct db_rows *base)
{
	struct pg_rows *r = (struct pg_rows *)base;

	if (r->row + 1 >= PQntuples(r->res))
		return 0;
	r->row++;
	return 1;
}

static const char *pg_rows_text(struct db_rows *base, int col)
{
	struct pg_rows *r = (struct pg_rows *)base;

	if (r->row < 0 || col >= PQnfields(r->res) || PQgetisnull(r->res, r->row, col))
		return NULL;
	return PQgetvalue(r->res, r->row, col);
}

static void pg_rows_free(struct db_rows *base)
{
	struct pg_rows *r = (struct pg_rows *)base;

	PQclear(r->res);
	free(r);
}

static const struct db_rows_ops pg_rows_ops = {pg_rows_next, pg_rows_text, pg_rows_free};

static int pg_query(void *p, const char *sql, const struct db_val *args, int nargs, struct db_rows **out)
{
	struct pg *h = p;
	PGresult *res = pg_run(h, sql, args, nargs);
	struct pg_rows *r;
	int rc;

	if (res == NULL)
		return DB_ERROR;
	rc = pg_status(h, res);
	if (rc != DB_OK) {
		PQclear(res);
		return rc;
	}
	r = xcalloc(sizeof(*r));
	r->base.ops = &pg_rows_ops;
	r->res = res;
	r->row = -1;
	*out = &r->base;
	return DB_OK;
}

static int pg_script(void *p, const char *sql)
{
	struct pg *h = p;
	PGresult *res = PQexec(h->conn, sql);
	int rc = pg_status(h, res);

	PQclear(res);
	return rc;
}

static const char *pg_error(void *p)
{
	struct pg *h = p;

	return h->err[0] ? h->err : PQerrorMessage(h->conn);
}

const struct db_driver db_driver_pg = {
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.exec = pg_exec,
	.query = pg_query,
	.script = pg_script,
	.error = pg_error,
	.begin_sql = "BEGIN",
	/* The advisory lock makes concurrent start-ups apply migrations one after another. */
	.begin_exclusive_sql = "BEGIN; SELECT pg_advisory_xact_lock(4242001)",
	.revive = pg_revive,
};
