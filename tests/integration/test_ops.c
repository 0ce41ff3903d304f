/* Operations (issue 18): /metrics in Prometheus text format (scraped and parsed here), who may read
 * it, /readyz (database, schema, signer), backups, and the JSON log lines. */
#define _GNU_SOURCE /* asprintf, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "store/db.h"

static struct srv S;

static int setup(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	/* 127.0.0.1 may scrape; the test also connects from 127.0.0.2, which may not */
	setenv("CERTDESK_METRICS_ALLOW", "127.0.0.1", 1);
	return harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0 ? -1 : 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* Checks one sample line of the text format: name{label="value",...} value. Returns 1 when it parses. */
static int sample_ok(const char *line)
{
	const char *p = line;
	char *end;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			if (p[0] != '=' || p[1] != '"')
				return 0;
			for (p += 2; *p != '"'; p++) {
				if (*p == '\0' || *p == '\n')
					return 0;
				if (*p == '\\')
					p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return 0;
		}
		p++;
	}
	if (*p++ != ' ')
		return 0;
	if (strcmp(p, "+Inf") == 0 || strcmp(p, "NaN") == 0)
		return 1;
	strtod(p, &end);
	return end != p && *end == '\0';
}

/* Parses the whole exposition: every line a comment (HELP/TYPE) or a sample, each sample's family
 * announced by a TYPE line first. Returns the number of samples, or fails the test. */
static int parse_exposition(const char *text)
{
	char *copy = strdup(text), *save = NULL, types[16384] = " ";
	int n = 0;

	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128];
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			strncat(types, name, sizeof(types) - strlen(types) - 3);
			strcat(types, " ");
			continue;
		}
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (!sample_ok(line))
			fail_msg("not a sample line: %s", line);
		{
			char fam[160];
			size_t len = strcspn(line, "{ ");
			snprintf(fam, sizeof(fam), " %.*s ", (int)len, line);
			if (strstr(types, fam) == NULL) { /* a histogram's _bucket/_sum/_count */
				char *suffix = strrchr(fam, '_');
				if (suffix != NULL)
					strcpy(suffix, " ");
				if (strstr(types, fam) == NULL)
					fail_msg("sample before its TYPE line: %s", line);
			}
		}
		n++;
	}
	free(copy);
	return n;
}

/* Returns the value of the sample line that starts with prefix, or fails. */
static double sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t len = strlen(prefix);

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p += len;
	}
	fail_msg("no sample %s in:\n%s", prefix, text);
	return 0;
}

static void test_metrics_scraped(void **state)
{
	struct resp r;
	struct client org;
	json_t *j = NULL;
	char path[128];
	unsigned char *page;
	size_t len = 0;
	(void)state;

	/* some traffic: an organisation registers and opens an order, an unknown path */
	client_init(&org, &S, "org");
	assert_int_equal(client_register_login(&org, "鹰潭运维公司", "91310115MA1K3BTP2B", "13800138009"), 0);
	assert_int_equal(client_do(&org, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"main\"}", &j),
			 201);
	/* a stored file, for the backup test */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/business_licence",
		 json_string_value(json_object_get(j, "order_no")));
	page = harness_png(800, 600, &len);
	assert_int_equal(client_upload(&org, "PUT", path, NULL, "licence.png", page, len, NULL), 201);
	free(page);
	json_decref(j);
	assert_int_equal(http_do(&S, "GET", "/api/v1/nowhere", NULL, 0, NULL, &r), 0);
	resp_free(&r);

	assert_int_equal(http_do(&S, "GET", "/metrics", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(resp_header(&r, "Content-Type"), "text/plain; version=0.0.4"));
	assert_true(parse_exposition(r.body) > 20);
	/* requests by route pattern and status, with a latency histogram per route */
	assert_true(sample(r.body, "certdesk_http_requests_total{method=\"POST\",route=\"/api/v1/orders\","
				   "status=\"201\"}") >= 1);
	assert_true(sample(r.body, "certdesk_http_requests_total{method=\"\",route=\"-\",status=\"404\"}") >=
		    1);
	assert_true(sample(r.body, "certdesk_http_request_duration_seconds_bucket{method=\"POST\","
				   "route=\"/api/v1/orders\",le=\"+Inf\"}") >= 1);
	assert_true(sample(r.body, "certdesk_http_request_duration_seconds_count{method=\"POST\","
				   "route=\"/api/v1/orders\"}") >= 1);
	/* the back-office queues, promises, outbox, CA */
	assert_true(sample(r.body, "certdesk_queue_size{queue=\"review\"}") == 0);
	assert_true(sample(r.body, "certdesk_queue_oldest_age_seconds{queue=\"invoice\"}") == 0);
	assert_true(sample(r.body, "certdesk_sla_overdue{promise=\"paper_to_shipment\"}") == 0);
	/* the registration's SMS code went through the outbox ([dev]: state dev) */
	assert_non_null(strstr(r.body, "certdesk_outbox_messages{channel=\"sms\""));
	assert_non_null(strstr(r.body, "# TYPE certdesk_ocsp_responses_due gauge"));
	assert_non_null(strstr(r.body, "certdesk_crl_next_update{ca=\"")); /* the demo CA, no CRL yet */
	assert_non_null(strstr(r.body, "certdesk_build_info{version=\""));
	assert_null(strstr(resp_header(&r, "Set-Cookie") ? resp_header(&r, "Set-Cookie") : "", "certdesk"));
	resp_free(&r);
}

