/* Working days with 调休: hand-checked vectors around 国庆/中秋 and 春节 of 2025 and 2026, the year
 * boundary, unpublished and unknown years, invalid dates and instants; then every date of
 * 2024-2027 against a naive day-by-day model written here independently of the code. The facts
 * are the holiday-cn files of data/holidays-cn (2024-2026; 2027 not announced yet). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "core/workdays.h"

struct fact {
	int date, is_off;
};

/* clang-format off */
static const struct fact facts[] = {
	/* 2024 */
	{20240101, 1}, {20240204, 0}, {20240210, 1}, {20240211, 1}, {20240212, 1}, {20240213, 1},
	{20240214, 1}, {20240215, 1}, {20240216, 1}, {20240217, 1}, {20240218, 0}, {20240404, 1},
	{20240405, 1}, {20240406, 1}, {20240407, 0}, {20240428, 0}, {20240501, 1}, {20240502, 1},
	{20240503, 1}, {20240504, 1}, {20240505, 1}, {20240511, 0}, {20240610, 1}, {20240914, 0},
	{20240915, 1}, {20240916, 1}, {20240917, 1}, {20240929, 0}, {20241001, 1}, {20241002, 1},
	{20241003, 1}, {20241004, 1}, {20241005, 1}, {20241006, 1}, {20241007, 1}, {20241012, 0},
	/* 2025 */
	{20250101, 1}, {20250126, 0}, {20250128, 1}, {20250129, 1}, {20250130, 1}, {20250131, 1},
	{20250201, 1}, {20250202, 1}, {20250203, 1}, {20250204, 1}, {20250208, 0}, {20250404, 1},
	{20250405, 1}, {20250406, 1}, {20250427, 0}, {20250501, 1}, {20250502, 1}, {20250503, 1},
	{20250504, 1}, {20250505, 1}, {20250531, 1}, {20250601, 1}, {20250602, 1}, {20250928, 0},
	{20251001, 1}, {20251002, 1}, {20251003, 1}, {20251004, 1}, {20251005, 1}, {20251006, 1},
	{20251007, 1}, {20251008, 1}, {20251011, 0},
	/* 2026 */
	{20260101, 1}, {20260102, 1}, {20260103, 1}, {20260104, 0}, {20260214, 0}, {20260215, 1},
	{20260216, 1}, {20260217, 1}, {20260218, 1}, {20260219, 1}, {20260220, 1}, {20260221, 1},
	{20260222, 1}, {20260223, 1}, {20260228, 0}, {20260404, 1}, {20260405, 1}, {20260406, 1},
	{20260501, 1}, {20260502, 1}, {20260503, 1}, {20260504, 1}, {20260505, 1}, {20260509, 0},
	{20260619, 1}, {20260620, 1}, {20260621, 1}, {20260920, 0}, {20260925, 1}, {20260926, 1},
	{20260927, 1}, {20261001, 1}, {20261002, 1}, {20261003, 1}, {20261004, 1}, {20261005, 1},
	{20261006, 1}, {20261007, 1}, {20261010, 0},
};
/* clang-format on */
#define NFACTS (sizeof(facts) / sizeof(facts[0]))

static struct workdays_calendar cal; /* 2024-2026 published, 2027 not */

