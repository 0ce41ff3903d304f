/* GET /metrics (Prometheus text format 0.0.4) and GET /readyz, for operators (docs/operations.md).
 * /metrics shows the requests by route, the back-office queues as the dashboard counts them, the
 * outbox, payments, the seed's promises past due, certificates and the CRL/OCSP freshness. It is
 * read from [metrics] allow addresses, or by a staff admin. /readyz answers 200 only when this node
 * can serve: the database answers at the schema this program expects, and the signer answers when
 * a CA is set up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "config/config.h"
#include "core/roles.h"
#include "http/proxy.h"
#include "http/stats.h"
#include "util/timefmt.h"

#define PAPER_TO_SHIPMENT_DAYS 2 /* the dashboard's promises (dashboard.c) */
#define PRODUCTION_TO_INVOICE_DAYS 3

/* The back-office queues as the dashboard lists them (dashboard.c); "invoice" is finance's. */
static const struct {
	const char *queue, *state;
} queues[] = {
	{"review", "submitted"},  {"paper", "paper_sent"}, {"production", "producing"},
	{"shipping", "produced"}, {"invoice", NULL},
};

/* The seed's promises as the dashboard measures them. */
static const struct {
	const char *name, *state_a, *state_b, *event;
	int without_invoice, days;
} promises[] = {
	{"paper_to_shipment", "producing", "produced", "paper_ok", 0, PAPER_TO_SHIPMENT_DAYS},
	{"production_to_invoice", "produced", "shipped", "made", 1, PRODUCTION_TO_INVOICE_DAYS},
};

/* Parses the first 19 characters of an RFC 3339 UTC time stamp; -1 when malformed or NULL. */
static int64_t unix_of(const char *s)
{
	struct tm tm = {0};

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* Writes a metric's HELP and TYPE lines. */
static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes each queue's size and the age in seconds of its longest waiting order. */
static void write_queues(FILE *f, struct db_conn *c, int64_t now)
{
	int64_t size[sizeof(queues) / sizeof(queues[0])], age[sizeof(queues) / sizeof(queues[0])];

	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		json_t *items = NULL;
		int rc = queues[i].state != NULL ? store_state_queue(c, queues[i].state, &items)
						 : store_invoice_queue(c, &items);
		int64_t since = rc == DB_OK ? unix_of(json_string_value(
						      json_object_get(json_array_get(items, 0), "since")))
					    : -1;
		size[i] = rc == DB_OK ? (int64_t)json_array_size(items) : -1;
		age[i] = since >= 0 && now > since ? now - since : 0;
		json_decref(items);
	}
	head(f, "certdesk_queue_size", "gauge", "Orders waiting in each back-office queue (-1: not read).");
	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++)
		fprintf(f, "certdesk_queue_size{queue=\"%s\"} %lld\n", queues[i].queue, (long long)size[i]);
	head(f, "certdesk_queue_oldest_age_seconds", "gauge",
	     "Seconds the longest waiting order of each queue has waited (0: empty).");
	for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++)
		fprintf(f, "certdesk_queue_oldest_age_seconds{queue=\"%s\"} %lld\n", queues[i].queue,
			(long long)age[i]);
}

/* Writes the open and overdue items of each promise, in working days of the live calendar. */
static void write_promises(FILE *f, struct db_conn *c, const struct workdays_calendar *cal, int64_t now)
{
	int today = 0;

	workdays_date_from_instant(now, &today);
	head(f, "certdesk_sla_open", "gauge", "Orders a promise of the dashboard is running for.");
	head(f, "certdesk_sla_overdue", "gauge", "Orders past a promise's due working day (alert when > 0).");
	for (size_t p = 0; p < sizeof(promises) / sizeof(promises[0]); p++) {
		json_t *items = NULL, *it;
		size_t i;
		int overdue = 0;
		if (store_orders_since_event(c, promises[p].state_a, promises[p].state_b, promises[p].event,
					     promises[p].without_invoice, &items) != DB_OK)
			continue;
		json_array_foreach (items, i, it) {
			int due = 0;
			int rc = workdays_add_from_instant(
				cal, unix_of(json_string_value(json_object_get(it, "at"))), promises[p].days,
				&due);
			overdue += rc >= 0 && today > due;
		}
		fprintf(f, "certdesk_sla_open{promise=\"%s\"} %zu\ncertdesk_sla_overdue{promise=\"%s\"} %d\n",
			promises[p].name, json_array_size(items), promises[p].name, overdue);
		json_decref(items);
	}
}

