/* Uploaded scans: the type is decided by decoding the content, never by the name or the browser's
 * media type. An image is accepted only when it decodes completely, within size and pixel bounds,
 * with nothing hidden after its end. */
#ifndef CERTDESK_IMAGE_H
#define CERTDESK_IMAGE_H
#include <stddef.h>

#define IMAGE_MAX_BYTES 1048576u /* the seed's "1M" */
#define IMAGE_MAX_SIDE 10000u
#define IMAGE_MIN_SIDE 200u        /* smaller cannot show a legible document */
#define IMAGE_MAX_PIXELS 40000000u /* refuses decompression bombs before decoding */

struct image_info {
	const char *media_type; /* image/jpeg, image/png, image/bmp */
	const char *ext;        /* jpg, png, bmp */
	unsigned width, height;
	unsigned dpi_x, dpi_y; /* 0 when the file does not say */
};

/* Inspects len bytes. Returns 0 with *info filled, or -1 with *code (stable, e.g. "file_type")
 * and *message (Chinese, saying which rule was broken). */
int image_inspect(const unsigned char *data, size_t len, struct image_info *info, const char **code,
		  const char **message);

#endif