static int setup(void **state)
{
	(void)state;
	workdays_calendar_init(&cal);
	/* Backwards, twice: the calendar must sort and dedupe. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = NFACTS; i-- > 0;)
			if (workdays_calendar_add(&cal, facts[i].date, facts[i].is_off) != WORKDAYS_OK)
				return -1;
	for (int y = 2024; y <= 2026; y++)
		workdays_calendar_publish(&cal, y);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	workdays_calendar_free(&cal);
	return 0;
}

/* Asserts start + n = want with result rc. */
static void check_add(int start, int n, int want, int rc)
{
	int out = 0;

	assert_int_equal(workdays_add(&cal, start, n, &out), rc);
	assert_int_equal(out, want);
}

/* Asserts the working days after from up to to, with result rc, and the antisymmetric reverse. */
static void check_between(int from, int to, int want, int rc)
{
	int n = -999;

	assert_int_equal(workdays_between(&cal, from, to, &n), rc);
	assert_int_equal(n, want);
	assert_int_equal(workdays_between(&cal, to, from, &n), rc);
	assert_int_equal(n, -want);
}

static int working(int date)
{
	int w = -1;

	assert_true(workdays_is_working(&cal, date, &w) >= 0);
	return w;
}

static void test_calendar_built(void **state)
{
	(void)state;
	assert_int_equal(cal.n_days, NFACTS);
	for (size_t i = 1; i < cal.n_days; i++)
		assert_true(cal.days[i - 1].date < cal.days[i].date);
	assert_int_equal(workdays_calendar_add(&cal, 20261001, 0), WORKDAYS_ECONFLICT);
	assert_int_equal(workdays_calendar_add(&cal, 20261001, 7), WORKDAYS_OK); /* any non-zero is off */
	assert_int_equal(cal.n_days, NFACTS);
	assert_int_equal(workdays_calendar_add(&cal, 20250229, 1), WORKDAYS_EINVAL);
	assert_int_equal(workdays_calendar_add(NULL, 20250101, 1), WORKDAYS_EINVAL);
	assert_int_equal(workdays_calendar_publish(&cal, 1969), WORKDAYS_EINVAL);
	assert_int_equal(workdays_calendar_publish(&cal, 2200), WORKDAYS_EINVAL);
	assert_true(workdays_year_published(&cal, 2026));
	assert_false(workdays_year_published(&cal, 2027));
	assert_false(workdays_year_published(&cal, 1900));
	assert_false(workdays_year_published(NULL, 2026));
}

/* 2025: 9-28 (Sun) worked, 10-1..10-8 off (国庆 with 中秋 on 10-6), 10-11 (Sat) worked. */
static void test_national_day_2025(void **state)
{
	(void)state;
	assert_int_equal(working(20250927), 0); /* Sat */
	assert_int_equal(working(20250928), 1); /* Sun, make-up */
	assert_int_equal(working(20250930), 1);
	for (int d = 20251001; d <= 20251008; d++)
		assert_int_equal(working(d), 0);
	assert_int_equal(working(20251009), 1);
	assert_int_equal(working(20251011), 1); /* Sat, make-up */
	assert_int_equal(working(20251012), 0);
	/* From the last working day before 国庆 (Tue 9-30). */
	check_add(20250930, 1, 20251009, WORKDAYS_OK);
	check_add(20250930, 2, 20251010, WORKDAYS_OK);
	check_add(20250930, 3, 20251011, WORKDAYS_OK);
	check_add(20250930, 4, 20251013, WORKDAYS_OK);
	check_add(20250926, 1, 20250928, WORKDAYS_OK); /* Fri -> the make-up Sunday */
	check_add(20250926, 4, 20251009, WORKDAYS_OK);
	check_add(20250927, 1, 20250928, WORKDAYS_OK);
	check_add(20251001, 1, 20251009, WORKDAYS_OK); /* from inside the holiday */
	check_add(20251005, 2, 20251010, WORKDAYS_OK);
	check_add(20250929, 3, 20251010, WORKDAYS_OK); /* invoice 3 days after production on 9-29 */
	check_add(20251008, 0, 20251008, WORKDAYS_OK);
	check_between(20250930, 20251008, 0, WORKDAYS_OK);
	check_between(20250930, 20251009, 1, WORKDAYS_OK);
	check_between(20251001, 20251008, 0, WORKDAYS_OK);
	check_between(20250926, 20251013, 7, WORKDAYS_OK); /* 9-28 29 30, 10-9 10 11 13 */
	check_between(20251010, 20251012, 1, WORKDAYS_OK);
}

/* 2026: 9-20 (Sun) worked, 中秋 9-25..27 off, 国庆 10-1..7 off, 10-10 (Sat) worked (domain.md §10). */
static void test_national_day_2026(void **state)
{
	(void)state;
	check_add(20260924, 3, 20260930, WORKDAYS_OK);
	check_add(20260930, 2, 20261009, WORKDAYS_OK);
	check_add(20260930, 3, 20261010, WORKDAYS_OK);
	check_add(20260924, 1, 20260928, WORKDAYS_OK);
	check_add(20260918, 1, 20260920, WORKDAYS_OK); /* Fri -> the make-up Sunday */
	check_add(20261009, 1, 20261010, WORKDAYS_OK);
	check_add(20261009, 2, 20261012, WORKDAYS_OK);
	check_add(20260430, 2, 20260507, WORKDAYS_OK); /* 劳动节 5-1..5 */
	check_add(20260508, 1, 20260509, WORKDAYS_OK); /* Sat 5-9 worked */
	check_between(20260924, 20260930, 3, WORKDAYS_OK);
	check_between(20260930, 20261010, 3, WORKDAYS_OK);
	check_between(20260918, 20260921, 2, WORKDAYS_OK); /* Sun 9-20 and Mon 9-21 */
	check_between(20260930, 20261007, 0, WORKDAYS_OK);
}

/* 春节 2026: 2-14 (Sat) worked, 2-15..23 off, 2-28 (Sat) worked; 2025: 1-26 (Sun) worked,
 * 1-28..2-4 off, 2-8 (Sat) worked. */
static void test_spring_festival(void **state)
{
	(void)state;
	check_add(20260212, 2, 20260214, WORKDAYS_OK);
	check_add(20260213, 1, 20260214, WORKDAYS_OK);
	check_add(20260213, 2, 20260224, WORKDAYS_OK);
	check_add(20260213, 3, 20260225, WORKDAYS_OK);
	check_add(20260214, 1, 20260224, WORKDAYS_OK);
	check_add(20260227, 1, 20260228, WORKDAYS_OK);
	check_add(20260227, 2, 20260302, WORKDAYS_OK);
	check_between(20260213, 20260224, 2, WORKDAYS_OK);
	check_between(20260214, 20260223, 0, WORKDAYS_OK);
	check_add(20250124, 1, 20250126, WORKDAYS_OK);
	check_add(20250124, 2, 20250127, WORKDAYS_OK);
	check_add(20250124, 3, 20250205, WORKDAYS_OK);
	check_add(20250207, 1, 20250208, WORKDAYS_OK);
	check_between(20250127, 20250204, 0, WORKDAYS_OK);
	check_between(20250124, 20250210, 7, WORKDAYS_OK); /* 1-26 27, 2-5 6 7 8 10 */
}

/* December needs the next year's notice: 2025-12 is exact, 2026-12 (2027 empty) is not. */
static void test_year_boundary(void **state)
{
	int w;

	(void)state;
	check_add(20251231, 1, 20260104, WORKDAYS_OK); /* 1-1..3 off, Sun 1-4 worked */
	check_add(20251231, 2, 20260105, WORKDAYS_OK);
	check_add(20241231, 1, 20250102, WORKDAYS_OK);
	check_between(20251231, 20260105, 2, WORKDAYS_OK);
	check_between(20241227, 20250102, 3, WORKDAYS_OK); /* 12-30, 12-31, 1-2 */
	assert_int_equal(workdays_is_working(&cal, 20261130, &w), WORKDAYS_OK);
	assert_int_equal(workdays_is_working(&cal, 20261201, &w), WORKDAYS_APPROX);
	assert_int_equal(w, 1);
	assert_true(workdays_date_covered(&cal, 20251231));
	assert_true(workdays_date_covered(&cal, 20261130));
	assert_false(workdays_date_covered(&cal, 20261201));
	assert_false(workdays_date_covered(&cal, 20270104));
	assert_false(workdays_date_covered(&cal, 20231231));
	assert_false(workdays_date_covered(&cal, 20250230));
	check_add(20261127, 1, 20261130, WORKDAYS_OK);
	check_add(20261130, 1, 20261201, WORKDAYS_APPROX);
	check_add(20261231, 1, 20270101, WORKDAYS_APPROX); /* weekends only: Fri 2027-01-01 */
	check_between(20261125, 20261130, 3, WORKDAYS_OK);
	check_between(20261125, 20261201, 4, WORKDAYS_APPROX);
	/* The range starts the day after from: 2023-12-31 itself is not looked at. */
	check_between(20231231, 20240102, 1, WORKDAYS_OK);
	check_between(20231230, 20240102, 1, WORKDAYS_APPROX);
}

static void test_unknown_year(void **state)
{
	struct workdays_calendar empty;
	int w = -1, out = 0;

	(void)state;
	check_add(20300930, 2, 20301002, WORKDAYS_APPROX); /* no 国庆 known: Tue-Wed */
	assert_int_equal(workdays_is_working(&cal, 20301001, &w), WORKDAYS_APPROX);
	assert_int_equal(w, 1);
	workdays_calendar_init(&empty);
	assert_int_equal(workdays_is_working(&empty, 20261001, &w), WORKDAYS_APPROX);
	assert_int_equal(w, 1);
	assert_int_equal(workdays_add(&empty, 20260930, 2, &out), WORKDAYS_APPROX);
	assert_int_equal(out, 20261002);
	assert_int_equal(workdays_add(&empty, 20260930, 0, &out), WORKDAYS_OK);
	workdays_calendar_free(&empty);
	workdays_calendar_free(&empty); /* idempotent */
	workdays_calendar_free(NULL);
}

static void test_invalid(void **state)
{
	static const int bad[] = {0,        -1,       20250229, 21000229, 20250230, 20250431, 20251301,
				  20250001, 20250100, 20250132, 19691231, 22000101, 99999999, 2025101};
	int w = -7, out = -7, n = -7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(workdays_date_valid(bad[i]));
		assert_int_equal(workdays_weekday(bad[i]), WORKDAYS_EINVAL);
		assert_int_equal(workdays_is_working(&cal, bad[i], &w), WORKDAYS_EINVAL);
		assert_int_equal(workdays_add(&cal, bad[i], 1, &out), WORKDAYS_EINVAL);
		assert_int_equal(workdays_between(&cal, bad[i], 20250101, &n), WORKDAYS_EINVAL);
		assert_int_equal(workdays_between(&cal, 20250101, bad[i], &n), WORKDAYS_EINVAL);
	}
	assert_int_equal(w, -7);
	assert_int_equal(out, -7);
	assert_int_equal(n, -7);
	assert_true(workdays_date_valid(20240229));
	assert_true(workdays_date_valid(20000229));
	assert_true(workdays_date_valid(19700101));
	assert_true(workdays_date_valid(21991231));
	assert_int_equal(workdays_add(&cal, 20250101, -1, &out), WORKDAYS_EINVAL);
	assert_int_equal(workdays_add(&cal, 20250101, WORKDAYS_ADD_MAX + 1, &out), WORKDAYS_ERANGE);
	assert_int_equal(workdays_add(&cal, 21991230, 2, &out), WORKDAYS_ERANGE);
	assert_int_equal(workdays_add(&cal, 20250101, WORKDAYS_ADD_MAX, &out), WORKDAYS_APPROX);
	assert_int_equal(workdays_add(NULL, 20250101, 1, &out), WORKDAYS_EINVAL);
	assert_int_equal(workdays_add(&cal, 20250101, 1, NULL), WORKDAYS_EINVAL);
	assert_int_equal(workdays_is_working(&cal, 20250101, NULL), WORKDAYS_EINVAL);
	assert_int_equal(workdays_between(&cal, 20250101, 20250102, NULL), WORKDAYS_EINVAL);
	assert_string_equal(workdays_strerror(WORKDAYS_ECONFLICT),
			    "date listed both as a day off and as a working day");
	assert_string_equal(workdays_strerror(42), "unknown error");
}

