/* After payment: the organisation's courier number for its paper documents (邮寄纸质资料), and the
 * back-office queues that follow: paper check (纸质资料审核), production (制证) and shipping (发货). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "core/order_fsm.h"
#include "core/roles.h"
#include "core/tracking.h"
#include "util/strutil.h"

static const struct {
	const char *name, *state;
	int role;
} queues[] = {
	{"paper", "paper_sent", ROLE_PAPER},
	{"production", "producing", ROLE_PRODUCER},
	{"shipping", "produced", ROLE_SHIPPER},
};

int api_queue_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *name = http_param(r, "queue");
	json_t *items = NULL;
	struct db_conn *c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(queues) / sizeof(queues[0]) && strcmp(name, queues[i].name) != 0; i++)
		;
	if (i == sizeof(queues) / sizeof(queues[0]))
		return http_reply_error(r, 404, "not_found", "没有这个工作队列", "queue");
	if (!(api_session(r)->roles & (1u << queues[i].role)))
		return http_reply_error(r, 403, "forbidden", "您的岗位无权查看该队列", NULL);
	c = db_acquire(app->db);
	db_read_begin(c); /* the queue and its annotations from one snapshot, with one set of locks */
	rc = store_state_queue(c, queues[i].state, &items);
	if (rc == DB_OK && strcmp(queues[i].name, "production") == 0)
		store_usbkey_annotate(c, items); /* where each order's USB key stands */
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "queue");
	}
	return http_reply_json(r, 200, json_pack("{s:s, s:o}", "queue", name, "items", items));
}

/* Reads a carrier + tracking number pair from the form into carrier/out; records errors. */
static void tracking_fields(struct form *f, const char **carrier, char out[TRACKING_MAX])
{
	const char *no;

	*carrier = form_text(f, "carrier", "快递公司", 1, 8, 0);
	if (*carrier == NULL)
		*carrier = "sf";
	no = form_text(f, "tracking_no", "快递单号", 1, 40, 1);
	if (strcmp(*carrier, "sf") != 0 && strcmp(*carrier, "ems") != 0 && strcmp(*carrier, "other") != 0)
		form_error(f, 422, "carrier", "field_invalid", "快递公司应为顺丰、EMS 或其他");
	else if (no != NULL && strcmp(*carrier, "sf") == 0 && tracking_sf_normalise(no, out) != 0)
		form_error(f, 422, "tracking_no", "tracking_invalid",
			   "顺丰快递单号应为 SF 加 12 或 13 位数字（或 12 位数字）");
	else if (no != NULL && strcmp(*carrier, "sf") != 0 && tracking_other_normalise(no, out) != 0)
		form_error(f, 422, "tracking_no", "tracking_invalid", "快递单号应为 6 至 30 位数字或字母");
}

struct step {
	const struct order_rec *o;
	const char *from, *to, *event, *note;
	const struct actor *a;
	/* optional extras, in the same transaction */
	const char *ship_direction, *carrier, *tracking_no;
	const char *sms_template, *sms_to, *sms_param, *outbox_state;
	int mark_received;
	const char *called_at, *answered_by, *asked;
	int64_t staff_id;
};

static int step_tx(struct db_conn *c, void *arg)
{
	struct step *s = arg;
	char key[128], *params;
	int rc = DB_OK;

	if (s->mark_received) /* a paper check implies the parcel arrived */
		store_shipment_received(c, s->o->id);
	if (s->to != NULL)
		rc = store_order_transition(c, s->o->id, s->from, s->to, s->event, s->note, s->a);
	if (rc == DB_OK && s->ship_direction != NULL)
		rc = store_shipment_add(c, s->o->id, s->ship_direction, s->carrier, s->tracking_no);
	if (rc == DB_OK && s->asked != NULL)
		rc = store_paper_contact_add(c, s->o->id, s->staff_id, s->called_at, s->answered_by,
					     s->asked);
	if (rc == DB_OK && s->sms_template != NULL && s->sms_to != NULL) {
		json_t *p = json_pack("{s:s, s:s}", "order_no", s->o->order_no, "detail",
				      s->sms_param ? s->sms_param : "");
		params = json_dumps(p, JSON_COMPACT);
		json_decref(p);
		snprintf(key, sizeof(key), "%s:%s:%s", s->event, s->o->order_no,
			 s->tracking_no ? s->tracking_no : s->from);
		rc = store_outbox_add(c, "sms", s->sms_to, s->sms_template, params, key, s->outbox_state);
		free(params);
	}
	return rc;
}

/* Loads the order of the path: the organisation's own (org) or any (staff). Returns 0 or -1 after replying.
 */
static int load(struct http_req *r, struct db_conn *c, struct order_rec *o, int org)
{
	return org ? api_own_order(r, c, o) : api_staff_order(r, c, o);
}

/* Checks event on o for the caller, runs s in one transaction, replies with the order. */
static int run_step(struct http_req *r, struct db_conn *c, struct form *f, struct order_rec *o,
		    enum order_event e, struct step *s)
{
	struct app *app = http_ctx(r);
	struct api_session *ses = api_session(r);
	int org = strcmp(ses->rec.kind, "org") == 0;
	struct order_facts facts = {0};
	enum order_state next;
	json_t *form = json_loads(o->form, 0, NULL);
	int v, rc;

