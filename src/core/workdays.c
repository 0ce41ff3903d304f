#include "core/workdays.h"

#include <stdlib.h>
#include <string.h>

/* Asia/Shanghai is UTC+8 all year. */
#define SHANGHAI_OFFSET_S (8 * 3600)
#define DAY_S 86400

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (long)y - era * 400;
	doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Splits day number z (days from 1970-01-01) into a YYYYMMDD int (civil_from_days). */
static int date_from_days(long z)
{
	long era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	return (int)(y * 10000 + m * 100 + d);
}

/* Returns 1 if y is a Gregorian leap year. */
static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int workdays_date_valid(int date)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = date / 10000, m = date / 100 % 100, d = date % 100;

	if (date < 0 || y < WORKDAYS_YEAR_MIN || y > WORKDAYS_YEAR_MAX || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && leap(y));
}

/* Day number of a date already known valid. */
static long day_number(int date)
{
	return days_from_civil(date / 10000, date / 100 % 100, date % 100);
}

/* ISO weekday (1 = Monday) of day number z; 1970-01-01 was a Thursday. */
static int weekday_of(long z)
{
	long r = (z + 3) % 7;

	return (int)(r < 0 ? r + 7 : r) + 1;
}

int workdays_weekday(int date)
{
	if (!workdays_date_valid(date))
		return WORKDAYS_EINVAL;
	return weekday_of(day_number(date));
}

int workdays_date_parse(const char *s, int *date)
{
	int v = 0;

	if (s == NULL || date == NULL)
		return WORKDAYS_EINVAL;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return WORKDAYS_EINVAL;
		} else if (s[i] < '0' || s[i] > '9') {
			return WORKDAYS_EINVAL; /* also stops at a NUL before the end */
		} else {
			v = v * 10 + (s[i] - '0');
		}
	}
	if (s[10] != '\0' || !workdays_date_valid(v))
		return WORKDAYS_EINVAL;
	*date = v;
	return WORKDAYS_OK;
}

int workdays_date_format(int date, char buf[WORKDAYS_DATE_LEN])
{
	int y = date / 10000, m = date / 100 % 100, d = date % 100;

	buf[0] = '\0';
	if (!workdays_date_valid(date))
		return WORKDAYS_EINVAL;
	/* Digits by hand: the year is 4 digits by validity, and no snprintf truncation warnings. */
	buf[0] = (char)('0' + y / 1000);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10);
	buf[9] = (char)('0' + d % 10);
	buf[10] = '\0';
	return WORKDAYS_OK;
}

int workdays_date_from_instant(int64_t t, int *date)
{
	int64_t z;

	if (date == NULL)
		return WORKDAYS_EINVAL;
	if (t < INT64_MIN + DAY_S || t > INT64_MAX - SHANGHAI_OFFSET_S)
		return WORKDAYS_ERANGE;
	t += SHANGHAI_OFFSET_S;
	z = t / DAY_S - (t % DAY_S < 0); /* floor, for instants before 1970 */
	if (z < days_from_civil(WORKDAYS_YEAR_MIN, 1, 1) || z > days_from_civil(WORKDAYS_YEAR_MAX, 12, 31))
		return WORKDAYS_ERANGE;
	*date = date_from_days((long)z);
	return WORKDAYS_OK;
}

void workdays_calendar_init(struct workdays_calendar *cal)
{
	memset(cal, 0, sizeof(*cal));
}

void workdays_calendar_free(struct workdays_calendar *cal)
{
	if (cal == NULL)
		return;
	free(cal->days);
	workdays_calendar_init(cal);
}

/* Index of the first listed day whose date is >= date (n_days when none). */
static size_t lower_bound(const struct workdays_calendar *cal, int date)
{
	size_t lo = 0, hi = cal->n_days;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->days[mid].date < date)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int workdays_calendar_add(struct workdays_calendar *cal, int date, int is_off)
{
	size_t i;

	if (cal == NULL || !workdays_date_valid(date))
		return WORKDAYS_EINVAL;
	is_off = is_off != 0;
	i = lower_bound(cal, date);
	if (i < cal->n_days && cal->days[i].date == date)
		return cal->days[i].is_off == is_off ? WORKDAYS_OK : WORKDAYS_ECONFLICT;
	if (cal->n_days == cal->cap_days) {
		size_t cap = cal->cap_days ? cal->cap_days * 2 : 64;
		struct workdays_day *p;

		/* At most one entry per valid date (~84,000), so cap never gets near overflow. */
		p = realloc(cal->days, cap * sizeof(*p));
		if (p == NULL)
			return WORKDAYS_ENOMEM;
		cal->days = p;
		cal->cap_days = cap;
	}
	memmove(&cal->days[i + 1], &cal->days[i], (cal->n_days - i) * sizeof(cal->days[0]));
	cal->days[i].date = date;
	cal->days[i].is_off = is_off;
	cal->n_days++;
	return WORKDAYS_OK;
}

int workdays_calendar_publish(struct workdays_calendar *cal, int year)
{
	int i = year - WORKDAYS_YEAR_MIN;

	if (cal == NULL || year < WORKDAYS_YEAR_MIN || year > WORKDAYS_YEAR_MAX)
		return WORKDAYS_EINVAL;
	cal->published[i / 8] |= (unsigned char)(1u << (i % 8));
	return WORKDAYS_OK;
}

