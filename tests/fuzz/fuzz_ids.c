/* libFuzzer driver for the validators of typed-in identifiers: USCC, mobile numbers, UTF-8 text.
 * Checks they stay in bounds and agree with themselves (a normalised value validates again). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/phone.h"
#include "core/uscc.h"
#include "util/strutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[USCC_LEN + 1], again[USCC_LEN + 1], mobile[MOBILE_LEN + 1];

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uscc_check(s, out) == USCC_OK && (uscc_check(out, again) != USCC_OK || strcmp(out, again) != 0))
		abort();
	if (phone_mobile_normalise(s, mobile) == 0 && (strlen(mobile) != MOBILE_LEN || mobile[0] != '1'))
		abort();
	if (utf8_chars(s) > (long)size)
		abort();
	str_has_control(s);
	free(s);
	return 0;
}
