/* The programs as operators run them: certdesk migrate/init/staff/audit, certdeskd's refusal of a
 * bad configuration, and the certdesk-sim skeleton. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "store/store.h"
#include "harness.h"

static struct srv S;

static int setup(void **state)
{
	(void)state;
	if (harness_prepare(&S) != 0)
		return -1;
	harness_env(&S);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	harness_cleanup(&S);
	return 0;
}

/* Runs certdesk with up to four arguments; returns the exit status and its output in *out. */
static int certdesk(const char *stdin_text, char **out, const char *a, const char *b, const char *c,
		    const char *d)
{
	char *argv[] = {(char *)harness_bin("certdesk"),
			(char *)a,
			(char *)b,
			(char *)c,
			(char *)d,
			NULL,
			NULL,
			NULL,
			NULL};
	return harness_run(argv, stdin_text, out);
}

static void test_migrate_idempotent(void **state)
{
	char *out = NULL, want[128];
	(void)state;

	assert_int_equal(certdesk(NULL, &out, "migrate", NULL, NULL, NULL), 0);
	snprintf(want, sizeof(want), "schema version %d (", store_schema_latest());
	assert_non_null(strstr(out, want));
	free(out);
	assert_int_equal(certdesk(NULL, &out, "migrate", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "(0 migrations applied now)"));
	free(out);
}

static void test_init_demo(void **state)
{
	char *out = NULL;
	(void)state;

	assert_int_equal(certdesk(NULL, &out, "init", "--demo", NULL, NULL), 0);
	assert_non_null(strstr(out, "鹰潭市阳光采购服务平台"));
	assert_non_null(strstr(out, "reviewer"));
	assert_non_null(strstr(out, "shipper"));
	free(out);
	/* again: nothing doubled */
	assert_int_equal(certdesk(NULL, &out, "init", "--demo", NULL, NULL), 0);
	assert_non_null(strstr(out, "(existed)"));
	free(out);
	assert_int_equal(certdesk(NULL, &out, "audit", "verify", NULL, NULL), 0);
	assert_non_null(strstr(out, "entries, chain intact"));
	free(out);
}

static void test_staff_add(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"),
			"staff",
			"add",
			"--username",
			"li.na",
			"--name",
			"李娜",
			"--roles",
			"reviewer,paper",
			"--password-stdin",
			NULL};
	char *out = NULL;
	(void)state;

	assert_int_equal(harness_run(argv, "abcdefgh\n", &out), 2); /* one character class */
	assert_non_null(strstr(out, "password refused"));
	free(out);
	assert_int_equal(harness_run(argv, "Correct-Horse-9\n", &out), 0);
	assert_non_null(strstr(out, "staff li.na created"));
	assert_null(strstr(out, "Correct-Horse-9"));
	free(out);
	assert_int_equal(harness_run(argv, "Correct-Horse-9\n", &out), 1);
	assert_non_null(strstr(out, "exists already"));
	free(out);
	argv[8] = "reviewer,root";
	assert_int_equal(harness_run(argv, "Correct-Horse-9\n", &out), 2);
	free(out);
}

/* Writes text to dir/name and returns the path (static buffer). */
static const char *conf_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", S.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_bad_config_refused(void **state)
{
	char *argv[] = {(char *)harness_bin("certdeskd"), "--config", NULL, NULL};
	char *out = NULL;
	(void)state;

	argv[2] = (char *)conf_file("unknown.conf", "[server]\nthreads = 2\ncolour = blue\n");
	assert_int_equal(harness_run(argv, NULL, &out), 2);
	assert_non_null(strstr(out, "unknown.conf:3"));
	assert_non_null(strstr(out, "colour"));
	free(out);

	argv[2] = (char *)conf_file("badport.conf", "[server]\nport = 70000\n");
	assert_int_equal(harness_run(argv, NULL, &out), 2);
	assert_non_null(strstr(out, "server.port"));
	free(out);

	argv[2] = (char *)conf_file("badsection.conf", "[databse]\nbackend = sqlite\n");
	assert_int_equal(harness_run(argv, NULL, &out), 2);
	assert_non_null(strstr(out, "[databse]"));
	free(out);

	argv[2] = (char *)conf_file("ok.conf", "[server]\nthreads = 2\n");
	setenv("CERTDESK_DATABASE_BACKEND", "mysql", 1);
	assert_int_equal(harness_run(argv, NULL, &out), 2);
	assert_non_null(strstr(out, "CERTDESK_DATABASE_BACKEND"));
	free(out);
	setenv("CERTDESK_DATABASE_BACKEND", harness_backend(), 1);

	argv[2] = "/nonexistent/certdesk.conf";
	assert_int_equal(harness_run(argv, NULL, &out), 2);
	assert_non_null(strstr(out, "/nonexistent/certdesk.conf"));
	free(out);
}

/* The shipped example is valid as it stands and documents every key the program knows. */
static void test_example_config_complete(void **state)
{
	const char *path = SOURCE_DIR "/config/certdesk.conf.example", *section, *key;
	char line[512], cur[64] = "", want[160];
	struct config cfg;
	char err[512];
	(void)state;

	if (config_load(&cfg, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	config_free(&cfg);
	for (int i = 0; config_key_at(i, &section, &key) == 0; i++) {
		FILE *f = fopen(path, "r");
		int found = 0;
		assert_non_null(f);
		snprintf(want, sizeof(want), "%s =", key);
		while (fgets(line, sizeof(line), f) != NULL) {
			if (line[0] == '[')
				snprintf(cur, sizeof(cur), "%.*s", (int)strcspn(line + 1, "]"), line + 1);
			else if (strcmp(cur, section) == 0 && strncmp(line, want, strlen(want)) == 0)
				found = 1;
		}
		fclose(f);
		if (!found)
			fail_msg("config/certdesk.conf.example does not document [%s] %s", section, key);
	}
}

static void test_sim_records(void **state)
{
	struct srv sim = S;
	char port[16];
	json_t *j, *items;
	struct resp r;
	const char *h[] = {"Content-Type: application/json", NULL};
	pid_t pid;
	int status;
	(void)state;

	sim.port = harness_free_port();
	snprintf(sim.base, sizeof(sim.base), "http://127.0.0.1:%d", sim.port);
	snprintf(port, sizeof(port), "%d", sim.port);
	setenv("CERTDESK_SIM_PORT", port, 1);
	pid = fork();
	if (pid == 0) {
		execl(harness_bin("certdesk-sim"), "certdesk-sim", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (http_do(&sim, "GET", "/healthz", NULL, 0, NULL, &r) == 0) {
			long code = r.status;
			resp_free(&r);
			if (code == 200)
				break;
		}
		usleep(50000);
	}
	assert_int_equal(http_do(&sim, "POST", "/sms/send", "{\"to\":\"13800138000\"}", 20, h, &r), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	assert_int_equal(http_do(&sim, "GET", "/_sim/requests?prefix=/sms", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "body")),
			    "{\"to\":\"13800138000\"}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "method")), "POST");
	json_decref(j);
	resp_free(&r);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_idempotent),
		cmocka_unit_test(test_init_demo),
		cmocka_unit_test(test_staff_add),
		cmocka_unit_test(test_bad_config_refused),
		cmocka_unit_test(test_example_config_complete),
		cmocka_unit_test(test_sim_records),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
