/* The scans of an order against what the issue found (11, "data silently lost or wrong"): file
 * names that cannot be shown, a reviewer's long reasons, an upload racing the submission, files left
 * on disk without their row, and no pooled database connection held while an upload is decoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"
#include "util/strutil.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org;

#define FULL_FORM                                                                                            \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":"      \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                     \
	"\"11010519491231002X\",\"handler_email\":\"zhang@example.com\",\"invoice_email\":"                  \
	"\"fp@example.com\",\"recipient_name\":\"王五\",\"recipient_mobile\":\"13700137000\","                \
	"\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

static const char *const secondary_kinds[] = {"application_form", "business_licence", "handler_id_front",
					      "handler_id_back", "authorisation_letter"};

/* Creates a secondary-key order with the full form; writes its number into no. */
static void create(char no[32])
{
	json_t *j = NULL;

	assert_int_equal(client_do(&org, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}",
				   &j),
			 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
}

/* Uploads data named filename as kind of order no; returns the status, the reply in *j (may be NULL). */
static long upload_as(struct client *c, const char *no, const char *kind, const char *filename,
		      const unsigned char *data, size_t len, json_t **j)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/%s", no, kind);
	return client_upload(c, "PUT", path, NULL, filename, data, len, j);
}

/* Records a passed face verification of the order's legal person, as FaceID would (test_submit
 * covers the real flow). */
static void verified(const char *no)
{
	struct db_conn *c = db_acquire(db);

	assert_int_equal(db_exec(c,
				 "INSERT INTO verifications (order_id, verify_token, provider, biz_token, legal_name,"
				 " legal_id_number, state, created_at, finished_at) SELECT id, verify_token, 'test',"
				 " 'biz-' || order_no, '李四', '360426199101010071', 'passed', '2026-01-01T00:00:00Z',"
				 " '2026-01-01T00:00:00Z' FROM orders WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(no)), NULL),
			 DB_OK);
	db_release(c);
}

/* Creates an order with every document and the verification: ready to submit. */
static void ready(char no[32])
{
	size_t len;
	unsigned char *page = harness_png(900, 700, &len);

	create(no);
	for (size_t i = 0; i < sizeof(secondary_kinds) / sizeof(secondary_kinds[0]); i++)
		assert_int_equal(upload_as(&org, no, secondary_kinds[i], "scan.png", page, len, NULL), 201);
	free(page);
	verified(no);
}

/* Returns the slots of order no as the organisation's page shows them (caller decrefs the order). */
static json_t *order_of(const char *no)
{
	char path[96];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	return j;
}

/* Returns the document shown in the slot kind of the order JSON j, or NULL when it shows empty. */
static json_t *slot_doc(json_t *j, const char *kind)
{
	json_t *slot;
	size_t i;

	json_array_foreach (json_object_get(json_object_get(j, "documents"), "slots"), i, slot) {
		if (strcmp(json_string_value(json_object_get(slot, "kind")), kind) == 0)
			return json_object_get(slot, "document");
	}
	return NULL;
}

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	if (harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org, &S, "org");
	return client_register_login(&org, "鹰潭资料测试有限公司", "91310115MA1K3BTP2B", "13800138021");
}

