/* http/multipart: the parser of upload bodies. Well-formed bodies (preamble, epilogue, quoted and
 * bare parameters, long names passed on whole), and one result for each problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

#define CT "multipart/form-data; boundary=XyZ"
#define FILE_PART(name) "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" name "\"\r\n"

/* Parses the NUL-terminated body with CT and a maximum of 100 bytes; returns the result and
 * fills u and part (free u with http_upload_free). */
static int parse(const char *body, struct http_upload *u, char *part)
{
	return multipart_parse(CT, body, strlen(body), 100, u, part);
}

static void test_well_formed(void **state)
{
	const char *body = "a preamble\r\n"
			   "--XyZ\r\nContent-Disposition: form-data; name=\"handler_name\"\r\n\r\n钱七\r\n"
			   "--XyZ  \r\ncontent-disposition: FORM-DATA; name=new_mobile\r\n\r\n18800188000\r\n" FILE_PART(
				   "C:\\scans\\授权书.png") "Content-Type: image/png\r\n\r\nPNG\n--XyZ\r\ndata\r\n"
						   "--XyZ--\r\nan epilogue";
	struct http_upload u;
	char part[MP_NAME_MAX + 1];
	(void)state;

	assert_int_equal(parse(body, &u, part), MP_OK);
	assert_string_equal(json_string_value(json_object_get(u.fields, "handler_name")), "钱七");
	assert_string_equal(json_string_value(json_object_get(u.fields, "new_mobile")), "18800188000");
	assert_string_equal(u.filename, "C:\\scans\\授权书.png");
	assert_int_equal(u.len, 15);
	assert_memory_equal(u.data, "PNG\n--XyZ\r\ndata", 15); /* a delimiter needs CRLF before it */
	http_upload_free(&u);

	/* the boundary quoted, other parameters around it; an empty file; no headers in a text part */
	const char *b2 = "--a'b\r\n\r\nnameless\r\n--a'b\r\nContent-Disposition: form-data; filename=\"\"; name=file\r\n\r\n"
			 "\r\n--a'b--";
	assert_int_equal(multipart_parse("Multipart/Form-Data; charset=utf-8; boundary=\"a'b\"", b2, strlen(b2),
					 100, &u, part),
			 MP_MALFORMED); /* a part without a name */
	http_upload_free(&u);
	b2 = "--a'b\r\nContent-Disposition: form-data; filename=\"\"; name=file\r\n\r\n\r\n--a'b--";
	assert_int_equal(multipart_parse("Multipart/Form-Data; charset=utf-8; boundary=\"a'b\"", b2, strlen(b2),
					 100, &u, part),
			 MP_OK);
	assert_string_equal(u.filename, "");
	assert_int_equal(u.len, 0);
	http_upload_free(&u);
}

/* A file name of n bytes of c, as the part's filename parameter. */
static char *with_name(size_t n, char c)
{
	size_t cap = n + 256;
	char *b = malloc(cap);
	int k = snprintf(b, cap, FILE_PART(""));

	memmove(b + k - 3 + n, b + k - 3, 4); /* the closing quote, CRLF and NUL after the name */
	memset(b + k - 3, c, n);
	strcat(b, "\r\nx\r\n--XyZ--\r\n");
	return b;
}

static void test_file_names(void **state)
{
	struct http_upload u;
	char part[MP_NAME_MAX + 1], *b;
	(void)state;

	b = with_name(MP_FILENAME_MAX, 'a'); /* the longest name: passed on whole */
	assert_int_equal(parse(b, &u, part), MP_OK);
	assert_int_equal(strlen(u.filename), MP_FILENAME_MAX);
	http_upload_free(&u);
	free(b);
	b = with_name(MP_FILENAME_MAX + 1, 'a');
	assert_int_equal(parse(b, &u, part), MP_FILENAME_TOO_LONG);
	http_upload_free(&u);
	free(b);
	b = with_name(100 * 1024, 'a');
	assert_int_equal(parse(b, &u, part), MP_FILENAME_TOO_LONG);
	http_upload_free(&u);
	free(b);
	/* 300 bytes of Chinese (100 characters): not cut, whatever the display makes of it */
	char name[400] = "", body[800];
	for (int i = 0; i < 100; i++)
		strcat(name, "授");
	snprintf(body, sizeof(body), FILE_PART("%s") "\r\nx\r\n--XyZ--", name);
	assert_int_equal(parse(body, &u, part), MP_OK);
	assert_string_equal(u.filename, name);
	http_upload_free(&u);
	/* a NUL in the name: the body is given with its length */
	const char nul[] = FILE_PART("a\0b.png") "\r\nx\r\n--XyZ--";
	assert_int_equal(multipart_parse(CT, nul, sizeof(nul) - 1, 100, &u, part), MP_FILENAME_INVALID);
	http_upload_free(&u);
	assert_int_equal(parse(FILE_PART("a\nb.png") "\r\nx\r\n--XyZ--", &u, part), MP_FILENAME_INVALID);
	http_upload_free(&u);
}

/* Returns a body with a text part "note" of n bytes of 'x' and a file. Caller frees. */
static char *with_field(size_t n)
{
	char *b = malloc(n + 512);
	int k = sprintf(b, "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n");

	memset(b + k, 'x', n);
	strcpy(b + k + n, "\r\n" FILE_PART("a.png") "\r\nx\r\n--XyZ--\r\n");
	return b;
}

