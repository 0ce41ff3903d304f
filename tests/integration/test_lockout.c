/* Lockouts an attacker cannot turn against the owner, and answers that do not tell accounts apart:
 * clients connect from different loopback addresses (127.0.0.x), which certdeskd sees as different
 * client addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"
#include "util/timefmt.h"

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

/* Returns the integer the query with one text argument answers. */
static int64_t count(const char *sql, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;

	assert_int_equal(db_query_int(c, sql, DB_ARGS(DB_TEXT(arg)), &n), DB_OK);
	db_release(c);
	return n;
}

/* Runs one statement with one text argument. */
static void sql(const char *text, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	assert_int_equal(db_exec(c, text, DB_ARGS(DB_TEXT(arg)), NULL), DB_OK);
	db_release(c);
}

/* Logs c in (a fresh captcha each time) as the organisation uscc; returns the status and the reply
 * as compact JSON text in reply (may be NULL). */
static long org_login(struct client *c, const char *uscc, const char *password, char reply[1024])
{
	char body[512], *text;
	json_t *j = NULL;
	long st;

	client_captcha(c);
	snprintf(body, sizeof(body), "{\"uscc\":\"%s\",\"password\":\"%s\",\"captcha\":\"ABCDE\"}", uscc,
		 password);
	st = client_do(c, "POST", "/api/v1/auth/login", body, &j);
	if (reply != NULL) {
		text = json_dumps(j, JSON_COMPACT);
		snprintf(reply, 1024, "%s", text ? text : "");
		free(text);
	}
	json_decref(j);
	return st;
}

/* Logs c in as staff username; as org_login. */
static long staff_login(struct client *c, const char *username, const char *password, char reply[1024])
{
	char body[512], *text;
	json_t *j = NULL;
	long st;

	client_captcha(c);
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\",\"captcha\":\"ABCDE\"}",
		 username, password);
	st = client_do(c, "POST", "/api/v1/admin/auth/login", body, &j);
	if (reply != NULL) {
		text = json_dumps(j, JSON_COMPACT);
		snprintf(reply, 1024, "%s", text ? text : "");
		free(text);
	}
	json_decref(j);
	return st;
}

/* Returns the error code in a reply text. */
static const char *code_of(const char *reply)
{
	static char code[64];
	json_t *j = json_loads(reply, 0, NULL);

	snprintf(code, sizeof(code), "%s", error_code(j));
	json_decref(j);
	return code;
}

/* Registers an organisation from 127.0.0.1 (which logs it in from there). */
static void org(const char *uscc, const char *mobile)
{
	struct client c;

	client_init(&c, &S, uscc);
	assert_int_equal(client_register_login(&c, "鹰潭市锁定测试有限公司", uscc, mobile), 0);
}

#define ORG_A "91310115MA1K3BTP2B"
#define ORG_B "91110000600037341L"
#define ORG_C "9144030071526726XG"
#define ORG_D "91320594MA1MXUJ24N"
#define ORG_E "91360600MA35FT5F9R"
#define UNKNOWN "91110000100023542M"

static void test_lock_is_per_address(void **state)
{
	struct client attacker, victim;
	char reply[1024];
	(void)state;

	org(ORG_A, "13800138000");
	client_init_from(&attacker, &S, "a-attacker", "127.0.0.2");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(org_login(&attacker, ORG_A, "Wrong-pass-1", reply), 401);
		assert_string_equal(code_of(reply), "invalid_credentials");
	}
	assert_int_equal(org_login(&attacker, ORG_A, "Wrong-pass-1", reply), 429);
	assert_string_equal(code_of(reply), "account_locked");
	/* the right password does not get through from there */
	assert_int_equal(org_login(&attacker, ORG_A, "Secret-2026", reply), 429);
	/* the owner, from an address it never used, is not locked out */
	client_init_from(&victim, &S, "a-victim", "127.0.0.3");
	assert_int_equal(org_login(&victim, ORG_A, "Secret-2026", reply), 200);
}

struct racer {
	struct client c;
	long status;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	r->status = client_do(&r->c, "POST", "/api/v1/auth/login",
			      "{\"uscc\":\"" ORG_B "\",\"password\":\"Wrong-pass-1\",\"captcha\":\"ABCDE\"}",
			      NULL);
	return NULL;
}

