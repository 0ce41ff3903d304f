/* Privilege separation and untrusted decoding apart (issue 16): certdeskd started as root runs as
 * [server] user; every upload is decoded by certdesk-decode, a helper with no database, no network
 * and no privileges, whose crash or hang is a 422 for that upload and nothing more. The helper's
 * test hooks ([dev] decode_test_hooks) make it crash, hang or report what it may do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sandbox/decode_proto.h"

#define TEST_USER "nobody"
#define TEST_UID 65534

static struct srv S;
static struct client org;
static char order_no[32];

#define FULL_FORM                                                                                            \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":"      \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                     \
	"\"11010519491231002X\",\"handler_email\":\"zhang@example.com\",\"invoice_email\":"                  \
	"\"fp@example.com\",\"recipient_name\":\"王五\",\"recipient_mobile\":\"13700137000\","                \
	"\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

static long upload(const char *kind, const void *data, size_t len, json_t **j)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/%s", order_no, kind);
	return client_upload(&org, "PUT", path, NULL, "scan.png", data, len, j);
}

/* Returns the value of field ("Uid:") of /proc/pid/status, first number, or -1. */
static long proc_status(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

/* Fills kids with the pids of certdeskd's children; returns how many. */
static int children(pid_t parent, pid_t *kids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL && n < max) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && proc_status(pid, "PPid:") == parent)
			kids[n++] = pid;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* Copies the Name: of /proc/pid/status into name ("" when gone). */
static void proc_name(pid_t pid, char name[64])
{
	char path[64], line[256];
	FILE *f;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Name: %63s", name) == 1)
			break;
	fclose(f);
}

/* Returns certdeskd's decode launcher (its child named certdesk-launch), or 0. */
static pid_t launcher_of(pid_t server)
{
	pid_t kids[8];
	char name[64];
	int n = children(server, kids, 8);

	for (int i = 0; i < n; i++) {
		proc_name(kids[i], name);
		if (strcmp(name, "certdesk-launch") == 0)
			return kids[i];
	}
	return 0;
}

/* Fills kids with the decode helpers of certdeskd (the launcher's children); returns how many. */
static int helpers(pid_t server, pid_t *kids, int max)
{
	pid_t l = launcher_of(server);
	return l > 0 ? children(l, kids, max) : 0;
}

/* Returns 1 when every descriptor of pid is a socket, a signalfd, /dev/null or standard error
 * (certdeskd's log): no database, no file of the data directory, no listening port's file. */
static int only_sockets(pid_t pid)
{
	char dir[64], path[400], target[256];
	struct dirent *e;
	int ok = 1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t k = readlink(path, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		if (strncmp(target, "socket:", 7) != 0 && strcmp(target, "anon_inode:[signalfd]") != 0 &&
		    strcmp(target, "/dev/null") != 0) {
			fprintf(stderr, "launcher fd %s -> %s\n", e->d_name, target);
			ok = 0;
		}
	}
	closedir(d);
	return ok;
}

/* Returns how many descriptors pid has open; sets *other when one is not a pipe. */
static int fds(pid_t pid, int *other)
{
	char dir[64], path[400], target[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t k = readlink(path, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		/* 0 and 1 are its pipes; 2 is certdeskd's standard error (the harness's log file) */
		if (strncmp(target, "pipe:", 5) != 0 && atoi(e->d_name) != 2)
			*other = 1;
		n++;
	}
	closedir(d);
	return n;
}

/* The process of ours named certdeskd (the test's child), or 0. */
static pid_t find_server(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char name[64];
	pid_t found = 0;

	while (d != NULL && (e = readdir(d)) != NULL && found == 0) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || proc_status(pid, "PPid:") != getppid())
			continue;
		proc_name(pid, name);
		if (strcmp(name, "certdeskd") == 0)
			found = pid;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* The watcher (a child of the test): connects to port as soon as it accepts, asks GET /healthz, and
 * at the first byte of the answer reads certdeskd's uid. Returns 0 when that was TEST_UID, 1 when
 * root answered, 2 when nothing answered within 30 s. */
static int first_answer_uid(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	const char req[] = "GET /healthz HTTP/1.0\r\n\r\n";
	char c;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 30000; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1) && read(fd, &c, 1) == 1) {
			long uid = proc_status(find_server(), "Uid:");
			fprintf(stderr, "first answer from uid %ld\n", uid);
			return uid == TEST_UID ? 0 : 1;
		}
		if (fd >= 0)
			close(fd);
		usleep(1000);
	}
	return 2;
}

