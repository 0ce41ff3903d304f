/* The colour model that separates an impression from the paper. Not an RGB threshold: every pixel is
 * measured in YCbCr against the paper's own colour (the median of the crop's border, so a yellowish or
 * greyish paper is the reference, not white) and by its hue and saturation. Red ink is far from the
 * paper along Cr with a red hue; blue ink along Cb with a blue hue; text, frame lines and scanner noise
 * are dark or light but without chroma. Also: taking the upright crop, and finding the printed frame. */
#define SEAL_EXTRACT_INTERNAL
#include "seal/extract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 6000u /* a box larger than a 300 dpi A4 page is a mistake */

void seal_crop_free(struct seal_crop *crop)
{
	free(crop->rgb);
	free(crop->alpha);
	free(crop->cls);
	memset(crop, 0, sizeof(*crop));
}

/* Allocates crop's planes for w x h pixels. Returns 0 or -1. */
static int crop_alloc(struct seal_crop *crop, unsigned w, unsigned h)
{
	size_t n = (size_t)w * h;

	memset(crop, 0, sizeof(*crop));
	crop->w = w, crop->h = h;
	crop->rgb = malloc(n * 3);
	crop->alpha = calloc(n, sizeof(float));
	crop->cls = calloc(n, 1);
	if (crop->rgb == NULL || crop->alpha == NULL || crop->cls == NULL) {
		seal_crop_free(crop);
		return -1;
	}
	return 0;
}

/* Samples img at (x, y) bilinearly into out; outside the image is white paper. */
static void sample(const struct seal_rgb *img, double x, double y, unsigned char out[3])
{
	double fx = floor(x - 0.5), fy = floor(y - 0.5);
	double dx = x - 0.5 - fx, dy = y - 0.5 - fy;
	double acc[3] = {0, 0, 0};

	for (int j = 0; j < 2; j++)
		for (int i = 0; i < 2; i++) {
			double wgt = (i ? dx : 1 - dx) * (j ? dy : 1 - dy);
			long px = (long)fx + i, py = (long)fy + j;
			for (int c = 0; c < 3; c++)
				acc[c] +=
					wgt * (px < 0 || py < 0 || px >= (long)img->w || py >= (long)img->h
						       ? 255.0
						       : img->px[((size_t)py * img->w + (size_t)px) * 3 + c]);
		}
	for (int c = 0; c < 3; c++)
		out[c] = (unsigned char)lrint(acc[c] < 0 ? 0 : acc[c] > 255 ? 255 : acc[c]);
}

int seal_crop_take(const struct seal_rgb *img, const struct seal_page *page, const struct seal_box *box,
		   struct seal_crop *crop)
{
	double s = page->px_per_mm, ca, sa;
	unsigned w, h;

	if (!(s > 0) || !isfinite(box->cx) || !isfinite(box->cy) || !(box->w >= 8) || !(box->h >= 8) ||
	    box->w > MAX_SIDE || box->h > MAX_SIDE || fabs(box->cx) > 1e6 || fabs(box->cy) > 1e6)
		return -1;
	w = (unsigned)lrint(box->w), h = (unsigned)lrint(box->h);
	if (crop_alloc(crop, w, h) != 0)
		return -1;
	crop->px_per_mm = s;
	ca = page->a / s, sa = page->b / s;
	for (unsigned j = 0; j < h; j++)
		for (unsigned i = 0; i < w; i++) {
			/* (u, v) along the page's axes from the centre; rotated onto the scan. */
			double u = i + 0.5 - w / 2.0, v = j + 0.5 - h / 2.0;
			sample(img, box->cx + ca * u - sa * v, box->cy + sa * u + ca * v,
			       crop->rgb + ((size_t)j * w + i) * 3);
		}
	return 0;
}

int seal_crop_from_rgba(const unsigned char *rgba, unsigned w, unsigned h, double px_per_mm,
			struct seal_crop *crop)
{
	/* A white margin around the picture: a tightly trimmed seal has ink on its border, where the
	 * paper's colour is measured. */
	unsigned pad = (w > h ? w : h) / 10 + 8;

	if (w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE ||
	    crop_alloc(crop, w + 2 * pad, h + 2 * pad) != 0)
		return -1;
	crop->px_per_mm = px_per_mm;
	memset(crop->rgb, 255, (size_t)crop->w * crop->h * 3);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			const unsigned char *s = rgba + ((size_t)y * w + x) * 4;
			unsigned char *d = crop->rgb + ((size_t)(y + pad) * crop->w + x + pad) * 3;
			for (int c = 0; c < 3; c++)
				d[c] = (unsigned char)((s[c] * s[3] + 255 * (255 - s[3])) / 255);
		}
	return 0;
}

