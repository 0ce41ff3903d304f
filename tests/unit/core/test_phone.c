/* Mainland mobile numbers: prefixes stripped, landlines and other shapes refused, masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/phone.h"

static void test_accepted(void **state)
{
	const char *ok[][2] = {
		{"13800138000", "13800138000"},   {"+8613800138000", "13800138000"},
		{"8613800138000", "13800138000"}, {"+86 138 0013 8000", "13800138000"},
		{"138-0013-8000", "13800138000"}, {"19912345678", "19912345678"},
		/* typed in full-width mode: folded, not refused */
		{"１３８００１３８０００", "13800138000"}, {"＋８６　１３８－００１３－８０００", "13800138000"},
		{"\xe3\x80\x80 13800138000\xe3\x80\x80", "13800138000"},
	};
	char out[MOBILE_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(phone_mobile_normalise(ok[i][0], out), 0);
		assert_string_equal(out, ok[i][1]);
	}
}

static void test_refused(void **state)
{
	const char *bad[] = {"0791-88888888",
			     "12800138000",
			     "1380013800",
			     "138001380001",
			     "+8512800138000",
			     "1380013800a",
			     "",
			     "+86",
			     "86 1380013800",
			     "１３８００１３８０００１",
			     "１３８ａ０１３８０００",
			     "13800138000\xef\xbc", /* a cut full-width character */
			     "13800138000+",
			     "++8613800138000",
			     "10086"};
	char out[MOBILE_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(phone_mobile_normalise(bad[i], out), -1);
		assert_string_equal(out, "");
	}
}

static void test_mask(void **state)
{
	char out[MOBILE_LEN + 1];
	(void)state;

	phone_mask("13800138000", out);
	assert_string_equal(out, "138****8000");
	phone_mask("123", out);
	assert_string_equal(out, "***");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_mask),
	};
	return cmocka_run_group_tests_name("phone", tests, NULL, NULL);
}
