/* Checks that docs/openapi.yaml and the route table of certdeskd (src/api/routes.c) describe
 * the same operations: every route (method + pattern, {name} params written as in routes.c) has
 * a spec operation and every spec operation has a route; each operation has an operationId and
 * a responses block. The YAML is read line by line, not parsed in full: under the top-level
 * "paths:" key, path keys are indented 2 spaces, methods 4 and their fields 6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

#ifndef OPENAPI_PATH
#error "OPENAPI_PATH must be defined by the build"
#endif

#define SPEC_MAX_OPS 512

struct spec_op {
	char method[8]; /* upper case, as in routes.c */
	char path[256];
	int line;
	int has_operation_id;
	int has_responses;
};

struct spec {
	struct spec_op ops[SPEC_MAX_OPS];
	int n;
	int has_paths;
};

static const char *const methods[] = {"get", "post", "put", "patch", "delete"};

/* Strips a trailing newline, carriage return and spaces from s in place. */
static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Copies the mapping key at the start of s (before ':', quotes removed) into key; returns 0, or -1
 * when s is not "key:" followed by nothing or a value. */
static int yaml_key(const char *s, char *key, size_t keylen)
{
	const char *colon;
	size_t n;

	if (*s == '\'' || *s == '"') {
		const char *end = strchr(s + 1, *s);
		if (end == NULL || end[1] != ':')
			return -1;
		n = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (colon[1] != '\0' && colon[1] != ' ')
		return -1;
	if (n >= keylen)
		return -1;
	memcpy(key, s, n);
	key[n] = '\0';
	return 0;
}

/* Returns the value after "key:" in s (may be ""), or NULL when s is not that key. */
static const char *yaml_value(const char *s, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(s, key, n) != 0 || s[n] != ':')
		return NULL;
	s += n + 1;
	while (*s == ' ')
		s++;
	return s;
}

/* Returns 1 when key is one of the methods the router serves. */
static int is_method(const char *key)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(key, methods[i]) == 0)
			return 1;
	return 0;
}

/* Reads the operations of the spec in fp into s; returns 0, or -1 when there are too many. */
static int spec_read(FILE *fp, struct spec *s)
{
	char line[1024], key[256], path[256] = "";
	int in_paths = 0, lineno = 0;
	struct spec_op *op = NULL;

	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t indent = strspn(line, " ");
		const char *body = line + indent, *v;

		lineno++;
		rstrip(line);
		if (*body == '\0' || *body == '#')
			continue;
		if (indent == 0) {
			in_paths = strcmp(body, "paths:") == 0;
			s->has_paths |= in_paths;
			op = NULL;
			path[0] = '\0';
		} else if (!in_paths) {
			continue;
		} else if (indent == 2) {
			op = NULL;
			if (yaml_key(body, path, sizeof(path)) != 0)
				path[0] = '\0';
		} else if (indent == 4) {
			op = NULL;
			if (path[0] == '\0' || yaml_key(body, key, sizeof(key)) != 0 || !is_method(key))
				continue;
			if (s->n == SPEC_MAX_OPS)
				return -1;
			op = &s->ops[s->n++];
			for (size_t i = 0; key[i] != '\0'; i++)
				op->method[i] = (char)toupper((unsigned char)key[i]);
			snprintf(op->path, sizeof(op->path), "%s", path);
			op->line = lineno;
		} else if (indent == 6 && op != NULL) {
			if ((v = yaml_value(body, "operationId")) != NULL && *v != '\0')
				op->has_operation_id = 1;
			if ((v = yaml_value(body, "responses")) != NULL)
				op->has_responses = 1;
		}
	}
	return 0;
}

/* Compares spec s with the n routes; prints each problem to report and returns how many. */
static int spec_check(const struct spec *s, const struct route *routes, int n, FILE *report)
{
	int problems = 0;

	for (int i = 0; i < n; i++) {
		int found = 0;
		for (int j = 0; j < s->n; j++)
			found |= strcmp(s->ops[j].method, routes[i].method) == 0 &&
				 strcmp(s->ops[j].path, routes[i].pattern) == 0;
		for (int j = 0; j < i; j++)
			if (strcmp(routes[j].method, routes[i].method) == 0 &&
			    strcmp(routes[j].pattern, routes[i].pattern) == 0) {
				fprintf(report, "route %s %s appears twice in the route table\n",
					routes[i].method, routes[i].pattern);
				problems++;
			}
		if (!found) {
			fprintf(report, "route %s %s is missing from the spec\n", routes[i].method,
				routes[i].pattern);
			problems++;
		}
	}
	for (int j = 0; j < s->n; j++) {
		const struct spec_op *op = &s->ops[j];
		int found = 0;
		for (int i = 0; i < n; i++)
			found |= strcmp(op->method, routes[i].method) == 0 &&
				 strcmp(op->path, routes[i].pattern) == 0;
		for (int k = 0; k < j; k++)
			if (strcmp(s->ops[k].method, op->method) == 0 &&
			    strcmp(s->ops[k].path, op->path) == 0) {
				fprintf(report, "line %d: spec operation %s %s appears twice\n", op->line,
					op->method, op->path);
				problems++;
			}
		if (!found) {
			fprintf(report, "line %d: spec operation %s %s has no route in src/api/routes.c\n",
				op->line, op->method, op->path);
			problems++;
		}
		if (!op->has_operation_id) {
			fprintf(report, "line %d: spec operation %s %s has no operationId\n", op->line,
				op->method, op->path);
			problems++;
		}
		if (!op->has_responses) {
			fprintf(report, "line %d: spec operation %s %s has no responses\n", op->line,
				op->method, op->path);
			problems++;
		}
	}
	return problems;
}

