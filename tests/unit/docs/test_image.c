/* Upload validation: real JPEG, PNG and BMP pass with their facts; everything else is refused
 * with the rule it broke. Images are made here with libgd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <gd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docs/forms.h"
#include "docs/image.h"
#include "docs/qrscan.h"

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

/* An end-of-image marker in the middle of the compressed data is still caught: the check decodes at
 * an eighth of the size, which must not skip reading the entropy-coded data (issue 17). */
static void test_corrupt_middle_refused(void **state)
{
	gdImagePtr im = gdImageCreateTrueColor(800, 600);
	unsigned char *p;
	int n = 0;
	size_t sos = 0;
	(void)state;

	for (int y = 0; y < 600; y += 3) /* some detail, so that the scan data is long */
		gdImageLine(im, 0, y, 799, (y * 7) % 600, (int)((y * 2654435761u) & 0xffffff));
	p = gdImageJpegPtr(im, &n, 75);
	gdImageDestroy(im);
	for (size_t i = 2; i + 1 < (size_t)n; i++)
		if (p[i] == 0xff && p[i + 1] == 0xda) {
			sos = i;
			break;
		}
	assert_true(sos > 0 && (size_t)n - sos > 4000 && (size_t)n <= IMAGE_MAX_BYTES);
	p[sos + ((size_t)n - sos) / 2] = 0xff;
	p[sos + ((size_t)n - sos) / 2 + 1] = 0xd9;
	refused(p, (size_t)n, "image_corrupt");
	gdFree(p);
}

static const char qr_text[] = "https://certdesk.example.cn/f/YT20261124-000777";

/* Returns the application form printed with qr_text, scanned at dpi as a JPEG (pdftoppm; grey or
 * colour), in *len (caller frees); NULL when pdftoppm is missing. */
static unsigned char *form_scan(int dpi, int grey, size_t *len)
{
	struct order_doc d = {.order_no = "YT20261124-000777",
			      .key_type = "main",
			      .form_qr_text = qr_text,
			      .created_at = 1795487400LL};
	char dir[] = "/tmp/test-image-XXXXXX", cmd[512], path[300];
	unsigned char *pdf = NULL, *jpg = NULL;
	size_t pdf_len = 0;
	FILE *f;

	if (system("command -v pdftoppm >/dev/null 2>&1") != 0) {
		print_message("skipped: needs pdftoppm (poppler-utils)\n");
		return NULL;
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(forms_render_pdf(FORM_APPLICATION, &d, &pdf, &pdf_len), 0);
	snprintf(path, sizeof(path), "%s/form.pdf", dir);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(pdf, 1, pdf_len, f), pdf_len);
	fclose(f);
	free(pdf);
	snprintf(cmd, sizeof(cmd),
		 "pdftoppm -r %d %s -jpeg -jpegopt quality=85 -singlefile %s/form.pdf %s/scan", dpi,
		 grey ? "-gray" : "", dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/scan.jpg", dir);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	assert_non_null(jpg = malloc(*len));
	assert_int_equal(fread(jpg, 1, *len, f), *len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return jpg;
}

static int is_ours(const char *text, void *arg)
{
	*(int *)arg += strcmp(text, qr_text) == 0;
	return 0;
}

/* The forms' QR codes are found on JPEG scans at the usual resolutions, from a reduced decode (at
 * most half the width) when the scan is large enough, and by image_scan_qr as well (issue 17). */
static void test_qr_found_on_reduced_jpeg(void **state)
{
	static const struct {
		int dpi, grey, reduced;
	} scans[] = {{100, 1, 0}, {150, 0, 1}, {200, 1, 1}, {300, 1, 1}, {300, 0, 1}};
	(void)state;

	for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		size_t len = 0;
		unsigned char *jpg = form_scan(scans[i].dpi, scans[i].grey, &len), *grey = NULL;
		struct image_info info;
		const char *code, *msg;
		unsigned w = 0, h = 0;
		int hits = 0;

		if (jpg == NULL)
			return;
		assert_true(len <= IMAGE_MAX_BYTES);
		assert_int_equal(image_inspect(jpg, len, &info, &code, &msg), 0);
		assert_int_equal(image_decode_grey(jpg, len, &grey, &w, &h), 0);
		if (scans[i].reduced)
			assert_true(w <= (info.width + 1) / 2 && h <= (info.height + 1) / 2);
		else
			assert_true(w == info.width && h == info.height);
		assert_int_equal(qr_scan(grey, w, h, is_ours, &hits), 1);
		assert_int_equal(hits, 1);
		free(grey);
		assert_int_equal(image_scan_qr(jpg, len, is_ours, &hits), 1);
		assert_int_equal(hits, 2);
		free(jpg);
	}
}

/* A large JPEG without a QR code comes back at full size, so that nothing is missed for want of
 * pixels. */
static void test_no_qr_full_size(void **state)
{
	int n = 0, hits = 0;
	unsigned char *p = make(JPEG, 1400, 2000, &n), *grey = NULL;
	unsigned w = 0, h = 0;
	(void)state;

	assert_int_equal(image_decode_grey(p, (size_t)n, &grey, &w, &h), 0);
	assert_int_equal(w, 1400);
	assert_int_equal(h, 2000);
	assert_int_equal(qr_scan(grey, w, h, is_ours, &hits), 0);
	free(grey);
	assert_int_equal(image_scan_qr(p, (size_t)n, is_ours, &hits), 0);
	assert_int_equal(hits, 0);
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
		cmocka_unit_test(test_corrupt_middle_refused),
		cmocka_unit_test(test_qr_found_on_reduced_jpeg),
		cmocka_unit_test(test_no_qr_full_size),
	};
	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
