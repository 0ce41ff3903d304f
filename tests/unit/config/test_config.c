/* Unit tests for src/config: defaults, the INI file, environment overrides and the errors that
 * name the file, line and key (or the variable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

extern char **environ;

struct fixture {
	char path[64];
	struct config cfg;
	char err[512];
};

/* Removes every CERTDESK_* variable so the caller's shell cannot change the outcome. */
static void env_clear(void)
{
	int again = 1;

	while (again) {
		again = 0;
		for (char **e = environ; *e != NULL; e++) {
			if (strncmp(*e, "CERTDESK_", 9) != 0)
				continue;
			char name[256];
			size_t len = strcspn(*e, "=");
			snprintf(name, sizeof(name), "%.*s", (int)len, *e);
			unsetenv(name); /* environ changes under us: scan again */
			again = 1;
			break;
		}
	}
}

/* Creates an empty temp file for the test and clears the environment; returns 0. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/certdesk-test-config-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	env_clear();
	*state = f;
	return 0;
}

/* Frees the configuration, removes the temp file and the variables the test set; returns 0. */
static int teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->cfg);
	unlink(f->path);
	env_clear();
	free(f);
	return 0;
}

/* Replaces the temp file's contents with text. */
static void write_file(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Loads the temp file holding text; returns what config_load returned. */
static int load_text(struct fixture *f, const char *text)
{
	write_file(f, text);
	config_free(&f->cfg); /* a test may load more than once */
	f->err[0] = '\0';
	return config_load(&f->cfg, f->path, f->err, sizeof(f->err));
}

/* Asserts that err contains needle, printing err when it does not. */
static void assert_err_has(const char *err, const char *needle)
{
	if (strstr(err, needle) == NULL)
		fail_msg("error message \"%s\" lacks \"%s\"", err, needle);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
	assert_string_equal(f->cfg.listen_address, "127.0.0.1");
	assert_int_equal(f->cfg.port, 8080);
	assert_int_equal(f->cfg.threads, 4);
	assert_int_equal(f->cfg.max_body_bytes, 6291456);
	assert_int_equal(f->cfg.shutdown_timeout_s, 15);
	assert_string_equal(f->cfg.web_root, "web/dist");
	assert_string_equal(f->cfg.public_url, "http://127.0.0.1:8080");
	assert_int_equal(f->cfg.backend, DB_BACKEND_SQLITE);
	assert_string_equal(f->cfg.sqlite_path, "var/certdesk.db");
	assert_string_equal(f->cfg.postgres_conninfo, "");
	assert_int_equal(f->cfg.pool_size, 8);
	assert_int_equal(f->cfg.busy_timeout_ms, 5000);
	assert_string_equal(f->cfg.data_dir, "var/files");
	assert_string_equal(f->cfg.access_log, "-");
	assert_int_equal(f->cfg.idle_timeout_min, 30);
	assert_int_equal(f->cfg.absolute_timeout_h, 12);
	assert_int_equal(f->cfg.sms_provider, SMS_PROVIDER_OUTBOX);
	assert_int_equal(f->cfg.dev_expose_outbox, 0);
	assert_string_equal(f->cfg.dev_captcha_answer, "");
	assert_string_equal(f->cfg.sim_listen_address, "127.0.0.1");
	assert_int_equal(f->cfg.sim_port, 8090);
	assert_string_equal(f->cfg.sim_url, "http://127.0.0.1:8090");
	assert_string_equal(config_backend_name(f->cfg.backend), "sqlite");
	assert_string_equal(config_backend_name(DB_BACKEND_POSTGRES), "postgres");
}

static void test_empty_file_keeps_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "; nothing here\n# nor here\n\n"), 0);
	assert_int_equal(f->cfg.port, 8080);
	assert_string_equal(f->cfg.data_dir, "var/files");
}

