#include "store/calendar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NYEARS (WORKDAYS_YEAR_MAX - WORKDAYS_YEAR_MIN + 1)

/* Returns the year of a file name "YYYY.json", -1 for any other name. */
static int year_of_name(const char *name)
{
	int y = 0;

	for (int i = 0; i < 4; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		y = y * 10 + (name[i] - '0');
	}
	return strcmp(name + 4, ".json") == 0 ? y : -1;
}

/* Fills years (NYEARS slots) with the years of dir's year files, sorted; returns how many, or -1
 * with err set. */
static int list_years(const char *dir, int *years, char *err, size_t errlen)
{
	unsigned char seen[NYEARS] = {0};
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL) {
		snprintf(err, errlen, "%s: cannot open the calendar directory: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		int y = year_of_name(de->d_name);

		if (y < 0)
			continue;
		if (y < WORKDAYS_YEAR_MIN || y > WORKDAYS_YEAR_MAX) {
			snprintf(err, errlen, "%s/%s: year outside %d..%d", dir, de->d_name,
				 WORKDAYS_YEAR_MIN, WORKDAYS_YEAR_MAX);
			closedir(d);
			return -1;
		}
		seen[y - WORKDAYS_YEAR_MIN] = 1;
	}
	closedir(d);
	for (int i = 0; i < NYEARS; i++)
		if (seen[i])
			years[n++] = WORKDAYS_YEAR_MIN + i;
	return n;
}

/* Reads and parses the file path (a regular file of at most CALENDAR_FILE_MAX bytes); returns
 * the JSON (caller decrefs) or NULL with err set. */
static json_t *read_json(const char *path, char *err, size_t errlen)
{
	json_t *root = NULL;
	json_error_t jerr;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CALENDAR_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path, CALENDAR_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* Read up to one byte more than fstat said, to notice a file growing under us. */
	while (len <= (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > (size_t)st.st_size) {
		snprintf(err, errlen, "%s: changed while being read", path);
		goto out;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		snprintf(err, errlen, "%s:%d:%d: malformed JSON: %s", path, jerr.line, jerr.column,
			 jerr.text);
out:
	free(buf);
	close(fd);
	return root;
}

/* Checks days[i] of the file for year and adds it to cal; returns 0 or -1 with err set. */
static int add_entry(const char *path, int year, size_t i, json_t *e, struct workdays_calendar *cal,
		     char *err, size_t errlen)
{
	json_t *name = json_object_get(e, "name"), *date = json_object_get(e, "date");
	json_t *off = json_object_get(e, "isOffDay");
	int d, rc;

	if (!json_is_object(e)) {
		snprintf(err, errlen, "%s: days[%zu]: not an object", path, i);
		return -1;
	}
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > CALENDAR_NAME_MAX) {
		snprintf(err, errlen, "%s: days[%zu]: \"name\" must be a string of 1 to %d bytes", path, i,
			 CALENDAR_NAME_MAX);
		return -1;
	}
	if (!json_is_string(date) || workdays_date_parse(json_string_value(date), &d) != WORKDAYS_OK) {
		snprintf(err, errlen,
			 "%s: days[%zu]: \"date\" must be a real date \"YYYY-MM-DD\", not %s%.32s%s", path, i,
			 json_is_string(date) ? "\"" : "",
			 json_is_string(date) ? json_string_value(date) : "another type",
			 json_is_string(date) ? "\"" : "");
		return -1;
	}
	if (d / 10000 != year && !(d / 10000 == year - 1 && d / 100 % 100 == 12)) {
		snprintf(err, errlen, "%s: days[%zu]: date %s is not in %d or the December before", path, i,
			 json_string_value(date), year);
		return -1;
	}
	if (!json_is_boolean(off)) {
		snprintf(err, errlen, "%s: days[%zu] (%s): \"isOffDay\" must be true or false", path, i,
			 json_string_value(date));
		return -1;
	}
	rc = workdays_calendar_add(cal, d, json_is_true(off));
	if (rc != WORKDAYS_OK) {
		snprintf(err, errlen, "%s: days[%zu] (%s): %s", path, i, json_string_value(date),
			 rc == WORKDAYS_ECONFLICT ? "listed elsewhere with the other isOffDay"
						  : workdays_strerror(rc));
		return -1;
	}
	return 0;
}

/* Adds the year file root (named path in messages) for year to cal; returns 0 or -1 with err set. */
static int add_year(const char *path, json_t *root, int year, struct workdays_calendar *cal, char *err,
		    size_t errlen)
{
	json_t *y = json_object_get(root, "year"), *days = json_object_get(root, "days"), *e;
	size_t i;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		return -1;
	}
	if (!json_is_integer(y) || json_integer_value(y) != year) {
		snprintf(err, errlen, "%s: \"year\" must be the integer %d", path, year);
		return -1;
	}
	if (!json_is_array(days) || json_array_size(days) > CALENDAR_DAYS_MAX) {
		snprintf(err, errlen, "%s: \"days\" must be an array of at most %d entries", path,
			 CALENDAR_DAYS_MAX);
		return -1;
	}
	json_array_foreach (days, i, e) {
		if (add_entry(path, year, i, e, cal, err, errlen) != 0)
			return -1;
	}
	/* An empty "days" is a year not announced yet: its dates stay approximate. */
	if (json_array_size(days) > 0)
		workdays_calendar_publish(cal, year);
	return 0;
}

