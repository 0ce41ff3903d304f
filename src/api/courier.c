/* The outbound parcel's route (物流跟踪) on the order page: asked of SF Express (providers/sf.h) at most
 * every [courier] cache_s, kept in courier_routes, and shown from there when SF does not answer, so
 * the courier's service never breaks the page. A route that shows the parcel signed for completes
 * the order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "config/config.h"
#include "core/order_fsm.h"
#include "providers/sf.h"
#include "util/log.h"
#include "util/timefmt.h"

#define SF_SIGNED "80" /* opCode of a parcel signed for (签收) */

/* Returns SF's routes as the API shows them: [{time, address, remark, op_code, label?}]. */
static json_t *routes_json(const struct sf_route *routes, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "time", routes[i].time, "address",
				      routes[i].address, "remark", routes[i].remark, "op_code",
				      routes[i].op_code);
		if (sf_op_label(routes[i].op_code) != NULL)
			json_object_set_new(j, "label", json_string(sf_op_label(routes[i].op_code)));
		json_array_append_new(a, j);
	}
	return a;
}

/* Returns 1 when the routes show the parcel signed for. */
static int signed_for(json_t *routes)
{
	size_t i;
	json_t *r;

	json_array_foreach (routes, i, r)
		if (strcmp(json_string_value(json_object_get(r, "op_code")), SF_SIGNED) == 0)
			return 1;
	return 0;
}

/* The last 4 digits of the recipient's mobile in the order's form, which SF asks for waybills the
 * platform did not send itself; "" when there is none. */
static void check_phone(const struct order_rec *o, char out[5])
{
	json_t *form = json_loads(o->form, 0, NULL);
	const char *m = json_string_value(json_object_get(form, "recipient_mobile"));

	out[0] = '\0';
	if (m != NULL && strlen(m) >= 4)
		memcpy(out, m + strlen(m) - 4, 5);
	json_decref(form);
}

struct complete_tx {
	const struct order_rec *o;
};

static int complete_tx(struct db_conn *c, void *arg)
{
	struct complete_tx *t = arg;
	struct actor a = {.kind = "system", .id = "courier", .ip = ""};
	enum order_state next;
	int rc;

	if (order_fsm_decide(OS_SHIPPED, OE_COMPLETE, OA_SYSTEM, 0, NULL, &next) != FSM_OK)
		return DB_OK;
	rc = store_order_transition(c, t->o->id, order_state_name(OS_SHIPPED), order_state_name(next),
				    order_event_name(OE_COMPLETE), "顺丰显示已签收", &a);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* Asks SF for the route of waybill tracking (recipient mobile of o for the check); returns the
 * routes as the API shows them, or NULL (logged) when SF gave none now. */
static json_t *ask_sf(const struct config *cfg, const struct order_rec *o, const char *tracking)
{
	struct sf_config sf;
	struct sf_route *routes = NULL;
	char err[SF_ERR_MAX], phone[5];
	json_t *list = NULL;
	size_t n = 0;

	sf_config_from(&sf, cfg);
	check_phone(o, phone);
	if (sf_routes(&sf, tracking, phone[0] != '\0' ? phone : NULL, &routes, &n, err, sizeof(err)) == SF_OK)
		list = routes_json(routes, n);
	else
		log_error("courier", "SF route of %s: %s", tracking, err);
	sf_routes_free(routes);
	return list;
}

/* Replies with the route of the outbound parcel of the order of the path (the caller's own when
 * own). No database connection is held while SF is asked. */
static int route(struct http_req *r, int own)
{
	struct app *app = http_ctx(r);
	char carrier[16], tracking[48], fetched[TIMEFMT_LEN] = "", fresh_after[TIMEFMT_LEN], *kept = NULL;
	struct order_rec o = {0};
	struct db_conn *c = db_acquire(app->db);
	json_t *out, *list = NULL, *fresh;
	int64_t id;
	int rc;

	if ((own ? api_own_order(r, c, &o) : api_staff_order(r, c, &o)) != 0) {
		db_release(c);
		return 0;
	}
	rc = store_shipment_outbound(c, o.id, &id, carrier, sizeof(carrier), tracking, sizeof(tracking));
	if (rc == DB_OK && store_route_get(c, id, &kept, fetched) == DB_OK)
		list = json_loads(kept, 0, NULL);
	free(kept);
	db_release(c);
	if (rc != DB_OK) {
		store_order_free(&o);
		json_decref(list);
		return rc == DB_NOTFOUND
			       ? http_reply_error(r, 404, "not_shipped", "证书尚未寄出，暂无物流信息", NULL)
			       : api_internal(r, "route");
	}
	out = json_pack("{s:s, s:s, s:b}", "carrier", carrier, "tracking_no", tracking, "supported",
			strcmp(carrier, "sf") == 0); /* only SF's routes can be asked for */
	timefmt_rfc3339(time(NULL) - app->cfg->courier_cache_s, fresh_after);
	if (strcmp(carrier, "sf") == 0 &&
	    (list == NULL || app->cfg->courier_cache_s == 0 || strcmp(fetched, fresh_after) < 0)) {
		if ((fresh = ask_sf(app->cfg, &o, tracking)) != NULL) {
			char *text = json_dumps(fresh, JSON_COMPACT);
			json_decref(list);
			list = fresh;
			c = db_acquire(app->db);
			store_route_put(c, id, text);
			db_release(c);
			free(text);
			timefmt_rfc3339(time(NULL), fetched);
		} else {
			json_object_set_new(out, "notice",
					    json_string("暂时无法从顺丰查询最新物流信息，请稍后再看"));
		}
	}
	if (list != NULL && strcmp(o.state, "shipped") == 0 && signed_for(list))
		db_tx(app->db, complete_tx, &(struct complete_tx){&o});
	json_object_set_new(out, "routes", list != NULL ? list : json_array());
	if (fetched[0] != '\0')
		json_object_set_new(out, "fetched_at", json_string(fetched));
	store_order_free(&o);
	return http_reply_json(r, 200, out);
}

/* GET /api/v1/orders/{order_no}/route: the organisation's own order. */
int api_route_get(struct http_req *r)
{
	return route(r, 1);
}

/* GET /api/v1/admin/orders/{order_no}/route: any order, for staff. */
int api_admin_route_get(struct http_req *r)
{
	return route(r, 0);
}
