/* Loads the China working-day calendar from a directory of holiday-cn files, one a year, named
 * YYYY.json ({"year": 2026, "days": [{"name": "国庆节", "date": "2026-10-01", "isOffDay": true},
 * ...]}; see data/holidays-cn/README.md). Other file names in the directory are ignored, so the
 * LICENSE, the README and editors' temporary files may sit beside them. A year whose "days" is
 * empty (not announced yet) is loaded but not published: dates there get WORKDAYS_APPROX. */
#ifndef CERTDESK_CALENDAR_H
#define CERTDESK_CALENDAR_H
#include <stddef.h>

#include "core/workdays.h"

/* Largest year file read, in bytes (an upstream file is about 5 KB). */
#define CALENDAR_FILE_MAX (256 * 1024)
/* Most entries in one file's "days" (366 days and the previous December). */
#define CALENDAR_DAYS_MAX 400
/* Longest holiday "name", in bytes of UTF-8. */
#define CALENDAR_NAME_MAX 64

/* A year's file as text, uploaded by an admin (kept in the database: store_calendar_*). */
struct calendar_text {
	int year;
	const char *text; /* NUL-terminated JSON */
};

/* Reads every YYYY.json of dir, in year order, and then the nextra years of extra (which replace
 * the files of the same years), into a new calendar. Each file must be a JSON
 * object whose "year" is its name's year and whose "days" is an array of objects with a non-empty
 * "name" string, a "date" "YYYY-MM-DD" in that year (or the December before) and a boolean
 * "isOffDay"; other keys are ignored. A date listed twice with the same meaning counts once; with
 * both meanings it is an error. cal must be initialised (workdays_calendar_init, or a calendar
 * loaded before): on success its old contents are freed and replaced and 0 is returned; on any
 * error cal is untouched, -1 is returned and err (errlen bytes) names the file, the entry and the
 * problem. A directory without year files gives an empty calendar (everything approximate). */
int calendar_load(const char *dir, const struct calendar_text *extra, int nextra,
		  struct workdays_calendar *cal, char *err, size_t errlen);

/* Checks text (len bytes) as the year file of year by the rules above; on success returns 0 with the
 * number of days off and of make-up working days it lists, else -1 with the problem in err. */
int calendar_check_year(const char *text, size_t len, int year, int *off_days, int *work_days, char *err,
			size_t errlen);

#endif
