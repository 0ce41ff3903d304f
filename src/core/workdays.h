/* Mainland China working days with 调休: Monday-Friday work and Saturday-Sunday are off, except
 * the dates the State Council's yearly notice lists, each either a statutory day off or a make-up
 * working day (usually a weekend). A calendar holds those exceptions and the years whose notice is
 * known ("published"); store/calendar.c loads them from the holiday-cn files. Pure code: no I/O.
 *
 * Dates are ints YYYYMMDD (20261001), years WORKDAYS_YEAR_MIN..WORKDAYS_YEAR_MAX, proleptic
 * Gregorian. Instants are Unix seconds (UTC), turned into dates in Asia/Shanghai (UTC+8; China
 * has had no DST since 1991). "+N working days" is the Nth working day strictly after the start.
 *
 * Coverage: a date is covered when its year is published and, for December dates, the next year
 * is too (the next year's notice may move days in late December, e.g. 2018-12-29 worked and
 * 2018-12-30/31 off came from the 2019 notice). For dates not covered the weekend rule alone is
 * used and the functions return WORKDAYS_APPROX instead of WORKDAYS_OK, so that the UI can say
 * "about". A loaded calendar is read-only: any number of threads may query it. */
#ifndef CERTDESK_WORKDAYS_H
#define CERTDESK_WORKDAYS_H
#include <stddef.h>
#include <stdint.h>

#define WORKDAYS_YEAR_MIN 1970
#define WORKDAYS_YEAR_MAX 2199
/* Largest N accepted by workdays_add (about 40 years); larger is WORKDAYS_ERANGE. */
#define WORKDAYS_ADD_MAX 10000
/* "YYYY-MM-DD" plus NUL. */
#define WORKDAYS_DATE_LEN 11

/* Results: >= 0 means an answer was written, < 0 means nothing was. */
enum workdays_result {
	WORKDAYS_OK = 0,         /* exact: every date looked at is covered by the calendar */
	WORKDAYS_APPROX = 1,     /* answered with the weekend rule for some date not covered */
	WORKDAYS_EINVAL = -1,    /* an argument is not a valid date, or NULL, or N < 0 */
	WORKDAYS_ERANGE = -2,    /* the answer would leave WORKDAYS_YEAR_MIN..MAX, or N too large */
	WORKDAYS_ENOMEM = -3,    /* out of memory (calendar building only) */
	WORKDAYS_ECONFLICT = -4, /* the date is already listed with the other meaning */
};

/* One listed date. */
struct workdays_day {
	int date;   /* YYYYMMDD */
	int is_off; /* 1: statutory day off (isOffDay true); 0: make-up working day (调休上班) */
};

/* The exceptions, sorted by date without duplicates, and the published years. Initialise with
 * workdays_calendar_init, fill with the _add/_publish functions, release with _free. The fields
 * are read-only to everyone else. */
struct workdays_calendar {
	struct workdays_day *days; /* owned */
	size_t n_days, cap_days;
	unsigned char published[(WORKDAYS_YEAR_MAX - WORKDAYS_YEAR_MIN + 1 + 7) / 8];
};

/* Makes cal an empty calendar: nothing published, every answer WORKDAYS_APPROX. */
void workdays_calendar_init(struct workdays_calendar *cal);
/* Frees what cal holds and leaves it empty (as after init). NULL is a no-op. */
void workdays_calendar_free(struct workdays_calendar *cal);
/* Lists date as a day off (is_off != 0) or a make-up working day, keeping the order. Listing a
 * date again with the same meaning is a no-op. Returns WORKDAYS_OK, WORKDAYS_EINVAL (bad date),
 * WORKDAYS_ECONFLICT (listed with the other meaning; cal unchanged) or WORKDAYS_ENOMEM. */
int workdays_calendar_add(struct workdays_calendar *cal, int date, int is_off);
/* Marks year's notice as known (its file has days). Returns WORKDAYS_OK or WORKDAYS_EINVAL. */
int workdays_calendar_publish(struct workdays_calendar *cal, int year);
/* Returns 1 if year is published in cal, else 0 (also for years out of range). */
int workdays_year_published(const struct workdays_calendar *cal, int year);
/* Returns 1 if the answer for date is exact (see Coverage above), 0 if not or date is invalid. */
int workdays_date_covered(const struct workdays_calendar *cal, int date);

/* Returns 1 if date (YYYYMMDD) is a real date in WORKDAYS_YEAR_MIN..MAX, else 0. */
int workdays_date_valid(int date);
/* Returns the ISO weekday of date, 1 = Monday .. 7 = Sunday, or WORKDAYS_EINVAL. */
int workdays_weekday(int date);
/* Parses exactly "YYYY-MM-DD" (10 characters, a valid date) into *date. Returns WORKDAYS_OK or
 * WORKDAYS_EINVAL (*date untouched). */
int workdays_date_parse(const char *s, int *date);
/* Writes date as "YYYY-MM-DD" into buf; returns WORKDAYS_OK, or WORKDAYS_EINVAL (buf = ""). */
int workdays_date_format(int date, char buf[WORKDAYS_DATE_LEN]);
/* Writes the calendar date in Asia/Shanghai of Unix time t into *date. Returns WORKDAYS_OK or
 * WORKDAYS_ERANGE (outside WORKDAYS_YEAR_MIN..MAX). */
int workdays_date_from_instant(int64_t t, int *date);

/* Sets *working to 1 if date is a working day, else 0: a listed date by its listing, any other
 * by the week. Returns WORKDAYS_OK, WORKDAYS_APPROX (not covered) or WORKDAYS_EINVAL. */
int workdays_is_working(const struct workdays_calendar *cal, int date, int *working);
/* Sets *out to the n-th working day strictly after start (n = 0: start itself, even when start
 * is not a working day). 2026-09-30 + 2 = 2026-10-09. Returns WORKDAYS_OK, WORKDAYS_APPROX (some
 * date after start up to *out is not covered), WORKDAYS_EINVAL (bad start, n < 0) or
 * WORKDAYS_ERANGE (n > WORKDAYS_ADD_MAX, or the answer is past WORKDAYS_YEAR_MAX). */
int workdays_add(const struct workdays_calendar *cal, int start, int n, int *out);
/* As workdays_add from the Asia/Shanghai date of Unix time t: the day of t counts as day 0
 * whatever the hour (no cut-off time). */
int workdays_add_from_instant(const struct workdays_calendar *cal, int64_t t, int n, int *out);
/* Sets *count to the number of working days d with from < d <= to: the working days elapsed
 * after from, counting to itself. Equal dates give 0; Friday to the next Monday gives 1; an
 * item started on any day of a 7-day holiday and looked at on its last day is 0 old. When to is
 * before from, *count is minus the count from to to from, so that
 * workdays_between(d, workdays_add(d, n)) == n. Returns WORKDAYS_OK, WORKDAYS_APPROX (some date
 * in the range is not covered) or WORKDAYS_EINVAL. */
int workdays_between(const struct workdays_calendar *cal, int from, int to, int *count);
/* As workdays_between on the Asia/Shanghai dates of Unix times from and to (an item's age in
 * working days). Returns as workdays_between, or WORKDAYS_ERANGE for instants out of range. */
int workdays_between_instants(const struct workdays_calendar *cal, int64_t from, int64_t to, int *count);
/* Returns a short English description of an enum workdays_result. */
const char *workdays_strerror(int rc);

#endif