/* Parses text (len bytes) as the year file of year; returns the JSON or NULL with err set. */
static json_t *parse_text(const char *label, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (len > CALENDAR_FILE_MAX) {
		snprintf(err, errlen, "%s: more than %d bytes", label, CALENDAR_FILE_MAX);
		return NULL;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		snprintf(err, errlen, "%s:%d:%d: malformed JSON: %s", label, jerr.line, jerr.column,
			 jerr.text);
	return root;
}

int calendar_check_year(const char *text, size_t len, int year, int *off_days, int *work_days, char *err,
			size_t errlen)
{
	struct workdays_calendar cal;
	char label[32];
	json_t *root;
	int rc = -1;

	snprintf(label, sizeof(label), "%d.json", year);
	if (year < WORKDAYS_YEAR_MIN || year > WORKDAYS_YEAR_MAX) {
		snprintf(err, errlen, "%s: year outside %d..%d", label, WORKDAYS_YEAR_MIN, WORKDAYS_YEAR_MAX);
		return -1;
	}
	if ((root = parse_text(label, text, len, err, errlen)) == NULL)
		return -1;
	workdays_calendar_init(&cal);
	if (add_year(label, root, year, &cal, err, errlen) == 0) {
		*off_days = *work_days = 0;
		for (size_t i = 0; i < cal.n_days; i++) {
			*off_days += cal.days[i].is_off;
			*work_days += !cal.days[i].is_off;
		}
		rc = 0;
	}
	workdays_calendar_free(&cal);
	json_decref(root);
	return rc;
}

int calendar_load(const char *dir, const struct calendar_text *extra, int nextra,
		  struct workdays_calendar *cal, char *err, size_t errlen)
{
	struct workdays_calendar fresh;
	int years[NYEARS], n, rc = 0;

	if (dir == NULL || cal == NULL) {
		snprintf(err, errlen, "calendar: no directory");
		return -1;
	}
	workdays_calendar_init(&fresh);
	n = list_years(dir, years, err, errlen);
	rc = n < 0 ? -1 : 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		char path[4096];
		json_t *root;
		int replaced = 0;

		for (int k = 0; k < nextra; k++)
			replaced |= extra[k].year == years[i];
		if (replaced) /* a year uploaded in the console wins over the file */
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%d.json", dir, years[i]) >= sizeof(path)) {
			snprintf(err, errlen, "calendar directory path too long");
			rc = -1;
		} else if ((root = read_json(path, err, errlen)) == NULL) {
			rc = -1;
		} else {
			rc = add_year(path, root, years[i], &fresh, err, errlen);
			json_decref(root);
		}
	}
	for (int k = 0; rc == 0 && k < nextra; k++) {
		char label[48];
		json_t *root;

		snprintf(label, sizeof(label), "%d (uploaded)", extra[k].year);
		if ((root = parse_text(label, extra[k].text, strlen(extra[k].text), err, errlen)) == NULL) {
			rc = -1;
		} else {
			rc = add_year(label, root, extra[k].year, &fresh, err, errlen);
			json_decref(root);
		}
	}
	if (rc != 0) {
		workdays_calendar_free(&fresh);
		return -1;
	}
	workdays_calendar_free(cal);
	*cal = fresh;
	return 0;
}
