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
