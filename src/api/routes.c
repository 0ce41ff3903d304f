#include "api/api.h"

/* Every route of certdeskd. tests/unit/test_openapi.c fails when this and docs/openapi.yaml differ. */
const struct route api_routes[] = {
	{"GET", "/healthz", api_healthz_get},
	{"GET", "/api/v1/meta", api_meta_get},
};

const int api_route_count = (int)(sizeof(api_routes) / sizeof(api_routes[0]));
