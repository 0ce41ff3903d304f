/* Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a 31-character
 * alphabet (digits and upper-case letters without I, O, Z, S, V), the last a check character.
 * Pure code. */
#ifndef CERTDESK_USCC_H
#define CERTDESK_USCC_H
#include <stddef.h>

#define USCC_LEN 18

enum uscc_result {
	USCC_OK = 0,
	USCC_BAD_LENGTH,     /* not 18 characters */
	USCC_BAD_CHAR,       /* a character outside the alphabet (I, O, Z, S, V, punctuation, ...) */
	USCC_BAD_DIVISION,   /* positions 3-8 are not digits */
	USCC_BAD_CHECK_CHAR, /* well-formed, but the check character does not match */
};

/* Normalises in (trims spaces, folds full-width forms, upper-cases) into out (USCC_LEN + 1 bytes) and validates it.
 * out always holds the normalised text when it fits. Returns an enum uscc_result. */
int uscc_check(const char *in, char out[USCC_LEN + 1]);
/* Returns the check character the first 17 characters of code call for, or 0 when one of them
 * is outside the alphabet. */
char uscc_check_char(const char *code17);

#endif
