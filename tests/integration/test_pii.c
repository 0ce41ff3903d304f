/* Personal data at rest (issue 16), on both backends: a copy of the database (the SQLite file, a
 * pg_dump) holds no ID number or mobile in the clear, lookups by mobile still work, lists and the
 * audit log show masks, a database holding clear values (as made before sealing) is sealed by
 * certdesk keys migrate and by certdeskd's start, certdesk keys rotate re-seals under a new key, and
 * a wrong or missing key file is refused with a clear message. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "store/pii.h"
#include "store/store.h"

#define USCC "91310115MA1K3BTP2B"
#define MOBILE "13912345678"
#define LEGAL_ID "360426199101010071"
#define LEGAL_MOBILE "13900139000"
#define HANDLER_ID "11010519491231002X"
#define RECIPIENT_MOBILE "13700137000"
#define FORM                                                                                                            \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"" LEGAL_ID "\",\"legal_mobile\":\"" LEGAL_MOBILE "\",\"handler_id_number\":\"" HANDLER_ID "\","              \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\",\"recipient_mobile\":\"" RECIPIENT_MOBILE                                                             \
	"\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org;
static char order_no[32];

static const char *const secrets[] = {MOBILE, LEGAL_ID, LEGAL_MOBILE, HANDLER_ID, RECIPIENT_MOBILE, NULL};

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
	return client_register_login(&org, "鹰潭甲公司", USCC, MOBILE) == 0 ? 0 : -1;
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

/* Reads a whole file into a malloc'd buffer (NULL when there is none). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		*len = fread(buf, 1, (size_t)n, f);
	}
	fclose(f);
	return buf;
}

/* Returns a copy of the whole database: the SQLite file and its WAL, or a pg_dump (caller frees). */
static char *db_copy(size_t *len)
{
	char path[400], *a, *b, *out = NULL;
	size_t la = 0, lb = 0;

	if (strcmp(harness_backend(), "postgres") == 0) {
		/* the newest server's pg_dump, as scripts/pg-test-server.sh starts the newest server */
		char *argv[] = {"/bin/sh", "-c",
				"exec \"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_dump\" "
				"--data-only -d \"$0\"",
				S.pg_conninfo, NULL};
		assert_int_equal(harness_run(argv, NULL, &out), 0);
		*len = strlen(out);
		return out;
	}
	a = slurp(cfg.sqlite_path, &la);
	snprintf(path, sizeof(path), "%s-wal", cfg.sqlite_path);
	b = slurp(path, &lb);
	assert_non_null(a);
	out = malloc(la + lb + 1);
	memcpy(out, a, la);
	if (b != NULL)
		memcpy(out + la, b, lb);
	*len = la + lb;
	free(a);
	free(b);
	return out;
}

/* Asserts that no test value is in the database's copy in the clear, and that the masks are. */
static void assert_sealed_copy(void)
{
	size_t len = 0;
	char *copy = db_copy(&len);

	for (int i = 0; secrets[i] != NULL; i++)
		if (memmem(copy, len, secrets[i], strlen(secrets[i])) != NULL)
			fail_msg("%s is in the database's copy in the clear", secrets[i]);
	/* the audit log holds the mask (organisation.register) */
	assert_non_null(memmem(copy, len, "139****5678", 11));
	free(copy);
}

/* Runs one SQL statement with one text argument on the test database. */
static void sql(const char *text, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	assert_int_equal(db_exec(c, text, DB_ARGS(DB_TEXT(arg)), NULL), DB_OK);
	db_release(c);
}

/* Returns the key id of the organisation's sealed mobile (static buffer; "" when clear). */
static const char *mobile_kid(void)
{
	static char kid[PII_KID_LEN + 1];
	struct db_conn *c = db_acquire(db);
	char *v = NULL;

	assert_int_equal(db_query_text(c, "SELECT handler_mobile FROM organisations WHERE uscc = ?",
				       DB_ARGS(DB_TEXT(USCC)), &v),
			 DB_OK);
	db_release(c);
	kid[0] = '\0';
	if (pii_is_sealed(v))
		snprintf(kid, sizeof(kid), "%.*s", PII_KID_LEN, v + 3);
	free(v);
	return kid;
}

/* Asserts what the organisation and staff see: whole on its own order, masked in the admin list,
 * found by mobile. */
static void assert_views(void)
{
	struct client admin;
	char path[128];
	json_t *j = NULL, *form;

	snprintf(path, sizeof(path), "/api/v1/orders/%s", order_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	form = json_object_get(j, "form");
	assert_string_equal(json_string_value(json_object_get(form, "legal_id_number")), LEGAL_ID);
	assert_string_equal(json_string_value(json_object_get(form, "handler_id_number")), HANDLER_ID);
	assert_string_equal(json_string_value(json_object_get(form, "handler_mobile")), MOBILE);
	json_decref(j);
	assert_int_equal(client_do(&org, "GET", "/api/v1/account", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "handler_mobile")), MOBILE);
	json_decref(j);

	client_init(&admin, &S, "admin");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	/* a list shows the mask; the whole number finds the organisation and its order */
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/organisations?q=" MOBILE, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0),
							      "handler_mobile")),
			    "139****5678");
	json_decref(j);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/orders?q=" MOBILE, NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0),
							      "order_no")),
			    order_no);
	json_decref(j);
}

