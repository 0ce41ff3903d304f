/* Form bodies (util/urlform.c): decoding ('+', %XX, empty segments), what is refused (bad escapes,
 * NUL, repeated names, no '=', too many fields), and encoding that decodes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/urlform.h"

/* Parses s; returns urlform_parse's result. */
static int parse(const char *s, struct urlform *f)
{
	return urlform_parse(s, strlen(s), 16, f);
}

static void test_decode(void **state)
{
	struct urlform f;
	(void)state;

	assert_int_equal(parse("a=1&b=x+y%20z&&c=&d=%E4%B8%AD%26%3d&", &f), 0);
	assert_int_equal(f.n, 4);
	assert_string_equal(urlform_get(&f, "a"), "1");
	assert_string_equal(urlform_get(&f, "b"), "x y z");
	assert_string_equal(urlform_get(&f, "c"), "");
	assert_string_equal(urlform_get(&f, "d"), "中&=");
	assert_null(urlform_get(&f, "e"));
	urlform_free(&f);
	assert_int_equal(parse("", &f), 0);
	assert_int_equal(f.n, 0);
	urlform_free(&f);
	assert_int_equal(parse("a%3Db=c=d", &f), 0); /* the first '=' splits */
	assert_string_equal(urlform_get(&f, "a=b"), "c=d");
	urlform_free(&f);
}

static void test_refused(void **state)
{
	struct urlform f;
	(void)state;

	assert_int_equal(parse("a=%zz", &f), -1);
	assert_int_equal(parse("a=%4", &f), -1);
	assert_int_equal(parse("a=%", &f), -1);
	assert_int_equal(parse("a=%00", &f), -1);
	assert_int_equal(parse("a=1&a=2", &f), -1);
	assert_int_equal(parse("a=1&b", &f), -1);
	assert_int_equal(parse("=1", &f), -1);
	assert_int_equal(parse("a=1&b=2&c=3", &f) == 0 && f.n == 3, 1);
	urlform_free(&f);
	assert_int_equal(urlform_parse("a=1&b=2&c=3", 11, 2, &f), -1);
	assert_null(f.f);
	/* the length bounds the parse: no NUL needed */
	assert_int_equal(urlform_parse("a=12345", 3, 4, &f), 0);
	assert_string_equal(urlform_get(&f, "a"), "1");
	urlform_free(&f);
}

static void test_encode(void **state)
{
	struct urlform f = {0}, back;
	char *s;
	(void)state;

	urlform_add(&f, "biz_content", "{\"subject\":\"证书 A&B=C+D\"}");
	urlform_add(&f, "t", "2026-01-01 08:00:00");
	urlform_add(&f, "u", "a-b_c.d~e/f?");
	s = urlform_encode(&f);
	assert_string_equal(s, "biz_content=%7B%22subject%22%3A%22%E8%AF%81%E4%B9%A6%20A%26B%3DC%2BD%22%7D"
			       "&t=2026-01-01%2008%3A00%3A00&u=a-b_c.d~e%2Ff%3F");
	assert_int_equal(urlform_parse(s, strlen(s), 8, &back), 0);
	for (size_t i = 0; i < f.n; i++)
		assert_string_equal(urlform_get(&back, f.f[i].name), f.f[i].value);
	free(s);
	urlform_free(&back);
	urlform_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
