/* libFuzzer driver for the validators of typed-in identifiers: USCC, mobile numbers, ID numbers,
 * full-width folding, UTF-8 text. Checks they stay in bounds and agree with themselves (a
 * normalised value validates again). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fullwidth.h"
#include "core/idcard.h"
#include "core/phone.h"
#include "core/uscc.h"
#include "util/strutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[USCC_LEN + 1], again[USCC_LEN + 1], mobile[MOBILE_LEN + 1],
	     id[IDCARD_LEN + 1], id2[IDCARD_LEN + 1], folded[32];
	size_t n;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uscc_check(s, out) == USCC_OK && (uscc_check(out, again) != USCC_OK || strcmp(out, again) != 0))
		abort();
	if (phone_mobile_normalise(s, mobile) == 0 && (strlen(mobile) != MOBILE_LEN || mobile[0] != '1'))
		abort();
	if (idcard_check(s, 20261124L, id) == IDCARD_OK &&
	    (idcard_check(id, 20261124L, id2) != IDCARD_OK || strcmp(id, id2) != 0 || !idcard_province_ok(id)))
		abort();
	n = fullwidth_fold(s, folded, sizeof(folded));
	if (n > size || strlen(folded) != (n < sizeof(folded) ? n : sizeof(folded) - 1))
		abort();
	if (utf8_chars(s) > (long)size)
		abort();
	str_has_control(s);
	if (utf8_chars(s) >= 0)
		str_has_invisible(s);
	free(s);
	return 0;
}
