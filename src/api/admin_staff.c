/* Staff accounts managed by admins in the console (the CLI does the same: certdesk staff add). */
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "auth/password.h"
#include "core/roles.h"
#include "util/strnum.h"

int api_admin_staff_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	int rc = store_staff_list(c, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "staff list");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* Joins the roles array of the body into list ("a,b"); records an error when it is not a
 * non-empty array of distinct known roles. */
static void roles_field(struct form *f, char *list, size_t len)
{
	json_t *roles = json_object_get(f->body, "roles"), *v;
	size_t i;

	list[0] = '\0';
	json_array_foreach (roles, i, v) {
		if (json_is_string(v) && strlen(list) + json_string_length(v) + 2 < len) {
			if (list[0] != '\0')
				strcat(list, ",");
			strcat(list, json_string_value(v));
		}
	}
	if (!json_is_array(roles) || role_list_valid(list) != 0)
		form_error(f, 422, "roles", "roles_invalid",
			   "请选择岗位（预审员、财务、资料审核员、制证员、发货员、管理员），不可重复");
}

struct create_args {
	const char *username, *name, *hash, *roles;
	const struct actor *a;
	int64_t id;
};

static int create_tx(struct db_conn *c, void *arg)
{
	struct create_args *x = arg;
	return store_staff_create(c, x->username, x->name, x->hash, x->roles, x->a, &x->id);
}

int api_admin_staff_create(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	char roles[128], hash[PASSWORD_HASH_LEN];
	struct create_args x = {0};
	const char *pw;
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	x.username = form_text(&f, "username", "用户名", 3, 32, 1);
	if (x.username != NULL &&
	    strspn(x.username, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(x.username))
		form_error(&f, 422, "username", "field_invalid", "用户名只能包含小写字母、数字和 . _ -");
	x.name = form_text(&f, "display_name", "姓名", 2, 40, 1);
	roles_field(&f, roles, sizeof(roles));
	pw = api_new_password(&f, "password", "password_confirm");
	if (!form_failed(&f) && password_hash(pw, hash) != 0)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	if (form_failed(&f))
		return form_finish(&f, body, 201, NULL);
	x.hash = hash;
	x.roles = roles;
	x.a = &a;
	rc = db_tx(app->db, create_tx, &x);
	if (rc == DB_CONFLICT)
		form_error(&f, 409, "username", "username_taken", "该用户名已存在");
	else if (rc != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	return form_finish(&f, body, 201,
			   json_pack("{s:I, s:s, s:s, s:O}", "id", (json_int_t)x.id, "username",
				     x.username ? x.username : "", "display_name", x.name ? x.name : "",
				     "roles", json_object_get(body, "roles")));
}

struct unlock_tx {
	int64_t id;
	struct actor a;
};

static int unlock_tx(struct db_conn *c, void *arg)
{
	struct unlock_tx *t = arg;
	return store_staff_unlock(c, t->id, &t->a);
}

/* POST /admin/staff/{id}/unlock: the logins of a staff account locked by wrong passwords work again. */
int api_admin_staff_unlock(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct unlock_tx t = {.a = api_actor(r)};
	int rc;

	if (strnum_parse(http_param(r, "id"), 1, INT64_MAX, &t.id) != 0)
		return http_reply_error(r, 404, "not_found", "未找到该工作人员", NULL);
	rc = db_tx(app->db, unlock_tx, &t);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "未找到该工作人员", NULL);
	if (rc != DB_OK)
		return api_internal(r, "staff unlock");
	return http_reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)t.id, "unlocked", 1));
}
