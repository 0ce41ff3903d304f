/* The store: every handler and command reads and writes the database through these functions,
 * which run the same SQL on SQLite and PostgreSQL (see db.h). Functions that take a db_conn run
 * inside the caller's transaction (db_tx); the others take a connection themselves. */
#ifndef CERTDESK_STORE_H
#define CERTDESK_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* --- schema (store_schema.c) --- */

/* Applies every migration newer than the database's version, in one exclusive transaction.
 * *applied (may be NULL) gets how many ran. Returns 0, or -1 with a message in err. */
int store_migrate(struct db *db, int *applied, char *err, size_t errlen);
/* Returns the database's schema version (0 before any migration), or < 0 on error. */
int store_schema_version(struct db *db);
/* Returns the newest schema version this program knows. */
int store_schema_latest(void);
/* Returns 0 when the database answers a trivial query, < 0 otherwise. */
int store_ping(struct db *db);

/* --- audit log (store_audit.c): hash-chained, append only --- */

struct audit_entry {
	const char *actor_kind; /* system, staff, org, cli */
	const char *actor_id;
	const char *action;      /* e.g. staff.create */
	const char *object_kind; /* e.g. staff */
	const char *object_id;
	const char *detail; /* JSON text, "{}" when there is nothing to add */
};

/* Appends e to the audit chain inside the caller's transaction. Returns DB_OK or < 0. */
int store_audit_append(struct db_conn *c, const struct audit_entry *e);
/* Recomputes the whole chain. Returns the number of entries checked, or -1 with *bad_seq set to
 * the first entry whose hash does not match, or < -1 on a database error. */
int64_t store_audit_verify(struct db *db, int64_t *bad_seq);

/* --- staff (store_staff.c) --- */

/* Creates a staff account with the given roles (comma-separated list of known roles) and audits
 * it; *id gets the new id. Returns DB_OK, DB_CONFLICT when the username exists, or < 0. */
int store_staff_create(struct db_conn *c, const char *username, const char *display_name,
		       const char *password_hash, const char *roles, const char *actor_kind,
		       const char *actor_id, int64_t *id);

/* --- projects (store_project.c) --- */

struct key_type_def {
	const char *key_type; /* main, secondary */
	const char *name;
	int64_t price_fen;
	int has_seal;
};

/* Creates a project with its key types, or leaves an existing project with that code as it is.
 * Returns DB_OK (created), DB_CONFLICT (it existed) or < 0. */
int store_project_ensure(struct db_conn *c, const char *code, const char *name, const char *order_prefix,
			 const struct key_type_def *types, int ntypes, const char *actor_kind,
			 const char *actor_id);

#endif