/* One labelled gauge read from the database: each row is its label values, then the value. */
struct gauge {
	const char *name, *help, *labels[3];
	const char *sql;
	int nnow; /* how many times the query binds now (as its leading parameters) */
};

static const struct gauge gauges[] = {
	{"certdesk_outbox_messages",
	 "Notifications in the outbox by channel and state (failed: gave up).",
	 {"channel", "state"},
	 "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state",
	 0},
	{"certdesk_outbox_retrying",
	 "Pending notifications that failed at least once.",
	 {"channel"},
	 "SELECT channel, COUNT(*) FROM outbox WHERE state = 'pending' AND attempts > 0 GROUP BY channel",
	 0},
	{"certdesk_outbox_oldest_pending_created",
	 "Unix time the oldest pending notification was queued.",
	 {"channel"},
	 "SELECT channel, MIN(created_at) FROM outbox WHERE state = 'pending' GROUP BY channel",
	 0},
	{"certdesk_payments",
	 "Payment attempts by provider and state.",
	 {"provider", "state"},
	 "SELECT provider, state, COUNT(*) FROM payments GROUP BY provider, state",
	 0},
	{"certdesk_refunds",
	 "Refunds by state (failed: finance must retry).",
	 {"state"},
	 "SELECT state, COUNT(*) FROM refunds GROUP BY state",
	 0},
	{"certdesk_certificates",
	 "Certificates issued, by CA and status.",
	 {"ca", "status"},
	 "SELECT ca_key_id, status, COUNT(*) FROM certificates GROUP BY ca_key_id, status",
	 0},
	{"certdesk_crl_this_update",
	 "Unix time of the newest CRL of each CA (0: none yet).",
	 {"ca"},
	 "SELECT a.key_id, COALESCE(MAX(k.this_update), '') FROM cas a LEFT JOIN crls k ON k.ca_key_id = "
	 "a.key_id"
	 " WHERE a.role IN ('root', 'issuing') GROUP BY a.key_id",
	 0},
	{"certdesk_crl_next_update",
	 "Unix time the newest CRL of each CA expires (0: none yet).",
	 {"ca"},
	 "SELECT a.key_id, COALESCE(MAX(k.next_update), '') FROM cas a LEFT JOIN crls k ON k.ca_key_id = "
	 "a.key_id"
	 " WHERE a.role IN ('root', 'issuing') GROUP BY a.key_id",
	 0},
	{"certdesk_ocsp_responses_due",
	 "Valid certificates whose OCSP response is missing, expired or stale.",
	 {NULL},
	 "SELECT COUNT(*) FROM certificates v LEFT JOIN ocsp_responses o ON o.serial = v.serial"
	 " WHERE v.not_after > ? AND (o.serial IS NULL OR o.next_update < ? OR o.status <> v.status)",
	 2},
};

/* Writes a label value; values come from the database, so quotes and backslashes are escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* Writes the value column: an integer, or a time stamp as Unix time ("" and NULL: 0). */
static void gauge_value(FILE *f, const char *v)
{
	int64_t t = strchr(v != NULL ? v : "", 'T') != NULL ? unix_of(v) : -1;

	fprintf(f, " %lld\n", t >= 0 ? (long long)t : (v != NULL && v[0] != '\0' ? atoll(v) : 0LL));
}

/* Writes one gauge, a line per row of its query. */
static void write_gauge(FILE *f, struct db_conn *c, const struct gauge *g, const char *now)
{
	struct db_rows *rows = NULL;
	struct db_val args[2] = {DB_TEXT(now), DB_TEXT(now)};
	int nl = 0;

	while (nl < 3 && g->labels[nl] != NULL)
		nl++;
	head(f, g->name, "gauge", g->help);
	if (db_query(c, g->sql, args, g->nnow, &rows) != DB_OK)
		return;
	while (db_rows_next(rows) == 1) {
		fputs(g->name, f);
		for (int i = 0; i < nl; i++) {
			fprintf(f, "%s%s=\"", i == 0 ? "{" : ",", g->labels[i]);
			label_value(f, db_rows_text(rows, i));
			fputc('"', f);
		}
		fputs(nl > 0 ? "}" : "", f);
		gauge_value(f, db_rows_text(rows, nl));
	}
	db_rows_free(rows);
}

