/* The organisation's orders: create (新制申请), list, view, edit while a draft, delete, submit. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "api/order_form.h"
#include "core/order_fsm.h"
#include "core/roles.h"
#include "util/strutil.h"

/* Loads the order of the {order_no} path parameter for its owner; anything else is a 404 so that
 * order numbers cannot be probed. Returns 0, or -1 after replying. */
int api_own_order(struct http_req *r, struct db_conn *c, struct order_rec *o)
{
	const char *no = http_param(r, "order_no");

	if (no == NULL || strlen(no) > 24 || store_order_get(c, no, o) != DB_OK ||
	    o->org_id != api_session(r)->rec.subject_id || strcmp(o->state, "deleted") == 0) {
		store_order_free(o);
		http_reply_error(r, 404, "not_found", "未找到该订单", NULL);
		return -1;
	}
	return 0;
}

int api_staff_order(struct http_req *r, struct db_conn *c, struct order_rec *o)
{
	const char *no = http_param(r, "order_no");

	if (no == NULL || strlen(no) > 24 || store_order_get(c, no, o) != DB_OK) {
		store_order_free(o);
		http_reply_error(r, 404, "not_found", "未找到该订单", NULL);
		return -1;
	}
	return 0;
}

int api_on_order(struct http_req *r, int own,
		 int (*fn)(struct http_req *r, struct db_conn *c, const struct order_rec *o))
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct order_rec o = {0};

	if ((own ? api_own_order(r, c, &o) : api_staff_order(r, c, &o)) == 0) {
		fn(r, c, &o);
		store_order_free(&o);
	}
	db_release(c);
	return 0;
}

/* Gathers the facts the state machine's guards need, from o's form already parsed. */
static void order_facts(struct db_conn *c, const struct order_rec *o, json_t *form, struct order_facts *f)
{
	json_t *missing = order_form_missing(form, o->key_type);
	struct org_rec org = {0};

	memset(f, 0, sizeof(*f));
	f->form_complete = json_array_size(missing) == 0;
	f->uscc_ok = store_org_get_id(c, o->org_id, &org) == DB_OK &&
		     strcmp(org.uscc_status, "pending_review") != 0;
	struct key_type_rec k = {0};
	if (store_key_type_get(c, o->project_id, o->key_type, &k) == DB_OK)
		store_documents_complete(c, o->id, k.documents, &f->documents_complete);
	f->verified = api_order_verified(c, o, form);
	json_decref(missing);
}

void api_order_facts(struct db_conn *c, const struct order_rec *o, struct order_facts *f)
{
	json_t *form = json_loads(o->form, 0, NULL);

	order_facts(c, o, form, f);
	json_decref(form);
}

/* Returns the order's detail as the API shows it. */
json_t *api_order_json(struct db_conn *c, const struct order_rec *o)
{
	json_t *form = json_loads(o->form, 0, NULL), *history = NULL, *j;
	struct key_type_rec k = {0};
	struct order_facts facts = {0};
	enum order_state s = order_state_from_name(o->state), next;

	memset(&k, 0, sizeof(k));
	store_key_type_get(c, o->project_id, o->key_type, &k);
	store_order_history(c, o->id, &history);
	order_facts(c, o, form, &facts); /* the form parsed once for the page and its facts */
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:s, s:s}",
		      "order_no", o->order_no, "project_code", o->project_code, "project_name",
		      o->project_name, "key_type", o->key_type, "key_type_label", k.name, "price_fen",
		      (json_int_t)o->price_fen, "state", o->state, "state_label", order_state_label(s),
		      "next_step", order_state_next_step(s), "form", form ? form : json_object(),
		      "form_version", (json_int_t)o->form_version, "missing",
		      order_form_missing(form, o->key_type), "history", history, "created_at", o->created_at,
		      "updated_at", o->updated_at);
	if (o->submitted_at[0] != '\0')
		json_object_set_new(j, "submitted_at", json_string(o->submitted_at));
	{ /* a renewal (issue 15) names the certificate it renews */
		char kind[12] = "new", renews[48] = "";
		store_order_kind(c, o->id, kind, renews);
		json_object_set_new(j, "kind", json_string(kind));
		if (renews[0] != '\0')
			json_object_set_new(j, "renews_serial", json_string(renews));
	}
	json_object_set_new(j, "can_edit",
			    json_boolean(order_fsm_decide(s, OE_EDIT, OA_ORG, 0, &facts, &next) == FSM_OK));
	json_object_set_new(j, "can_delete",
			    json_boolean(order_fsm_decide(s, OE_DELETE, OA_ORG, 0, &facts, &next) == FSM_OK));
	json_object_set_new(j, "documents_required", store_csv_json(k.documents, 0));
	json_object_set_new(j, "documents", api_document_slots(c, o));
	json_object_set_new(j, "verification", api_verification_json(c, o));
	json_t *ships = NULL;
	store_shipments_json(c, o->id, &ships);
	json_object_set_new(j, "shipments", ships ? ships : json_array());
	json_object_set_new(j, "invoice", api_invoice_json(c, o));
	json_object_set_new(j, "certificates", api_order_certificates(c, o)); /* serial, validity once issued */
	json_t *key = store_usbkey_of_order_json(c, o->id, 1); /* the organisation's view: once written */
	if (key != NULL)
		json_object_set_new(j, "usb_key", key);
	json_object_set_new(j, "can_submit",
			    json_boolean(order_fsm_decide(s, OE_SUBMIT, OA_ORG, 0, &facts, &next) == FSM_OK));
	return j;
}

