#include "core/tracking.h"

#include <ctype.h>
#include <string.h>

/* Copies in without spaces and dashes, upper-cased, into out; returns its length or -1. */
static int squeeze(const char *in, char out[TRACKING_MAX])
{
	int n = 0;

	for (const char *p = in; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (!isalnum((unsigned char)*p) || n >= TRACKING_MAX - 1)
			return -1;
		out[n++] = (char)toupper((unsigned char)*p);
	}
	out[n] = '\0';
	return n;
}

int tracking_sf_normalise(const char *in, char out[TRACKING_MAX])
{
	int n = squeeze(in, out);
	const char *digits = out;

	if (n >= 2 && out[0] == 'S' && out[1] == 'F')
		digits += 2;
	else if (n != 12)
		n = -1;
	if (n < 0 || (strlen(digits) != 12 && strlen(digits) != 13) ||
	    strspn(digits, "0123456789") != strlen(digits)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int tracking_other_normalise(const char *in, char out[TRACKING_MAX])
{
	int n = squeeze(in, out);

	if (n < 6 || n > 30) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
