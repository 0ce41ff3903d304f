/* Invoices (发票): finance uploads the invoice file of a paid order; the outbox worker mails it over
 * real SMTP to certdesk-sim's mail server; the order shows when it was sent; the file is refused
 * when it is not a PDF or OFD, by staff without the finance role, and to other organisations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, other, finance, producer;
static char order_no[32], draft_no[32];

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

static const char PDF[] = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
			  "trailer\n<< /Root 1 0 R >>\n%%EOF\n";

/* Creates an order of key_type with the full form; writes its number into no. */
static void create(struct client *c, const char *key_type, char no[32])
{
	char body[2048];
	json_t *j = NULL;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"%s\",\"form\":%s}",
		 key_type, FULL_FORM);
	assert_int_equal(client_do(c, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
}

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	struct db_conn *c;
	(void)state;

	setenv("CERTDESK_OUTBOX_POLL_INTERVAL_S", "1", 1);
	setenv("CERTDESK_OUTBOX_RETRY_BASE_S", "1", 1); /* the refusal test waits for one retry */
	setenv("CERTDESK_MAIL_FROM", "fapiao@certdesk.test", 1);
	if (harness_start_sim(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&other, &S, "other");
	client_init(&finance, &S, "finance");
	client_init(&producer, &S, "producer");
	if (client_register_login(&org, "鹰潭发票测试有限公司", "91310115MA1K3BTP2B", "13800138021") != 0 ||
	    client_register_login(&other, "鹰潭旁观有限公司", "91110000600037341L", "13800138022") != 0 ||
	    client_staff_login(&finance, "finance") != 0 || client_staff_login(&producer, "producer") != 0)
		return -1;
	create(&org, "main", order_no);
	create(&org, "secondary", draft_no);
	/* payment and production are other issues': the order is put where they would leave it */
	c = db_acquire(db);
	int rc = db_exec(
		c, "UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no = ?",
		DB_ARGS(DB_TEXT(order_no)), NULL);
	db_release(c);
	return rc == DB_OK ? 0 : -1;
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

/* Returns the hex SHA-256 of len bytes of data in out. */
static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, data, len);
	sodium_bin2hex(out, 65, md, sizeof(md));
}

/* Uploads data as the invoice of no; returns the status and the reply in *j (may be NULL). */
static long put_invoice(struct client *c, const char *no, const char *name, const void *data, size_t len,
			json_t **j)
{
	char path[160];
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/invoice", no);
	return client_upload(c, "PUT", path, NULL, name, data, len, j);
}

/* Returns a stored ZIP holding the NULL-terminated names (empty files) in a malloc'd buffer. */
static unsigned char *zip_of(const char *const *names, size_t *len)
{
	unsigned char *b = calloc(1, 4096), *p = b;
	size_t offs[8], n = 0, cd;

	for (; names[n] != NULL; n++) {
		size_t l = strlen(names[n]);
		offs[n] = (size_t)(p - b);
		memcpy(p, "PK\x03\x04", 4);
		p[26] = (unsigned char)l;
		memcpy(p + 30, names[n], l);
		p += 30 + l;
	}
	cd = (size_t)(p - b);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		memcpy(p, "PK\x01\x02", 4);
		p[28] = (unsigned char)l;
		p[42] = (unsigned char)offs[i];
		memcpy(p + 46, names[i], l);
		p += 46 + l;
	}
	memcpy(p, "PK\x05\x06", 4);
	p[8] = p[10] = (unsigned char)n;
	p[12] = (unsigned char)((size_t)(p - b) - cd);
	p[16] = (unsigned char)cd;
	*len = (size_t)(p - b) + 22;
	return b;
}

/* Returns the messages the simulated mail server holds for to (caller decrefs). */
static json_t *mails_to(const char *to)
{
	struct srv probe = S;
	char path[200];
	struct resp r;
	json_t *j;

	snprintf(probe.base, sizeof(probe.base), "%s", S.sim_base);
	snprintf(path, sizeof(path), "/_sim/mail?to=%s", to);
	assert_int_equal(http_do(&probe, "GET", path, NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	assert_non_null(j);
	return j;
}

/* Downloads path as client c; returns the status and the bytes in *r (caller frees with resp_free). */
static long download(struct client *c, const char *path, struct resp *r)
{
	char cookie[200];
	const char *h[] = {cookie, NULL};

	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(c));
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, r), 0);
	return r->status;
}

