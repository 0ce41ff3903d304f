/* Full-width forms: Chinese input methods in full-width mode type ０-９, Ａ-Ｚ, ａ-ｚ, ＋, －, ＠ and
 * the ideographic space (U+3000) instead of their ASCII counterparts. Identifiers (USCC, ID numbers,
 * mobiles, e-mail addresses) typed that way are folded to ASCII before they are validated, so that
 * a user is not told "应为 18 位" about 18 characters that look right. Pure code. */
#ifndef CERTDESK_FULLWIDTH_H
#define CERTDESK_FULLWIDTH_H
#include <stddef.h>

/* Folds in into out (size bytes, NUL-terminated when size > 0): U+FF01..U+FF5E become the ASCII
 * characters 0x21..0x7E, U+3000 a space, every other byte is copied as it is; white space around
 * the text (ASCII and U+3000) is dropped. Returns the length of the whole folded text, so that a
 * result >= size means out holds only its beginning. */
size_t fullwidth_fold(const char *in, char *out, size_t size);

#endif
