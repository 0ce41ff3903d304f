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

/* Replies with the route of o's outbound parcel. */
static int route_reply(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	struct app *app = http_ctx(r);
	struct sf_config sf;
	struct sf_route *routes = NULL;
	char carrier[16], tracking[48], fetched[TIMEFMT_LEN] = "", fresh_after[TIMEFMT_LEN], phone[5];
	char err[SF_ERR_MAX], *kept = NULL;
	json_t *out, *list = NULL;
	int64_t id;
	size_t n = 0;
	int rc = store_shipment_outbound(c, o->id, &id, carrier, sizeof(carrier), tracking, sizeof(tracking));

	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_shipped", "证书尚未寄出，暂无物流信息", NULL);
	if (rc != DB_OK)
		return api_internal(r, "route");
	out = json_pack("{s:s, s:s}", "carrier", carrier, "tracking_no", tracking);
	if (strcmp(carrier, "sf") != 0) { /* only SF's routes can be asked for */
		json_object_set_new(out, "supported", json_false());
		json_object_set_new(out, "routes", json_array());
		return http_reply_json(r, 200, out);
	}
	json_object_set_new(out, "supported", json_true());
	if (store_route_get(c, id, &kept, fetched) == DB_OK)
		list = json_loads(kept, 0, NULL);
	free(kept);
	timefmt_rfc3339(time(NULL) - app->cfg->courier_cache_s, fresh_after);
	if (list == NULL || app->cfg->courier_cache_s == 0 || strcmp(fetched, fresh_after) < 0) {
		sf_config_from(&sf, app->cfg);
		check_phone(o, phone);
		rc = sf_routes(&sf, tracking, phone[0] != '\0' ? phone : NULL, &routes, &n, err, sizeof(err));
		if (rc == SF_OK) {
			char *text;
			json_decref(list);
			list = routes_json(routes, n);
			text = json_dumps(list, JSON_COMPACT);
			store_route_put(c, id, text);
			free(text);
			timefmt_rfc3339(time(NULL), fetched);
		} else {
			fprintf(stderr, "certdeskd: SF route of %s: %s\n", tracking, err);
			json_object_set_new(out, "notice",
					    json_string("暂时无法从顺丰查询最新物流信息，请稍后再看"));
		}
		sf_routes_free(routes);
	}
	if (list != NULL && strcmp(o->state, "shipped") == 0 && signed_for(list))
		db_tx_conn(c, complete_tx, &(struct complete_tx){o});
	json_object_set_new(out, "routes", list != NULL ? list : json_array());
	if (fetched[0] != '\0')
		json_object_set_new(out, "fetched_at", json_string(fetched));
	return http_reply_json(r, 200, out);
}

/* GET /api/v1/orders/{order_no}/route: the organisation's own order. */
int api_route_get(struct http_req *r)
{
	return api_on_order(r, 1, route_reply);
}

/* GET /api/v1/admin/orders/{order_no}/route: any order, for staff. */
int api_admin_route_get(struct http_req *r)
{
	return api_on_order(r, 0, route_reply);
}
