/* USCC validation (GB 32100-2015): published valid codes, and every single-character corruption of
 * them is caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "core/uscc.h"

static const char *const valid[] = {
	"91110000600037341L", "91310115MA1K3BTP2B", "121200004013590816", "9144030071526726XG",
	"92340602MA2PBMEM24", "91620105L015101280", "91340600MA2PBM9HXD", "91350100M000100Y43",
};
static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static void test_valid_codes(void **state)
{
	char out[USCC_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		assert_int_equal(uscc_check(valid[i], out), USCC_OK);
		assert_string_equal(out, valid[i]);
		assert_int_equal(uscc_check_char(valid[i]), valid[i][17]);
	}
}

static void test_normalised(void **state)
{
	char out[USCC_LEN + 1];
	(void)state;

	assert_int_equal(uscc_check("  91310115ma1k3btp2b\t", out), USCC_OK);
	assert_string_equal(out, "91310115MA1K3BTP2B");
	/* typed in full-width mode, with ideographic spaces around */
	assert_int_equal(uscc_check("\xe3\x80\x80９１３１０１１５ＭＡ１Ｋ３ＢＴｐ２Ｂ\xe3\x80\x80", out), USCC_OK);
	assert_string_equal(out, "91310115MA1K3BTP2B");
	assert_int_equal(uscc_check("９１３１０１１５ＭＡ１Ｋ３ＢＴＰ２Ｂ１", out), USCC_BAD_LENGTH);
}

/* Every other check character in the last position is refused, naming the right one. */
static void test_every_wrong_check_char(void **state)
{
	char code[USCC_LEN + 1], out[USCC_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		for (const char *c = alphabet; *c != '\0'; c++) {
			strcpy(code, valid[i]);
			if (*c == code[17])
				continue;
			code[17] = *c;
			assert_int_equal(uscc_check(code, out), USCC_BAD_CHECK_CHAR);
			assert_int_equal(uscc_check_char(out), valid[i][17]);
		}
}

/* Changing any one of the first 17 characters to any other legal one is caught (the weights are
 * powers of 3 mod 31, all non-zero, so no single substitution keeps the sum). */
static void test_every_single_substitution(void **state)
{
	char code[USCC_LEN + 1], out[USCC_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		for (int pos = 0; pos < 17; pos++)
			for (const char *c = alphabet; *c != '\0'; c++) {
				strcpy(code, valid[i]);
				if (*c == code[pos] || (pos >= 2 && pos < 8 && (*c < '0' || *c > '9')))
					continue;
				code[pos] = *c;
				assert_int_equal(uscc_check(code, out), USCC_BAD_CHECK_CHAR);
			}
}

static void test_malformed(void **state)
{
	char out[USCC_LEN + 1];
	(void)state;

	assert_int_equal(uscc_check("12345", out), USCC_BAD_LENGTH);
	assert_int_equal(uscc_check("", out), USCC_BAD_LENGTH);
	assert_int_equal(uscc_check("91110000600037341L1", out), USCC_BAD_LENGTH);
	for (const char *bad = "IOZSV"; *bad != '\0'; bad++) {
		char code[USCC_LEN + 1];
		strcpy(code, "91110000600037341L");
		code[10] = *bad;
		assert_int_equal(uscc_check(code, out), USCC_BAD_CHAR);
	}
	assert_int_equal(uscc_check("9111000060003734-L", out), USCC_BAD_CHAR);
	assert_int_equal(uscc_check("91AB0000600037341L", out), USCC_BAD_DIVISION);
	/* legal pilot codes that fail the check */
	assert_int_equal(uscc_check("91350211M0000XUF46", out), USCC_BAD_CHECK_CHAR);
	assert_int_equal(uscc_check_char(out), 'R');
	/* the standard's worked example: Z is no check character at all; 3 is the right one */
	assert_int_equal(uscc_check("91350100M000100Y4Z", out), USCC_BAD_CHAR);
	assert_int_equal(uscc_check_char(out), '3');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_codes),
		cmocka_unit_test(test_normalised),
		cmocka_unit_test(test_every_wrong_check_char),
		cmocka_unit_test(test_every_single_substitution),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests_name("uscc", tests, NULL, NULL);
}
