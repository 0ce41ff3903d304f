/* Calendar years uploaded by admins (calendar_years), which certdeskd lays over data/holidays-cn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/calendar.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

int store_calendar_years(struct db_conn *c, struct calendar_text **years, int *n, char *stamp)
{
	struct db_rows *r = NULL;
	int cap = 0,
	    rc = db_query(c, "SELECT year, body, uploaded_at FROM calendar_years ORDER BY year", NULL, 0, &r);
	char newest[TIMEFMT_LEN] = "";

	*years = NULL;
	*n = 0;
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*years = xrealloc(*years, (size_t)cap * sizeof(**years));
		}
		(*years)[*n].year = (int)db_rows_int(r, 0);
		(*years)[*n].text = xstrdup(db_rows_text(r, 1));
		if (strcmp(db_rows_text(r, 2), newest) > 0)
			snprintf(newest, sizeof(newest), "%s", db_rows_text(r, 2));
		(*n)++;
		rc = DB_OK;
	}
	db_rows_free(r);
	snprintf(stamp, 64, "%d@%s", *n, newest);
	if (rc < 0) {
		store_calendar_years_free(*years, *n);
		*years = NULL;
		*n = 0;
		return rc;
	}
	return DB_OK;
}

int store_calendar_stamp(struct db_conn *c, char *stamp)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT COUNT(*), MAX(uploaded_at) FROM calendar_years", NULL, 0, &r);

	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		snprintf(stamp, 64, "%d@%s", (int)db_rows_int(r, 0),
			 db_rows_text(r, 1) ? db_rows_text(r, 1) : "");
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_ERROR;
	}
	db_rows_free(r);
	return rc;
}

void store_calendar_years_free(struct calendar_text *years, int n)
{
	for (int i = 0; i < n; i++)
		free((char *)years[i].text);
	free(years);
}

int store_calendar_put(struct db_conn *c, int year, const char *text, int off_days, int work_days,
		       const struct actor *a)
{
	char now[TIMEFMT_LEN], id[8], detail[96];
	int rc;

	timefmt_now_ms(now);
	rc = db_exec(c,
		     "INSERT INTO calendar_years (year, body, off_days, work_days, uploaded_by, uploaded_at)"
		     " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (year) DO UPDATE SET body = excluded.body,"
		     " off_days = excluded.off_days, work_days = excluded.work_days,"
		     " uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at",
		     DB_ARGS(DB_INT(year), DB_TEXT(text), DB_INT(off_days), DB_INT(work_days), DB_TEXT(a->id),
			     DB_TEXT(now)),
		     NULL);
	if (rc != DB_OK)
		return rc;
	snprintf(id, sizeof(id), "%d", year);
	snprintf(detail, sizeof(detail), "{\"off_days\":%d,\"work_days\":%d}", off_days, work_days);
	return store_audit_append(c, a, "calendar.upload", "calendar", id, detail);
}

int store_calendar_json(struct db_conn *c, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c,
		"SELECT year, off_days, work_days, uploaded_by, uploaded_at FROM calendar_years ORDER BY"
		" year",
		NULL, 0, &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(
			*items, json_pack("{s:I, s:I, s:I, s:s, s:s}", "year", (json_int_t)db_rows_int(r, 0),
					  "off_days", (json_int_t)db_rows_int(r, 1), "work_days",
					  (json_int_t)db_rows_int(r, 2), "uploaded_by", db_rows_text(r, 3),
					  "uploaded_at", db_rows_text(r, 4)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}
