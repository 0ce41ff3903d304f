/* Unit tests for src/util/log.c: one JSON object per line, whatever the message holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* Formats a line and returns it parsed (asserting that it parses and ends with one newline). */
static json_t *line_of(const char *rid, const char *const *fields, const char *msg)
{
	char buf[4096];
	size_t n = log_format_json(buf, sizeof(buf), "2026-12-06T22:40:01.123Z", LOG_LEVEL_WARN, "outbox",
				   rid, fields, msg);
	json_error_t e;
	json_t *j;

	assert_true(n < sizeof(buf));
	buf[n] = '\0';
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));
	j = json_loads(buf, 0, &e);
	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, buf);
	return j;
}

static const char *str(json_t *j, const char *name)
{
	return json_string_value(json_object_get(j, name));
}

static void test_fields(void **state)
{
	json_t *j = line_of("0123456789abcdef", LOG_FIELDS("channel", "sms", "skipped", NULL, "id", "12"),
			    "短信 #12 已发送");
	(void)state;

	assert_string_equal(str(j, "ts"), "2026-12-06T22:40:01.123Z");
	assert_string_equal(str(j, "level"), "warn");
	assert_string_equal(str(j, "component"), "outbox");
	assert_string_equal(str(j, "msg"), "短信 #12 已发送");
	assert_string_equal(str(j, "request_id"), "0123456789abcdef");
	assert_string_equal(str(j, "channel"), "sms");
	assert_string_equal(str(j, "id"), "12");
	assert_null(json_object_get(j, "skipped"));
	json_decref(j);
	/* no request: no request_id; a caller's field cannot replace the line's own */
	j = line_of("", LOG_FIELDS("level", "debug", "x", NULL), "m");
	assert_null(json_object_get(j, "request_id"));
	assert_string_equal(str(j, "level"), "warn");
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
}

/* Quotes, backslashes, newlines, control characters and bytes that are not UTF-8 (a stray
 * continuation byte, an overlong form, a surrogate, a cut sequence) still make one JSON line. */
static void test_escaping(void **state)
{
	json_t *j = line_of(NULL, NULL, "a\"b\\c\nd\te\001f\x80g\xc0\xafh\xed\xa0\x80i\xe4\xb8");
	(void)state;

	assert_string_equal(str(j, "msg"), "a\"b\\c\nd\te\001f\xef\xbf\xbdg\xef\xbf\xbd\xef\xbf\xbdh"
					   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdi\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
}

/* A line longer than the buffer reports the length it needs, as snprintf does. */
static void test_needs(void **state)
{
	char small[16], big[256];
	size_t need =
		log_format_json(small, sizeof(small), "t", LOG_LEVEL_INFO, "c", NULL, NULL, "a long message");
	(void)state;

	assert_true(need > sizeof(small));
	assert_int_equal(
		log_format_json(big, sizeof(big), "t", LOG_LEVEL_INFO, "c", NULL, NULL, "a long message"),
		need);
}

/* log_write: the thread's request id goes into the line; a message longer than the stack buffers
 * is written whole. */
static void test_write(void **state)
{
	int fds[2];
	static char buf[16384];
	char *longmsg = malloc(6000);
	ssize_t n;
	json_t *j;
	(void)state;

	memset(longmsg, 'x', 5999);
	longmsg[5999] = '\0';
	assert_int_equal(pipe(fds), 0);
	log_setup("test", 1);
	log_set_request_id("feedfacefeedface");
	log_write_fd(fds[1], LOG_LEVEL_ERROR, "pki", LOG_FIELDS("serial", "01"), "CRL not published: %s",
		     longmsg);
	log_set_request_id(NULL);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 6000);
	buf[n] = '\0';
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(str(j, "request_id"), "feedfacefeedface");
	assert_string_equal(str(j, "level"), "error");
	assert_int_equal(strlen(str(j, "msg")), strlen("CRL not published: ") + 5999);
	json_decref(j);
	free(longmsg);
	assert_string_equal(log_request_id(), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