/* Another address needs a staff admin: anonymous 401, an organisation or a reviewer 403. */
static void test_metrics_access(void **state)
{
	struct client anon, org, reviewer, admin;
	(void)state;

	client_init_from(&anon, &S, "anon", "127.0.0.2");
	assert_int_equal(client_do(&anon, "GET", "/metrics", NULL, NULL), 401);
	client_init_from(&org, &S, "org2", "127.0.0.2");
	assert_int_equal(client_register_login(&org, "鹰潭运维乙公司", "91110000600037341L", "13800138010"),
			 0);
	assert_int_equal(client_do(&org, "GET", "/metrics", NULL, NULL), 403);
	client_init_from(&reviewer, &S, "reviewer", "127.0.0.2");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	assert_int_equal(client_do(&reviewer, "GET", "/metrics", NULL, NULL), 403);
	client_init_from(&admin, &S, "admin", "127.0.0.2");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	assert_int_equal(client_do(&admin, "GET", "/metrics", NULL, NULL), 200);
}

/* /readyz: ready; 503 schema_not_current when the database's schema is not this program's; 503
 * signer_unavailable when a CA is set up and certdesk-signer does not answer. */
static void test_readyz(void **state)
{
	struct config cfg;
	struct db *db = NULL;
	struct db_conn *c;
	json_t *j = NULL;
	struct resp r;
	char err[512];
	(void)state;

	/* init --demo set up the demo CA, and no certdesk-signer runs yet */
	assert_int_equal(http_do(&S, "GET", "/readyz", NULL, 0, NULL, &r), 0);
	j = json_loads(r.body, 0, NULL);
	assert_int_equal(r.status, 503);
	assert_string_equal(error_code(j), "signer_unavailable");
	json_decref(j);
	resp_free(&r);
	/* with the signer: ready */
	assert_int_equal(harness_start_ca(&S), 0);
	assert_int_equal(http_do(&S, "GET", "/readyz", NULL, 0, NULL, &r), 0);
	j = json_loads(r.body, 0, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
	json_decref(j);
	resp_free(&r);

	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(db_open(&db, &cfg, err, sizeof(err)), 0);
	c = db_acquire(db);
	/* a newer release migrated the database (rolling upgrade): this node is not ready */
	assert_int_equal(db_exec(c,
				 "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999,"
				 " 'future', '2030-01-01T00:00:00Z')",
				 DB_NOARGS, NULL),
			 DB_OK);
	assert_int_equal(http_do(&S, "GET", "/readyz", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 503);
	j = json_loads(r.body, 0, NULL);
	assert_string_equal(error_code(j), "schema_not_current");
	assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), "9999"));
	json_decref(j);
	resp_free(&r);
	assert_int_equal(db_exec(c, "DELETE FROM schema_migrations WHERE version = 9999", DB_NOARGS, NULL),
			 DB_OK);
	assert_int_equal(http_do(&S, "GET", "/readyz", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* /healthz stays the liveness probe */
	assert_int_equal(http_do(&S, "GET", "/healthz", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	db_release(c);
	db_close(db);
	config_free(&cfg);
}

/* --- backup and restore --- */

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends "table|v1|v2..." for every row of every table of the SQLite database at path to lines. */
static void rows_sqlite(const char *path, json_t *lines)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *tables = NULL, *st = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
				   -1, &tables, NULL),
		SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		char sql[200];
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		json_array_append_new(lines, json_sprintf("%s (table)", name));
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *row = strdup(name);
			for (int i = 0; i < sqlite3_column_count(st); i++) {
				const char *v = (const char *)sqlite3_column_text(st, i);
				char *next = NULL;
				assert_true(asprintf(&next, "%s|%s", row, v ? v : "\\N") > 0);
				free(row);
				row = next;
			}
			json_array_append_new(lines, json_string(row));
			free(row);
		}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
}

