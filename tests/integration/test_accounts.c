/* Organisation and staff accounts over HTTP: registration, captcha, SMS codes, login and lockout,
 * sessions and CSRF, password reset, mobile change, staff roles, and the audit trail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	if (harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	db_close(db);
	config_free(&cfg);
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Runs one SQL statement on the test database (to age sessions and codes). */
static void sql(const char *text, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	assert_int_equal(db_exec(c, text, DB_ARGS(DB_TEXT(arg)), NULL), DB_OK);
	db_release(c);
}

/* Runs one SQL statement without arguments on the test database. */
static void sql0(const char *text)
{
	struct db_conn *c = db_acquire(db);
	assert_int_equal(db_exec(c, text, DB_NOARGS, NULL), DB_OK);
	db_release(c);
}

/* Asks for a register code for mobile and returns it. */
static const char *register_code(struct client *c, const char *mobile)
{
	char body[256];

	client_captcha(c);
	char digits[32];
	size_t n = 0;

	snprintf(body, sizeof(body), "{\"purpose\":\"register\",\"mobile\":\"%s\",\"captcha\":\"abcde\"}",
		 mobile);
	assert_int_equal(client_do(c, "POST", "/api/v1/sms-codes", body, NULL), 200);
	/* the outbox knows the normalised number: its last 11 digits */
	for (const char *p = mobile; *p != '\0' && n < sizeof(digits) - 1; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	digits[n] = '\0';
	return client_sms_code(c, n > 11 ? digits + n - 11 : digits);
}

/* Registers uscc with mobile; returns the status and the reply in *j (may be NULL). */
static long do_register(struct client *c, const char *uscc, const char *mobile, const char *extra, json_t **j)
{
	char body[1024];

	snprintf(
		body, sizeof(body),
		"{\"unit_name\":\"鹰潭市测试科技有限公司\",\"uscc\":\"%s\",\"handler_name\":\"张三\","
		"\"handler_mobile\":\"%s\",\"password\":\"Secret-2026\",\"password_confirm\":\"Secret-2026\","
		"\"sms_code\":\"%s\"%s}",
		uscc, mobile, register_code(c, mobile), extra ? extra : "");
	return client_do(c, "POST", "/api/v1/organisations", body, j);
}

/* Logs in; returns the status, the error code in code (may be NULL). */
static long login(struct client *c, const char *uscc, const char *password, const char *captcha,
		  char code[64])
{
	char body[512];
	json_t *j = NULL;
	long st;

	client_captcha(c);
	snprintf(body, sizeof(body), "{\"uscc\":\"%s\",\"password\":\"%s\",\"captcha\":\"%s\"}", uscc,
		 password, captcha);
	st = client_do(c, "POST", "/api/v1/auth/login", body, &j);
	if (code != NULL)
		snprintf(code, 64, "%s", error_code(j));
	json_decref(j);
	return st;
}

static void test_register_and_login(void **state)
{
	struct client c;
	json_t *j = NULL;
	char before[128];
	(void)state;

	client_init(&c, &S, "reg");
	/* lower case and spaces are normalised; +86 and dashes stripped */
	if (do_register(&c, " 91310115ma1k3btp2b ", "+86 138-0013-8000", NULL, &j) != 201)
		fail_msg("%s", json_dumps(j, 0));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "organisation"), "uscc")),
			    "91310115MA1K3BTP2B");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "organisation"), "handler_mobile")),
		"13800138000");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "organisation"), "uscc_status")),
		"valid");
	json_decref(j);

	/* the same USCC again */
	assert_int_equal(do_register(&c, "91310115MA1K3BTP2B", "13900139000", NULL, &j), 409);
	assert_string_equal(error_code(j), "uscc_registered");
	json_decref(j);

	snprintf(before, sizeof(before), "%s", client_cookie(&c));
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	/* the session id changes at login */
	assert_string_not_equal(client_cookie(&c), before);
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "鹰潭市测试科技有限公司");
	json_decref(j);
	assert_int_equal(client_do(&c, "POST", "/api/v1/auth/logout", NULL, NULL), 200);
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, &j), 401);
	assert_string_equal(error_code(j), "not_logged_in");
	json_decref(j);
}

