/* Changing the handler's mobile when the old one is unreachable: the organisation uploads a
 * stamped authorisation letter, an admin looks at it and approves or rejects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "core/phone.h"
#include "docs/image.h"
#include "sandbox/decode_client.h"
#include "store/filestore.h"
#include "store/pii.h"
#include "util/strnum.h"

int api_mobile_req_create(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct mobile_req m = {.org_id = api_session(r)->rec.subject_id};
	struct http_upload u;
	struct decode_facts *facts = NULL;
	struct image_info info = {0};
	enum decode_status st;
	const char *name, *mobile;
	struct db_conn *c;
	int64_t id = 0;
	struct form f;
	int rc;

	if (http_multipart(r, IMAGE_MAX_BYTES, &u) != 0) {
		http_upload_free(&u);
		return 0;
	}
	form_init(&f, r, u.fields);
	name = form_text(&f, "handler_name", "新经办人姓名", 2, 40, 1);
	mobile = form_text(&f, "new_mobile", "新手机号", 1, 20, 1);
	if (mobile != NULL && phone_mobile_normalise(mobile, m.new_mobile) != 0)
		form_error(&f, 422, "new_mobile", "mobile_invalid",
			   "请输入正确的 11 位手机号码（不支持座机号码）");
	/* decoded by certdesk-decode (the sandboxed helper), never in certdeskd */
	facts = calloc(1, sizeof(*facts));
	st = facts != NULL ? decode_inspect(u.data, u.len, 0, facts) : DECODE_FAILED;
	if (facts == NULL)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	else if (st != DECODE_OK)
		form_error(&f, st == DECODE_FAILED ? 422 : strcmp(facts->code, "file_too_large") == 0 ? 413 : 415,
			   "file", facts->code, facts->message);
	else
		info = facts->info;
	free(facts);
	if (!form_failed(&f)) {
		snprintf(m.new_handler_name, sizeof(m.new_handler_name), "%s", name);
		snprintf(m.letter_media_type, sizeof(m.letter_media_type), "%s", info.media_type);
		if (filestore_put(app->cfg->data_dir, u.data, u.len, m.letter_sha256) != 0) {
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		} else {
			c = db_acquire(app->db);
			rc = store_mobile_req_create(c, &m, &a, &id);
			db_release(c);
			if (rc == DB_CONFLICT)
				form_error(&f, 409, NULL, "request_pending",
					   "已有一份变更申请正在审核中，请等待工作人员处理");
			else if (rc != DB_OK)
				form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		}
	}
	u.fields = NULL; /* form_finish releases it */
	http_upload_free(&u);
	return form_finish(&f, f.body, 201,
			   json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "state", "pending",
				     "new_mobile", m.new_mobile, "new_handler_name", m.new_handler_name));
}

/* Replaces each item's mobiles by their masks (the staff list: personal data is not shown whole in
 * lists; the letter, which staff compare, carries the number). */
static void mask_mobiles(json_t *items)
{
	static const char *const fields[] = {"old_mobile", "new_mobile"};
	json_t *it;
	size_t i;

	json_array_foreach (items, i, it) {
		for (int k = 0; k < 2; k++) {
			const char *v = json_string_value(json_object_get(it, fields[k]));
			char masked[PII_PLAIN_MAX + 1];
			if (v == NULL)
				continue;
			pii_mask_mobile(v, masked, sizeof(masked));
			json_object_set_new(it, fields[k], json_string(masked));
		}
	}
}

/* Replies with the list of requests of org_id (0: all, for staff: masked) in state (NULL: all). */
static int list(struct http_req *r, int64_t org_id, const char *state)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	int rc = store_mobile_req_list(c, org_id, state, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "mobile requests");
	}
	if (org_id == 0)
		mask_mobiles(items);
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int api_mobile_req_list_own(struct http_req *r)
{
	return list(r, api_session(r)->rec.subject_id, NULL);
}

int api_admin_mobile_req_list(struct http_req *r)
{
	const char *state = http_query(r, "state");

	if (state != NULL && strcmp(state, "pending") != 0 && strcmp(state, "approved") != 0 &&
	    strcmp(state, "rejected") != 0)
		return http_reply_error(r, 400, "bad_query", "state 只能为 pending、approved 或 rejected",
					"state");
	return list(r, 0, state);
}

/* Loads the request of the {id} path parameter; replies 404 and returns -1 when there is none. */
static int path_req(struct http_req *r, struct db_conn *c, struct mobile_req *m)
{
	int64_t id = 0;

	if (strnum_parse(http_param(r, "id"), 1, INT64_MAX, &id) != 0 ||
	    store_mobile_req_get(c, id, m) != DB_OK) {
		http_reply_error(r, 404, "not_found", "未找到该申请", NULL);
		return -1;
	}
	return 0;
}

int api_admin_mobile_req_letter(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct mobile_req m;
	char name[64];
	int found = path_req(r, c, &m) == 0, fd;

	db_release(c);
	if (!found)
		return 0;
	fd = filestore_open(app->cfg->data_dir, m.letter_sha256);
	if (fd < 0)
		return api_internal(r, "letter file missing");
	snprintf(name, sizeof(name), "authorisation-letter-%lld.%s", (long long)m.id,
		 strcmp(m.letter_media_type, "image/png") == 0   ? "png"
		 : strcmp(m.letter_media_type, "image/bmp") == 0 ? "bmp"
								 : "jpg");
	return http_reply_fd(r, fd, m.letter_media_type, name);
}

int api_admin_mobile_req_decide(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	struct mobile_req m;
	const char *reason;
	struct db_conn *c;
	struct form f;
	int approve, rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	if (!json_is_boolean(json_object_get(body, "approve")))
		form_error(&f, 422, "approve", "field_required", "请选择通过或驳回");
	approve = form_bool(&f, "approve");
	reason = form_text(&f, "reason", "驳回原因", 2, 200, !approve);
	c = db_acquire(app->db);
	if (path_req(r, c, &m) != 0) {
		db_release(c);
		form_free(&f);
		json_decref(body);
		return 0;
	}
	if (!form_failed(&f)) {
		rc = store_mobile_req_decide(c, m.id, approve, reason, api_session(r)->rec.subject_id, &a);
		if (rc == DB_NOTFOUND)
			form_error(&f, 409, NULL, "state_conflict", "该申请已处理");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	db_release(c);
	return form_finish(
		&f, body, 200,
		json_pack("{s:I, s:s}", "id", (json_int_t)m.id, "state", approve ? "approved" : "rejected"));
}