/* YCbCr (BT.601, full range) of an RGB pixel. */
static void ycc(const unsigned char *p, double *y, double *cb, double *cr)
{
	*y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
	*cb = 128 - 0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2];
	*cr = 128 + 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2];
}

/* Hue in degrees (0..360) and saturation (0..1) of an RGB pixel. */
static void hue_sat(const unsigned char *p, double *hue, double *sat)
{
	int mx = p[0], mn = p[0];
	double d, h;

	for (int c = 1; c < 3; c++)
		mx = p[c] > mx ? p[c] : mx, mn = p[c] < mn ? p[c] : mn;
	d = mx - mn;
	*sat = mx > 0 ? d / mx : 0;
	if (d == 0) {
		*hue = 0;
		return;
	}
	if (mx == p[0])
		h = fmod((p[1] - p[2]) / d, 6.0);
	else if (mx == p[1])
		h = (p[2] - p[0]) / d + 2;
	else
		h = (p[0] - p[1]) / d + 4;
	*hue = h * 60 < 0 ? h * 60 + 360 : h * 60;
}

/* Median of one channel over the crop's border ring (a histogram: 256 bins). */
static double border_median(const struct seal_crop *crop, int c, unsigned ring)
{
	unsigned hist[256] = {0};
	size_t n = 0, half;

	for (unsigned y = 0; y < crop->h; y++)
		for (unsigned x = 0; x < crop->w; x++)
			if (x < ring || y < ring || x + ring >= crop->w || y + ring >= crop->h) {
				hist[crop->rgb[((size_t)y * crop->w + x) * 3 + c]]++;
				n++;
			}
	half = n / 2;
	for (int v = 0; v < 256; v++) {
		if (hist[v] > half)
			return v;
		half -= hist[v];
	}
	return 255;
}

/* The paper is what the border of the crop mostly shows: the box is stamped inside, not on its margin. */
static void estimate_paper(struct seal_crop *crop)
{
	unsigned ring = (unsigned)lrint(0.8 * crop->px_per_mm);
	unsigned char p[3];

	if (ring < 2)
		ring = 2;
	for (int c = 0; c < 3; c++)
		p[c] = (unsigned char)border_median(crop, c, ring), crop->paper[c] = p[c];
	ycc(p, &crop->paper_y, &crop->paper_cb, &crop->paper_cr);
}

#define RED_DCR 18.0   /* Cr above the paper's that makes a pixel red ink */
#define BLUE_DCB 18.0  /* Cb above the paper's that makes it blue ink */
#define MIN_SAT 0.18   /* below: grey, whatever the hue */
#define DARK_DY 70.0   /* darker than the paper by this much, without chroma: black ink or print */
#define GREY_CHROMA 22 /* chroma distance from the paper under which a pixel is achromatic */

/* Classifies one pixel against the paper; *red gets its red strength (Cr above the paper). */
static enum seal_cls classify(const struct seal_crop *crop, const unsigned char *p, double *red)
{
	double y, cb, cr, hue, sat, dcb, dcr;

	ycc(p, &y, &cb, &cr);
	hue_sat(p, &hue, &sat);
	dcb = cb - crop->paper_cb, dcr = cr - crop->paper_cr;
	*red = (hue >= 320 || hue <= 30) && sat >= MIN_SAT * 0.5 ? dcr : 0;
	if (dcr >= RED_DCR && sat >= MIN_SAT && (hue >= 320 || hue <= 30))
		return CLS_RED;
	if (dcb >= BLUE_DCB && sat >= MIN_SAT && hue >= 190 && hue <= 265)
		return CLS_BLUE;
	if (crop->paper_y - y >= DARK_DY && hypot(dcb, dcr) < GREY_CHROMA)
		return CLS_DARK;
	return CLS_PAPER;
}

void seal_segment(struct seal_crop *crop)
{
	estimate_paper(crop);
	for (size_t i = 0; i < (size_t)crop->w * crop->h; i++) {
		double red;
		crop->cls[i] = (unsigned char)classify(crop, crop->rgb + i * 3, &red);
		/* Provisional opacity; seal_export rescales it by the ink's own strength. */
		crop->alpha[i] = red > 0 ? (float)red : 0;
	}
}

/* Returns 1 when pixel (x, y) or its neighbour across the line's direction is dark. */
static int dark_near(const struct seal_crop *c, unsigned x, unsigned y, int horizontal)
{
	for (int d = -1; d <= 1; d++) {
		long xx = horizontal ? (long)x : (long)x + d, yy = horizontal ? (long)y + d : (long)y;
		if (xx >= 0 && yy >= 0 && xx < (long)c->w && yy < (long)c->h &&
		    c->cls[(size_t)yy * c->w + (size_t)xx] == CLS_DARK)
			return 1;
	}
	return 0;
}