/* The same for the PostgreSQL database of conninfo. */
static void rows_pg(const char *conninfo, json_t *lines)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *tables;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	tables = PQexec(c, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
			   " ORDER BY 1");
	assert_int_equal(PQresultStatus(tables), PGRES_TUPLES_OK);
	for (int t = 0; t < PQntuples(tables); t++) {
		char sql[200];
		const char *name = PQgetvalue(tables, t, 0);
		PGresult *res;
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		res = PQexec(c, sql);
		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		json_array_append_new(lines, json_sprintf("%s (table)", name));
		for (int i = 0; i < PQntuples(res); i++) {
			char *row = strdup(name);
			for (int k = 0; k < PQnfields(res); k++) {
				const char *v = PQgetisnull(res, i, k) ? "\\N" : PQgetvalue(res, i, k);
				char *next = NULL;
				assert_true(asprintf(&next, "%s|%s", row, v) > 0);
				free(row);
				row = next;
			}
			json_array_append_new(lines, json_string(row));
			free(row);
		}
		PQclear(res);
	}
	PQclear(tables);
	PQfinish(c);
}

/* Returns every row of every table of s's database as sorted lines, joined (caller frees). */
static char *all_rows(const struct srv *s)
{
	json_t *lines = json_array(), *v;
	const char **sorted;
	char path[300], *out = NULL;
	size_t i, n;

	if (s->pg_conninfo[0] != '\0') {
		rows_pg(s->pg_conninfo, lines);
	} else {
		snprintf(path, sizeof(path), "%s/certdesk.db", s->dir);
		rows_sqlite(path, lines);
	}
	n = json_array_size(lines);
	sorted = calloc(n + 1, sizeof(*sorted));
	json_array_foreach (lines, i, v)
		sorted[i] = json_string_value(v);
	qsort(sorted, n, sizeof(*sorted), line_cmp);
	{
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		for (i = 0; i < n; i++)
			fprintf(f, "%s\n", sorted[i]);
		fclose(f);
	}
	free(sorted);
	json_decref(lines);
	return out;
}

static json_t *tree_list;
static size_t tree_base;

static int tree_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	FILE *f;
	char *data;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	data = calloc(1, (size_t)sb->st_size + 1);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(data, 1, (size_t)sb->st_size, f), (size_t)sb->st_size);
	fclose(f);
	/* a file: its path under the tree and a digest of its bytes */
	{
		unsigned long h = 5381;
		for (off_t i = 0; i < sb->st_size; i++)
			h = h * 33 + (unsigned char)data[i];
		json_array_append_new(
			tree_list, json_sprintf("%s %lld %lx", path + tree_base, (long long)sb->st_size, h));
	}
	free(data);
	return 0;
}

/* Returns "path size digest" of every regular file under dir whose name ends in suffix ("" any),
 * sorted and joined (caller frees). */
