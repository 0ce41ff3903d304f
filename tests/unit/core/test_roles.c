/* Unit tests for src/core/roles.c: role names, labels and role lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/roles.h"

static void test_from_name(void **state)
{
	(void)state;
	assert_int_equal(role_from_name("reviewer"), ROLE_REVIEWER);
	assert_int_equal(role_from_name("finance"), ROLE_FINANCE);
	assert_int_equal(role_from_name("paper"), ROLE_PAPER);
	assert_int_equal(role_from_name("producer"), ROLE_PRODUCER);
	assert_int_equal(role_from_name("shipper"), ROLE_SHIPPER);
	assert_int_equal(role_from_name("admin"), ROLE_ADMIN);
	assert_int_equal(role_from_name("root"), -1);
	assert_int_equal(role_from_name("Admin"), -1);
	assert_int_equal(role_from_name("admin "), -1);
	assert_int_equal(role_from_name(""), -1);
	assert_int_equal(role_from_name(NULL), -1);
}

static void test_name_label_round_trip(void **state)
{
	(void)state;
	for (int r = 0; r < ROLE_COUNT; r++) {
		assert_non_null(role_name(r));
		assert_int_equal(role_from_name(role_name(r)), r);
		assert_non_null(role_label(r));
		assert_true(strlen(role_label(r)) > 0);
	}
	assert_string_equal(role_label(ROLE_ADMIN), "管理员");
	assert_string_equal(role_label(ROLE_REVIEWER), "预审员");
	assert_null(role_name(-1));
	assert_null(role_name(ROLE_COUNT));
	assert_null(role_label(-1));
	assert_null(role_label(ROLE_COUNT));
}

static void test_list_valid(void **state)
{
	(void)state;
	assert_int_equal(role_list_valid("reviewer,admin"), 0);
	assert_int_equal(role_list_valid("admin"), 0);
	assert_int_equal(role_list_valid("reviewer,finance,paper,producer,shipper,admin"), 0);
}

static void test_list_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"admin,",
		"admin,admin",
		"root",
		",admin",
		"admin,,paper",
		"admin, paper",
		"Admin",
		"reviewer,root",
		"paper,finance,paper",
		",",
		"admins",
		"admi",
		"admin;paper",
	};

	(void)state;
	assert_int_equal(role_list_valid(NULL), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (role_list_valid(bad[i]) != -1)
			fail_msg("role list \"%s\" was accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_name),
		cmocka_unit_test(test_name_label_round_trip),
		cmocka_unit_test(test_list_valid),
		cmocka_unit_test(test_list_refused),
	};

	return cmocka_run_group_tests_name("roles", tests, NULL, NULL);
}
