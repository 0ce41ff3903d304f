/* certdeskd over HTTP: meta, health, errors, limits, the web UI, the access log, shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct srv S;

static int setup(void **state)
{
	(void)state;
	return harness_start(&S);
}

/* Stops the server and fails when it did not exit cleanly (a sanitizer report exits non-zero). */
static int teardown(void **state)
{
	char cmd[400];
	int status;
	(void)state;

	status = harness_stop(&S);
	if (status != 0) {
		fprintf(stderr, "certdeskd exited with %d; its output:\n", status);
		snprintf(cmd, sizeof(cmd), "cat %s/server.out >&2", S.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(none)\n");
	}
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Parses a response body as JSON, failing the test when it is not. */
static json_t *body_json(const struct resp *r)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	assert_non_null(j);
	return j;
}

/* Checks r is an error reply with the given status and code and a non-empty Chinese message. */
static void assert_error(const struct resp *r, long status, const char *code)
{
	json_t *j = body_json(r), *e = json_object_get(j, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));

	assert_int_equal(r->status, status);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_non_null(msg);
	assert_true((unsigned char)msg[0] >= 0xe4); /* starts with a CJK character */
	assert_string_equal(resp_header(r, "Content-Type"), "application/json; charset=utf-8");
	json_decref(j);
}

static void test_meta(void **state)
{
	struct resp r;
	json_t *j;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/api/v1/meta", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "certdesk");
	assert_string_equal(json_string_value(json_object_get(j, "title")), "数字证书在线业务办理平台");
	assert_string_equal(json_string_value(json_object_get(j, "version")), CERTDESK_VERSION);
	assert_string_equal(json_string_value(json_object_get(j, "database")), harness_backend());
	assert_string_equal(resp_header(&r, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(resp_header(&r, "Cache-Control"), "no-store");
	json_decref(j);
	resp_free(&r);
}

static void test_healthz(void **state)
{
	struct resp r;
	json_t *j;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/healthz", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "database")), "ok");
	json_decref(j);
	resp_free(&r);
}

static void test_api_unknown_is_json_404(void **state)
{
	struct resp r;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/api/v1/no-such-thing", NULL, 0, NULL, &r), 0);
	assert_error(&r, 404, "not_found");
	resp_free(&r);
	/* /api itself never falls back to the UI either */
	assert_int_equal(http_do(&S, "GET", "/api", NULL, 0, NULL, &r), 0);
	assert_error(&r, 404, "not_found");
	resp_free(&r);
}

static void test_method_not_allowed(void **state)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	struct resp r;
	(void)state;

	assert_int_equal(http_do(&S, "POST", "/api/v1/meta", "{}", 2, h, &r), 0);
	assert_error(&r, 405, "method_not_allowed");
	assert_string_equal(resp_header(&r, "Allow"), "GET");
	resp_free(&r);
}

static void test_body_too_large(void **state)
{
	size_t n = 7 << 20; /* above the 6 MiB default */
	char *big = malloc(n);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct resp r;
	(void)state;

	memset(big, 'a', n);
	assert_int_equal(http_do(&S, "POST", "/api/v1/meta", big, n, h, &r), 0);
	assert_error(&r, 413, "body_too_large");
	resp_free(&r);
	free(big);
}

static void test_ui_index_and_fallback(void **state)
{
	struct resp r;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type"), "text/html; charset=utf-8");
	assert_string_equal(resp_header(&r, "Cache-Control"), "no-cache");
	assert_non_null(resp_header(&r, "Content-Security-Policy"));
	/* the production page calls certdesk-agent on the loopback address (issue 13) */
	assert_non_null(
		strstr(resp_header(&r, "Content-Security-Policy"), "connect-src 'self' http://127.0.0.1:*"));
	assert_non_null(strstr(r.body, "数字证书在线业务办理平台"));
	resp_free(&r);

	assert_int_equal(http_do(&S, "GET", "/orders/YT20261124-000001", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "<!doctype html>"));
	resp_free(&r);
}

static void test_ui_assets(void **state)
{
	struct resp r;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/assets/app-1a2b3c.js", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type"), "text/javascript; charset=utf-8");
	assert_string_equal(resp_header(&r, "Cache-Control"), "public, max-age=31536000, immutable");
	assert_string_equal(r.body, "console.log('certdesk');\n");
	resp_free(&r);

	/* A missing script must not receive the HTML page. */
	assert_int_equal(http_do(&S, "GET", "/assets/gone-000.js", NULL, 0, NULL, &r), 0);
	assert_error(&r, 404, "not_found");
	resp_free(&r);
}

static void test_ui_no_escape_from_root(void **state)
{
	struct resp r;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/../../../../etc/passwd", NULL, 0, NULL, &r), 0);
	assert_null(strstr(r.body, "root:"));
	resp_free(&r);
	assert_int_equal(http_do(&S, "GET", "/assets/../../certdesk.db", NULL, 0, NULL, &r), 0);
	assert_null(strstr(r.body, "SQLite format"));
	resp_free(&r);
	assert_int_equal(http_do(&S, "GET", "/%2e%2e/%2e%2e/certdesk.db", NULL, 0, NULL, &r), 0);
	assert_null(strstr(r.body, "SQLite format"));
	resp_free(&r);
}