static int setup(void **state)
{
	char *init[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	json_t *j = NULL;
	(void)state;

	if (harness_prepare(&S) != 0)
		return -1;
	harness_env(&S);
	setenv("CERTDESK_DEV_DECODE_TEST_HOOKS", "true", 1);
	setenv("CERTDESK_SECURITY_DECODE_TIMEOUT_S", "3", 1);
	if (geteuid() == 0) {
		/* as an operator would: the service's directory belongs to its user */
		if (chown(S.dir, TEST_UID, TEST_UID) != 0 || chmod(S.dir, 0755) != 0)
			return -1;
		setenv("CERTDESK_SERVER_USER", TEST_USER, 1);
	}
	if (harness_restart(&S) != 0 || harness_run(init, NULL, NULL) != 0) {
		fprintf(stderr, "setup: certdeskd or certdesk init failed (%s)\n", S.dir);
		return -1;
	}
	client_init(&org, &S, "org");
	if (client_register_login(&org, "鹰潭沙箱测试有限公司", "91110000600037341L", "13800138031") != 0) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "cat %s/server.out >&2; tail -3 %s/access.log >&2", S.dir, S.dir);
		fprintf(stderr, "setup: registration failed (%s)\n", S.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no output)\n");
		return -1;
	}
	if (client_do(&org, "POST", "/api/v1/orders",
		      "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}", &j) != 201)
		return fprintf(stderr, "setup: order not created\n"), json_decref(j), -1;
	snprintf(order_no, sizeof(order_no), "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;

	unsetenv("CERTDESK_DEV_DECODE_TEST_HOOKS");
	unsetenv("CERTDESK_SECURITY_DECODE_TIMEOUT_S");
	unsetenv("CERTDESK_SERVER_USER");
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Started as root, certdeskd runs as the configured user (every uid and gid) and still serves. */
static void test_runs_as_configured_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can start it as root */
	assert_int_equal(proc_status(S.pid, "Uid:"), TEST_UID);
	assert_int_equal(proc_status(S.pid, "Gid:"), TEST_UID);
	assert_int_equal(proc_status(S.pid, "CapEff:"), 0); /* no capability left */
	assert_int_equal(client_do(&org, "GET", "/api/v1/orders", NULL, NULL), 200);
}

/* An ordinary scan goes through the helper: accepted, with its facts. */
static void test_upload_decoded_in_helper(void **state)
{
	size_t len;
	unsigned char *page = harness_png(900, 700, &len);
	json_t *j = NULL;
	(void)state;

	assert_int_equal(upload("business_licence", page, len, &j), 201);
	assert_int_equal(json_integer_value(json_object_get(j, "width")), 900);
	json_decref(j);
	/* refusals keep their codes */
	assert_int_equal(upload("business_licence", "GIF89a not an accepted image", 28, &j), 415);
	assert_string_equal(error_code(j), "file_type");
	json_decref(j);
	free(page);
}

/* A file that crashes the decoder: 422 for that upload, certdeskd alive, the next upload fine. */
static void test_crashing_decoder(void **state)
{
	char bad[64];
	size_t len;
	unsigned char *page = harness_png(900, 700, &len);
	json_t *j = NULL;
	(void)state;

	snprintf(bad, sizeof(bad), "%s and then some", DECODE_HOOK_CRASH);
	assert_int_equal(upload("business_licence", bad, strlen(bad), &j), 422);
	assert_string_equal(error_code(j), "decode_failed");
	json_decref(j);
	assert_int_equal(kill(S.pid, 0), 0);
	assert_int_equal(upload("handler_id_front", page, len, NULL), 201);
	free(page);
}

/* A file that hangs the decoder: killed after [security] decode_timeout_s (3 s here), 422. While
 * it hangs, every helper of certdeskd holds only its pipes (no database, no socket, no log) and runs
 * as an unprivileged user (the helpers are the decode launcher's children, see test_server_confined). */
static void test_hanging_decoder(void **state)
{
	char bad[64];
	struct timespec t0, t1;
	pid_t kids[8];
	json_t *j = NULL;
	(void)state;

	snprintf(bad, sizeof(bad), "%s please", DECODE_HOOK_HANG);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fork() == 0) { /* looks at the helpers while the upload hangs */
		int n, other = 0, bad_uid = 0;
		usleep(1500 * 1000);
		n = helpers(S.pid, kids, 8);
		for (int i = 0; i < n; i++) {
			if (fds(kids[i], &other) > 3)
				other = 1;
			if (proc_status(kids[i], "Uid:") == 0)
				bad_uid = 1;
		}
		_exit(n >= 1 && !other && !bad_uid ? 0 : 10 + n + (other ? 20 : 0) + (bad_uid ? 40 : 0));
	}
	assert_int_equal(upload("business_licence", bad, strlen(bad), &j), 422);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(error_code(j), "decode_failed");
	json_decref(j);
	assert_true(t1.tv_sec - t0.tv_sec >= 2 && t1.tv_sec - t0.tv_sec <= 10);
	int status = 0;
	assert_true(wait(&status) > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(kill(S.pid, 0), 0);
}