/* Posts a registration body and checks the first error names field with code. */
static void expect_register_error(struct client *c, const char *body, long status, const char *field,
				  const char *code)
{
	json_t *j = NULL, *e;
	size_t i;
	int found = 0;

	assert_int_equal(client_do(c, "POST", "/api/v1/organisations", body, &j), status);
	json_array_foreach (json_object_get(j, "errors"), i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		if (f != NULL && strcmp(f, field) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "code")), code) == 0) {
			const char *msg = json_string_value(json_object_get(e, "message"));
			assert_true(msg != NULL && (unsigned char)msg[0] >= 0xe4);
			found = 1;
		}
	}
	if (!found)
		fail_msg("no %s error on %s in %s", code, field, json_dumps(j, 0));
	json_decref(j);
}

static void test_register_bad_input(void **state)
{
	struct client c;
	char body[1024], longname[400] = "";
	(void)state;

	client_init(&c, &S, "bad");
#define REG(uscc, mobile, name, pw, code)                                                                    \
	(snprintf(body, sizeof(body),                                                                        \
		  "{\"unit_name\":\"%s\",\"uscc\":\"%s\",\"handler_name\":\"李四\",\"handler_mobile\":\"%" \
		  "s\","                                                                                     \
		  "\"password\":\"%s\",\"password_confirm\":\"%s\",\"sms_code\":\"%s\"}",                    \
		  name, uscc, mobile, pw, pw, code),                                                         \
	 body)
	expect_register_error(&c,
			      REG("91110000600037341N", "13800138001", "某某公司", "Secret-2026", "123456"),
			      422, "uscc", "uscc_check_char");
	expect_register_error(&c,
			      REG("9111000060003IOZSV", "13800138001", "某某公司", "Secret-2026", "123456"),
			      422, "uscc", "uscc_char");
	expect_register_error(&c, REG("12345", "13800138001", "某某公司", "Secret-2026", "123456"), 422,
			      "uscc", "uscc_length");
	expect_register_error(&c,
			      REG("91AB0000600037341L", "13800138001", "某某公司", "Secret-2026", "123456"),
			      422, "uscc", "uscc_division");
	expect_register_error(&c,
			      REG("91110000600037341L", "0791-88888888", "某某公司", "Secret-2026", "123456"),
			      422, "handler_mobile", "mobile_invalid");
	expect_register_error(&c,
			      REG("91110000600037341L", "12800138001", "某某公司", "Secret-2026", "123456"),
			      422, "handler_mobile", "mobile_invalid");
	for (int i = 0; i < 101; i++)
		strcat(longname, "测");
	expect_register_error(&c, REG("91110000600037341L", "13800138001", longname, "Secret-2026", "123456"),
			      422, "unit_name", "field_too_long");
	expect_register_error(&c, REG("91110000600037341L", "13800138001", "某某公司", "abcdefgh", "123456"),
			      422, "password", "password_weak");
	/* no code was ever sent to this mobile */
	expect_register_error(&c,
			      REG("91110000600037341L", "13800138001", "某某公司", "Secret-2026", "123456"),
			      422, "sms_code", "sms_code_expired");
	expect_register_error(&c, REG("91110000600037341L", "13800138001", "某某公司", "Secret-2026", ""),
			      422, "sms_code", "field_required");
	expect_register_error(&c, "{\"unit_name\":12,\"uscc\":[]}", 422, "unit_name", "field_invalid");
	expect_register_error(&c, "{\"unit_name\":\"a\\u0007b\"}", 422, "unit_name", "field_invalid");
#undef REG
	/* not JSON, invalid UTF-8, not an object */
	json_t *j = NULL;
	assert_int_equal(client_do(&c, "POST", "/api/v1/organisations", "{\"unit_name\":\"\xff\xfe\"}", &j),
			 400);
	assert_string_equal(error_code(j), "bad_json");
	json_decref(j);
	assert_int_equal(client_do(&c, "POST", "/api/v1/organisations", "[1,2]", &j), 400);
	json_decref(j);
}

