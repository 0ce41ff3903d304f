/* Orders over HTTP on both backends: the catalogue, creating, listing, editing and deleting, the
 * one-main-key rule (also under a race and with keys held from before), validation, authorisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org_a, org_b;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002x\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	if (harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org_a, &S, "org-a");
	client_init(&org_b, &S, "org-b");
	if (client_register_login(&org_a, "鹰潭甲公司", "91310115MA1K3BTP2B", "13800138001") != 0 ||
	    client_register_login(&org_b, "鹰潭乙公司", "91110000600037341L", "13800138002") != 0)
		return -1;
	return 0;
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

/* Creates an order; returns the status and, on 201, the order number in no (32 bytes). */
static long create(struct client *c, const char *key_type, const char *form, char *no, json_t **out)
{
	char body[2048];
	json_t *j = NULL;
	long st;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"%s\"%s%s}", key_type,
		 form ? ",\"form\":" : "", form ? form : "");
	st = client_do(c, "POST", "/api/v1/orders", body, &j);
	if (no != NULL)
		snprintf(no, 32, "%s", st == 201 ? json_string_value(json_object_get(j, "order_no")) : "");
	if (out != NULL)
		*out = j;
	else
		json_decref(j);
	return st;
}

static void test_catalogue(void **state)
{
	json_t *j = NULL, *kt;
	(void)state;

	assert_int_equal(client_do(&org_a, "GET", "/api/v1/projects", NULL, &j), 200);
	kt = json_object_get(json_array_get(json_object_get(j, "items"), 0), "key_types");
	assert_string_equal(json_string_value(json_object_get(json_array_get(kt, 0), "key_type")), "main");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(kt, 0), "price_fen")), 22000);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(kt, 1), "price_fen")), 19000);
	assert_int_equal(json_array_size(json_object_get(json_array_get(kt, 0), "documents")), 6);
	assert_int_equal(json_array_size(json_object_get(json_array_get(kt, 1), "documents")), 5);
	json_decref(j);
}

