/* Unit tests for src/util/timefmt.c: RFC 3339 UTC time stamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/timefmt.h"

/* Asserts that t formats as want, whatever the local time zone. */
static void check(time_t t, const char *want)
{
	char buf[TIMEFMT_LEN];

	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(timefmt_rfc3339(t, buf), buf);
	assert_string_equal(buf, want);
}

static void test_fixed_times(void **state)
{
	(void)state;
	check(0, "1970-01-01T00:00:00Z");
	check(1, "1970-01-01T00:00:01Z");
	check(-1, "1969-12-31T23:59:59Z");
	check(951782400, "2000-02-29T00:00:00Z");
	check(1700000000, "2023-11-14T22:13:20Z");
	check(2147483647, "2038-01-19T03:14:07Z");
	check(2147483648LL, "2038-01-19T03:14:08Z");
	check(4102444799LL, "2099-12-31T23:59:59Z");
}

static void test_utc_not_local(void **state)
{
	(void)state;
	/* Asia/Shanghai is UTC+8: the API still shows UTC. */
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	check(0, "1970-01-01T00:00:00Z");
	check(1700000000, "2023-11-14T22:13:20Z");
	unsetenv("TZ");
	tzset();
}

/* Returns 1 when c is an ASCII digit. */
static int digit(char c)
{
	return c >= '0' && c <= '9';
}

static void test_now_ms_shape(void **state)
{
	char buf[TIMEFMT_LEN], year[5];
	const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
	time_t before = time(NULL);

	(void)state;
	assert_ptr_equal(timefmt_now_ms(buf), buf);
	assert_int_equal(strlen(buf), strlen(shape));
	for (size_t i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? !digit(buf[i]) : buf[i] != shape[i])
			fail_msg("\"%s\" does not have the shape %s (position %zu)", buf, shape, i);
	}
	/* The date is today's (UTC), give or take a second around midnight. */
	char today[TIMEFMT_LEN];
	timefmt_rfc3339(before, today);
	memcpy(year, buf, 4);
	year[4] = '\0';
	assert_true(strncmp(buf, today, 4) == 0 || atoi(year) == atoi(today) + 1);
}

/* What timefmt_rfc3339 writes parses back; anything else is refused. */
static void test_parse(void **state)
{
	char buf[TIMEFMT_LEN];
	time_t t = 0;
	(void)state;

	assert_int_equal(timefmt_parse_rfc3339(timefmt_rfc3339(1764979200, buf), &t), 0);
	assert_int_equal(t, 1764979200);
	assert_int_equal(timefmt_parse_rfc3339("2026-12-06T10:00:00Z", &t), 0);
	assert_int_equal(timefmt_parse_rfc3339("2026-12-06T10:00:00Zx", &t), -1);
	assert_int_equal(timefmt_parse_rfc3339("2026-12-06 10:00:00", &t), -1);
	assert_int_equal(timefmt_parse_rfc3339("", &t), -1);
	assert_int_equal(timefmt_parse_rfc3339(NULL, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_times),
		cmocka_unit_test(test_utc_not_local),
		cmocka_unit_test(test_now_ms_shape),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
