/* api/form: the text reader every JSON field goes through. Trimming (ideographic and no-break
 * spaces too), values of white space alone, control, invisible and direction-control characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "api/form.h"

/* Reads field "name" of the JSON text json as a required name of 2 to 40 characters; returns
 * the value ("" when refused) and the first error code in code (64 bytes, "" when none). */
static const char *read_name(const char *json, char *code)
{
	static char value[256];
	json_t *body = json_loads(json, 0, NULL);
	struct form f;
	const char *s;

	assert_non_null(body);
	form_init(&f, NULL, body);
	s = form_text(&f, "name", "姓名", 2, 40, 1);
	strcpy(value, s != NULL ? s : "");
	strcpy(code, form_failed(&f) ? json_string_value(json_object_get(json_array_get(f.errors, 0), "code"))
				    : "");
	form_free(&f);
	json_decref(body);
	return value;
}

static void test_trimmed(void **state)
{
	char code[64];
	(void)state;

	assert_string_equal(read_name("{\"name\":\"  李四\\t\"}", code), "李四");
	assert_string_equal(code, "");
	assert_string_equal(read_name("{\"name\":\"\\u3000李四\\u3000\"}", code), "李四");
	assert_string_equal(read_name("{\"name\":\"\\u00a0李 四\\u00a0\"}", code), "李 四");
}

static void test_empty_after_trimming(void **state)
{
	const char *empty[] = {"{\"name\":\"   \"}", "{\"name\":\"\\u3000\\u3000\"}", "{\"name\":\"\\u00a0\\t\"}",
			       "{\"name\":\"\"}", "{}"};
	char code[64];
	(void)state;

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		assert_string_equal(read_name(empty[i], code), "");
		assert_string_equal(code, "field_required");
	}
}

static void test_refused(void **state)
{
	const char *bad[] = {
		"{\"name\":\"\\u200b\\u200b\"}",      "{\"name\":\"\\u202e四李\"}",    "{\"name\":\"李\\u200f四\"}",
		"{\"name\":\"李\\u2066四\\u2069\"}", "{\"name\":\"\\ufeff李四\"}",    "{\"name\":\"李\\u2060四\"}",
		"{\"name\":\"李\\u0001四\"}",         "{\"name\":\"李\\u0085四\"}",    "{\"name\":\"李\\u00ad四\"}",
		"{\"name\":\"李四\\u200d\"}",         "{\"name\":\"\\u200b \\u200b\"}", "{\"name\":42}",
	};
	char code[64];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		read_name(bad[i], code);
		if (strcmp(code, "field_invalid") != 0)
			fail_msg("%s: %s", bad[i], code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trimmed),
		cmocka_unit_test(test_empty_after_trimming),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