static void test_create_main_and_secondary(void **state)
{
	char main_no[32], sec_no[32], path[96];
	json_t *j = NULL;
	(void)state;

	assert_int_equal(create(&org_a, "main", FULL_FORM, main_no, &j), 201);
	assert_int_equal(json_integer_value(json_object_get(j, "price_fen")), 22000);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "draft");
	assert_int_equal(json_array_size(json_object_get(j, "missing")), 0);
	/* defaults from the account, values normalised */
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "form"), "invoice_tax_number")),
		"91310115MA1K3BTP2B");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "form"), "handler_id_number")),
		"11010519491231002X");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "form"), "seal_name")),
			    "鹰潭甲公司");
	json_decref(j);
	/* order numbers: project prefix, Beijing date, daily sequence */
	assert_int_equal(strlen(main_no), 17);
	assert_memory_equal(main_no, "YT", 2);
	assert_int_equal(main_no[10], '-');

	/* a secondary key never needs the seal; a client-sent price is ignored */
	assert_int_equal(create(&org_a, "secondary", "{\"seal_name\":\"x\",\"price_fen\":1}", sec_no, &j),
			 201);
	assert_int_equal(json_integer_value(json_object_get(j, "price_fen")), 19000);
	assert_null(json_object_get(json_object_get(j, "form"), "seal_name"));
	assert_true(json_array_size(json_object_get(j, "missing")) > 5);
	json_decref(j);

	assert_int_equal(client_do(&org_a, "GET", "/api/v1/orders", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0),
							      "order_no")),
			    sec_no);
	json_decref(j);

	/* another organisation sees neither */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", main_no);
	assert_int_equal(client_do(&org_b, "GET", path, NULL, NULL), 404);
	assert_int_equal(client_do(&org_b, "PUT", path, "{\"form\":{\"legal_name\":\"王八\"}}", NULL), 404);
	assert_int_equal(client_do(&org_b, "DELETE", path, NULL, NULL), 404);
	assert_int_equal(client_do(&org_b, "GET", "/api/v1/orders", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
	json_decref(j);
}

static void test_one_main_key(void **state)
{
	json_t *j = NULL;
	(void)state;

	/* org_a has a live main-key draft from the previous test */
	assert_int_equal(create(&org_a, "main", NULL, NULL, &j), 409);
	assert_string_equal(error_code(j), "main_key_exists");
	json_decref(j);
}

struct race {
	struct client *c;
	long status;
};

static void *race_create(void *arg)
{
	struct race *r = arg;
	r->status = create(r->c, "main", NULL, NULL, NULL);
	return NULL;
}

static void test_one_main_key_race(void **state)
{
	struct client c1, c2;
	struct race r[2];
	pthread_t t[2];
	int64_t n = 0;
	(void)state;

	/* two sessions of one organisation ask for a main key at the same moment */
	client_init(&c1, &S, "race1");
	assert_int_equal(client_register_login(&c1, "并发测试公司", "9144030071526726XG", "13800138003"), 0);
	client_init(&c2, &S, "race2");
	client_captcha(&c2);
	assert_int_equal(client_do(&c2, "POST", "/api/v1/auth/login",
				   "{\"uscc\":\"9144030071526726XG\",\"password\":\"Secret-2026\","
				   "\"captcha\":\"ABCDE\"}",
				   NULL),
			 200);
	for (int round = 0; round < 3; round++) {
		r[0] = (struct race){&c1, 0};
		r[1] = (struct race){&c2, 0};
		pthread_create(&t[0], NULL, race_create, &r[0]);
		pthread_create(&t[1], NULL, race_create, &r[1]);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		assert_true((r[0].status == 201) + (r[1].status == 201) == (round == 0 ? 1 : 0));
		assert_true(r[0].status == 201 || r[0].status == 409);
		assert_true(r[1].status == 201 || r[1].status == 409);
	}
	struct db_conn *c = db_acquire(db);
	assert_int_equal(db_query_int(c,
				      "SELECT COUNT(*) FROM orders o JOIN organisations g ON g.id = o.org_id"
				      " WHERE g.uscc = ? AND o.key_type = 'main'",
				      DB_ARGS(DB_TEXT("9144030071526726XG")), &n),
			 DB_OK);
	db_release(c);
	assert_int_equal(n, 1);
}

static void test_held_main_key(void **state)
{
	struct client admin, reviewer;
	json_t *j = NULL;
	(void)state;

	client_init(&admin, &S, "admin");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	client_init(&reviewer, &S, "reviewer");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	/* only admins record; any staff may look */
	assert_int_equal(
		client_do(&reviewer, "POST", "/api/v1/admin/organisations/91110000600037341L/held-main-keys",
			  "{\"project_code\":\"yingtan\",\"note\":\"2023 年现场办理，证书序列号 1A2B\"}",
			  NULL),
		403);
	assert_int_equal(
		client_do(&admin, "POST", "/api/v1/admin/organisations/91110000600037341L/held-main-keys",
			  "{\"project_code\":\"yingtan\",\"note\":\"2023 年现场办理，证书序列号 1A2B\"}",
			  NULL),
		201);
	assert_int_equal(client_do(&admin, "POST",
				   "/api/v1/admin/organisations/91110000600037341L/held-main-keys",
				   "{\"project_code\":\"yingtan\",\"note\":\"again\"}", NULL),
			 409);
	assert_int_equal(client_do(&reviewer, "GET",
				   "/api/v1/admin/organisations/91110000600037341L/held-main-keys", NULL, &j),
			 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
	assert_int_equal(create(&org_b, "main", NULL, NULL, &j), 409);
	assert_string_equal(error_code(j), "main_key_exists");
	json_decref(j);
	assert_int_equal(create(&org_b, "secondary", NULL, NULL, NULL), 201);
}

/* Expects creating with form to fail on field with code. */
static void bad_field(const char *form, const char *field, const char *code)
{
	json_t *j = NULL, *e;
	size_t i;
	int found = 0;

	assert_int_equal(create(&org_b, "secondary", form, NULL, &j), 422);
	json_array_foreach (json_object_get(j, "errors"), i, e) {
		found |= strcmp(json_string_value(json_object_get(e, "field")), field) == 0 &&
			 strcmp(json_string_value(json_object_get(e, "code")), code) == 0;
	}
	if (!found)
		fail_msg("expected %s on %s, got %s", code, field, json_dumps(j, 0));
	json_decref(j);
}

static void test_validation(void **state)
{
	(void)state;
	bad_field("{\"legal_id_number\":\"360426199101010070\"}", "legal_id_number", "id_check_digit");
	bad_field("{\"legal_id_number\":\"360426199113010079\"}", "legal_id_number", "id_birth_date");
	bad_field("{\"handler_id_number\":\"36042619910101007\"}", "handler_id_number", "id_format");
	bad_field("{\"legal_mobile\":\"0791-88888888\"}", "legal_mobile", "mobile_invalid");
	bad_field("{\"recipient_mobile\":\"12345678901\"}", "recipient_mobile", "mobile_invalid");
	bad_field("{\"handler_email\":\"not-an-email\"}", "handler_email", "email_invalid");
	bad_field("{\"legal_id_type\":\"passport\"}", "legal_id_type", "field_invalid");
	bad_field("{\"unit_address\":\"短\"}", "unit_address", "field_too_short");
	bad_field("{\"legal_name\":17}", "legal_name", "field_invalid");
	bad_field("{\"invoice_tax_number\":\"91-310115\"}", "invoice_tax_number", "field_too_short");

	json_t *j = NULL;
	assert_int_equal(client_do(&org_b, "POST", "/api/v1/orders",
				   "{\"project_code\":\"nowhere\",\"key_type\":\"main\"}", &j),
			 422);
	assert_string_equal(error_code(j), "project_unknown");
	json_decref(j);
	assert_int_equal(client_do(&org_b, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"gold\"}", &j),
			 422);
	assert_string_equal(error_code(j), "key_type_unknown");
	json_decref(j);
	assert_int_equal(client_do(&org_b, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"main\",\"form\":[]}", NULL),
			 422);
}

static void test_edit_submit_delete(void **state)
{
	char no[32], path[96], sub[112];
	json_t *j = NULL;
	char *token1 = NULL, *token2 = NULL;
	struct db_conn *c;
	(void)state;

	assert_int_equal(create(&org_b, "secondary", "{\"legal_name\":\"赵六\"}", no, NULL), 201);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	c = db_acquire(db);
	assert_int_equal(db_query_text(c, "SELECT verify_token FROM orders WHERE order_no = ?",
				       DB_ARGS(DB_TEXT(no)), &token1),
			 DB_OK);
	db_release(c);
	/* an edit of other fields keeps the legal person's verification token; bumps the version */
	assert_int_equal(client_do(&org_b, "PUT", path,
				   "{\"form\":{\"unit_address\":\"江西省鹰潭市余江区新地址9号\"}}", &j),
			 200);
	assert_int_equal(json_integer_value(json_object_get(j, "form_version")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "form"), "legal_name")),
			    "赵六");
	json_decref(j);
	/* submitting an incomplete order names what is missing, and changes nothing */
	snprintf(sub, sizeof(sub), "%s/submit", path);
	assert_int_equal(client_do(&org_b, "POST", sub, NULL, &j), 422);
	assert_string_equal(error_code(j), "submit_incomplete");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "missing"), 0)),
			    "form_incomplete");
	json_decref(j);
	/* a new legal person voids the token printed in the authorisation letter */
	assert_int_equal(client_do(&org_b, "PUT", path, "{\"form\":{\"legal_name\":\"孙七\"}}", NULL), 200);
	c = db_acquire(db);
	assert_int_equal(db_query_text(c, "SELECT verify_token FROM orders WHERE order_no = ?",
				       DB_ARGS(DB_TEXT(no)), &token2),
			 DB_OK);
	assert_string_not_equal(token1, token2);
	/* a submitted order can no longer be edited (state forced here: documents arrive later) */
	assert_int_equal(db_exec(c, "UPDATE orders SET state = 'submitted' WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(no)), NULL),
			 DB_OK);
	db_release(c);
	assert_int_equal(client_do(&org_b, "PUT", path, "{\"form\":{\"legal_name\":\"周八\"}}", &j), 409);
	assert_string_equal(error_code(j), "state_conflict");
	json_decref(j);
	/* deleting ends it: gone from view, history kept */
	assert_int_equal(client_do(&org_b, "DELETE", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "deleted");
	/* create, two edits, delete; the second edit says the letter and verification are void */
	assert_int_equal(json_array_size(json_object_get(j, "history")), 4);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(json_object_get(j, "history"), 1), "event")),
		"edit");
	assert_non_null(json_object_get(json_array_get(json_object_get(j, "history"), 2), "note"));
	assert_null(json_object_get(json_array_get(json_object_get(j, "history"), 1), "note"));
	json_decref(j);
	assert_int_equal(client_do(&org_b, "GET", path, NULL, NULL), 404);
	assert_int_equal(client_do(&org_b, "DELETE", path, NULL, NULL), 404);
	free(token1);
	free(token2);
}

