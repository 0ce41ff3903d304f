/* Seal pictures for staff (issue 14) through the real certdeskd: the organisation uploads a scan of its
 * stamped seal form (drawn by the unit test's scene from certdesk's own form, as a JPEG), staff get the
 * four boxes located from the QR code, extract them, and check a PNG of their own; the roles, a
 * secondary key's order and a missing scan are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/seal/extract_scene.h"
#include "harness.h"

static struct srv S;
static struct client org, producer, reviewer, finance;
static char main_no[32]; /* the main-key order with its scan (one main key per organisation) */

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\",\"handler_email\":\"zhang@example.com\",\"invoice_email\":"                             \
	"\"fp@example.com\",\"recipient_name\":\"王五\",\"recipient_mobile\":\"13700137000\","                        \
	"\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates an order of key_type; writes its number into no and returns its form version. */
static long long create(const char *key_type, char no[32])
{
	char body[1200];
	json_t *j = NULL;
	long long v;

	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"%s\",\"form\":%s}",
		 key_type, FULL_FORM);
	assert_int_equal(client_do(&org, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	v = json_integer_value(json_object_get(j, "form_version"));
	json_decref(j);
	return v;
}

/* Uploads as c a JPEG scan of the seal form of order no (QR text of form version v): red seals in
 * unit_1, unit_2 and legal_1, nothing in legal_2; the page turned by 1.3 degrees. */
static void upload_scan_as(struct client *c, const char *no, long long v)
{
	char qr[120], path[160];
	struct scene sc = {.dpi = 150, .angle_deg = 1.3, .qr_text = qr, .clean = 1};
	struct seal_rgb img;
	unsigned char *jpeg = NULL;
	size_t len = 0;
	json_t *j = NULL;

	snprintf(qr, sizeof(qr), "certdesk:form:seal:%s:v%lld", no, v);
	for (int i = 0; i < 3; i++) {
		sc.stamps[i] = (struct stamp){
			.shape = i < 2 ? STAMP_ROUND : STAMP_SQUARE, .r = 0.82, .g = 0.12, .b = 0.14};
		scene_box_centre(i, &sc.stamps[i].cx, &sc.stamps[i].cy);
	}
	assert_int_equal(scene_draw(&sc, &img), 0);
	assert_int_equal(scene_jpeg(&img, &jpeg, &len), 0);
	seal_rgb_free(&img);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/documents/seal_form", no);
	assert_int_equal(client_upload(c, "PUT", path, NULL, "seal.jpg", jpeg, len, &j), 201);
	free(jpeg);
	json_decref(j);
}

static void upload_scan(const char *no, long long v)
{
	upload_scan_as(&org, no, v);
}

/* Returns the box of slot in the GET reply j. */
static json_t *box_of(json_t *j, const char *slot)
{
	json_t *b;
	size_t i;

	json_array_foreach (json_object_get(j, "boxes"), i, b)
		if (strcmp(json_string_value(json_object_get(b, "slot")), slot) == 0)
			return b;
	fail_msg("no box %s", slot);
	return NULL;
}

/* Returns the verdict of a box's quality in the GET reply. */
static const char *quality(json_t *j, const char *slot)
{
	return json_string_value(json_object_get(json_object_get(box_of(j, slot), "quality"), "verdict"));
}

static void test_locate_and_extract(void **state)
{
	char *no = main_no, path[160], body[600];
	long long v = create("main", no);
	json_t *j = NULL, *r = NULL, *res, *b;
	unsigned char png[200000];
	size_t png_len = 0;

	(void)state;
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 404); /* no scan yet */
	assert_string_equal(error_code(j), "not_found");
	json_decref(j);
	upload_scan(no, v);
	assert_int_equal(client_do(&finance, "GET", path, NULL, NULL), 403);
	assert_int_equal(client_do(&org, "GET", path, NULL, NULL), 403);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &j), 200);
	json_decref(j);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	assert_true(json_is_true(json_object_get(j, "located")));
	assert_true(fabs(json_number_value(json_object_get(j, "angle_deg")) - 1.3) < 0.1);
	{ /* mm to pixels: 150 dpi, turned by 1.3 degrees */
		json_t *tr = json_object_get(j, "transform");
		double ta = json_number_value(json_object_get(tr, "a")),
		       tb = json_number_value(json_object_get(tr, "b"));
		assert_true(fabs(hypot(ta, tb) - 150 / 25.4) < 0.03);
		assert_true(fabs(atan2(tb, ta) * 180 / M_PI - 1.3) < 0.1);
	}
	assert_int_equal(json_array_size(json_object_get(j, "boxes")), 4);
	assert_string_equal(quality(j, "unit_1"), "ok");
	assert_string_equal(quality(j, "unit_2"), "ok");
	assert_string_equal(quality(j, "legal_1"), "ok");
	assert_string_equal(quality(j, "legal_2"), "no_impression");
	assert_null(json_object_get(json_object_get(box_of(j, "unit_1"), "quality"), "png_base64"));

	/* The producer takes unit_1 as proposed and legal_1 moved by a few pixels. */
	b = box_of(j, "legal_1");
	snprintf(body, sizeof(body),
		 "{\"boxes\":[{\"slot\":\"unit_1\",\"x\":%g,\"y\":%g,\"w\":%g,\"h\":%g},"
		 "{\"slot\":\"legal_1\",\"x\":%g,\"y\":%g,\"w\":%g,\"h\":%g}]}",
		 json_number_value(json_object_get(box_of(j, "unit_1"), "x")),
		 json_number_value(json_object_get(box_of(j, "unit_1"), "y")),
		 json_number_value(json_object_get(box_of(j, "unit_1"), "w")),
		 json_number_value(json_object_get(box_of(j, "unit_1"), "h")),
		 json_number_value(json_object_get(b, "x")) + 3,
		 json_number_value(json_object_get(b, "y")) - 2,
		 json_number_value(json_object_get(b, "w")) + 6,
		 json_number_value(json_object_get(b, "h")) + 4);
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops/extract", no);
	assert_int_equal(client_do(&producer, "POST", path, body, &r), 200);
	assert_int_equal(json_array_size(json_object_get(r, "results")), 2);
	res = json_array_get(json_object_get(r, "results"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "verdict")), "ok");
	assert_true(json_is_true(json_object_get(res, "accepted")));
	assert_true(fabs(json_number_value(json_object_get(res, "width_mm")) - 42) <= 1);
	assert_int_equal(sodium_base642bin(png, sizeof(png),
					   json_string_value(json_object_get(res, "png_base64")),
					   strlen(json_string_value(json_object_get(res, "png_base64"))),
					   NULL, &png_len, NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	assert_memory_equal(png, "\x89PNG", 4);
	res = json_array_get(json_object_get(r, "results"), 1);
	assert_string_equal(json_string_value(json_object_get(res, "slot")), "legal_1");
	assert_string_equal(json_string_value(json_object_get(res, "verdict")), "ok");
	assert_true(fabs(json_number_value(json_object_get(res, "width_mm")) - 19.2) <= 1);
	json_decref(r);

	/* The picture staff got back passes as their own PNG; a 1-pixel PNG and a JPEG do not. */
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops/check-png", no);
	{
		const char *fields[] = {"slot", "unit_1", "width_mm", "42.2", NULL};
		const char *bad_slot[] = {"slot", "unit_9", NULL};
		size_t one_len;
		unsigned char *one = harness_png(1, 1, &one_len);
		assert_int_equal(client_upload(&producer, "POST", path, fields, "seal.png", png, png_len, &r),
				 200);
		assert_string_equal(json_string_value(json_object_get(r, "verdict")), "ok");
		json_decref(r);
		assert_int_equal(client_upload(&producer, "POST", path, fields, "dot.png", one, one_len, &r),
				 200);
		assert_string_equal(json_string_value(json_object_get(r, "verdict")), "too_small");
		assert_false(json_is_true(json_object_get(r, "accepted")));
		assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "图片太小"));
		json_decref(r);
		assert_int_equal(
			client_upload(&producer, "POST", path, bad_slot, "seal.png", png, png_len, &r), 422);
		assert_string_equal(error_code(r), "invalid_slot");
		json_decref(r);
		assert_int_equal(
			client_upload(&producer, "POST", path, fields, "seal.jpg", "\xff\xd8\xff\xe0", 4, &r),
			415);
		json_decref(r);
		free(one);
	}
}

