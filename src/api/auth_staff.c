/* Staff login at its own page: username + password + captcha; repeated failures lock the account
 * for a while through a shared rate bucket. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "api/limits.h"
#include "auth/password.h"
#include "core/roles.h"

/* Checks the password of username; returns 0 with *s filled when it is right. */
static int staff_verify(struct http_req *r, struct db_conn *c, struct form *f, const char *username,
			const char *pw, struct staff_rec *s)
{
	struct actor a = api_actor(r);
	char bucket[96];
	int64_t hits = 0;

	snprintf(bucket, sizeof(bucket), "staff-login:%s", username);
	if (store_rate_peek(c, bucket, LOGIN_LOCK_S, &hits) == DB_OK && hits >= LOGIN_MAX_FAILURES) {
		form_error(f, 429, NULL, "account_locked",
			   "密码错误次数过多，账户已锁定 15 分钟，请稍后再试或联系管理员");
		return -1;
	}
	if (store_staff_get(c, username, 0, s) == DB_OK && !s->disabled &&
	    password_verify(s->password_hash, pw) == 0) {
		store_rate_clear(c, bucket);
		return 0;
	}
	store_rate_hit(c, bucket, LOGIN_LOCK_S, &hits);
	store_audit_append(c, &a, "staff.login_failed", "staff", username, NULL);
	form_error(f, 401, "password", "invalid_credentials", "用户名或密码错误");
	return -1;
}

int api_staff_login(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *roles;
	const char *username, *pw, *captcha;
	struct staff_rec s = {0};
	struct db_conn *c;
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	username = form_text(&f, "username", "用户名", 1, 32, 1);
	pw = form_text(&f, "password", "密码", 1, 128, 1);
	captcha = form_text(&f, "captcha", "图片验证码", 1, 16, 0);
	c = db_acquire(app->db);
	if (api_captcha_check(r, c, &f, captcha) == 0 && !form_failed(&f) &&
	    staff_verify(r, c, &f, username, json_string_value(json_object_get(body, "password")), &s) == 0) {
		if (api_session_start(r, c, "staff", s.id) == 0) {
			struct actor a = api_actor(r);
			store_audit_append(c, &a, "staff.login", "staff", a.id, NULL);
		} else {
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		}
	}
	db_release(c);
	(void)pw;
	if (form_failed(&f))
		return form_finish(&f, body, 200, NULL);
	roles = json_array();
	for (int i = 0; i < ROLE_COUNT; i++)
		if (s.roles & (1u << i))
			json_array_append_new(roles, json_string(role_name(i)));
	return form_finish(&f, body, 200,
			   json_pack("{s:s, s:s, s:{s:s, s:s, s:o}}", "kind", "staff", "csrf_token",
				     api_session(r)->rec.csrf, "user", "username", s.username, "display_name",
				     s.display_name, "roles", roles));
}
