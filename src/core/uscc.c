#include "core/uscc.h"

#include "core/fullwidth.h"

#include <ctype.h>
#include <string.h>

static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* Returns the value 0..30 of c in the alphabet, or -1. */
static int value_of(char c)
{
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;
	return p != NULL ? (int)(p - alphabet) : -1;
}

char uscc_check_char(const char *code17)
{
	int sum = 0, w = 1;

	for (int i = 0; i < 17; i++) {
		int v = value_of(code17[i]);
		if (v < 0)
			return 0;
		sum += v * w;
		w = w * 3 % 31; /* W_i = 3^(i-1) mod 31 */
	}
	return alphabet[(31 - sum % 31) % 31];
}

int uscc_check(const char *in, char out[USCC_LEN + 1])
{
	char folded[USCC_LEN + 2]; /* trimmed, full-width folded: one more than fits is too long */

	out[0] = '\0';
	if (fullwidth_fold(in, folded, sizeof(folded)) != USCC_LEN)
		return USCC_BAD_LENGTH;
	for (size_t i = 0; i < USCC_LEN; i++)
		out[i] = (char)toupper((unsigned char)folded[i]);
	out[USCC_LEN] = '\0';
	for (size_t i = 0; i < USCC_LEN; i++)
		if (value_of(out[i]) < 0)
			return USCC_BAD_CHAR;
	for (size_t i = 2; i < 8; i++)
		if (!isdigit((unsigned char)out[i]))
			return USCC_BAD_DIVISION;
	return uscc_check_char(out) == out[17] ? USCC_OK : USCC_BAD_CHECK_CHAR;
}
