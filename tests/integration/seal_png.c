/* A clean seal picture drawn with cairo (see seal_png.h). */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "seal_png.h"

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static cairo_status_t put(void *closure, const unsigned char *data, unsigned int n)
{
	struct buf *b = closure;

	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

/* A five-pointed star of radius r around (x, y). */
static void star(cairo_t *cr, double x, double y, double r)
{
	for (int i = 0; i < 10; i++) {
		double a = -M_PI / 2 + i * M_PI / 5, rr = i % 2 ? r * 0.4 : r;
		if (i == 0)
			cairo_move_to(cr, x + rr * cos(a), y + rr * sin(a));
		else
			cairo_line_to(cr, x + rr * cos(a), y + rr * sin(a));
	}
	cairo_close_path(cr);
	cairo_fill(cr);
}

unsigned char *test_seal_png(int square, int size, size_t *len)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, size, size);
	cairo_t *cr = cairo_create(s);
	double c = size / 2.0, lw = size * 0.045;
	struct buf b = {0};

	cairo_set_source_rgba(cr, 0.85, 0.1, 0.12, 1);
	cairo_set_line_width(cr, lw);
	if (square) {
		cairo_rectangle(cr, lw, lw, size - 2 * lw, size - 2 * lw);
		cairo_stroke(cr);
		for (int i = 0; i < 2; i++) /* two columns of two "characters" */
			for (int k = 0; k < 2; k++) {
				double x = size * (0.2 + 0.35 * i), y = size * (0.2 + 0.35 * k);
				cairo_rectangle(cr, x, y, size * 0.25, size * 0.05);
				cairo_rectangle(cr, x + size * 0.1, y, size * 0.05, size * 0.25);
				cairo_rectangle(cr, x, y + size * 0.2, size * 0.25, size * 0.05);
				cairo_fill(cr);
			}
	} else {
		cairo_arc(cr, c, c, c - lw, 0, 2 * M_PI);
		cairo_stroke(cr);
		star(cr, c, c, size * 0.16);
		for (int i = 0; i < 12; i++) { /* the name along the rim */
			double a = M_PI * (0.85 + i * 1.3 / 11);
			cairo_save(cr);
			cairo_translate(cr, c + (c - lw * 4) * cos(a), c + (c - lw * 4) * sin(a));
			cairo_rotate(cr, a + M_PI / 2);
			cairo_rectangle(cr, -size * 0.03, -size * 0.04, size * 0.06, size * 0.08);
			cairo_fill(cr);
			cairo_restore(cr);
		}
		cairo_rectangle(cr, size * 0.3, size * 0.7, size * 0.4, size * 0.05);
		cairo_fill(cr);
	}
	cairo_destroy(cr);
	cairo_surface_flush(s);
	cairo_surface_write_to_png_stream(s, put, &b);
	cairo_surface_destroy(s);
	*len = b.len;
	return b.p;
}

char *test_b64(const unsigned char *data, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);

	sodium_bin2base64(out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}