static void test_sealed_at_rest(void **state)
{
	char body[2048], why[256];
	struct order_rec o = {0};
	struct verif_rec v = {0};
	struct db_conn *c;
	json_t *j = NULL;
	(void)state;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"main\",\"form\":%s}",
		 FORM);
	assert_int_equal(client_do(&org, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(order_no, sizeof(order_no), "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	/* a legal-person verification as certdeskd records it (the store seals the ID number) */
	assert_int_equal(pii_init(cfg.pii_key_file, why, sizeof(why)), PII_OK);
	c = db_acquire(db);
	assert_int_equal(store_order_get(c, order_no, &o), DB_OK);
	v.order_id = o.id;
	snprintf(v.verify_token, sizeof(v.verify_token), "%s", o.verify_token);
	snprintf(v.biz_token, sizeof(v.biz_token), "biz-pii-test");
	snprintf(v.legal_name, sizeof(v.legal_name), "李四");
	snprintf(v.legal_id_number, sizeof(v.legal_id_number), "%s", LEGAL_ID);
	assert_int_equal(
		store_verification_start(c, &v, order_no, "test", &(struct actor){"system", "test", ""}),
		DB_OK);
	memset(&v, 0, sizeof(v));
	assert_int_equal(store_verification_latest(c, o.id, o.verify_token, &v), DB_OK);
	assert_string_equal(v.legal_id_number, LEGAL_ID);
	store_order_free(&o);
	db_release(c);
	pii_reset();

	assert_views();
	assert_int_equal(harness_stop(&S), 0);
	assert_sealed_copy();
	assert_int_equal(harness_restart(&S), 0);
}

/* Writes the values back in the clear, as a database from before sealing holds them. */
static void make_clear(void)
{
	char err[256];

	db_close(db); /* a fresh connection: the database file was rewritten (VACUUM) meanwhile */
	assert_int_equal(db_open(&db, &cfg, err, sizeof(err)), 0);
	sql("UPDATE organisations SET handler_mobile = ?, handler_mobile_hash = NULL", MOBILE);
	sql("UPDATE verifications SET legal_id_number = ?", LEGAL_ID);
	sql("UPDATE orders SET form = ?, handler_mobile_hash = NULL WHERE kind = 'new'",
	    "{\"handler_mobile\":\"" MOBILE "\",\"handler_id_number\":\"" HANDLER_ID
	    "\",\"legal_id_number\":\"" LEGAL_ID "\",\"legal_mobile\":\"" LEGAL_MOBILE
	    "\",\"recipient_mobile\":\"" RECIPIENT_MOBILE "\",\"legal_name\":\"李四\"}");
}

static void test_clear_database_migrated(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "keys", "migrate", NULL}, *out = NULL;
	size_t len = 0;
	char *copy;
	(void)state;

	assert_int_equal(harness_stop(&S), 0);
	make_clear();
	copy = db_copy(&len);
	assert_non_null(memmem(copy, len, LEGAL_ID, strlen(LEGAL_ID))); /* the test's premise */
	free(copy);
	/* by the command */
	assert_int_equal(harness_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "value(s) sealed"));
	free(out);
	assert_sealed_copy();
	/* by certdeskd's first start */
	make_clear();
	assert_int_equal(harness_restart(&S), 0);
	assert_views();
	assert_int_equal(harness_stop(&S), 0);
	assert_sealed_copy();
	assert_int_equal(harness_restart(&S), 0);
}

static void test_rotate(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "keys", "rotate", NULL}, *out = NULL, old[16],
	     path[600];
	(void)state;

	snprintf(old, sizeof(old), "%s", mobile_kid());
	assert_true(old[0] != '\0');
	assert_int_equal(harness_stop(&S), 0);
	assert_int_equal(harness_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "re-sealed"));
	free(out);
	assert_true(strcmp(mobile_kid(), old) != 0);
	snprintf(path, sizeof(path), "%s.old-%s", cfg.pii_key_file, old); /* kept until removed */
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(unlink(path), 0); /* the new key alone opens everything */
	assert_int_equal(harness_restart(&S), 0);
	assert_views();
	assert_int_equal(harness_stop(&S), 0);
	assert_sealed_copy();
	assert_int_equal(harness_restart(&S), 0);
}

/* Writes 32 bytes of key (mode 0600) to path. */
static void write_key(const char *path, const unsigned char *key)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, key, 32), 32);
	close(fd);
}