/* Boxes that are not boxes, on the order of test_locate_and_extract: 422 with the field. */
static void test_bad_boxes(void **state)
{
	static const char *const bodies[] = {
		"{\"boxes\":[]}",
		"{\"boxes\":[{\"slot\":\"unit_1\",\"x\":10,\"y\":10,\"w\":2,\"h\":300}]}",
		"{\"boxes\":[{\"slot\":\"unit_1\",\"x\":1e9,\"y\":10,\"w\":300,\"h\":300}]}",
		("{\"boxes\":[{\"slot\":\"unit_1\",\"x\":10,\"y\":10,\"w\":300,\"h\":300},"
		 "{\"slot\":\"unit_1\",\"x\":10,\"y\":10,\"w\":300,\"h\":300}]}"),
		"{\"boxes\":[{\"slot\":\"seal\",\"x\":10,\"y\":10,\"w\":300,\"h\":300}]}",
		"{\"boxes\":[{\"slot\":\"unit_1\",\"x\":\"10\",\"y\":10,\"w\":300,\"h\":300}]}",
	};
	char path[160];
	json_t *j = NULL;

	(void)state;
	assert_true(main_no[0] != '\0');
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops/extract", main_no);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(client_do(&producer, "POST", path, bodies[i], &j), 422);
		assert_true(strcmp(error_code(j), "invalid_box") == 0 ||
			    strcmp(error_code(j), "invalid_slot") == 0);
		json_decref(j);
	}
}