static void test_parse_format(void **state)
{
	static const char *bad[] = {"",           "2025-1-01",   "2025-01-1",   "20250101",    "2025/01/01",
				    "2025-02-29", "2025-01-01 ", " 2025-01-01", "2025-01-01Z", "+025-01-01",
				    "2025-13-01", "1969-12-31",  "2025-0a-01"};
	char buf[WORKDAYS_DATE_LEN];
	int d = 7;

	(void)state;
	assert_int_equal(workdays_date_parse("2026-10-01", &d), WORKDAYS_OK);
	assert_int_equal(d, 20261001);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = 7;
		assert_int_equal(workdays_date_parse(bad[i], &d), WORKDAYS_EINVAL);
		assert_int_equal(d, 7);
	}
	assert_int_equal(workdays_date_parse(NULL, &d), WORKDAYS_EINVAL);
	assert_int_equal(workdays_date_format(20240229, buf), WORKDAYS_OK);
	assert_string_equal(buf, "2024-02-29");
	assert_int_equal(workdays_date_format(19700101, buf), WORKDAYS_OK);
	assert_string_equal(buf, "1970-01-01");
	assert_int_equal(workdays_date_format(20250229, buf), WORKDAYS_EINVAL);
	assert_string_equal(buf, "");
	assert_int_equal(workdays_weekday(19700101), 4);
	assert_int_equal(workdays_weekday(20261001), 4);
	assert_int_equal(workdays_weekday(20261010), 6);
	assert_int_equal(workdays_weekday(20260920), 7);
	assert_int_equal(workdays_weekday(20000301), 3);
	assert_int_equal(workdays_weekday(21991231), 2);
}