static void test_wrong_or_missing_key_refused(void **state)
{
	char *argv[] = {(char *)harness_bin("certdeskd"), NULL}, *out = NULL, saved[600];
	unsigned char other[32];
	(void)state;

	assert_int_equal(harness_stop(&S), 0);
	snprintf(saved, sizeof(saved), "%s.saved", cfg.pii_key_file);
	assert_int_equal(rename(cfg.pii_key_file, saved), 0);
	/* missing: never a new key over sealed data */
	assert_int_not_equal(harness_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "个人信息密钥文件缺失"));
	free(out);
	assert_int_not_equal(access(cfg.pii_key_file, F_OK), 0);
	/* another key: named, refused */
	memset(other, 7, sizeof(other));
	write_key(cfg.pii_key_file, other);
	assert_int_not_equal(harness_run(argv, NULL, &out), 0);
	assert_non_null(strstr(out, "个人信息密钥文件与数据库不符"));
	assert_non_null(strstr(out, mobile_kid()));
	free(out);
	/* the right one again */
	assert_int_equal(rename(saved, cfg.pii_key_file), 0);
	assert_int_equal(harness_restart(&S), 0);
	assert_views();
}

/* Returns the order's form field as staff username sees it on the order detail (static buffer). */
static const char *staff_sees(const char *username, const char *field)
{
	static char out[128];
	struct client s;
	char path[128];
	json_t *j = NULL;

	client_init(&s, &S, username);
	assert_int_equal(client_staff_login(&s, username), 0);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", order_no);
	assert_int_equal(client_do(&s, "GET", path, NULL, &j), 200);
	snprintf(out, sizeof(out), "%s",
		 json_string_value(json_object_get(json_object_get(j, "form"), field)));
	json_decref(j);
	return out;
}

static void test_staff_roles(void **state)
{
	(void)state;
	/* those who check identities see them whole */
	assert_string_equal(staff_sees("reviewer", "legal_id_number"), LEGAL_ID);
	assert_string_equal(staff_sees("paper", "handler_mobile"), MOBILE);
	assert_string_equal(staff_sees("admin", "handler_id_number"), HANDLER_ID);
	/* the others masks; the shipper the recipient's mobile for the waybill */
	assert_string_equal(staff_sees("finance", "legal_id_number"), "3604**********0071");
	assert_string_equal(staff_sees("producer", "handler_mobile"), "139****5678");
	assert_string_equal(staff_sees("shipper", "legal_mobile"), "139****9000");
	assert_string_equal(staff_sees("shipper", "recipient_mobile"), RECIPIENT_MOBILE);
}

/* The SMS codes' table holds a keyed hash of each code: not the unkeyed SHA-256 of
 * "mobile:purpose:code", which a copy of the table would undo by trying the million codes. */
static void test_sms_code_hash_keyed(void **state)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char text[128], plain[2 * crypto_hash_sha256_BYTES + 1], *purpose = NULL, *hash = NULL;
	struct client c;
	const char *code;
	struct db_conn *conn;
	(void)state;

	client_init(&c, &S, "smscode");
	client_captcha(&c);
	assert_int_equal(client_do(&c, "POST", "/api/v1/sms-codes",
				   "{\"mobile\":\"13600136099\",\"purpose\":\"register\",\"captcha\":\"ABCDE\"}", NULL),
			 200);
	code = client_sms_code(&c, "13600136099");
	assert_int_equal(strlen(code), 6);
	conn = db_acquire(db);
	assert_int_equal(db_query_text(conn, "SELECT purpose FROM sms_codes WHERE mobile = ?",
				       DB_ARGS(DB_TEXT(harness_pii_hash("13600136099"))), &purpose),
			 DB_OK);
	assert_int_equal(db_query_text(conn, "SELECT code_hash FROM sms_codes WHERE mobile = ?",
				       DB_ARGS(DB_TEXT(harness_pii_hash("13600136099"))), &hash),
			 DB_OK);
	db_release(conn);
	snprintf(text, sizeof(text), "13600136099:%s:%s", purpose, code);
	crypto_hash_sha256(md, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(plain, sizeof(plain), md, sizeof(md));
	assert_string_not_equal(hash, plain);
	assert_null(strstr(hash, code));
	free(purpose);
	free(hash);
}

/* The staff list of mobile-change requests shows the mobiles masked. */
static void test_mobile_requests_masked(void **state)
{
	const char *fields[] = {"handler_name", "钱七", "new_mobile", "18800188077", NULL};
	struct client admin;
	size_t len = 0;
	unsigned char *png = harness_png(600, 400, &len);
	json_t *j = NULL, *it;
	char *text;
	(void)state;

	assert_int_equal(client_upload(&org, "POST", "/api/v1/account/mobile-requests", fields, "letter.png", png,
				       len, NULL),
			 201);
	free(png);
	client_init(&admin, &S, "admin");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	assert_int_equal(client_do(&admin, "GET", "/api/v1/admin/mobile-requests", NULL, &j), 200);
	it = json_array_get(json_object_get(j, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "new_mobile")), "188****8077");
	assert_string_equal(json_string_value(json_object_get(it, "old_mobile")), "139****5678");
	text = json_dumps(j, 0);
	for (int i = 0; secrets[i] != NULL; i++)
		assert_null(strstr(text, secrets[i]));
	assert_null(strstr(text, "18800188077"));
	free(text);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_at_rest),
		cmocka_unit_test(test_staff_roles),
		cmocka_unit_test(test_sms_code_hash_keyed),
		cmocka_unit_test(test_mobile_requests_masked),
		cmocka_unit_test(test_clear_database_migrated),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_wrong_or_missing_key_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
