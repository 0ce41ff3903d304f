/* The calendar loader: the repository's data/holidays-cn, then temporary directories with good
 * files, malformed JSON, wrong types, bad dates, conflicts and a missing directory. A failed load
 * must leave the caller's calendar as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/workdays.h"
#include "store/calendar.h"

#ifndef HOLIDAYS_DIR
#error "HOLIDAYS_DIR must name data/holidays-cn"
#endif

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_calendar.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Removes every file of dir, then dir. */
static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Expects the load to fail with a message containing each of the NULL-terminated fragments. */
static void expect_fail(const char *first, ...)
{
	struct workdays_calendar cal;
	char err[512] = "";
	va_list ap;

	workdays_calendar_init(&cal);
	assert_int_equal(workdays_calendar_add(&cal, 20200101, 1), WORKDAYS_OK);
	assert_int_equal(calendar_load(dir, NULL, 0, &cal, err, sizeof(err)), -1);
	/* Untouched. */
	assert_int_equal(cal.n_days, 1);
	assert_int_equal(cal.days[0].date, 20200101);
	va_start(ap, first);
	for (const char *frag = first; frag; frag = va_arg(ap, const char *)) {
		if (strstr(err, frag) == NULL)
			fail_msg("error \"%s\" lacks \"%s\"", err, frag);
	}
	va_end(ap);
	workdays_calendar_free(&cal);
}