/* A secondary key carries no seal: 409 no_seal on all three. */
static void test_secondary_key(void **state)
{
	char no[32], path[160];
	json_t *j = NULL;

	(void)state;
	create("secondary", no);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 409);
	assert_string_equal(error_code(j), "no_seal");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-crops/extract", no);
	assert_int_equal(client_do(&producer, "POST", path, "{\"boxes\":[]}", &j), 409);
	json_decref(j);
	assert_int_equal(
		client_do(&producer, "GET", "/api/v1/admin/orders/YT20000101-999999/seal-crops", NULL, NULL),
		404);
}

/* Returns the milliseconds from a to b. */
static double ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

struct slow_crops {
	struct client *c;
	const char *path;
	long status;
	struct timespec done;
};

static void *slow_crops(void *arg)
{
	struct slow_crops *u = arg;

	u->status = client_do(u->c, "GET", u->path, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &u->done);
	return NULL;
}

/* With a pool of one database connection, the order is served while the seal crops are being
 * computed (decoding, zbar, four extractions): that work holds no connection. */
static void test_no_connection_held(void **state)
{
	struct srv s2;
	struct client o2, p2;
	struct slow_crops u = {0};
	struct timespec start, asked, got;
	pthread_t t;
	char no[32], path[96], crops[128], body[1200];
	char *init[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	json_t *j = NULL;
	long long v;

	(void)state;
	memset(&s2, 0, sizeof(s2));
	setenv("CERTDESK_DATABASE_POOL_SIZE", "1", 1);
	assert_int_equal(harness_start(&s2), 0);
	unsetenv("CERTDESK_DATABASE_POOL_SIZE");
	assert_int_equal(harness_run(init, NULL, NULL), 0);
	client_init(&o2, &s2, "pool1");
	client_init(&p2, &s2, "producer");
	assert_int_equal(client_staff_login(&p2, "producer"), 0);
	assert_int_equal(
		client_register_login(&o2, "鹰潭单连接签章有限公司", "91110000600037341L", "13800138032"), 0);
	snprintf(body, sizeof(body), "{\"project_code\":\"yingtan\",\"key_type\":\"main\",\"form\":%s}",
		 FULL_FORM);
	assert_int_equal(client_do(&o2, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, sizeof(no), "%s", json_string_value(json_object_get(j, "order_no")));
	v = json_integer_value(json_object_get(j, "form_version"));
	json_decref(j);
	upload_scan_as(&o2, no, v);

	snprintf(crops, sizeof(crops), "/api/v1/admin/orders/%s/seal-crops", no);
	u = (struct slow_crops){&p2, crops, 0, {0, 0}};
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(pthread_create(&t, NULL, slow_crops, &u), 0);
	usleep(100 * 1000); /* the scan is being processed */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	clock_gettime(CLOCK_MONOTONIC, &asked);
	assert_int_equal(client_do(&o2, "GET", path, NULL, NULL), 200);
	clock_gettime(CLOCK_MONOTONIC, &got);
	pthread_join(t, NULL);
	assert_int_equal(u.status, 200);
	printf("seal crops %.0f ms; the order page, asked meanwhile, %.0f ms\n", ms(&start, &u.done),
	       ms(&asked, &got));
	/* Served at once, not after the processing (that takes several times as long). */
	assert_true(ms(&start, &u.done) > 3 * ms(&asked, &got) + 100);

	assert_int_equal(harness_stop(&s2), 0);
	harness_cleanup(&s2);
	harness_env(&S);
}

static int setup(void **state)
{
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	(void)state;

	if (sodium_init() < 0 || harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&producer, &S, "producer");
	client_init(&reviewer, &S, "reviewer");
	client_init(&finance, &S, "finance");
	if (client_staff_login(&producer, "producer") != 0 ||
	    client_staff_login(&reviewer, "reviewer") != 0 || client_staff_login(&finance, "finance") != 0)
		return -1;
	return client_register_login(&org, "鹰潭签章测试有限公司", "91310115MA1K3BTP2B", "13800138031");
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = harness_stop(&S);
	harness_cleanup(&S);
	return status == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locate_and_extract),
		cmocka_unit_test(test_bad_boxes),
		cmocka_unit_test(test_secondary_key),
		cmocka_unit_test(test_no_connection_held),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL) {
		fprintf(stderr, "skipped: CERTDESK_TEST_PG_CONNINFO is not set\n");
		return 77;
	}
	return cmocka_run_group_tests_name(harness_backend(), tests, setup, teardown);
}