/* Ownership before the body: another organisation's order answers 404 to a malformed body exactly as
 * to a well-formed one (a 400 would tell that the order exists); its owner still gets the 400. */
static void test_ownership_before_body(void **state)
{
	char no[32], path[96], courier[112], payment[112];
	json_t *j = NULL;
	(void)state;

	assert_int_equal(create(&org_b, "secondary", "{\"legal_name\":\"赵六\"}", no, NULL), 201);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	snprintf(courier, sizeof(courier), "%s/courier", path);
	snprintf(payment, sizeof(payment), "%s/payment", path);
	assert_int_equal(client_do(&org_a, "POST", payment, "{\"provider\":", &j), 404);
	assert_string_equal(error_code(j), "not_found");
	json_decref(j);
	assert_int_equal(client_do(&org_b, "POST", payment, "{\"provider\":", NULL), 400);
	assert_int_equal(client_do(&org_a, "PUT", path, "{\"form\": not json", &j), 404);
	assert_string_equal(error_code(j), "not_found");
	json_decref(j);
	assert_int_equal(client_do(&org_a, "PUT", path, "{\"form\":{\"legal_name\":\"孙七\"}}", NULL), 404);
	assert_int_equal(client_do(&org_a, "POST", courier, "[1,", &j), 404);
	assert_string_equal(error_code(j), "not_found");
	json_decref(j);
	assert_int_equal(client_do(&org_a, "POST", courier, "{\"carrier\":\"sf\",\"tracking_no\":\"SF1234567890\"}", NULL),
			 404);
	assert_int_equal(client_do(&org_a, "PUT", "/api/v1/orders/YT00000000000", "{oops", NULL), 404);
	/* the owner's malformed body is still refused as such */
	assert_int_equal(client_do(&org_b, "PUT", path, "{\"form\": not json", NULL), 400);
	assert_int_equal(client_do(&org_b, "POST", courier, "[1,", NULL), 400);
}

