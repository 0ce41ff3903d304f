/* Typed-in input over HTTP on both backends (issue 11): full-width digits and letters in the USCC,
 * mobile and ID number fields are normalised, not refused; ID numbers of no real province and
 * names of invisible or direction-control characters are refused; each malformed upload gets its
 * own error code instead of one misleading message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idcard.h"
#include "harness.h"

static struct srv S;
static struct client org; /* logged in, for the orders and uploads */
static int failures;      /* upload cases that went wrong, each reported on its own */

/* Full-width ９１３１０１１５ＭＡ１Ｋ３ＢＴＰ２Ｂ (a valid USCC) and １３８００１３８００１. */
#define FW_USCC                                                                                         \
	"\xef\xbc\x99\xef\xbc\x91\xef\xbc\x93\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x91\xef\xbc\x95" \
	"\xef\xbc\xad\xef\xbc\xa1\xef\xbc\x91\xef\xbc\xab\xef\xbc\x93\xef\xbc\xa2\xef\xbc\xb4\xef\xbd\x90" \
	"\xef\xbc\x92\xef\xbc\xa2"
#define FW_MOBILE \
	"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98" \
	"\xef\xbc\x90\xef\xbc\x90\xef\xbc\x91"
#define IDEOGRAPHIC_SPACE "\xe3\x80\x80"

static int setup(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL}; /* the Yingtan project */
	(void)state;

	if (harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	client_init(&org, &S, "input");
	return client_register_login(&org, "鹰潭输入公司", "91110000600037341L", "13800138002");
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Sends body to path as JSON; asserts the status and, when code is not NULL, the error code and
 * (when field is not NULL) its field. */
static void expect(struct client *c, const char *path, const char *body, long status, const char *code,
		   const char *field)
{
	json_t *j = NULL;
	long st = client_do(c, "POST", path, body, &j);

	if (st != status || (code != NULL && strcmp(error_code(j), code) != 0))
		fail_msg("%s %s: %ld %s, expected %ld %s", path, body, st,
			 json_dumps(j, JSON_COMPACT) ? json_dumps(j, JSON_COMPACT) : "", status, code ? code : "");
	if (field != NULL)
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(j, "error"), "field")), field);
	json_decref(j);
}

/* Registration, the SMS code and the login all take the full-width USCC and mobile. */
static void test_fullwidth_register_login(void **state)
{
	char body[1024];
	struct client fw;
	json_t *j = NULL;
	(void)state;

	client_init(&fw, &S, "input-fw");
	client_captcha(&fw);
	expect(&fw, "/api/v1/sms-codes",
	       "{\"purpose\":\"register\",\"mobile\":\"" IDEOGRAPHIC_SPACE FW_MOBILE "\",\"captcha\":\"ABCDE\"}",
	       200, NULL, NULL);
	snprintf(body, sizeof(body),
		 "{\"unit_name\":\"鹰潭全角公司\",\"uscc\":\"" FW_USCC IDEOGRAPHIC_SPACE "\",\"handler_name\":"
		 "\"张三\",\"handler_mobile\":\"" FW_MOBILE "\",\"password\":\"Secret-2026\","
		 "\"password_confirm\":\"Secret-2026\",\"sms_code\":\"%s\"}",
		 client_sms_code(&fw, "13800138001"));
	assert_int_equal(client_do(&fw, "POST", "/api/v1/organisations", body, &j), 201);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "organisation"), "uscc")),
			    "91310115MA1K3BTP2B");
	json_decref(j);
	client_captcha(&fw);
	expect(&fw, "/api/v1/auth/login",
	       "{\"uscc\":\"" FW_USCC "\",\"password\":\"Secret-2026\",\"captcha\":\"ABCDE\"}", 200, NULL, NULL);
	assert_int_equal(client_do(&fw, "GET", "/api/v1/account", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "handler_mobile")), "13800138001");
	json_decref(j);
}

/* Creates an order with form (JSON object text); asserts status and the error code. Returns the
 * reply (caller decrefs). */
static json_t *order(const char *form, long status, const char *code, const char *field)
{
	char body[2048];
	json_t *j = NULL;
	long st;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":%s}",
		 form);
	st = client_do(&org, "POST", "/api/v1/orders", body, &j);
	if (st != status || (code != NULL && strcmp(error_code(j), code) != 0))
		fail_msg("%s: %ld %s, expected %ld %s", form, st, json_dumps(j, JSON_COMPACT), status,
			 code ? code : "");
	if (field != NULL)
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(j, "error"), "field")), field);
	return j;
}

