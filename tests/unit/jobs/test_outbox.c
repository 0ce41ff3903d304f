/* The outbox worker's rules on a throw-away SQLite database with a scripted sender: what is
 * claimed (due, pending, this channel, no live lease), what each outcome records, the back-off,
 * giving up after interrupted attempts or with a dead verification code, and handing claims back
 * on stop. (Both backends and real delivery: tests/integration/test_sms.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "jobs/outbox.h"
#include "store/store.h"
#include "util/timefmt.h"

static struct config cfg;
static struct db *db;
static char dir[64];

/* The scripted sender: answers with next_result, counts calls. */
static int next_result, calls;

static int fake_send(void *ctx, const struct outbox_msg *m, char *ref, size_t reflen, char *err,
		     size_t errlen)
{
	(void)ctx;
	calls++;
	snprintf(ref, reflen, "serial-%lld", (long long)m->id);
	snprintf(err, errlen, "%s",
		 next_result == OUTBOX_RETRY ? "LimitExceeded.PhoneNumberDailyLimit: x"
					     : "InvalidParameterValue.IncorrectPhoneNumber: x");
	return next_result;
}

static const struct outbox_opts OPTS = {"sms", 1, 10, 3, 30, 60, fake_send, NULL};

static int setup(void **state)
{
	char path[128], err[256];
	(void)state;

	snprintf(dir, sizeof(dir), "/tmp/certdesk-test-outbox-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/db", dir);
	setenv("CERTDESK_DATABASE_SQLITE_PATH", path, 1);
	setenv("CERTDESK_DATABASE_BACKEND", "sqlite", 1);
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0 ||
	    store_migrate(db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;

	db_close(db);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Runs one statement. */
static void sql(const char *text, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	assert_int_equal(db_exec(c, text, DB_ARGS(DB_TEXT(arg)), NULL), DB_OK);
	db_release(c);
}

/* Queues a message to recipient with key, in state, channel sms unless channel says otherwise. */
static void add(const char *channel, const char *recipient, const char *tmpl, const char *params,
		const char *key, const char *state)
{
	struct db_conn *c = db_acquire(db);
	assert_int_equal(store_outbox_add(c, channel, recipient, tmpl, params, key, state), DB_OK);
	db_release(c);
}

/* Returns column of the row with key as text (static buffer; "" for NULL). */
static const char *col(const char *key, const char *column)
{
	static char out[512];
	char q[160], *v = NULL;
	struct db_conn *c = db_acquire(db);

	snprintf(q, sizeof(q), "SELECT %s FROM outbox WHERE dedupe_key = ?", column);
	assert_int_equal(db_query_text(c, q, DB_ARGS(DB_TEXT(key)), &v), DB_OK);
	db_release(c);
	snprintf(out, sizeof(out), "%s", v ? v : "");
	free(v);
	return out;
}

/* Empties the outbox and the sender's counters. */
static int fresh(void **state)
{
	(void)state;
	sql("DELETE FROM outbox WHERE CAST(? AS TEXT) IS NULL", NULL);
	calls = 0;
	next_result = OUTBOX_SENT;
	return 0;
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(outbox_backoff_s(30, 1), 30);
	assert_int_equal(outbox_backoff_s(30, 2), 120);
	assert_int_equal(outbox_backoff_s(30, 3), 600);
	assert_int_equal(outbox_backoff_s(30, 4), 3600);
	assert_int_equal(outbox_backoff_s(30, 5), 21600);
	assert_int_equal(outbox_backoff_s(30, 9), 21600);
	assert_int_equal(outbox_backoff_s(1, 0), 1);
}

/* Only due pending rows of the worker's channel are claimed: not 'dev', not e-mail, not a row
 * whose back-off runs, not one under another worker's live lease; an expired lease is fair game. */
static void test_what_is_claimed(void **state)
{
	char future[TIMEFMT_LEN], past[TIMEFMT_LEN];
	(void)state;

	timefmt_rfc3339(time(NULL) + 300, future);
	timefmt_rfc3339(time(NULL) - 1, past);
	add("sms", "13800138000", "review_pass", "{\"order_no\":\"A\"}", "dev", "dev");
	add("email", "a@example.cn", "invoice", "{}", "email", "pending");
	add("sms", "13800138001", "review_pass", "{\"order_no\":\"B\"}", "later", "pending");
	sql("UPDATE outbox SET next_attempt_at = ? WHERE dedupe_key = 'later'", future);
	add("sms", "13800138002", "review_pass", "{\"order_no\":\"C\"}", "leased", "pending");
	sql("UPDATE outbox SET claim_token = 'other', claimed_until = ? WHERE dedupe_key = 'leased'", future);
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 0);
	assert_int_equal(calls, 0);
	sql("UPDATE outbox SET claimed_until = ? WHERE dedupe_key = 'leased'", past);
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 1);
	assert_int_equal(calls, 1);
	assert_string_equal(col("leased", "state"), "sent");
	assert_string_equal(col("leased", "provider_ref"), col("leased", "'serial-' || id"));
	assert_string_equal(col("leased", "claim_token"), "");
	assert_string_equal(col("dev", "state"), "dev");
	assert_string_equal(col("email", "state"), "pending");
	assert_string_equal(col("later", "attempts"), "0");
}

