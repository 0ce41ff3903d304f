/* Draws synthetic scans of the seal form (see extract_scene.h): the real form from forms_seal.c on a
 * cairo image surface instead of a PDF page, so the test finds the boxes where certdesk prints them. */
#define FORMS_INTERNAL
#include "extract_scene.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docs/forms.h"
#include "docs/forms_seal_layout.h"
#include "docs/png_out.h"

#include <gd.h>

void scene_box_centre(enum seal_slot slot, double *x, double *y)
{
	double side;

	forms_seal_box_mm((int)slot, x, y, &side);
	*x += side / 2, *y += side / 2;
}

/* Adds a rectangle of w x h centred at (x, y), turned by a (radians) about the point (ox, oy). */
static void bar(cairo_t *cr, double ox, double oy, double a, double x, double y, double w, double h)
{
	cairo_save(cr);
	cairo_translate(cr, ox, oy);
	cairo_rotate(cr, a);
	cairo_rectangle(cr, x - ox - w / 2, y - oy - h / 2, w, h);
	cairo_restore(cr);
}

/* Adds a round official seal: ring, five-pointed star, an arc of characters, a line of characters. */
static void round_seal(cairo_t *cr, double cx, double cy)
{
	cairo_new_sub_path(cr);
	cairo_arc(cr, cx, cy, 21.0, 0, 2 * M_PI);
	cairo_new_sub_path(cr);
	cairo_arc_negative(cr, cx, cy, 19.8, 2 * M_PI, 0);
	for (int i = 0; i < 10; i++) { /* the star, as a polygon of 10 points */
		double a = -M_PI / 2 + i * M_PI / 5, r = i % 2 ? 2.8 : 7.0;
		(i ? cairo_line_to : cairo_move_to)(cr, cx + r * cos(a), cy + r * sin(a));
	}
	cairo_close_path(cr);
	for (int i = 0; i < 12; i++) { /* the arc of the unit's name: a radial and a tangential stroke each */
		double a = M_PI * (1.15 + 0.7 * i / 11.0), x = cx + 15.5 * cos(a), y = cy + 15.5 * sin(a);
		bar(cr, x, y, a, x, y, 3.2, 0.8);
		bar(cr, x, y, a, x, y, 0.8, 2.6);
	}
	for (int i = 0; i < 4; i++) { /* 合同专用章-like line under the star */
		double x = cx - 6 + 4 * i, y = cy + 11;
		bar(cr, x, y, 0, x, y, 2.8, 0.7);
		bar(cr, x, y, 0, x, y + 0.8, 0.7, 2.6);
	}
}

/* Adds a square legal person's seal: a frame and four characters of bars. */
static void square_seal(cairo_t *cr, double cx, double cy)
{
	const double s = 18.0, t = 1.2;

	cairo_rectangle(cr, cx - s / 2 - t / 2, cy - s / 2 - t / 2, s + t, s + t);
	cairo_rectangle(cr, cx + s / 2 - t / 2, cy - s / 2 + t / 2, -(s - t), s - t); /* the hole, reversed */
	for (int k = 0; k < 4; k++) {
		double x = cx + (k % 2 ? 4.2 : -4.2), y = cy + (k / 2 ? 4.2 : -4.2);
		for (int j = -1; j <= 1; j++)
			bar(cr, x, y, 0, x, y + j * 2.2, 5.5, 0.8);
		bar(cr, x, y, 0, x + (k % 2 ? 1.2 : -1.2), y, 0.8, 5.5);
	}
}

/* Adds st's shape to the current path. */
static void stamp_path(cairo_t *cr, const struct stamp *st)
{
	cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
	if (st->shape == STAMP_ROUND)
		round_seal(cr, st->cx, st->cy);
	else if (st->shape == STAMP_SQUARE)
		square_seal(cr, st->cx, st->cy);
}

/* Stamps st: the ink multiplies the paper (a black line under red ink stays dark). */
static void stamp(cairo_t *cr, const struct stamp *st)
{
	if (st->shape == STAMP_NONE)
		return;
	cairo_save(cr);
	cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
	if (st->tint > 0) {
		cairo_set_source_rgba(cr, st->r, st->g, st->b, st->tint);
		cairo_arc(cr, st->cx, st->cy, st->shape == STAMP_ROUND ? 23.0 : 11.0, 0, 2 * M_PI);
		cairo_fill(cr);
	}
	if (st->blur > 0) { /* a smeared impression: the ink averaged over offsets up to blur mm */
		const int k = 7;
		cairo_push_group(cr);
		cairo_set_operator(cr, CAIRO_OPERATOR_ADD);
		cairo_set_source_rgba(cr, st->r, st->g, st->b, 1.0 / (k * k));
		for (int i = 0; i < k * k; i++) {
			cairo_save(cr);
			cairo_translate(cr, st->blur * (2.0 * (i % k) / (k - 1) - 1),
					st->blur * (2.0 * (i / k) / (k - 1) - 1));
			stamp_path(cr, st);
			cairo_fill(cr);
			cairo_restore(cr);
		}
		cairo_pop_group_to_source(cr);
		cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
		cairo_paint(cr);
		cairo_restore(cr);
		return;
	}
	cairo_set_source_rgb(cr, st->r, st->g, st->b);
	stamp_path(cr, st);
	cairo_fill(cr);
	cairo_restore(cr);
}

/* Draws the form itself as forms_render_pdf does, in mm units already set on cr (no QR text: the
 * form's dashed placeholder, which no scanner reads). */