/* An ID number with region code region (6 digits) and a correct check character. */
static void id_with_region(const char *region, char out[IDCARD_LEN + 1])
{
	memcpy(out, region, 6);
	memcpy(out + 6, "19910101007", 11);
	out[17] = '\0';
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

static void test_order_fields(void **state)
{
	char form[1024], id[IDCARD_LEN + 1];
	json_t *j, *f;
	(void)state;

	/* full-width ID number and mobiles, ideographic spaces around them: normalised */
	j = order("{\"legal_id_number\":\"" IDEOGRAPHIC_SPACE
		  "\xef\xbc\x93\xef\xbc\x96\xef\xbc\x90\xef\xbc\x94\xef\xbc\x92\xef\xbc\x96\xef\xbc\x91\xef\xbc\x99"
		  "\xef\xbc\x99\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x90"
		  "\xef\xbc\x97\xef\xbc\x91\","
		  "\"handler_id_number\":\"11010519491231002\xef\xbd\x98\","
		  "\"legal_mobile\":\"\xef\xbc\x91\xef\xbc\x93\xef\xbc\x99 \xef\xbc\x90\xef\xbc\x90\xef\xbc\x91"
		  "\xef\xbc\x93 \xef\xbc\x99\xef\xbc\x90\xef\xbc\x90\xef\xbc\x90" IDEOGRAPHIC_SPACE "\","
		  "\"legal_name\":\"" IDEOGRAPHIC_SPACE "李四" IDEOGRAPHIC_SPACE "\"}",
		  201, NULL, NULL);
	f = json_object_get(j, "form");
	assert_string_equal(json_string_value(json_object_get(f, "legal_id_number")), "360426199101010071");
	assert_string_equal(json_string_value(json_object_get(f, "handler_id_number")), "11010519491231002X");
	assert_string_equal(json_string_value(json_object_get(f, "legal_mobile")), "13900139000");
	assert_string_equal(json_string_value(json_object_get(f, "legal_name")), "李四");
	json_decref(j);

	/* region codes of no province */
	const char *bad_regions[] = {"000000", "990000", "100000", "200105", "560101"};
	for (size_t i = 0; i < sizeof(bad_regions) / sizeof(bad_regions[0]); i++) {
		id_with_region(bad_regions[i], id);
		snprintf(form, sizeof(form), "{\"legal_id_number\":\"%s\"}", id);
		json_decref(order(form, 422, "id_region", "legal_id_number"));
	}
	/* Hong Kong, Macao and Taiwan residence permits (810000, 820000, 830000) are real */
	id_with_region("810000", id);
	snprintf(form, sizeof(form), "{\"legal_id_type\":\"residence_permit\",\"legal_id_number\":\"%s\"}", id);
	json_decref(order(form, 201, NULL, NULL));

	/* names of invisible characters, or with direction controls: refused, whatever the field */
	const char *bad_names[] = {
		"\\u200b\\u200b",      /* zero-width spaces */
		"\\u202e四李",         /* right-to-left override first */
		"李\\u2066四\\u2069", /* isolates */
		"李四\\ufeff",         /* BOM */
		"李\\u00ad四",         /* soft hyphen */
		"李\\u2060四",         /* word joiner */
	};
	const char *name_fields[] = {"legal_name", "recipient_name", "unit_address"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		for (size_t k = 0; k < sizeof(name_fields) / sizeof(name_fields[0]); k++) {
			snprintf(form, sizeof(form), "{\"%s\":\"%s\"}", name_fields[k], bad_names[i]);
			json_decref(order(form, 422, "field_invalid", name_fields[k]));
		}
	/* nothing left after trimming (ideographic spaces included): required */
	json_decref(order("{\"legal_name\":\"" IDEOGRAPHIC_SPACE IDEOGRAPHIC_SPACE "\"}", 422, "field_required",
			  "legal_name"));
	json_decref(order("{\"recipient_name\":\" \\t \"}", 422, "field_required", "recipient_name"));
}

/* The same reader guards the account's fields. */
static void test_registration_names(void **state)
{
	struct client c;
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "input-reg");
	assert_int_equal(client_do(&c, "POST", "/api/v1/organisations",
				   "{\"unit_name\":\"\\u200b\\u200b\\u200b\",\"uscc\":\"91310115MA1K3BTP2B\","
				   "\"handler_name\":\"\\u202e三张\",\"handler_mobile\":\"13800138002\","
				   "\"password\":\"Secret-2026\",\"password_confirm\":\"Secret-2026\","
				   "\"sms_code\":\"123456\"}",
				   &j),
			 422);
	assert_string_equal(error_code(j), "field_invalid");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "field")), "unit_name");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 1),
								"field")),
			    "handler_name");
	json_decref(j);
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *user)
{
	struct buf *b = user;

	b->p = realloc(b->p, b->len + size * n + 1);
	memcpy(b->p + b->len, data, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

/* Posts a raw multipart body of len bytes (boundary XyZ) to the mobile-request route as org;
 * returns the status and the reply in *json. */
static long raw_upload(const char *body, size_t len, json_t **json)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b = {calloc(1, 1), 0};
	char url[256], csrf[128];
	long status = -1;

	snprintf(url, sizeof(url), "%s/api/v1/account/mobile-requests", S.base);
	snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", org.csrf);
	hl = curl_slist_append(hl, csrf);
	hl = curl_slist_append(hl, "Content-Type: multipart/form-data; boundary=XyZ");
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, org.jar);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	*json = json_loadb(b.p, b.len, 0, NULL);
	free(b.p);
	return status;
}

