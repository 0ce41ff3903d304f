#include "core/idcard.h"

#include "core/fullwidth.h"

#include <ctype.h>
#include <string.h>

char idcard_check_char(const char *id17)
{
	static const char map[] = "10X98765432";
	int sum = 0, w = 1;

	/* W_i = 2^(18-i) mod 11: walk from the last of the 17 digits, doubling. */
	for (int i = 16; i >= 0; i--) {
		if (!isdigit((unsigned char)id17[i]))
			return 0;
		w = w * 2 % 11;
		sum += (id17[i] - '0') * w;
	}
	return map[sum % 11];
}

int idcard_province_ok(const char *id)
{
	/* GB/T 2260 province-level codes; 71 is Taiwan, 81, 82 and 83 lead the residence permits of
	 * Hong Kong, Macao and Taiwan residents (810000, 820000, 830000). */
	static const unsigned char provinces[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34,
						  35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
						  53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83};
	int code;

	if (!isdigit((unsigned char)id[0]) || !isdigit((unsigned char)id[1]))
		return 0;
	code = (id[0] - '0') * 10 + (id[1] - '0');
	for (size_t i = 0; i < sizeof(provinces); i++)
		if (provinces[i] == code)
			return 1;
	return 0;
}

/* Returns 1 when yyyymmdd is a real date from 1900 on and not after today. */
static int date_ok(const char *d, long today)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	long v = 0;
	int y, m, day, leap;

	for (int i = 0; i < 8; i++)
		v = v * 10 + (d[i] - '0');
	y = (int)(v / 10000);
	m = (int)(v / 100 % 100);
	day = (int)(v % 100);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1900 || v > today || m < 1 || m > 12 || day < 1)
		return 0;
	return day <= days[m - 1] + (m == 2 && leap);
}

int idcard_check(const char *in, long today, char out[IDCARD_LEN + 1])
{
	char folded[IDCARD_LEN + 2]; /* trimmed, full-width folded: one more than fits is too long */

	out[0] = '\0';
	if (fullwidth_fold(in, folded, sizeof(folded)) != IDCARD_LEN)
		return IDCARD_BAD_FORMAT;
	for (size_t i = 0; i < IDCARD_LEN; i++)
		out[i] = (char)toupper((unsigned char)folded[i]);
	out[IDCARD_LEN] = '\0';
	for (int i = 0; i < 17; i++)
		if (!isdigit((unsigned char)out[i]))
			return IDCARD_BAD_FORMAT;
	if (!isdigit((unsigned char)out[17]) && out[17] != 'X')
		return IDCARD_BAD_FORMAT;
	if (!idcard_province_ok(out))
		return IDCARD_BAD_REGION;
	if (!date_ok(out + 6, today))
		return IDCARD_BAD_DATE;
	return idcard_check_char(out) == out[17] ? IDCARD_OK : IDCARD_BAD_CHECK;
}

void idcard_mask(const char *id, char out[IDCARD_LEN + 1])
{
	if (strlen(id) != IDCARD_LEN) {
		strcpy(out, "***");
		return;
	}
	memcpy(out, id, 6);
	memset(out + 6, '*', 8);
	memcpy(out + 14, id + 14, 4);
	out[IDCARD_LEN] = '\0';
}
