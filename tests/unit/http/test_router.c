/* Unit tests for src/http/router.c: matching, {param} capture, HEAD, 404 vs 405, Allow, wildcard
 * and the limits on parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/http_internal.h"

/* Handlers are never called: the router only hands back the route. */
static int h_a(struct http_req *r)
{
	(void)r;
	return 0;
}
static int h_b(struct http_req *r)
{
	(void)r;
	return 0;
}

static const struct route routes[] = {
	{"GET", "/healthz", h_a, 0},
	{"GET", "/api/v1/meta", h_a, 0},
	{"GET", "/api/v1/orders", h_a, 0},
	{"POST", "/api/v1/orders", h_b, 0},
	{"GET", "/api/v1/orders/{order_no}", h_a, 0},
	{"DELETE", "/api/v1/orders/{order_no}", h_b, 0},
	{"PATCH", "/api/v1/orders/{order_no}", h_b, 0},
	{"POST", "/api/v1/orders/{order_no}/submit", h_b, 0},
	{"GET", "/api/v1/orders/{order_no}/documents/{kind}", h_a, 0},
	{"GET", "/static/*", h_a, 0},
	{"GET", "/ca/{ca}.crl", h_a, 0},
	{"GET", "/ca/{ca}.crt", h_b, 0},
	{"GET", "/p/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", h_a, 0},
	{"GET", "/q/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_a, 0},
};
#define NROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

struct match {
	enum route_match m;
	const struct route *rt;
	const char *names[HTTP_MAX_PARAMS], *values[HTTP_MAX_PARAMS];
	int n;
	char buf[1024];
};

/* Runs router_match on the test table with a 1024-byte buffer (as server.c does). */
static enum route_match run(struct match *x, const char *method, const char *path)
{
	memset(x, 0, sizeof(*x));
	x->n = -1;
	x->m = router_match(routes, NROUTES, method, path, &x->rt, x->names, x->values, &x->n, x->buf,
			    sizeof(x->buf));
	return x->m;
}

/* Returns the value of the matched parameter name (via router_param), or NULL. */
static const char *param(const struct match *x, const char *name)
{
	return router_param(x->names, x->values, x->n, name);
}

static void test_exact_match(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "GET", "/healthz"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[0]);
	assert_int_equal(x.n, 0);
	assert_int_equal(run(&x, "GET", "/api/v1/meta"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[1]);
	assert_int_equal(run(&x, "POST", "/api/v1/orders"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[3]);
	assert_int_equal(run(&x, "GET", "/api/v1/metax"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/api/v1/met"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/API/v1/meta"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", ""), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/"), ROUTE_NO_PATH);
}

static void test_param_capture(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "GET", "/api/v1/orders/CD20250101-0001"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[4]);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.values[0], "CD20250101-0001");
	assert_string_equal(param(&x, "order_no"), "CD20250101-0001");
	assert_null(param(&x, "order"));
	assert_null(param(&x, "order_no}"));
	/* The value lives in the caller's buffer, not in the path. */
	assert_true(x.values[0] >= x.buf && x.values[0] < x.buf + sizeof(x.buf));

	assert_int_equal(run(&x, "POST", "/api/v1/orders/A1/submit"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[7]);
	assert_string_equal(param(&x, "order_no"), "A1");
	/* Non-ASCII (already decoded) bytes are just bytes. */
	assert_int_equal(run(&x, "GET", "/api/v1/orders/订单"), ROUTE_FOUND);
	assert_string_equal(param(&x, "order_no"), "订单");
}

static void test_several_params(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "GET", "/api/v1/orders/O-7/documents/business_license"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[8]);
	assert_int_equal(x.n, 2);
	assert_string_equal(param(&x, "order_no"), "O-7");
	assert_string_equal(param(&x, "kind"), "business_license");
	assert_true(x.values[1] > x.values[0]);

	assert_int_equal(run(&x, "GET", "/p/1/2/3/4/5/6/7/8"), ROUTE_FOUND);
	assert_int_equal(x.n, HTTP_MAX_PARAMS);
	assert_string_equal(param(&x, "a"), "1");
	assert_string_equal(param(&x, "h"), "8");
}

static void test_trailing_slash_mismatch(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "GET", "/healthz/"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/api/v1/orders/"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/api/v1/orders/X/"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "POST", "/api/v1/orders/X/submit/"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "//healthz"), ROUTE_NO_PATH);
}

