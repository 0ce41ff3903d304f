#include "docs/qrscan.h"

#include <gd.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
};

static void jpeg_fail(j_common_ptr cinfo)
{
	longjmp(((struct jerr *)cinfo->err)->jump, 1);
}

/* The short side, in pixels, that a JPEG is reduced to (not below) before its QR codes are looked
 * for: zbar finds the forms' codes on A4 pages of 620 pixels across (75 dpi) read from 150 and 300 dpi
 * scans, and scans a quarter of the pixels four times faster (issue 17). When none is found the
 * full-size image is tried. */
#define QR_MIN_SIDE 600u

/* Returns the largest libjpeg scale denominator (8, 4, 2 or 1) that keeps the short side of a w x h
 * image at QR_MIN_SIDE pixels or more. */
static unsigned qr_denom(unsigned w, unsigned h)
{
	unsigned side = w < h ? w : h, d = 8;

	while (d > 1 && (side + d - 1) / d < QR_MIN_SIDE)
		d /= 2;
	return d;
}

/* Decodes a JPEG to grey, at full size or (reduce) at the scale qr_denom picks; *reduced says whether
 * it is smaller than the image. */
static int jpeg_grey(const unsigned char *d, size_t len, int reduce, unsigned char **out, unsigned *w,
		     unsigned *h, int *reduced)
{
	struct jpeg_decompress_struct cinfo;
	struct jerr err;
	unsigned char *volatile buf = NULL;

	cinfo.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = jpeg_fail;
	jpeg_create_decompress(&cinfo);
	if (setjmp(err.jump) != 0) {
		jpeg_destroy_decompress(&cinfo);
		free(buf);
		return -1;
	}
	jpeg_mem_src(&cinfo, d, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	cinfo.out_color_space = JCS_GRAYSCALE;
	cinfo.scale_num = 1;
	cinfo.scale_denom = reduce ? qr_denom(cinfo.image_width, cinfo.image_height) : 1;
	*reduced = cinfo.scale_denom > 1;
	jpeg_start_decompress(&cinfo);
	*w = cinfo.output_width;
	*h = cinfo.output_height;
	buf = malloc((size_t)*w * *h);
	if (buf == NULL)
		longjmp(err.jump, 1);
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = buf + (size_t)cinfo.output_scanline * *w;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	*out = buf;
	return 0;
}

/* Decodes a PNG to grey. */
static int png_grey(const unsigned char *d, size_t len, unsigned char **out, unsigned *w, unsigned *h)
{
	png_image img;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, d, len))
		return -1;
	img.format = PNG_FORMAT_GRAY;
	*out = malloc(PNG_IMAGE_SIZE(img));
	if (*out == NULL || !png_image_finish_read(&img, NULL, *out, 0, NULL)) {
		free(*out);
		png_image_free(&img);
		return -1;
	}
	*w = img.width;
	*h = img.height;
	return 0;
}

/* Decodes a BMP to grey through libgd. */
static int bmp_grey(const unsigned char *d, size_t len, unsigned char **out, unsigned *w, unsigned *h)
{
	gdImagePtr im = gdImageCreateFromBmpPtr((int)len, (void *)d);

	if (im == NULL)
		return -1;
	*w = (unsigned)gdImageSX(im);
	*h = (unsigned)gdImageSY(im);
	*out = malloc((size_t)*w * *h);
	for (unsigned y = 0; *out != NULL && y < *h; y++)
		for (unsigned x = 0; x < *w; x++) {
			int c = gdImageGetTrueColorPixel(im, (int)x, (int)y);
			(*out)[(size_t)y * *w + x] =
				(unsigned char)((gdTrueColorGetRed(c) * 299 + gdTrueColorGetGreen(c) * 587 +
						 gdTrueColorGetBlue(c) * 114) /
						1000);
		}
	gdImageDestroy(im);
	return *out != NULL ? 0 : -1;
}