/* --- the checker itself, on small specs held in memory --- */

static int h(struct http_req *r)
{
	(void)r;
	return 0;
}

static const struct route mini_routes[] = {
	{"GET", "/healthz", h, 0},
	{"GET", "/api/v1/orders/{order_no}", h, 0},
	{"POST", "/api/v1/orders/{order_no}/submit", h, 0},
};

static const char mini_spec[] = "openapi: 3.1.0\n"
				"info:\n"
				"  title: t\n"
				"  version: 0.1.0\n"
				"# a comment\n"
				"paths:\n"
				"  /healthz:\n"
				"    get:\n"
				"      operationId: getHealth\n"
				"      responses:\n"
				"        '200':\n"
				"          description: ok\n"
				"\n"
				"  '/api/v1/orders/{order_no}':\n"
				"    parameters:\n"
				"      - name: order_no\n"
				"        in: path\n"
				"    get:\n"
				"      summary: x\n"
				"      operationId: getOrder\n"
				"      responses:\n"
				"        '200': {description: ok}\n"
				"  \"/api/v1/orders/{order_no}/submit\":\n"
				"    post:\n"
				"      operationId: submitOrder\n"
				"      responses:\n"
				"        '204':\n"
				"          description: ok\n"
				"components:\n"
				"  paths:\n"
				"    get:\n"
				"      operationId: notAnOperation\n";

/* Parses text into s, checks it against the mini routes and returns the problem count. */
static int check_text(const char *text, const struct route *routes, int n)
{
	static struct spec s;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	FILE *devnull = fopen("/dev/null", "w");
	int problems;

	assert_non_null(fp);
	assert_non_null(devnull);
	assert_int_equal(spec_read(fp, &s), 0);
	assert_true(s.has_paths);
	problems = spec_check(&s, routes, n, devnull);
	fclose(fp);
	fclose(devnull);
	return problems;
}

/* Returns a copy of mini_spec with the first occurrence of from replaced by to. Caller frees. */
static char *mini_with(const char *from, const char *to)
{
	const char *at = strstr(mini_spec, from);
	char *out;

	assert_non_null(at);
	out = malloc(sizeof(mini_spec) + strlen(to));
	assert_non_null(out);
	sprintf(out, "%.*s%s%s", (int)(at - mini_spec), mini_spec, to, at + strlen(from));
	return out;
}

static void test_checker_accepts_matching(void **state)
{
	(void)state;
	assert_int_equal(check_text(mini_spec, mini_routes, 3), 0);
}

static void test_checker_finds_missing_route(void **state)
{
	const struct route more[] = {
		mini_routes[0],
		mini_routes[1],
		mini_routes[2],
		{"DELETE", "/api/v1/orders/{order_no}", h, 0},
	};

	(void)state;
	assert_int_equal(check_text(mini_spec, more, 4), 1);
	/* Same path, other method: still missing. */
	assert_int_equal(check_text(mini_spec, mini_routes, 2), 1);
}

static void test_checker_finds_extra_operation(void **state)
{
	char *t = mini_with("components:\n", "    put:\n      operationId: putSubmit\n      responses:\n"
					     "        '200': {description: ok}\ncomponents:\n");

	(void)state;
	assert_int_equal(check_text(t, mini_routes, 3), 1);
	free(t);
	/* A param spelled differently is a different path. */
	t = mini_with("'/api/v1/orders/{order_no}':", "'/api/v1/orders/{id}':");
	assert_int_equal(check_text(t, mini_routes, 3), 2);
	free(t);
}

static void test_checker_needs_operation_id_and_responses(void **state)
{
	char *t = mini_with("      operationId: getOrder\n", "");

	(void)state;
	assert_int_equal(check_text(t, mini_routes, 3), 1);
	free(t);
	t = mini_with("      operationId: getHealth\n", "      operationId:\n");
	assert_int_equal(check_text(t, mini_routes, 3), 1);
	free(t);
	t = mini_with("      responses:\n        '204':\n          description: ok\n", "");
	assert_int_equal(check_text(t, mini_routes, 3), 1);
	free(t);
}

static void test_checker_finds_duplicates(void **state)
{
	const struct route twice[] = {mini_routes[0], mini_routes[1], mini_routes[2], mini_routes[0]};

	(void)state;
	assert_int_equal(check_text(mini_spec, twice, 4), 1);
}

/* --- the real spec and route table --- */

static void test_spec_matches_routes(void **state)
{
	static struct spec s;
	FILE *fp = fopen(OPENAPI_PATH, "r");
	int problems;

	(void)state;
	if (fp == NULL)
		fail_msg("cannot open %s", OPENAPI_PATH);
	assert_int_equal(spec_read(fp, &s), 0);
	fclose(fp);
	if (!s.has_paths)
		fail_msg("%s has no top-level paths: key", OPENAPI_PATH);
	assert_true(api_route_count > 0);
	problems = spec_check(&s, api_routes, api_route_count, stderr);
	if (problems != 0)
		fail_msg("%d difference(s) between %s and src/api/routes.c (listed above)", problems,
			 OPENAPI_PATH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_accepts_matching),
		cmocka_unit_test(test_checker_finds_missing_route),
		cmocka_unit_test(test_checker_finds_extra_operation),
		cmocka_unit_test(test_checker_needs_operation_id_and_responses),
		cmocka_unit_test(test_checker_finds_duplicates),
		cmocka_unit_test(test_spec_matches_routes),
	};

	return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
