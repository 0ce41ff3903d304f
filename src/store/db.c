#include "store/db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/db_driver.h"
#include "util/strnum.h"
#include "util/xalloc.h"

struct db_conn {
	struct db *pool;
	void *handle;
	int depth; /* open transaction levels: 1 = BEGIN, more = savepoints */
	int reading; /* a db_read_begin transaction is open */
	int busy;
};

struct db {
	const struct db_driver *drv;
	pthread_mutex_t mu;
	pthread_cond_t freed;
	int n;
	struct db_conn *conns;
};

/* How often db_tx runs a transaction the database asked to retry. */
#define TX_ATTEMPTS 5

int db_open(struct db **out, const struct config *cfg, char *err, size_t errlen)
{
	struct db *db = xcalloc(sizeof(*db));

	db->drv = cfg->backend == DB_BACKEND_POSTGRES ? &db_driver_pg : &db_driver_sqlite;
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->freed, NULL);
	db->conns = xcalloc(sizeof(struct db_conn) * (size_t)cfg->pool_size);
	for (int i = 0; i < cfg->pool_size; i++) {
		db->conns[i].pool = db;
		db->conns[i].handle = db->drv->connect(cfg, err, errlen);
		if (db->conns[i].handle == NULL) {
			db_close(db);
			return -1;
		}
		db->n++;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < db->n; i++)
		db->drv->disconnect(db->conns[i].handle);
	free(db->conns);
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

const char *db_backend_name(const struct db *db)
{
	return db->drv->name;
}

struct db_conn *db_acquire(struct db *db)
{
	struct db_conn *c = NULL;

	pthread_mutex_lock(&db->mu);
	while (c == NULL) {
		for (int i = 0; i < db->n && c == NULL; i++)
			if (!db->conns[i].busy)
				c = &db->conns[i];
		if (c == NULL)
			pthread_cond_wait(&db->freed, &db->mu);
	}
	c->busy = 1;
	pthread_mutex_unlock(&db->mu);
	if (db->drv->revive != NULL)
		db->drv->revive(c->handle);
	return c;
}

void db_release(struct db_conn *c)
{
	struct db *db;

	if (c == NULL)
		return;
	db = c->pool;
	db_read_end(c);
	if (c->depth > 0) {
		db->drv->exec(c->handle, "ROLLBACK", NULL, 0, NULL);
		c->depth = 0;
	}
	pthread_mutex_lock(&db->mu);
	c->busy = 0;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->mu);
}

void db_read_begin(struct db_conn *c)
{
	const struct db_driver *drv = c->pool->drv;

	if (drv->read_begin_sql == NULL || c->depth > 0 || c->reading)
		return;
	/* A failure only costs the locks it would have saved: the reads run on their own. */
	c->reading = drv->exec(c->handle, drv->read_begin_sql, NULL, 0, NULL) == DB_OK;
}

void db_read_end(struct db_conn *c)
{
	if (!c->reading)
		return;
	c->reading = 0;
	c->pool->drv->exec(c->handle, "COMMIT", NULL, 0, NULL);
}

static _Thread_local char thread_error[512];

const char *db_thread_error(void)
{
	return thread_error;
}

void db_thread_error_clear(void)
{
	thread_error[0] = '\0';
}

/* Keeps the connection's error text for the log line of the request when rc is an error. */
static int noted(struct db_conn *c, int rc)
{
	if (rc == DB_ERROR)
		snprintf(thread_error, sizeof(thread_error), "%s", c->pool->drv->error(c->handle));
	return rc;
}

int db_exec(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, int64_t *changes)
{
	if (changes != NULL)
		*changes = 0;
	return noted(c, c->pool->drv->exec(c->handle, sql, args, nargs, changes));
}

int db_query(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, struct db_rows **out)
{
	*out = NULL;
	return noted(c, c->pool->drv->query(c->handle, sql, args, nargs, out));
}