static void test_register_pilot_code_needs_staff(void **state)
{
	struct client c, admin;
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "pilot");
	/* a legal early code that fails the check: refused, then accepted when confirmed as printed */
	assert_int_equal(do_register(&c, "91350211M0000XUF46", "13700137000", NULL, &j), 422);
	assert_string_equal(error_code(j), "uscc_check_char");
	assert_non_null(
		strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "应为 R"));
	json_decref(j);
	sql("UPDATE sms_codes SET created_at = '2000-01-01T00:00:00Z' WHERE mobile = ?", harness_pii_hash("13700137000"));
	assert_int_equal(
		do_register(&c, "91350211M0000XUF46", "13700137000", ",\"uscc_as_printed\":true", &j), 201);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "organisation"), "uscc_status")),
		"pending_review");
	json_decref(j);

	client_init(&admin, &S, "admin1");
	client_captcha(&admin);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/auth/login",
			  "{\"username\":\"admin\",\"password\":\"Demo-2026\",\"captcha\":\"ABCDE\"}", NULL),
		200);
	assert_int_equal(client_do(&admin, "POST",
				   "/api/v1/admin/organisations/91350211M0000XUF46/confirm-uscc", NULL, &j),
			 200);
	assert_string_equal(json_string_value(json_object_get(j, "uscc_status")), "confirmed");
	json_decref(j);
	assert_int_equal(client_do(&admin, "POST",
				   "/api/v1/admin/organisations/91350211M0000XUF46/confirm-uscc", NULL, &j),
			 409);
	json_decref(j);
}

static void test_captcha_rules(void **state)
{
	struct client a, b;
	char code[64];
	json_t *j = NULL;
	(void)state;

	client_init(&a, &S, "cap-a");
	client_init(&b, &S, "cap-b");
	/* missing */
	assert_int_equal(client_do(&a, "POST", "/api/v1/auth/login",
				   "{\"uscc\":\"91310115MA1K3BTP2B\",\"password\":\"x\"}", NULL),
			 422);
	/* wrong, then the same captcha again: used up */
	assert_int_equal(login(&a, "91310115MA1K3BTP2B", "Secret-2026", "WRONG", code), 422);
	assert_string_equal(code, "captcha_wrong");
	assert_int_equal(client_do(&a, "POST", "/api/v1/auth/login",
				   "{\"uscc\":\"91310115MA1K3BTP2B\",\"password\":\"Secret-2026\","
				   "\"captcha\":\"ABCDE\"}",
				   NULL),
			 422);
	/* a captcha fetched by one session does not serve another */
	client_captcha(&a);
	assert_int_equal(client_do(&b, "POST", "/api/v1/auth/login",
				   "{\"uscc\":\"91310115MA1K3BTP2B\",\"password\":\"Secret-2026\","
				   "\"captcha\":\"ABCDE\"}",
				   NULL),
			 422);
	/* an expired one */
	client_captcha(&b);
	sql0("UPDATE sessions SET captcha_expires_at = '2000-01-01T00:00:00Z' WHERE captcha_hash IS NOT "
	     "NULL");
	assert_int_equal(client_do(&b, "POST", "/api/v1/auth/login",
				   "{\"uscc\":\"91310115MA1K3BTP2B\",\"password\":\"Secret-2026\","
				   "\"captcha\":\"ABCDE\"}",
				   &j),
			 422);
	assert_string_equal(error_code(j), "captcha_expired");
	json_decref(j);
	/* and a right one works */
	assert_int_equal(login(&b, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", code), 200);
}

static void test_lockout_and_unlock(void **state)
{
	struct client c, admin;
	char code[64];
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "lock");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(login(&c, "91310115MA1K3BTP2B", "wrong-pass-1", "ABCDE", code), 401);
		assert_string_equal(code, "invalid_credentials");
	}
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "wrong-pass-1", "ABCDE", code), 429);
	assert_string_equal(code, "account_locked");
	/* the right password does not get through a lock */
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", code), 429);
	assert_string_equal(code, "account_locked");
	/* an unknown account answers like a wrong password */
	assert_int_equal(login(&c, "91110000600037341L", "Secret-2026", "ABCDE", code), 401);
	assert_string_equal(code, "invalid_credentials");

	client_init(&admin, &S, "admin2");
	client_captcha(&admin);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/auth/login",
			  "{\"username\":\"admin\",\"password\":\"Demo-2026\",\"captcha\":\"ABCDE\"}", NULL),
		200);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/organisations?q=91310115", NULL, &j), 200);
	assert_non_null(json_object_get(json_array_get(json_object_get(j, "items"), 0), "locked_until"));
	json_decref(j);
	assert_int_equal(client_do(&admin, "POST", "/api/v1/admin/organisations/91310115MA1K3BTP2B/unlock",
				   NULL, NULL),
			 200);
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", code), 200);
}