/* Builds a body: fields "handler_name" (hn) and "new_mobile", a file part named filename (fnlen
 * bytes, may hold a NUL) with the PNG, and the closing boundary when closed. */
static char *multipart(const char *hn, const char *filename, size_t fnlen, const unsigned char *png,
		       size_t pnglen, int closed, size_t *len)
{
	size_t cap = strlen(hn) + fnlen + pnglen + 1024, n;
	char *b = malloc(cap);

	n = (size_t)snprintf(b, cap,
			     "--XyZ\r\nContent-Disposition: form-data; name=\"handler_name\"\r\n\r\n%s\r\n"
			     "--XyZ\r\nContent-Disposition: form-data; name=\"new_mobile\"\r\n\r\n18800188000\r\n"
			     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"",
			     hn);
	memcpy(b + n, filename, fnlen);
	n += fnlen;
	n += (size_t)snprintf(b + n, cap - n, "\"\r\nContent-Type: image/png\r\n\r\n");
	memcpy(b + n, png, pnglen);
	n += pnglen;
	if (closed)
		n += (size_t)snprintf(b + n, cap - n, "\r\n--XyZ--\r\n");
	*len = n;
	return b;
}

/* Sends one body built by multipart(); asserts the status and error code. */
static void upload_case(const char *hn, const char *filename, size_t fnlen, int closed, long status,
			const char *code, const char *field)
{
	size_t pnglen = 0, len = 0;
	unsigned char *png = harness_png(600, 400, &pnglen);
	char *body = multipart(hn, filename, fnlen, png, pnglen, closed, &len);
	json_t *j = NULL;
	long st = raw_upload(body, len, &j);

	const char *got = json_string_value(json_object_get(json_object_get(j, "error"), "field"));

	if (st != status || (code != NULL && strcmp(error_code(j), code) != 0) ||
	    (field != NULL && (got == NULL || strcmp(got, field) != 0))) {
		print_error("upload (name %zu bytes, closed %d): %ld %s, expected %ld %s %s\n", fnlen, closed,
			    st, j ? json_dumps(j, JSON_COMPACT) : "", status, code ? code : "", field ? field : "");
		failures++;
	}
	json_decref(j);
	free(body);
	free(png);
}

static void test_multipart_errors(void **state)
{
	char *huge = malloc(100 * 1024), *long_text = malloc(5001), name300[400] = "";
	json_t *j = NULL;
	(void)state;

	memset(huge, 'a', 100 * 1024);
	upload_case("钱七", huge, 100 * 1024, 1, 400, "filename_too_long", "file");
	upload_case("钱七", "letter\0.png", 11, 1, 400, "filename_invalid", "file");
	memset(long_text, 'x', 5000);
	long_text[5000] = '\0';
	upload_case(long_text, "letter.png", 10, 1, 422, "field_too_long", "handler_name");
	upload_case("钱七", "letter.png", 10, 0, 400, "multipart_incomplete", NULL);
	/* two files: the one message that fits */
	char two[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nA\r\n"
		     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.png\"\r\n\r\nB\r\n"
		     "--XyZ--\r\n";
	if (raw_upload(two, sizeof(two) - 1, &j) != 400 || strcmp(error_code(j), "bad_multipart") != 0) {
		print_error("two files: %s\n", j ? json_dumps(j, JSON_COMPACT) : "");
		failures++;
	}
	json_decref(j);
	/* a long (100 characters, 300 bytes) Chinese file name is fine: the request is recorded */
	for (int i = 0; i < 96; i++)
		strcat(name300, "授");
	strcat(name300, ".png");
	upload_case("钱七", name300, strlen(name300), 1, 201, NULL, NULL);
	free(huge);
	free(long_text);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fullwidth_register_login),
		cmocka_unit_test(test_order_fields),
		cmocka_unit_test(test_registration_names),
		cmocka_unit_test(test_multipart_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
