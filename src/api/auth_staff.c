/* Staff login at its own page: username + password + captcha, with the lockout of the
 * organisations' login (per account and address, per account from all addresses, per address). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "api/limits.h"
#include "auth/password.h"
#include "core/roles.h"

#define STAFF_HINT "联系管理员"

/* Checks the password of username (s->id 0: no such account) with no pooled connection held;
 * records the answer's error in f, or logs in. A disabled account answers like a wrong password,
 * after the same work. */
static void staff_check(struct http_req *r, struct form *f, const struct login_gate *g,
			const struct staff_rec *s, const char *username, const char *pw)
{
	struct login_try t = {r, g, "staff", s->id, "staff", username, "staff-login-ip", s->disabled};
	int ok = api_login_check(&t, s->id != 0 ? s->password_hash : NULL, pw);

	if (ok < 0)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	else if (ok == 0)
		api_login_wrong(f, g, "用户名或密码错误", STAFF_HINT);
}

/* Runs the checks before the password: the address's failures, the captcha, the lockout, and loads
 * the account into *s (id 0 when there is none). Returns 0 to check the password, -1 with f's error. */
static int staff_gate(struct http_req *r, struct db_conn *c, struct form *f, const char *username,
		      const char *captcha, struct login_gate *g, struct staff_rec *s)
{
	int rc;

	if (api_login_ip_blocked(r, c, "staff-login-ip")) {
		form_error(f, 429, NULL, "too_many_requests", "登录失败次数过多，请 15 分钟后再试");
		return -1;
	}
	if (api_captcha_check(r, c, f, captcha) != 0 || form_failed(f))
		return -1;
	if (api_login_gate(r, c, "staff", username, g) != DB_OK ||
	    ((rc = store_staff_get(c, username, 0, s)) != DB_OK && rc != DB_NOTFOUND)) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	if (rc == DB_NOTFOUND)
		memset(s, 0, sizeof(*s));
	if (g->locked) {
		api_login_locked(f, g, STAFF_HINT);
		return -1;
	}
	return 0;
}

int api_staff_login(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *roles;
	const char *username, *captcha;
	struct staff_rec s = {0};
	struct login_gate g = {0};
	struct db_conn *c;
	struct form f;
	int go;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	username = form_text(&f, "username", "用户名", 1, 32, 1);
	form_text(&f, "password", "密码", 1, 128, 1);
	captcha = form_text(&f, "captcha", "图片验证码", 1, 16, 0);
	c = db_acquire(app->db);
	go = staff_gate(r, c, &f, username, captcha, &g, &s) == 0;
	db_release(c);
	if (go)
		staff_check(r, &f, &g, &s, username, json_string_value(json_object_get(body, "password")));
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