static void test_head_is_get(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "HEAD", "/healthz"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[0]);
	assert_int_equal(run(&x, "HEAD", "/api/v1/orders/Z9"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[4]);
	assert_string_equal(param(&x, "order_no"), "Z9");
	/* A path with no GET route does not take HEAD either. */
	assert_int_equal(run(&x, "HEAD", "/api/v1/orders/Z9/submit"), ROUTE_NO_METHOD);
}

static void test_no_method_vs_no_path(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "POST", "/healthz"), ROUTE_NO_METHOD);
	assert_int_equal(x.n, 0);
	assert_int_equal(run(&x, "PUT", "/api/v1/orders/1"), ROUTE_NO_METHOD);
	assert_int_equal(x.n, 0);
	assert_int_equal(run(&x, "GET", "/api/v1/orders/1/submit"), ROUTE_NO_METHOD);
	assert_int_equal(run(&x, "get", "/healthz"), ROUTE_NO_METHOD); /* methods are case-sensitive */
	assert_int_equal(run(&x, "POST", "/nowhere"), ROUTE_NO_PATH);
	assert_int_equal(x.n, 0);
	/* A later route with the right method wins over an earlier one with the wrong method. */
	assert_int_equal(run(&x, "DELETE", "/api/v1/orders/42"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[5]);
	assert_string_equal(param(&x, "order_no"), "42");
}

static void test_allowed_lists_methods(void **state)
{
	char allow[128];

	(void)state;
	router_allowed(routes, NROUTES, "/api/v1/orders/5", allow, sizeof(allow));
	assert_string_equal(allow, "GET, DELETE, PATCH");
	router_allowed(routes, NROUTES, "/api/v1/orders", allow, sizeof(allow));
	assert_string_equal(allow, "GET, POST");
	router_allowed(routes, NROUTES, "/healthz", allow, sizeof(allow));
	assert_string_equal(allow, "GET");
	router_allowed(routes, NROUTES, "/api/v1/orders/5/submit", allow, sizeof(allow));
	assert_string_equal(allow, "POST");
	router_allowed(routes, NROUTES, "/nowhere", allow, sizeof(allow));
	assert_string_equal(allow, "");
	/* A short buffer truncates but stays terminated. */
	memset(allow, 'x', sizeof(allow));
	router_allowed(routes, NROUTES, "/api/v1/orders/5", allow, 6);
	assert_true(strlen(allow) < 6);
	assert_memory_equal(allow, "GET, ", strlen(allow));
}

