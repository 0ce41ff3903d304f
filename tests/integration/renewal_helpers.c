#define _GNU_SOURCE /* strptime, timegm */
#include "renewal_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

long it_renewal_call(const struct srv *s, const char *method, const char *path, const char *body,
		     const char *token, json_t **j)
{
	char th[120];
	const char *h[] = {"Content-Type: application/json", NULL, NULL};
	struct resp r;
	long st;

	if (token != NULL && token[0] != '\0') {
		snprintf(th, sizeof(th), "X-Renewal-Token: %s", token);
		h[1] = th;
	}
	assert_int_equal(http_do(s, method, path, body, body != NULL ? strlen(body) : 0, h, &r), 0);
	st = r.status;
	if (j != NULL)
		*j = r.body != NULL ? json_loadb(r.body, r.len, 0, NULL) : NULL;
	resp_free(&r);
	return st;
}

void it_sql(struct db *db, const char *text, const char *arg)
{
	struct db_conn *c = db_acquire(db);

	if (arg != NULL)
		assert_int_equal(db_exec(c, text, DB_ARGS(DB_TEXT(arg)), NULL), DB_OK);
	else
		assert_int_equal(db_exec(c, text, DB_NOARGS, NULL), DB_OK);
	db_release(c);
}

void it_plus_months(const char *t, int months, char out[32])
{
	struct tm tm = {0};
	time_t v;

	assert_non_null(strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm));
	tm.tm_mon += months;
	v = timegm(&tm);
	gmtime_r(&v, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
