/* Form bodies: a strict decoder (duplicates refused, so that a signature check and a later read can
 * never see different values of one name) and an RFC 3986 encoder. */
#include "util/urlform.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Returns the value of hex digit c, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the len bytes at s ('+' is a space, %XX); returns the copy (caller frees), or NULL when
 * an escape is bad or decodes to NUL. */
static char *decode(const char *s, size_t len)
{
	char *out = xcalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = s[i] == '+' ? ' ' : (unsigned char)s[i];
		if (s[i] == '%') {
			if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
				free(out);
				return NULL;
			}
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (c == 0) {
			free(out);
			return NULL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

void urlform_add(struct urlform *f, const char *name, const char *value)
{
	f->f = xrealloc(f->f, (f->n + 1) * sizeof(f->f[0]));
	f->f[f->n].name = xstrdup(name);
	f->f[f->n].value = xstrdup(value);
	f->n++;
}

/* Parses one "name=value" segment of len bytes into f; returns 0 or -1. */
static int add_segment(struct urlform *f, const char *seg, size_t len, size_t max_fields)
{
	const char *eq = memchr(seg, '=', len);
	char *name, *value;

	if (eq == NULL || eq == seg || f->n >= max_fields)
		return -1;
	name = decode(seg, (size_t)(eq - seg));
	value = decode(eq + 1, len - (size_t)(eq - seg) - 1);
	if (name == NULL || value == NULL || name[0] == '\0' || urlform_get(f, name) != NULL) {
		free(name);
		free(value);
		return -1;
	}
	f->f = xrealloc(f->f, (f->n + 1) * sizeof(f->f[0]));
	f->f[f->n].name = name;
	f->f[f->n].value = value;
	f->n++;
	return 0;
}

int urlform_parse(const char *body, size_t len, size_t max_fields, struct urlform *out)
{
	size_t i = 0;

	out->f = NULL;
	out->n = 0;
	while (i < len) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t seg = amp != NULL ? (size_t)(amp - (body + i)) : len - i;
		if (seg > 0 && add_segment(out, body + i, seg, max_fields) != 0) {
			urlform_free(out);
			return -1;
		}
		i += seg + 1;
	}
	return 0;
}

void urlform_free(struct urlform *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->f[i].name);
		free(f->f[i].value);
	}
	free(f->f);
	f->f = NULL;
	f->n = 0;
}

const char *urlform_get(const struct urlform *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->f[i].name, name) == 0)
			return f->f[i].value;
	return NULL;
}

/* Returns 1 for the characters RFC 3986 leaves unreserved (c is never NUL here). */
static int unreserved(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr("-_.~", c) != NULL;
}

/* Returns the number of bytes s takes once %-encoded. */
static size_t encoded_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += unreserved((unsigned char)*s) ? 1 : 3;
	return n;
}

/* Writes s %-encoded at p; returns the end. */
static char *encode_to(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

char *urlform_encode(const struct urlform *f)
{
	size_t total = 1;
	char *out, *p;

	for (size_t i = 0; i < f->n; i++)
		total += encoded_len(f->f[i].name) + encoded_len(f->f[i].value) + 2;
	out = p = xcalloc(total);
	for (size_t i = 0; i < f->n; i++) {
		if (i > 0)
			*p++ = '&';
		p = encode_to(p, f->f[i].name);
		*p++ = '=';
		p = encode_to(p, f->f[i].value);
	}
	*p = '\0';
	return out;
}