static void test_parallel_wrong_logins_count_five(void **state)
{
	enum { N = 12 };
	struct racer r[N];
	pthread_t t[N];
	int unauthorised = 0, locked = 0;
	(void)state;

	org(ORG_B, "13900139000");
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "race-%d", i);
		client_init_from(&r[i].c, &S, name, "127.0.0.4");
		client_captcha(&r[i].c);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		unauthorised += r[i].status == 401;
		locked += r[i].status == 429;
	}
	/* exactly five passwords were checked: four answered wrong, the fifth locked, the rest refused */
	assert_int_equal(unauthorised, 4);
	assert_int_equal(locked, N - 4);
	assert_int_equal(count("SELECT COUNT(*) FROM audit_log WHERE action = 'organisation.login_failed'"
			       " AND object_id = ?",
			       ORG_B),
			 5);
}

/* Replaces every digit of the lock's time "HH:MM（" in text by 0 (the minute may turn between two). */
static void mask_time(char *text)
{
	for (char *p = strstr(text, "（北京时间"); p != NULL && p - text >= 5;
	     p = strstr(p + 1, "（北京时间"))
		for (char *q = p - 5; q < p; q++)
			if (*q >= '0' && *q <= '9')
				*q = '0';
}

static void test_unknown_and_existing_accounts_answer_alike(void **state)
{
	struct client known, unknown;
	char a[1024], b[1024];
	(void)state;

	client_init_from(&known, &S, "enum-known", "127.0.0.5");
	client_init_from(&unknown, &S, "enum-unknown", "127.0.0.5");
	for (int i = 0; i < 5; i++) {
		long sa = org_login(&known, ORG_A, "Wrong-pass-1", a),
		     sb = org_login(&unknown, UNKNOWN, "Wrong-pass-1", b);
		assert_int_equal(sa, sb);
		mask_time(a);
		mask_time(b);
		assert_string_equal(a, b);
	}
	assert_string_equal(code_of(a), "account_locked");
}

/* Asks for a reset code for uscc from c; returns the status, the reply text in reply. */
static long reset_code(struct client *c, const char *uscc, char reply[1024])
{
	char body[256], *text;
	json_t *j = NULL;
	long st;

	client_captcha(c);
	snprintf(body, sizeof(body), "{\"purpose\":\"reset\",\"uscc\":\"%s\",\"captcha\":\"ABCDE\"}", uscc);
	st = client_do(c, "POST", "/api/v1/sms-codes", body, &j);
	text = json_dumps(j, JSON_COMPACT);
	snprintf(reply, 1024, "%s", text ? text : "");
	free(text);
	json_decref(j);
	return st;
}

/* Tries a password reset of uscc with a wrong code; returns the status, the reply in reply. */
static long reset_wrong(struct client *c, const char *uscc, char reply[1024])
{
	char body[256], *text;
	json_t *j = NULL;
	long st;

	snprintf(body, sizeof(body),
		 "{\"uscc\":\"%s\",\"sms_code\":\"000000\",\"new_password\":\"Other-2026\","
		 "\"new_password_confirm\":\"Other-2026\"}",
		 uscc);
	st = client_do(c, "POST", "/api/v1/password-resets", body, &j);
	text = json_dumps(j, JSON_COMPACT);
	snprintf(reply, 1024, "%s", text ? text : "");
	free(text);
	json_decref(j);
	return st;
}

static void test_reset_answers_alike(void **state)
{
	struct client c;
	char a[1024], b[1024];
	int64_t before = count("SELECT COUNT(*) FROM outbox WHERE template = ?", "verify_code");
	(void)state;

	client_init_from(&c, &S, "enum-reset", "127.0.0.6");
	assert_int_equal(reset_code(&c, ORG_A, a), 200);
	assert_int_equal(reset_code(&c, UNKNOWN, b), 200);
	assert_string_equal(a, b);
	assert_null(strstr(a, "138"));
	/* a code went to the registered handler, nothing anywhere for the unknown USCC */
	assert_int_equal(count("SELECT COUNT(*) FROM outbox WHERE template = ?", "verify_code"), before + 1);
	assert_int_equal(reset_wrong(&c, ORG_A, a), 422);
	assert_int_equal(reset_wrong(&c, UNKNOWN, b), 422);
	assert_string_equal(a, b);
	/* a second request within the minute: refused alike */
	assert_int_equal(reset_code(&c, ORG_A, a), 429);
	assert_int_equal(reset_code(&c, UNKNOWN, b), 429);
	assert_string_equal(a, b);
}

