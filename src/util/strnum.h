/* Bounded number parsing for every number that comes from outside. */
#ifndef CERTDESK_STRNUM_H
#define CERTDESK_STRNUM_H
#include <stdint.h>

/* Parses all of s as a decimal integer in [min, max] into *out; returns 0, or -1 if s is empty,
 * has trailing characters, or is out of range (*out untouched then). */
int strnum_parse(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
