/* Job leases: one conditional UPDATE decides who holds a lease, on both backends, with no lock held
 * between statements and no connection held while the job runs. */
#include <time.h>

#include "store/db.h"
#include "store/store_lease.h"
#include "util/timefmt.h"

struct take {
	const char *name, *holder;
	char now[TIMEFMT_LEN], until[TIMEFMT_LEN];
	int held;
};

/* The row exists from the first take on; the UPDATE takes it only when free or already ours. */
static int take_tx(struct db_conn *c, void *arg)
{
	struct take *t = arg;
	int64_t changed = 0;
	int rc = db_exec(c,
			 "INSERT INTO job_leases (name, holder, until) VALUES (?, '', ?) ON CONFLICT (name) "
			 "DO NOTHING",
			 DB_ARGS(DB_TEXT(t->name), DB_TEXT(t->now)), NULL);

	if (rc == DB_OK)
		rc = db_exec(c,
			     "UPDATE job_leases SET holder = ?, until = ? WHERE name = ? AND (until <= ? OR "
			     "holder = ?)",
			     DB_ARGS(DB_TEXT(t->holder), DB_TEXT(t->until), DB_TEXT(t->name), DB_TEXT(t->now),
				     DB_TEXT(t->holder)),
			     &changed);
	t->held = rc == DB_OK && changed == 1;
	return rc;
}

int store_lease_take(struct db *db, const char *name, const char *holder, int lease_s)
{
	struct take t = {.name = name, .holder = holder};
	time_t now = time(NULL);
	int rc;

	timefmt_rfc3339(now, t.now);
	timefmt_rfc3339(now + lease_s, t.until);
	rc = db_tx(db, take_tx, &t);
	return rc < 0 ? rc : t.held;
}

static int release_tx(struct db_conn *c, void *arg)
{
	const char *const *a = arg;
	char now[TIMEFMT_LEN];

	/* until = now: free for everyone (the take's "until <= now") from this second on */
	return db_exec(c, "UPDATE job_leases SET until = ? WHERE name = ? AND holder = ?",
		       DB_ARGS(DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(a[0]), DB_TEXT(a[1])),
		       NULL);
}

void store_lease_release(struct db *db, const char *name, const char *holder)
{
	const char *a[2] = {name, holder};

	db_tx(db, release_tx, (void *)a);
}
