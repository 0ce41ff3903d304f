/* libFuzzer driver for the whole API: certdeskd's real HTTP server, router, before hook and
 * handlers run in this process on a loopback port with a SQLite database in a temporary
 * directory, holding the demo project, an organisation with an order, and a session for the
 * organisation and for each staff role. Each input picks a caller (anonymous, the organisation,
 * or one staff role), a route of the table, its path parameters (any bytes, percent-encoded) and a
 * body (JSON, multipart or none). Invariants: no reply is a 500, nothing trips the sanitizers, and
 * the server answers the next request. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/roles.h"
#include "pay/payments.h"
#include "store/pii_store.h"
#include "store/store.h"
#include "util/timefmt.h"

const struct actor cli_actor = {"system", "fuzz", "-"};

static struct config cfg;
static struct app app;
static struct calendar_live calendar;
static struct paysvc pay;
static int port;

/* Callers: 0 anonymous (no cookie), 1 the organisation, 2.. one staff role each. */
#define NCALLERS (2 + ROLE_COUNT)
static char cookie[NCALLERS][48], csrf[NCALLERS][72];

/* Creates a session of kind for subject with a cookie and CSRF token of our own for caller i. */
static void session_for(struct db_conn *c, int i, const char *kind, int64_t subject)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char hash[72], now[TIMEFMT_LEN], until[TIMEFMT_LEN];
	time_t t = time(NULL);

	snprintf(cookie[i], sizeof(cookie[i]), "fuzzFUZZfuzzFUZZfuzzFUZZfuzzFUZZfuzzFUZZfu%d", i);
	snprintf(csrf[i], sizeof(csrf[i]), "%064d", i);
	crypto_hash_sha256(md, (const unsigned char *)cookie[i], strlen(cookie[i]));
	sodium_bin2hex(hash, sizeof(hash), md, sizeof(md));
	timefmt_rfc3339(t, now);
	timefmt_rfc3339(t + 86400 * 30, until);
	if (store_session_create(c, hash, kind, subject, csrf[i], now, until, "127.0.0.1") != DB_OK)
		abort();
}

