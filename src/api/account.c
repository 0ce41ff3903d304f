/* The logged-in organisation's own account: profile, password change, handler mobile change. */
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "auth/password.h"
#include "core/phone.h"

int api_account_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct org_rec o = {0};
	int rc = store_org_get_id(c, api_session(r)->rec.subject_id, &o);

	db_release(c);
	if (rc != DB_OK)
		return api_internal(r, "account vanished");
	return http_reply_json(r, 200, store_org_json(&o));
}

int api_account_password(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	char hash[PASSWORD_HASH_LEN];
	struct actor a = api_actor(r);
	const char *old, *pw;
	struct db_conn *c = NULL;
	struct org_rec o = {0};
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	old = form_text(&f, "old_password", "原密码", 1, 128, 1);
	pw = api_new_password(&f, "new_password", "new_password_confirm");
	if (form_failed(&f))
		return form_finish(&f, body, 200, NULL);
	c = db_acquire(app->db);
	if (store_org_get_id(c, api_session(r)->rec.subject_id, &o) != DB_OK ||
	    password_verify(o.password_hash, json_string_value(json_object_get(body, "old_password"))) != 0)
		form_error(&f, 422, "old_password", "password_wrong", "原密码错误");
	else if (password_hash(pw, hash) != 0 ||
		 store_org_set_password(c, o.id, hash, "organisation.password_change", &a) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	db_release(c);
	(void)old;
	return form_finish(&f, body, 200, json_pack("{s:b}", "changed", 1));
}

int api_account_mobile(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct actor a = api_actor(r);
	const char *name, *mobile_in, *old_code, *new_code;
	char mobile[16] = "";
	struct db_conn *c = NULL;
	struct org_rec o = {0};
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	name = form_text(&f, "handler_name", "经办人姓名", 2, 40, 1);
	mobile_in = form_text(&f, "new_mobile", "新手机号", 1, 20, 1);
	if (mobile_in != NULL && phone_mobile_normalise(mobile_in, mobile) != 0)
		form_error(&f, 422, "new_mobile", "mobile_invalid",
			   "请输入正确的 11 位手机号码（不支持座机号码）");
	old_code = form_text(&f, "old_code", "原手机验证码", 1, 6, 1);
	new_code = form_text(&f, "new_code", "新手机验证码", 1, 6, 1);
	if (form_failed(&f))
		return form_finish(&f, body, 200, NULL);
	c = db_acquire(app->db);
	if (store_org_get_id(c, api_session(r)->rec.subject_id, &o) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	/* Both codes are checked (and used up) even when the first fails: no free guesses. */
	else if ((api_sms_check(r, c, &f, "old_code", o.handler_mobile, "mobile_old", old_code) |
		  api_sms_check(r, c, &f, "new_code", mobile, "mobile_new", new_code)) == 0 &&
		 store_org_set_handler(c, o.id, name, mobile, "organisation.mobile_change", &a) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	db_release(c);
	return form_finish(&f, body, 200,
			   json_pack("{s:s, s:s}", "handler_name", name, "handler_mobile", mobile));
}
