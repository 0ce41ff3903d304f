/* Nothing a user submits produces a 500: every route of the router, with odd path parameters and
 * odd bodies, as an anonymous visitor, an organisation and an admin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "harness.h"

static struct srv S;

static int setup(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;
	return harness_start(&S) == 0 && harness_run(argv, NULL, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Writes pattern with every {param} replaced by value into out. */
static void fill(const char *pattern, const char *value, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = pattern; *p != '\0' && o + strlen(value) + 2 < len;) {
		if (*p == '{') {
			o += (size_t)snprintf(out + o, len - o, "%s", value);
			p = strchr(p, '}') + 1;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

static void test_no_route_fails_with_500(void **state)
{
	static const char *const params[] = {
		"x",          "YT20261124-000001", "91310115MA1K3BTP2B",     "0",
		"-1",         "%E4%B8%AD",         "9999999999999999999999", "..",
		"application"};
	static const char *const bodies[] = {
		NULL,
		"",
		"{}",
		"[]",
		"null",
		"\"x\"",
		"{\"a\":",
		"{\"form\":{\"legal_name\":[1,2]}}",
		"{\"unit_name\":\"\\u0000\",\"uscc\":12,\"password\":{}}",
		"{\"project_code\":\"yingtan\",\"key_type\":\"main\",\"form\":{\"legal_id_number\":\"\"}}",
		"{\"approve\":\"yes\",\"roles\":\"admin\",\"price_fen\":1e400,\"years_offered\":\"9,9\"}",
		"{\"name\":\"\xe4\xb8\",\"note\":\"\xff\"}",
	};
	struct client who[3];
	char path[512];
	int checked = 0;
	(void)state;

	client_init(&who[0], &S, "anon");
	client_init(&who[1], &S, "org");
	assert_int_equal(
		client_register_login(&who[1], "健壮性测试公司", "91310115MA1K3BTP2B", "13800138009"), 0);
	client_init(&who[2], &S, "admin");
	assert_int_equal(client_staff_login(&who[2], "admin"), 0);
	for (int w = 0; w < 3; w++)
		for (int i = 0; i < api_route_count; i++) {
			const struct route *rt = &api_routes[i];
			if (strcmp(rt->pattern, "/api/v1/auth/logout") == 0)
				continue; /* would end the session the rest of the loop needs */
			for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++)
				for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
					if (strcmp(rt->method, "GET") == 0 && b > 0)
						break;
					fill(rt->pattern, params[p], path, sizeof(path));
					long st = client_do(&who[w], rt->method, path, bodies[b], NULL);
					if (st < 200 || st >= 500)
						fail_msg("%s %s (as %d) with %s: %ld", rt->method, path, w,
							 bodies[b] ? bodies[b] : "(no body)", st);
					checked++;
				}
		}
	assert_true(checked > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_route_fails_with_500),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
