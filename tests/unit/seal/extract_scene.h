/* Synthetic scans of certdesk's own seal form for the extraction tests: the form as forms_seal.c draws
 * it, on yellowish paper, with seal impressions, rotated and scaled like a scanner would, with grey
 * noise and specks. Everything in page millimetres unless said otherwise. */
#ifndef TEST_SEAL_EXTRACT_SCENE_H
#define TEST_SEAL_EXTRACT_SCENE_H
#include <cairo.h>

#include "seal/extract.h"

enum stamp_shape { STAMP_NONE, STAMP_ROUND, STAMP_SQUARE };

/* One impression: its shape, centre (mm, on the page), ink colour and how strongly it is inked. */
struct stamp {
	enum stamp_shape shape;
	double cx, cy;
	double r, g, b; /* ink colour 0..1 */
	double tint;    /* > 0: a pale haze of the ink around the impression, of this opacity */
	double blur;    /* > 0: smeared over this many mm */
};

struct scene {
	double dpi, angle_deg;
	const char *qr_text; /* NULL: no QR code (an unreadable scan) */
	struct stamp stamps[SEAL_NSLOTS];
	unsigned seed; /* the noise */
	int clean;     /* no noise nor specks (a scan that must stay small as a JPEG) */
};

/* Draws the scan of sc into *img (RGB, caller frees with seal_rgb_free). Returns 0 or -1. */
int scene_draw(const struct scene *sc, struct seal_rgb *img);
/* Returns the centre of printed box slot in mm. */
void scene_box_centre(enum seal_slot slot, double *x, double *y);
/* Draws the truth mask of st (alpha > 0.5 of its ink) upright into mask (w x h bytes, 1 = ink), for the
 * crop of w x h pixels centred on the page point (mx, my) at ppm pixels per mm. */
void scene_truth(const struct stamp *st, double mx, double my, double ppm, unsigned w, unsigned h,
		 unsigned char *mask);
/* Encodes img as a JPEG of quality 90 (malloc'd into *jpeg, free with free()). Returns 0 or -1. */
int scene_jpeg(const struct seal_rgb *img, unsigned char **jpeg, size_t *len);
/* Encodes img as a PNG (malloc'd into *png). Returns 0 or -1. */
int scene_png(const struct seal_rgb *img, unsigned char **png, size_t *len);

#endif
