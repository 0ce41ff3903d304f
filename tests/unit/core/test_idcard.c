/* GB 11643 identity card numbers: published vectors, every wrong check character, dates, province
 * codes, full-width input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "core/idcard.h"

#define TODAY 20261124L

static const char *const valid[] = {"360426199101010071", "44011320141005001X", "11010519491231002X",
				    "370101190102039973", "34052419800101001X"};

static void test_valid(void **state)
{
	char out[IDCARD_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		assert_int_equal(idcard_check(valid[i], TODAY, out), IDCARD_OK);
		assert_string_equal(out, valid[i]);
	}
	assert_int_equal(idcard_check(" 11010519491231002x ", TODAY, out), IDCARD_OK);
	assert_string_equal(out, "11010519491231002X");
}

static void test_every_wrong_check_char(void **state)
{
	const char chars[] = "0123456789X";
	char id[IDCARD_LEN + 1], out[IDCARD_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		for (const char *c = chars; *c != '\0'; c++) {
			strcpy(id, valid[i]);
			if (*c == id[17])
				continue;
			id[17] = *c;
			assert_int_equal(idcard_check(id, TODAY, out), IDCARD_BAD_CHECK);
		}
	assert_int_equal(idcard_check("360426199101010070", TODAY, out), IDCARD_BAD_CHECK);
	assert_int_equal(idcard_check("36042619910102009X", TODAY, out), IDCARD_BAD_CHECK);
}

static void test_dates(void **state)
{
	char id[IDCARD_LEN + 1], out[IDCARD_LEN + 1];
	const char *bad[] = {"19911301", "19910230", "19900229", "18991231",
			     "20261125", "19910100", "20000931"};
	const char *good[] = {"20000229", "19000101", "20261124", "19961231"};
	(void)state;

	assert_int_equal(idcard_check("360426199113010079", TODAY, out), IDCARD_BAD_DATE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(id, "360426", 6);
		memcpy(id + 6, bad[i], 8);
		memcpy(id + 14, "001", 3);
		id[17] = '\0';
		id[17] = idcard_check_char(id);
		id[18] = '\0';
		assert_int_equal(idcard_check(id, TODAY, out), IDCARD_BAD_DATE);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memcpy(id, "360426", 6);
		memcpy(id + 6, good[i], 8);
		memcpy(id + 14, "001", 3);
		id[17] = idcard_check_char(id);
		id[18] = '\0';
		assert_int_equal(idcard_check(id, TODAY, out), IDCARD_OK);
	}
}

static void test_format(void **state)
{
	char out[IDCARD_LEN + 1];
	(void)state;

	assert_int_equal(idcard_check("36042619910101007", TODAY, out), IDCARD_BAD_FORMAT);
	assert_int_equal(idcard_check("3604261991010100711", TODAY, out), IDCARD_BAD_FORMAT);
	assert_int_equal(idcard_check("36042619910101007Y", TODAY, out), IDCARD_BAD_FORMAT);
	assert_int_equal(idcard_check("3604261991010100X1", TODAY, out), IDCARD_BAD_FORMAT);
	assert_int_equal(idcard_check("", TODAY, out), IDCARD_BAD_FORMAT);
	idcard_mask("360426199101010071", out);
	assert_string_equal(out, "360426********0071");
}

/* Writes into id (IDCARD_LEN + 1 bytes) a number of region (6 digits) with a correct check character. */
static void with_region(const char *region, char *id)
{
	memcpy(id, region, 6);
	memcpy(id + 6, "19910101007", 11);
	id[17] = '\0';
	id[17] = idcard_check_char(id);
	id[18] = '\0';
}

static void test_region(void **state)
{
	const char *bad[] = {"000000", "010101", "100000", "160101", "200105", "240101", "300101", "380101",
			     "400101", "470101", "490101", "550101", "600101", "660101", "700101", "720101",
			     "800101", "840101", "900101", "990000"};
	const char *good[] = {"110105", "150102", "210102", "230102", "310101", "370102", "410102", "460102",
			      "500101", "540102", "610102", "650102", "710000", "810000", "820000", "830000"};
	char id[IDCARD_LEN + 1], out[IDCARD_LEN + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		with_region(bad[i], id);
		assert_int_equal(idcard_check(id, TODAY, out), IDCARD_BAD_REGION);
		assert_int_equal(idcard_province_ok(id), 0);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		with_region(good[i], id);
		assert_int_equal(idcard_check(id, TODAY, out), IDCARD_OK);
	}
	/* the region is checked before the date and the check character */
	assert_int_equal(idcard_check("000000199113010079", TODAY, out), IDCARD_BAD_REGION);
}

static void test_fullwidth(void **state)
{
	char out[IDCARD_LEN + 1];
	(void)state;

	assert_int_equal(idcard_check("３６０４２６１９９１０１０１００７１", TODAY, out), IDCARD_OK);
	assert_string_equal(out, "360426199101010071");
	assert_int_equal(idcard_check("\xe3\x80\x80１１０１０５１９４９１２３１００２ｘ\xe3\x80\x80", TODAY, out),
			 IDCARD_OK);
	assert_string_equal(out, "11010519491231002X");
	assert_int_equal(idcard_check("１１０１０５１９４９１２３１００２Ｘ１", TODAY, out), IDCARD_BAD_FORMAT);
	assert_int_equal(idcard_check("１１０１０５１９４９１２３１００２", TODAY, out), IDCARD_BAD_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_every_wrong_check_char),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_region),
		cmocka_unit_test(test_fullwidth),
	};
	return cmocka_run_group_tests_name("idcard", tests, NULL, NULL);
}