static char *tree(const char *dir, const char *suffix)
{
	json_t *v;
	size_t i;
	char *out = NULL, *dump;
	json_t *keep = json_array();

	tree_list = json_array();
	tree_base = strlen(dir);
	nftw(dir, tree_one, 8, FTW_PHYS);
	json_array_foreach (tree_list, i, v) {
		const char *p = json_string_value(v);
		const char *sp = strchr(p, ' ');
		if (strlen(suffix) == 0 || ((size_t)(sp - p) >= strlen(suffix) &&
					    strncmp(sp - strlen(suffix), suffix, strlen(suffix)) == 0))
			json_array_append(keep, v);
	}
	json_decref(tree_list);
	{
		size_t n = json_array_size(keep);
		const char **s = calloc(n + 1, sizeof(*s));
		json_array_foreach (keep, i, v)
			s[i] = json_string_value(v);
		qsort(s, n, sizeof(*s), line_cmp);
		dump = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&dump, &len);
		for (i = 0; i < n; i++)
			fprintf(f, "%s\n", s[i]);
		fclose(f);
		free(s);
	}
	json_decref(keep);
	out = dump;
	return out;
}

/* Fails when a file under dir holds a private key or is a key file. */
static int no_key_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	char buf[65536];
	size_t n;
	FILE *f;
	(void)sb;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	if (strstr(path, ".pem") != NULL || strstr(path, ".kek") != NULL || strstr(path, ".p11") != NULL)
		fail_msg("key file in the backup: %s", path);
	f = fopen(path, "rb");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (memmem(buf, n, "PRIVATE KEY", 11) != NULL)
		fail_msg("private key in the backup: %s", path);
	return 0;
}

/* Runs the certdesk CLI with args (NULL-terminated, after the program); returns its exit status
 * and its output in *out (may be NULL). */
static int cli(char **out, const char *a, const char *b)
{
	char *argv[] = {(char *)harness_bin("certdesk"), (char *)a, (char *)b, NULL};
	return harness_run(argv, NULL, out);
}

/* Backup of the running server S, restored into a new database and files directory: every row of
 * every table, every file and CA certificate the same; no private key in the backup; the restored
 * server starts and its audit chain verifies; a damaged backup and a non-empty target are refused. */