static void test_fields(void **state)
{
	struct http_upload u;
	char part[MP_NAME_MAX + 1], *b;
	(void)state;

	b = with_field(MP_FIELD_MAX);
	assert_int_equal(parse(b, &u, part), MP_OK);
	assert_int_equal(json_string_length(json_object_get(u.fields, "note")), MP_FIELD_MAX);
	http_upload_free(&u);
	free(b);
	b = with_field(MP_FIELD_MAX + 1);
	assert_int_equal(parse(b, &u, part), MP_FIELD_TOO_LONG);
	assert_string_equal(part, "note");
	http_upload_free(&u);
	free(b);
	assert_int_equal(parse("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\xff\r\n--XyZ--", &u, part),
			 MP_FIELD_INVALID);
	assert_string_equal(part, "note");
	http_upload_free(&u);
	const char nul[] = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\na\0b\r\n--XyZ--";
	assert_int_equal(multipart_parse(CT, nul, sizeof(nul) - 1, 100, &u, part), MP_FIELD_INVALID);
	http_upload_free(&u);
	assert_int_equal(parse("--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\na\r\n"
			       "--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nb\r\n--XyZ--",
			       &u, part),
			 MP_FIELD_DUPLICATE);
	assert_string_equal(part, "n");
	http_upload_free(&u);
}

static void test_structure(void **state)
{
	struct http_upload u;
	char part[MP_NAME_MAX + 1], big[4096] = "";
	(void)state;

	/* cut short anywhere: no closing delimiter */
	const char *cut[] = {FILE_PART("a.png") "\r\nPNG",
			     FILE_PART("a.png") "\r\nPNG\r\n--XyZ",
			     FILE_PART("a.png") "\r\nPNG\r\n--XyZ-",
			     FILE_PART("a.png"),
			     "--XyZ\r\nContent-Disposition: form-da",
			     "--XyZ",
			     ""};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		if (parse(cut[i], &u, part) != MP_INCOMPLETE)
			fail_msg("cut %zu: %d", i, parse(cut[i], &u, part));
		http_upload_free(&u);
	}
	const char *malformed[] = {"no delimiter at all",
				   "--XyZ\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nx\r\n--XyZ--",
				   "--XyZ\r\nContent-Disposition: form-data; name=\"file\r\n\r\nx\r\n--XyZ--",
				   "--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--",
				   "--XyZ\r\nContent-Disposition: form-data; name=\"a b\"\r\n\r\nx\r\n--XyZ--",
				   "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\nx\r\n--XyZ--",
				   "--XyZjunk\r\n"};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		if (parse(malformed[i], &u, part) != MP_MALFORMED)
			fail_msg("malformed %zu: %d", i, parse(malformed[i], &u, part));
		http_upload_free(&u);
	}
	assert_int_equal(parse(FILE_PART("a.png") "\r\nx\r\n" FILE_PART("b.png") "\r\ny\r\n--XyZ--", &u, part),
			 MP_SEVERAL_FILES);
	http_upload_free(&u);
	assert_int_equal(parse("--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a\"\r\n\r\nx\r\n--XyZ--",
			       &u, part),
			 MP_SEVERAL_FILES);
	http_upload_free(&u);
	assert_int_equal(parse("--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\na\r\n--XyZ--", &u, part),
			 MP_NO_FILE);
	http_upload_free(&u);
	for (int i = 0; i <= MP_PARTS_MAX; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
			 "--XyZ\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
	strcat(big, "--XyZ--");
	assert_int_equal(parse(big, &u, part), MP_TOO_MANY_PARTS);
	http_upload_free(&u);
	/* over the caller's maximum: said once the body is known to be well-formed */
	char large[400];
	snprintf(large, sizeof(large), FILE_PART("a.png") "\r\n%0200d\r\n--XyZ--", 0);
	assert_int_equal(parse(large, &u, part), MP_FILE_TOO_LARGE);
	assert_string_equal(part, "file");
	http_upload_free(&u);
}

static void test_content_type(void **state)
{
	struct http_upload u;
	char part[MP_NAME_MAX + 1];
	const char *body = FILE_PART("a.png") "\r\nx\r\n--XyZ--";
	(void)state;

	assert_int_equal(multipart_parse(NULL, body, strlen(body), 100, &u, part), MP_NOT_MULTIPART);
	http_upload_free(&u);
	assert_int_equal(multipart_parse("application/json", body, strlen(body), 100, &u, part), MP_NOT_MULTIPART);
	http_upload_free(&u);
	assert_int_equal(multipart_parse("multipart/form-datax; boundary=XyZ", body, strlen(body), 100, &u, part),
			 MP_NOT_MULTIPART);
	http_upload_free(&u);
	assert_int_equal(multipart_parse("multipart/form-data", body, strlen(body), 100, &u, part), MP_MALFORMED);
	http_upload_free(&u);
	assert_int_equal(multipart_parse("multipart/form-data; boundary=", body, strlen(body), 100, &u, part),
			 MP_MALFORMED);
	http_upload_free(&u);
	assert_int_equal(multipart_parse("multipart/form-data; boundary=\"XyZ", body, strlen(body), 100, &u, part),
			 MP_MALFORMED);
	http_upload_free(&u);
	char ct[200];
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 0);
	assert_int_equal(multipart_parse(ct, body, strlen(body), 100, &u, part), MP_MALFORMED);
	http_upload_free(&u);
	assert_int_equal(multipart_parse("multipart/form-data;boundary=XyZ", body, strlen(body), 100, &u, part),
			 MP_OK);
	http_upload_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed), cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_fields),      cmocka_unit_test(test_structure),
		cmocka_unit_test(test_content_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