/* Finds the frame lines along one axis (rows when horizontal): a row is a line when dark pixels,
 * allowing a pixel of drift, cover min_len of it. Marks them CLS_LINE; sets *lo and *hi to the inner
 * edges of the lines nearest the middle on each side. Returns how many lines. */
static int frame_axis(struct seal_crop *c, int horizontal, double min_len, unsigned *lo, unsigned *hi)
{
	unsigned n = horizontal ? c->h : c->w, len = horizontal ? c->w : c->h, mid = n / 2;
	unsigned char *is_line = calloc(n, 1);
	int lines = 0;

	*lo = 0, *hi = n;
	if (is_line == NULL)
		return 0;
	for (unsigned k = 0; k < n; k++) {
		unsigned dark = 0;
		for (unsigned t = 0; t < len; t++)
			dark += dark_near(c, horizontal ? t : k, horizontal ? k : t, horizontal);
		is_line[k] = dark >= min_len;
	}
	for (unsigned k = 0; k < n; k++) {
		if (!is_line[k])
			continue;
		lines += k == 0 || !is_line[k - 1];
		if (k < mid && k + 1 > *lo)
			*lo = k + 1;
		if (k >= mid && k < *hi)
			*hi = k;
		for (unsigned t = 0; t < len; t++) {
			size_t i = horizontal ? (size_t)k * c->w + t : (size_t)t * c->w + k;
			if (c->cls[i] == CLS_DARK)
				c->cls[i] = CLS_LINE;
		}
	}
	free(is_line);
	return lines;
}

int seal_find_frame(struct seal_crop *crop, double min_len, unsigned *x0, unsigned *x1, unsigned *y0,
		    unsigned *y1)
{
	int n = frame_axis(crop, 1, min_len, y0, y1);

	return n + frame_axis(crop, 0, min_len, x0, x1);
}

struct comp {
	size_t area;
	unsigned x0, y0, x1, y1;
};

/* Labels the 8-connected component of cls at seed into lab (value id) with a stack; fills *cp. */
static void flood(const struct seal_crop *c, unsigned char cls, size_t seed, unsigned *lab, unsigned id,
		  size_t *stack, struct comp *cp)
{
	size_t top = 0;

	*cp = (struct comp){0, c->w, c->h, 0, 0};
	lab[seed] = id;
	stack[top++] = seed;
	while (top > 0) {
		size_t i = stack[--top];
		unsigned x = (unsigned)(i % c->w), y = (unsigned)(i / c->w);
		cp->area++;
		cp->x0 = x < cp->x0 ? x : cp->x0, cp->x1 = x > cp->x1 ? x : cp->x1;
		cp->y0 = y < cp->y0 ? y : cp->y0, cp->y1 = y > cp->y1 ? y : cp->y1;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				long nx = (long)x + dx, ny = (long)y + dy;
				size_t j;
				if (nx < 0 || ny < 0 || nx >= (long)c->w || ny >= (long)c->h)
					continue;
				j = (size_t)ny * c->w + (size_t)nx;
				if (lab[j] == 0 && c->cls[j] == cls) {
					lab[j] = id;
					stack[top++] = j;
				}
			}
	}
}

/* Returns 1 when a component is a speck or a straight thin line rather than part of an impression. */
static int unwanted(const struct seal_crop *c, const struct comp *cp, unsigned min_area)
{
	double length = fmax(cp->x1 - cp->x0 + 1, cp->y1 - cp->y0 + 1);
	double width = fmin(cp->x1 - cp->x0 + 1, cp->y1 - cp->y0 + 1);

	if (cp->area < min_area)
		return 1;
	/* A printed line: long across the crop, under 0.8 mm thick, and its box no wider than that. */
	return length > 0.5 * fmin(c->w, c->h) && cp->area / length < 0.8 * c->px_per_mm &&
	       width < 1.5 * c->px_per_mm;
}

unsigned seal_clean(struct seal_crop *crop, enum seal_cls cls, unsigned min_area)
{
	size_t n = (size_t)crop->w * crop->h;
	unsigned *lab = calloc(n, sizeof(unsigned));
	size_t *stack = malloc(n * sizeof(size_t));
	unsigned id = 0, kept = 0;

	if (lab == NULL || stack == NULL) {
		free(lab);
		free(stack);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct comp cp;
		if (crop->cls[i] != cls || lab[i] != 0)
			continue;
		flood(crop, (unsigned char)cls, i, lab, ++id, stack, &cp);
		if (!unwanted(crop, &cp, min_area)) {
			kept += (unsigned)cp.area;
			continue;
		}
		for (unsigned y = cp.y0; y <= cp.y1; y++)
			for (unsigned x = cp.x0; x <= cp.x1; x++)
				if (lab[(size_t)y * crop->w + x] == id)
					crop->cls[(size_t)y * crop->w + x] = CLS_PAPER;
	}
	free(lab);
	free(stack);
	return kept;
}