static void form(cairo_t *cr, const char *qr_text)
{
	struct order_doc d = {.order_no = "YT20261124-000123",
			      .project_name = "鹰潭市阳光采购服务平台",
			      .key_type = "main",
			      .key_type_label = "主锁（含电子签章）",
			      .unit_name = "鹰潭市信江建设工程有限公司",
			      .uscc = "91360600MA35XXXX1K",
			      .legal_name = "王建国",
			      .form_qr_text = qr_text,
			      .created_at = 1795487400LL};
	struct form f = {.cr = cr, .d = &d, .kind = FORM_SEAL};

	f.pc = pango_cairo_create_context(cr);
	forms_draw_seal(&f);
	if (f.renderer != NULL)
		g_object_unref(f.renderer);
	g_object_unref(f.pc);
}

/* A small deterministic PRNG (xorshift32). */
static unsigned rnd(unsigned *s)
{
	*s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
	return *s;
}

/* Copies the surface to RGB with the scanner's grey noise and dust specks. */
static int to_rgb(cairo_surface_t *s, unsigned seed, int clean, struct seal_rgb *img)
{
	unsigned w = (unsigned)cairo_image_surface_get_width(s),
		 h = (unsigned)cairo_image_surface_get_height(s);
	const unsigned char *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	unsigned st = seed ? seed : 1;

	img->w = w, img->h = h;
	img->px = malloc((size_t)w * h * 3);
	if (img->px == NULL)
		return -1;
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			uint32_t px;
			int n = clean ? 0
				      : (int)(rnd(&st) % 25) - 12; /* grey: the same on the three channels */
			int speck = !clean && rnd(&st) % 4000 == 0 ? -120 : 0;
			memcpy(&px, data + (size_t)y * (size_t)stride + x * 4, 4);
			for (int c = 0; c < 3; c++) {
				int v = (int)(px >> (16 - 8 * c) & 0xff) + n + speck;
				img->px[((size_t)y * w + x) * 3 + c] = (unsigned char)(v < 0     ? 0
										       : v > 255 ? 255
												 : v);
			}
		}
	return 0;
}

int scene_draw(const struct scene *sc, struct seal_rgb *img)
{
	const double ppm = sc->dpi / 25.4;
	unsigned w = (unsigned)lrint(210 * ppm), h = (unsigned)lrint(297 * ppm);
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
	cairo_t *cr = cairo_create(s);
	int rc;

	memset(img, 0, sizeof(*img));
	cairo_set_source_rgb(cr, 246 / 255.0, 240 / 255.0, 214 / 255.0); /* yellowish paper */
	cairo_paint(cr);
	/* The page turned about its centre, as a sheet laid slightly askew on the scanner. */
	cairo_translate(cr, w / 2.0, h / 2.0);
	cairo_rotate(cr, sc->angle_deg * M_PI / 180);
	cairo_scale(cr, ppm, ppm);
	cairo_translate(cr, -105, -148.5);
	form(cr, sc->qr_text);
	for (int i = 0; i < SEAL_NSLOTS; i++)
		stamp(cr, &sc->stamps[i]);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	rc = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS ? to_rgb(s, sc->seed, sc->clean, img) : -1;
	cairo_surface_destroy(s);
	return rc;
}

void scene_truth(const struct stamp *st, double mx, double my, double ppm, unsigned w, unsigned h,
		 unsigned char *mask)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)w, (int)h);
	cairo_t *cr = cairo_create(s);
	const unsigned char *data;
	int stride;

	cairo_translate(cr, w / 2.0, h / 2.0);
	cairo_scale(cr, ppm, ppm);
	cairo_translate(cr, -mx, -my);
	stamp_path(cr, st);
	cairo_fill(cr);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	data = cairo_image_surface_get_data(s);
	stride = cairo_image_surface_get_stride(s);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++)
			mask[(size_t)y * w + x] = data[(size_t)y * (size_t)stride + x] > 127;
	cairo_surface_destroy(s);
}

int scene_png(const struct seal_rgb *img, unsigned char **png, size_t *len)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)img->w, (int)img->h);
	unsigned char *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s), rc;

	cairo_surface_flush(s);
	for (unsigned y = 0; y < img->h; y++)
		for (unsigned x = 0; x < img->w; x++) {
			const unsigned char *p = img->px + ((size_t)y * img->w + x) * 3;
			uint32_t px = 0xffu << 24 | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
			memcpy(data + (size_t)y * (size_t)stride + x * 4, &px, 4);
		}
	cairo_surface_mark_dirty(s);
	rc = png_out(s, png, len);
	cairo_surface_destroy(s);
	return rc;
}

int scene_jpeg(const struct seal_rgb *img, unsigned char **jpeg, size_t *len)
{
	gdImagePtr im = gdImageCreateTrueColor((int)img->w, (int)img->h);
	void *p;
	int n = 0;

	*jpeg = NULL;
	if (im == NULL)
		return -1;
	for (unsigned y = 0; y < img->h; y++)
		for (unsigned x = 0; x < img->w; x++) {
			const unsigned char *q = img->px + ((size_t)y * img->w + x) * 3;
			gdImageSetPixel(im, (int)x, (int)y, gdTrueColor(q[0], q[1], q[2]));
		}
	p = gdImageJpegPtr(im, &n, 90);
	gdImageDestroy(im);
	if (p == NULL || n <= 0 || (*jpeg = malloc((size_t)n)) == NULL) {
		gdFree(p);
		return -1;
	}
	memcpy(*jpeg, p, (size_t)n);
	*len = (size_t)n;
	gdFree(p);
	return 0;
}
