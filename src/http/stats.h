/* Per-route request counters and latency histograms of an HTTP server, for /metrics. Recorded
 * with atomic additions only (no lock on the request path), written in Prometheus text format. */
#ifndef CERTDESK_HTTP_STATS_H
#define CERTDESK_HTTP_STATS_H
#include <stdio.h>

#include "http/http.h"

struct http_stats;

/* Returns the counters for a table of nroutes routes (the table must outlive them). */
struct http_stats *http_stats_new(const struct route *routes, int nroutes);
/* Frees what http_stats_new returned (NULL is fine). */
void http_stats_free(struct http_stats *st);
/* Counts one finished request of route index route (-1: none matched, static files included) with
 * its status and duration in seconds. Safe from any thread. */
void http_stats_record(struct http_stats *st, int route, unsigned status, double seconds);
/* Writes certdesk_http_requests_total and certdesk_http_request_duration_seconds of the server that
 * serves r to f, in Prometheus text format 0.0.4. */
void http_stats_write(const struct http_req *r, FILE *f);

#endif
