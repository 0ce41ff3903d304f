#include "core/phone.h"

#include "core/fullwidth.h"

#include <ctype.h>
#include <string.h>

int phone_mobile_normalise(const char *in, char out[MOBILE_LEN + 1])
{
	char digits[24], folded[64];
	size_t n = 0;
	const char *d;

	out[0] = '\0';
	if (fullwidth_fold(in, folded, sizeof(folded)) >= sizeof(folded))
		return -1;
	for (const char *p = folded; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (!(isdigit((unsigned char)*p) || (*p == '+' && n == 0)) || n + 1 >= sizeof(digits))
			return -1;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	d = digits;
	if (n >= 3 && memcmp(d, "+86", 3) == 0)
		d += 3;
	else if (n == 13 && memcmp(d, "86", 2) == 0)
		d += 2;
	if (strlen(d) != MOBILE_LEN || d[0] != '1' || d[1] < '3' || d[1] > '9')
		return -1;
	memcpy(out, d, MOBILE_LEN + 1);
	return 0;
}

void phone_mask(const char *mobile, char out[MOBILE_LEN + 1])
{
	if (strlen(mobile) != MOBILE_LEN) {
		strcpy(out, "***");
		return;
	}
	memcpy(out, mobile, 3);
	memcpy(out + 3, "****", 4);
	memcpy(out + 7, mobile + 7, 4);
	out[MOBILE_LEN] = '\0';
}
