/* application/x-www-form-urlencoded bodies: parsing into name/value pairs ('+' is a space, %XX
 * decoded) and building them (RFC 3986 unreserved characters kept, everything else %XX). Used by
 * the Alipay adapter and its simulator; no I/O, no logging. */
#ifndef CERTDESK_URLFORM_H
#define CERTDESK_URLFORM_H
#include <stddef.h>

/* One decoded field; both strings are NUL-terminated and owned by the struct urlform. */
struct urlform_field {
	char *name;
	char *value;
};

struct urlform {
	struct urlform_field *f;
	size_t n;
};

/* Parses the len bytes at body. Empty segments ("a=1&&b=2", a trailing '&') are skipped. Returns 0
 * with *out filled (free with urlform_free), or -1 (*out empty) when a segment has no '=' or an empty
 * name, a %-escape is incomplete or not hex, a value decodes to a NUL byte, a name repeats, or there
 * are more than max_fields fields. */
int urlform_parse(const char *body, size_t len, size_t max_fields, struct urlform *out);
/* Frees what urlform_parse or urlform_add filled in (f may be zeroed or NULL). */
void urlform_free(struct urlform *f);
/* Returns the value of field name, or NULL when absent. */
const char *urlform_get(const struct urlform *f, const char *name);
/* Adds a copy of name and value at the end of f (no duplicate check). */
void urlform_add(struct urlform *f, const char *name, const char *value);
/* Returns f encoded as a body ("n1=v1&n2=v2", in f's order, both sides %-encoded). Caller frees. */
char *urlform_encode(const struct urlform *f);

#endif