/* Replies with the order's detail (status) and frees o. */
static int reply_order(struct http_req *r, struct db_conn *c, struct order_rec *o, unsigned status)
{
	json_t *j = api_order_json(c, o);

	store_order_free(o);
	return http_reply_json(r, status, j);
}

/* Writes a fresh verification token (256 random bits, URL-safe) into out. */
static void new_token(char out[64])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, 64, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int api_orders_create(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *in, *form = NULL;
	struct actor a = api_actor(r);
	struct order_rec o = {0};
	struct project_rec p = {0};
	struct key_type_rec k = {0};
	struct org_rec org = {0};
	const char *code, *kt;
	struct db_conn *c;
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	code = form_text(&f, "project_code", "项目", 1, 32, 1);
	kt = form_text(&f, "key_type", "证书类型", 1, 16, 1);
	in = json_object_get(body, "form");
	if (in != NULL && !json_is_object(in))
		form_error(&f, 422, "form", "field_invalid", "订单信息格式不正确");
	c = db_acquire(app->db);
	if (code != NULL && (store_project_get(c, code, &p) != DB_OK || !p.active))
		form_error(&f, 422, "project_code", "project_unknown", "该项目不存在或暂停受理");
	else if (code != NULL && kt != NULL && store_key_type_get(c, p.id, kt, &k) != DB_OK)
		form_error(&f, 422, "key_type", "key_type_unknown", "证书类型应为主锁或副锁");
	if (!form_failed(&f)) {
		form = order_form_read(&f, in, NULL, kt);
		if (store_org_get_id(c, api_session(r)->rec.subject_id, &org) == DB_OK)
			order_form_defaults(form, &org, kt);
		else /* the session's organisation is gone: nothing may be created for it */
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	if (!form_failed(&f)) {
		o.org_id = org.id;
		o.project_id = p.id;
		o.price_fen = k.price_fen; /* from the catalogue, never from the client */
		snprintf(o.key_type, sizeof(o.key_type), "%s", kt);
		new_token(o.verify_token);
		o.form = json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS);
		rc = store_order_create(c, &o, p.order_prefix, &a);
		free(o.form);
		o.form = NULL;
		if (rc == DB_CONFLICT)
			form_error(&f, 409, "key_type", "main_key_exists",
				   "每个单位在本项目只能办理一个含电子签章的主锁。贵单位已有主锁（办理中或已"
				   "持有），如需增加证书请申请无章副锁。");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	json_decref(form);
	if (form_failed(&f)) {
		db_release(c);
		return form_finish(&f, body, 201, NULL);
	}
	form_free(&f);
	json_decref(body);
	rc = store_order_get(c, o.order_no, &o) == DB_OK ? reply_order(r, c, &o, 201)
							 : api_internal(r, "order vanished");
	db_release(c);
	return rc;
}

int api_orders_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *items = NULL, *body;
	struct db_conn *c;
	int64_t before;
	int limit, rc;

	if (api_page_args(r, &limit, &before) != 0)
		return 0;
	c = db_acquire(app->db);
	rc = store_order_list(c, api_session(r)->rec.subject_id, NULL, NULL, limit + 1, before, &items);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "order list");
	}
	/* Deleted orders stay in the list, marked, so that the history is not lost from view. */
	body = api_page(items, limit);
	return http_reply_json(r, 200, body);
}

int api_orders_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct order_rec o = {0};
	int rc = 0;

	if (api_own_order(r, c, &o) == 0) {
		db_release(c); /* FaceID may be asked: no pooled connection held meanwhile */
		api_verification_refresh(r, &o);
		c = db_acquire(app->db);
		db_read_begin(c); /* the detail's ~20 reads from one snapshot, with one set of locks */
		rc = reply_order(r, c, &o, 200);
	}
	db_release(c);
	return rc;
}

/* Decides event on o for the organisation; replies with the refusal and returns -1, or returns 0
 * with *next set. */
