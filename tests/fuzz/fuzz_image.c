/* libFuzzer driver for image_inspect (src/docs/image.c): the input is an uploaded file. It must
 * never crash or leak; an accepted image must carry a known media type and dimensions in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docs/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_info info;
	const char *code = NULL, *msg = NULL;

	if (image_inspect(data, size, &info, &code, &msg) == 0) {
		if (info.media_type == NULL || info.width == 0 || info.height == 0 ||
		    info.width > IMAGE_MAX_SIDE || info.height > IMAGE_MAX_SIDE || size > IMAGE_MAX_BYTES)
			abort();
	} else if (code == NULL || msg == NULL) {
		abort();
	}
	return 0;
}
