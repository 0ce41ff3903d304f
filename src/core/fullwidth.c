#include "core/fullwidth.h"

/* Returns the ASCII character the full-width (or ideographic space) sequence at p stands for and
 * sets *step to its length, or returns the byte at p with *step 1. */
static unsigned char fold_one(const unsigned char *p, size_t *step)
{
	*step = 3;
	if (p[0] == 0xef && p[1] == 0xbc && p[2] >= 0x81 && p[2] <= 0xbf)
		return (unsigned char)(0x21 + (p[2] - 0x81)); /* U+FF01..U+FF3F: ! to _ */
	if (p[0] == 0xef && p[1] == 0xbd && p[2] >= 0x80 && p[2] <= 0x9e)
		return (unsigned char)(0x60 + (p[2] - 0x80)); /* U+FF40..U+FF5E: ` to ~ */
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return ' '; /* U+3000 ideographic space */
	*step = 1;
	return p[0];
}

static int is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

size_t fullwidth_fold(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0, keep = 0, step;

	while (*p != '\0') {
		/* fold_one reads p[1] and p[2] only after p[0] (and then p[1]) matched a lead byte, so
		 * never past the terminating NUL. */
		unsigned char c = fold_one(p, &step);
		p += step;
		if (n == 0 && is_space(c))
			continue; /* leading white space */
		if (n + 1 < size)
			out[n] = (char)c;
		n++;
		if (!is_space(c))
			keep = n; /* trailing white space is dropped below */
	}
	if (size > 0)
		out[keep < size ? keep : size - 1] = '\0';
	return keep;
}
