/* Leases of background jobs (table job_leases): which server may run a job's pass now. */
#ifndef CERTDESK_STORE_LEASE_H
#define CERTDESK_STORE_LEASE_H

struct db;

/* Takes the lease of job name for holder for lease_s seconds when it is free (never taken, run out
 * or given back) or already holder's. Returns 1 when holder holds it, 0 when another server does,
 * < 0 (enum db_status) on a database error. */
int store_lease_take(struct db *db, const char *name, const char *holder, int lease_s);
/* Gives holder's lease of job name back, so that any server may take it at once. */
void store_lease_release(struct db *db, const char *name, const char *holder);

#endif