/* An unknown staff user gets the answer a wrong password gets. That both cost one Argon2id check
 * with the same parameters is shown without timing: tests/unit/auth/test_password.c checks the
 * dummy hash's parameters, and the handler checks it for every unknown user. */
static void test_staff_unknown_user_costs_the_same(void **state)
{
	struct client c, d;
	char a[1024], b[1024];
	(void)state;

	client_init_from(&c, &S, "staff-time-1", "127.0.0.7");
	client_init_from(&d, &S, "staff-time-2", "127.0.0.7");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(staff_login(&c, "reviewer", "Wrong-pass-1", a), 401);
		assert_int_equal(staff_login(&d, "no.such.user", "Wrong-pass-1", b), 401);
		assert_string_equal(a, b);
	}
}

static void test_staff_lock_per_address_and_ip_limit(void **state)
{
	struct client attacker, admin, sprayer;
	char reply[1024];
	(void)state;

	client_init_from(&attacker, &S, "staff-attacker", "127.0.0.8");
	for (int i = 0; i < 4; i++)
		assert_int_equal(staff_login(&attacker, "admin", "Wrong-pass-1", reply), 401);
	assert_int_equal(staff_login(&attacker, "admin", "Wrong-pass-1", reply), 429);
	assert_string_equal(code_of(reply), "account_locked");
	assert_int_equal(staff_login(&attacker, "admin", "Demo-2026", reply), 429);
	client_init_from(&admin, &S, "staff-admin", "127.0.0.9");
	assert_int_equal(staff_login(&admin, "admin", "Demo-2026", reply), 200);

	/* one address trying many usernames: stopped after LOGIN_IP_FAILURES (30) failures in its
	 * 15-minute window (not checked in the rare run that crosses into the next window) */
	client_init_from(&sprayer, &S, "staff-sprayer", "127.0.0.10");
	time_t window = time(NULL) / 900;
	for (int i = 0; i < 30; i++) {
		char user[32];
		snprintf(user, sizeof(user), "spray.%d", i);
		assert_int_equal(staff_login(&sprayer, user, "Wrong-pass-1", reply), 401);
	}
	if (time(NULL) / 900 != window)
		return;
	assert_int_equal(staff_login(&sprayer, "admin", "Demo-2026", reply), 429);
	assert_string_equal(code_of(reply), "too_many_requests");
}

/* An admin unlocks a staff account locked from an address: the list shows the lock, and after the
 * unlock the right password works from that address again (audited). */
static void test_admin_unlocks_staff(void **state)
{
	struct client typo, admin;
	char reply[1024];
	json_t *j = NULL, *item;
	json_int_t id = 0;
	size_t i;
	char path[80];
	(void)state;

	client_init_from(&typo, &S, "staff-typo", "127.0.0.11");
	for (int k = 0; k < 5; k++)
		staff_login(&typo, "shipper", "Wrong-pass-1", reply);
	assert_int_equal(staff_login(&typo, "shipper", "Demo-2026", reply), 429);
	client_init_from(&admin, &S, "staff-unlocker", "127.0.0.12");
	assert_int_equal(staff_login(&admin, "admin", "Demo-2026", reply), 200);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/staff", NULL, &j), 200);
	json_array_foreach (json_object_get(j, "items"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "username")), "shipper") == 0) {
			id = json_integer_value(json_object_get(item, "id"));
			assert_non_null(json_object_get(item, "locked_until"));
		}
	json_decref(j);
	assert_true(id > 0);
	snprintf(path, sizeof(path), "/api/v1/admin/staff/%lld/unlock", (long long)id);
	assert_int_equal(client_do(&typo, "POST", path, NULL, NULL), 401); /* not logged in */
	assert_int_equal(client_do(&admin, "POST", "/api/v1/admin/staff/999999/unlock", NULL, NULL), 404);
	assert_int_equal(client_do(&admin, "POST", path, NULL, NULL), 200);
	assert_int_equal(staff_login(&typo, "shipper", "Demo-2026", reply), 200);
}

/* Makes the SMS codes of the last minute a minute old, and forgets the per-minute buckets, so that
 * the next request is not refused as too frequent. */
static void age_codes(void)
{
	char old[TIMEFMT_LEN], recent[TIMEFMT_LEN];
	struct db_conn *c = db_acquire(db);

	timefmt_rfc3339(time(NULL) - 61, old);
	timefmt_rfc3339(time(NULL) - 62, recent);
	assert_int_equal(db_exec(c, "UPDATE sms_codes SET created_at = ? WHERE created_at > ?",
				 DB_ARGS(DB_TEXT(old), DB_TEXT(recent)), NULL),
			 DB_OK);
	assert_int_equal(
		db_exec(c, "DELETE FROM rate_limits WHERE bucket LIKE 'sms-reset-m:%'", DB_NOARGS, NULL),
		DB_OK);
	db_release(c);
}