static void test_csrf_and_session_expiry(void **state)
{
	struct client c;
	char saved[80];
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "csrf");
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	snprintf(saved, sizeof(saved), "%s", c.csrf);
	/* no token, a wrong token: refused, nothing changed */
	c.csrf[0] = '\0';
	assert_int_equal(client_do(&c, "POST", "/api/v1/auth/logout", NULL, &j), 403);
	assert_string_equal(error_code(j), "csrf_failed");
	json_decref(j);
	snprintf(c.csrf, sizeof(c.csrf), "%s",
		 "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(client_do(&c, "POST", "/api/v1/auth/logout", NULL, NULL), 403);
	snprintf(c.csrf, sizeof(c.csrf), "%s", saved);
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, NULL), 200);
	/* idle too long */
	sql0("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00Z' WHERE kind = 'org'");
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, &j), 401);
	assert_string_equal(error_code(j), "session_expired");
	json_decref(j);
	/* past the absolute limit */
	client_init(&c, &S, "csrf2");
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	sql0("UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z' WHERE kind = 'org'");
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, NULL), 401);
}

static void test_authorisation(void **state)
{
	struct client org, anon, reviewer;
	json_t *j = NULL;
	(void)state;

	client_init(&anon, &S, "anon");
	assert_int_equal(client_do(&anon, "GET", "/api/v1/account", NULL, NULL), 401);
	assert_int_equal(client_do(&anon, "GET", "/api/v1/admin/organisations", NULL, NULL), 401);
	client_init(&org, &S, "authz-org");
	assert_int_equal(login(&org, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	assert_int_equal(client_do(&org, "GET", "/api/v1/admin/organisations", NULL, &j), 403);
	assert_string_equal(error_code(j), "forbidden");
	json_decref(j);
	assert_int_equal(client_do(&org, "PATCH", "/api/v1/admin/organisations/91310115MA1K3BTP2B",
				   "{\"name\":\"改名\"}", NULL),
			 403);
	client_init(&reviewer, &S, "reviewer");
	client_captcha(&reviewer);
	assert_int_equal(
		client_do(&reviewer, "POST", "/api/v1/admin/auth/login",
			  "{\"username\":\"reviewer\",\"password\":\"Demo-2026\",\"captcha\":\"ABCDE\"}",
			  NULL),
		200);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/organisations?limit=1", NULL, NULL), 200);
	assert_int_equal(client_do(&reviewer, "PATCH", "/api/v1/admin/organisations/91310115MA1K3BTP2B",
				   "{\"name\":\"改名\"}", &j),
			 403);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/staff", NULL, NULL), 403);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/account", NULL, NULL), 403);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/organisations?limit=1000", NULL, NULL),
			 400);
}

