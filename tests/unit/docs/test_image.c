/* Upload validation: real JPEG, PNG and BMP pass with their facts; everything else is refused
 * with the rule it broke. Images are made here with libgd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <gd.h>
#include <stdlib.h>
#include <string.h>

#include "docs/image.h"

enum kind { JPEG, PNG, BMP };

/* Returns a w x h image of the kind (caller gdFree's) and its size in *n. */
static unsigned char *make(enum kind k, int w, int h, int *n)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	void *p;

	gdImageFilledRectangle(im, 0, 0, w - 1, h - 1, 0xffffff);
	gdImageLine(im, 0, 0, w - 1, h - 1, 0x000000);
	gdImageSetResolution(im, 200, 200);
	p = k == JPEG ? gdImageJpegPtr(im, n, 85) : k == PNG ? gdImagePngPtr(im, n) : gdImageBmpPtr(im, n, 0);
	gdImageDestroy(im);
	return p;
}

/* Expects data to be refused with code. */
static void refused(const unsigned char *data, size_t len, const char *code)
{
	struct image_info info;
	const char *c = NULL, *msg = NULL;

	assert_int_equal(image_inspect(data, len, &info, &c, &msg), -1);
	assert_string_equal(c, code);
	assert_true((unsigned char)msg[0] >= 0xe4);
}

static void test_accepts_real_images(void **state)
{
	const char *types[] = {"image/jpeg", "image/png", "image/bmp"};
	struct image_info info;
	const char *code, *msg;
	(void)state;

	for (int k = JPEG; k <= BMP; k++) {
		int n = 0;
		unsigned char *p = make(k, 320, 200, &n);
		assert_int_equal(image_inspect(p, (size_t)n, &info, &code, &msg), 0);
		assert_string_equal(info.media_type, types[k]);
		assert_int_equal(info.width, 320);
		assert_int_equal(info.height, 200);
		if (k == JPEG)
			assert_int_equal(info.dpi_x, 200);
		gdFree(p);
	}
}

static void test_truncated_refused(void **state)
{
	(void)state;
	for (int k = JPEG; k <= BMP; k++) {
		int n = 0;
		unsigned char *p = make(k, 320, 200, &n);
		refused(p, (size_t)n - 40, k == PNG ? "image_corrupt" : "image_corrupt");
		gdFree(p);
	}
}

static void test_trailing_data_refused(void **state)
{
	(void)state;
	for (int k = JPEG; k <= PNG; k++) {
		int n = 0;
		static const char tail[] = "PK\x03\x04 hidden archive";
		unsigned char *p = make(k, 240, 240, &n), *q = malloc((size_t)n + sizeof(tail));
		memcpy(q, p, (size_t)n);
		memcpy(q + n, tail, sizeof(tail));
		refused(q, (size_t)n + sizeof(tail), "file_trailing_data");
		free(q);
		gdFree(p);
	}
}

static void test_other_types_refused(void **state)
{
	const unsigned char exe[] = "MZ\x90\x00\x03\x00\x00\x00";
	const unsigned char pdf[] = "%PDF-1.7\n1 0 obj";
	const unsigned char gif[] = "GIF89a\x01\x00\x01\x00";
	(void)state;

	refused(exe, sizeof(exe) - 1, "file_type");
	refused(pdf, sizeof(pdf) - 1, "file_type");
	refused(gif, sizeof(gif) - 1, "file_type");
	refused(pdf, 0, "file_type");
}

static void test_too_large_refused(void **state)
{
	unsigned char *big = calloc(1, IMAGE_MAX_BYTES + 1);
	(void)state;

	big[0] = 0x89;
	refused(big, IMAGE_MAX_BYTES + 1, "file_too_large");
	free(big);
}

/* A header claiming huge dimensions is refused before any pixel is decoded. */
static void test_decompression_bomb_refused(void **state)
{
	int n = 0;
	unsigned char *p = make(PNG, 16, 16, &n);
	(void)state;

	/* IHDR width and height are at offsets 16 and 20; the CRC no longer matches, which libpng
	 * would also refuse, but the bound must come first. */
	p[16] = 0, p[17] = 0, p[18] = 0x4e, p[19] = 0x20; /* 20000 */
	refused(p, (size_t)n, "image_dimensions");
	gdFree(p);
	p = make(BMP, 16, 16, &n);
	p[18] = 0x20, p[19] = 0x4e, p[20] = 0, p[21] = 0; /* width 20000 */
	refused(p, (size_t)n, "image_dimensions");
	gdFree(p);
}

static void test_too_small_refused(void **state)
{
	int n = 0;
	unsigned char *p = make(PNG, 199, 400, &n);
	(void)state;

	refused(p, (size_t)n, "image_too_small");
	gdFree(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_real_images),
		cmocka_unit_test(test_truncated_refused),
		cmocka_unit_test(test_trailing_data_refused),
		cmocka_unit_test(test_other_types_refused),
		cmocka_unit_test(test_too_large_refused),
		cmocka_unit_test(test_decompression_bomb_refused),
		cmocka_unit_test(test_too_small_refused),
	};
	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