static int teardown(void **state)
{
	int status;
	(void)state;
	db_close(db);
	config_free(&cfg);
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

/* A 76-character Chinese name, one longer than a display name may be, and one that is not UTF-8:
 * each is stored as a valid name, the reply carries the document, the slot shows it. */
static void test_file_names(void **state)
{
	char no[32], name76[400] = "", name120[600] = "a";
	size_t len;
	unsigned char *page = harness_png(800, 600, &len);
	json_t *j = NULL, *o;
	(void)state;

	create(no);
	for (int i = 0; i < 76; i++)
		strcat(name76, i % 2 ? "营" : "业");
	strcat(name76, ".png");
	for (int i = 0; i < 120; i++)
		strcat(name120, "执");
	strcat(name120, ".png");

	assert_int_equal(upload_as(&org, no, "business_licence", name76, page, len, &j), 201);
	assert_non_null(json_object_get(j, "kind")); /* not {} */
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "business_licence");
	assert_string_equal(json_string_value(json_object_get(j, "original_name")), name76);
	json_decref(j);

	/* cut mid-character by the upload's 255-byte buffer: shortened at a character boundary, the
	 * type's extension put back */
	assert_int_equal(upload_as(&org, no, "handler_id_front", name120, page, len, &j), 201);
	const char *shown = json_string_value(json_object_get(j, "original_name"));
	assert_non_null(shown);
	assert_true(utf8_chars(shown) > 50 && utf8_chars(shown) <= 100);
	assert_true(strlen(shown) < 256);
	assert_string_equal(shown + strlen(shown) - 4, ".png");
	assert_int_equal(strncmp(shown, "a执执", 7), 0);
	assert_non_null(strstr(shown, "….png"));
	json_decref(j);

	/* not UTF-8, with a control character and a direction override: replaced, removed */
	assert_int_equal(upload_as(&org, no, "handler_id_back", "\xff\xfe\xe6\x89\xab\x01\xe2\x80\xae描.png", page,
				   len, &j),
			 201);
	assert_string_equal(json_string_value(json_object_get(j, "original_name")),
			    "\xef\xbf\xbd\xef\xbf\xbd扫描.png");
	json_decref(j);

	/* the slots show the three documents, to the organisation and in the same list as submission */
	o = order_of(no);
	assert_non_null(slot_doc(o, "business_licence"));
	assert_string_equal(json_string_value(json_object_get(slot_doc(o, "business_licence"), "original_name")),
			    name76);
	assert_non_null(slot_doc(o, "handler_id_front"));
	assert_non_null(slot_doc(o, "handler_id_back"));
	json_decref(o);

	/* a row written before the fix (a name cut mid-character) is shown, cleaned: what the page
	 * shows and what submission counts are the same list (SQLite only: PostgreSQL never stored it) */
	if (strcmp(harness_backend(), "sqlite") == 0) {
		struct db_conn *c = db_acquire(db);
		assert_int_equal(db_exec(c,
					 "UPDATE documents SET original_name = CAST(X'E890A5E4B89AE6' AS TEXT)"
					 " WHERE is_current = 1 AND kind = 'business_licence' AND order_id ="
					 " (SELECT id FROM orders WHERE order_no = ?)",
					 DB_ARGS(DB_TEXT(no)), NULL),
				 DB_OK);
		db_release(c);
		o = order_of(no);
		assert_string_equal(
			json_string_value(json_object_get(slot_doc(o, "business_licence"), "original_name")),
			"营业.png");
		json_decref(o);
	}
	free(page);
}

/* The order page and submission agree: an order whose slots all show a document may be submitted,
 * one that shows an empty slot may not (the last document has a long Chinese name, which once
 * showed an empty slot that submission counted as filled). */
static void test_submit_counts_what_the_page_shows(void **state)
{
	char no[32], path[96], name[400] = "";
	size_t len;
	unsigned char *page = harness_png(800, 600, &len);
	json_t *o, *j = NULL;
	(void)state;

	create(no);
	verified(no);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(upload_as(&org, no, secondary_kinds[i], "扫描件.png", page, len, NULL), 201);
	o = order_of(no);
	assert_null(slot_doc(o, "authorisation_letter"));
	assert_false(json_is_true(json_object_get(o, "can_submit")));
	json_decref(o);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/submit", no);
	assert_int_equal(client_do(&org, "POST", path, NULL, &j), 422);
	json_decref(j);
	for (int i = 0; i < 78; i++)
		strcat(name, "托");
	strcat(name, ".png");
	assert_int_equal(upload_as(&org, no, "authorisation_letter", name, page, len, NULL), 201);
	o = order_of(no);
	assert_int_equal(slot_doc(o, "authorisation_letter") != NULL, json_is_true(json_object_get(o, "can_submit")));
	assert_non_null(slot_doc(o, "authorisation_letter"));
	json_decref(o);
	assert_int_equal(client_do(&org, "POST", path, NULL, &j), 200);
	json_decref(j);
	free(page);
}

/* A rejection with ten reasons of 100 Chinese characters and a note of 300 on one document, and one
 * more document rejected: both stay rejected with every character of their reasons, nothing is
 * marked accepted that the reviewer rejected. */
