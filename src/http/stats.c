/* Request counters per route: each route has a few status slots claimed by compare-and-swap and a
 * fixed latency histogram, all atomics, so that counting never serialises the worker threads. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"
#include "http/stats.h"
#include "util/xalloc.h"

#define STATUS_SLOTS 12 /* distinct statuses counted per route; more fall into the last slot */

/* Upper bounds of the latency buckets, in seconds (Prometheus' usual ones). */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct route_stats {
	atomic_uint status[STATUS_SLOTS]; /* 0: slot free; the last slot counts "other" statuses */
	atomic_ullong count[STATUS_SLOTS];
	atomic_ullong bucket[NBOUNDS + 1]; /* per bucket (not cumulative); the last is +Inf */
	atomic_ullong sum_us;
};

struct http_stats {
	const struct route *routes;
	int nroutes;
	struct route_stats *by_route; /* nroutes + 1: the last one for requests no route matched */
};

struct http_stats *http_stats_new(const struct route *routes, int nroutes)
{
	struct http_stats *st = xcalloc(sizeof(*st));

	st->routes = routes;
	st->nroutes = nroutes;
	st->by_route = xcalloc(sizeof(struct route_stats) * (size_t)(nroutes + 1));
	return st;
}

void http_stats_free(struct http_stats *st)
{
	if (st == NULL)
		return;
	free(st->by_route);
	free(st);
}

/* Returns the slot of rs that counts status, claiming a free one the first time it is seen. */
static int status_slot(struct route_stats *rs, unsigned status)
{
	for (int i = 0; i < STATUS_SLOTS - 1; i++) {
		unsigned seen = atomic_load(&rs->status[i]);
		if (seen == 0) {
			unsigned expect = 0;
			if (atomic_compare_exchange_strong(&rs->status[i], &expect, status) ||
			    expect == status)
				return i;
			seen = expect;
		}
		if (seen == status)
			return i;
	}
	return STATUS_SLOTS - 1;
}

void http_stats_record(struct http_stats *st, int route, unsigned status, double seconds)
{
	struct route_stats *rs;
	size_t b = 0;

	if (st == NULL)
		return;
	rs = &st->by_route[route >= 0 && route < st->nroutes ? route : st->nroutes];
	atomic_fetch_add(&rs->count[status_slot(rs, status)], 1);
	while (b < NBOUNDS && seconds > bounds[b])
		b++;
	atomic_fetch_add(&rs->bucket[b], 1);
	atomic_fetch_add(&rs->sum_us, (unsigned long long)(seconds > 0 ? seconds * 1e6 : 0));
}

/* Writes the label pair of route i: method and pattern (patterns hold no quote or backslash). */
static void labels(const struct http_stats *st, int i, FILE *f)
{
	if (i < st->nroutes)
		fprintf(f, "method=\"%s\",route=\"%s\"", st->routes[i].method, st->routes[i].pattern);
	else
		fprintf(f, "method=\"\",route=\"-\"");
}

/* Writes the request counters of route i (statuses seen so far). */
static void write_counts(const struct http_stats *st, int i, FILE *f)
{
	struct route_stats *rs = &st->by_route[i];

	for (int s = 0; s < STATUS_SLOTS; s++) {
		unsigned long long n = atomic_load(&rs->count[s]);
		unsigned code = atomic_load(&rs->status[s]);
		if (n == 0)
			continue;
		fprintf(f, "certdesk_http_requests_total{");
		labels(st, i, f);
		if (s == STATUS_SLOTS - 1)
			fprintf(f, ",status=\"other\"} %llu\n", n);
		else
			fprintf(f, ",status=\"%u\"} %llu\n", code, n);
	}
}

/* Writes the latency histogram of route i, when it served any request. */
static void write_histogram(const struct http_stats *st, int i, FILE *f)
{
	struct route_stats *rs = &st->by_route[i];
	unsigned long long cum = 0;

	for (size_t b = 0; b <= NBOUNDS; b++)
		cum += atomic_load(&rs->bucket[b]);
	if (cum == 0)
		return;
	cum = 0;
	for (size_t b = 0; b <= NBOUNDS; b++) {
		cum += atomic_load(&rs->bucket[b]);
		fprintf(f, "certdesk_http_request_duration_seconds_bucket{");
		labels(st, i, f);
		if (b < NBOUNDS)
			fprintf(f, ",le=\"%g\"} %llu\n", bounds[b], cum);
		else
			fprintf(f, ",le=\"+Inf\"} %llu\n", cum);
	}
	fprintf(f, "certdesk_http_request_duration_seconds_sum{");
	labels(st, i, f);
	fprintf(f, "} %.6f\ncertdesk_http_request_duration_seconds_count{",
		(double)atomic_load(&rs->sum_us) / 1e6);
	labels(st, i, f);
	fprintf(f, "} %llu\n", cum);
}

void http_stats_write(const struct http_req *r, FILE *f)
{
	const struct http_stats *st = r->stats;

	if (st == NULL)
		return;
	fprintf(f, "# HELP certdesk_http_requests_total Requests answered, by route pattern and status.\n"
		   "# TYPE certdesk_http_requests_total counter\n");
	for (int i = 0; i <= st->nroutes; i++)
		write_counts(st, i, f);
	fprintf(f, "# HELP certdesk_http_request_duration_seconds Time from a request's head to its last "
		   "byte sent, by route pattern.\n# TYPE certdesk_http_request_duration_seconds histogram\n");
	for (int i = 0; i <= st->nroutes; i++)
		write_histogram(st, i, f);
}
