/* Seal pictures from scans of certdesk's own seal form (src/seal/extract.h): synthetic scans drawn from
 * forms_seal.c (extract_scene.c), rotated, at 150 and 300 dpi, on yellowish paper with noise. The boxes
 * must be found from the QR code, the extracted picture must match the drawn seal (IoU of the inked
 * pixels >= 0.9) with a transparent background and its real size in mm; bad impressions are refused
 * with their reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract_scene.h"
#include "seal/extract.h"

#define QR "certdesk:form:seal:YT20261124-000123:v1"
#define RED 0.82, 0.12, 0.14
#define BLUE 0.15, 0.25, 0.75
#define BLACK 0.12, 0.12, 0.13

/* Returns the stamp of shape and colour centred on slot's box, moved by (dx, dy) mm. */
static struct stamp on_box(enum seal_slot slot, enum stamp_shape shape, double r, double g, double b,
			   double dx, double dy)
{
	struct stamp st = {.shape = shape, .r = r, .g = g, .b = b};

	scene_box_centre(slot, &st.cx, &st.cy);
	st.cx += dx, st.cy += dy;
	return st;
}

/* Maps page mm to scan pixels the way scene_draw placed the page. */
static void page_to_scan(const struct scene *sc, const struct seal_rgb *img, double x, double y, double *px,
			 double *py)
{
	double ppm = sc->dpi / 25.4, a = sc->angle_deg * M_PI / 180;
	double u = (x - 105) * ppm, v = (y - 148.5) * ppm;

	*px = img->w / 2.0 + u * cos(a) - v * sin(a);
	*py = img->h / 2.0 + u * sin(a) + v * cos(a);
}

/* The inverse of page_to_scan. */
static void scan_to_page(const struct scene *sc, const struct seal_rgb *img, double px, double py, double *x,
			 double *y)
{
	double ppm = sc->dpi / 25.4, a = sc->angle_deg * M_PI / 180;
	double u = px - img->w / 2.0, v = py - img->h / 2.0;

	*x = 105 + (u * cos(a) + v * sin(a)) / ppm;
	*y = 148.5 + (-u * sin(a) + v * cos(a)) / ppm;
}

/* Draws sc, asserting success. */
static void draw(const struct scene *sc, struct seal_rgb *img)
{
	assert_int_equal(scene_draw(sc, img), 0);
}

/* Locates the page on img and checks the transform and every box against the truth of sc. */
static void locate_ok(const struct scene *sc, const struct seal_rgb *img, struct seal_page *page,
		      struct seal_box boxes[SEAL_NSLOTS])
{
	assert_int_equal(seal_locate(img, "certdesk:form:", page, boxes), 0);
	assert_true(page->located);
	assert_string_equal(page->qr_text, QR);
	assert_true(fabs(page->angle_deg - sc->angle_deg) < 0.1);
	assert_true(fabs(page->px_per_mm / (sc->dpi / 25.4) - 1) < 0.005);
	for (int i = 0; i < SEAL_NSLOTS; i++) {
		double x, y, px, py;
		scene_box_centre(i, &x, &y);
		page_to_scan(sc, img, x, y, &px, &py);
		printf("box %d off by %.2f mm (angle %.3f/%.3f, ppm %.4f/%.4f)\n", i,
		       hypot(boxes[i].cx - px, boxes[i].cy - py) / page->px_per_mm, page->angle_deg,
		       sc->angle_deg, page->px_per_mm, sc->dpi / 25.4);
		/* Within 1 mm of the printed box's centre. */
		assert_true(hypot(boxes[i].cx - px, boxes[i].cy - py) < page->px_per_mm);
		assert_true(fabs(boxes[i].w / page->px_per_mm - seal_slot_box_mm(i) -
				 2 * SEAL_BOX_MARGIN_MM) < 0.5);
	}
}

