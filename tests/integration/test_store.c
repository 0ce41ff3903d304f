/* The store on the configured backend (the same tests run on SQLite and PostgreSQL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static const struct actor test_actor = {"system", "test", "127.0.0.1"};

static int setup(void **state)
{
	char err[512];
	(void)state;

	if (harness_prepare(&S) != 0)
		return -1;
	harness_env(&S);
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	config_free(&cfg);
	harness_cleanup(&S);
	return 0;
}

static void test_migrate_once(void **state)
{
	char err[512];
	int applied = -1;
	(void)state;

	assert_int_equal(store_migrate(db, &applied, err, sizeof(err)), 0);
	assert_int_equal(applied, store_schema_latest());
	assert_int_equal(store_schema_version(db), store_schema_latest());
	assert_int_equal(store_migrate(db, &applied, err, sizeof(err)), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(store_ping(db), 0);
}

static int failing_tx(struct db_conn *c, void *arg)
{
	static const struct key_type_def t[] = {{"main", "主锁", 100, 1, "application_form", "1", 100}};
	(void)arg;
	assert_int_equal(store_project_ensure(c, "rolled", "回滚项目", "RB", t, 1, &test_actor), DB_OK);
	return -1; /* as if a later step failed */
}

static void test_tx_rolls_back(void **state)
{
	struct db_conn *c;
	int64_t n = -1;
	(void)state;

	assert_int_equal(db_tx(db, failing_tx, NULL), -1);
	c = db_acquire(db);
	assert_int_equal(db_query_int(c, "SELECT COUNT(*) FROM projects WHERE code = ?",
				      DB_ARGS(DB_TEXT("rolled")), &n),
			 DB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
		db_query_int(c, "SELECT id FROM projects WHERE code = ?", DB_ARGS(DB_TEXT("nope")), &n),
		DB_NOTFOUND);
	db_release(c);
}

static int snap_tx(struct db_conn *c, void *arg)
{
	static const struct key_type_def t[] = {{"main", "主锁", 100, 1, "application_form", "1", 100}};
	(void)arg;
	return store_project_ensure(c, "snap", "快照项目", "SN", t, 1, &test_actor);
}

/* Issue 17: reads inside db_read_begin share one snapshot (SQLite; PostgreSQL runs them as before),
 * and the statement cache, which tries the entry last found by the caller's SQL pointer first,
 * never answers for other SQL written at the same address. */
static void test_read_snapshot_and_statement_cache(void **state)
{
	const char *count = "SELECT COUNT(*) FROM projects WHERE code = 'snap'";
	struct db_conn *c = db_acquire(db);
	char sql[64];
	int64_t n = -1;
	(void)state;

	snprintf(sql, sizeof(sql), "SELECT %d", 1);
	assert_int_equal(db_query_int(c, sql, NULL, 0, &n), DB_OK);
	assert_int_equal(n, 1);
	snprintf(sql, sizeof(sql), "SELECT %d", 2);
	assert_int_equal(db_query_int(c, sql, NULL, 0, &n), DB_OK);
	assert_int_equal(n, 2);

	db_read_begin(c);
	assert_int_equal(db_query_int(c, count, NULL, 0, &n), DB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(db_tx(db, snap_tx, NULL), DB_OK); /* on another pooled connection */
	assert_int_equal(db_query_int(c, count, NULL, 0, &n), DB_OK);
	assert_int_equal(n, strcmp(db_backend_name(db), "sqlite") == 0 ? 0 : 1);
	db_read_end(c);
	assert_int_equal(db_query_int(c, count, NULL, 0, &n), DB_OK);
	assert_int_equal(n, 1);
	db_release(c);
}

struct staff_args {
	const char *username;
	int64_t id;
};

static int staff_tx(struct db_conn *c, void *arg)
{
	struct staff_args *a = arg;
	return store_staff_create(c, a->username, "测试 O'Brien\"; DROP TABLE staff; --", "$argon2id$x",
				  "reviewer,admin", &test_actor, &a->id);
}

static void test_unique_conflict_and_literal_values(void **state)
{
	struct staff_args a = {"conflict.test", 0}, b = {"conflict.test", 0};
	struct db_conn *c;
	char *name = NULL;
	int64_t roles = 0;
	(void)state;

	assert_int_equal(db_tx(db, staff_tx, &a), DB_OK);
	assert_true(a.id > 0);
	assert_int_equal(db_tx(db, staff_tx, &b), DB_CONFLICT);
	c = db_acquire(db);
	assert_int_equal(
		db_query_text(c, "SELECT display_name FROM staff WHERE id = ?", DB_ARGS(DB_INT(a.id)), &name),
		DB_OK);
	assert_string_equal(name, "测试 O'Brien\"; DROP TABLE staff; --");
	assert_int_equal(db_query_int(c, "SELECT COUNT(*) FROM staff_roles WHERE staff_id = ?",
				      DB_ARGS(DB_INT(a.id)), &roles),
			 DB_OK);
	assert_int_equal(roles, 2);
	db_release(c);
	free(name);
}

static int audit_tx(struct db_conn *c, void *arg)
{
	(void)arg;
	return store_audit_append(c, &test_actor, "test.append", "test", "1", "{}");
}

static void *audit_worker(void *arg)
{
	intptr_t failures = 0;
	(void)arg;
	for (int i = 0; i < 25; i++)
		if (db_tx(db, audit_tx, NULL) != DB_OK)
			failures++;
	return (void *)failures;
}

static void test_audit_chain_concurrent(void **state)
{
	pthread_t t[4];
	int64_t before, after, bad = 0;
	void *failures;
	(void)state;

	before = store_audit_verify(db, &bad);
	assert_true(before >= 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, audit_worker, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &failures);
		assert_int_equal((intptr_t)failures, 0);
	}
	after = store_audit_verify(db, &bad);
	assert_int_equal(after, before + 100);
	assert_int_equal(bad, 0);
}

static void test_audit_tamper_detected(void **state)
{
	struct db_conn *c = db_acquire(db);
	int64_t bad = 0;
	(void)state;

	assert_int_equal(db_exec(c, "UPDATE audit_log SET detail = ? WHERE seq = 3",
				 DB_ARGS(DB_TEXT("{\"x\":1}")), NULL),
			 DB_OK);
	db_release(c);
	assert_int_equal(store_audit_verify(db, &bad), -1);
	assert_int_equal(bad, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_once),
		cmocka_unit_test(test_tx_rolls_back),
		cmocka_unit_test(test_read_snapshot_and_statement_cache),
		cmocka_unit_test(test_unique_conflict_and_literal_values),
		cmocka_unit_test(test_audit_chain_concurrent),
		cmocka_unit_test(test_audit_tamper_detected),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
