/* Backend-neutral SQL access: a pool of connections to SQLite or PostgreSQL.
 * SQL text uses '?' placeholders (rewritten to $n for PostgreSQL) and is always prepared;
 * values are bound, never spliced into the text. Results come back as text or integers. */
#ifndef CERTDESK_DB_H
#define CERTDESK_DB_H
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct db_conn;
struct db_rows;

enum db_type { DBT_NULL, DBT_INT, DBT_TEXT };

struct db_val {
	enum db_type type;
	int64_t i;
	const char *s;
};

#define DB_INT(v) ((struct db_val){.type = DBT_INT, .i = (v)})
#define DB_TEXT(v) ((struct db_val){.type = (v) != NULL ? DBT_TEXT : DBT_NULL, .s = (v)})
#define DB_NULLV ((struct db_val){.type = DBT_NULL})
/* Expands to "array, count" for the argument list of db_exec / db_query. */
#define DB_ARGS(...)                                                                                         \
	(const struct db_val[]){__VA_ARGS__},                                                                \
		(int)(sizeof((const struct db_val[]){__VA_ARGS__}) / sizeof(struct db_val))
#define DB_NOARGS NULL, 0

enum db_status {
	DB_OK = 0,
	DB_ERROR = -1,    /* anything unexpected; see db_conn_error */
	DB_CONFLICT = -2, /* a unique or foreign-key constraint refused the change */
	DB_RETRY = -3,    /* busy, deadlock or serialisation failure: run the transaction again */
	DB_NOTFOUND = -4, /* no row where the caller needed one */
};

/* Opens a pool of cfg->pool_size connections to the configured backend. Returns 0, or -1 with
 * a message in err. The caller closes the pool with db_close. */
int db_open(struct db **out, const struct config *cfg, char *err, size_t errlen);
/* Closes every connection and frees the pool; all connections must have been released. */
void db_close(struct db *db);
/* Returns "sqlite" or "postgres". */
const char *db_backend_name(const struct db *db);

/* Takes a connection from the pool, waiting until one is free. Give it back with db_release. */
struct db_conn *db_acquire(struct db *db);
/* Returns a connection to the pool (rolling back a transaction left open). */
void db_release(struct db_conn *c);
/* Opens a read transaction on c for the reads that follow, up to db_read_end (or db_release):
 * on SQLite one snapshot and one set of file locks for all of them instead of one per statement
 * (the fcntl calls on the database and its WAL index took a fifth of an order page's time, issue
 * 17); nothing on PostgreSQL, nor inside a transaction. Only for reads: end it before writing. */
void db_read_begin(struct db_conn *c);
void db_read_end(struct db_conn *c);

/* Runs a statement that returns no rows; *changes (may be NULL) gets the rows changed.
 * Returns DB_OK or a negative enum db_status. */
int db_exec(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, int64_t *changes);
/* Runs a query; *out gets a cursor the caller frees with db_rows_free. Returns DB_OK or < 0. */
int db_query(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, struct db_rows **out);
/* Runs a query expected to return at most one row and copies its first column as text into
 * *out (caller frees; NULL for SQL NULL). Returns DB_OK, DB_NOTFOUND or < 0. */
int db_query_text(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, char **out);
/* Like db_query_text for an integer column. */
int db_query_int(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, int64_t *out);
/* Moves to the next row: returns 1 for a row, 0 at the end, < 0 on error. */
int db_rows_next(struct db_rows *r);
/* Returns column col of the current row as text (owned by the cursor), NULL for SQL NULL. */
const char *db_rows_text(struct db_rows *r, int col);
/* Returns column col of the current row as an integer (0 for NULL). */
int64_t db_rows_int(struct db_rows *r, int col);
/* Frees a cursor (NULL is fine). */
void db_rows_free(struct db_rows *r);

/* Opens a transaction on c, or a savepoint inside the one already open, so that functions which
 * change several rows can guard themselves and still compose. Returns DB_OK or < 0. */
int db_begin(struct db_conn *c);
/* Closes what db_begin opened: commits (or releases the savepoint) when rc is 0, rolls back
 * otherwise. Returns rc, or the commit's error. Usage: db_begin(c); rc = ...; return db_end(c, rc); */
int db_end(struct db_conn *c, int rc);
/* Runs fn inside one transaction on a pooled connection: commits when fn returns 0, rolls back
 * otherwise, and runs it again (a few times) when the database asks for a retry. Returns what
 * fn returned, or a negative enum db_status from BEGIN/COMMIT. */
int db_tx(struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg);
/* Like db_tx on a connection the caller already holds (a savepoint when a transaction is open). */
int db_tx_conn(struct db_conn *c, int (*fn)(struct db_conn *c, void *arg), void *arg);

/* Returns the last error message of the connection (owned by it). */
const char *db_conn_error(const struct db_conn *c);
/* Returns the text of the last database error on this thread ("" when none since the last clear):
 * what a 500's log line reports. */
const char *db_thread_error(void);
void db_thread_error_clear(void);
/* Returns the pool a connection belongs to. */
struct db *db_conn_pool(const struct db_conn *c);
/* Runs a multi-statement SQL script with no parameters (migrations only). Returns DB_OK or < 0. */
int db_exec_script(struct db_conn *c, const char *sql);
/* Serialises schema changes between processes (advisory lock / immediate transaction) and
 * opens a transaction. Returns DB_OK or < 0. */
int db_begin_exclusive(struct db_conn *c);
/* Commits the transaction opened by db_begin_exclusive. Returns DB_OK or < 0. */
int db_commit(struct db_conn *c);

#endif
