/* Where the impression boxes are on a scan: the seal form's QR code, read with zbar, gives four points
 * whose place on the page is known (docs/forms_seal_layout.h); a similarity fitted to them maps every
 * box from millimetres to scan pixels. Also the colour decoding of the scan and the slot names. */
#define SEAL_EXTRACT_INTERNAL
#include "seal/extract.h"

#include <gd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

#include "docs/forms_seal_layout.h"

static const char *const slot_names[SEAL_NSLOTS] = {"unit_1", "unit_2", "legal_1", "legal_2"};

const char *seal_slot_name(enum seal_slot s)
{
	return (unsigned)s < SEAL_NSLOTS ? slot_names[s] : "";
}

int seal_slot_parse(const char *name)
{
	for (int i = 0; name != NULL && i < SEAL_NSLOTS; i++)
		if (strcmp(name, slot_names[i]) == 0)
			return i;
	return -1;
}

double seal_slot_box_mm(enum seal_slot s)
{
	return s == SEAL_UNIT_1 || s == SEAL_UNIT_2 ? FORMS_SEAL_BIG : FORMS_SEAL_SMALL;
}

/* Returns the gd image of the bytes (truecolour), or NULL. */
static gdImagePtr gd_decode(const unsigned char *d, size_t len)
{
	gdImagePtr im = NULL;

	if (len > (size_t)0x7fffffff)
		return NULL;
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8)
		im = gdImageCreateFromJpegPtr((int)len, (void *)d);
	else if (len >= 8 && d[0] == 0x89 && d[1] == 'P')
		im = gdImageCreateFromPngPtr((int)len, (void *)d);
	else if (len >= 2 && d[0] == 'B' && d[1] == 'M')
		im = gdImageCreateFromBmpPtr((int)len, (void *)d);
	if (im != NULL && !gdImageTrueColor(im) && !gdImagePaletteToTrueColor(im)) {
		gdImageDestroy(im);
		return NULL;
	}
	return im;
}

int seal_rgb_decode(const unsigned char *d, size_t len, struct seal_rgb *img)
{
	gdImagePtr im = gd_decode(d, len);

	memset(img, 0, sizeof(*img));
	if (im == NULL)
		return -1;
	img->w = (unsigned)gdImageSX(im);
	img->h = (unsigned)gdImageSY(im);
	img->px = malloc((size_t)img->w * img->h * 3 + 1);
	for (unsigned y = 0; img->px != NULL && y < img->h; y++)
		for (unsigned x = 0; x < img->w; x++) {
			int c = gdImageGetTrueColorPixel(im, (int)x, (int)y);
			/* gd's alpha: 0 opaque .. 127 transparent; composite on white. */
			int t = gdTrueColorGetAlpha(c);
			unsigned char *p = img->px + ((size_t)y * img->w + x) * 3;
			p[0] = (unsigned char)((gdTrueColorGetRed(c) * (127 - t) + 255 * t) / 127);
			p[1] = (unsigned char)((gdTrueColorGetGreen(c) * (127 - t) + 255 * t) / 127);
			p[2] = (unsigned char)((gdTrueColorGetBlue(c) * (127 - t) + 255 * t) / 127);
		}
	gdImageDestroy(im);
	if (img->px == NULL) {
		memset(img, 0, sizeof(*img));
		return -1;
	}
	return 0;
}

int seal_rgba_decode_png(const unsigned char *d, size_t len, unsigned char **rgba, unsigned *w, unsigned *h)
{
	gdImagePtr im = len >= 8 && d[0] == 0x89 && d[1] == 'P' ? gd_decode(d, len) : NULL;

	*rgba = NULL;
	if (im == NULL)
		return -1;
	*w = (unsigned)gdImageSX(im);
	*h = (unsigned)gdImageSY(im);
	*rgba = malloc((size_t)*w * *h * 4 + 1);
	for (unsigned y = 0; *rgba != NULL && y < *h; y++)
		for (unsigned x = 0; x < *w; x++) {
			int c = gdImageGetTrueColorPixel(im, (int)x, (int)y);
			unsigned char *p = *rgba + ((size_t)y * *w + x) * 4;
			p[0] = (unsigned char)gdTrueColorGetRed(c);
			p[1] = (unsigned char)gdTrueColorGetGreen(c);
			p[2] = (unsigned char)gdTrueColorGetBlue(c);
			p[3] = (unsigned char)(255 - (gdTrueColorGetAlpha(c) * 255 + 63) / 127);
		}
	gdImageDestroy(im);
	return *rgba != NULL ? 0 : -1;
}

void seal_rgb_free(struct seal_rgb *img)
{
	free(img->px);
	memset(img, 0, sizeof(*img));
}

