/* certdeskd's connection guard and proxy handling (issue 11): one address cannot take every
 * connection, a request head must arrive in time however slowly it trickles, and X-Forwarded-For
 * names the client only when a trusted proxy sends it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct srv S;

static int setup(void **state)
{
	(void)state;
	setenv("CERTDESK_SERVER_MAX_CONNECTIONS_PER_IP", "4", 1);
	setenv("CERTDESK_SERVER_HEAD_TIMEOUT_S", "5", 1);
	setenv("CERTDESK_SERVER_TRUSTED_PROXIES", "127.0.0.3, 10.0.0.0/8", 1);
	return harness_start(&S);
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Connects to the server from the loopback address src; returns the socket. */
static int connect_from(const char *src)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, src, &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	to.sin_port = htons((uint16_t)S.port);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

/* Returns 1 when the server closed fd within ms milliseconds (end of file or reset). */
static int closed_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[512];

	while (poll(&p, 1, ms) == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 1;
	}
	return 0;
}

/* Sends a whole request for path on fd and returns the status of the answer (0 when none). */
static int request_path_on(int fd, const char *path, const char *extra_headers)
{
	char req[512], buf[4096];
	ssize_t n;
	int status = 0;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", path,
		 extra_headers);
	if (send(fd, req, strlen(req), 0) != (ssize_t)strlen(req))
		return 0;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = '\0';
		sscanf(buf, "HTTP/1.1 %d", &status);
	}
	return status;
}

static int request_on(int fd, const char *extra_headers)
{
	return request_path_on(fd, "/api/v1/meta", extra_headers);
}

/* Four connections from 127.0.0.2, each kept alive after one answered request (so the server has
 * certainly registered them; worker threads accept concurrently, so merely connected ones may be
 * registered in any order), use up that address; a fifth from it is cut, while another address is
 * served. */
static void test_per_address_limit(void **state)
{
	static const char req[] = "GET /api/v1/meta HTTP/1.1\r\nHost: x\r\n\r\n";
	int kept[4], extra, other;
	char buf[4096];
	(void)state;

	for (int i = 0; i < 4; i++) {
		kept[i] = connect_from("127.0.0.2");
		assert_int_equal(send(kept[i], req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
		assert_true(recv(kept[i], buf, sizeof(buf), 0) > 12);
		assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
	}
	extra = connect_from("127.0.0.2");
	assert_int_equal(request_on(extra, ""), 0);
	assert_true(closed_within(extra, 5000));
	other = connect_from("127.0.0.4");
	assert_int_equal(request_on(other, ""), 200);
	for (int i = 0; i < 4; i++)
		close(kept[i]);
	close(extra);
	close(other);
}

/* A head that trickles in a byte every 300 ms is cut after the head time-out (5 s here), long
 * before the 30 s idle time-out that each byte would otherwise renew. */
static void test_head_timeout(void **state)
{
	const char *head = "GET /api/v1/meta HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	int fd = connect_from("127.0.0.5"), cut = 0;
	(void)state;

	for (size_t i = 0; i < strlen(head) && !cut; i++) {
		if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1)
			cut = 1;
		else
			cut = closed_within(fd, 300);
	}
	assert_true(cut);
	close(fd);
	/* a prompt request from the same address is served */
	fd = connect_from("127.0.0.5");
	assert_int_equal(request_on(fd, ""), 200);
	close(fd);
}

/* Returns the "remote" of the access-log line whose path is path (static buffer), waiting up to 20 s
 * for it: the line is written when the request ends, a moment after the client got its answer. */
static const char *logged_remote(const char *path)
{
	static char remote[64];
	char file[400], line[2048];

	snprintf(file, sizeof(file), "%s/access.log", S.dir);
	remote[0] = '\0';
	for (int tries = 0; tries < 200 && remote[0] == '\0'; tries++) {
		FILE *f = fopen(file, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			json_t *j = json_loads(line, 0, NULL);
			const char *p = json_string_value(json_object_get(j, "path"));
			if (p != NULL && strcmp(p, path) == 0)
				snprintf(remote, sizeof(remote), "%s",
					 json_string_value(json_object_get(j, "remote")));
			json_decref(j);
		}
		if (f != NULL)
			fclose(f);
		if (remote[0] == '\0')
			usleep(100000);
	}
	return remote;
}

/* X-Forwarded-For from a trusted proxy names the client (the rightmost hop that is not a proxy);
 * from anyone else it is ignored. */
static void test_forwarded_for(void **state)
{
	int fd;
	(void)state;

	fd = connect_from("127.0.0.3"); /* a trusted proxy */
	assert_int_equal(request_path_on(fd, "/api/v1/xff-proxied", "X-Forwarded-For: 6.6.6.6, 203.0.113.7, 10.1.2.3\r\n"),
			 404);
	close(fd);
	assert_string_equal(logged_remote("/api/v1/xff-proxied"), "203.0.113.7");
	fd = connect_from("127.0.0.6"); /* not a proxy: the header is the client's own claim */
	assert_int_equal(request_path_on(fd, "/api/v1/xff-direct", "X-Forwarded-For: 203.0.113.8\r\n"), 404);
	close(fd);
	assert_string_equal(logged_remote("/api/v1/xff-direct"), "127.0.0.6");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address_limit),
		cmocka_unit_test(test_head_timeout),
		cmocka_unit_test(test_forwarded_for),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
