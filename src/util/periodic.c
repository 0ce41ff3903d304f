/* periodic.h: one thread, a monotonic-clock condition variable to wait on and to be woken by stop. */
#include "util/periodic.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

struct periodic {
	periodic_fn fn;
	void *arg;
	int interval_s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	atomic_int stop;
};

static void *periodic_main(void *arg)
{
	struct periodic *p = arg;
	struct timespec until;

	while (!atomic_load(&p->stop)) {
		if (p->fn(p->arg, &p->stop))
			continue; /* more may be due */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += p->interval_s;
		pthread_mutex_lock(&p->mu);
		while (!atomic_load(&p->stop) &&
		       pthread_cond_timedwait(&p->wake, &p->mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

struct periodic *periodic_start(const char *name, periodic_fn fn, void *arg, int interval_s, char *err,
				size_t errlen)
{
	struct periodic *p = xcalloc(sizeof(*p));
	pthread_condattr_t ca;
	int rc;

	p->fn = fn;
	p->arg = arg;
	p->interval_s = interval_s;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&p->thread, NULL, periodic_main, p)) != 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(rc));
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	return p;
}

void periodic_stop(struct periodic *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, 1);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