	api_order_facts(c, o, &facts);
	v = order_fsm_decide(order_state_from_name(o->state), e, org ? OA_ORG : OA_STAFF, ses->roles, &facts,
			     &next);
	if (v == FSM_WRONG_STATE)
		form_error(f, 409, NULL, "state_conflict", "订单当前状态不允许此操作，请刷新");
	else if (v != FSM_OK)
		form_error(f, 403, NULL, "forbidden", "您的岗位无权执行此操作");
	if (!form_failed(f)) {
		s->o = o;
		s->from = o->state;
		s->to = order_state_name(next);
		s->event = order_event_name(e);
		s->sms_to = json_string_value(json_object_get(form, "handler_mobile"));
		s->outbox_state = app->cfg->sms_provider == SMS_PROVIDER_OUTBOX ? "dev" : "pending";
		s->staff_id = org ? 0 : ses->rec.subject_id;
		rc = db_tx_conn(c, step_tx, s);
		if (rc == DB_NOTFOUND)
			form_error(f, 409, NULL, "state_conflict", "订单状态已变化，请刷新");
		else if (rc != DB_OK)
			form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	json_decref(form);
	return form_failed(f) ? -1 : 0;
}

/* Finishes a handler: replies with the refreshed order or the errors. */
static int finish(struct http_req *r, struct db_conn *c, struct form *f, json_t *body, struct order_rec *o)
{
	json_t *ok = NULL;
	char no[32];

	(void)r;
	if (!form_failed(f)) {
		str_copy(no, o->order_no, sizeof(no));
		store_order_free(o);
		if (store_order_get(c, no, o) == DB_OK)
			ok = api_order_json(c, o);
	}
	store_order_free(o);
	db_release(c);
	return form_finish(f, body, 200, ok);
}

/* Records a parcel with its tracking number as event: the organisation's paper going in
 * (org, any carrier), or the key going out (shipper, SF only, the handler told by SMS). */
static int parcel(struct http_req *r, int org, enum order_event e)
{
	struct app *app = http_ctx(r);
	json_t *body = NULL;
	struct actor a = api_actor(r);
	char no[TRACKING_MAX] = "";
	const char *carrier;
	struct order_rec o = {0};
	struct db_conn *c = db_acquire(app->db);
	struct form f;

	/* the order first: another organisation's gets 404 whatever its body (ids cannot be probed) */
	if (load(r, c, &o, org) != 0 || (body = http_json_body(r)) == NULL) {
		store_order_free(&o);
		db_release(c);
		return 0;
	}
	form_init(&f, r, body);
	tracking_fields(&f, &carrier, no);
	if (!form_failed(&f) && !org && strcmp(carrier, "sf") != 0)
		form_error(&f, 422, "carrier", "field_invalid", "证书统一使用顺丰快递寄出");
	if (!form_failed(&f))
		run_step(r, c, &f, &o, e,
		         &(struct step){.a = &a,
		                        .ship_direction = org ? "inbound" : "outbound",
		                        .carrier = carrier,
		                        .tracking_no = no,
		                        .sms_template = org ? NULL : "shipped",
		                        .sms_param = no});
	return finish(r, c, &f, body, &o);
}

int api_orders_courier(struct http_req *r)
{
	return parcel(r, 1, OE_COURIER);
}

int api_paper_check(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	const char *decision, *reasons, *called, *answered, *asked;
	struct order_rec o = {0};
	struct db_conn *c;
	struct form f;
	int ok;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (load(r, c, &o, 0) != 0) {
		db_release(c);
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	decision = form_text(&f, "decision", "审核结论", 1, 4, 1);
	ok = decision != NULL && strcmp(decision, "ok") == 0;
	if (decision != NULL && !ok && strcmp(decision, "bad") != 0)
		form_error(&f, 422, "decision", "field_invalid", "审核结论应为合格或不合格");
	reasons = form_text(&f, "reasons", "不合格原因", 2, 500, decision != NULL && !ok);
	called = form_text(&f, "called_at", "致电时间", 5, 40, decision != NULL && !ok);
	answered = form_text(&f, "answered_by", "接听人", 1, 40, decision != NULL && !ok);
	asked = form_text(&f, "asked", "要求补寄的资料", 2, 500, decision != NULL && !ok);
	if (!form_failed(&f))
		run_step(r, c, &f, &o, ok ? OE_PAPER_OK : OE_PAPER_BAD,
			 &(struct step){.a = &a,
					.note = ok ? NULL : reasons,
					.mark_received = 1,
					.sms_template = ok ? NULL : "paper_problem",
					.sms_param = reasons,
					.called_at = called,
					.answered_by = answered,
					.asked = ok ? NULL : asked});
	return finish(r, c, &f, body, &o);
}

int api_ship(struct http_req *r)
{
	return parcel(r, 0, OE_SHIP);
}