/* Compares the picture in res with the drawn stamp st: IoU of inked pixels, transparent background. */
static void picture_matches(const struct scene *sc, const struct seal_rgb *img, const struct seal_box *box,
			    const struct stamp *st, const struct seal_result *res)
{
	unsigned w = (unsigned)lrint(box->w), h = (unsigned)lrint(box->h), pw, ph;
	unsigned char *truth = calloc((size_t)w * h, 1), *rgba = NULL;
	double mx, my;
	size_t both = 0, either = 0, stray = 0;

	assert_non_null(truth);
	scan_to_page(sc, img, box->cx, box->cy, &mx, &my);
	scene_truth(st, mx, my, sc->dpi / 25.4, w, h, truth);
	assert_int_equal(seal_rgba_decode_png(res->png, res->png_len, &rgba, &pw, &ph), 0);
	assert_int_equal(pw, res->width_px);
	assert_int_equal(ph, res->height_px);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			int in = x >= res->off_x && y >= res->off_y && x < res->off_x + pw &&
				 y < res->off_y + ph;
			unsigned a = in ? rgba[((size_t)(y - res->off_y) * pw + x - res->off_x) * 4 + 3] : 0;
			int t = truth[(size_t)y * w + x], near = 0;
			both += t && a > 127, either += t || a > 127;
			for (int dy = -2; dy <= 2 && !near; dy++)
				for (int dx = -2; dx <= 2 && !near; dx++) {
					long xx = (long)x + dx, yy = (long)y + dy;
					near = xx >= 0 && yy >= 0 && xx < (long)w && yy < (long)h &&
					       truth[(size_t)yy * w + (size_t)xx];
				}
			stray += !near && a > 25;
		}
	printf("  IoU %.3f, %zu stray pixels, %ux%u px = %.1fx%.1f mm\n", (double)both / either, stray, pw,
	       ph, res->width_mm, res->height_mm);
	assert_true((double)both / either >= 0.9);
	assert_true(stray * 1000 <= (size_t)pw * ph); /* the background is transparent */
	if (st->shape == STAMP_ROUND)
		assert_int_equal(rgba[3], 0); /* the corner outside the ring */
	free(rgba);
	free(truth);
}

/* Extracts slot and expects an accepted picture matching st of the given size (mm). */
static void extract_ok(const struct scene *sc, const struct seal_rgb *img, const struct seal_page *page,
		       const struct seal_box *box, enum seal_slot slot, const struct stamp *st,
		       double size_mm)
{
	struct seal_result res;

	assert_int_equal(seal_extract(img, page, slot, box, NULL, &res), 0);
	printf("%s: %s %s (red %u, contrast %.0f, sharpness %.2f)\n", seal_slot_name(slot),
	       seal_verdict_code(res.verdict), res.reason, res.red_pixels, res.contrast, res.sharpness);
	assert_int_equal(res.verdict, SEAL_OK);
	assert_non_null(res.png);
	assert_true(fabs(res.width_mm - size_mm) <= 1.0);
	assert_true(fabs(res.height_mm - size_mm) <= 1.0);
	picture_matches(sc, img, box, st, &res);
	seal_result_free(&res);
}

/* A scan with two round unit seals and two square legal seals. */
static struct scene good_scene(double dpi, double angle)
{
	struct scene sc = {.dpi = dpi, .angle_deg = angle, .qr_text = QR, .seed = 7};

	sc.stamps[SEAL_UNIT_1] = on_box(SEAL_UNIT_1, STAMP_ROUND, RED, 0.4, -0.3);
	sc.stamps[SEAL_UNIT_2] = on_box(SEAL_UNIT_2, STAMP_ROUND, RED, -1.0, 0.8);
	sc.stamps[SEAL_LEGAL_1] = on_box(SEAL_LEGAL_1, STAMP_SQUARE, RED, 0.5, 0.2);
	sc.stamps[SEAL_LEGAL_2] = on_box(SEAL_LEGAL_2, STAMP_SQUARE, RED, -0.6, -0.4);
	return sc;
}

/* Runs the good scene at dpi and angle: all four boxes found and extracted. */
static void good(double dpi, double angle)
{
	struct scene sc = good_scene(dpi, angle);
	struct seal_rgb img;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];

	draw(&sc, &img);
	locate_ok(&sc, &img, &page, boxes);
	for (int i = 0; i < SEAL_NSLOTS; i++)
		extract_ok(&sc, &img, &page, &boxes[i], i, &sc.stamps[i], i < 2 ? 42.0 : 19.2);
	seal_rgb_free(&img);
}

static void test_150dpi_rotated(void **state)
{
	(void)state;
	good(150, 1.6);
}

static void test_300dpi_rotated(void **state)
{
	(void)state;
	good(300, -2.2);
}

/* Extracts slot and expects the verdict v. */
static void expect(const struct seal_rgb *img, const struct seal_page *page, const struct seal_box *box,
		   enum seal_slot slot, const struct seal_opts *opts, enum seal_verdict v)
{
	struct seal_result res;

	assert_int_equal(seal_extract(img, page, slot, box, opts, &res), 0);
	printf("%s: %s %s (red %u blue %u dark %u, contrast %.0f, sharpness %.2f)\n", seal_slot_name(slot),
	       seal_verdict_code(res.verdict), res.reason, res.red_pixels, res.blue_pixels, res.dark_pixels,
	       res.contrast, res.sharpness);
	assert_string_equal(seal_verdict_code(res.verdict), seal_verdict_code(v));
	assert_int_equal(res.reason[0] != '\0', !seal_verdict_accepts(v));
	seal_result_free(&res);
}

