#include "docs/captcha.h"
#include "docs/png_out.h"

#include <cairo.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 140
#define HEIGHT 48

static const char charset[] = "ABCDEFGHJKLMNPQRSTUVWXY3456789";

void captcha_text(char text[CAPTCHA_LEN + 1])
{
	for (int i = 0; i < CAPTCHA_LEN; i++)
		text[i] = charset[randombytes_uniform(sizeof(charset) - 1)];
	text[CAPTCHA_LEN] = '\0';
}

/* Returns a uniformly random double in [lo, hi). */
static double rnd(double lo, double hi)
{
	return lo + (hi - lo) * (double)randombytes_uniform(1u << 24) / (double)(1u << 24);
}

/* Draws random lines and dots that cross the text. */
static void noise(cairo_t *cr)
{
	for (int i = 0; i < 6; i++) {
		cairo_set_source_rgb(cr, rnd(0.3, 0.7), rnd(0.3, 0.7), rnd(0.3, 0.7));
		cairo_set_line_width(cr, rnd(1, 2));
		cairo_move_to(cr, rnd(0, WIDTH), rnd(0, HEIGHT));
		cairo_curve_to(cr, rnd(0, WIDTH), rnd(0, HEIGHT), rnd(0, WIDTH), rnd(0, HEIGHT),
			       rnd(0, WIDTH), rnd(0, HEIGHT));
		cairo_stroke(cr);
	}
	for (int i = 0; i < 120; i++) {
		cairo_set_source_rgb(cr, rnd(0.2, 0.8), rnd(0.2, 0.8), rnd(0.2, 0.8));
		cairo_rectangle(cr, rnd(0, WIDTH), rnd(0, HEIGHT), 1.5, 1.5);
		cairo_fill(cr);
	}
}

int captcha_png(const char *text, unsigned char **png, size_t *len)
{
	cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, WIDTH, HEIGHT);
	cairo_t *cr = cairo_create(surface);
	int rc;
	double x = 12;

	cairo_set_source_rgb(cr, 0.95, 0.96, 0.98);
	cairo_paint(cr);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	for (const char *p = text; *p != '\0'; p++) {
		char ch[2] = {*p, '\0'};
		cairo_save(cr);
		cairo_set_font_size(cr, rnd(24, 30));
		cairo_set_source_rgb(cr, rnd(0, 0.45), rnd(0, 0.45), rnd(0.1, 0.6));
		cairo_translate(cr, x, rnd(32, 40));
		cairo_rotate(cr, rnd(-0.45, 0.45));
		cairo_show_text(cr, ch);
		cairo_restore(cr);
		x += rnd(22, 26);
	}
	noise(cr);
	cairo_destroy(cr);
	rc = png_out(surface, png, len);
	cairo_surface_destroy(surface);
	return rc;
}
