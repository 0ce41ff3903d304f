/* Staff view of organisations: search; admins correct unit names, unlock accounts and confirm
 * USCCs that fail their check character. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "core/uscc.h"
#include "util/strnum.h"
#include "util/strutil.h"

int api_admin_orgs_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *q = http_query(r, "q");
	json_t *items = NULL, *body;
	struct db_conn *c;
	int64_t before;
	int limit, rc;

	if (api_page_args(r, &limit, &before) != 0)
		return 0;
	if (q != NULL && (strlen(q) > 100 || utf8_chars(q) < 0))
		return http_reply_error(r, 400, "bad_query", "搜索内容不正确", "q");
	c = db_acquire(app->db);
	rc = store_org_search(c, q, limit + 1, before, &items);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "organisation search");
	}
	body = api_page(items, limit);
	return http_reply_json(r, 200, body);
}

int api_path_org(struct http_req *r, struct db_conn *c, struct org_rec *o)
{
	char uscc[USCC_LEN + 1];

	uscc_check(http_param(r, "uscc"), uscc);
	if (uscc[0] == '\0' || store_org_get(c, uscc, o) != DB_OK) {
		http_reply_error(r, 404, "not_found", "未找到该单位", "uscc");
		return -1;
	}
	return 0;
}

int api_admin_org_patch(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	struct db_conn *c;
	struct org_rec o = {0};
	const char *name;
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	name = form_text(&f, "name", "单位名称", 2, 100, 1);
	c = db_acquire(app->db);
	if (api_path_org(r, c, &o) != 0) {
		db_release(c);
		form_free(&f);
		json_decref(body);
		return 0;
	}
	if (!form_failed(&f) && store_org_rename(c, o.id, name, &a) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	if (!form_failed(&f))
		store_org_get_id(c, o.id, &o);
	db_release(c);
	return form_finish(&f, body, 200, store_org_json(&o));
}

/* Runs one admin action on the organisation of the path and replies with it. */
static int org_action(struct http_req *r, int (*fn)(struct db_conn *, int64_t, const struct actor *))
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct db_conn *c = db_acquire(app->db);
	struct org_rec o = {0};
	int rc = 0;

	if (api_path_org(r, c, &o) == 0) {
		rc = fn(c, o.id, &a);
		if (rc == DB_OK && store_org_get_id(c, o.id, &o) == DB_OK)
			http_reply_json(r, 200, store_org_json(&o));
		else if (rc == DB_NOTFOUND)
			http_reply_error(r, 409, "state_conflict", "该单位的统一社会信用代码无需人工确认",
					 NULL);
		else
			api_internal(r, "organisation action");
	}
	db_release(c);
	return 0;
}

int api_admin_org_unlock(struct http_req *r)
{
	return org_action(r, store_org_unlock);
}

int api_admin_org_confirm_uscc(struct http_req *r)
{
	return org_action(r, store_org_confirm_uscc);
}