static void test_file_sets_values(void **state)
{
	struct fixture *f = *state;
	const char *text = "[server]\n"
			   "listen_address = 0.0.0.0\n"
			   "port = 9443\n"
			   "threads = 16 ; inline comment\n"
			   "max_body_bytes = 1024\n"
			   "shutdown_timeout_s = 600\n"
			   "web_root =\n"
			   "public_url = https://ca.example.cn\n"
			   "[database]\n"
			   "backend = postgres\n"
			   "postgres_conninfo = host=db dbname=certdesk\n"
			   "sqlite_path = /srv/certdesk.db\n"
			   "pool_size = 2\n"
			   "busy_timeout_ms = 0\n"
			   "[files]\n"
			   "data_dir = /srv/files\n"
			   "[log]\n"
			   "access_log = /var/log/certdesk/access.log\n"
			   "[session]\n"
			   "idle_timeout_min = 1440\n"
			   "absolute_timeout_h = 720\n"
			   "[sms]\n"
			   "provider = outbox\n"
			   "[dev]\n"
			   "expose_outbox = true\n"
			   "captcha_answer = ABCDE\n"
			   "[sim]\n"
			   "listen_address = ::1\n"
			   "port = 0\n"
			   "url = http://[::1]:8090\n";

	assert_int_equal(load_text(f, text), 0);
	assert_string_equal(f->err, "");
	assert_string_equal(f->cfg.listen_address, "0.0.0.0");
	assert_int_equal(f->cfg.port, 9443);
	assert_int_equal(f->cfg.threads, 16);
	assert_int_equal(f->cfg.max_body_bytes, 1024);
	assert_int_equal(f->cfg.shutdown_timeout_s, 600);
	assert_string_equal(f->cfg.web_root, "");
	assert_string_equal(f->cfg.public_url, "https://ca.example.cn");
	assert_int_equal(f->cfg.backend, DB_BACKEND_POSTGRES);
	assert_string_equal(f->cfg.postgres_conninfo, "host=db dbname=certdesk");
	assert_string_equal(f->cfg.sqlite_path, "/srv/certdesk.db");
	assert_int_equal(f->cfg.pool_size, 2);
	assert_int_equal(f->cfg.busy_timeout_ms, 0);
	assert_string_equal(f->cfg.data_dir, "/srv/files");
	assert_string_equal(f->cfg.access_log, "/var/log/certdesk/access.log");
	assert_int_equal(f->cfg.idle_timeout_min, 1440);
	assert_int_equal(f->cfg.absolute_timeout_h, 720);
	assert_int_equal(f->cfg.sms_provider, SMS_PROVIDER_OUTBOX);
	assert_int_equal(f->cfg.dev_expose_outbox, 1);
	assert_string_equal(f->cfg.dev_captcha_answer, "ABCDE");
	assert_string_equal(f->cfg.sim_listen_address, "::1");
	assert_int_equal(f->cfg.sim_port, 0);
	assert_string_equal(f->cfg.sim_url, "http://[::1]:8090");
}

static void test_unknown_key_names_file_line_key(void **state)
{
	struct fixture *f = *state;
	char where[96];

	assert_int_equal(load_text(f, "[server]\nport = 9000\n\nbogus_key = 1\nthreads = 2\n"), -1);
	snprintf(where, sizeof(where), "%s:4:", f->path);
	assert_err_has(f->err, where);
	assert_err_has(f->err, "bogus_key");
}

static void test_unknown_section_refused(void **state)
{
	struct fixture *f = *state;
	char where[96];

	/* "port" is a known key, but not in [nosuch]. */
	assert_int_equal(load_text(f, "[nosuch]\nport = 1\n"), -1);
	snprintf(where, sizeof(where), "%s:2:", f->path);
	assert_err_has(f->err, where);
	assert_err_has(f->err, "nosuch");
	/* A key before any section header. */
	assert_int_equal(load_text(f, "port = 1\n"), -1);
	snprintf(where, sizeof(where), "%s:1:", f->path);
	assert_err_has(f->err, where);
	assert_err_has(f->err, "port");
}

/* Loads "[section]\nkey = value\n" and asserts it is refused with file:2: and the key named. */
static void refuse_value(struct fixture *f, const char *section, const char *key, const char *value)
{
	char text[256], where[96];

	snprintf(text, sizeof(text), "[%s]\n%s = %s\n", section, key, value);
	if (load_text(f, text) != -1)
		fail_msg("[%s] %s = %s was accepted", section, key, value);
	snprintf(where, sizeof(where), "%s:2:", f->path);
	assert_err_has(f->err, where);
	assert_err_has(f->err, key);
}