/* Fits the similarity taking the n millimetre points mm to the pixel points px (least squares). */
static void fit_similarity(const double mm[][2], const double px[][2], int n, struct seal_page *p)
{
	double mx = 0, my = 0, ux = 0, uy = 0, sxx = 0, num_a = 0, num_b = 0;

	for (int i = 0; i < n; i++) {
		mx += mm[i][0] / n, my += mm[i][1] / n;
		ux += px[i][0] / n, uy += px[i][1] / n;
	}
	for (int i = 0; i < n; i++) {
		double x = mm[i][0] - mx, y = mm[i][1] - my, u = px[i][0] - ux, v = px[i][1] - uy;
		sxx += x * x + y * y;
		num_a += x * u + y * v;
		num_b += x * v - y * u;
	}
	p->a = sxx > 0 ? num_a / sxx : 0;
	p->b = sxx > 0 ? num_b / sxx : 0;
	p->tx = ux - (p->a * mx - p->b * my);
	p->ty = uy - (p->b * mx + p->a * my);
	p->px_per_mm = hypot(p->a, p->b);
	p->angle_deg = atan2(p->b, p->a) * 180.0 / M_PI;
}

/* The transform of a scan whose code could not be read: an upright A4 page filling the image's width. */
static void assume_page(unsigned w, struct seal_page *p)
{
	memset(p, 0, sizeof(*p));
	p->a = p->px_per_mm = w / 210.0;
}

/* Sets p from the zbar symbol s when its four corners make a plausible square. Returns 0 or -1. */
static int page_from_symbol(const zbar_symbol_t *s, struct seal_page *p)
{
	const char *text = zbar_symbol_get_data(s);
	const double quiet = forms_qr_quiet(text, FORMS_SEAL_QR_SIZE);
	const double side = FORMS_SEAL_QR_SIZE - 2 * quiet;
	const double l = FORMS_QR_RIGHT - side, t = FORMS_QR_TOP;
	/* zbar lists a QR code's corners as top left, bottom left, bottom right, top right of the
	 * symbol as printed (its own orientation, whatever the page's rotation). */
	const double mm[4][2] = {{l, t}, {l, t + side}, {l + side, t + side}, {l + side, t}};
	double px[4][2];

	if (quiet <= 0 || zbar_symbol_get_loc_size(s) != 4)
		return -1;
	for (unsigned i = 0; i < 4; i++) {
		px[i][0] = zbar_symbol_get_loc_x(s, i);
		px[i][1] = zbar_symbol_get_loc_y(s, i);
	}
	fit_similarity(mm, px, 4, p);
	if (p->px_per_mm < 1.0) /* under 25 dpi: not a readable form */
		return -1;
	p->located = 1;
	snprintf(p->qr_text, sizeof(p->qr_text), "%s", text);
	return 0;
}

/* Scans grey for the first QR code whose text starts with prefix and sets p from it. Returns 0 or -1. */
static int find_qr(const unsigned char *grey, unsigned w, unsigned h, const char *prefix, struct seal_page *p)
{
	zbar_image_scanner_t *scanner = zbar_image_scanner_create();
	zbar_image_t *img = zbar_image_create();
	int rc = -1;

	zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(img, w, h);
	zbar_image_set_data(img, grey, (unsigned long)w * h, NULL);
	if (zbar_scan_image(scanner, img) > 0)
		for (const zbar_symbol_t *s = zbar_image_first_symbol(img); s != NULL && rc != 0;
		     s = zbar_symbol_next(s)) {
			const char *text = zbar_symbol_get_data(s);
			if (text != NULL && (prefix == NULL || strncmp(text, prefix, strlen(prefix)) == 0))
				rc = page_from_symbol(s, p);
		}
	zbar_image_destroy(img);
	zbar_image_scanner_destroy(scanner);
	return rc;
}

/* Maps each printed box, grown by the margin, through the page transform. */
static void propose_boxes(const struct seal_page *p, struct seal_box boxes[SEAL_NSLOTS])
{
	for (int i = 0; i < SEAL_NSLOTS; i++) {
		double x, y, side;
		forms_seal_box_mm(i, &x, &y, &side);
		x += side / 2, y += side / 2;
		boxes[i].cx = p->a * x - p->b * y + p->tx;
		boxes[i].cy = p->b * x + p->a * y + p->ty;
		boxes[i].w = boxes[i].h = (side + 2 * SEAL_BOX_MARGIN_MM) * p->px_per_mm;
	}
}

/* Returns the grey level at the box-local point (u, v) (pixels along the page's axes from the box's
 * centre), nearest pixel; white outside the image. */
static int grey_at(const unsigned char *grey, unsigned w, unsigned h, const struct seal_page *p,
		   const struct seal_box *b, double u, double v)
{
	double ca = p->a / p->px_per_mm, sa = p->b / p->px_per_mm;
	long x = lrint(b->cx + ca * u - sa * v - 0.5), y = lrint(b->cy + sa * u + ca * v - 0.5);

	return x < 0 || y < 0 || x >= (long)w || y >= (long)h ? 255 : grey[(size_t)y * w + (size_t)x];
}

/* Finds the printed edge of a box near its expected place: the darkest straight line across the
 * middle of the edge, at most reach pixels from expect (box-local, along v when horizontal, else u).
 * Returns 0 with *at (sub-pixel), or -1 when no line stands out from the paper. */