static void test_sms_limits(void **state)
{
	struct client c;
	char body[512];
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "sms");
	register_code(&c, "13600136000");
	/* a second code within the minute */
	client_captcha(&c);
	assert_int_equal(
		client_do(&c, "POST", "/api/v1/sms-codes",
			  "{\"purpose\":\"register\",\"mobile\":\"13600136000\",\"captcha\":\"ABCDE\"}", &j),
		429);
	assert_string_equal(error_code(j), "sms_too_frequent");
	json_decref(j);
	/* sending needs the captcha */
	assert_int_equal(client_do(&c, "POST", "/api/v1/sms-codes",
				   "{\"purpose\":\"register\",\"mobile\":\"13600136001\"}", &j),
			 422);
	assert_string_equal(error_code(j), "captcha_required");
	json_decref(j);
	/* five wrong guesses kill the code, even for the right one after */
	const char *good = client_sms_code(&c, "13600136000");
	char right[16];
	snprintf(right, sizeof(right), "%s", good);
	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body),
			 "{\"unit_name\":\"某某公司\",\"uscc\":\"9144030071526726XG\",\"handler_name\":"
			 "\"王五\","
			 "\"handler_mobile\":\"13600136000\",\"password\":\"Secret-2026\",\"password_"
			 "confirm\":\"Secret-2026\","
			 "\"sms_code\":\"%06d\"}",
			 (atoi(right) + 1 + i) % 1000000);
		assert_int_equal(client_do(&c, "POST", "/api/v1/organisations", body, NULL), 422);
	}
	snprintf(body, sizeof(body),
		 "{\"unit_name\":\"某某公司\",\"uscc\":\"9144030071526726XG\",\"handler_name\":\"王五\","
		 "\"handler_mobile\":\"13600136000\",\"password\":\"Secret-2026\",\"password_confirm\":"
		 "\"Secret-2026\","
		 "\"sms_code\":\"%s\"}",
		 right);
	assert_int_equal(client_do(&c, "POST", "/api/v1/organisations", body, &j), 422);
	assert_string_equal(error_code(j), "sms_code_locked");
	json_decref(j);
	/* an expired code */
	sql("UPDATE sms_codes SET created_at = '2000-01-01T00:00:00Z' WHERE mobile = ?", harness_pii_hash("13600136000"));
	register_code(&c, "13600136000");
	sql("UPDATE sms_codes SET expires_at = '2000-01-01T00:00:00Z' WHERE mobile = ?", harness_pii_hash("13600136000"));
	snprintf(body, sizeof(body),
		 "{\"unit_name\":\"某某公司\",\"uscc\":\"9144030071526726XG\",\"handler_name\":\"王五\","
		 "\"handler_mobile\":\"13600136000\",\"password\":\"Secret-2026\",\"password_confirm\":"
		 "\"Secret-2026\","
		 "\"sms_code\":\"%s\"}",
		 client_sms_code(&c, "13600136000"));
	assert_int_equal(client_do(&c, "POST", "/api/v1/organisations", body, &j), 422);
	assert_string_equal(error_code(j), "sms_code_expired");
	json_decref(j);
}

static void test_password_reset(void **state)
{
	struct client c, old;
	char body[512];
	json_t *j = NULL;
	(void)state;

	client_init(&old, &S, "reset-old");
	assert_int_equal(login(&old, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	client_init(&c, &S, "reset");
	client_captcha(&c);
	sql("UPDATE sms_codes SET created_at = '2000-01-01T00:00:00Z' WHERE mobile = ?", harness_pii_hash("13800138000"));
	assert_int_equal(
		client_do(&c, "POST", "/api/v1/sms-codes",
			  "{\"purpose\":\"reset\",\"uscc\":\"91310115MA1K3BTP2B\",\"captcha\":\"ABCDE\"}",
			  &j),
		200);
	/* the answer does not tell whether the USCC is registered, nor the mobile */
	assert_null(json_object_get(j, "mobile_masked"));
	json_decref(j);
	snprintf(body, sizeof(body),
		 "{\"uscc\":\"91310115MA1K3BTP2B\",\"sms_code\":\"%s\",\"new_password\":\"NewSecret-9\","
		 "\"new_password_confirm\":\"NewSecret-9\"}",
		 client_sms_code(&c, "13800138000"));
	assert_int_equal(client_do(&c, "POST", "/api/v1/password-resets", body, NULL), 200);
	/* the same code twice: used up */
	assert_int_equal(client_do(&c, "POST", "/api/v1/password-resets", body, &j), 422);
	assert_string_equal(error_code(j), "sms_code_wrong");
	json_decref(j);
	/* sessions opened with the old password are gone */
	assert_int_equal(client_do(&old, "GET", "/api/v1/account", NULL, NULL), 401);
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 401);
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "NewSecret-9", "ABCDE", NULL), 200);
	/* change it back through the account page */
	assert_int_equal(client_do(&c, "POST", "/api/v1/account/password",
				   "{\"old_password\":\"wrong\",\"new_password\":\"Secret-2026\",\"new_"
				   "password_confirm\":\"Secret-2026\"}",
				   &j),
			 422);
	assert_string_equal(error_code(j), "password_wrong");
	json_decref(j);
	assert_int_equal(client_do(&c, "POST", "/api/v1/account/password",
				   "{\"old_password\":\"NewSecret-9\",\"new_password\":\"Secret-2026\",\"new_"
				   "password_confirm\":\"Secret-2026\"}",
				   NULL),
			 200);
}

