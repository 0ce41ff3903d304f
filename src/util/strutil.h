/* Small string helpers. */
#ifndef CERTDESK_STRUTIL_H
#define CERTDESK_STRUTIL_H
#include <stddef.h>

/* Copies src (NULL: "") into dst of size bytes, always NUL-terminating; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Returns the number of code points of valid UTF-8 text s, or -1 when s is not valid UTF-8. */
long utf8_chars(const char *s);
/* Returns 1 when s holds a control character (C0, DEL or C1), 0 otherwise. */
int str_has_control(const char *s);

#endif