static void test_long_rejection_reasons(void **state)
{
	char no[32], path[128], reason[400], note[1000] = "", body[16384], expect[8192] = "";
	struct client reviewer;
	json_t *j = NULL, *o;
	(void)state;

	ready(no);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/submit", no);
	assert_int_equal(client_do(&org, "POST", path, NULL, NULL), 200);
	client_init(&reviewer, &S, "reviewer");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/claim", no);
	assert_int_equal(client_do(&reviewer, "POST", path, NULL, NULL), 200);

	strcpy(body, "{\"decision\":\"reject\",\"documents\":[{\"kind\":\"business_licence\",\"reasons\":[");
	for (int r = 0; r < 10; r++) {
		snprintf(reason, sizeof(reason), "第%d条", r);
		while (utf8_chars(reason) < 100)
			strcat(reason, "营业执照复印件不清晰");
		reason[strlen(reason) - (size_t)(utf8_chars(reason) - 100) * 3] = '\0';
		assert_int_equal(utf8_chars(reason), 100);
		strcat(body, r ? ",\"" : "\"");
		strcat(body, reason);
		strcat(body, "\"");
		strcat(expect, r ? "；" : "");
		strcat(expect, reason);
	}
	for (int i = 0; i < 300; i++)
		strcat(note, "补");
	strcat(expect, "；");
	strcat(expect, note);
	strcat(body, "],\"note\":\"");
	strcat(body, note);
	strcat(body, "\"},{\"kind\":\"handler_id_front\",\"reasons\":[\"身份证复印件缺少公章\"]}]}");

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/review", no);
	assert_int_equal(client_do(&reviewer, "POST", path, body, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "rejected");
	json_decref(j);

	o = order_of(no);
	json_t *bl = slot_doc(o, "business_licence"), *front = slot_doc(o, "handler_id_front");
	assert_non_null(bl);
	assert_string_equal(json_string_value(json_object_get(bl, "review")), "rejected");
	assert_string_equal(json_string_value(json_object_get(bl, "review_reason")), expect);
	assert_non_null(front);
	assert_string_equal(json_string_value(json_object_get(front, "review")), "rejected");
	assert_string_equal(json_string_value(json_object_get(front, "review_reason")), "身份证复印件缺少公章");
	assert_string_equal(json_string_value(json_object_get(slot_doc(o, "handler_id_back"), "review")),
			    "accepted");
	assert_false(json_is_true(json_object_get(o, "can_submit")));
	json_decref(o);
}

struct racer {
	struct client c;
	const char *no;
	const unsigned char *data;
	size_t len;
	int created, refused, other;
};

/* Uploads again and again until the order refuses (409) or 40 tries. */
static void *race_uploads(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 40 && r->refused == 0; i++) {
		long st = upload_as(&r->c, r->no, i % 2 ? "application_form" : "handler_id_back", "race.png",
				    r->data, r->len, NULL);
		if (st == 201)
			r->created++;
		else if (st == 409)
			r->refused++;
		else
			r->other++;
	}
	return NULL;
}

/* Returns the audit sequence number of the order's latest entry with action (0 when none). */
static int64_t audit_seq(const char *no, const char *action)
{
	struct db_conn *c = db_acquire(db);
	int64_t seq = -1;

	assert_int_equal(db_query_int(c,
				      "SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE object_kind = 'order'"
				      " AND object_id = ? AND action = ?",
				      DB_ARGS(DB_TEXT(no), DB_TEXT(action)), &seq),
			 DB_OK);
	db_release(c);
	return seq;
}

/* Four clients upload without pause while the order is submitted: no upload is written after the
 * submission (the audit log's order is the commit order), every late one is refused with 409. */
static void test_upload_racing_submission(void **state)
{
	enum { N = 4 };
	struct racer r[N];
	pthread_t t[N];
	char no[32], path[96], jar[400];
	size_t len;
	unsigned char *page = harness_png(2400, 1800, &len);
	int created = 0, other = 0;
	json_t *j = NULL;
	(void)state;

	ready(no);
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){org, no, page, len, 0, 0, 0};
		snprintf(r[i].c.jar, sizeof(r[i].c.jar), "%s/jar-racer%d", S.dir, i);
		snprintf(jar, sizeof(jar), "cp %s %s", org.jar, r[i].c.jar);
		assert_int_equal(system(jar), 0);
		assert_int_equal(pthread_create(&t[i], NULL, race_uploads, &r[i]), 0);
	}
	usleep(400 * 1000); /* the uploads are under way */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/submit", no);
	assert_int_equal(client_do(&org, "POST", path, NULL, &j), 200);
	json_decref(j);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		created += r[i].created;
		other += r[i].other;
		assert_int_equal(r[i].refused, 1);
	}
	assert_int_equal(other, 0);
	assert_true(created > 0);
	int64_t submitted = audit_seq(no, "order.submit"), last_upload = audit_seq(no, "document.upload");
	assert_true(submitted > 0);
	assert_true(last_upload < submitted);
	free(page);
}