static void test_repository_data(void **state)
{
	struct workdays_calendar cal;
	char err[512] = "";
	int out = 0;

	(void)state;
	workdays_calendar_init(&cal);
	assert_int_equal(calendar_load(HOLIDAYS_DIR, NULL, 0, &cal, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(workdays_year_published(&cal, 2024));
	assert_true(workdays_year_published(&cal, 2025));
	assert_true(workdays_year_published(&cal, 2026));
	assert_false(workdays_year_published(&cal, 2027)); /* empty "days" */
	assert_int_equal(cal.n_days, 36 + 33 + 39);
	/* domain.md §10's vectors. */
	assert_int_equal(workdays_add(&cal, 20260924, 3, &out), WORKDAYS_OK);
	assert_int_equal(out, 20260930);
	assert_int_equal(workdays_add(&cal, 20260930, 2, &out), WORKDAYS_OK);
	assert_int_equal(out, 20261009);
	assert_int_equal(workdays_add(&cal, 20260930, 3, &out), WORKDAYS_OK);
	assert_int_equal(out, 20261010);
	assert_int_equal(workdays_add(&cal, 20260212, 2, &out), WORKDAYS_OK);
	assert_int_equal(out, 20260214);
	assert_int_equal(workdays_add(&cal, 20260213, 3, &out), WORKDAYS_OK);
	assert_int_equal(out, 20260225);
	assert_int_equal(workdays_add(&cal, 20260430, 2, &out), WORKDAYS_OK);
	assert_int_equal(out, 20260507);
	assert_int_equal(workdays_add(&cal, 20261231, 1, &out), WORKDAYS_APPROX);
	/* Loading again into a loaded calendar replaces it. */
	assert_int_equal(calendar_load(HOLIDAYS_DIR, NULL, 0, &cal, err, sizeof(err)), 0);
	assert_int_equal(cal.n_days, 36 + 33 + 39);
	workdays_calendar_free(&cal);
}

static const char good_2030[] =
	"{\"$schema\": \"x\", \"year\": 2030, \"papers\": [], \"extra\": 1, \"days\": ["
	"{\"name\": \"元旦\", \"date\": \"2029-12-31\", \"isOffDay\": true},"
	"{\"name\": \"国庆节\", \"date\": \"2030-10-01\", \"isOffDay\": true, \"note\": \"ignored\"},"
	"{\"name\": \"国庆节\", \"date\": \"2030-09-29\", \"isOffDay\": false},"
	"{\"name\": \"国庆节\", \"date\": \"2030-10-01\", \"isOffDay\": true}]}";

static void test_good_files(void **state)
{
	struct workdays_calendar cal;
	char err[512] = "";
	int w = -1;

	(void)state;
	put("2030.json", good_2030);
	put("2029.json",
	    "{\"year\": 2029, \"days\": [{\"name\": \"x\", \"date\": \"2029-05-01\", \"isOffDay\": true}]}");
	put("2031.json", "{\"year\": 2031, \"papers\": [], \"days\": []}");
	put("README.md", "not json");
	put("LICENSE", "MIT");
	put("2032.json.bak", "{");
	put(".2033.json.swp", "{");
	put("20340.json", "{");
	workdays_calendar_init(&cal);
	assert_int_equal(calendar_load(dir, NULL, 0, &cal, err, sizeof(err)), 0);
	assert_int_equal(cal.n_days, 4); /* the repeated 2030-10-01 once */
	assert_int_equal(cal.days[0].date, 20290501);
	assert_int_equal(cal.days[1].date, 20291231);
	assert_int_equal(cal.days[2].date, 20300929);
	assert_int_equal(cal.days[2].is_off, 0);
	assert_int_equal(cal.days[3].date, 20301001);
	assert_true(workdays_year_published(&cal, 2029));
	assert_true(workdays_year_published(&cal, 2030));
	assert_false(workdays_year_published(&cal, 2031));
	assert_int_equal(workdays_is_working(&cal, 20291231, &w), WORKDAYS_OK); /* Dec 2029: 2030 known */
	assert_int_equal(w, 0);
	assert_int_equal(workdays_is_working(&cal, 20300929, &w), WORKDAYS_OK); /* a Sunday, worked */
	assert_int_equal(w, 1);
	assert_int_equal(workdays_is_working(&cal, 20301231, &w), WORKDAYS_APPROX);
	workdays_calendar_free(&cal);
}

static void test_empty_dir(void **state)
{
	struct workdays_calendar cal;
	char err[512] = "";
	int w;

	(void)state;
	workdays_calendar_init(&cal);
	assert_int_equal(calendar_load(dir, NULL, 0, &cal, err, sizeof(err)), 0);
	assert_int_equal(cal.n_days, 0);
	assert_int_equal(workdays_is_working(&cal, 20261001, &w), WORKDAYS_APPROX);
	workdays_calendar_free(&cal);
}

static void test_missing_dir(void **state)
{
	struct workdays_calendar cal;
	char err[512] = "";

	(void)state;
	workdays_calendar_init(&cal);
	assert_int_equal(calendar_load("/nonexistent/holidays-cn", NULL, 0, &cal, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/holidays-cn"));
	assert_int_equal(calendar_load(NULL, NULL, 0, &cal, err, sizeof(err)), -1);
	workdays_calendar_free(&cal);
}

/* A year uploaded in the console replaces the file of that year, and adds years the files lack. */
static void test_uploaded_years(void **state)
{
	struct workdays_calendar cal;
	char err[512] = "";
	int w, off, work;
	/* 2026 without its National Day: only 10-01 is off; 2031 does not exist as a file */
	const struct calendar_text extra[] = {
		{2026, "{\"year\": 2026, \"days\": [{\"name\": \"国庆节\", \"date\": \"2026-10-01\", "
		       "\"isOffDay\": true}]}"},
		{2031, "{\"year\": 2031, \"days\": [{\"name\": \"元旦\", \"date\": \"2031-01-01\", "
		       "\"isOffDay\": true}, {\"name\": \"春节\", \"date\": \"2031-01-26\", \"isOffDay\": "
		       "false}]}"},
	};

	(void)state;
	workdays_calendar_init(&cal);
	assert_int_equal(calendar_load(HOLIDAYS_DIR, extra, 2, &cal, err, sizeof(err)), 0);
	assert_int_equal(workdays_is_working(&cal, 20261001, &w), WORKDAYS_OK);
	assert_int_equal(w, 0);
	assert_int_equal(workdays_is_working(&cal, 20261002, &w),
			 WORKDAYS_OK); /* the file's holiday is gone */
	assert_int_equal(w, 1);
	assert_int_equal(workdays_is_working(&cal, 20310126, &w),
			 WORKDAYS_OK); /* a Sunday made a working day */
	assert_int_equal(w, 1);
	assert_int_equal(workdays_is_working(&cal, 20251001, &w), WORKDAYS_OK); /* other files still count */
	assert_int_equal(w, 0);
	workdays_calendar_free(&cal);

	assert_int_equal(calendar_check_year(extra[1].text, strlen(extra[1].text), 2031, &off, &work, err,
					     sizeof(err)),
			 0);
	assert_int_equal(off, 1);
	assert_int_equal(work, 1);
	assert_int_equal(calendar_check_year(extra[1].text, strlen(extra[1].text), 2030, &off, &work, err,
					     sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "\"year\" must be the integer 2030"));
	const char *bad = "{\"year\": 2030, \"days\": [{\"name\": \"x\", \"date\": \"2030-02-30\", "
			  "\"isOffDay\": true}]}";
	assert_int_equal(calendar_check_year(bad, strlen(bad), 2030, &off, &work, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "days[0]"));
}

static void test_malformed_json(void **state)
{
	(void)state;
	put("2029.json", "{\"year\": 2029, \"days\": []}");
	put("2030.json", "{\"year\": 2030, \"days\": [\n  {\"name\": \"x\",}\n]}");
	expect_fail("2030.json:2:", "malformed JSON", NULL);
	put("2030.json", "");
	expect_fail("2030.json", "malformed JSON", NULL);
	put("2030.json", "{\"year\": 2030, \"year\": 2030, \"days\": []}"); /* duplicate key */
	expect_fail("2030.json", "malformed JSON", NULL);
	put("2030.json", "[]");
	expect_fail("2030.json", "not a JSON object", NULL);
}

static void test_wrong_types(void **state)
{
	static const struct {
		const char *text, *frag;
	} cases[] = {
		{"{\"year\": \"2030\", \"days\": []}", "\"year\" must be the integer 2030"},
		{"{\"year\": 2031, \"days\": []}", "\"year\" must be the integer 2030"},
		{"{\"days\": []}", "\"year\""},
		{"{\"year\": 2030}", "\"days\" must be an array"},
		{"{\"year\": 2030, \"days\": {}}", "\"days\" must be an array"},
		{"{\"year\": 2030, \"days\": [1]}", "days[0]: not an object"},
		{"{\"year\": 2030, \"days\": [{\"date\": \"2030-10-01\", \"isOffDay\": true}]}",
		 "days[0]: \"name\""},
		{"{\"year\": 2030, \"days\": [{\"name\": \"\", \"date\": \"2030-10-01\", \"isOffDay\": "
		 "true}]}",
		 "days[0]: \"name\""},
		{"{\"year\": 2030, \"days\": [{\"name\": 5, \"date\": \"2030-10-01\", \"isOffDay\": true}]}",
		 "days[0]: \"name\""},
		{"{\"year\": 2030, \"days\": [{\"name\": \"x\", \"date\": 20301001, \"isOffDay\": true}]}",
		 "days[0]: \"date\""},
		{"{\"year\": 2030, \"days\": [{\"name\": \"x\", \"date\": \"2030-10-01\", \"isOffDay\": 1}]}",
		 "days[0] (2030-10-01): \"isOffDay\""},
		{"{\"year\": 2030, \"days\": [{\"name\": \"x\", \"date\": \"2030-10-01\"}]}",
		 "days[0] (2030-10-01): \"isOffDay\""},
		{"{\"year\": 2030, \"days\": [{\"name\": \"x\", \"date\": \"2030-10-01\", \"isOffDay\": "
		 "\"true\"}]}",
		 "days[0] (2030-10-01): \"isOffDay\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("2030.json", cases[i].text);
		expect_fail("2030.json", cases[i].frag, NULL);
	}
}

static void test_bad_dates(void **state)
{
	static const char *dates[] = {"2030-02-29", "2030-13-01", "2030-10-1",
				      "2030/10/01", "",           "2030-10-01T00:00"};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"year\": 2030, \"days\": [{\"name\": \"a\", \"date\": \"2030-01-01\", "
			 "\"isOffDay\": true},"
			 "{\"name\": \"b\", \"date\": \"%s\", \"isOffDay\": true}]}",
			 dates[i]);
		put("2030.json", text);
		expect_fail("2030.json: days[1]: \"date\" must be a real date", NULL);
	}
	/* Outside the file's year (the December before is allowed, see test_good_files). */
	put("2030.json",
	    "{\"year\": 2030, \"days\": [{\"name\": \"a\", \"date\": \"2031-01-01\", \"isOffDay\": true}]}");
	expect_fail("days[0]: date 2031-01-01 is not in 2030", NULL);
	put("2030.json",
	    "{\"year\": 2030, \"days\": [{\"name\": \"a\", \"date\": \"2029-11-30\", \"isOffDay\": true}]}");
	expect_fail("days[0]: date 2029-11-30 is not in 2030", NULL);
	/* A year file name outside the supported years. */
	put("2030.json", "{\"year\": 2030, \"days\": []}");
	put("1969.json", "{\"year\": 1969, \"days\": []}");
	expect_fail("1969.json", "year outside", NULL);
}

static void test_conflict_and_limits(void **state)
{
	char *big;
	size_t n = CALENDAR_FILE_MAX + 10;

	(void)state;
	/* 2029-12-31 off in 2030.json, worked in 2029.json: refused, naming the second file read. */
	put("2029.json",
	    "{\"year\": 2029, \"days\": [{\"name\": \"a\", \"date\": \"2029-12-31\", \"isOffDay\": false}]}");
	put("2030.json",
	    "{\"year\": 2030, \"days\": [{\"name\": \"b\", \"date\": \"2030-01-01\", \"isOffDay\": true},"
	    "{\"name\": \"b\", \"date\": \"2029-12-31\", \"isOffDay\": true}]}");
	expect_fail("2030.json: days[1] (2029-12-31): listed elsewhere with the other isOffDay", NULL);
	put("2029.json", "{\"year\": 2029, \"days\": []}");
	/* Too big. */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	put("2030.json", big);
	free(big);
	expect_fail("2030.json", "at most", NULL);
	/* A directory with a year file's name. */
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/2030.json", dir);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(mkdir(path, 0700), 0);
		expect_fail("2030.json", "not a regular file", NULL);
		assert_int_equal(rmdir(path), 0);
	}
	/* Long name. */
	put("2030.json", "{\"year\": 2030, \"days\": [{\"name\": \"" /* 65 bytes */
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "\", \"date\": \"2030-01-01\", \"isOffDay\": true}]}");
	expect_fail("days[0]: \"name\" must be a string of 1 to 64 bytes", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repository_data),
		cmocka_unit_test_setup_teardown(test_good_files, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_empty_dir, make_dir, remove_dir),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test(test_uploaded_years),
		cmocka_unit_test_setup_teardown(test_malformed_json, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_wrong_types, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_bad_dates, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_conflict_and_limits, make_dir, remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