/* From inside: the helper is not root and socket() is refused by its seccomp list. */
static void test_helper_has_no_network(void **state)
{
	json_t *j = NULL;
	const char *msg;
	char want[64];
	(void)state;

	assert_int_equal(upload("business_licence", DECODE_HOOK_PROBE, strlen(DECODE_HOOK_PROBE), &j), 415);
	assert_string_equal(error_code(j), "probe");
	msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(msg);
	snprintf(want, sizeof(want), "socket=-1 errno=13"); /* EACCES from the filter */
	assert_non_null(strstr(msg, want));
	assert_null(strstr(msg, "uid=0 "));
	json_decref(j);
}

/* certdeskd runs under its seccomp list (which has neither fork nor execve: tests/unit/sandbox/
 * test_seccomp.c) and starts no program itself: its one child is the decode launcher, forked before
 * any thread, confined too, holding sockets only; the helpers are the launcher's children. */
static void test_server_confined(void **state)
{
	pid_t kids[8], l;
	char name[64];
	(void)state;

	assert_int_equal(proc_status(S.pid, "Seccomp:"), 2); /* SECCOMP_MODE_FILTER */
	assert_int_equal(children(S.pid, kids, 8), 1);
	proc_name(kids[0], name);
	assert_string_equal(name, "certdesk-launch");
	l = kids[0];
	assert_int_equal(proc_status(l, "Seccomp:"), 2);
	assert_true(only_sockets(l));
	/* uploads still work through it, again and again */
	for (int i = 0; i < 3; i++)
		assert_int_equal(upload("business_licence", "GIF89a not an accepted image", 28, NULL), 415);
	assert_int_equal(launcher_of(S.pid), l);
}

/* Staff's own seal PNG (PUT .../seal-pictures/{seal} with "png") is decoded by certdesk-decode like
 * every upload: bytes that crash the decoder are a 422 decode_failed, certdeskd unharmed. */
static void test_seal_png_decoded_in_helper(void **state)
{
	struct client staff;
	char no[32], path[160];
	json_t *j = NULL;
	(void)state;

	assert_int_equal(client_do(&org, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"main\",\"form\":" FULL_FORM "}", &j),
			 201);
	snprintf(no, sizeof(no), "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	client_init(&staff, &S, "producer");
	assert_int_equal(client_staff_login(&staff, "producer"), 0);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures/org", no);
	/* base64 of a PNG signature, then DECODE_HOOK_CRASH " a seal" */
	assert_int_equal(client_do(&staff, "PUT", path,
				   "{\"png\":\"iVBORw0KGgpDRVJUREVTSy1URVNULUNSQVNIIGEgc2VhbA==\"}", &j),
			 422);
	assert_string_equal(error_code(j), "decode_failed");
	json_decref(j);
	assert_int_equal(kill(S.pid, 0), 0);
}

/* Started as root, certdeskd binds its port as root but answers nothing before it has become
 * [server] user: a client connecting at the first moment gets its answer from the unprivileged
 * process. The data directory is made large so that the drop (which hands it over) takes a while. */
static void test_serves_only_after_drop(void **state)
{
	char dir[400], f[500];
	pid_t watcher;
	int status = 0;
	(void)state;

	if (geteuid() != 0)
		skip();
	assert_int_equal(harness_kill(&S), 0);
	snprintf(dir, sizeof(dir), "%s/files/bulk", S.dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < 60000; i++) {
		snprintf(f, sizeof(f), "%s/%d", dir, i);
		int fd = open(f, O_WRONLY | O_CREAT, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	if ((watcher = fork()) == 0)
		_exit(first_answer_uid(S.port));
	assert_int_equal(harness_restart(&S), 0);
	assert_int_equal(waitpid(watcher, &status, 0), watcher);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_as_configured_user),
		cmocka_unit_test(test_upload_decoded_in_helper),
		cmocka_unit_test(test_crashing_decoder),
		cmocka_unit_test(test_hanging_decoder),
		cmocka_unit_test(test_helper_has_no_network),
		cmocka_unit_test(test_server_confined),
		cmocka_unit_test(test_seal_png_decoded_in_helper),
		cmocka_unit_test(test_serves_only_after_drop), /* last: it restarts certdeskd */
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