/* Decodes a PNG or BMP to grey; -1 for anything else. */
static int other_grey(const unsigned char *d, size_t len, unsigned char **grey, unsigned *w, unsigned *h)
{
	if (len >= 8 && d[0] == 0x89 && d[1] == 'P')
		return png_grey(d, len, grey, w, h);
	if (len >= 2 && d[0] == 'B' && d[1] == 'M')
		return bmp_grey(d, len, grey, w, h);
	return -1;
}

/* Returns whether d is a JPEG. */
static int is_jpeg(const unsigned char *d, size_t len)
{
	return len >= 3 && d[0] == 0xff && d[1] == 0xd8;
}

static int ignore(const char *text, void *arg)
{
	(void)text;
	(void)arg;
	return 0;
}

int image_decode_grey(const unsigned char *d, size_t len, unsigned char **grey, unsigned *w, unsigned *h)
{
	int reduced = 0;

	*grey = NULL;
	if (!is_jpeg(d, len))
		return other_grey(d, len, grey, w, h);
	if (jpeg_grey(d, len, 1, grey, w, h, &reduced) != 0)
		return -1;
	if (!reduced || qr_scan(*grey, *w, *h, ignore, NULL) > 0)
		return 0;
	free(*grey);
	*grey = NULL;
	return jpeg_grey(d, len, 0, grey, w, h, &reduced);
}

int image_scan_qr(const unsigned char *d, size_t len, int (*found)(const char *text, void *arg), void *arg)
{
	unsigned char *grey = NULL;
	unsigned w = 0, h = 0;
	int reduced = 0, n = -1;

	if (!is_jpeg(d, len)) {
		if (other_grey(d, len, &grey, &w, &h) == 0)
			n = qr_scan(grey, w, h, found, arg);
		free(grey);
		return n;
	}
	if (jpeg_grey(d, len, 1, &grey, &w, &h, &reduced) != 0)
		return -1;
	n = qr_scan(grey, w, h, found, arg);
	free(grey);
	grey = NULL;
	if (n == 0 && reduced && jpeg_grey(d, len, 0, &grey, &w, &h, &reduced) == 0)
		n = qr_scan(grey, w, h, found, arg);
	free(grey);
	return n;
}

int qr_scan(const unsigned char *grey, unsigned w, unsigned h, int (*found)(const char *text, void *arg),
	    void *arg)
{
	zbar_image_scanner_t *scanner = zbar_image_scanner_create();
	zbar_image_t *img = zbar_image_create();
	int n = 0;

	zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, w, h);
	zbar_image_set_data(img, grey, (unsigned long)w * h, NULL);
	if (zbar_scan_image(scanner, img) > 0) {
		for (const zbar_symbol_t *s = zbar_image_first_symbol(img); s != NULL;
		     s = zbar_symbol_next(s)) {
			n++;
			if (found(zbar_symbol_get_data(s), arg) != 0)
				break;
		}
	}
	zbar_image_destroy(img);
	zbar_image_scanner_destroy(scanner);
	return n;
}

int image_looks_like_photo(const unsigned char *d, size_t len)
{
	size_t p = 2;

	if (len < 4 || d[0] != 0xff || d[1] != 0xd8)
		return 0;
	/* Walk the markers before the image data looking for APP1 "Exif" with a Make tag (0x010f). */
	while (p + 4 <= len && d[p] == 0xff && d[p + 1] != 0xda) {
		size_t seg = (size_t)d[p + 2] << 8 | d[p + 3];
		if (seg < 2 || p + 2 + seg > len)
			return 0;
		if (d[p + 1] == 0xe1 && seg > 8 && memcmp(d + p + 4, "Exif\0\0", 6) == 0) {
			const unsigned char *e = d + p + 10;
			size_t n = seg - 8;
			for (size_t i = 0; i + 1 < n; i++)
				if ((e[i] == 0x01 && e[i + 1] == 0x0f) || (e[i] == 0x0f && e[i + 1] == 0x01))
					return 1;
		}
		p += 2 + seg;
	}
	return 0;
}
