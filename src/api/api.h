/* The JSON API of certdeskd: the route table and the context every handler reaches through
 * http_ctx(). One file per resource implements its handlers. */
#ifndef CERTDESK_API_H
#define CERTDESK_API_H
#include "http/http.h"

struct config;
struct db;

struct app {
	const struct config *cfg;
	struct db *db;
};

/* The route table of certdeskd (routes.c); docs/openapi.yaml describes each entry. */
extern const struct route api_routes[];
extern const int api_route_count;

/* Returns the program version, e.g. "0.1.0". */
const char *api_version(void);

/* --- handlers, by resource --- */
int api_meta_get(struct http_req *r);    /* meta.c */
int api_healthz_get(struct http_req *r); /* meta.c */

#endif