static void test_bad_values_name_the_key(void **state)
{
	struct fixture *f = *state;

	refuse_value(f, "server", "port", "70000");
	refuse_value(f, "server", "port", "-1");
	refuse_value(f, "server", "port", "80x");
	refuse_value(f, "server", "port", "0x50");
	refuse_value(f, "server", "threads", "abc");
	refuse_value(f, "server", "threads", "0");
	refuse_value(f, "server", "threads", "257");
	refuse_value(f, "server", "max_body_bytes", "1023");
	refuse_value(f, "server", "shutdown_timeout_s", "");
	refuse_value(f, "database", "backend", "mysql");
	refuse_value(f, "database", "backend", "SQLite");
	refuse_value(f, "database", "pool_size", "99999999999999999999");
	refuse_value(f, "database", "sqlite_path", "");
	refuse_value(f, "files", "data_dir", "");
	refuse_value(f, "sim", "port", "65536");
	refuse_value(f, "session", "idle_timeout_min", "0");
	refuse_value(f, "session", "idle_timeout_min", "1441");
	refuse_value(f, "session", "absolute_timeout_h", "721");
	refuse_value(f, "sms", "provider", "aliyun");
	refuse_value(f, "dev", "expose_outbox", "yes");
	refuse_value(f, "dev", "expose_outbox", "1");
	refuse_value(f, "dev", "captcha_answer", "ABCDEF");
}

static void test_key_table(void **state)
{
	struct fixture *f = *state;
	const char *sec, *key, *sec2, *key2;
	char text[256];
	int n = 0;

	assert_int_equal(config_key_at(-1, &sec, &key), -1);
	assert_int_equal(config_key_at(0, &sec, &key), 0);
	assert_string_equal(sec, "server");
	assert_string_equal(key, "listen_address");
	while (config_key_at(n, &sec, &key) == 0) {
		/* Each listed key is one the file accepts (whatever it thinks of the value). */
		snprintf(text, sizeof(text), "[%s]\n%s = 1\n", sec, key);
		if (load_text(f, text) != 0 && strstr(f->err, "unknown") != NULL)
			fail_msg("listed key %s.%s is unknown to config_load: %s", sec, key, f->err);
		for (int i = 0; i < n; i++) {
			assert_int_equal(config_key_at(i, &sec2, &key2), 0);
			if (strcmp(sec, sec2) == 0 && strcmp(key, key2) == 0)
				fail_msg("key %s.%s listed twice", sec, key);
		}
		n++;
	}
	assert_true(n >= 22); /* the keys known when this test was written */
	assert_int_equal(config_key_at(n, &sec, &key), -1);
}

static void test_bounds_accepted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[server]\nport = 65535\nthreads = 256\nmax_body_bytes = 67108864\n"),
			 0);
	assert_int_equal(f->cfg.port, 65535);
	assert_int_equal(f->cfg.threads, 256);
	assert_int_equal(f->cfg.max_body_bytes, 64 << 20);
	assert_int_equal(load_text(f, "[server]\nport = 0\nthreads = 1\n"), 0);
	assert_int_equal(f->cfg.port, 0);
	assert_int_equal(f->cfg.threads, 1);
}

static void test_first_error_reported(void **state)
{
	struct fixture *f = *state;
	char where[96];

	assert_int_equal(load_text(f, "[server]\nport = 1\nthreads = abc\nnope = 1\n"), -1);
	snprintf(where, sizeof(where), "%s:3:", f->path);
	assert_err_has(f->err, where);
	assert_err_has(f->err, "threads");
	assert_null(strstr(f->err, "nope"));
}

static void test_syntax_error(void **state)
{
	struct fixture *f = *state;
	char where[96];

	assert_int_equal(load_text(f, "[server]\nport = 1\nthis line has no equals sign\n"), -1);
	snprintf(where, sizeof(where), "%s:3:", f->path);
	assert_err_has(f->err, where);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	assert_int_equal(config_load(&f->cfg, f->path, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, f->path);
}

static void test_env_overrides_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(setenv("CERTDESK_SERVER_PORT", "9100", 1), 0);
	assert_int_equal(setenv("CERTDESK_SIM_LISTEN_ADDRESS", "10.0.0.1", 1), 0);
	assert_int_equal(load_text(f, "[server]\nport = 9000\nthreads = 3\n"), 0);
	assert_int_equal(f->cfg.port, 9100);
	assert_int_equal(f->cfg.threads, 3); /* the file still counts where no variable is set */
	assert_string_equal(f->cfg.sim_listen_address, "10.0.0.1");
	assert_string_equal(f->cfg.listen_address, "127.0.0.1");
}