/* Writes a file of the store named by sha with the given age in seconds (0: now). */
static void plant(const char *sha, const char *name, long age)
{
	char dir[600], path[800];
	struct timeval tv[2];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/files/%.2s", S.dir, sha);
	mkdir(dir, 0750);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("left behind", f);
	fclose(f);
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

/* Returns 1 when the store holds name in sha's directory. */
static int stored(const char *sha, const char *name)
{
	char path[800];

	snprintf(path, sizeof(path), "%s/files/%.2s/%s", S.dir, sha, name);
	return access(path, F_OK) == 0;
}

/* Files without a row older than an hour go (by the CLI, and by certdeskd's job at start), files a
 * row names stay whatever their age, young ones stay (their row may be on its way). */
static void test_orphan_sweep(void **state)
{
	const char *orphan = "ab00000000000000000000000000000000000000000000000000000000000001";
	const char *young = "ab00000000000000000000000000000000000000000000000000000000000002";
	const char *later = "ac00000000000000000000000000000000000000000000000000000000000003";
	char *used = NULL, *out = NULL, tmp[100], old_named[80];
	char *argv[] = {(char *)harness_bin("certdesk"), "files", "sweep", NULL};
	struct db_conn *c = db_acquire(db);
	(void)state;

	assert_int_equal(db_query_text(c, "SELECT sha256 FROM documents ORDER BY id LIMIT 1", DB_NOARGS, &used),
			 DB_OK);
	db_release(c);
	snprintf(tmp, sizeof(tmp), ".tmp-%s-0000beef", orphan);
	plant(orphan, orphan, 7200);
	plant(young, young, 0);
	plant(orphan, tmp, 7200);
	snprintf(old_named, sizeof(old_named), "%s", used);
	/* the referenced file made old: its row keeps it */
	char path[800];
	struct timeval tv[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
	snprintf(path, sizeof(path), "%s/files/%.2s/%s", S.dir, used, used);
	assert_int_equal(utimes(path, tv), 0);

	harness_env(&S);
	assert_int_equal(harness_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "2 orphan file(s) removed"));
	free(out);
	assert_false(stored(orphan, orphan));
	assert_false(stored(orphan, tmp));
	assert_true(stored(young, young));
	assert_true(stored(old_named, old_named));

	/* certdeskd sweeps by itself: its job runs at start, then hourly */
	plant(later, later, 7200);
	assert_int_equal(harness_kill(&S), 0);
	assert_int_equal(harness_restart(&S), 0);
	for (int i = 0; i < 50 && stored(later, later); i++)
		usleep(100 * 1000);
	assert_false(stored(later, later));
	assert_true(stored(old_named, old_named));
	assert_true(stored(young, young));
	free(used);
}

struct slow_upload {
	struct client *c;
	const char *no;
	const unsigned char *data;
	size_t len;
	long status;
	struct timespec done;
};

static void *slow_upload(void *arg)
{
	struct slow_upload *u = arg;

	u->status = upload_as(u->c, u->no, "application_form", "big.png", u->data, u->len, NULL);
	clock_gettime(CLOCK_MONOTONIC, &u->done);
	return NULL;
}

/* Returns 1 when a is before b. */
static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* With a pool of one database connection, the order page is served while a large upload is being
 * decoded and its QR code looked for: the upload holds no connection during that work. */
static void test_no_connection_held_while_decoding(void **state)
{
	struct srv s2;
	struct client c2;
	struct slow_upload u = {0};
	struct timespec got;
	pthread_t t;
	char no[32], path[96];
	size_t len;
	unsigned char *big = harness_png(6000, 6000, &len);
	json_t *j = NULL;
	(void)state;

	memset(&s2, 0, sizeof(s2));
	setenv("CERTDESK_DATABASE_POOL_SIZE", "1", 1);
	assert_int_equal(harness_start(&s2), 0);
	unsetenv("CERTDESK_DATABASE_POOL_SIZE");
	char *init[] = {(char *)harness_bin("certdesk"), "init", NULL};
	assert_int_equal(harness_run(init, NULL, NULL), 0);
	client_init(&c2, &s2, "pool1");
	assert_int_equal(client_register_login(&c2, "鹰潭单连接测试有限公司", "91110000600037341L", "13800138022"), 0);
	assert_int_equal(client_do(&c2, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}",
				   &j),
			 201);
	snprintf(no, sizeof(no), "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);

	u = (struct slow_upload){&c2, no, big, len, 0, {0, 0}};
	assert_int_equal(pthread_create(&t, NULL, slow_upload, &u), 0);
	usleep(300 * 1000); /* the upload is being decoded */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	assert_int_equal(client_do(&c2, "GET", path, NULL, NULL), 200);
	clock_gettime(CLOCK_MONOTONIC, &got);
	pthread_join(t, NULL);
	assert_int_equal(u.status, 201);
	assert_true(before(&got, &u.done));

	assert_int_equal(harness_stop(&s2), 0);
	harness_cleanup(&s2);
	harness_env(&S);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_submit_counts_what_the_page_shows),
		cmocka_unit_test(test_long_rejection_reasons),
		cmocka_unit_test(test_upload_racing_submission),
		cmocka_unit_test(test_orphan_sweep),
		cmocka_unit_test(test_no_connection_held_while_decoding),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