static void test_staff_view_and_prices(void **state)
{
	struct client admin, reviewer;
	char no[32], path[96];
	json_t *j = NULL;
	(void)state;

	client_init(&admin, &S, "admin2");
	assert_int_equal(client_staff_login(&admin, "admin"), 0);
	client_init(&reviewer, &S, "reviewer2");
	assert_int_equal(client_staff_login(&reviewer, "reviewer"), 0);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/orders?q=91310115", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/orders?state=deleted", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/orders?state=nonsense", NULL, NULL), 400);
	assert_int_equal(client_do(&org_a, "GET", "/api/v1/admin/orders", NULL, NULL), 403);

	/* a price change applies to new orders only */
	assert_int_equal(client_do(&reviewer, "PATCH", "/api/v1/admin/projects/yingtan/key-types/secondary",
				   "{\"name\":\"副锁\",\"price_fen\":20000,\"renewal_fen_per_year\":15000,"
				   "\"years_offered\":\"1,2\"}",
				   NULL),
			 403);
	assert_int_equal(client_do(&admin, "PATCH", "/api/v1/admin/projects/yingtan/key-types/secondary",
				   "{\"name\":\"副锁（无电子签章）\",\"price_fen\":-5,\"renewal_fen_per_"
				   "year\":15000,\"years_offered\":\"2,1\"}",
				   &j),
			 422);
	json_decref(j);
	assert_int_equal(client_do(&admin, "PATCH", "/api/v1/admin/projects/yingtan/key-types/secondary",
				   "{\"name\":\"副锁（无电子签章）\",\"price_fen\":20000,\"renewal_fen_per_"
				   "year\":15000,\"years_offered\":\"1,2\"}",
				   NULL),
			 200);
	assert_int_equal(create(&org_a, "secondary", NULL, no, &j), 201);
	assert_int_equal(json_integer_value(json_object_get(j, "price_fen")), 20000);
	json_decref(j);
	assert_int_equal(client_do(&org_a, "GET", "/api/v1/orders?limit=5", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "items"), 1),
							    "price_fen")),
			 19000);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "organisation"), "uscc")),
			    "91310115MA1K3BTP2B");
	json_decref(j);
}

/* Downloads form kind of order no as the organisation into path; returns the HTTP status. */
static long download(struct client *c, const char *no, const char *kind, const char *path, size_t *len)
{
	char url[160], cookie[200];
	const char *h[] = {cookie, NULL};
	struct resp r;
	long st;

	snprintf(url, sizeof(url), "/api/v1/orders/%s/forms/%s", no, kind);
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(c));
	assert_int_equal(http_do(&S, "GET", url, NULL, 0, h, &r), 0);
	st = r.status;
	if (st == 200) {
		FILE *f = fopen(path, "wb");
		assert_string_equal(resp_header(&r, "Content-Type"), "application/pdf");
		assert_non_null(strstr(resp_header(&r, "Content-Disposition"), no));
		fwrite(r.body, 1, r.len, f);
		fclose(f);
		*len = r.len;
		assert_memory_equal(r.body, "%PDF-", 5);
	}
	resp_free(&r);
	return st;
}