static void test_refusals(void **state)
{
	static const char *const no_ofd[] = {"Doc_0/Document.xml", NULL};
	unsigned char *png, *zip;
	size_t len;
	json_t *j = NULL, *it;
	size_t i;
	int listed = 0;
	(void)state;

	/* the queue and the upload are finance's */
	assert_int_equal(client_do(&producer, "GET", "/api/v1/admin/invoices/queue", NULL, NULL), 403);
	assert_int_equal(client_do(&finance, "GET", "/api/v1/admin/invoices/queue", NULL, &j), 200);
	json_array_foreach (json_object_get(j, "items"), i, it) {
		listed |= strcmp(json_string_value(json_object_get(it, "order_no")), order_no) == 0;
		assert_string_not_equal(json_string_value(json_object_get(it, "order_no")), draft_no);
	}
	assert_true(listed);
	json_decref(j);
	assert_int_equal(put_invoice(&producer, order_no, "fp.pdf", PDF, sizeof(PDF) - 1, NULL), 403);
	assert_int_equal(put_invoice(&org, order_no, "fp.pdf", PDF, sizeof(PDF) - 1, NULL), 403);

	/* a PNG named .pdf, and a ZIP without OFD.xml */
	png = harness_png(200, 100, &len);
	assert_int_equal(put_invoice(&finance, order_no, "fp.pdf", png, len, &j), 415);
	assert_string_equal(error_code(j), "file_type");
	json_decref(j);
	free(png);
	zip = zip_of(no_ofd, &len);
	assert_int_equal(put_invoice(&finance, order_no, "fp.ofd", zip, len, &j), 415);
	assert_string_equal(error_code(j), "file_type");
	json_decref(j);
	free(zip);

	/* an unpaid order, and no order at all */
	assert_int_equal(put_invoice(&finance, draft_no, "fp.pdf", PDF, sizeof(PDF) - 1, &j), 409);
	json_decref(j);
	assert_int_equal(put_invoice(&finance, "YT000000000000", "fp.pdf", PDF, sizeof(PDF) - 1, NULL), 404);
}

static void test_upload_and_mail(void **state)
{
	char path[160], want[65], got[65];
	json_t *j = NULL, *mails = NULL, *part, *it;
	const char *sent_at = NULL;
	struct resp r;
	size_t i;
	int found = 0;
	(void)state;

	sha256_hex(PDF, sizeof(PDF) - 1, want);
	assert_int_equal(put_invoice(&finance, order_no, "发票.pdf", PDF, sizeof(PDF) - 1, &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "media_type")), "application/pdf");
	assert_string_equal(json_string_value(json_object_get(j, "email_to")), "fp@example.com");
	assert_string_equal(json_string_value(json_object_get(j, "sha256")), want);
	json_decref(j);
	j = NULL;

	/* the outbox worker mails it to the invoice e-mail, the PDF attached */
	for (int t = 0; t < 150; t++) {
		mails = mails_to("fp@example.com");
		if (json_array_size(json_object_get(mails, "items")) > 0)
			break;
		json_decref(mails);
		mails = NULL;
		usleep(100000);
	}
	if (mails == NULL) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "cat %s/server.out %s/sim.out >&2", S.dir, S.dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_non_null(mails);
	assert_int_equal(json_array_size(json_object_get(mails, "items")), 1);
	it = json_array_get(json_object_get(mails, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "from")), "fapiao@certdesk.test");
	assert_non_null(strstr(json_string_value(json_object_get(it, "subject")), "发票"));
	assert_non_null(strstr(json_string_value(json_object_get(it, "subject")), order_no));
	snprintf(path, sizeof(path), "invoice-%s.pdf", order_no);
	json_array_foreach (json_object_get(it, "parts"), i, part) {
		const char *fn = json_string_value(json_object_get(part, "filename"));
		if (fn != NULL && strcmp(fn, path) == 0) {
			found = 1;
			assert_string_equal(json_string_value(json_object_get(part, "sha256")), want);
			assert_int_equal(json_integer_value(json_object_get(part, "size")), sizeof(PDF) - 1);
		}
	}
	assert_true(found);
	json_decref(mails);

	/* the order shows it sent */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", order_no);
	for (int t = 0; t < 50 && sent_at == NULL; t++) {
		json_decref(j);
		assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
		sent_at = json_string_value(json_object_get(json_object_get(j, "invoice"), "sent_at"));
		if (sent_at == NULL)
			usleep(100000);
	}
	assert_non_null(sent_at);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "invoice"), "email_to")),
			    "fp@example.com");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "invoice"), "file_name")),
			    "发票.pdf");
	json_decref(j);

	/* the owner and staff download it; another organisation cannot see it */
	snprintf(path, sizeof(path), "/api/v1/orders/%s/invoice", order_no);
	assert_int_equal(download(&org, path, &r), 200);
	sha256_hex(r.body, r.len, got);
	assert_string_equal(got, want);
	assert_string_equal(resp_header(&r, "Content-Type"), "application/pdf");
	resp_free(&r);
	assert_int_equal(download(&other, path, &r), 404);
	resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/invoice", order_no);
	assert_int_equal(download(&producer, path, &r), 200);
	assert_int_equal(r.len, sizeof(PDF) - 1);
	resp_free(&r);

	/* the order has left the queue */
	assert_int_equal(client_do(&finance, "GET", "/api/v1/admin/invoices/queue", NULL, &j), 200);
	json_array_foreach (json_object_get(j, "items"), i, it)
		assert_string_not_equal(json_string_value(json_object_get(it, "order_no")), order_no);
	json_decref(j);
}

