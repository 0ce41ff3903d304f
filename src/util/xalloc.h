/* Allocation wrappers: the x* variants abort on out-of-memory, so callers never check. */
#ifndef CERTDESK_XALLOC_H
#define CERTDESK_XALLOC_H
#include <stddef.h>

/* Returns zeroed memory for n bytes; aborts when memory is exhausted. Caller frees. */
void *xcalloc(size_t n);
/* Resizes p to n bytes; aborts when memory is exhausted. */
void *xrealloc(void *p, size_t n);
/* Returns a copy of s (NULL stays NULL). Caller frees. */
char *xstrdup(const char *s);
/* Returns a NUL-terminated copy of the first n bytes of s. Caller frees. */
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated printf-formatted string. Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
