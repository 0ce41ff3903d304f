/* A background job: a thread that calls fn again and again, waiting interval_s seconds between
 * calls while fn finds nothing more to do, and stops cleanly (a call in progress finishes; fn sees
 * *stop set and may cut a long pass short). Used by the outbox workers and the payment reconciler. */
#ifndef CERTDESK_UTIL_PERIODIC_H
#define CERTDESK_UTIL_PERIODIC_H
#include <stdatomic.h>
#include <stddef.h>

/* One pass of the job; returns 1 when there may be more to do at once, 0 to wait for the interval. */
typedef int (*periodic_fn)(void *arg, const atomic_int *stop);

struct periodic;

/* Starts the thread. Returns the job, or NULL with the reason (prefixed by name) in err. */
struct periodic *periodic_start(const char *name, periodic_fn fn, void *arg, int interval_s, char *err,
				size_t errlen);
/* Stops and frees p (NULL is fine), waiting for the pass in progress. */
void periodic_stop(struct periodic *p);

#endif