/* Counts the lines of s's access log with this path; every line must be JSON. */
static int access_log_count(const struct srv *s, const char *want)
{
	char path[400], line[8192];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/access.log", s->dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		const char *p = json_string_value(json_object_get(j, "path"));
		assert_non_null(p);
		n += strcmp(p, want) == 0;
		json_decref(j);
	}
	fclose(f);
	return n;
}

static void test_access_log(void **state)
{
	char path[400], line[4096];
	struct resp r;
	int found = 0;
	FILE *f;
	(void)state;

	assert_int_equal(http_do(&S, "GET", "/api/v1/meta?probe=access-log", NULL, 0, NULL, &r), 0);
	resp_free(&r);
	/* the log's writer thread writes lines within a second: wait up to 10 s for this one */
	for (int i = 0; i < 200 && access_log_count(&S, "/api/v1/meta") == 0; i++)
		usleep(50000);
	snprintf(path, sizeof(path), "%s/access.log", S.dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j); /* every line is JSON */
		if (strcmp(json_string_value(json_object_get(j, "path")), "/api/v1/meta") == 0 &&
		    json_integer_value(json_object_get(j, "status")) == 200 &&
		    json_object_get(j, "ms") != NULL && json_object_get(j, "remote") != NULL)
			found = 1;
		json_decref(j);
	}
	fclose(f);
	assert_true(found);
}

/* Opens a TCP connection to the server. */
static int connect_to(const struct srv *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The access log is written by a thread of its own (issue 17): N requests pipelined on one
 * connection, SIGTERM as soon as the last answer is read, and the log holds N lines (the last ones
 * were still in the thread's buffer), each one JSON even for paths with quotes, control characters
 * or bytes that are not UTF-8. */
static void test_access_log_sigterm(void **state)
{
	enum { N = 300 };
	static const char req[] = "GET /api/v1/access-log-probe HTTP/1.1\r\nHost: x\r\n\r\n";
	char *all = malloc(N * sizeof(req));
	static char buf[1 << 20];
	size_t len = 0, got = 0;
	ssize_t n;
	int fd, answers = 0;
	struct srv s;
	struct resp r;
	(void)state;

	assert_int_equal(harness_start(&s), 0);
	assert_int_equal(http_do(&s, "GET", "/api/v1/q%22b%5Cs%01%E4%B8%AD", NULL, 0, NULL, &r), 0);
	resp_free(&r);
	assert_int_equal(http_do(&s, "GET", "/api/v1/bad%FFutf8", NULL, 0, NULL, &r), 0);
	resp_free(&r);
	for (int i = 0; i < N; i++, len += sizeof(req) - 1)
		memcpy(all + len, req, sizeof(req) - 1);
	fd = connect_to(&s);
	assert_int_equal(write(fd, all, len), (ssize_t)len);
	/* all answers are read (each a 404) before the signal */
	while (answers < N && got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		answers = 0;
		for (char *p = buf; (p = strstr(p, "HTTP/1.1 404")) != NULL; p++)
			answers++;
	}
	assert_int_equal(answers, N);
	kill(s.pid, SIGTERM);
	close(fd);
	free(all);
	assert_int_equal(harness_stop(&s), 0);
	assert_int_equal(access_log_count(&s, "/api/v1/access-log-probe"), N);
	assert_int_equal(access_log_count(&s, "/api/v1/q\"b\\s\001\xe4\xb8\xad"), 1);
	assert_int_equal(access_log_count(&s, "(not UTF-8)"), 1);
	harness_cleanup(&s);
}

/* A request half sent when SIGTERM arrives is still answered; then the server exits 0. */
static void test_graceful_shutdown(void **state)
{
	struct srv s;
	const char *head = "POST /api/v1/meta HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			   "Content-Length: 10\r\n\r\n{\"a\":";
	char buf[4096] = "";
	ssize_t n, got = 0;
	int fd, status;
	(void)state;

	assert_int_equal(harness_start(&s), 0);
	fd = connect_to(&s);
	assert_true(write(fd, head, strlen(head)) > 0);
	usleep(300000);
	kill(s.pid, SIGTERM);
	usleep(300000);
	/* The server is still finishing this request, so the rest of the body is read and answered. */
	assert_true(write(fd, "\"b\"}", 5) > 0);
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	assert_non_null(strstr(buf, "HTTP/1.1 405"));
	assert_non_null(strstr(buf, "method_not_allowed"));
	status = harness_stop(&s);
	assert_int_equal(status, 0);
	harness_cleanup(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_api_unknown_is_json_404),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_ui_index_and_fallback),
		cmocka_unit_test(test_ui_assets),
		cmocka_unit_test(test_ui_no_escape_from_root),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_access_log_sigterm),
		cmocka_unit_test(test_graceful_shutdown),
	};
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