/* Writes what the database says: queues, promises and the gauges table. */
static void write_business(FILE *f, struct app *app)
{
	const struct workdays_calendar *cal = calendar_live_acquire(app->calendar, app->db);
	struct db_conn *c = db_acquire(app->db);
	int64_t now = (int64_t)time(NULL);
	char now_text[TIMEFMT_LEN];

	timefmt_rfc3339((time_t)now, now_text);
	write_queues(f, c, now);
	write_promises(f, c, cal, now);
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		write_gauge(f, c, &gauges[i], now_text);
	db_release(c);
	calendar_live_release(app->calendar);
}

/* Returns 1 when the caller's address is in [metrics] allow. */
static int address_allowed(struct http_req *r)
{
	const struct app *app = http_ctx(r);
	struct proxy_list allow;
	char err[128];

	if (proxy_list_parse(&allow, app->cfg->metrics_allow, err, sizeof(err)) != 0)
		return 0;
	return proxy_trusted(&allow, http_remote_addr(r));
}

int api_metrics_get(struct http_req *r)
{
	/* Anyone else needs a staff admin session: the before hook checks it as for an admin route
	 * (and, unlike a public GET, never creates a session for an anonymous scraper). */
	static const struct route admin = {"GET", "/metrics", api_metrics_get,
					   ACCESS_STAFF | ACCESS_ROLE(ROLE_ADMIN)};
	struct app *app = http_ctx(r);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!address_allowed(r) && api_before(r, &admin) != 0)
		return 0;
	if ((f = open_memstream(&text, &len)) == NULL)
		return api_internal(r, "open_memstream");
	head(f, "certdesk_build_info", "gauge", "The program's version and the database schema it expects.");
	fprintf(f, "certdesk_build_info{version=\"%s\",backend=\"%s\",schema=\"%d\"} 1\n", api_version(),
		db_backend_name(app->db), store_schema_latest());
	http_stats_write(r, f);
	write_business(f, app);
	fclose(f);
	http_add_header(r, "Cache-Control", "no-store");
	rc = http_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return rc;
}

/* Returns 1 when a connection to the signer's UNIX socket at path is accepted. */
static int signer_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Returns 1 when a CA is set up (then certificates, CRLs and OCSP need the signer). */
static int ca_configured(struct db *db)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = 0;
	int rc = db_query_int(c, "SELECT COUNT(*) FROM cas", DB_NOARGS, &n);

	db_release(c);
	return rc == DB_OK && n > 0;
}

/* Replies 503 {"error":{"code","message"}, "reason"} for /readyz. */
static int not_ready(struct http_req *r, const char *code, const char *message, const char *reason)
{
	json_t *body = json_pack("{s:{s:s, s:s}, s:s, s:s}", "error", "code", code, "message", message,
				 "status", "not_ready", "reason", reason);

	return http_reply_json(r, 503, body);
}

int api_readyz_get(struct http_req *r)
{
	const struct app *app = http_ctx(r);
	int have, want = store_schema_latest();
	char reason[160];

	if (store_ping(app->db) != 0)
		return not_ready(r, "database_unavailable", "数据库不可用", "the database does not answer");
	if ((have = store_schema_version(app->db)) != want) {
		snprintf(reason, sizeof(reason),
			 "schema version %d, this program needs %d: run certdesk migrate", have, want);
		return not_ready(r, "schema_not_current", "数据库结构版本不一致", reason);
	}
	if (ca_configured(app->db) && !signer_answers(app->cfg->signer_socket)) {
		snprintf(reason, sizeof(reason), "certdesk-signer does not answer on %.100s",
			 app->cfg->signer_socket);
		return not_ready(r, "signer_unavailable", "签名服务不可用", reason);
	}
	return http_reply_json(r, 200,
			       json_pack("{s:s, s:s, s:s, s:i}", "status", "ready", "database", "ok",
					 "backend", db_backend_name(app->db), "schema", have));
}
