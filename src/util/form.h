/* application/x-www-form-urlencoded bodies: parsing into name/value pairs ('+' is a space, %XX
 * decoded) and building them (RFC 3986 unreserved characters kept, everything else %XX). Used by
 * the Alipay adapter and its simulator; no I/O, no logging. */
#ifndef CERTDESK_FORM_H
#define CERTDESK_FORM_H
#include <stddef.h>

/* One decoded field; both strings are NUL-terminated and owned by the struct form. */
struct form_field {
	char *name;
	char *value;
};

struct form {
	struct form_field *f;
	size_t n;
};

/* Parses the len bytes at body. Empty segments ("a=1&&b=2", a trailing '&') are skipped. Returns 0
 * with *out filled (free with form_free), or -1 (*out empty) when a segment has no '=' or an empty
 * name, a %-escape is incomplete or not hex, a value decodes to a NUL byte, a name repeats, or there
 * are more than max_fields fields. */
int form_parse(const char *body, size_t len, size_t max_fields, struct form *out);
/* Frees what form_parse or form_add filled in (f may be zeroed or NULL). */
void form_free(struct form *f);
/* Returns the value of field name, or NULL when absent. */
const char *form_get(const struct form *f, const char *name);
/* Adds a copy of name and value at the end of f (no duplicate check). */
void form_add(struct form *f, const char *name, const char *value);
/* Returns f encoded as a body ("n1=v1&n2=v2", in f's order, both sides %-encoded). Caller frees. */
char *form_encode(const struct form *f);

#endif