static void test_backup_restore(void **state)
{
	struct srv T = {0};
	char bdir[400], a[600], b[600], *rows_s, *rows_t, *files_s, *files_t, *out = NULL;
	struct resp r;
	(void)state;

	snprintf(bdir, sizeof(bdir), "%s/backup", S.dir);
	harness_env(&S);
	assert_int_equal(cli(&out, "backup", bdir), 0);
	assert_non_null(strstr(out, "backup"));
	free(out);
	nftw(bdir, no_key_one, 8, FTW_PHYS);
	/* a backup never overwrites */
	assert_int_equal(cli(NULL, "backup", bdir), 1);

	assert_int_equal(harness_prepare(&T), 0);
	harness_env(&T);
	assert_int_equal(cli(&out, "restore", bdir), 0);
	free(out);
	rows_s = all_rows(&S);
	rows_t = all_rows(&T);
	assert_true(strlen(rows_s) > 1000);
	assert_non_null(strstr(rows_s, "鹰潭运维公司"));
	assert_string_equal(rows_s, rows_t);
	free(rows_s);
	free(rows_t);
	snprintf(a, sizeof(a), "%s/files", S.dir);
	snprintf(b, sizeof(b), "%s/files", T.dir);
	files_s = tree(a, "");
	files_t = tree(b, "");
	assert_true(strlen(files_s) > 0);
	assert_string_equal(files_s, files_t);
	free(files_s);
	free(files_t);
	snprintf(a, sizeof(a), "%s/ca-keys", S.dir);
	snprintf(b, sizeof(b), "%s/ca-keys", T.dir);
	files_s = tree(a, ".crt");
	files_t = tree(b, "");
	assert_true(strlen(files_s) > 0);
	assert_string_equal(files_s, files_t); /* the certificates only: no key came back */
	free(files_s);
	free(files_t);

	/* the restored installation runs, its audit chain intact */
	assert_int_equal(cli(&out, "audit", "verify"), 0);
	free(out);
	/* the personal-data key is backed up apart, like the KEK: the operator puts it back (without it
	 * certdeskd refuses the restored database's sealed ID numbers and mobiles) */
	snprintf(a, sizeof(a), "cp -p %s/pii.key %s/pii.key", S.dir, T.dir);
	assert_int_equal(system(a), 0);
	assert_int_equal(harness_restart(&T), 0);
	assert_int_equal(http_do(&T, "GET", "/healthz", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(harness_stop(&T), 0);

	/* not into a database in use */
	assert_int_equal(cli(&out, "restore", bdir), 1);
	assert_non_null(strstr(out, "not empty"));
	free(out);
	/* a damaged backup is refused before anything changes */
	snprintf(a, sizeof(a), "%s/MANIFEST.json", bdir);
	{
		json_t *m = json_load_file(a, 0, NULL);
		json_t *f0 = json_array_get(json_object_get(m, "files"), 0);
		char victim[600];
		FILE *f;
		snprintf(victim, sizeof(victim), "%s/files/%s", bdir,
			 json_string_value(json_object_get(f0, "path")));
		f = fopen(victim, "r+b");
		assert_non_null(f);
		fputc('X', f);
		fclose(f);
		json_decref(m);
	}
	assert_int_equal(cli(&out, "restore", bdir), 1);
	assert_non_null(strstr(out, "damaged"));
	free(out);
	harness_cleanup(&T);
	harness_env(&S);
}

/* Reads the whole file at path (caller frees), or fails. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int ch;

	assert_non_null(f);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, out);
	fclose(f);
	fclose(out);
	return buf;
}

/* The audit entries a request makes carry its request id, the one of its X-Request-Id header and of
 * its JSON access-log line; the id is covered by the hash chain (changing it breaks audit verify);
 * entries of the CLI have none. */
static void test_audit_request_id(void **state)
{
	struct config cfg;
	struct db *db = NULL;
	struct db_conn *c;
	struct client org;
	char err[512], *rid = NULL, *log, needle[128], *out = NULL;
	int64_t n = -1;
	(void)state;

	client_init(&org, &S, "org3");
	assert_int_equal(client_register_login(&org, "鹰潭审计公司", "91350100M000100Y43", "13800138011"), 0);
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(db_open(&db, &cfg, err, sizeof(err)), 0);
	c = db_acquire(db);
	/* the registration's entry names the organisation and the request that made it */
	assert_int_equal(
		db_query_text(c,
			      "SELECT request_id FROM audit_log WHERE object_id = ? AND request_id IS NOT"
			      " NULL ORDER BY seq LIMIT 1",
			      DB_ARGS(DB_TEXT("91350100M000100Y43")), &rid),
		DB_OK);
	assert_non_null(rid);
	assert_int_equal(strlen(rid), 16);
	snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", rid);
	snprintf(err, sizeof(err), "%s/access.log", S.dir);
	/* the access log is written by its own thread about once a second: wait for the line */
	log = slurp(err);
	for (int i = 0; i < 100 && (log == NULL || strstr(log, needle) == NULL); i++) {
		free(log);
		usleep(100000);
		log = slurp(err);
	}
	assert_non_null(log);
	{
		/* its access-log line is the registration's POST */
		char *line = strstr(log, needle), *start = line, *end;
		assert_non_null(line);
		while (start > log && start[-1] != '\n')
			start--;
		end = strchr(line, '\n');
		*end = '\0';
		assert_non_null(strstr(start, "\"path\":\"/api/v1/organisations\""));
		assert_non_null(strstr(start, "\"method\":\"POST\""));
	}
	free(log);
	/* the CLI's entries (init --demo) have none */
	assert_int_equal(
		db_query_int(c,
			     "SELECT COUNT(*) FROM audit_log WHERE actor_kind = 'cli' AND request_id IS"
			     " NOT NULL",
			     DB_NOARGS, &n),
		DB_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cli(&out, "audit", "verify"), 0);
	free(out);
	/* the id is part of the chain: another id breaks it, the right one mends it */
	assert_int_equal(db_exec(c,
				 "UPDATE audit_log SET request_id = 'ffffffffffffffff' WHERE request_id = ?",
				 DB_ARGS(DB_TEXT(rid)), NULL),
			 DB_OK);
	assert_int_equal(cli(&out, "audit", "verify"), 1);
	free(out);
	assert_int_equal(db_exec(c,
				 "UPDATE audit_log SET request_id = ? WHERE request_id = 'ffffffffffffffff'",
				 DB_ARGS(DB_TEXT(rid)), NULL),
			 DB_OK);
	assert_int_equal(cli(&out, "audit", "verify"), 0);
	free(out);
	free(rid);
	db_release(c);
	db_close(db);
	config_free(&cfg);
}

/* Returns every line of the file at path that is not JSON with the string fields ts, level and msg
 * (in a malloc'd text, "" when all are), and counts the lines into *n. */
static char *bad_log_lines(const char *path, int *n)
{
	char *text = slurp(path), *bad = calloc(1, 1), *line, *save = NULL;
	size_t blen = 0;

	*n = 0;
	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		(*n)++;
		if (j == NULL || !json_is_string(json_object_get(j, "ts")) ||
		    !json_is_string(json_object_get(j, "level")) || !json_is_string(json_object_get(j, "msg")) ||
		    !json_is_string(json_object_get(j, "component"))) {
			bad = realloc(bad, blen + strlen(line) + 2);
			blen += (size_t)sprintf(bad + blen, "%s\n", line);
		}
		json_decref(j);
	}
	free(text);
	return bad;
}

/* Returns 1 when a JSON line of the file at path has every name=value pair of want (NULL-ended). */
static int has_log_line(const char *path, const char *const *want)
{
	char *text = slurp(path), *line, *save = NULL;
	int found = 0;

	for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		found = j != NULL;
		for (int i = 0; found && want[i] != NULL; i += 2) {
			const char *v = json_string_value(json_object_get(j, want[i]));
			found = v != NULL && strstr(v, want[i + 1]) != NULL;
		}
		json_decref(j);
	}
	free(text);
	return found;
}