/* The organisation, its order and every caller's session. */
static void seed(void)
{
	struct db_conn *c;
	struct org_rec o = {0};
	struct project_rec p = {0};
	struct key_type_rec k = {0};
	struct order_rec ord = {0};
	int64_t org_id = 0;

	if (cmd_init(app.db, &cfg, 1) != 0) /* the demo project, staff and CA */
		abort();
	c = db_acquire(app.db);
	snprintf(o.uscc, sizeof(o.uscc), "91310115MA1K3BTP2B");
	snprintf(o.name, sizeof(o.name), "模糊测试有限公司");
	snprintf(o.handler_name, sizeof(o.handler_name), "张三");
	snprintf(o.handler_mobile, sizeof(o.handler_mobile), "13800138000");
	snprintf(o.password_hash, sizeof(o.password_hash), "x");
	snprintf(o.uscc_status, sizeof(o.uscc_status), "valid");
	if (store_org_create(c, &o, &cli_actor, &org_id) != DB_OK ||
	    store_project_get(c, "yingtan", &p) != DB_OK || store_key_type_get(c, p.id, "main", &k) != DB_OK)
		abort();
	ord.org_id = org_id;
	ord.project_id = p.id;
	ord.price_fen = k.price_fen;
	snprintf(ord.key_type, sizeof(ord.key_type), "main");
	snprintf(ord.verify_token, sizeof(ord.verify_token), "%043d", 7);
	ord.form = "{}";
	if (store_order_create(c, &ord, p.order_prefix, &cli_actor) != DB_OK)
		abort();
	session_for(c, 1, "org", org_id);
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct staff_rec st = {0};
		if (store_staff_get(c, role_name(r), 0, &st) != DB_OK)
			abort();
		session_for(c, 2 + r, "staff", st.id);
	}
	db_release(c);
	fprintf(stderr, "fuzz_api: order %s\n", ord.order_no);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/certdesk-fuzz-api-XXXXXX";
	char err[1024], v[600];
	struct http_server *srv;
	int applied = 0;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL || sodium_init() < 0)
		abort();
	snprintf(v, sizeof(v), "%s/db.sqlite", dir);
	setenv("CERTDESK_DATABASE_SQLITE_PATH", v, 1);
	snprintf(v, sizeof(v), "%s/ca-keys", dir);
	setenv("CERTDESK_SIGNER_KEYS_DIR", v, 1);
	snprintf(v, sizeof(v), "%s/km.kek", dir);
	setenv("CERTDESK_KM_KEK_FILE", v, 1);
	snprintf(v, sizeof(v), "%s/signer.sock", dir); /* no signer runs: signing answers "unavailable" */
	setenv("CERTDESK_SIGNER_SOCKET", v, 1);
	snprintf(v, sizeof(v), "%s/files", dir);
	setenv("CERTDESK_FILES_DATA_DIR", v, 1);
	mkdir(v, 0700);
	setenv("CERTDESK_SERVER_PORT", "0", 1);
	setenv("CERTDESK_SERVER_THREADS", "2", 1);
	setenv("CERTDESK_SERVER_WEB_ROOT", "", 1);
	setenv("CERTDESK_LOG_ACCESS_LOG", "", 1);
	setenv("CERTDESK_DATABASE_BUSY_TIMEOUT_MS", "20000", 1);
	setenv("CERTDESK_CALENDAR_DATA_DIR", SOURCE_DIR "/data/holidays-cn", 1);
	setenv("CERTDESK_WXPAY_MERCHANT_KEY", SOURCE_DIR "/config/testkeys/wxpay-merchant.key", 1);
	setenv("CERTDESK_WXPAY_PLATFORM_KEY", SOURCE_DIR "/config/testkeys/wxpay-platform.pub", 1);
	setenv("CERTDESK_ALIPAY_APP_KEY", SOURCE_DIR "/config/testkeys/alipay-app.key", 1);
	setenv("CERTDESK_ALIPAY_PUBLIC_KEY", SOURCE_DIR "/config/testkeys/alipay-gateway.pub", 1);
	/* providers: a closed port, so that calls fail at once */
	setenv("CERTDESK_WXPAY_ENDPOINT", "http://127.0.0.1:9/wxpay", 1);
	setenv("CERTDESK_ALIPAY_GATEWAY", "http://127.0.0.1:9/alipay/gateway.do", 1);
	setenv("CERTDESK_IDV_ENDPOINT", "http://127.0.0.1:9/faceid", 1);
	setenv("CERTDESK_COURIER_SF_ENDPOINT", "http://127.0.0.1:9/sf", 1);
	setenv("CERTDESK_DEV_EXPOSE_OUTBOX", "true", 1);
	setenv("CERTDESK_DEV_CAPTCHA_ANSWER", "ABCDE", 1);
	snprintf(v, sizeof(v), "%s/pii.key", dir); /* as certdeskd: SMS codes' hashes are keyed with it */
	setenv("CERTDESK_PII_KEY_FILE", v, 1);
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&app.db, &cfg, err, sizeof(err)) != 0 ||
	    store_migrate(app.db, &applied, err, sizeof(err)) != 0 ||
	    pii_store_start(app.db, cfg.pii_key_file, err, sizeof(err)) != 0 ||
	    calendar_live_init(&calendar, cfg.calendar_dir, app.db, err, sizeof(err)) != 0 ||
	    paysvc_init(&pay, app.db, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_api: %s\n", err);
		abort();
	}
	app.cfg = &cfg;
	app.calendar = &calendar;
	app.pay = &pay;
	seed();
	srv = http_server_start(&(struct http_server_opts){.listen_address = "127.0.0.1",
							   .threads = 2,
							   .max_body_bytes = (size_t)cfg.max_body_bytes,
							   .routes = api_routes,
							   .nroutes = api_route_count,
							   .ctx = &app,
							   .before = api_before,
							   .params = api_params,
							   .nparams = api_param_count,
							   .on_error = api_log_error},
				err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "fuzz_api: %s\n", err);
		abort();
	}
	port = http_server_port(srv);
	return 0; /* the server runs until the process ends */
}

