/* libFuzzer driver for src/http/router.c. The input is "METHOD path" (no space: GET and the whole
 * input as path); the path is matched against a table with parameters and a wildcard, with the
 * server's 1024-byte parameter buffer and with a small one, and the results are checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

static int h(struct http_req *r)
{
	(void)r;
	return 0;
}

static const struct route routes[] = {
	{"GET", "/healthz", h, 0},
	{"GET", "/api/v1/meta", h, 0},
	{"GET", "/api/v1/orders", h, 0},
	{"POST", "/api/v1/orders", h, 0},
	{"GET", "/api/v1/orders/{order_no}", h, 0},
	{"DELETE", "/api/v1/orders/{order_no}", h, 0},
	{"POST", "/api/v1/orders/{order_no}/submit", h, 0},
	{"GET", "/api/v1/orders/{order_no}/documents/{kind}", h, 0},
	{"PUT", "/api/v1/orders/{order_no}/documents/{kind}", h, 0},
	{"GET", "/static/*", h, 0},
	{"GET", "/files/{id}/*", h, 0},
	{"PATCH", "/{a}/{b}", h, 0},
	{"GET", "/p/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", h, 0},
	{"GET", "/q/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h, 0},
};
#define NROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

/* Reports a broken invariant with the input and aborts, so libFuzzer saves the input. */
#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz_router: %s failed (method \"%s\", path \"%s\")\n", #cond,      \
				method, path);                                                               \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* Checks a ROUTE_FOUND result: the route, the counts, and that the parameters put back into
 * the pattern give the path again. */
static void check_found(const char *method, const char *path, const struct route *rt, const char **names,
			const char **values, int n, const char *buf, size_t bufsize)
{
	const char *p = rt->pattern, *s = path;
	int braces = 0;

	CHECK(rt >= routes && rt < routes + NROUTES);
	CHECK(strcmp(rt->method, method) == 0 ||
	      (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0));
	CHECK(n >= 0 && n <= HTTP_MAX_PARAMS);
	for (const char *q = rt->pattern; *q != '\0'; q++)
		braces += *q == '{';
	CHECK(n == braces);
	for (int i = 0; i < n; i++) {
		CHECK(values[i] >= buf && values[i] < buf + bufsize);
		CHECK(memchr(values[i], '\0', bufsize - (size_t)(values[i] - buf)) != NULL);
		CHECK(values[i][0] != '\0' && strchr(values[i], '/') == NULL);
		CHECK(names[i] > rt->pattern && names[i] < rt->pattern + strlen(rt->pattern));
		CHECK(names[i][-1] == '{');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(names[i], "}"), names[i]);
		CHECK(router_param(names, values, n, name) == values[i]);
	}
	/* Rebuild the path from the pattern and the values. */
	for (int i = 0; *p != '\0';) {
		if (p[0] == '*' && p[1] == '\0')
			return; /* the wildcard took the rest */
		if (*p == '{') {
			size_t len = strlen(values[i]);
			CHECK(strncmp(s, values[i], len) == 0);
			s += len;
			p = strchr(p, '}') + 1;
			i++;
		} else {
			CHECK(*p == *s);
			p++;
			s++;
		}
	}
	CHECK(*s == '\0');
}

/* Runs the router on method and path with a bufsize-byte buffer and checks the outcome. */
static void run(const char *method, const char *path, size_t bufsize)
{
	const struct route *rt = NULL;
	const char *names[HTTP_MAX_PARAMS], *values[HTTP_MAX_PARAMS];
	char *buf = malloc(bufsize), allow[128];
	int n = -1;
	enum route_match m;

	if (buf == NULL)
		abort();
	m = router_match(routes, NROUTES, method, path, &rt, names, values, &n, buf, bufsize);
	CHECK(m == ROUTE_FOUND || m == ROUTE_NO_PATH || m == ROUTE_NO_METHOD);
	CHECK(n >= 0 && n <= HTTP_MAX_PARAMS);
	memset(allow, 'x', sizeof(allow));
	router_allowed(routes, NROUTES, path, allow, sizeof(allow));
	CHECK(memchr(allow, '\0', sizeof(allow)) != NULL);
	if (m == ROUTE_FOUND) {
		check_found(method, path, rt, names, values, n, buf, bufsize);
		if (bufsize == 1024) /* router_allowed's own buffer size */
			CHECK(strstr(allow, rt->method) != NULL);
	} else {
		CHECK(n == 0);
		if (bufsize == 1024)
			CHECK((m == ROUTE_NO_METHOD) == (allow[0] != '\0'));
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *method, *path, *sp;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	sp = memchr(in, ' ', size);
	if (sp != NULL && sp - in <= 16) {
		*sp = '\0';
		method = in;
		path = sp + 1;
	} else {
		method = "GET";
		path = in;
	}
	run(method, path, 1024);
	run(method, path, 16);
	free(in);
	return 0;
}