/* Renders page 1 of a PDF and returns what its QR code says (caller frees), or NULL. */
static char *qr_of(const char *pdf)
{
	char *argv1[] = {"/usr/bin/pdftoppm", "-r",        "150",       "-png", "-f", "1", "-l", "1",
			 "-singlefile",       (char *)pdf, (char *)pdf, NULL};
	char png[600], *out = NULL;

	snprintf(png, sizeof(png), "%s.png", pdf);
	if (harness_run(argv1, NULL, NULL) != 0)
		return NULL;
	char *argv2[] = {"/usr/bin/zbarimg", "-q", "--raw", png, NULL};
	if (harness_run(argv2, NULL, &out) != 0) {
		free(out);
		return NULL;
	}
	/* zbarimg may warn about dbus on stderr (merged here): keep the last non-empty line */
	char *nl;
	while ((nl = strrchr(out, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	char *last = strrchr(out, '\n');
	char *res = strdup(last ? last + 1 : out);
	free(out);
	return res;
}

static void test_forms_pdf(void **state)
{
	struct client c;
	char no[32], sec[32], path[400], want[600], *qr, *token = NULL;
	size_t len = 0, len2 = 0;
	json_t *j = NULL;
	(void)state;

	client_init(&c, &S, "pdf");
	assert_int_equal(
		client_register_login(&c, "鹰潭表格测试有限公司", "92340602MA2PBMEM24", "13800138004"), 0);
	assert_int_equal(create(&c, "main", "{\"unit_address\":\"江西省鹰潭市月湖区\"}", no, NULL), 201);
	snprintf(path, sizeof(path), "%s/app.pdf", S.dir);
	/* incomplete data: no forms yet, with the list of what is missing */
	assert_int_equal(download(&c, no, "application", path, &len), 409);
	char put[2048];
	snprintf(put, sizeof(put), "/api/v1/orders/%s", no);
	snprintf(want, sizeof(want), "{\"form\":%s}", FULL_FORM);
	assert_int_equal(client_do(&c, "PUT", put, want, NULL), 200);

	assert_int_equal(download(&c, no, "application", path, &len), 200);
	qr = qr_of(path);
	snprintf(want, sizeof(want), "certdesk:form:application:%s:v2", no);
	assert_non_null(qr);
	assert_string_equal(qr, want);
	free(qr);
	/* the same data gives the same bytes */
	snprintf(path, sizeof(path), "%s/app2.pdf", S.dir);
	assert_int_equal(download(&c, no, "application", path, &len2), 200);
	assert_int_equal(len, len2);

	snprintf(path, sizeof(path), "%s/letter.pdf", S.dir);
	assert_int_equal(download(&c, no, "authorisation", path, &len), 200);
	struct db_conn *dc = db_acquire(db);
	assert_int_equal(db_query_text(dc, "SELECT verify_token FROM orders WHERE order_no = ?",
				       DB_ARGS(DB_TEXT(no)), &token),
			 DB_OK);
	db_release(dc);
	qr = qr_of(path);
	snprintf(want, sizeof(want), "%s/verify/%s", cfg.public_url, token);
	assert_non_null(qr);
	assert_string_equal(qr, want);
	free(qr);
	free(token);

	snprintf(path, sizeof(path), "%s/seal.pdf", S.dir);
	assert_int_equal(download(&c, no, "seal", path, &len), 200);
	assert_int_equal(download(&c, no, "nonsense", path, &len), 404);

	/* no seal form for a secondary key; nobody else's forms */
	assert_int_equal(create(&c, "secondary", FULL_FORM, sec, &j), 201);
	json_decref(j);
	assert_int_equal(download(&c, sec, "seal", path, &len), 404);
	assert_int_equal(download(&c, sec, "application", path, &len), 200);
	assert_int_equal(download(&org_a, sec, "application", path, &len), 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue),          cmocka_unit_test(test_create_main_and_secondary),
		cmocka_unit_test(test_one_main_key),       cmocka_unit_test(test_one_main_key_race),
		cmocka_unit_test(test_held_main_key),      cmocka_unit_test(test_validation),
		cmocka_unit_test(test_edit_submit_delete), cmocka_unit_test(test_staff_view_and_prices),
		cmocka_unit_test(test_forms_pdf),          cmocka_unit_test(test_ownership_before_body),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
