/* Pre-review (预审) by reviewers: the queue of submitted orders (oldest first), a claim so that two
 * reviewers do not work one order at once, and the decision: pass, or reject with reasons per
 * document. The handler is told by SMS, queued in the outbox in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "core/order_fsm.h"
#include "util/strnum.h"
#include "util/strutil.h"
#include "util/xalloc.h"

int api_review_queue(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	int rc = store_review_queue(c, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "review queue");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int api_review_claim(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	char holder[164] = "", msg[256];
	struct order_rec o = {0};
	int rc;

	if (api_staff_order(r, c, &o) != 0) {
		db_release(c);
		return 0;
	}
	if (strcmp(o.state, "submitted") != 0) {
		http_reply_error(r, 409, "state_conflict", "该订单不在待预审状态", NULL);
	} else if ((rc = store_review_claim(c, o.id, api_session(r)->rec.subject_id, holder)) ==
		   DB_CONFLICT) {
		snprintf(msg, sizeof(msg), "该订单正由 %s 预审中，请选择其他订单", holder);
		http_reply_error(r, 409, "claimed_by_other", msg, NULL);
	} else if (rc != DB_OK) {
		api_internal(r, "claim");
	} else {
		http_reply_json(
			r, 200,
			json_pack("{s:s, s:i}", "order_no", o.order_no, "claim_seconds", REVIEW_CLAIM_S));
	}
	store_order_free(&o);
	db_release(c);
	return 0;
}

/* Returns the reviewer's reasons and note joined with "；" in one malloc'd string sized for all of
 * them (never cut: a cut character would make the text unusable), "" when there are none. */
static char *join_reasons(json_t *reasons, json_t *note)
{
	size_t len = 0, i;
	json_t *it;
	char *text;

	json_array_foreach (reasons, i, it)
		len += json_string_length(it) + strlen("；");
	len += json_string_length(note) + 1;
	text = xcalloc(len);
	json_array_foreach (reasons, i, it) {
		if (json_string_length(it) == 0)
			continue;
		if (text[0] != '\0')
			strcat(text, "；");
		strcat(text, json_string_value(it));
	}
	if (json_string_length(note) > 0) {
		if (text[0] != '\0')
			strcat(text, "；");
		strcat(text, json_string_value(note));
	}
	return text;
}

/* Returns 1 when the reasons (an array of at most 10 strings of up to 100 characters) and the note
 * (a string of up to 300 characters, may be NULL) are well-formed. */
static int reasons_ok(json_t *reasons, json_t *note)
{
	json_t *it;
	size_t i;

	if (reasons != NULL && (!json_is_array(reasons) || json_array_size(reasons) > 10))
		return 0;
	if (note != NULL && (!json_is_string(note) || utf8_chars(json_string_value(note)) < 0 ||
			     utf8_chars(json_string_value(note)) > 300))
		return 0;
	json_array_foreach (reasons, i, it) {
		if (!json_is_string(it) || utf8_chars(json_string_value(it)) < 0 ||
		    utf8_chars(json_string_value(it)) > 100 || str_has_control(json_string_value(it)))
			return 0;
	}
	return 1;
}

/* Returns 1 when out already holds a rejection of kind. */
static int kind_named(json_t *out, const char *kind)
{
	json_t *it;
	size_t i;

	json_array_foreach (out, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "kind")), kind) == 0)
			return 1;
	}
	return 0;
}

/* Reads the per-document rejections: [{"kind", "reasons": [..], "note"}]; validates them against
 * the order's current documents and returns them normalised [{"kind", "reason"}] (caller decrefs).
 * Every rejection read is in the result or f has failed: none is ever dropped. */
static json_t *read_rejections(struct form *f, struct db_conn *c, const struct order_rec *o, json_t *in)
{
	json_t *out = json_array(), *it;
	size_t i;

	if (in == NULL)
		return out;
	if (!json_is_array(in) || json_array_size(in) > 6) {
		form_error(f, 422, "documents", "field_invalid", "资料意见格式不正确");
		return out;
	}
	json_array_foreach (in, i, it) {
		const char *kind = json_string_value(json_object_get(it, "kind"));
		json_t *reasons = json_object_get(it, "reasons"), *note = json_object_get(it, "note");
		struct doc_rec d = {0};
		char *text;

		if (kind == NULL || store_document_current(c, o->id, kind, &d) != DB_OK) {
			form_error(f, 422, "documents", "field_invalid", "意见针对的资料不存在");
			continue;
		}
		if (kind_named(out, kind)) {
			form_error(f, 422, "documents", "field_invalid", "同一份资料的意见请合并填写");
			continue;
		}
		if (!reasons_ok(reasons, note)) {
			form_error(f, 422, "documents", "field_invalid", "不通过原因格式不正确");
			continue;
		}
		text = join_reasons(reasons, note);
		if (text[0] == '\0')
			form_error(f, 422, "documents", "field_required", "请为不通过的资料选择或填写原因");
		else if (json_array_append_new(out, json_pack("{s:s, s:s}", "kind", kind, "reason", text)) != 0)
			form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		free(text);
	}
	return out;
}

struct decision {
	const struct order_rec *o;
	const char *decision, *to, *note, *mobile, *outbox_state;
	json_t *rejections;
	const struct actor *a;
	int64_t staff_id;
};

/* The decision's writes, all or none: state, documents, review record, SMS to the handler. Any
 * text that cannot be built fails the whole decision: a rejection never turns into a pass. */
