/* The staff dashboard: each queue's size and its oldest item, and the seed's promises measured in
 * working days of the mainland calendar (with 调休): about 2 working days from passed paper to
 * shipment. (Invoices within 3 working days after production arrive with the invoices work.) */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "core/workdays.h"

#define PAPER_TO_SHIPMENT_DAYS 2

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

int api_dashboard(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *out = json_array(), *items = NULL, *promise, *open;
	struct db_conn *c = db_acquire(app->db);
	int64_t now = (int64_t)time(NULL);
	int approx = 0, overdue = 0, rc;
	size_t i;

	for (i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		json_t *q = json_pack("{s:s, s:s, s:s}", "queue", queues[i].queue, "label", queues[i].label,
				      "state", queues[i].state);
		if (store_state_queue(c, queues[i].state, &items) == DB_OK) {
			const char *since =
				json_string_value(json_object_get(json_array_get(items, 0), "since"));
			int age = 0;
			json_object_set_new(q, "size", json_integer((json_int_t)json_array_size(items)));
			if (since != NULL && since[0] != '\0') {
				rc = workdays_between_instants(app->calendar, unix_of(since), now, &age);
				approx |= rc == WORKDAYS_APPROX;
				json_object_set_new(q, "oldest_since", json_string(since));
				json_object_set_new(q, "oldest_age_working_days", json_integer(age));
			}
		}
		json_decref(items);
		items = NULL;
		json_array_append_new(out, q);
	}
	/* about 2 working days from passed paper to shipment */
	open = json_array();
	if (store_orders_since_event(c, "producing", "produced", "paper_ok", &items) == DB_OK) {
		json_t *it;
		json_array_foreach (items, i, it) {
			int due = 0, today = 0;
			char due_text[WORKDAYS_DATE_LEN];
			rc = workdays_add_from_instant(app->calendar,
						       unix_of(json_string_value(json_object_get(it, "at"))),
						       PAPER_TO_SHIPMENT_DAYS, &due);
			approx |= rc == WORKDAYS_APPROX;
			workdays_date_from_instant(now, &today);
			workdays_date_format(due, due_text);
			json_object_set_new(it, "due", json_string(due_text));
			json_object_set_new(it, "overdue", json_boolean(rc >= 0 && today > due));
			overdue += rc >= 0 && today > due;
			json_array_append(open, it);
		}
	}
	json_decref(items);
	db_release(c);
	promise = json_pack("{s:s, s:s, s:i, s:I, s:i, s:o}", "name", "paper_to_shipment", "label",
			    "纸质资料合格后约 2 个工作日内制作证书并寄出", "working_days",
			    PAPER_TO_SHIPMENT_DAYS, "open", (json_int_t)json_array_size(open), "overdue",
			    overdue, "items", open);
	return http_reply_json(r, 200,
			       json_pack("{s:o, s:[o], s:b}", "queues", out, "promises", promise,
					 "calendar_approximate", approx));
}