/* No impression, a blue stamp, a black stamp, a stamp over the frame. */
static void test_bad_impressions(void **state)
{
	struct scene sc = {.dpi = 150, .angle_deg = 0.8, .qr_text = QR, .seed = 11};
	struct seal_opts sig = {.allow_signature = 1};
	struct seal_rgb img;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];

	(void)state;
	sc.stamps[SEAL_UNIT_2] = on_box(SEAL_UNIT_2, STAMP_ROUND, BLUE, 0, 0);
	sc.stamps[SEAL_LEGAL_1] = on_box(SEAL_LEGAL_1, STAMP_SQUARE, BLACK, 0, 0);
	sc.stamps[SEAL_LEGAL_2] = on_box(SEAL_LEGAL_2, STAMP_SQUARE, RED, 9.0, 3.0); /* over the right edge */
	draw(&sc, &img);
	locate_ok(&sc, &img, &page, boxes);
	expect(&img, &page, &boxes[SEAL_UNIT_1], SEAL_UNIT_1, NULL, SEAL_NO_IMPRESSION);
	expect(&img, &page, &boxes[SEAL_UNIT_2], SEAL_UNIT_2, NULL, SEAL_BLUE);
	expect(&img, &page, &boxes[SEAL_LEGAL_1], SEAL_LEGAL_1, NULL, SEAL_BLACK);
	/* Where the project accepts the legal person's signature, black ink in a legal box is one. */
	expect(&img, &page, &boxes[SEAL_LEGAL_1], SEAL_LEGAL_1, &sig, SEAL_SIGNATURE);
	expect(&img, &page, &boxes[SEAL_LEGAL_2], SEAL_LEGAL_2, NULL, SEAL_CUT);
	/* Staff widen the box around the stamp over the frame: still over the frame line. */
	boxes[SEAL_LEGAL_2].w *= 1.6;
	expect(&img, &page, &boxes[SEAL_LEGAL_2], SEAL_LEGAL_2, NULL, SEAL_CUT);
	seal_rgb_free(&img);
}

/* A pale stamp, one with a pink haze around it, and a smeared one. */
static void test_faint_and_tint(void **state)
{
	struct scene sc = {.dpi = 150, .angle_deg = -0.5, .qr_text = QR, .seed = 5};
	struct seal_rgb img;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];

	(void)state;
	sc.stamps[SEAL_UNIT_1] = on_box(SEAL_UNIT_1, STAMP_ROUND, 0.97, 0.78, 0.78, 0, 0);
	sc.stamps[SEAL_UNIT_2] = on_box(SEAL_UNIT_2, STAMP_ROUND, RED, 0, 0);
	sc.stamps[SEAL_UNIT_2].tint = 0.25;
	sc.stamps[SEAL_LEGAL_1] = on_box(SEAL_LEGAL_1, STAMP_SQUARE, RED, 0, 0);
	sc.stamps[SEAL_LEGAL_1].blur = 0.8;
	draw(&sc, &img);
	locate_ok(&sc, &img, &page, boxes);
	expect(&img, &page, &boxes[SEAL_UNIT_1], SEAL_UNIT_1, NULL, SEAL_FAINT);
	expect(&img, &page, &boxes[SEAL_UNIT_2], SEAL_UNIT_2, NULL, SEAL_TINT);
	expect(&img, &page, &boxes[SEAL_LEGAL_1], SEAL_LEGAL_1, NULL, SEAL_FAINT);
	seal_rgb_free(&img);
}

/* Without a readable QR code the page is not located (the reply says so); the boxes of an upright
 * full-page scan are proposed and snapped onto the printed frames found near them, so on a page
 * turned by a degree they are still right. Also through the PNG decoder. */
static void test_qr_unreadable(void **state)
{
	struct scene sc = good_scene(150, 1.0);
	struct seal_rgb img, back;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];
	unsigned char *png = NULL;
	size_t len = 0;

	(void)state;
	sc.qr_text = NULL;
	draw(&sc, &img);
	assert_int_equal(scene_png(&img, &png, &len), 0);
	assert_int_equal(seal_rgb_decode(png, len, &back), 0);
	assert_int_equal(back.w, img.w);
	assert_memory_equal(back.px, img.px, (size_t)img.w * img.h * 3);
	assert_int_equal(seal_locate(&back, "certdesk:form:", &page, boxes), 0);
	assert_false(page.located);
	assert_string_equal(page.qr_text, "");
	for (int i = 0; i < SEAL_NSLOTS; i++) {
		double x, y, px, py;
		scene_box_centre(i, &x, &y);
		page_to_scan(&sc, &img, x, y, &px, &py);
		assert_true(hypot(boxes[i].cx - px, boxes[i].cy - py) < 0.5 * page.px_per_mm);
	}
	extract_ok(&sc, &back, &page, &boxes[SEAL_UNIT_1], SEAL_UNIT_1, &sc.stamps[SEAL_UNIT_1], 42.0);
	/* A QR code of something else is not the form's. */
	assert_int_equal(seal_locate(&back, "https://", &page, boxes), 0);
	assert_false(page.located);
	free(png);
	seal_rgb_free(&back);
	seal_rgb_free(&img);
}

