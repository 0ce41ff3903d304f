/* Cairo image surfaces to PNG bytes in memory, for images served straight from a handler. */
#ifndef CERTDESK_DOCS_PNG_OUT_H
#define CERTDESK_DOCS_PNG_OUT_H
#include <cairo.h>
#include <stddef.h>

/* Encodes surface as PNG; *png gets a malloc'd buffer (caller frees) and *len its size. Returns 0 or -1. */
int png_out(cairo_surface_t *surface, unsigned char **png, size_t *len);

/* Renders text as a QR code (ECC level M, a 4-module quiet zone, scale pixels per module) in PNG.
 * Returns 0, or -1 when text is empty or too long for a QR code. */
int png_out_qr(const char *text, int scale, unsigned char **png, size_t *len);

#endif
