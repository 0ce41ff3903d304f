#include "util/strutil.h"

#include <string.h>

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (size == 0)
		return n;
	if (n < size) {
		memcpy(dst, src != NULL ? src : "", n + 1);
	} else {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
	}
	return n;
}

long utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p != '\0') {
		int len = *p < 0x80             ? 1
			  : (*p & 0xe0) == 0xc0 ? 2
			  : (*p & 0xf0) == 0xe0 ? 3
			  : (*p & 0xf8) == 0xf0 ? 4
						: 0;
		if (len == 0 || (len == 2 && *p < 0xc2) || (len == 4 && *p > 0xf4))
			return -1;
		for (int i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		if ((len == 3 && *p == 0xe0 && p[1] < 0xa0) || (len == 3 && *p == 0xed && p[1] >= 0xa0) ||
		    (len == 4 && *p == 0xf0 && p[1] < 0x90) || (len == 4 && *p == 0xf4 && p[1] >= 0x90))
			return -1; /* overlong, surrogate or beyond U+10FFFF */
		p += len;
		n++;
	}
	return n;
}

int str_has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Decodes the code point of valid UTF-8 at *p and advances *p past it. */
static unsigned long utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned long cp;
	int len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

	cp = len == 1 ? s[0] : len == 2 ? s[0] & 0x1f : len == 3 ? s[0] & 0x0f : s[0] & 0x07;
	for (int i = 1; i < len && s[i] != '\0'; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	for (int i = 0; i < len && **p != '\0'; i++)
		(*p)++;
	return cp;
}

/* Returns 1 when cp is drawn as nothing or reorders the text around it: zero-width characters,
 * direction marks, embeddings, overrides and isolates, joiners, the byte-order mark. */
static int invisible(unsigned long cp)
{
	return cp == 0x00ad || cp == 0x061c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
	       (cp >= 0x2066 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

int str_has_invisible(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0')
		if (invisible(utf8_next(&p)))
			return 1;
	return 0;
}

/* Returns the length of the white space (ASCII, U+00A0, U+3000) starting at s, 0 when none. */
static size_t space_at(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n >= 1 && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
		return 1;
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0)
		return 2;
	if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

void str_trim_span(const char *s, size_t *start, size_t *end)
{
	size_t a = 0, b = strlen(s), k;

	while (a < b && (k = space_at(s + a, b - a)) > 0)
		a += k;
	for (;;) {
		if (b - a >= 1 && space_at(s + b - 1, 1) == 1)
			b -= 1;
		else if (b - a >= 2 && space_at(s + b - 2, 2) == 2)
			b -= 2;
		else if (b - a >= 3 && space_at(s + b - 3, 3) == 3)
			b -= 3;
		else
			break;
	}
	*start = a;
	*end = b;
}
