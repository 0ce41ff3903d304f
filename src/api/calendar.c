/* The working-day calendar (工作日历): the repository's data/holidays-cn files with the years admins
 * upload in the console laid over them. Every server keeps the calendar in memory and reloads it when
 * the uploads change (checked on use, so several servers sharing a database agree). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "config/config.h"
#include "store/calendar.h"
#include "util/log.h"

/* Loads the files and the uploads into l->cal; the caller holds the write lock. */
static int reload(struct calendar_live *l, struct db *db, char *err, size_t errlen)
{
	struct db_conn *c = db_acquire(db);
	struct calendar_text *years = NULL;
	char stamp[64];
	int n = 0, rc = store_calendar_years(c, &years, &n, stamp);

	db_release(c);
	if (rc != DB_OK) {
		snprintf(err, errlen, "calendar uploads: database error");
		return -1;
	}
	rc = calendar_load(l->dir, years, n, &l->cal, err, errlen);
	if (rc == 0)
		memcpy(l->stamp, stamp, sizeof(l->stamp));
	store_calendar_years_free(years, n);
	return rc;
}

int calendar_live_init(struct calendar_live *l, const char *dir, struct db *db, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->dir = dir;
	workdays_calendar_init(&l->cal);
	pthread_rwlock_init(&l->lock, NULL);
	return reload(l, db, err, errlen);
}

void calendar_live_free(struct calendar_live *l)
{
	workdays_calendar_free(&l->cal);
	pthread_rwlock_destroy(&l->lock);
}

const struct workdays_calendar *calendar_live_acquire(struct calendar_live *l, struct db *db)
{
	struct db_conn *c = db_acquire(db);
	char stamp[64], err[512];
	int rc = store_calendar_stamp(c, stamp);

	db_release(c);
	pthread_rwlock_rdlock(&l->lock);
	if (rc == DB_OK && strcmp(stamp, l->stamp) != 0) {
		pthread_rwlock_unlock(&l->lock);
		pthread_rwlock_wrlock(&l->lock);
		if (strcmp(stamp, l->stamp) != 0 && reload(l, db, err, sizeof(err)) != 0)
			log_error("calendar", "calendar not reloaded, the old one stays: %s", err);
		pthread_rwlock_unlock(&l->lock);
		pthread_rwlock_rdlock(&l->lock);
	}
	return &l->cal;
}

void calendar_live_release(struct calendar_live *l)
{
	pthread_rwlock_unlock(&l->lock);
}

/* GET /api/v1/admin/calendar: the years the calendar covers and the uploads. */
int api_calendar_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const struct workdays_calendar *cal = calendar_live_acquire(app->calendar, app->db);
	json_t *published = json_array(), *uploads = NULL;
	struct db_conn *c;
	int rc;

	for (int y = WORKDAYS_YEAR_MIN; y <= WORKDAYS_YEAR_MAX; y++)
		if (workdays_year_published(cal, y))
			json_array_append_new(published, json_integer(y));
	calendar_live_release(app->calendar);
	c = db_acquire(app->db);
	rc = store_calendar_json(c, &uploads);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(published);
		json_decref(uploads);
		return api_internal(r, "calendar");
	}
	return http_reply_json(r, 200,
			       json_pack("{s:o, s:o, s:s}", "published_years", published, "uploads", uploads,
					 "data_dir", app->cfg->calendar_dir));
}

struct calendar_put_tx {
	int year, off, work;
	const char *text;
	const struct actor *a;
};

static int calendar_put_tx(struct db_conn *c, void *arg)
{
	const struct calendar_put_tx *t = arg;
	return store_calendar_put(c, t->year, t->text, t->off, t->work, t->a);
}

/* PUT /api/v1/admin/calendar/{year}: an admin uploads a year's holiday-cn JSON (the State Council's
 * announcement of holidays and 调休 make-up days); it replaces the repository's file of that year. */
int api_calendar_put(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	const char *ys = http_param(r, "year");
	char err[512], *text, *end;
	size_t len;
	const char *body = http_body(r, &len);
	long year = ys != NULL ? strtol(ys, &end, 10) : 0;
	int off = 0, work = 0, rc;

	if (ys == NULL || *end != '\0' || strlen(ys) != 4 || year < 2000 || year > 2100)
		return http_reply_error(r, 404, "not_found", "年份应为 2000 至 2100 之间的四位数", "year");
	if (body == NULL || len == 0)
		return http_reply_error(r, 400, "bad_json", "请上传该年的节假日 JSON 文件", NULL);
	if (calendar_check_year(body, len, (int)year, &off, &work, err, sizeof(err)) != 0) {
		json_t *e = json_pack("{s:s, s:s, s:s}", "code", "calendar_invalid", "message",
				      "日历文件不符合格式，未作更改", "detail", err);
		return http_reply_json(r, 422, json_pack("{s:O, s:[o]}", "error", e, "errors", e));
	}
	text = strndup(body, len);
	rc = db_tx(app->db, calendar_put_tx,
		   &(struct calendar_put_tx){.year = (int)year, .off = off, .work = work, .text = text, .a = &a});
	free(text);
	if (rc != DB_OK)
		return api_internal(r, "calendar put");
	calendar_live_acquire(app->calendar, app->db); /* this server reloads at once */
	calendar_live_release(app->calendar);
	return http_reply_json(
		r, 200, json_pack("{s:i, s:i, s:i}", "year", (int)year, "off_days", off, "work_days", work));
}