static int find_edge(const unsigned char *grey, unsigned w, unsigned h, const struct seal_page *p,
		     const struct seal_box *b, double side, int horizontal, double expect, double reach,
		     double *at)
{
	double prof[512], best = 1e9, sum = 0;
	int n = (int)(2 * reach) + 1, k_best = -1, len = (int)(0.8 * side);

	if (n > 512 || len < 4)
		return -1;
	for (int k = 0; k < n; k++) {
		double off = expect - reach + k, acc = 0;
		for (int t = 0; t < len; t++) {
			double along = -0.4 * side + t;
			acc += horizontal ? grey_at(grey, w, h, p, b, along, off)
					  : grey_at(grey, w, h, p, b, off, along);
		}
		prof[k] = acc / len, sum += prof[k];
		if (prof[k] < best)
			best = prof[k], k_best = k;
	}
	/* A line: clearly darker than the average of the window (mostly paper). */
	if (k_best <= 0 || k_best >= n - 1 || sum / n - best < 40)
		return -1;
	{
		double l = prof[k_best - 1], c = prof[k_best], r = prof[k_best + 1], d = l - 2 * c + r;
		*at = expect - reach + k_best + (d > 0 ? 0.5 * (l - r) / d : 0);
	}
	return 0;
}

/* Moves box i onto its printed frame when both pairs of opposite edges are found a side apart (the
 * QR code's corners come in whole pixels: far from the code this corrects a millimetre). Returns the
 * scale it measured (pixels per mm), or 0 when the frame was not found. */
static double refine_box(const unsigned char *grey, unsigned w, unsigned h, const struct seal_page *p, int i,
			 struct seal_box *b)
{
	double x, y, side_mm, side, reach, e[4], du, dv;

	forms_seal_box_mm(i, &x, &y, &side_mm);
	side = side_mm * p->px_per_mm;
	reach = (p->located ? 2.5 : 5.0) * p->px_per_mm;
	if (find_edge(grey, w, h, p, b, side, 1, -side / 2, reach, &e[0]) != 0 ||
	    find_edge(grey, w, h, p, b, side, 1, side / 2, reach, &e[1]) != 0 ||
	    find_edge(grey, w, h, p, b, side, 0, -side / 2, reach, &e[2]) != 0 ||
	    find_edge(grey, w, h, p, b, side, 0, side / 2, reach, &e[3]) != 0)
		return 0;
	if (fabs(e[1] - e[0] - side) > p->px_per_mm || fabs(e[3] - e[2] - side) > p->px_per_mm)
		return 0;
	du = (e[2] + e[3]) / 2, dv = (e[0] + e[1]) / 2;
	b->cx += (p->a * du - p->b * dv) / p->px_per_mm;
	b->cy += (p->b * du + p->a * dv) / p->px_per_mm;
	return (e[1] - e[0] + e[3] - e[2]) / 2 / side_mm;
}

int seal_locate_grey(const unsigned char *grey, unsigned w, unsigned h, const char *prefix,
		     struct seal_page *page, struct seal_box boxes[SEAL_NSLOTS])
{
	double mm[SEAL_NSLOTS][2], px[SEAL_NSLOTS][2];
	int found = 0;

	if (grey == NULL || w == 0 || h == 0)
		return -1;
	memset(page, 0, sizeof(*page));
	if (find_qr(grey, w, h, prefix != NULL && prefix[0] != '\0' ? prefix : NULL, page) != 0)
		assume_page(w, page);
	propose_boxes(page, boxes);
	for (int i = 0; i < SEAL_NSLOTS; i++) {
		double side;
		if (refine_box(grey, w, h, page, i, &boxes[i]) == 0)
			continue;
		forms_seal_box_mm(i, &mm[found][0], &mm[found][1], &side);
		mm[found][0] += side / 2, mm[found][1] += side / 2;
		px[found][0] = boxes[i].cx, px[found][1] = boxes[i].cy;
		found++;
	}
	/* The printed frames, spread over 90 by 80 mm, fix scale and rotation better than the 25 mm code
	 * (and give them at all when the code was not read); a box not found keeps its own guess. */
	if (found >= 3) {
		struct seal_page fit = *page;
		fit_similarity(mm, px, found, &fit);
		if (fabs(fit.px_per_mm / page->px_per_mm - 1) < 0.05 &&
		    fabs(fit.angle_deg - page->angle_deg) < 3) {
			fit.located = page->located;
			*page = fit;
			for (int i = 0; i < SEAL_NSLOTS; i++)
				boxes[i].w = boxes[i].h =
					(seal_slot_box_mm(i) + 2 * SEAL_BOX_MARGIN_MM) * page->px_per_mm;
		}
	}
	return 0;
}

int seal_locate(const struct seal_rgb *img, const char *prefix, struct seal_page *page,
		struct seal_box boxes[SEAL_NSLOTS])
{
	size_t n = (size_t)img->w * img->h;
	unsigned char *grey = n > 0 && img->px != NULL ? malloc(n) : NULL;
	int rc;

	if (grey == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = img->px + i * 3;
		grey[i] = (unsigned char)((p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000);
	}
	rc = seal_locate_grey(grey, img->w, img->h, prefix, page, boxes);
	free(grey);
	return rc;
}
