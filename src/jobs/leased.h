/* A periodic job's pass that runs on one server at a time among those sharing the database: the pass
 * runs only while this server holds the job's lease (store/store_lease.h), given back at its end.
 * Wraps the CRL/OCSP publishing pass and payment reconciliation in certdeskd. */
#ifndef CERTDESK_JOBS_LEASED_H
#define CERTDESK_JOBS_LEASED_H
#include <stdatomic.h>

#include "util/periodic.h"

struct db;

struct leased_job {
	struct db *db;
	const char *name; /* the lease's name, e.g. "pki_publish" */
	int lease_s;      /* longer than a pass can take: a server that dies holds the others up this long */
	periodic_fn fn;   /* the pass */
	void *arg;
	char holder[64]; /* this server: host name, process id and a random number */
};

/* Fills j for the pass fn(arg) under the lease name. */
void leased_job_init(struct leased_job *j, struct db *db, const char *name, int lease_s, periodic_fn fn,
		     void *arg);
/* A periodic_fn (arg: a struct leased_job): runs the pass when the lease is this server's, else
 * returns 0 (another server runs it; wait for the next interval). */
int leased_job_pass(void *arg, const atomic_int *stop);

#endif