/* Waits up to 10 s for a line of path with the pairs of want; returns has_log_line's answer. */
static int wait_log_line(const char *path, const char *const *want)
{
	for (int i = 0; i < 100 && !has_log_line(path, want); i++)
		usleep(100000);
	return has_log_line(path, want);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Every line certdeskd and certdesk-signer write is one JSON object with ts, level, component and msg
 * (issue 18), through start-up, a background job (an SMS the outbox worker delivers), a 4xx that is
 * audited (a failed staff login), a 5xx (a table gone), the access log on standard error as in
 * production ([log] access_log = -) and the stop; the request id of the log lines is the audit
 * record's and the X-Request-Id's. */
static void test_log_lines_json(void **state)
{
	struct srv L;
	struct client c;
	struct resp r;
	struct config cfg;
	struct db *db = NULL;
	struct db_conn *conn;
	char out[400], sout[400], err[512], rid[64], lsan[400], *bad, *audit_rid = NULL;
	int n = 0, status = 0;
	(void)state;

	/* under LeakSanitizer the programs list the suppressions they used at exit, which is not a log line
	 * (a leak itself fails the stop, and its report would fail the check below too) */
	snprintf(lsan, sizeof(lsan), "%s", getenv("LSAN_OPTIONS") != NULL ? getenv("LSAN_OPTIONS") : "");
	snprintf(err, sizeof(err), "%s%sprint_suppressions=0", lsan, lsan[0] != '\0' ? ":" : "");
	setenv("LSAN_OPTIONS", err, 1);
	/* an SMS provider (the simulator), so that the outbox worker runs and logs each message */
	setenv("CERTDESK_SMS_PROVIDER", "tencent", 1);
	setenv("CERTDESK_OUTBOX_POLL_INTERVAL_S", "1", 1);
	assert_int_equal(harness_start_sim(&L), 0);
	snprintf(out, sizeof(out), "%s/sms", L.sim_base);
	setenv("CERTDESK_SMS_ENDPOINT", out, 1);
	assert_int_equal(harness_start_ca(&L), 0);
	/* again, with the access log on standard error and the signer answering */
	assert_int_equal(harness_stop(&L), 0);
	setenv("CERTDESK_LOG_ACCESS_LOG", "-", 1);
	assert_int_equal(harness_restart(&L), 0);
	snprintf(out, sizeof(out), "%s/server.out", L.dir);
	snprintf(sout, sizeof(sout), "%s/signer.out", L.dir);

	/* the job: the registration's SMS, delivered by the outbox worker */
	client_init(&c, &L, "logs");
	assert_int_equal(client_register_login(&c, "鹰潭日志公司", "91350100M000100Y43", "13800138031"), 0);
	assert_true(wait_log_line(out, WANT("component", "outbox", "level", "info", "result", "sent", "channel",
					    "sms")));
	/* a 4xx that is audited: its access-log line carries the audit record's request id */
	client_init(&c, &L, "intruder");
	client_captcha(&c);
	assert_int_equal(client_do(&c, "POST", "/api/v1/admin/auth/login",
				   "{\"username\":\"nobody\",\"password\":\"Wrong-2026x\",\"captcha\":\"ABCDE\"}",
				   NULL),
			 401);
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(db_open(&db, &cfg, err, sizeof(err)), 0);
	conn = db_acquire(db);
	assert_int_equal(db_query_text(conn,
				       "SELECT request_id FROM audit_log WHERE action = 'staff.login_failed' ORDER BY "
				       "seq DESC LIMIT 1",
				       DB_NOARGS, &audit_rid),
			 DB_OK);
	assert_non_null(audit_rid);
	assert_true(wait_log_line(out, WANT("component", "access", "request_id", audit_rid, "path",
					    "/api/v1/admin/auth/login", "level", "info")));
	/* a 5xx: the table it reads is gone; its error line and its access line carry its X-Request-Id */
	assert_int_equal(db_exec(conn, "ALTER TABLE cas RENAME TO cas_gone", DB_NOARGS, NULL), DB_OK);
	assert_int_equal(http_do(&L, "GET", "/api/v1/ca", NULL, 0, NULL, &r), 0);
	assert_int_equal(db_exec(conn, "ALTER TABLE cas_gone RENAME TO cas", DB_NOARGS, NULL), DB_OK);
	assert_int_equal(r.status, 500);
	assert_non_null(resp_header(&r, "X-Request-Id"));
	snprintf(rid, sizeof(rid), "%s", resp_header(&r, "X-Request-Id"));
	resp_free(&r);
	assert_true(wait_log_line(out, WANT("component", "api", "level", "error", "request_id", rid, "msg", "500")));
	assert_true(wait_log_line(out, WANT("component", "access", "level", "error", "request_id", rid)));
	db_release(conn);
	db_close(db);
	config_free(&cfg);
	free(audit_rid);

	/* the stop, then every line of both programs */
	assert_int_equal(harness_stop(&L), 0);
	kill(L.signer_pid, SIGTERM);
	waitpid(L.signer_pid, &status, 0);
	L.signer_pid = 0;
	assert_true(has_log_line(out, WANT("component", "certdeskd", "msg", "listening on")));
	assert_true(has_log_line(out, WANT("component", "certdeskd", "msg", "stopped")));
	assert_true(has_log_line(sout, WANT("component", "signer", "msg", "listening on")));
	assert_true(has_log_line(sout, WANT("component", "signer", "msg", "stopped")));
	bad = bad_log_lines(out, &n);
	if (bad[0] != '\0')
		fprintf(stderr, "certdeskd wrote lines that are not JSON log lines:\n%s", bad);
	assert_string_equal(bad, "");
	free(bad);
	assert_true(n >= 6);
	bad = bad_log_lines(sout, &n);
	if (bad[0] != '\0')
		fprintf(stderr, "certdesk-signer wrote lines that are not JSON log lines:\n%s", bad);
	assert_string_equal(bad, "");
	free(bad);
	assert_true(n >= 3);
	harness_cleanup(&L);
	/* the other tests' server: its own settings again */
	unsetenv("CERTDESK_SMS_PROVIDER");
	unsetenv("CERTDESK_SMS_ENDPOINT");
	unsetenv("CERTDESK_OUTBOX_POLL_INTERVAL_S");
	unsetenv("CERTDESK_MAIL_SMTP_URL");
	setenv("LSAN_OPTIONS", lsan, 1);
	harness_env(&S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_scraped), cmocka_unit_test(test_metrics_access),
		cmocka_unit_test(test_readyz),          cmocka_unit_test(test_audit_request_id),
		cmocka_unit_test(test_backup_restore),  cmocka_unit_test(test_log_lines_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