/* Instants are counted on the Asia/Shanghai (UTC+8) date. */
static void test_instants(void **state)
{
	int d = 0, out = 0, n = 0;

	(void)state;
	assert_int_equal(workdays_date_from_instant(1759247999, &d), WORKDAYS_OK); /* 09-30T15:59:59Z */
	assert_int_equal(d, 20250930);
	assert_int_equal(workdays_date_from_instant(1759248000, &d), WORKDAYS_OK); /* = 10-01 00:00 +08 */
	assert_int_equal(d, 20251001);
	assert_int_equal(workdays_date_from_instant(1767196800, &d), WORKDAYS_OK);
	assert_int_equal(d, 20260101);
	assert_int_equal(workdays_date_from_instant(-28800, &d), WORKDAYS_OK);
	assert_int_equal(d, 19700101);
	assert_int_equal(workdays_date_from_instant(7258089599, &d), WORKDAYS_OK);
	assert_int_equal(d, 21991231);
	assert_int_equal(workdays_date_from_instant(-28801, &d), WORKDAYS_ERANGE);
	assert_int_equal(workdays_date_from_instant(7258089600, &d), WORKDAYS_ERANGE);
	assert_int_equal(workdays_date_from_instant(INT64_MAX, &d), WORKDAYS_ERANGE);
	assert_int_equal(workdays_date_from_instant(INT64_MIN, &d), WORKDAYS_ERANGE);
	/* Passed a second before Beijing midnight on 9-30 (day 0 = 9-30) or a second later (day 0 =
	 * 10-01, a holiday): +2 is 10-10 either way. */
	assert_int_equal(workdays_add_from_instant(&cal, 1759247999, 2, &out), WORKDAYS_OK);
	assert_int_equal(out, 20251010);
	assert_int_equal(workdays_add_from_instant(&cal, 1759248000, 2, &out), WORKDAYS_OK);
	assert_int_equal(out, 20251010);
	assert_int_equal(workdays_add_from_instant(&cal, 1759248000, 0, &out), WORKDAYS_OK);
	assert_int_equal(out, 20251001);
	assert_int_equal(workdays_add_from_instant(&cal, 1790730000, 2, &out),
			 WORKDAYS_OK); /* 2026-09-30 09:00 */
	assert_int_equal(out, 20261009);
	assert_int_equal(workdays_add_from_instant(&cal, -28801, 2, &out), WORKDAYS_ERANGE);
	assert_int_equal(workdays_between_instants(&cal, 1759247999, 1759248000, &n), WORKDAYS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(workdays_between_instants(&cal, 1759247999 - 86400 * 4, 1759247999, &n),
			 WORKDAYS_OK);
	assert_int_equal(n, 3); /* from Fri 9-26: 9-28, 9-29, 9-30 */
	assert_int_equal(workdays_between_instants(&cal, 1759248000 + 86400 * 8, 1759247999, &n),
			 WORKDAYS_OK);
	assert_int_equal(n, -1); /* 10-09 back to 9-30 */
	assert_int_equal(workdays_between_instants(&cal, INT64_MAX, 0, &n), WORKDAYS_ERANGE);
}

/* ---- an independent naive model for every date of 2024-2027 ---- */

static int naive_days_in_month(int y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return len[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

static int naive_next(int date)
{
	int y = date / 10000, m = date / 100 % 100, d = date % 100;

	if (d < naive_days_in_month(y, m))
		return date + 1;
	return m < 12 ? y * 10000 + (m + 1) * 100 + 1 : (y + 1) * 10000 + 101;
}

/* Sakamoto's day of week, 0 = Sunday. */
static int naive_dow(int date)
{
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	int y = date / 10000, m = date / 100 % 100, d = date % 100;

	y -= m < 3;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int naive_working(int date)
{
	for (size_t i = 0; i < NFACTS; i++)
		if (facts[i].date == date)
			return !facts[i].is_off;
	return naive_dow(date) != 0 && naive_dow(date) != 6;
}

static int naive_add(int date, int n)
{
	while (n > 0) {
		date = naive_next(date);
		n -= naive_working(date);
	}
	return date;
}

/* Expected coverage of the range after from up to to: every year 2024..2026 and no 2026-12. */
static int naive_exact(int from, int to)
{
	int first = naive_next(from);

	return from == to || (first >= 20240101 && to <= 20261130);
}

static void test_against_naive_model(void **state)
{
	(void)state;
	for (int d = 20240101; d <= 20271231; d = naive_next(d)) {
		int w = -1, out = 0, n = 0;
		int rc = workdays_is_working(&cal, d, &w);

		assert_int_equal(w, naive_working(d));
		assert_int_equal(rc, d <= 20261130 ? WORKDAYS_OK : WORKDAYS_APPROX);
		assert_int_equal(workdays_weekday(d) % 7, naive_dow(d));
		for (int k = 0; k <= 12; k++) {
			int want = naive_add(d, k);

			rc = workdays_add(&cal, d, k, &out);
			assert_int_equal(out, want);
			assert_int_equal(rc, naive_exact(d, want) ? WORKDAYS_OK : WORKDAYS_APPROX);
			assert_int_equal(workdays_between(&cal, d, out, &n), rc);
			assert_int_equal(n, k);
		}
		/* Counting: every end date within 40 days, by stepping. */
		n = 0;
		for (int e = d, steps = 0; steps <= 40; steps++) {
			int got = -1;

			rc = workdays_between(&cal, d, e, &got);
			assert_int_equal(got, n);
			assert_int_equal(rc, naive_exact(d, e) ? WORKDAYS_OK : WORKDAYS_APPROX);
			e = naive_next(e);
			n += naive_working(e);
		}
	}
}

/* Long ranges take the arithmetic path: compare a whole 2024-2027 count with the naive one. */
static void test_long_range(void **state)
{
	int n = 0, want = 0;

	(void)state;
	for (int d = naive_next(20231231); d <= 20271231; d = naive_next(d))
		want += naive_working(d);
	assert_int_equal(workdays_between(&cal, 20231231, 20271231, &n), WORKDAYS_APPROX);
	assert_int_equal(n, want);
	assert_int_equal(workdays_between(&cal, 19700101, 21991231, &n), WORKDAYS_APPROX);
	assert_true(n > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar_built),    cmocka_unit_test(test_national_day_2025),
		cmocka_unit_test(test_national_day_2026), cmocka_unit_test(test_spring_festival),
		cmocka_unit_test(test_year_boundary),     cmocka_unit_test(test_unknown_year),
		cmocka_unit_test(test_invalid),           cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_instants),          cmocka_unit_test(test_against_naive_model),
		cmocka_unit_test(test_long_range),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
