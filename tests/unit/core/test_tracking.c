/* Courier waybill numbers: SF formats accepted and normalised, everything else refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/tracking.h"

static void test_sf(void **state)
{
	const char *ok[][2] = {{"SF1234567890123", "SF1234567890123"},
			       {"sf 1234-5678-9012", "SF123456789012"},
			       {"123456789012", "123456789012"}};
	const char *bad[] = {
		"SF12345", "SF12345678901234",  "1234567890123", "SFX23456789012", "YT1234567890123", "",
		"SF",      "SF123456789012\xe4"};
	char out[TRACKING_MAX];
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(tracking_sf_normalise(ok[i][0], out), 0);
		assert_string_equal(out, ok[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tracking_sf_normalise(bad[i], out), -1);
		assert_string_equal(out, "");
	}
}

static void test_other(void **state)
{
	char out[TRACKING_MAX];
	(void)state;

	assert_int_equal(tracking_other_normalise("ea123456789cn", out), 0);
	assert_string_equal(out, "EA123456789CN");
	assert_int_equal(tracking_other_normalise("12345", out), -1);
	assert_int_equal(tracking_other_normalise("1234567890123456789012345678901", out), -1);
	assert_int_equal(tracking_other_normalise("12345;DROP", out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sf),
		cmocka_unit_test(test_other),
	};
	return cmocka_run_group_tests_name("tracking", tests, NULL, NULL);
}