static int decide(struct http_req *r, struct db_conn *c, const struct order_rec *o, enum order_event e,
		  enum order_state *next)
{
	struct order_facts facts = {0};
	const char *codes[4];
	int v, n;

	api_order_facts(c, o, &facts);
	v = order_fsm_decide(order_state_from_name(o->state), e, OA_ORG, 0, &facts, next);
	if (v == FSM_OK)
		return 0;
	if (v == FSM_GUARD_FAILED) {
		json_t *list = json_array();
		n = order_fsm_missing(&facts, codes);
		for (int i = 0; i < n; i++)
			json_array_append_new(list, json_string(codes[i]));
		http_reply_json(r, 422,
				json_pack("{s:{s:s, s:s}, s:o}", "error", "code", "submit_incomplete",
					  "message",
					  "订单尚不能提交：请完善订单信息、上传全部资料并完成法人刷脸核验",
					  "missing", list));
		return -1;
	}
	if (v == FSM_WRONG_ACTOR)
		http_reply_error(r, 403, "forbidden", "无权执行此操作", NULL);
	else
		http_reply_error(
			r, 409, "state_conflict",
			e == OE_EDIT ? "订单已提交，不能修改" : "订单当前状态不允许此操作，请刷新页面", NULL);
	return -1;
}

/* Returns 1 when the legal person's identity differs between the two forms. */
static int legal_changed(json_t *a, json_t *b)
{
	static const char *const keys[] = {"legal_name", "legal_id_type", "legal_id_number"};

	for (int i = 0; i < 3; i++)
		if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])) &&
		    !(json_object_get(a, keys[i]) == NULL && json_object_get(b, keys[i]) == NULL))
			return 1;
	return 0;
}

int api_orders_update(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = NULL, *old = NULL, *form = NULL, *in;
	struct actor a = api_actor(r);
	enum order_state next;
	struct order_rec o = {0};
	char token[64];
	struct db_conn *c = db_acquire(app->db);
	struct form f;
	int rc = 0;

	/* the order first: another organisation's gets 404 whatever its body (ids cannot be probed) */
	if (api_own_order(r, c, &o) != 0 || (body = http_json_body(r)) == NULL ||
	    decide(r, c, &o, OE_EDIT, &next) != 0) {
		store_order_free(&o);
		db_release(c);
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	in = json_object_get(body, "form");
	if (!json_is_object(in))
		form_error(&f, 422, "form", "field_required", "请提交订单信息");
	old = json_loads(o.form, 0, NULL);
	form = order_form_read(&f, in, old, o.key_type);
	if (!form_failed(&f)) {
		char *text = json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS);
		int voids = legal_changed(old, form);
		if (voids)
			new_token(token);
		rc = store_order_set_form(c, o.id, o.state, text, voids ? token : NULL, &a);
		free(text);
		if (rc == DB_NOTFOUND)
			form_error(&f, 409, NULL, "state_conflict", "订单状态已变化，请刷新页面");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	json_decref(old);
	json_decref(form);
	if (form_failed(&f)) {
		store_order_free(&o);
		db_release(c);
		return form_finish(&f, body, 200, NULL);
	}
	form_free(&f);
	json_decref(body);
	char no[32];
	str_copy(no, o.order_no, sizeof(no));
	store_order_free(&o);
	rc = store_order_get(c, no, &o) == DB_OK ? reply_order(r, c, &o, 200)
						 : api_internal(r, "order vanished");
	db_release(c);
	return rc;
}

/* Fires an organisation's event with no data (delete, submit) and replies with the order. */
static int org_event(struct http_req *r, enum order_event e)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	enum order_state next;
	struct order_rec o = {0};
	struct db_conn *c = db_acquire(app->db);
	int rc;

	if (api_own_order(r, c, &o) != 0 || decide(r, c, &o, e, &next) != 0) {
		store_order_free(&o);
		db_release(c);
		return 0;
	}
	rc = store_order_transition(c, o.id, o.state, order_state_name(next), order_event_name(e), NULL, &a);
	if (rc == DB_NOTFOUND) {
		http_reply_error(r, 409, "state_conflict", "订单状态已变化，请刷新页面", NULL);
	} else if (rc != DB_OK) {
		api_internal(r, "order transition");
	} else {
		char no[32];
		str_copy(no, o.order_no, sizeof(no));
		store_order_free(&o);
		if (store_order_get(c, no, &o) == DB_OK)
			reply_order(r, c, &o, 200);
		else
			api_internal(r, "order vanished");
	}
	store_order_free(&o);
	db_release(c);
	return 0;
}

int api_orders_delete(struct http_req *r)
{
	return org_event(r, OE_DELETE);
}

int api_orders_submit(struct http_req *r)
{
	return org_event(r, OE_SUBMIT);
}