/* Returns the state and error of the outbox row of the order's newest invoice, waiting up to 15 s
 * for it to leave 'pending'; *attempts gets its attempts. Caller frees *error. */
static char *newest_invoice_outbox(int64_t *attempts, char **error)
{
	char *state = NULL;

	for (int t = 0; t < 150; t++) {
		struct db_conn *c = db_acquire(db);
		struct db_rows *r = NULL;
		free(state);
		state = NULL;
		if (db_query(
			    c,
			    "SELECT x.state, x.attempts, x.last_error FROM invoices i JOIN orders o ON o.id ="
			    " i.order_id JOIN outbox x ON x.id = i.outbox_id WHERE o.order_no = ? ORDER BY "
			    "i.id DESC"
			    " LIMIT 1",
			    DB_ARGS(DB_TEXT(order_no)), &r) == DB_OK &&
		    db_rows_next(r) == 1) {
			state = strdup(db_rows_text(r, 0));
			*attempts = db_rows_int(r, 1);
			*error = db_rows_text(r, 2) != NULL ? strdup(db_rows_text(r, 2)) : NULL;
		}
		db_rows_free(r);
		db_release(c);
		if (state != NULL && strcmp(state, "pending") != 0)
			break;
		if (*error != NULL) {
			free(*error);
			*error = NULL;
		}
		usleep(100000);
	}
	return state;
}

/* The mail server refuses: "try later" (4xx) is retried and then delivered; a refusal (5xx) ends
 * the message 'failed' with the server's reply kept, and the invoice is not shown as sent. */
static void test_mail_refused(void **state)
{
	char path[160], *st, *error = NULL;
	int64_t attempts = 0;
	json_t *j = NULL, *mails;
	size_t before;
	(void)state;

	mails = mails_to("fp@example.com");
	before = json_array_size(json_object_get(mails, "items"));
	json_decref(mails);
	assert_int_equal(
		sim_do(&S, "POST", "/_sim/mail/refuse", "{\"to\":\"fp@example.com\",\"code\":451}", NULL),
		200);
	assert_int_equal(put_invoice(&finance, order_no, "发票更正.pdf", PDF, sizeof(PDF) - 1, NULL), 201);
	st = newest_invoice_outbox(&attempts, &error);
	assert_non_null(st);
	assert_string_equal(st, "sent");
	assert_int_equal(attempts, 2);
	free(st);
	free(error);
	error = NULL;
	mails = mails_to("fp@example.com");
	assert_int_equal(json_array_size(json_object_get(mails, "items")), before + 1);
	json_decref(mails);

	assert_int_equal(
		sim_do(&S, "POST", "/_sim/mail/refuse", "{\"to\":\"fp@example.com\",\"code\":550}", NULL),
		200);
	assert_int_equal(put_invoice(&finance, order_no, "发票再更正.pdf", PDF, sizeof(PDF) - 1, NULL), 201);
	st = newest_invoice_outbox(&attempts, &error);
	assert_non_null(st);
	assert_string_equal(st, "failed");
	assert_int_equal(attempts, 1);
	assert_non_null(error);
	assert_non_null(strstr(error, "550"));
	free(st);
	free(error);
	mails = mails_to("fp@example.com");
	assert_int_equal(json_array_size(json_object_get(mails, "items")), before + 1);
	json_decref(mails);
	snprintf(path, sizeof(path), "/api/v1/orders/%s", order_no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "invoice"), "file_name")),
			    "发票再更正.pdf");
	assert_null(json_object_get(json_object_get(j, "invoice"), "sent_at"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_upload_and_mail),
		cmocka_unit_test(test_mail_refused),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
