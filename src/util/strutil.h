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
/* Returns 1 when valid UTF-8 text s holds a character that is drawn as nothing or changes the
 * direction of the text around it (U+00AD, U+061C, U+180E, U+200B-U+200F, U+2028-U+202E,
 * U+2060-U+2064, U+2066-U+206F, U+FEFF, U+FFF9-U+FFFB): a name made of them looks empty, or
 * reads differently from what is stored, on the page and on the printed forms. */
int str_has_invisible(const char *s);
/* Sets [*start, *end) to s without the white space around it: ASCII white space, the no-break
 * space U+00A0 and the ideographic space U+3000. */
void str_trim_span(const char *s, size_t *start, size_t *end);

#endif