int workdays_year_published(const struct workdays_calendar *cal, int year)
{
	int i = year - WORKDAYS_YEAR_MIN;

	if (cal == NULL || year < WORKDAYS_YEAR_MIN || year > WORKDAYS_YEAR_MAX)
		return 0;
	return (cal->published[i / 8] >> (i % 8)) & 1;
}

/* Returns 1 if every date in first..last (valid, first <= last) is covered, else 0. */
static int range_covered(const struct workdays_calendar *cal, int first, int last)
{
	int y1 = first / 10000, y2 = last / 10000;

	for (int y = y1; y <= y2; y++) {
		if (!workdays_year_published(cal, y))
			return 0;
		/* The range reaches December of y if it goes on past y or ends in December. */
		if ((y < y2 || last / 100 % 100 == 12) && !workdays_year_published(cal, y + 1))
			return 0;
	}
	return 1;
}

int workdays_date_covered(const struct workdays_calendar *cal, int date)
{
	return workdays_date_valid(date) && range_covered(cal, date, date);
}

/* Working-day test for day number z (a valid date): the listing, else the week. */
static int working_day(const struct workdays_calendar *cal, long z)
{
	int date = date_from_days(z);
	size_t i = lower_bound(cal, date);

	if (i < cal->n_days && cal->days[i].date == date)
		return !cal->days[i].is_off;
	return weekday_of(z) <= 5;
}

int workdays_is_working(const struct workdays_calendar *cal, int date, int *working)
{
	if (cal == NULL || working == NULL || !workdays_date_valid(date))
		return WORKDAYS_EINVAL;
	*working = working_day(cal, day_number(date));
	return range_covered(cal, date, date) ? WORKDAYS_OK : WORKDAYS_APPROX;
}

int workdays_add(const struct workdays_calendar *cal, int start, int n, int *out)
{
	long z, last = days_from_civil(WORKDAYS_YEAR_MAX, 12, 31);
	int first;

	if (cal == NULL || out == NULL || !workdays_date_valid(start) || n < 0)
		return WORKDAYS_EINVAL;
	if (n > WORKDAYS_ADD_MAX)
		return WORKDAYS_ERANGE;
	if (n == 0) {
		*out = start;
		return WORKDAYS_OK;
	}
	z = day_number(start);
	/* Bounded by the date range even if a calendar listed every day as off. */
	while (n > 0) {
		if (++z > last)
			return WORKDAYS_ERANGE;
		n -= working_day(cal, z);
	}
	*out = date_from_days(z);
	first = date_from_days(day_number(start) + 1);
	return range_covered(cal, first, *out) ? WORKDAYS_OK : WORKDAYS_APPROX;
}

int workdays_add_from_instant(const struct workdays_calendar *cal, int64_t t, int n, int *out)
{
	int start, rc = workdays_date_from_instant(t, &start);

	if (rc != WORKDAYS_OK)
		return rc;
	return workdays_add(cal, start, n, out);
}

/* Number of Monday-Friday days among day numbers 0 .. z-1 (z >= 0). */
static long weekdays_before(long z)
{
	long n = z / 7 * 5;

	for (long k = 0; k < z % 7; k++)
		n += weekday_of(k) <= 5;
	return n;
}

/* Working days d with a < d <= b for valid dates a <= b: the week, corrected by the listing. */
static int count_forward(const struct workdays_calendar *cal, int a, int b)
{
	long za = day_number(a), zb = day_number(b);
	long n = weekdays_before(zb + 1) - weekdays_before(za + 1);

	for (size_t i = lower_bound(cal, a + 1); i < cal->n_days && cal->days[i].date <= b; i++) {
		int weekend = weekday_of(day_number(cal->days[i].date)) >= 6;

		if (cal->days[i].is_off && !weekend)
			n--;
		else if (!cal->days[i].is_off && weekend)
			n++;
	}
	return (int)n; /* at most the ~84,000 days of the range */
}

int workdays_between(const struct workdays_calendar *cal, int from, int to, int *count)
{
	int lo = from < to ? from : to, hi = from < to ? to : from;

	if (cal == NULL || count == NULL || !workdays_date_valid(from) || !workdays_date_valid(to))
		return WORKDAYS_EINVAL;
	if (lo == hi) {
		*count = 0;
		return WORKDAYS_OK;
	}
	*count = count_forward(cal, lo, hi);
	if (to < from)
		*count = -*count;
	return range_covered(cal, date_from_days(day_number(lo) + 1), hi) ? WORKDAYS_OK : WORKDAYS_APPROX;
}

int workdays_between_instants(const struct workdays_calendar *cal, int64_t from, int64_t to, int *count)
{
	int a, b, rc;

	if ((rc = workdays_date_from_instant(from, &a)) != WORKDAYS_OK)
		return rc;
	if ((rc = workdays_date_from_instant(to, &b)) != WORKDAYS_OK)
		return rc;
	return workdays_between(cal, a, b, count);
}

const char *workdays_strerror(int rc)
{
	switch (rc) {
	case WORKDAYS_OK:
		return "ok";
	case WORKDAYS_APPROX:
		return "approximate: the holiday calendar does not cover every date (weekends only there)";
	case WORKDAYS_EINVAL:
		return "invalid date or argument";
	case WORKDAYS_ERANGE:
		return "date out of range";
	case WORKDAYS_ENOMEM:
		return "out of memory";
	case WORKDAYS_ECONFLICT:
		return "date listed both as a day off and as a working day";
	default:
		return "unknown error";
	}
}
