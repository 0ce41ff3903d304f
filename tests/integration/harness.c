#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gd.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *harness_backend(void)
{
	const char *b = getenv("CERTDESK_TEST_BACKEND");
	return b != NULL && strcmp(b, "postgres") == 0 ? "postgres" : "sqlite";
}

const char *harness_bin(const char *name)
{
	static char path[3][512];
	static int next;
	char *p = path[next++ % 3];
	snprintf(p, 512, "%s/%s", BUILD_DIR, name);
	return p;
}

int harness_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Writes text to path; returns 0 or -1. */
static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Runs one SQL command on the PostgreSQL maintenance connection. */
static int pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("CERTDESK_TEST_PG_CONNINFO"));
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok ? 0 : -1;
}

int harness_prepare(struct srv *s)
{
	static int serial;
	char path[512];

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/certdesk-it-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	s->port = harness_free_port();
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	snprintf(s->web_root, sizeof(s->web_root), "%s/web", s->dir);
	mkdir(s->web_root, 0755);
	snprintf(path, sizeof(path), "%s/assets", s->web_root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/index.html", s->web_root);
	write_file(path,
		   "<!doctype html><html lang=\"zh-CN\"><title>数字证书在线业务办理平台</title></html>\n");
	snprintf(path, sizeof(path), "%s/assets/app-1a2b3c.js", s->web_root);
	write_file(path, "console.log('certdesk');\n");
	if (strcmp(harness_backend(), "postgres") == 0) {
		char sql[128];
		if (getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
			return -1;
		snprintf(s->dbname, sizeof(s->dbname), "certdesk_it_%d_%d", (int)getpid(), ++serial);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", s->dbname);
		if (pg_admin(sql) != 0)
			return -1;
		snprintf(s->pg_conninfo, sizeof(s->pg_conninfo), "%s dbname=%s",
			 getenv("CERTDESK_TEST_PG_CONNINFO"), s->dbname);
	}
	return 0;
}

void harness_env(const struct srv *s)
{
	char v[600], port[16];

	snprintf(port, sizeof(port), "%d", s->port);
	setenv("CERTDESK_SERVER_PORT", port, 1);
	setenv("CERTDESK_SERVER_LISTEN_ADDRESS", "127.0.0.1", 1);
	/* where the providers' notifications (and the QR codes' links) reach this server */
	setenv("CERTDESK_SERVER_PUBLIC_URL", s->base, 1);
	setenv("CERTDESK_SERVER_WEB_ROOT", s->web_root, 1);
	setenv("CERTDESK_SERVER_THREADS", "4", 1);
	setenv("CERTDESK_DATABASE_BACKEND", harness_backend(), 1);
	snprintf(v, sizeof(v), "%s/certdesk.db", s->dir);
	setenv("CERTDESK_DATABASE_SQLITE_PATH", v, 1);
	if (s->pg_conninfo[0] != '\0')
		setenv("CERTDESK_DATABASE_POSTGRES_CONNINFO", s->pg_conninfo, 1);
	snprintf(v, sizeof(v), "%s/files", s->dir);
	setenv("CERTDESK_FILES_DATA_DIR", v, 1);
	snprintf(v, sizeof(v), "%s/access.log", s->dir);
	setenv("CERTDESK_LOG_ACCESS_LOG", v, 1);
	setenv("CERTDESK_CALENDAR_DATA_DIR", SOURCE_DIR "/data/holidays-cn", 1);
	/* the test key pairs of the payment adapters and simulators, wherever the test runs */
	setenv("CERTDESK_WXPAY_MERCHANT_KEY", SOURCE_DIR "/config/testkeys/wxpay-merchant.key", 1);
	setenv("CERTDESK_WXPAY_PLATFORM_KEY", SOURCE_DIR "/config/testkeys/wxpay-platform.pub", 1);
	setenv("CERTDESK_ALIPAY_APP_KEY", SOURCE_DIR "/config/testkeys/alipay-app.key", 1);
	setenv("CERTDESK_ALIPAY_PUBLIC_KEY", SOURCE_DIR "/config/testkeys/alipay-gateway.pub", 1);
	setenv("CERTDESK_SIM_WXPAY_MERCHANT_PUB", SOURCE_DIR "/config/testkeys/wxpay-merchant.pub", 1);
	setenv("CERTDESK_SIM_WXPAY_PLATFORM_KEY", SOURCE_DIR "/config/testkeys/wxpay-platform.key", 1);
	setenv("CERTDESK_SIM_ALIPAY_APP_PUB", SOURCE_DIR "/config/testkeys/alipay-app.pub", 1);
	setenv("CERTDESK_SIM_ALIPAY_GATEWAY_KEY", SOURCE_DIR "/config/testkeys/alipay-gateway.key", 1);
	/* the CA keys (certdesk ca init, init --demo) and certdesk-signer stay inside the test's directory */
	snprintf(v, sizeof(v), "%s/ca-keys", s->dir);
	setenv("CERTDESK_SIGNER_KEYS_DIR", v, 1);
	snprintf(v, sizeof(v), "%s/signer.sock", s->dir);
	setenv("CERTDESK_SIGNER_SOCKET", v, 1);
	snprintf(v, sizeof(v), "%s/signer.log", s->dir);
	setenv("CERTDESK_SIGNER_LOG", v, 1);
	snprintf(v, sizeof(v), "%s/km.kek", s->dir); /* the key management's KEK (ca init creates it) */
	setenv("CERTDESK_KM_KEK_FILE", v, 1);
	snprintf(v, sizeof(v), "%s/pii.key", s->dir); /* personal data at rest (certdeskd creates it) */
	setenv("CERTDESK_PII_KEY_FILE", v, 1);
	/* Tests read SMS codes from the outbox and know the captcha's answer. */
	setenv("CERTDESK_DEV_EXPOSE_OUTBOX", "true", 1);
	setenv("CERTDESK_DEV_CAPTCHA_ANSWER", "ABCDE", 1);
}

/* Polls /healthz until it answers 200 or about 20 s have passed. */
static int wait_healthy(struct srv *s)
{
	for (int i = 0; i < 400; i++) {
		struct resp r;
		int status = 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		if (http_do(s, "GET", "/healthz", NULL, 0, NULL, &r) == 0) {
			long code = r.status;
			resp_free(&r);
			if (code == 200)
				return 0;
		}
		usleep(50000);
	}
	return -1;
}

/* Starts certdeskd for the prepared s and waits until it is healthy. */
static int spawn_server(struct srv *s)
{
	char out[600];

	snprintf(out, sizeof(out), "%s/server.out", s->dir);
	s->pid = fork();
	if (s->pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(harness_bin("certdeskd"), "certdeskd", (char *)NULL);
		_exit(127);
	}
	if (wait_healthy(s) != 0) {
		char cmd[700];
		fprintf(stderr, "harness: certdeskd did not become healthy; its output:\n");
		snprintf(cmd, sizeof(cmd), "cat %s/server.out >&2", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no output)\n");
		return -1;
	}
	return 0;
}

int harness_kill(struct srv *s)
{
	if (s->pid <= 0 || kill(s->pid, SIGKILL) != 0 || waitpid(s->pid, NULL, 0) != s->pid)
		return -1;
	s->pid = 0;
	return 0;
}

int harness_restart(struct srv *s)
{
	return spawn_server(s);
}

int harness_start(struct srv *s)
{
	if (harness_prepare(s) != 0)
		return -1;
	harness_env(s);
	return spawn_server(s);
}

/* Points the configuration's simulator settings and every provider endpoint at sim_base (port
 * port), the simulator's mail server at a free port; starts certdesk-sim with its output in
 * dir/sim.out and waits until it answers. Returns its pid, or -1. */
static pid_t spawn_sim(const char *dir, const char *sim_base, int port, int *smtp_port)
{
	struct srv probe;
	char v[600];
	pid_t pid;

	snprintf(v, sizeof(v), "%d", port);
	setenv("CERTDESK_SIM_PORT", v, 1);
	setenv("CERTDESK_SIM_URL", sim_base, 1);
	snprintf(v, sizeof(v), "%s/faceid", sim_base);
	setenv("CERTDESK_IDV_ENDPOINT", v, 1);
	snprintf(v, sizeof(v), "%s/wxpay", sim_base);
	setenv("CERTDESK_WXPAY_ENDPOINT", v, 1);
	snprintf(v, sizeof(v), "%s/alipay/gateway.do", sim_base);
	setenv("CERTDESK_ALIPAY_GATEWAY", v, 1);
	snprintf(v, sizeof(v), "%s/sf/std/service", sim_base);
	setenv("CERTDESK_COURIER_SF_ENDPOINT", v, 1);
	/* the simulator's mail server, where certdeskd's outbox worker delivers e-mail */
	*smtp_port = harness_free_port();
	snprintf(v, sizeof(v), "%d", *smtp_port);
	setenv("CERTDESK_SIM_SMTP_PORT", v, 1);
	snprintf(v, sizeof(v), "smtp://127.0.0.1:%d", *smtp_port);
	setenv("CERTDESK_MAIL_SMTP_URL", v, 1);
	snprintf(v, sizeof(v), "%s/sim.out", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(v, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(harness_bin("certdesk-sim"), "certdesk-sim", (char *)NULL);
		_exit(127);
	}
	memset(&probe, 0, sizeof(probe));
	snprintf(probe.base, sizeof(probe.base), "%s", sim_base);
	for (int i = 0; i < 200 && pid > 0; i++) {
		struct resp r;
		if (http_do(&probe, "GET", "/healthz", NULL, 0, NULL, &r) == 0) {
			long code = r.status;
			resp_free(&r);
			if (code == 200)
				return pid;
		}
		usleep(50000);
	}
	fprintf(stderr, "harness: certdesk-sim did not start; see %s/sim.out\n", dir);
	return -1;
}

int harness_start_sim(struct srv *s)
{
	int port;

	if (harness_prepare(s) != 0)
		return -1;
	harness_env(s);
	port = harness_free_port();
	snprintf(s->sim_base, sizeof(s->sim_base), "http://127.0.0.1:%d", port);
	if ((s->sim_pid = spawn_sim(s->dir, s->sim_base, port, &s->sim_smtp_port)) < 0)
		return -1;
	return spawn_server(s);
}

int harness_sim_alone(struct srv *s)
{
	if (harness_prepare(s) != 0)
		return -1;
	harness_env(s); /* the test key pairs */
	snprintf(s->sim_base, sizeof(s->sim_base), "%s", s->base);
	return (s->pid = spawn_sim(s->dir, s->base, s->port, &s->sim_smtp_port)) < 0 ? -1 : 0;
}

int harness_sim_alone_stop(struct srv *s)
{
	char cmd[400];
	int rc = 0;

	/* SIGTERM: certdesk-sim must exit 0 (under ASan: without leaks) */
	if (s->pid > 0 && harness_stop(s) != 0) {
		fprintf(stderr, "certdesk-sim did not exit cleanly; its output:\n");
		snprintf(cmd, sizeof(cmd), "cat %s/sim.out >&2", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no output)\n");
		rc = -1;
	}
	harness_cleanup(s);
	return rc;
}

/* Set when a server stopped by harness_stop exited uncleanly (a leak report under ASan, a crash, a
 * hang). cmocka 1.1.5 prints a failed group teardown but still exits 0, so a teardown that returns
 * -1 for it would not fail the test: the test program's exit status is set here instead. */
static int unclean_stop;
extern void __lsan_do_leak_check(void) __attribute__((weak));

static void fail_exit_on_unclean_stop(void)
{
	if (!unclean_stop)
		return;
	fprintf(stderr, "harness: a server did not exit cleanly (see above): the test fails\n");
	if (__lsan_do_leak_check != NULL) /* the test program's own leak check, which _exit skips */
		__lsan_do_leak_check();
	_exit(1);
}

/* Records an unclean stop of s (its output's end goes to stderr); returns rc. */
static int stopped(const struct srv *s, int rc)
{
	static int registered;
	char cmd[400];

	if (rc != 0) {
		fprintf(stderr, "harness: the server stopped with status %d; the end of its output:\n", rc);
		snprintf(cmd, sizeof(cmd), "tail -n 80 %s/server.out >&2 2>/dev/null || true", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "(no output)\n");
		unclean_stop = 1;
		if (!registered && atexit(fail_exit_on_unclean_stop) == 0)
			registered = 1;
	}
	return rc;
}

int harness_stop(struct srv *s)
{
	int status = 0;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 400; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return stopped(s, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
		usleep(50000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return stopped(s, -1);
}

int harness_start_ca(struct srv *s)
{
	char *init[] = {(char *)harness_bin("certdesk"), "ca", "init", NULL}, out[400], sock[300];
	const char *bin = harness_bin("certdesk-signer");
	struct stat st;

	if (access(bin, X_OK) != 0)
		return 77;
	harness_env(s);
	if (harness_run(init, NULL, NULL) != 0)
		return -1;
	snprintf(out, sizeof(out), "%s/signer.out", s->dir);
	snprintf(sock, sizeof(sock), "%s/signer.sock", s->dir);
	s->signer_pid = fork();
	if (s->signer_pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, "certdesk-signer", (char *)NULL);
		_exit(127);
	}
	/* the signer answers once it connects: its keys are loaded before it listens */
	for (int i = 0; i < 200 && s->signer_pid > 0; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), up;
		if (strlen(sock) >= sizeof(sa.sun_path)) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		up = fd >= 0 && stat(sock, &st) == 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "harness: certdesk-signer did not start; see %s\n", out);
	return -1;
}

int harness_signer_kill(struct srv *s)
{
	if (s->signer_pid <= 0)
		return -1;
	kill(s->signer_pid, SIGKILL);
	waitpid(s->signer_pid, NULL, 0);
	s->signer_pid = 0;
	return 0;
}

void harness_cleanup(struct srv *s)
{
	char cmd[300];

	if (s->pid > 0)
		harness_stop(s);
	if (s->signer_pid > 0) {
		kill(s->signer_pid, SIGTERM);
		waitpid(s->signer_pid, NULL, 0);
		s->signer_pid = 0;
	}
	if (s->sim_pid > 0) {
		kill(s->sim_pid, SIGTERM);
		waitpid(s->sim_pid, NULL, 0);
		s->sim_pid = 0;
	}
	if (s->dbname[0] != '\0') {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", s->dbname);
		pg_admin(sql);
	}
	if (s->dir[0] != '\0' && getenv("CERTDESK_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: could not remove %s\n", s->dir);
	}
}

int harness_run(char *const argv[], const char *stdin_text, char **out)
{
	int inp[2], outp[2], status = 0;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	pid_t pid;

	if (pipe(inp) != 0 || pipe(outp) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		close(inp[1]);
		close(outp[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	if (stdin_text != NULL && write(inp[1], stdin_text, strlen(stdin_text)) < 0)
		perror("harness: write");
	close(inp[1]);
	while ((n = read(outp[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	close(outp[0]);
	waitpid(pid, &status, 0);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

long sim_do(const struct srv *s, const char *method, const char *path, const char *body, json_t **json)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	struct srv sim;
	struct resp r;
	long status;

	memset(&sim, 0, sizeof(sim));
	snprintf(sim.base, sizeof(sim.base), "%s", s->sim_base);
	if (json != NULL)
		*json = NULL;
	if (http_do(&sim, method, path, body, body != NULL ? strlen(body) : 0, h, &r) != 0)
		return -1;
	status = r.status;
	if (json != NULL)
		*json = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	return status;
}

int http_do(const struct srv *s, const char *method, const char *path, const char *body, size_t len,
	    const char *const *headers, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b = {calloc(1, 1), 0}, h = {calloc(1, 1), 0};
	char url[1024];
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	for (int i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	r->body = b.p;
	r->len = b.len;
	r->headers = h.p;
	if (rc != CURLE_OK) {
		resp_free(r);
		return -1;
	}
	return 0;
}

const char *resp_header(const struct resp *r, const char *name)
{
	static __thread char value[512];
	size_t n = strlen(name);

	for (const char *line = r->headers; line != NULL && *line != '\0';) {
		const char *end = strstr(line, "\r\n");
		if (end == NULL)
			break;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(end - v), v);
			return value;
		}
		line = end + 2;
	}
	return NULL;
}

void resp_free(struct resp *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

const char *error_code(json_t *j)
{
	const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	return code != NULL ? code : "";
}

void client_init(struct client *c, const struct srv *s, const char *name)
{
	client_init_from(c, s, name, "");
}

void client_init_from(struct client *c, const struct srv *s, const char *name, const char *source)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	snprintf(c->source, sizeof(c->source), "%s", source);
	snprintf(c->jar, sizeof(c->jar), "%s/jar-%s", s->dir, name);
	unlink(c->jar);
	client_do(c, "GET", "/api/v1/session", NULL, NULL);
}

/* Makes h connect from the client's source address, when it has one. */
static void client_source(const struct client *c, CURL *h)
{
	if (c->source[0] != '\0')
		curl_easy_setopt(h, CURLOPT_INTERFACE, c->source);
}

long client_do(struct client *c, const char *method, const char *path, const char *body, json_t **json)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b = {calloc(1, 1), 0};
	char url[1024], csrf[128];
	long status = -1;
	json_t *j;

	snprintf(url, sizeof(url), "%s%s", c->s->base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, c->jar);
	curl_easy_setopt(h, CURLOPT_COOKIEJAR, c->jar);
	if (body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	if (c->csrf[0] != '\0') {
		snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", c->csrf);
		hl = curl_slist_append(hl, csrf);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	client_source(c, h);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	j = json_loadb(b.p, b.len, 0, NULL);
	if (json_is_string(json_object_get(j, "csrf_token")))
		snprintf(c->csrf, sizeof(c->csrf), "%s", json_string_value(json_object_get(j, "csrf_token")));
	if (json != NULL)
		*json = j;
	else
		json_decref(j);
	free(b.p);
	return status;
}

void client_captcha(struct client *c)
{
	CURL *h = curl_easy_init();
	struct buf b = {calloc(1, 1), 0};
	char url[1024];

	snprintf(url, sizeof(url), "%s/api/v1/captcha", c->s->base);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, c->jar);
	curl_easy_setopt(h, CURLOPT_COOKIEJAR, c->jar);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	client_source(c, h);
	curl_easy_perform(h);
	curl_easy_cleanup(h);
	free(b.p);
}

const char *client_sms_code(struct client *c, const char *mobile)
{
	static char code[16];
	char path[128];
	json_t *j = NULL;

	code[0] = '\0';
	snprintf(path, sizeof(path), "/api/v1/dev/outbox?recipient=%s", mobile);
	if (client_do(c, "GET", path, NULL, &j) == 200) {
		const char *v = json_string_value(json_object_get(
			json_object_get(json_array_get(json_object_get(j, "items"), 0), "params"), "code"));
		snprintf(code, sizeof(code), "%s", v ? v : "");
	}
	json_decref(j);
	return code;
}

const char *client_cookie(const struct client *c)
{
	static char value[128];
	char line[1024];
	FILE *f = fopen(c->jar, "r");

	value[0] = '\0';
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *p = strstr(line, "certdesk_session\t");
		if (p != NULL)
			snprintf(value, sizeof(value), "%.*s", (int)strcspn(p + 17, "\r\n"), p + 17);
	}
	if (f != NULL)
		fclose(f);
	return value;
}

long client_upload(struct client *c, const char *method, const char *path, const char *const *fields,
		   const char *filename, const void *data, size_t len, json_t **json)
{
	CURL *h = curl_easy_init();
	curl_mime *mime = curl_mime_init(h);
	curl_mimepart *part;
	struct curl_slist *hl = NULL;
	struct buf b = {calloc(1, 1), 0};
	char url[1024], csrf[128];
	long status = -1;

	for (int i = 0; fields != NULL && fields[i] != NULL; i += 2) {
		part = curl_mime_addpart(mime);
		curl_mime_name(part, fields[i]);
		curl_mime_data(part, fields[i + 1], CURL_ZERO_TERMINATED);
	}
	if (data != NULL) {
		part = curl_mime_addpart(mime);
		curl_mime_name(part, "file");
		curl_mime_filename(part, filename);
		curl_mime_data(part, data, len);
	}
	snprintf(url, sizeof(url), "%s%s", c->s->base, path);
	snprintf(csrf, sizeof(csrf), "X-CSRF-Token: %s", c->csrf);
	hl = curl_slist_append(hl, csrf);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, c->jar);
	curl_easy_setopt(h, CURLOPT_COOKIEJAR, c->jar);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	client_source(c, h);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_mime_free(mime);
	curl_easy_cleanup(h);
	if (json != NULL)
		*json = json_loadb(b.p, b.len, 0, NULL);
	free(b.p);
	return status;
}

int client_register_login(struct client *c, const char *name, const char *uscc, const char *mobile)
{
	char body[1024];

	client_captcha(c);
	snprintf(body, sizeof(body), "{\"purpose\":\"register\",\"mobile\":\"%s\",\"captcha\":\"ABCDE\"}",
		 mobile);
	if (client_do(c, "POST", "/api/v1/sms-codes", body, NULL) != 200)
		return -1;
	snprintf(body, sizeof(body),
		 "{\"unit_name\":\"%s\",\"uscc\":\"%s\",\"handler_name\":\"张三\",\"handler_mobile\":\"%s\","
		 "\"password\":\"Secret-2026\",\"password_confirm\":\"Secret-2026\",\"sms_code\":\"%s\"}",
		 name, uscc, mobile, client_sms_code(c, mobile));
	if (client_do(c, "POST", "/api/v1/organisations", body, NULL) != 201)
		return -1;
	client_captcha(c);
	snprintf(body, sizeof(body), "{\"uscc\":\"%s\",\"password\":\"Secret-2026\",\"captcha\":\"ABCDE\"}",
		 uscc);
	return client_do(c, "POST", "/api/v1/auth/login", body, NULL) == 200 ? 0 : -1;
}

int client_staff_login(struct client *c, const char *username)
{
	char body[256];

	client_captcha(c);
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"Demo-2026\",\"captcha\":\"ABCDE\"}",
		 username);
	return client_do(c, "POST", "/api/v1/admin/auth/login", body, NULL) == 200 ? 0 : -1;
}

unsigned char *harness_png(int w, int h, size_t *len)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	unsigned char *copy;
	void *p;
	int n = 0;

	gdImageFilledRectangle(im, 0, 0, w - 1, h - 1, 0xffffff);
	for (int y = 20; y < h - 20; y += 24)
		gdImageLine(im, 20, y, w - 20, y, 0x202020);
	p = gdImagePngPtr(im, &n);
	gdImageDestroy(im);
	copy = malloc((size_t)n);
	memcpy(copy, p, (size_t)n);
	gdFree(p);
	*len = (size_t)n;
	return copy;
}
