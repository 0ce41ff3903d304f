/* Unit tests for src/util/strnum.c: bounded decimal parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/strnum.h"

/* Parses s in [min, max]; asserts success and returns the value. */
static int64_t ok(const char *s, int64_t min, int64_t max)
{
	int64_t v = 12345;

	if (strnum_parse(s, min, max, &v) != 0)
		fail_msg("\"%s\" in [%lld, %lld] was refused", s, (long long)min, (long long)max);
	return v;
}

/* Asserts that s is refused in [min, max] and that *out is left alone. */
static void bad(const char *s, int64_t min, int64_t max)
{
	int64_t v = 777;

	if (strnum_parse(s, min, max, &v) != -1)
		fail_msg("\"%s\" in [%lld, %lld] was accepted", s ? s : "(null)", (long long)min,
			 (long long)max);
	assert_int_equal(v, 777);
}

static void test_valid(void **state)
{
	(void)state;
	assert_int_equal(ok("0", 0, 10), 0);
	assert_int_equal(ok("10", 0, 10), 10);
	assert_int_equal(ok("-5", -10, 10), -5);
	assert_int_equal(ok("+7", 0, 10), 7);
	assert_int_equal(ok("007", 0, 10), 7); /* decimal, not octal */
	assert_int_equal(ok("65535", 0, 65535), 65535);
	assert_true(ok("9223372036854775807", INT64_MIN, INT64_MAX) == INT64_MAX);
	assert_true(ok("-9223372036854775808", INT64_MIN, INT64_MAX) == INT64_MIN);
}

static void test_bounds(void **state)
{
	(void)state;
	bad("11", 0, 10);
	bad("-1", 0, 10);
	bad("65536", 0, 65535);
	bad("70000", 0, 65535);
	bad("9223372036854775808", INT64_MIN, INT64_MAX);
	bad("-9223372036854775809", INT64_MIN, INT64_MAX);
	bad("99999999999999999999999", 0, INT64_MAX);
}

static void test_garbage(void **state)
{
	(void)state;
	bad(NULL, 0, 10);
	bad("", 0, 10);
	bad(" 1", 0, 10);
	bad("\t1", 0, 10);
	bad("1 ", 0, 10);
	bad("1\n", 0, 10);
	bad("abc", 0, 10);
	bad("1a", 0, 10);
	bad("0x5", 0, 10);
	bad("1.0", 0, 10);
	bad("1e3", 0, 10000);
	bad("-", -10, 10);
	bad("+", 0, 10);
	bad("--1", -10, 10);
	bad("１", 0, 10); /* full-width digit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests_name("strnum", tests, NULL, NULL);
}
