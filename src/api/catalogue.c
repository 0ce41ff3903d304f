/* The project catalogue: what can be ordered and at what price (public); admins change prices and
 * record main keys an organisation holds from before. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "util/strnum.h"

/* Replies with the catalogue (all projects, or the active ones). */
static int catalogue(struct http_req *r, int all)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	int rc = store_catalogue_json(c, all, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "catalogue");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int api_projects_list(struct http_req *r)
{
	return catalogue(r, 0);
}

int api_admin_projects_list(struct http_req *r)
{
	return catalogue(r, 1);
}

/* Reads an integer field in [min, max] into *out; records an error when it is absent or bad. */
static void int_field(struct form *f, const char *name, const char *label, int64_t min, int64_t max,
		      int64_t *out)
{
	json_t *v = json_object_get(f->body, name);
	char msg[128];

	if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
		*out = json_integer_value(v);
		return;
	}
	snprintf(msg, sizeof(msg), "%s应为 %lld 至 %lld 之间的整数（单位：分）", label, (long long)min,
		 (long long)max);
	form_error(f, 422, name, v == NULL ? "field_required" : "field_invalid", msg);
}

int api_admin_key_type_patch(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	struct project_rec p = {0};
	struct key_type_rec k = {0};
	const char *name, *years;
	struct db_conn *c;
	struct form f;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (store_project_get(c, http_param(r, "code"), &p) != DB_OK ||
	    store_key_type_get(c, p.id, http_param(r, "key_type"), &k) != DB_OK) {
		db_release(c);
		json_decref(body);
		return http_reply_error(r, 404, "not_found", "未找到该项目或证书类型", NULL);
	}
	form_init(&f, r, body);
	/* A PATCH: fields left out keep their values. */
	name = form_text(&f, "name", "名称", 2, 30, 0);
	if (json_object_get(body, "price_fen") != NULL)
		int_field(&f, "price_fen", "新办价格", 0, 10000000, &k.price_fen);
	if (json_object_get(body, "renewal_fen_per_year") != NULL)
		int_field(&f, "renewal_fen_per_year", "每年续费价格", 0, 10000000, &k.renewal_fen_per_year);
	years = form_text(&f, "years_offered", "可选年限", 1, 20, 0);
	/* "1,2,3": distinct years 1 to 9, ascending */
	if (years != NULL) {
		int ok = 1, last = 0;
		for (const char *p2 = years; *p2 != '\0' && ok; p2++) {
			int y = *p2 - '0';
			ok = y > last && y <= 9 && (p2[1] == ',' ? (p2++, 1) : p2[1] == '\0');
			last = y;
		}
		if (!ok)
			form_error(&f, 422, "years_offered", "field_invalid",
				   "可选年限格式应为 1,2,3（1 至 9 年，递增）");
	}
	if (!form_failed(&f)) {
		if (name != NULL)
			snprintf(k.name, sizeof(k.name), "%s", name);
		if (years != NULL)
			snprintf(k.years_offered, sizeof(k.years_offered), "%s", years);
		if (store_key_type_update(c, p.id, &k, &a) != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	db_release(c);
	return form_finish(&f, body, 200,
			   json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "project_code", p.code, "key_type",
				     k.key_type, "name", k.name, "price_fen", (json_int_t)k.price_fen,
				     "renewal_fen_per_year", (json_int_t)k.renewal_fen_per_year,
				     "years_offered", store_csv_json(k.years_offered, 1)));
}

int api_admin_held_keys_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	struct org_rec o = {0};

	if (api_path_org(r, c, &o) == 0) {
		if (store_held_main_key_list(c, o.id, &items) == DB_OK) {
			http_reply_json(r, 200, json_pack("{s:o}", "items", items));
		} else {
			json_decref(items);
			api_internal(r, "held keys");
		}
	}
	db_release(c);
	return 0;
}

int api_admin_held_keys_add(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	struct project_rec p = {0};
	struct org_rec o = {0};
	const char *code, *note;
	struct db_conn *c;
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (api_path_org(r, c, &o) != 0) {
		db_release(c);
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	code = form_text(&f, "project_code", "项目", 1, 32, 1);
	note = form_text(&f, "note", "说明（如原证书序列号、办理时间）", 2, 200, 1);
	if (code != NULL && store_project_get(c, code, &p) != DB_OK)
		form_error(&f, 422, "project_code", "project_unknown", "该项目不存在");
	if (!form_failed(&f)) {
		rc = store_held_main_key_add(c, o.id, p.id, note, api_session(r)->rec.subject_id, &a);
		if (rc == DB_CONFLICT)
			form_error(&f, 409, "project_code", "held_key_exists",
				   "已登记该单位在本项目持有主锁");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	db_release(c);
	return form_finish(&f, body, 201,
			   json_pack("{s:s, s:s, s:s}", "uscc", o.uscc, "project_code", code ? code : "",
				     "note", note ? note : ""));
}
