/* libFuzzer driver for the seal extraction (src/seal/extract.h) on arbitrary small images: locating
 * the page (zbar, the frame search), and cutting, segmenting, judging and exporting a box of any size,
 * place, scale and rotation. The decoders are fuzzed by fuzz_image; here the pixels are the input.
 * Layout: w, h (8..71), slot, flags, box centre x and y, box w and h, scale, angle; then RGB pixels
 * (missing ones white). It must never crash or leak, and a picture must fit in its box. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal/extract.h"

#define HEAD 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seal_rgb img;
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS], box;
	struct seal_result res;
	struct seal_opts opts;
	size_t n;

	if (size < HEAD)
		return 0;
	img.w = 8 + data[0] % 64, img.h = 8 + data[1] % 64;
	n = (size_t)img.w * img.h * 3;
	img.px = malloc(n);
	memset(img.px, 255, n);
	memcpy(img.px, data + HEAD, size - HEAD < n ? size - HEAD : n);
	opts.allow_signature = data[3] & 1;
	if (seal_locate(&img, (data[3] & 2) ? "certdesk:form:" : NULL, &page, boxes) != 0)
		abort();
	/* Any scale from 1 to 16 pixels per mm, any angle within ±12.7 degrees. */
	page.px_per_mm = 1 + data[8] % 16;
	page.angle_deg = ((int8_t)data[9]) / 10.0;
	page.a = page.px_per_mm * cos(page.angle_deg * M_PI / 180);
	page.b = page.px_per_mm * sin(page.angle_deg * M_PI / 180);
	box = (struct seal_box){(int8_t)data[4] + img.w / 2.0, (int8_t)data[5] + img.h / 2.0, data[6], data[7]};
	if (seal_extract(&img, &page, (enum seal_slot)(data[2] % SEAL_NSLOTS), &box, &opts, &res) == 0) {
		if (res.png != NULL && (res.png_len == 0 || res.width_px > lrint(box.w) || res.height_px > lrint(box.h)))
			abort();
		if (seal_verdict_code(res.verdict)[0] == '\0' ||
		    (!seal_verdict_accepts(res.verdict) && res.reason[0] == '\0'))
			abort();
		seal_result_free(&res);
	}
	free(img.px);
	return 0;
}
