/* util/strutil: invisible and direction-control characters, trimming with the ideographic and
 * no-break spaces, UTF-8 counting and control characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "util/strutil.h"

static void test_invisible(void **state)
{
	const char *bad[] = {
		"\xe2\x80\x8b\xe2\x80\x8b",    /* U+200B zero-width spaces */
		"\xe2\x80\xae李四",            /* U+202E right-to-left override */
		"李\xe2\x80\x8f四",            /* U+200F right-to-left mark */
		"李\xe2\x80\xaa四",            /* U+202A embedding */
		"李\xe2\x81\xa6四\xe2\x81\xa9", /* U+2066 / U+2069 isolates */
		"李\xe2\x81\xa0四",            /* U+2060 word joiner */
		"李\xe2\x81\xa4四",            /* U+2064 invisible plus */
		"\xef\xbb\xbf李四",            /* U+FEFF byte-order mark */
		"李\xc2\xad四",                /* U+00AD soft hyphen */
		"李\xd8\x9c四",                /* U+061C Arabic letter mark */
		"李\xe2\x80\xa8四",            /* U+2028 line separator */
		"李\xef\xbf\xb9四",            /* U+FFF9 annotation anchor */
		"a\xe2\x80\x8c",               /* U+200C zero-width non-joiner */
		"a\xe2\x80\x8d",               /* U+200D zero-width joiner */
	};
	const char *good[] = {"李四", "鹰潭（甲）有限公司", "O'Brien-Smith", "", "a b", "\xe2\x80\x8a",
			      "\xe2\x80\x90", "\xe2\x81\xb0", "\xf0\x9f\x98\x80", "\xef\xbf\xbd", "·"};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!str_has_invisible(bad[i]))
			fail_msg("not refused: case %zu", i);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (str_has_invisible(good[i]))
			fail_msg("refused: case %zu", i);
}

/* Returns s trimmed with str_trim_span in a static buffer. */
static const char *trimmed(const char *s)
{
	static char buf[128];
	size_t a, b;

	str_trim_span(s, &a, &b);
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	return buf;
}

static void test_trim(void **state)
{
	(void)state;
	assert_string_equal(trimmed("  李四\t\n"), "李四");
	assert_string_equal(trimmed("\xe3\x80\x80李 四\xe3\x80\x80"), "李 四");
	assert_string_equal(trimmed("\xc2\xa0李四\xc2\xa0 \xe3\x80\x80"), "李四");
	assert_string_equal(trimmed("\xe3\x80\x80\xe3\x80\x80"), "");
	assert_string_equal(trimmed(" \t "), "");
	assert_string_equal(trimmed(""), "");
	assert_string_equal(trimmed("李\xe3\x80\x80四"), "李\xe3\x80\x80四"); /* inside stays */
	assert_string_equal(trimmed("\xe3\x80"), "\xe3\x80");               /* a cut sequence is not a space */
}

static void test_utf8_and_controls(void **state)
{
	(void)state;
	assert_int_equal(utf8_chars("李四"), 2);
	assert_int_equal(utf8_chars("\xe3\x80"), -1);
	assert_int_equal(utf8_chars("\xc0\xaf"), -1);
	assert_int_equal(str_has_control("a\x01"), 1);
	assert_int_equal(str_has_control("a\xc2\x85"), 1);
	assert_int_equal(str_has_control("李四"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invisible),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_utf8_and_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
