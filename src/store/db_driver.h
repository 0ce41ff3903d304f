/* What a database backend provides to db.c. Private to src/store. */
#ifndef CERTDESK_DB_DRIVER_H
#define CERTDESK_DB_DRIVER_H
#include "store/db.h"

struct db_driver {
	const char *name;
	/* Opens one connection; returns NULL with a message in err. */
	void *(*connect)(const struct config *cfg, char *err, size_t errlen);
	void (*disconnect)(void *h);
	int (*exec)(void *h, const char *sql, const struct db_val *args, int nargs, int64_t *changes);
	int (*query)(void *h, const char *sql, const struct db_val *args, int nargs, struct db_rows **out);
	int (*script)(void *h, const char *sql);
	const char *(*error)(void *h);
	/* SQL that opens an ordinary and a schema-changing transaction. */
	const char *begin_sql;
	const char *begin_exclusive_sql;
	/* SQL that opens a read-only snapshot for db_read_begin; NULL: nothing to gain (PostgreSQL). */
	const char *read_begin_sql;
	/* Makes a broken connection usable again where it can (PostgreSQL reconnect). */
	void (*revive)(void *h);
};

struct db_rows_ops {
	int (*next)(struct db_rows *r);
	const char *(*text)(struct db_rows *r, int col);
	void (*free)(struct db_rows *r);
};

/* Every backend's cursor starts with this header. */
struct db_rows {
	const struct db_rows_ops *ops;
};

extern const struct db_driver db_driver_sqlite;
extern const struct db_driver db_driver_pg;

/* Writes into out (outlen bytes; strlen(sql) * 4 + 16 is enough below 1,000 placeholders) the SQL with each
 * '?' outside quotes replaced by $1, $2, ...; returns the number of placeholders, or -1 (out empty) when it
 * does not fit. */
int db_sql_to_dollar(const char *sql, char *out, size_t outlen);

#endif