static void test_reset_quota_per_address(void **state)
{
	struct client attacker, victim;
	char reply[1024], source[32];
	int sent;
	(void)state;

	time_t hour = time(NULL) / 3600;

	org(ORG_C, "13700137000");
	client_init_from(&attacker, &S, "quota-attacker", "127.0.1.1");
	for (int i = 0; i < 5; i++) {
		age_codes();
		assert_int_equal(reset_code(&attacker, ORG_C, reply), 200);
	}
	age_codes();
	/* the address's hourly bucket is a fixed window: a run crossing the hour cannot check it */
	if (time(NULL) / 3600 != hour)
		return;
	assert_int_equal(reset_code(&attacker, ORG_C, reply), 429);
	assert_string_equal(code_of(reply), "sms_limit");
	/* the owner, elsewhere, still gets a code */
	client_init_from(&victim, &S, "quota-victim", "127.0.1.2");
	assert_int_equal(reset_code(&victim, ORG_C, reply), 200);
	assert_int_equal(
		count("SELECT COUNT(*) FROM sms_codes WHERE mobile = ? AND ip = '127.0.1.2'", harness_pii_hash("13700137000")),
		1);
	/* from many addresses together: at most SMS_PER_MOBILE_HOUR (20) an hour to one mobile */
	for (int i = 3; i < 10; i++) {
		struct client c;
		snprintf(source, sizeof(source), "127.0.1.%d", i);
		client_init_from(&c, &S, source, source);
		for (int k = 0; k < 5; k++) {
			age_codes();
			reset_code(&c, ORG_C, reply);
		}
	}
	sent = (int)count("SELECT COUNT(*) FROM sms_codes WHERE mobile = ?", harness_pii_hash("13700137000"));
	assert_int_equal(sent, 20);
}

static void test_many_addresses_lock_only_new_ones(void **state)
{
	struct client c, known, fresh, admin;
	char reply[1024], source[32], body[512];
	json_t *j = NULL;
	(void)state;

	org(ORG_D, "13600136000"); /* logged in from 127.0.0.1: a known address */
	/* four addresses, five wrong passwords each: twenty from everywhere */
	for (int i = 1; i <= 4; i++) {
		snprintf(source, sizeof(source), "127.0.2.%d", i);
		client_init_from(&c, &S, source, source);
		for (int k = 0; k < 5; k++)
			org_login(&c, ORG_D, "Wrong-pass-1", NULL);
	}
	/* a fifth, new address is refused even the right password; the owner's known one is not */
	client_init_from(&fresh, &S, "global-fresh", "127.0.2.5");
	assert_int_equal(org_login(&fresh, ORG_D, "Secret-2026", reply), 429);
	assert_string_equal(code_of(reply), "account_locked");
	client_init(&known, &S, "global-known");
	assert_int_equal(org_login(&known, ORG_D, "Secret-2026", reply), 200);
	/* staff see the lock and can lift it */
	client_init(&admin, &S, "global-admin");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/organisations?q=" ORG_D, NULL, &j), 200);
	assert_non_null(json_object_get(json_array_get(json_object_get(j, "items"), 0), "locked_until"));
	json_decref(j);
	/* the owner's password reset by SMS code lifts every lock */
	age_codes();
	assert_int_equal(reset_code(&fresh, ORG_D, reply), 200);
	snprintf(body, sizeof(body),
		 "{\"uscc\":\"" ORG_D "\",\"sms_code\":\"%s\",\"new_password\":\"NewSecret-9\","
		 "\"new_password_confirm\":\"NewSecret-9\"}",
		 client_sms_code(&fresh, "13600136000"));
	assert_int_equal(client_do(&fresh, "POST", "/api/v1/password-resets", body, NULL), 200);
	assert_int_equal(org_login(&fresh, ORG_D, "NewSecret-9", reply), 200);
	/* an admin's unlock lifts them too */
	client_init_from(&c, &S, "global-after", "127.0.2.1");
	for (int k = 0; k < 5; k++)
		org_login(&c, ORG_D, "Wrong-pass-1", NULL);
	assert_int_equal(org_login(&c, ORG_D, "NewSecret-9", reply), 429);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/organisations/" ORG_D "/unlock", NULL, NULL), 200);
	assert_int_equal(org_login(&c, ORG_D, "NewSecret-9", reply), 200);
}

