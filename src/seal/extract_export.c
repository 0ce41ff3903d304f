/* From a judged crop to the seal picture: the impression's pixels (and a rim around them, so its edges
 * stay smooth) get an opacity from how strongly they are inked and their ink colour with the paper
 * taken out; everything else is transparent. Trimmed, encoded as PNG; its size in millimetres is
 * its pixels over the scan's scale. Also the two entry points that run the whole chain. */
#define SEAL_EXTRACT_INTERNAL
#include "seal/extract.h"

#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/png_out.h"

#define RIM 2 /* pixels around the kept impression that may carry its soft edge */

/* Returns the opacity of pixel i for an impression made of cls. */
static double opacity(const struct seal_crop *c, size_t i, enum seal_cls cls)
{
	const unsigned char *p = c->rgb + i * 3;
	double a;

	if (cls == CLS_RED) {
		double ink = c->ink > 20 ? c->ink : 20;
		a = (c->alpha[i] - 8) / (ink - 8);
	} else {
		double y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
		a = (c->paper_y - y - 20) / 100;
	}
	return a < 0.03 ? 0 : a > 1 ? 1 : a;
}

/* Marks in keep the pixels of cls and those within RIM of them. */
static void grow(const struct seal_crop *c, enum seal_cls cls, unsigned char *keep)
{
	for (unsigned y = 0; y < c->h; y++)
		for (unsigned x = 0; x < c->w; x++) {
			if (c->cls[(size_t)y * c->w + x] != cls)
				continue;
			for (long yy = (long)y - RIM; yy <= (long)y + RIM; yy++)
				for (long xx = (long)x - RIM; xx <= (long)x + RIM; xx++)
					if (xx >= 0 && yy >= 0 && xx < (long)c->w && yy < (long)c->h)
						keep[(size_t)yy * c->w + (size_t)xx] = 1;
		}
}

/* Writes the trimmed picture (x0, y0, w, h of the crop) with its opacities into a cairo surface and
 * encodes it. Returns 0 or -1. */
static int encode(const struct seal_crop *c, const float *op, unsigned x0, unsigned y0, unsigned w,
		  unsigned h, struct seal_result *res)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)w, (int)h);
	unsigned char *data;
	int stride, rc;

	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return -1;
	}
	cairo_surface_flush(s);
	data = cairo_image_surface_get_data(s);
	stride = cairo_image_surface_get_stride(s);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			size_t i = (size_t)(y0 + y) * c->w + x0 + x;
			double a = op[i];
			uint32_t px = 0;
			if (a > 0) {
				uint32_t v[3];
				/* Observed = a * ink + (1 - a) * paper: solve for the ink, premultiply. */
				for (int k = 0; k < 3; k++) {
					double ink = (c->rgb[i * 3 + k] - (1 - a) * c->paper[k]) / a;
					v[k] = (uint32_t)lrint((ink < 0 ? 0 : ink > 255 ? 255 : ink) * a);
				}
				px = (uint32_t)lrint(a * 255) << 24 | v[0] << 16 | v[1] << 8 | v[2];
			}
			memcpy(data + (size_t)y * (size_t)stride + x * 4, &px, 4);
		}
	cairo_surface_mark_dirty(s);
	rc = png_out(s, &res->png, &res->png_len);
	cairo_surface_destroy(s);
	return rc;
}

int seal_export(const struct seal_crop *c, enum seal_cls cls, struct seal_result *res)
{
	size_t n = (size_t)c->w * c->h;
	unsigned char *keep = calloc(n, 1);
	float *op = calloc(n, sizeof(float));
	unsigned x0 = c->w, y0 = c->h, x1 = 0, y1 = 0;
	int rc = -1;

	if (keep == NULL || op == NULL)
		goto out;
	grow(c, cls, keep);
	for (size_t i = 0; i < n; i++) {
		unsigned x = (unsigned)(i % c->w), y = (unsigned)(i / c->w);
		op[i] = keep[i] ? (float)opacity(c, i, cls) : 0;
		if (op[i] > 0) {
			x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
			y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
		}
	}
	if (x1 < x0 || y1 < y0)
		goto out;
	res->off_x = x0, res->off_y = y0;
	res->width_px = x1 - x0 + 1, res->height_px = y1 - y0 + 1;
	res->width_mm = res->width_px / c->px_per_mm, res->height_mm = res->height_px / c->px_per_mm;
	rc = encode(c, op, x0, y0, res->width_px, res->height_px, res);
out:
	free(keep);
	free(op);
	return rc;
}

/* Segments, judges and exports a crop into res. Returns 0 or -1. */
static int process(struct seal_crop *crop, enum seal_slot slot, const struct seal_opts *opts,
		   struct seal_result *res)
{
	enum seal_cls cls;

	seal_segment(crop);
	cls = seal_judge(crop, slot, opts, res);
	if (cls == CLS_PAPER && res->verdict == SEAL_NO_IMPRESSION)
		return 0;
	/* Refused impressions are exported too (blue or black ones as what is there) for staff to see. */
	if (cls == CLS_PAPER)
		cls = res->blue_pixels > res->dark_pixels ? CLS_BLUE : CLS_DARK;
	if (cls == CLS_BLUE)
		return 0;
	return seal_export(crop, cls, res);
}

int seal_extract(const struct seal_rgb *img, const struct seal_page *page, enum seal_slot slot,
		 const struct seal_box *box, const struct seal_opts *opts, struct seal_result *res)
{
	struct seal_crop crop;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((unsigned)slot >= SEAL_NSLOTS || img == NULL || img->px == NULL ||
	    seal_crop_take(img, page, box, &crop) != 0)
		return -1;
	rc = process(&crop, slot, opts, res);
	seal_crop_free(&crop);
	return rc;
}

#define PNG_MIN_SIDE 64u /* smaller cannot show a seal's characters */

int seal_check_rgba(const unsigned char *rgba, unsigned w, unsigned h, enum seal_slot slot, double width_mm,
		    const struct seal_opts *opts, struct seal_result *res)
{
	struct seal_crop crop;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((unsigned)slot >= SEAL_NSLOTS || rgba == NULL)
		return -1;
	if (w < PNG_MIN_SIDE || h < PNG_MIN_SIDE) {
		res->verdict = SEAL_TOO_SMALL;
		snprintf(res->reason, sizeof(res->reason), "图片太小（%u×%u 像素），至少 %u×%u 像素", w, h,
			 PNG_MIN_SIDE, PNG_MIN_SIDE);
		return 0;
	}
	/* Unknown resolution: the picture is taken to be the usual size of such a seal. */
	if (!(width_mm > 0))
		width_mm = slot == SEAL_UNIT_1 || slot == SEAL_UNIT_2 ? 42.0 : 20.0;
	if (seal_crop_from_rgba(rgba, w, h, w / width_mm, &crop) != 0)
		return -1;
	crop.loose = 1;
	rc = process(&crop, slot, opts, res);
	seal_crop_free(&crop);
	return rc;
}

int seal_check_png(const unsigned char *data, size_t len, enum seal_slot slot, double width_mm,
		   const struct seal_opts *opts, struct seal_result *res)
{
	unsigned char *rgba = NULL;
	unsigned w = 0, h = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if ((unsigned)slot < SEAL_NSLOTS && seal_rgba_decode_png(data, len, &rgba, &w, &h) == 0)
		rc = seal_check_rgba(rgba, w, h, slot, width_mm, opts, res);
	free(rgba);
	return rc;
}

void seal_result_free(struct seal_result *res)
{
	free(res->png);
	res->png = NULL;
	res->png_len = 0;
}