static int decide_tx(struct db_conn *c, void *arg)
{
	struct decision *d = arg;
	char key[96], *detail = json_dumps(d->rejections, JSON_COMPACT), *params = NULL;
	int64_t review_id = 0;
	json_t *it, *p = json_pack("{s:s}", "order_no", d->o->order_no);
	size_t i;
	int rc = detail != NULL && p != NULL && (params = json_dumps(p, JSON_COMPACT)) != NULL ? DB_OK : DB_ERROR;

	json_decref(p);
	if (rc == DB_OK)
		rc = store_order_transition(c, d->o->id, "submitted", d->to, d->decision, d->note, d->a);
	/* documents not named in a rejection are accepted */
	if (rc == DB_OK)
		rc = store_documents_accept_all(c, d->o->id);
	json_array_foreach (d->rejections, i, it) {
		if (rc == DB_OK)
			rc = store_document_review(c, d->o->id,
						   json_string_value(json_object_get(it, "kind")), "rejected",
						   json_string_value(json_object_get(it, "reason")));
	}
	if (rc == DB_OK)
		rc = store_review_record(c, d->o->id, d->staff_id, d->decision, detail, &review_id);
	snprintf(key, sizeof(key), "review:%s:%lld", d->o->order_no, (long long)review_id);
	if (rc == DB_OK && d->mobile != NULL)
		rc = store_outbox_add(c, "sms", d->mobile,
				      strcmp(d->decision, "pass") == 0 ? "review_pass" : "review_reject",
				      params, key, d->outbox_state);
	free(detail);
	free(params);
	return rc;
}

int api_review_decide(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *form_data = NULL;
	struct actor a = api_actor(r);
	struct order_facts facts = {0};
	enum order_state next;
	struct order_rec o = {0};
	const char *decision, *note;
	struct db_conn *c;
	struct form f;
	int pass, rc;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (api_staff_order(r, c, &o) != 0) {
		db_release(c);
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	decision = form_text(&f, "decision", "审核结论", 1, 8, 1);
	note = form_text(&f, "note", "审核意见", 1, 500, 0);
	pass = decision != NULL && strcmp(decision, "pass") == 0;
	if (decision != NULL && !pass && strcmp(decision, "reject") != 0)
		form_error(&f, 422, "decision", "field_invalid", "审核结论应为通过或不通过");
	json_t *rejections = read_rejections(&f, c, &o, pass ? NULL : json_object_get(body, "documents"));
	if (decision != NULL && !pass && json_array_size(rejections) == 0 && note == NULL)
		form_error(&f, 422, "documents", "field_required", "不通过时请说明哪些资料有问题及原因");
	api_order_facts(c, &o, &facts);
	if (!form_failed(&f)) {
		int v = order_fsm_decide(order_state_from_name(o.state), pass ? OE_PASS : OE_REJECT, OA_STAFF,
					 api_session(r)->roles, &facts, &next);
		if (v == FSM_WRONG_STATE)
			form_error(&f, 409, NULL, "state_conflict", "该订单不在待预审状态");
		else if (v != FSM_OK)
			form_error(&f, 403, NULL, "forbidden", "您的岗位无权预审");
		else if (!store_review_holds(c, o.id, api_session(r)->rec.subject_id))
			form_error(&f, 409, NULL, "claim_required",
				   "请先领取该订单（领取后 15 分钟内有效）再提交审核结论");
	}
	if (!form_failed(&f)) {
		form_data = json_loads(o.form, 0, NULL);
		struct decision d = {&o,
				     pass ? "pass" : "reject",
				     order_state_name(next),
				     note,
				     json_string_value(json_object_get(form_data, "handler_mobile")),
				     app->cfg->sms_provider == SMS_PROVIDER_OUTBOX ? "dev" : "pending",
				     rejections,
				     &a,
				     api_session(r)->rec.subject_id};
		rc = db_tx_conn(c, decide_tx, &d);
		if (rc == DB_NOTFOUND)
			form_error(&f, 409, NULL, "state_conflict", "订单状态已变化，请刷新");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		json_decref(form_data);
	}
	json_decref(rejections);
	json_t *ok = NULL;
	if (!form_failed(&f)) {
		char no[32];
		str_copy(no, o.order_no, sizeof(no));
		store_order_free(&o);
		if (store_order_get(c, no, &o) == DB_OK)
			ok = api_order_json(c, &o);
	}
	store_order_free(&o);
	db_release(c);
	return form_finish(&f, body, 200, ok);
}

int api_review_reasons_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	int rc = store_review_reasons(c, http_query(r, "all") != NULL, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "reasons");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int api_review_reasons_add(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	const char *text;
	struct db_conn *c;
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	text = form_text(&f, "text", "原因", 2, 100, 1);
	if (!form_failed(&f)) {
		c = db_acquire(app->db);
		rc = store_review_reason_add(c, text, &a);
		db_release(c);
		if (rc == DB_CONFLICT)
			form_error(&f, 409, "text", "reason_exists", "已有相同的原因");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	return form_finish(&f, body, 201, json_pack("{s:s}", "text", text ? text : ""));
}

int api_review_reasons_retire(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	int64_t id = 0;
	struct db_conn *c;
	int rc;

	if (strnum_parse(http_param(r, "id"), 1, INT64_MAX, &id) != 0)
		return http_reply_error(r, 404, "not_found", "没有这个原因", NULL);
	c = db_acquire(app->db);
	rc = store_review_reason_retire(c, id, &a);
	db_release(c);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "没有这个原因", NULL);
	return rc == DB_OK
		       ? http_reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "active", 0))
		       : api_internal(r, "retire reason");
}