/* Sends req (len bytes) and returns the reply's status, or -1 when there was none. */
static int exchange(const char *req, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	for (size_t off = 0; off < len; off += (size_t)n)
		if ((n = send(fd, req + off, len - off, MSG_NOSIGNAL)) <= 0)
			break;
	for (;;) { /* the head is kept, the rest read to the end */
		char rest[4096];
		int keep = got < sizeof(buf) - 1;
		n = recv(fd, keep ? buf + got : rest, keep ? sizeof(buf) - 1 - got : sizeof(rest), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (keep)
			got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) {
		fprintf(stderr, "fuzz_api: no status in a reply of %zu bytes: %.200s\n", got, buf);
		status = -1;
	}
	return status;
}

/* Appends the bytes of p as one or more path segments (every byte percent-encoded, '/' kept raw
 * when p holds several segments) to out at *o. */
static void put_value(char *out, size_t cap, size_t *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && *o + 4 < cap; i++)
		*o += (size_t)snprintf(out + *o, cap - *o, "%%%02X", p[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[1 << 17];
	char path[4096];
	const struct route *rt;
	const uint8_t *sep, *vals, *body;
	size_t nvals, nbody, o = 0, r;
	int who, ctype, status;

	if (size < 3)
		return 0;
	who = data[0] % NCALLERS;
	ctype = (data[0] / NCALLERS) % 3;
	rt = &api_routes[data[1] % api_route_count];
	/* never end or replace the fixed sessions */
	if (strstr(rt->pattern, "/auth/") != NULL)
		return 0;
	data += 2;
	size -= 2;
	sep = memchr(data, 0xff, size);
	vals = data;
	nvals = sep != NULL ? (size_t)(sep - data) : size;
	body = sep != NULL ? sep + 1 : data + size;
	nbody = sep != NULL ? size - nvals - 1 : 0;
	if (nbody > sizeof(req) / 2)
		nbody = sizeof(req) / 2;
	/* the path: each {param} gets the next ','-separated chunk of vals */
	for (const char *p = rt->pattern; *p != '\0' && o + 8 < sizeof(path);) {
		if (*p == '{') {
			const uint8_t *end = memchr(vals, ',', nvals);
			size_t len = end != NULL ? (size_t)(end - vals) : nvals;
			put_value(path, sizeof(path), &o, vals, len);
			vals += len + (end != NULL);
			nvals -= len + (end != NULL);
			p = strchr(p, '}') + 1;
		} else if (*p == '*') {
			put_value(path, sizeof(path), &o, vals, nvals);
			p++;
		} else {
			path[o++] = *p++;
		}
	}
	path[o] = '\0';
	r = (size_t)snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n", rt->method,
			     path);
	if (who > 0)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "Cookie: certdesk_session=%s\r\nX-CSRF-Token: %s\r\n",
				      cookie[who], csrf[who]);
	if (ctype == 0)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "Content-Type: application/json\r\n");
	else if (ctype == 1)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "Content-Type: multipart/form-data; boundary=B\r\n");
	r += (size_t)snprintf(req + r, sizeof(req) - r, "Content-Length: %zu\r\n\r\n", nbody);
	memcpy(req + r, body, nbody);
	status = exchange(req, r + nbody);
	if (status == 500 || status < 0) {
		fprintf(stderr, "fuzz_api: %s %s as caller %d answered %d\n", rt->method, path, who, status);
		abort();
	}
	return 0;
}