/* A scanner's JPEG (chroma subsampled, under the 1 MB upload limit), through the decoder. */
static void test_jpeg_scan(void **state)
{
	struct scene sc = good_scene(150, 1.2);
	struct seal_rgb img, back;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];
	unsigned char *jpeg = NULL;
	size_t len = 0;

	(void)state;
	sc.clean = 1;
	draw(&sc, &img);
	assert_int_equal(scene_jpeg(&img, &jpeg, &len), 0);
	printf("JPEG %zu bytes\n", len);
	assert_true(len <= 1048576);
	assert_int_equal(seal_rgb_decode(jpeg, len, &back), 0);
	locate_ok(&sc, &back, &page, boxes);
	for (int i = 0; i < SEAL_NSLOTS; i++)
		extract_ok(&sc, &back, &page, &boxes[i], i, &sc.stamps[i], i < 2 ? 42.0 : 19.2);
	free(jpeg);
	seal_rgb_free(&back);
	seal_rgb_free(&img);
}

/* Staff's own PNG: a 1-pixel picture is refused; a clean extracted seal passes the same checks. */
static void test_check_png(void **state)
{
	unsigned char white[3] = {255, 255, 255}, *one_px = NULL;
	struct seal_rgb dot = {white, 1, 1};
	size_t one_len = 0;
	struct scene sc = good_scene(150, 1.0);
	struct seal_rgb img;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];
	struct seal_result res, again;

	(void)state;
	assert_int_equal(scene_png(&dot, &one_px, &one_len), 0);
	assert_int_equal(seal_check_png(one_px, one_len, SEAL_UNIT_1, 0, NULL, &res), 0);
	free(one_px);
	assert_int_equal(res.verdict, SEAL_TOO_SMALL);
	assert_true(strstr(res.reason, "图片太小") != NULL);
	seal_result_free(&res);
	assert_int_equal(seal_check_png((const unsigned char *)"not a png", 9, SEAL_UNIT_1, 0, NULL, &res),
			 -1);
	draw(&sc, &img);
	locate_ok(&sc, &img, &page, boxes);
	for (int i = 0; i < SEAL_NSLOTS; i++) {
		assert_int_equal(seal_extract(&img, &page, i, &boxes[i], NULL, &res), 0);
		assert_int_equal(res.verdict, SEAL_OK);
		assert_int_equal(seal_check_png(res.png, res.png_len, i, res.width_mm, NULL, &again), 0);
		printf("%s again: %s %s\n", seal_slot_name(i), seal_verdict_code(again.verdict),
		       again.reason);
		assert_int_equal(again.verdict, SEAL_OK);
		assert_true(fabs(again.width_mm - res.width_mm) <= 1.0);
		seal_result_free(&again);
		seal_result_free(&res);
	}
	seal_rgb_free(&img);
}

/* Boxes that cannot be cut are refused; slot names round-trip. */
static void test_bad_boxes(void **state)
{
	unsigned char px[3 * 64 * 64];
	struct seal_rgb img = {px, 64, 64};
	struct seal_page page = {.a = 4, .px_per_mm = 4};
	struct seal_box bad[] = {{32, 32, 0, 10}, {32, 32, 10, 1e9}, {NAN, 3, 10, 10}, {32, 32, -5, 10}};
	struct seal_result res;

	(void)state;
	memset(px, 250, sizeof(px));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(seal_extract(&img, &page, SEAL_UNIT_1, &bad[i], NULL, &res), -1);
	assert_int_equal(
		seal_extract(&img, &page, SEAL_NSLOTS, &(struct seal_box){32, 32, 40, 40}, NULL, &res), -1);
	assert_int_equal(
		seal_extract(&img, &page, SEAL_UNIT_1, &(struct seal_box){32, 32, 40, 40}, NULL, &res), 0);
	assert_int_equal(res.verdict, SEAL_NO_IMPRESSION);
	seal_result_free(&res);
	for (int i = 0; i < SEAL_NSLOTS; i++)
		assert_int_equal(seal_slot_parse(seal_slot_name(i)), i);
	assert_int_equal(seal_slot_parse("unit_3"), -1);
	assert_int_equal(seal_slot_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_150dpi_rotated),  cmocka_unit_test(test_300dpi_rotated),
		cmocka_unit_test(test_bad_impressions), cmocka_unit_test(test_faint_and_tint),
		cmocka_unit_test(test_qr_unreadable),   cmocka_unit_test(test_jpeg_scan),
		cmocka_unit_test(test_check_png),       cmocka_unit_test(test_bad_boxes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