/* A retryable failure waits for the back-off with the error kept; the last allowed attempt, and a
 * permanent refusal, end 'failed'; a settled verification code is masked in the row. */
static void test_outcomes(void **state)
{
	(void)state;

	add("sms", "13800138003", "verify_code", "{\"code\":\"123456\",\"minutes\":5}", "code", "pending");
	next_result = OUTBOX_RETRY;
	time_t t0 = time(NULL);
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 1);
	assert_string_equal(col("code", "state"), "pending");
	assert_string_equal(col("code", "attempts"), "1");
	assert_non_null(strstr(col("code", "last_error"), "LimitExceeded.PhoneNumberDailyLimit"));
	assert_non_null(strstr(col("code", "params"), "123456"));
	char due[TIMEFMT_LEN], later[TIMEFMT_LEN];
	timefmt_rfc3339(t0 + 30, due);
	timefmt_rfc3339(t0 + 32, later);
	assert_true(strcmp(col("code", "next_attempt_at"), due) >= 0);
	assert_true(strcmp(col("code", "next_attempt_at"), later) <= 0);
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 0); /* not due yet */
	sql("UPDATE outbox SET next_attempt_at = created_at, attempts = 2 WHERE dedupe_key = ?", "code");
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 1); /* attempt 3 of 3 */
	assert_string_equal(col("code", "state"), "failed");
	assert_null(strstr(col("code", "params"), "123456"));
	assert_non_null(strstr(col("code", "params"), "******"));

	add("sms", "13800138004", "review_reject", "{\"order_no\":\"D\"}", "bad", "pending");
	next_result = OUTBOX_GIVE_UP;
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 1);
	assert_string_equal(col("bad", "state"), "failed");
	assert_string_equal(col("bad", "attempts"), "1");
	assert_non_null(strstr(col("bad", "last_error"), "IncorrectPhoneNumber"));
}

/* Not sent at all: a row claimed more often than max_attempts (its senders kept dying), and a
 * verification code whose minutes are over. */
static void test_given_up_without_sending(void **state)
{
	(void)state;

	add("sms", "13800138005", "review_pass", "{\"order_no\":\"E\"}", "crashy", "pending");
	sql("UPDATE outbox SET attempts = 3 WHERE dedupe_key = ?", "crashy");
	add("sms", "13800138006", "verify_code", "{\"code\":\"654321\",\"minutes\":5}", "stale", "pending");
	sql("UPDATE outbox SET created_at = '2000-01-01T00:00:00Z' WHERE dedupe_key = ?", "stale");
	assert_int_equal(outbox_run_once(db, &OPTS, NULL), 2);
	assert_int_equal(calls, 0);
	assert_string_equal(col("crashy", "state"), "failed");
	assert_non_null(strstr(col("crashy", "last_error"), "interrupted"));
	assert_string_equal(col("stale", "state"), "failed");
	assert_non_null(strstr(col("stale", "last_error"), "expired"));
	assert_null(strstr(col("stale", "params"), "654321"));
}

/* Asked to stop, the worker hands its claims back untried: no lease, the attempt undone. */
static void test_stop_gives_claims_back(void **state)
{
	atomic_int stop = 1;
	(void)state;

	add("sms", "13800138007", "review_pass", "{\"order_no\":\"F\"}", "f", "pending");
	add("sms", "13800138008", "review_pass", "{\"order_no\":\"G\"}", "g", "pending");
	assert_int_equal(outbox_run_once(db, &OPTS, &stop), 2);
	assert_int_equal(calls, 0);
	assert_string_equal(col("f", "state"), "pending");
	assert_string_equal(col("f", "attempts"), "0");
	assert_string_equal(col("g", "claimed_until"), "");
	atomic_store(&stop, 0);
	assert_int_equal(outbox_run_once(db, &OPTS, &stop), 2);
	assert_int_equal(calls, 2);
}

/* The thread starts, delivers within a poll and stops on request. */
static void test_worker_thread(void **state)
{
	char err[128];
	struct outbox_worker *w;
	(void)state;

	add("sms", "13800138009", "review_pass", "{\"order_no\":\"H\"}", "h", "pending");
	w = outbox_worker_start(db, &OPTS, err, sizeof(err));
	assert_non_null(w);
	for (int i = 0; i < 50 && strcmp(col("h", "state"), "sent") != 0; i++)
		usleep(100000);
	outbox_worker_stop(w);
	assert_string_equal(col("h", "state"), "sent");
	outbox_worker_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup(test_what_is_claimed, fresh),
		cmocka_unit_test_setup(test_outcomes, fresh),
		cmocka_unit_test_setup(test_given_up_without_sending, fresh),
		cmocka_unit_test_setup(test_stop_gives_claims_back, fresh),
		cmocka_unit_test_setup(test_worker_thread, fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
