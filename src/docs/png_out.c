/* PNG bytes from cairo surfaces; QR codes (libqrencode) drawn as black modules on white. */
#include "docs/png_out.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

struct png_buf {
	unsigned char *p;
	size_t len, cap;
};

static cairo_status_t on_png(void *closure, const unsigned char *data, unsigned int n)
{
	struct png_buf *b = closure;

	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		unsigned char *p = realloc(b->p, cap);
		if (p == NULL)
			return CAIRO_STATUS_NO_MEMORY;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

int png_out(cairo_surface_t *surface, unsigned char **png, size_t *len)
{
	struct png_buf b = {0};

	if (cairo_surface_write_to_png_stream(surface, on_png, &b) != CAIRO_STATUS_SUCCESS) {
		free(b.p);
		return -1;
	}
	*png = b.p;
	*len = b.len;
	return 0;
}

int png_out_qr(const char *text, int scale, unsigned char **png, size_t *len)
{
	QRcode *q = text != NULL && text[0] != '\0' ? QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)
						    : NULL;
	cairo_surface_t *surface;
	cairo_t *cr;
	int side, rc;

	if (q == NULL)
		return -1;
	side = (q->width + 8) * scale;
	surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, side, side);
	cr = cairo_create(surface);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (int r = 0; r < q->width; r++)
		for (int c = 0; c < q->width; c++)
			if (q->data[r * q->width + c] & 1)
				cairo_rectangle(cr, (c + 4) * scale, (r + 4) * scale, scale, scale);
	cairo_fill(cr);
	cairo_destroy(cr);
	QRcode_free(q);
	rc = png_out(surface, png, len);
	cairo_surface_destroy(surface);
	return rc;
}