static void test_wildcard(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "GET", "/static/app.js"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[9]);
	assert_int_equal(x.n, 0);
	assert_int_equal(run(&x, "GET", "/static/assets/deep/x.css"), ROUTE_FOUND);
	assert_ptr_equal(x.rt, &routes[9]);
	assert_int_equal(run(&x, "GET", "/static"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/staticx/a"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "POST", "/static/app.js"), ROUTE_NO_METHOD);
}

static void test_empty_segment_not_param(void **state)
{
	struct match x;

	(void)state;
	assert_int_equal(run(&x, "GET", "/api/v1/orders//documents/k"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "GET", "/api/v1/orders/o/documents/"), ROUTE_NO_PATH);
	assert_int_equal(run(&x, "POST", "/api/v1/orders//submit"), ROUTE_NO_PATH);
	assert_int_equal(x.n, 0);
}

static void test_too_many_params_refused(void **state)
{
	struct match x;

	(void)state;
	/* The /q route has HTTP_MAX_PARAMS + 1 parameters: it can never match. */
	assert_int_equal(run(&x, "GET", "/q/1/2/3/4/5/6/7/8/9"), ROUTE_NO_PATH);
	assert_int_equal(x.n, 0);
}

static void test_too_long_params_refused(void **state)
{
	struct match x;
	char path[2200];
	const char *prefix = "/api/v1/orders/";
	size_t n = strlen(prefix);

	(void)state;
	/* 1023 bytes plus the NUL fill the buffer exactly: accepted. */
	memcpy(path, prefix, n);
	memset(path + n, 'a', 1023);
	path[n + 1023] = '\0';
	assert_int_equal(run(&x, "GET", path), ROUTE_FOUND);
	assert_int_equal(strlen(param(&x, "order_no")), 1023);
	/* One more byte does not fit. */
	memset(path + n, 'a', 1024);
	path[n + 1024] = '\0';
	assert_int_equal(run(&x, "GET", path), ROUTE_NO_PATH);
	assert_int_equal(x.n, 0);
	/* Two values that fit alone but not together. */
	snprintf(path, sizeof(path), "/api/v1/orders/%0600d/documents/%0600d", 1, 2);
	assert_int_equal(run(&x, "GET", path), ROUTE_NO_PATH);
}

/* A literal suffix after a parameter in the same segment: "/ca/{ca}.crl". */
static void test_param_with_suffix(void **state)
{
	const struct route *rt = NULL;
	const char *names[HTTP_MAX_PARAMS], *values[HTTP_MAX_PARAMS];
	char buf[256];
	int n = 0;
	(void)state;

	assert_int_equal(router_match(routes, NROUTES, "GET", "/ca/sm2-issuing-1.crl", &rt, names, values, &n, buf,
				      sizeof(buf)),
			 ROUTE_FOUND);
	assert_ptr_equal(rt->fn, h_a);
	assert_int_equal(n, 1);
	assert_string_equal(router_param(names, values, n, "ca"), "sm2-issuing-1");
	assert_int_equal(router_match(routes, NROUTES, "GET", "/ca/x.crt", &rt, names, values, &n, buf, sizeof(buf)),
			 ROUTE_FOUND);
	assert_ptr_equal(rt->fn, h_b);
	assert_string_equal(router_param(names, values, n, "ca"), "x");
	/* the suffix alone, another suffix, or more after it: no match */
	assert_int_equal(router_match(routes, NROUTES, "GET", "/ca/.crl", &rt, names, values, &n, buf, sizeof(buf)),
			 ROUTE_NO_PATH);
	assert_int_equal(router_match(routes, NROUTES, "GET", "/ca/x.pem", &rt, names, values, &n, buf, sizeof(buf)),
			 ROUTE_NO_PATH);
	assert_int_equal(router_match(routes, NROUTES, "GET", "/ca/x.crl/y", &rt, names, values, &n, buf,
				      sizeof(buf)),
			 ROUTE_NO_PATH);
}

/* Declared parameters: length and characters, and a name without a declaration never fits. */
static void test_param_declarations(void **state)
{
	static const struct http_param decl[] = {
		{"order_no", 1, 8, "ABC0123456789-", NULL, NULL},
		{"ca", 1, 40, "abcdefghijklmnopqrstuvwxyz0123456789-", "ca_unknown", "x"},
	};
	const char *names[] = {"order_no}", "ca}"}, *ok[] = {"A1-2", "sm2-issuing-1"};
	const char *too_long[] = {"A123456789", "x"}, *odd[] = {"A1", "SM2"}, *empty[] = {"", "x"};
	(void)state;

	assert_null(router_params_invalid(decl, 2, names, ok, 2));
	assert_string_equal(router_params_invalid(decl, 2, names, too_long, 2), "order_no");
	assert_string_equal(router_params_invalid(decl, 2, names, odd, 2), "ca");
	assert_string_equal(router_params_invalid(decl, 2, names, empty, 2), "order_no");
	assert_non_null(router_params_invalid(decl, 1, names, ok, 2)); /* ca undeclared */
	assert_null(router_undeclared(routes, 4, decl, 2));
	assert_string_equal(router_undeclared(routes, NROUTES, decl, 2), "kind");
}

static void test_small_buffer(void **state)
{
	const struct route *rt = NULL;
	const char *names[HTTP_MAX_PARAMS], *values[HTTP_MAX_PARAMS];
	char buf[4];
	int n = -1;

	(void)state;
	assert_int_equal(router_match(routes, NROUTES, "GET", "/api/v1/orders/abc", &rt, names, values, &n,
				      buf, sizeof(buf)),
			 ROUTE_FOUND);
	assert_string_equal(values[0], "abc");
	assert_int_equal(router_match(routes, NROUTES, "GET", "/api/v1/orders/abcd", &rt, names, values, &n,
				      buf, sizeof(buf)),
			 ROUTE_NO_PATH);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_match),
		cmocka_unit_test(test_param_capture),
		cmocka_unit_test(test_several_params),
		cmocka_unit_test(test_trailing_slash_mismatch),
		cmocka_unit_test(test_head_is_get),
		cmocka_unit_test(test_no_method_vs_no_path),
		cmocka_unit_test(test_allowed_lists_methods),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_empty_segment_not_param),
		cmocka_unit_test(test_too_many_params_refused),
		cmocka_unit_test(test_too_long_params_refused),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_param_with_suffix),
		cmocka_unit_test(test_param_declarations),
	};

	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