static void test_mobile_change(void **state)
{
	struct client c;
	char body[512], old_code[16];
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "mobile");
	assert_int_equal(login(&c, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	sql("UPDATE sms_codes SET created_at = '2000-01-01T00:00:00Z' WHERE mobile = ?", harness_pii_hash("13800138000"));
	assert_int_equal(client_do(&c, "POST", "/api/v1/sms-codes", "{\"purpose\":\"mobile_old\"}", NULL),
			 200);
	snprintf(old_code, sizeof(old_code), "%s", client_sms_code(&c, "13800138000"));
	assert_int_equal(client_do(&c, "POST", "/api/v1/sms-codes",
				   "{\"purpose\":\"mobile_new\",\"mobile\":\"15900159000\"}", NULL),
			 200);
	snprintf(body, sizeof(body),
		 "{\"handler_name\":\"赵六\",\"new_mobile\":\"15900159000\",\"old_code\":\"%s\",\"new_code\":"
		 "\"%s\"}",
		 old_code, client_sms_code(&c, "15900159000"));
	assert_int_equal(client_do(&c, "POST", "/api/v1/account/mobile", body, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "handler_mobile")), "15900159000");
	json_decref(j);
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "handler_name")), "赵六");
	json_decref(j);
}

static void test_staff_admin(void **state)
{
	struct client admin, fresh;
	json_t *j = NULL;
	int64_t bad = 0;
	(void)state;

	client_init(&admin, &S, "admin3");
	client_captcha(&admin);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/auth/login",
			  "{\"username\":\"admin\",\"password\":\"Demo-2026\",\"captcha\":\"ABCDE\"}", &j),
		200);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(json_object_get(j, "user"), "roles"), 0)),
		"admin");
	json_decref(j);
	assert_int_equal(client_do(&admin, "PATCH", "/api/v1/admin/organisations/91310115MA1K3BTP2B",
				   "{\"name\":\"鹰潭市测试科技股份有限公司\"}", &j),
			 200);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "鹰潭市测试科技股份有限公司");
	json_decref(j);
	assert_int_equal(client_do(&admin, "POST", "/api/v1/admin/staff",
				   "{\"username\":\"wang.fang\",\"display_name\":\"王芳\",\"roles\":["
				   "\"reviewer\",\"paper\"],"
				   "\"password\":\"Review-2026\",\"password_confirm\":\"Review-2026\"}",
				   NULL),
			 201);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/staff",
			  "{\"username\":\"wang.fang\",\"display_name\":\"王芳\",\"roles\":[\"root\"],"
			  "\"password\":\"Review-2026\",\"password_confirm\":\"Review-2026\"}",
			  &j),
		422);
	assert_string_equal(error_code(j), "roles_invalid");
	json_decref(j);
	client_init(&fresh, &S, "fresh");
	client_captcha(&fresh);
	assert_int_equal(
		client_do(&fresh, "POST", "/api/v1/admin/auth/login",
			  "{\"username\":\"wang.fang\",\"password\":\"Review-2026\",\"captcha\":\"ABCDE\"}",
			  NULL),
		200);
	/* an organisation's credentials do not open the staff door */
	client_captcha(&fresh);
	assert_int_equal(client_do(&fresh, "POST", "/api/v1/admin/auth/login",
				   "{\"username\":\"91310115MA1K3BTP2B\",\"password\":\"Secret-2026\","
				   "\"captcha\":\"ABCDE\"}",
				   NULL),
			 401);
	/* every step above is in the intact audit chain */
	assert_true(store_audit_verify(db, &bad) > 10);
	struct db_conn *c = db_acquire(db);
	int64_t n = 0;
	const char *actions[] = {
		"organisation.register", "organisation.login",          "organisation.login_failed",
		"organisation.unlock",   "organisation.password_reset", "organisation.mobile_change",
		"organisation.rename",   "organisation.confirm_uscc",   "staff.login",
		"staff.create",          "organisation.logout",         "organisation.password_change",
		"staff.login_failed",    "mobile_request.create",       "mobile_request.approve"};
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		assert_int_equal(db_query_int(c,
					      "SELECT COUNT(*) FROM audit_log WHERE action = ? AND ip <> ''",
					      DB_ARGS(DB_TEXT(actions[i])), &n),
				 DB_OK);
		if (n == 0)
			fail_msg("no audit entry with an address for %s", actions[i]);
	}
	db_release(c);
}

