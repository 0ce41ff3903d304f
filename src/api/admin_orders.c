/* Staff view of orders: search across organisations and open any order. */
#include <string.h>

#include "api/api.h"
#include "core/order_fsm.h"
#include "core/roles.h"
#include "store/pii.h"
#include "util/strutil.h"

int api_admin_orders_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *state = http_query(r, "state"), *q = http_query(r, "q");
	json_t *items = NULL;
	struct db_conn *c;
	int64_t before;
	int limit, rc;

	if (api_page_args(r, &limit, &before) != 0)
		return 0;
	if (state != NULL && order_state_from_name(state) < 0)
		return http_reply_error(r, 400, "bad_query", "订单状态不正确", "state");
	if (q != NULL && (strlen(q) > 64 || utf8_chars(q) < 0))
		return http_reply_error(r, 400, "bad_query", "搜索内容不正确", "q");
	c = db_acquire(app->db);
	rc = store_order_list(c, 0, state, q, limit + 1, before, &items);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "order search");
	}
	return http_reply_json(r, 200, api_page(items, limit));
}

/* Staff who check identities (reviewer, paper, admin) see the ID numbers and mobiles whole; the
 * others see masks, the shipper the recipient's mobile whole (the waybill needs it). */
static void mask_for_roles(json_t *j, unsigned roles)
{
	const unsigned whole = (1u << ROLE_REVIEWER) | (1u << ROLE_PAPER) | (1u << ROLE_ADMIN);
	json_t *form = json_object_get(j, "form"), *org = json_object_get(j, "organisation");
	const char *rm = json_string_value(json_object_get(form, "recipient_mobile"));
	char keep[PII_PLAIN_MAX + 1] = "", m[PII_PLAIN_MAX + 1];

	if ((roles & whole) != 0)
		return;
	if (rm != NULL && (roles & (1u << ROLE_SHIPPER)) != 0)
		str_copy(keep, rm, sizeof(keep));
	pii_form_mask(form);
	if (keep[0] != '\0')
		json_object_set_new(form, "recipient_mobile", json_string(keep));
	if (json_string_value(json_object_get(org, "handler_mobile")) != NULL) {
		pii_mask_mobile(json_string_value(json_object_get(org, "handler_mobile")), m, sizeof(m));
		json_object_set_new(org, "handler_mobile", json_string(m));
	}
}

int api_admin_orders_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	const char *no = http_param(r, "order_no");
	struct order_rec o = {0};
	json_t *j;

	if (no == NULL || strlen(no) > 24 || store_order_get(c, no, &o) != DB_OK) {
		db_release(c);
		return http_reply_error(r, 404, "not_found", "未找到该订单", NULL);
	}
	j = api_order_json(c, &o);
	json_t *key = store_usbkey_of_order_json(c, o.id, 0); /* staff see the key being produced too */
	if (key != NULL)
		json_object_set_new(j, "usb_key", key);
	json_t *contacts = NULL;
	store_paper_contacts_json(c, o.id, &contacts);
	json_object_set_new(j, "paper_contacts", contacts ? contacts : json_array());
	json_t *payments = NULL;
	store_payments_json(c, o.id, &payments);
	json_object_set_new(j, "payments", payments ? payments : json_array());
	{
		struct org_rec org = {0};
		if (store_org_get_id(c, o.org_id, &org) == DB_OK)
			json_object_set_new(j, "organisation", store_org_json(&org));
	}
	mask_for_roles(j, api_session(r)->roles);
	store_order_free(&o);
	db_release(c);
	return http_reply_json(r, 200, j);
}