static void test_env_without_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(setenv("CERTDESK_DATABASE_BACKEND", "postgres", 1), 0);
	assert_int_equal(setenv("CERTDESK_DATABASE_POSTGRES_CONNINFO", "dbname=x", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.backend, DB_BACKEND_POSTGRES);
	assert_string_equal(f->cfg.postgres_conninfo, "dbname=x");
}

static void test_env_bad_value_names_variable(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(setenv("CERTDESK_SERVER_THREADS", "abc", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, "CERTDESK_SERVER_THREADS");
	config_free(&f->cfg);
	env_clear();

	/* listen_address needs at least one character. */
	assert_int_equal(setenv("CERTDESK_SERVER_LISTEN_ADDRESS", "", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, "CERTDESK_SERVER_LISTEN_ADDRESS");
}

static void test_env_string_too_long(void **state)
{
	struct fixture *f = *state;
	char longval[300];

	memset(longval, 'a', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	assert_int_equal(setenv("CERTDESK_SERVER_LISTEN_ADDRESS", longval, 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, "CERTDESK_SERVER_LISTEN_ADDRESS");
	config_free(&f->cfg);
	env_clear();

	longval[255] = '\0'; /* exactly the maximum */
	assert_int_equal(setenv("CERTDESK_SERVER_LISTEN_ADDRESS", longval, 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
	assert_int_equal(strlen(f->cfg.listen_address), 255);
}

static void test_env_unknown_variable_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(setenv("CERTDESK_FOO_BAR", "1", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, "CERTDESK_FOO_BAR");
	config_free(&f->cfg);
	env_clear();

	/* A known name with a suffix is not the known name. */
	assert_int_equal(setenv("CERTDESK_SERVER_PORTS", "1", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, "CERTDESK_SERVER_PORTS");
	config_free(&f->cfg);
	env_clear();

	/* Nor is a prefix of one. */
	assert_int_equal(setenv("CERTDESK_SERVER_POR", "1", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), -1);
	assert_err_has(f->err, "CERTDESK_SERVER_POR");
}

static void test_env_test_prefix_ignored(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(setenv("CERTDESK_TEST_ANYTHING", "x", 1), 0);
	assert_int_equal(config_load(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
}

static void test_postgres_needs_conninfo(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[database]\nbackend = postgres\n"), -1);
	assert_err_has(f->err, "postgres_conninfo");
	assert_int_equal(
		load_text(f, "[database]\nbackend = postgres\npostgres_conninfo = dbname=certdesk\n"), 0);
	assert_int_equal(f->cfg.backend, DB_BACKEND_POSTGRES);
	assert_string_equal(config_backend_name(f->cfg.backend), "postgres");
}

/* Debian's inih reads at most 199 bytes of a line (INI_MAX_LINE 200) and treats the rest as a
 * new line; when the rest starts with a space it is a multi-line continuation that silently
 * replaces the value. config_load must refuse such a line (naming line 3) or keep it whole. */
static void test_long_line_kept_or_refused(void **state)
{
	struct fixture *f = *state;
	const char *head = "postgres_conninfo = host=db.internal port=5432 dbname=certdesk user=certdesk "
			   "application_name=";
	char line[400], text[512], where[96];
	size_t n = strlen(head);
	int rc;

	memcpy(line, head, n);
	memset(line + n, 'x', 199 - n);
	snprintf(line + 199, sizeof(line) - 199, " sslmode=verify-full");
	snprintf(text, sizeof(text), "[database]\nbackend = postgres\n%s\npool_size = 4\n", line);
	rc = load_text(f, text);
	if (rc == 0) {
		if (strcmp(f->cfg.postgres_conninfo, line + strlen("postgres_conninfo = ")) != 0)
			fail_msg("a %zu-byte line was accepted but postgres_conninfo became \"%s\"",
				 strlen(line), f->cfg.postgres_conninfo);
		return;
	}
	snprintf(where, sizeof(where), "%s:3:", f->path);
	assert_err_has(f->err, where);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_keeps_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_sets_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_names_file_line_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_section_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values_name_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_error_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_overrides_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_without_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_bad_value_names_variable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_string_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_unknown_variable_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_test_prefix_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postgres_needs_conninfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_kept_or_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
