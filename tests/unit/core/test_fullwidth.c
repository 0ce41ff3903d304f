/* Full-width forms folded to ASCII: digits, letters, punctuation, the ideographic space, trimming,
 * other text left alone, cut-short output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "core/fullwidth.h"

static void test_folds(void **state)
{
	const char *cases[][2] = {
		{"０１２３４５６７８９", "0123456789"},
		{"ＡＢＣＸＹＺａｂｃｘｙｚ", "ABCXYZabcxyz"},
		{"！＋－＠．＿｀～", "!+-@._`~"},
		{"\xe3\x80\x80 １３８\xe3\x80\x80００１３ ８０００ \t\xe3\x80\x80", "138 0013 8000"},
		{"", ""},
		{"\xe3\x80\x80\xe3\x80\x80", ""},
		{"abc", "abc"},
		{"\xef\xbc", "\xef\xbc"},         /* a cut sequence is copied, not read past */
		{"\xef\xbd\x9f", "\xef\xbd\x9f"}, /* U+FF5F is not an ASCII form */
		{"\xef\xbc\x80", "\xef\xbc\x80"}, /* nor U+FF00 */
	};
	char out[128];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(fullwidth_fold(cases[i][0], out, sizeof(out)), strlen(cases[i][1]));
		assert_string_equal(out, cases[i][1]);
	}
	/* full-width parentheses are ASCII forms too: the fold is for identifiers, never for names */
	fullwidth_fold("（甲）", out, sizeof(out));
	assert_string_equal(out, "(甲)");
}

static void test_cut_short(void **state)
{
	char out[5];
	(void)state;

	assert_int_equal(fullwidth_fold("  １２３４５６７８ ", out, sizeof(out)), 8);
	assert_string_equal(out, "1234");
	assert_int_equal(fullwidth_fold("１２３４", out, sizeof(out)), 4);
	assert_string_equal(out, "1234");
	assert_int_equal(fullwidth_fold("abc", out, 0), 3); /* nothing written */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folds),
		cmocka_unit_test(test_cut_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
