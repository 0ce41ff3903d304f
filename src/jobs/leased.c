/* leased.h: take the lease, run the pass, give the lease back. */
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include "jobs/leased.h"
#include "store/store_lease.h"

void leased_job_init(struct leased_job *j, struct db *db, const char *name, int lease_s, periodic_fn fn,
		     void *arg)
{
	char host[32] = "";

	gethostname(host, sizeof(host) - 1);
	*j = (struct leased_job){.db = db, .name = name, .lease_s = lease_s, .fn = fn, .arg = arg};
	snprintf(j->holder, sizeof(j->holder), "%.31s/%ld/%08x", host, (long)getpid(), randombytes_random());
}

int leased_job_pass(void *arg, const atomic_int *stop)
{
	struct leased_job *j = arg;
	int more;

	if (store_lease_take(j->db, j->name, j->holder, j->lease_s) != 1)
		return 0;
	more = j->fn(j->arg, stop);
	store_lease_release(j->db, j->name, j->holder);
	return more;
}
