/* Two certdeskd behind a real nginx (round robin) on one PostgreSQL database and one shared files
 * directory (issue 18): a session moves between the nodes, a file uploaded through one node is
 * served by the other; the background work runs once across the nodes, both running their job loops
 * at the same time: each CRL is signed once (the publishing pass's lease), each SMS of the outbox
 * reaches the provider (certdesk-sim) once (claims with FOR UPDATE SKIP LOCKED and a lease), and a
 * payment the provider reports paid without notifying is credited once (the reconciliation pass's
 * lease, and the conditional crediting). PostgreSQL only: SQLite is the one-node installation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "harness.h"

static struct srv A, B, P; /* node A (harness), node B, and nginx in front of both */
static struct srv SIM;     /* certdesk-sim: the SMS and payment providers of both nodes */
static pid_t nginx_pid;

/* Waits until GET /healthz of s answers 200 (pid: the process that must stay alive). */
static int wait_up(const struct srv *s, pid_t pid)
{
	for (int i = 0; i < 400; i++) {
		struct resp r;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
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

/* Starts node B (without waiting): A's configuration (database, files directory, signer), its own port
 * and access log. */
static int start_node_b_nowait(void)
{
	char out[400], port[16], alog[400];

	B = A;
	B.port = harness_free_port();
	snprintf(B.base, sizeof(B.base), "http://127.0.0.1:%d", B.port);
	snprintf(port, sizeof(port), "%d", B.port);
	snprintf(out, sizeof(out), "%s/server-b.out", A.dir);
	snprintf(alog, sizeof(alog), "%s/access-b.log", A.dir);
	B.pid = fork();
	if (B.pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("CERTDESK_SERVER_PORT", port, 1);
		setenv("CERTDESK_LOG_ACCESS_LOG", alog, 1);
		execl(harness_bin("certdeskd"), "certdeskd", (char *)NULL);
		_exit(127);
	}
	return B.pid > 0 ? 0 : -1;
}

/* Writes nginx's configuration (round robin over A and B) and starts it in the foreground. */
static int start_nginx(void)
{
	char conf[400], err[400];
	FILE *f;

	P = A;
	P.port = harness_free_port();
	snprintf(P.base, sizeof(P.base), "http://127.0.0.1:%d", P.port);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", A.dir);
	snprintf(err, sizeof(err), "%s/nginx-error.log", A.dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f,
		"worker_processes 1;\npid %s/nginx.pid;\nerror_log %s;\nevents { worker_connections 64; }\n"
		"http {\n access_log off;\n client_body_temp_path %s/ngx-body;\n proxy_temp_path "
		"%s/ngx-proxy;\n"
		" fastcgi_temp_path %s/ngx-fcgi;\n uwsgi_temp_path %s/ngx-uwsgi;\n scgi_temp_path "
		"%s/ngx-scgi;\n"
		" client_max_body_size 8m;\n client_body_buffer_size 8m;\n proxy_buffering off;\n"
		" upstream certdeskd { server 127.0.0.1:%d; server 127.0.0.1:%d; }\n"
		" server {\n  listen 127.0.0.1:%d;\n  location / {\n   proxy_pass http://certdeskd;\n"
		"   proxy_http_version 1.1;\n   proxy_set_header Connection \"\";\n   proxy_set_header Host "
		"$host;\n"
		"   proxy_set_header X-Forwarded-For $remote_addr;\n   proxy_next_upstream off;\n  }\n "
		"}\n}\n",
		A.dir, err, A.dir, A.dir, A.dir, A.dir, A.dir, A.port, B.port, P.port);
	fclose(f);
	nginx_pid = fork();
	if (nginx_pid == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("nginx", "nginx", "-p", A.dir, "-e", err, "-c", conf, "-g", "daemon off;",
		       (char *)NULL);
		execl("/usr/sbin/nginx", "nginx", "-p", A.dir, "-e", err, "-c", conf, "-g", "daemon off;",
		      (char *)NULL);
		_exit(127);
	}
	return wait_up(&P, nginx_pid);
}

static int setup(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	char v[200];
	(void)state;

	setenv("CERTDESK_SERVER_TRUSTED_PROXIES", "127.0.0.1", 1);
	/* the simulator first: its endpoints stay in the environment that both nodes start with */
	if (harness_sim_alone(&SIM) != 0 || harness_prepare(&A) != 0)
		return -1;
	harness_env(&A);
	/* both nodes deliver SMS through it, look every second, a few messages at a time (so that both
	 * take part), and reconcile payments every second */
	setenv("CERTDESK_SMS_PROVIDER", "tencent", 1);
	snprintf(v, sizeof(v), "%s/sms", SIM.base);
	setenv("CERTDESK_SMS_ENDPOINT", v, 1);
	setenv("CERTDESK_SMS_PER_IP_HOUR", "1000", 1);
	setenv("CERTDESK_OUTBOX_POLL_INTERVAL_S", "1", 1);
	setenv("CERTDESK_OUTBOX_BATCH", "2", 1);
	setenv("CERTDESK_PAYMENT_RECONCILE_AFTER_S", "2", 1);
	setenv("CERTDESK_PAYMENT_RECONCILE_INTERVAL_S", "1", 1);
	/* the demo CA and its signer first, so that both nodes' first publishing passes find its CRLs due
	 * at the same moment */
	if (harness_run(argv, NULL, NULL) != 0 || harness_start_ca(&A) != 0)
		return -1;
	/* A's directory holds the files and the jars: searchable by nginx's workers */
	chmod(A.dir, 0755);
	if (start_node_b_nowait() != 0 || harness_restart(&A) != 0 || wait_up(&B, B.pid) != 0)
		return -1;
	return start_nginx();
}

/* Stops a child with SIGTERM and returns its exit status (128+signal when killed). */
static int stop(pid_t pid)
{
	int status = 0;

	if (pid <= 0 || kill(pid, SIGTERM) != 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int teardown(void **state)
{
	int nb, na;
	(void)state;

	stop(nginx_pid);
	nb = stop(B.pid);
	na = harness_stop(&A);
	harness_cleanup(&A);
	return na == 0 && nb == 0 && harness_sim_alone_stop(&SIM) == 0 ? 0 : -1;
}

/* Returns how many lines of the access log at path are "method path" answered with status. */
static int count_lines(const char *path, const char *method, const char *url, int status)
{
	char line[4096], m[64], u[512], s[32];
	FILE *f = fopen(path, "r");
	int n = 0;

	snprintf(m, sizeof(m), "\"method\":\"%s\"", method);
	snprintf(u, sizeof(u), "\"path\":\"%s\"", url);
	snprintf(s, sizeof(s), "\"status\":%d", status);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, m) != NULL && strstr(line, u) != NULL && strstr(line, s) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

/* Logged in through nginx, the organisation's session works on both nodes: nginx alternates, and
 * every request of the session is answered 200 by whichever node gets it. */
static void test_session_moves(void **state)
{
	struct client org;
	char la[400], lb[400];
	(void)state;

	client_init(&org, &P, "org");
	assert_int_equal(client_register_login(&org, "鹰潭集群公司", "91310115MA1K3BTP2B", "13800138021"), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(client_do(&org, "GET", "/api/v1/account", NULL, NULL), 200);
	snprintf(la, sizeof(la), "%s/access.log", A.dir);
	snprintf(lb, sizeof(lb), "%s/access-b.log", A.dir);
	/* each access log is written by its own thread about once a second: wait for the lines */
	for (int i = 0; i < 100 && (count_lines(la, "GET", "/api/v1/account", 200) < 2 ||
				    count_lines(lb, "GET", "/api/v1/account", 200) < 2);
	     i++)
		usleep(100000);
	assert_true(count_lines(la, "GET", "/api/v1/account", 200) >= 2);
	assert_true(count_lines(lb, "GET", "/api/v1/account", 200) >= 2);
	assert_int_equal(count_lines(la, "GET", "/api/v1/account", 401) +
				 count_lines(lb, "GET", "/api/v1/account", 401),
			 0);
}

/* Fetches path from node s with the session cookie of c; returns the reply (caller frees). */
static struct resp fetch(const struct srv *s, const struct client *c, const char *path)
{
	char cookie[200];
	const char *h[] = {cookie, NULL};
	struct resp r;

	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(c));
	assert_int_equal(http_do(s, "GET", path, NULL, 0, h, &r), 0);
	return r;
}

/* A scan uploaded through nginx (to either node) is served, byte for byte, by each node. */
static void test_upload_served_by_other_node(void **state)
{
	struct client org;
	json_t *j = NULL;
	char path[160];
	unsigned char *page;
	size_t len = 0;
	struct resp ra, rb;
	(void)state;

	client_init(&org, &P, "org2");
	assert_int_equal(client_register_login(&org, "鹰潭集群乙公司", "91110000600037341L", "13800138022"),
			 0);
	assert_int_equal(client_do(&org, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"main\"}", &j),
			 201);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/business_licence",
		 json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	page = harness_png(800, 600, &len);
	assert_int_equal(client_upload(&org, "PUT", path, NULL, "licence.png", page, len, NULL), 201);
	ra = fetch(&A, &org, path);
	rb = fetch(&B, &org, path);
	assert_int_equal(ra.status, 200);
	assert_int_equal(rb.status, 200);
	assert_int_equal(ra.len, len);
	assert_int_equal(rb.len, len);
	assert_memory_equal(ra.body, page, len);
	assert_memory_equal(rb.body, page, len);
	resp_free(&ra);
	resp_free(&rb);
	free(page);
}

/* Returns the integer the query answers on the shared database. */
static long long pg_int(const char *sql)
{
	PGconn *c = PQconnectdb(A.pg_conninfo);
	PGresult *r = PQexec(c, sql);
	long long v;

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

/* Runs a statement on the shared database (the test's own SQL, no outside input). */
static void pg_exec(const char *sql)
{
	PGconn *c = PQconnectdb(A.pg_conninfo);
	PGresult *r = PQexec(c, sql);

	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
}

/* Returns how many lines of the signer's log are signatures of kind_name. */
static int signatures(const char *kind_name)
{
	char path[400], line[4096], want[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/signer.log", A.dir);
	snprintf(want, sizeof(want), "\"kind_name\":\"%s\"", kind_name);
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, want) != NULL && strstr(line, "\"result\":\"signed\"") != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

/* Both nodes start their CRL/OCSP publishing pass at once, with every CA's first CRL due: each CRL is
 * signed once (the job's lease lets one node at a time run the pass), not once per node. */
static void test_crl_published_once(void **state)
{
	long long cas = pg_int("SELECT COUNT(*) FROM cas WHERE role IN ('root', 'issuing')");
	(void)state;

	assert_true(cas > 0);
	for (int i = 0; i < 200 && pg_int("SELECT COUNT(*) FROM crls") < cas; i++)
		usleep(50000);
	assert_int_equal(pg_int("SELECT COUNT(*) FROM crls"), cas);
	sleep(1); /* a second pass, had one run, would have signed by now */
	assert_int_equal(signatures("tbs_cert_list"), cas);
	assert_int_equal(pg_int("SELECT COUNT(*) FROM job_leases WHERE name = 'pki_publish'"), 1);
}

/* Returns how many SMS the simulator received for mobile. */
static int sms_received(const char *mobile)
{
	char path[80];
	json_t *j = NULL;
	int n;

	snprintf(path, sizeof(path), "/_sim/sms?phone=%s", mobile);
	assert_int_equal(sim_do(&SIM, "GET", path, NULL, &j), 200);
	n = (int)json_array_size(json_object_get(j, "items"));
	json_decref(j);
	return n;
}

/* Ten SMS codes asked for through nginx at once: both nodes' outbox workers poll every second, two
 * messages a claim, and the provider answers the first send only after 3 s (delivered, the answer
 * late), while the other node polls three times; each message reaches the provider once, none twice. */
static void test_outbox_delivered_once(void **state)
{
	enum { N = 10 };
	struct client c[N];
	char mobile[N][16], body[160], name[16];
	long long sent = 0;
	(void)state;

	for (int i = 0; i < N; i++) {
		snprintf(mobile[i], sizeof(mobile[i]), "1390013%04d", 8100 + i);
		snprintf(name, sizeof(name), "sms%d", i); /* a cookie jar each */
		client_init(&c[i], &P, name);
		client_captcha(&c[i]);
	}
	assert_int_equal(sim_do(&SIM, "POST", "/_sim/sms/delay-next", "{\"seconds\":3}", NULL), 200);
	for (int i = 0; i < N; i++) {
		snprintf(body, sizeof(body), "{\"purpose\":\"register\",\"mobile\":\"%s\",\"captcha\":\"ABCDE\"}",
			 mobile[i]);
		assert_int_equal(client_do(&c[i], "POST", "/api/v1/sms-codes", body, NULL), 200);
	}
	for (int i = 0; i < 300 && (sent = pg_int("SELECT COUNT(*) FROM outbox WHERE channel = 'sms' AND state "
						  "<> 'sent'")) > 0;
	     i++)
		usleep(100000);
	assert_int_equal(sent, 0);
	sleep(2); /* a second delivery, had a node sent one again, would have reached the simulator by now */
	for (int i = 0; i < N; i++)
		assert_int_equal(sms_received(mobile[i]), 1);
	assert_int_equal(pg_int("SELECT COUNT(*) FROM outbox WHERE channel = 'sms' AND attempts <> 1"), 0);
}

/* An order awaiting payment, its WeChat Pay QR code paid at the provider without a notification:
 * both nodes' reconciliation passes ask the provider every second; the order is credited once. */
static void test_reconciliation_credits_once(void **state)
{
	struct client org;
	json_t *j = NULL;
	char no[32], path[160], sql[400], otn[80];
	(void)state;

	client_init(&org, &P, "payer");
	assert_int_equal(client_register_login(&org, "鹰潭集群丙公司", "91350100M000100Y43", "13800138023"),
			 0);
	assert_int_equal(client_do(&org, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\"}", &j),
			 201);
	snprintf(no, sizeof(no), "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	/* submission and review are tested elsewhere: the order is put where they leave it */
	snprintf(sql, sizeof(sql),
		 "UPDATE orders SET state = 'awaiting_payment', submitted_at = created_at WHERE order_no = '%s'",
		 no);
	pg_exec(sql);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/payment", no);
	assert_int_equal(client_do(&org, "POST", path, "{\"provider\":\"wxpay\"}", &j), 200);
	snprintf(otn, sizeof(otn), "%s",
		 json_string_value(json_object_get(json_object_get(j, "attempt"), "out_trade_no")));
	json_decref(j);
	assert_true(otn[0] != '\0');
	snprintf(path, sizeof(path), "/_sim/wxpay/orders/%s/pay", otn);
	assert_int_equal(sim_do(&SIM, "POST", path, "{\"notify\":false}", NULL), 200);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM orders WHERE order_no = '%s' AND state = 'awaiting_paper'",
		 no);
	for (int i = 0; i < 300 && pg_int(sql) == 0; i++)
		usleep(100000);
	assert_int_equal(pg_int(sql), 1);
	sleep(3); /* more passes of both nodes */
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.order_no = '%s' AND "
		 "e.event = 'paid'",
		 no);
	assert_int_equal(pg_int(sql), 1);
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id WHERE "
		 "p.out_trade_no = '%s' AND e.verdict = 'applied'",
		 otn);
	assert_int_equal(pg_int(sql), 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM payments WHERE out_trade_no = '%s' AND credited = 1", otn);
	assert_int_equal(pg_int(sql), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crl_published_once),
		cmocka_unit_test(test_session_moves),
		cmocka_unit_test(test_upload_served_by_other_node),
		cmocka_unit_test(test_outbox_delivered_once),
		cmocka_unit_test(test_reconciliation_credits_once),
	};

	if (strcmp(harness_backend(), "postgres") != 0)
		return 77; /* several nodes share PostgreSQL; SQLite is the one-node installation */
	if (getenv("CERTDESK_TEST_PG_CONNINFO") == NULL ||
	    system("command -v nginx >/dev/null || test -x /usr/sbin/nginx") != 0)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