int db_query_text(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, char **out)
{
	struct db_rows *r;
	int rc = db_query(c, sql, args, nargs, &r);

	*out = NULL;
	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1) {
		*out = xstrdup(db_rows_text(r, 0));
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_NOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

int db_query_int(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, int64_t *out)
{
	char *s = NULL;
	int rc = db_query_text(c, sql, args, nargs, &s);

	*out = 0;
	if (rc == DB_OK && s != NULL && strnum_parse(s, INT64_MIN, INT64_MAX, out) != 0)
		rc = DB_ERROR;
	free(s);
	return rc;
}

int db_rows_next(struct db_rows *r)
{
	return r->ops->next(r);
}

const char *db_rows_text(struct db_rows *r, int col)
{
	return r->ops->text(r, col);
}

int64_t db_rows_int(struct db_rows *r, int col)
{
	const char *s = r->ops->text(r, col);
	int64_t v = 0;

	if (s != NULL && strnum_parse(s, INT64_MIN, INT64_MAX, &v) != 0)
		v = 0;
	return v;
}

void db_rows_free(struct db_rows *r)
{
	if (r != NULL)
		r->ops->free(r);
}

int db_begin(struct db_conn *c)
{
	const struct db_driver *drv = c->pool->drv;
	char sql[32];
	int rc;

	if (c->depth == 0) {
		rc = drv->exec(c->handle, drv->begin_sql, NULL, 0, NULL);
	} else {
		snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", c->depth);
		rc = drv->exec(c->handle, sql, NULL, 0, NULL);
	}
	if (rc == DB_OK)
		c->depth++;
	return rc;
}

int db_end(struct db_conn *c, int rc)
{
	const struct db_driver *drv = c->pool->drv;
	char sql[48];

	if (c->depth <= 0)
		return DB_ERROR;
	c->depth--;
	if (c->depth == 0) {
		if (rc == 0)
			rc = drv->exec(c->handle, "COMMIT", NULL, 0, NULL);
		if (rc != 0)
			drv->exec(c->handle, "ROLLBACK", NULL, 0, NULL);
		return rc;
	}
	if (rc != 0) {
		snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT sp%d", c->depth);
		drv->exec(c->handle, sql, NULL, 0, NULL);
	}
	snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%d", c->depth);
	drv->exec(c->handle, sql, NULL, 0, NULL);
	return rc;
}

int db_tx_conn(struct db_conn *c, int (*fn)(struct db_conn *, void *), void *arg)
{
	int rc = DB_RETRY;

	/* Only a whole transaction can be run again; a nested one reports the retry to its owner. */
	for (int i = 0; i < TX_ATTEMPTS && rc == DB_RETRY; i++) {
		rc = db_begin(c);
		if (rc == DB_OK)
			rc = db_end(c, fn(c, arg));
		if (c->depth > 0)
			break;
	}
	return rc;
}

int db_tx(struct db *db, int (*fn)(struct db_conn *, void *), void *arg)
{
	struct db_conn *c = db_acquire(db);
	int rc = db_tx_conn(c, fn, arg);

	db_release(c);
	return rc;
}

const char *db_conn_error(const struct db_conn *c)
{
	return c->pool->drv->error(c->handle);
}

struct db *db_conn_pool(const struct db_conn *c)
{
	return c->pool;
}

int db_exec_script(struct db_conn *c, const char *sql)
{
	return c->pool->drv->script(c->handle, sql);
}

int db_begin_exclusive(struct db_conn *c)
{
	int rc = c->depth > 0
			 ? DB_ERROR
			 : c->pool->drv->exec(c->handle, c->pool->drv->begin_exclusive_sql, NULL, 0, NULL);

	if (rc == DB_OK)
		c->depth = 1;
	return rc;
}

int db_sql_to_dollar(const char *sql, char *out, size_t outlen)
{
	size_t o = 0;
	int n = 0;
	char quote = 0, num[16];

	if (outlen == 0)
		return -1;
	for (const char *p = sql; *p != '\0'; p++) {
		const char *piece = p;
		size_t len = 1;
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			len = (size_t)snprintf(num, sizeof(num), "$%d", ++n);
			piece = num;
		}
		if (o + len + 1 > outlen) {
			out[0] = '\0';
			return -1;
		}
		memcpy(out + o, piece, len);
		o += len;
	}
	out[o] = '\0';
	return n;
}

int db_commit(struct db_conn *c)
{
	return db_end(c, 0);
}
