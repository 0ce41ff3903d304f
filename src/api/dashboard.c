/* The staff dashboard: each queue's size and its oldest item, and the seed's promises measured in
 * working days of the mainland calendar (with 调休): about 2 working days from passed paper to
 * shipment, 3 working days from production to the invoice. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "core/workdays.h"
#include "util/timefmt.h"

#define PAPER_TO_SHIPMENT_DAYS 2
#define PRODUCTION_TO_INVOICE_DAYS 3
#define ALERT_DAYS 7 /* failed messages and suspect payment reports are shown this long */

/* Parses an RFC 3339 UTC time stamp into Unix time; -1 when malformed. */
static int64_t unix_of(const char *s)
{
	struct tm tm = {0};

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static const struct {
	const char *queue, *label, *state;
} queues[] = {
	{"review", "待预审", "submitted"},
	{"paper", "纸质资料待审核", "paper_sent"},
	{"production", "待制证", "producing"},
	{"shipping", "待寄出", "produced"},
};

/* The seed's promises: orders that reached a step and are waiting for the next one. */
static const struct promise_def {
	const char *name, *label;
	const char *since_label, *due_label;   /* the page's column heads */
	const char *state_a, *state_b, *event; /* orders in these states, since their newest event */
	int without_invoice, days;
} promises_by_name[] = {
	{"paper_to_shipment", "纸质资料合格后约 2 个工作日内制作证书并寄出", "资料合格时间", "承诺寄出日期",
	 "producing", "produced", "paper_ok", 0, PAPER_TO_SHIPMENT_DAYS},
	{"production_to_invoice", "制证后 3 个工作日内开具并发送发票", "制证完成时间", "承诺开票日期",
	 "produced", "shipped", "made", 1, PRODUCTION_TO_INVOICE_DAYS},
};

/* Returns the promise d measured now: {name, label, since_label, due_label, working_days, open,
 * overdue, items [{..., due, overdue}]}; *approx is set when the calendar does not cover a date involved. */
static json_t *promise(struct db_conn *c, const struct workdays_calendar *cal, const struct promise_def *d,
		       int64_t now, int *approx)
{
	json_t *items = NULL, *open = json_array(), *it;
	int overdue = 0, rc, today = 0;
	size_t i;

	workdays_date_from_instant(now, &today);
	if (store_orders_since_event(c, d->state_a, d->state_b, d->event, d->without_invoice, &items) ==
	    DB_OK) {
		json_array_foreach (items, i, it) {
			int due = 0;
			char due_text[WORKDAYS_DATE_LEN];
			rc = workdays_add_from_instant(
				cal, unix_of(json_string_value(json_object_get(it, "at"))), d->days, &due);
			*approx |= rc == WORKDAYS_APPROX;
			workdays_date_format(due, due_text);
			json_object_set_new(it, "due", json_string(due_text));
			json_object_set_new(it, "overdue", json_boolean(rc >= 0 && today > due));
			overdue += rc >= 0 && today > due;
			json_array_append(open, it);
		}
	}
	json_decref(items);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:o}", "name", d->name, "label", d->label,
			 "since_label", d->since_label, "due_label", d->due_label, "working_days", d->days,
			 "open", (json_int_t)json_array_size(open), "overdue", overdue, "items", open);
}

int api_dashboard(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *out = json_array(), *items = NULL, *promises, *alerts = NULL;
	char alerts_since[TIMEFMT_LEN];
	const struct workdays_calendar *cal = calendar_live_acquire(app->calendar, app->db);
	struct db_conn *c = db_acquire(app->db);
	int64_t now = (int64_t)time(NULL);
	int approx = 0, rc;
	size_t i;

	for (i = 0; i <= sizeof(queues) / sizeof(queues[0]); i++) {
		int last =
			i == sizeof(queues) / sizeof(queues[0]); /* finance's: paid orders without invoice */
		json_t *q = last ? json_pack("{s:s, s:s}", "queue", "invoice", "label", "待开发票")
				 : json_pack("{s:s, s:s, s:s}", "queue", queues[i].queue, "label",
					     queues[i].label, "state", queues[i].state);
		rc = last ? store_invoice_queue(c, &items) : store_state_queue(c, queues[i].state, &items);
		if (rc == DB_OK) {
			const char *since =
				json_string_value(json_object_get(json_array_get(items, 0), "since"));
			int age = 0;
			json_object_set_new(q, "size", json_integer((json_int_t)json_array_size(items)));
			if (since != NULL && since[0] != '\0') {
				rc = workdays_between_instants(cal, unix_of(since), now, &age);
				approx |= rc == WORKDAYS_APPROX;
				json_object_set_new(q, "oldest_since", json_string(since));
				json_object_set_new(q, "oldest_age_working_days", json_integer(age));
			}
		}
		json_decref(items);
		items = NULL;
		json_array_append_new(out, q);
	}
	promises = json_array();
	json_array_append_new(promises, promise(c, cal, &promises_by_name[0], now, &approx));
	json_array_append_new(promises, promise(c, cal, &promises_by_name[1], now, &approx));
	timefmt_rfc3339((time_t)now - ALERT_DAYS * 86400, alerts_since);
	if (store_alerts_json(c, alerts_since, &alerts) != DB_OK)
		alerts = json_object();
	db_release(c);
	calendar_live_release(app->calendar);
	return http_reply_json(r, 200,
			       json_pack("{s:o, s:o, s:o, s:b}", "queues", out, "promises", promises,
					 "alerts", alerts, "calendar_approximate", approx));
}