static void test_mobile_request_by_letter(void **state)
{
	struct client org, admin;
	const char *fields[] = {"handler_name", "钱七", "new_mobile", "18800188000", NULL};
	unsigned char *png = NULL, *big;
	size_t len = 0;
	json_t *j = NULL;
	char path[128];
	struct resp r;
	(void)state;

	client_init(&org, &S, "mreq");
	assert_int_equal(login(&org, "91310115MA1K3BTP2B", "Secret-2026", "ABCDE", NULL), 200);
	png = harness_png(600, 400, &len);
	/* not an image, a truncated one, one with something appended, a 2 MB one, none at all */
	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.png",
				       "%PDF-1.4\n%...", 13, &j),
			 415);
	assert_string_equal(error_code(j), "file_type");
	json_decref(j);
	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.png",
				       png, len - 20, &j),
			 415);
	assert_string_equal(error_code(j), "image_corrupt");
	json_decref(j);
	big = calloc(1, 2 << 20);
	memcpy(big, png, len);
	memcpy(big + len, "PK\x03\x04", 4);
	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.png",
				       big, len + 4, &j),
			 415);
	assert_string_equal(error_code(j), "file_trailing_data");
	json_decref(j);
	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.png",
				       big, 2 << 20, &j),
			 413);
	assert_string_equal(error_code(j), "file_too_large");
	json_decref(j);
	free(big);
	assert_int_equal(
		client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, NULL, NULL, 0, &j),
		422);
	assert_string_equal(error_code(j), "file_required");
	json_decref(j);
	/* a real one, renamed .exe: the content decides */
	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.exe",
				       png, len, &j),
			 201);
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.png",
				       png, len, &j),
			 409);
	json_decref(j);

	client_init(&admin, &S, "admin4");
	client_captcha(&admin);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/auth/login",
			  "{\"username\":\"admin\",\"password\":\"Demo-2026\",\"captcha\":\"ABCDE\"}", NULL),
		200);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/mobile-requests?state=pending", NULL, &j),
			 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
	/* the organisation cannot see the letter through the staff route */
	snprintf(path, sizeof(path), "/api/v1/admin/mobile-requests/%lld/letter", (long long)id);
	assert_int_equal(client_do(&org, "GET", path, NULL, NULL), 403);
	/* staff get the bytes back with the decoded type */
	{
		char cookie[200];
		const char *h[] = {cookie, NULL};
		snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&admin));
		assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, &r), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(resp_header(&r, "Content-Type"), "image/png");
		assert_string_equal(resp_header(&r, "X-Content-Type-Options"), "nosniff");
		assert_non_null(resp_header(&r, "Content-Disposition"));
		assert_int_equal(r.len, len);
		assert_memory_equal(r.body, png, len);
		resp_free(&r);
	}
	snprintf(path, sizeof(path), "/api/v1/admin/mobile-requests/%lld/decision", (long long)id);
	assert_int_equal(client_do(&admin, "POST", path, "{\"approve\":false}", &j), 422);
	assert_string_equal(error_code(j), "field_required");
	json_decref(j);
	assert_int_equal(client_do(&admin, "POST", path, "{\"approve\":true}", NULL), 200);
	assert_int_equal(client_do(&admin, "POST", path, "{\"approve\":true}", NULL), 409);
	assert_int_equal(client_do(&org, "GET", "/api/v1/account", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "handler_mobile")), "18800188000");
	assert_string_equal(json_string_value(json_object_get(j, "handler_name")), "钱七");
	json_decref(j);
	free(png);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_login),
		cmocka_unit_test(test_register_bad_input),
		cmocka_unit_test(test_register_pilot_code_needs_staff),
		cmocka_unit_test(test_captcha_rules),
		cmocka_unit_test(test_lockout_and_unlock),
		cmocka_unit_test(test_csrf_and_session_expiry),
		cmocka_unit_test(test_authorisation),
		cmocka_unit_test(test_sms_limits),
		cmocka_unit_test(test_password_reset),
		cmocka_unit_test(test_mobile_change),
		cmocka_unit_test(test_mobile_request_by_letter),
		cmocka_unit_test(test_staff_admin),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