/* Changes the logged-in client's password from old; returns the status and the error code. */
static long change(struct client *c, const char *old, char code[64])
{
	char body[256];
	json_t *j = NULL;
	long st;

	snprintf(body, sizeof(body),
		 "{\"old_password\":\"%s\",\"new_password\":\"Changed-2026\",\"new_password_confirm\":"
		 "\"Changed-2026\"}",
		 old);
	st = client_do(c, "POST", "/api/v1/account/password", body, &j);
	snprintf(code, 64, "%s", error_code(j));
	json_decref(j);
	return st;
}

static void test_password_change_limited(void **state)
{
	struct client c;
	char code[64];
	(void)state;

	client_init(&c, &S, "change");
	assert_int_equal(client_register_login(&c, "鹰潭市改密测试有限公司", ORG_E, "13500135000"), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(change(&c, "Wrong-pass-1", code), 422);
		assert_string_equal(code, "password_wrong");
	}
	assert_int_equal(change(&c, "Wrong-pass-1", code), 429);
	assert_string_equal(code, "password_change_locked");
	/* the right one waits too; the session stays */
	assert_int_equal(change(&c, "Secret-2026", code), 429);
	assert_int_equal(client_do(&c, "GET", "/api/v1/account", NULL, NULL), 200);
	assert_int_equal(
		count("SELECT COUNT(*) FROM audit_log WHERE action = 'organisation.password_change_failed'"
		      " AND object_id = ?",
		      ORG_E),
		5);
	/* after the lock, the right password changes it */
	sql("UPDATE login_attempts SET period_ends = '2000-01-01T00:00:00Z' WHERE account = ?",
	    "password:org:" ORG_E);
	assert_int_equal(change(&c, "Secret-2026", code), 200);
}

struct guesser {
	struct client *c;
	char body[1024];
	long status;
};

static void *guess(void *arg)
{
	struct guesser *g = arg;

	g->status = client_do(g->c, "POST", "/api/v1/organisations", g->body, NULL);
	return NULL;
}

static void test_parallel_code_guesses_count_five(void **state)
{
	enum { N = 12 };
	struct client c[N];
	struct guesser g[N];
	pthread_t t[N];
	char right[16];
	(void)state;

	client_init(&c[0], &S, "guess-0");
	client_captcha(&c[0]);
	assert_int_equal(
		client_do(&c[0], "POST", "/api/v1/sms-codes",
			  "{\"purpose\":\"register\",\"mobile\":\"13300133000\",\"captcha\":\"ABCDE\"}",
			  NULL),
		200);
	snprintf(right, sizeof(right), "%s", client_sms_code(&c[0], "13300133000"));
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "guess-%d", i);
		if (i > 0)
			client_init(&c[i], &S, name);
		g[i].c = &c[i];
		snprintf(g[i].body, sizeof(g[i].body),
			 "{\"unit_name\":\"某某公司\",\"uscc\":\"91440300MA5DC4XJ3C\",\"handler_name\":"
			 "\"王五\",\"handler_mobile\":\"13300133000\",\"password\":\"Secret-2026\","
			 "\"password_confirm\":\"Secret-2026\",\"sms_code\":\"%06d\"}",
			 (atoi(right) + 1 + i) % 1000000);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&t[i], NULL, guess, &g[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(g[i].status, 422);
	}
	/* exactly five guesses were counted, however many came at once */
	assert_int_equal(count("SELECT attempts FROM sms_codes WHERE mobile = ?", harness_pii_hash("13300133000")), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_is_per_address),
		cmocka_unit_test(test_parallel_wrong_logins_count_five),
		cmocka_unit_test(test_unknown_and_existing_accounts_answer_alike),
		cmocka_unit_test(test_reset_answers_alike),
		cmocka_unit_test(test_staff_unknown_user_costs_the_same),
		cmocka_unit_test(test_staff_lock_per_address_and_ip_limit),
		cmocka_unit_test(test_admin_unlocks_staff),
		cmocka_unit_test(test_reset_quota_per_address),
		cmocka_unit_test(test_many_addresses_lock_only_new_ones),
		cmocka_unit_test(test_password_change_limited),
		cmocka_unit_test(test_parallel_code_guesses_count_five),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
