/* The legal person's face verification holds no pooled database connection while FaceID is asked
 * (an HTTPS call of up to [idv] timeout_s): with a pool of one connection and a FaceID that answers
 * late (certdesk-sim's delay_ms), other requests are served meanwhile, on the order page that the
 * UI polls and on the phone's result page; the answer is recorded afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "store/store.h"

#define FACEID_DELAY_MS 3000
#define SERVED_WITHIN_MS 1500

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, phone;
static char order_no[32], token[80];

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int setup(void **state)
{
	char err[512], *tok = NULL;
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	json_t *j = NULL;
	struct db_conn *c;
	(void)state;

	setenv("CERTDESK_DATABASE_POOL_SIZE", "1", 1);
	if (harness_start_sim(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	unsetenv("CERTDESK_DATABASE_POOL_SIZE");
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0 || db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&phone, &S, "phone");
	if (client_register_login(&org, "鹰潭单连接核验有限公司", "91310115MA1K3BTP2B", "13800138051") != 0)
		return -1;
	if (client_do(&org, "POST", "/api/v1/orders",
		      "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}", &j) != 201)
		return -1;
	snprintf(order_no, sizeof(order_no), "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	c = db_acquire(db);
	if (db_query_text(c, "SELECT verify_token FROM orders WHERE order_no = ?", DB_ARGS(DB_TEXT(order_no)),
			  &tok) != DB_OK)
		tok = NULL;
	db_release(c);
	if (tok == NULL)
		return -1;
	snprintf(token, sizeof(token), "%s", tok);
	free(tok);
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

/* Starts a verification from the phone and has the simulator decide it (pass), answering the
 * result query delay_ms late. */
static void start_decided_slow(int pass, int delay_ms)
{
	struct srv sim = S;
	char path[256], body[96], biz[160];
	const char *url, *p, *h[] = {"Content-Type: application/json", NULL};
	struct resp r;
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/verify/%s/start", token);
	assert_int_equal(client_do(&phone, "POST", path, NULL, &j), 200);
	url = json_string_value(json_object_get(j, "redirect_url"));
	assert_non_null(url);
	assert_non_null(p = strstr(url, "token="));
	snprintf(biz, sizeof(biz), "%.*s", (int)strcspn(p + 6, "&"), p + 6);
	json_decref(j);
	snprintf(sim.base, sizeof(sim.base), "%s", S.sim_base);
	snprintf(path, sizeof(path), "/_sim/faceid/%s/decide", biz);
	snprintf(body, sizeof(body), "{\"pass\":%s,\"delay_ms\":%d}", pass ? "true" : "false", delay_ms);
	assert_int_equal(http_do(&sim, "POST", path, body, strlen(body), h, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

/* A request that asks FaceID (from a thread: no cmocka asserts there). */
struct slow {
	struct client *c;
	char path[160];
	long status;
	json_t *reply;
	double done_ms;
};

static void *slow_request(void *arg)
{
	struct slow *s = arg;

	s->status = client_do(s->c, "GET", s->path, NULL, &s->reply);
	s->done_ms = now_ms();
	return NULL;
}

/* Runs s while FaceID is slow, and asserts that another request using the database (the order
 * list) is served meanwhile, long before s is done. */
static void served_meanwhile(struct slow *s)
{
	pthread_t t;
	double t0, took;
	json_t *j = NULL;

	assert_int_equal(pthread_create(&t, NULL, slow_request, s), 0);
	usleep(500 * 1000); /* s is waiting for FaceID */
	t0 = now_ms();
	assert_int_equal(client_do(&org, "GET", "/api/v1/orders", NULL, &j), 200);
	took = now_ms() - t0;
	json_decref(j);
	pthread_join(t, NULL);
	if (took > SERVED_WITHIN_MS || s->done_ms < t0 + took)
		fail_msg("the order list took %.0f ms while FaceID was asked (%s)", took, s->path);
	assert_int_equal(s->status, 200);
}

static const char *verification_state(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "verification"), "state"));
}

/* The order page (polled every 5 s by the UI) asks FaceID about a started verification. */
static void test_order_page_holds_no_connection(void **state)
{
	struct slow s = {.c = &org};
	(void)state;

	start_decided_slow(0, FACEID_DELAY_MS);
	snprintf(s.path, sizeof(s.path), "/api/v1/orders/%s", order_no);
	served_meanwhile(&s);
	assert_string_equal(verification_state(s.reply), "failed");
	json_decref(s.reply);
}

/* The phone's result page asks FaceID too. */
static void test_result_page_holds_no_connection(void **state)
{
	struct slow s = {.c = &phone};
	(void)state;

	start_decided_slow(1, FACEID_DELAY_MS);
	snprintf(s.path, sizeof(s.path), "/api/v1/verify/%s/result", token);
	served_meanwhile(&s);
	assert_string_equal(verification_state(s.reply), "passed");
	json_decref(s.reply);
	/* recorded: the next look does not ask FaceID again and says the same */
	assert_int_equal(client_do(&phone, "GET", s.path, NULL, &s.reply), 200);
	assert_string_equal(verification_state(s.reply), "passed");
	json_decref(s.reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_page_holds_no_connection),
		cmocka_unit_test(test_result_page_holds_no_connection),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
