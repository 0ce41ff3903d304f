/* The logged-in organisation's own account: profile, password change, handler mobile change. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "api/limits.h"
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

static const struct login_rule change_rule = {PASSWORD_CHANGE_FAILURES, PASSWORD_CHANGE_LOCK_S};

/* Records that password changes are stopped until the time stamp until. The session stays: the
 * owner mistyping keeps their work, and a thief of the session gains no more tries by logging in. */
static void change_locked(struct form *f, const char *until)
{
	char msg[256], hhmm[8];

	api_beijing_hhmm(until, hhmm);
	snprintf(msg, sizeof(msg),
		 "原密码错误次数过多，%s（北京时间）前不能修改密码。如忘记密码，请退出后通过“忘记密码”用短信"
		 "验证码重置",
		 hhmm);
	form_error(f, 429, "old_password", "password_change_locked", msg);
}

/* Counts an attempt at the current password of o before it is checked (parallel attempts cannot
 * overrun the limit); returns 0 to check it, or -1 with the lock (or a failure) recorded in f. */
static int change_gate(struct db_conn *c, struct form *f, const struct org_rec *o, struct login_claim *claim)
{
	char account[STORE_LOGIN_ACCOUNT_LEN];

	if (store_login_claim(c, store_login_account(account, "password:org", o->uscc), STORE_LOGIN_ALL,
			      &change_rule, claim) != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	if (claim->attempts <= PASSWORD_CHANGE_FAILURES)
		return 0;
	change_locked(f, claim->until);
	return -1;
}

/* Records a wrong current password: audited, with the tries left (the lock after the last one). */
static void change_wrong(struct http_req *r, struct form *f, const struct org_rec *o,
			 const struct login_claim *claim)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct db_conn *c = db_acquire(app->db);
	char msg[160];

	store_audit_append(c, &a, "organisation.password_change_failed", "organisation", o->uscc, NULL);
	db_release(c);
	if (claim->attempts >= PASSWORD_CHANGE_FAILURES) {
		change_locked(f, claim->until);
		return;
	}
	snprintf(msg, sizeof(msg), "原密码错误，再错 %d 次将暂停修改密码 15 分钟",
		 (int)(PASSWORD_CHANGE_FAILURES - claim->attempts));
	form_error(f, 422, "old_password", "password_wrong", msg);
}

struct change_args {
	int64_t id;
	const char *hash;
	const struct actor *a;
};

/* The new password (which also ends the count of wrong current passwords), audited. */
static int change_tx(struct db_conn *c, void *arg)
{
	struct change_args *t = arg;

	return store_org_set_password(c, t->id, t->hash, "organisation.password_change", t->a);
}

/* Checks the current password old and sets pw, with no pooled connection held: Argon2id twice. */
static void change_check(struct http_req *r, struct form *f, const struct org_rec *o,
			 const struct login_claim *claim, const char *old, const char *pw)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	char hash[PASSWORD_HASH_LEN];

	if (password_verify(o->password_hash, old) != 0)
		change_wrong(r, f, o, claim);
	else if (password_hash(pw, hash) != 0 ||
		 db_tx(app->db, change_tx, &(struct change_args){o->id, hash, &a}) != DB_OK)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	sodium_memzero(hash, sizeof(hash));
}

int api_account_password(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct login_claim claim = {0};
	const char *pw;
	struct db_conn *c = NULL;
	struct org_rec o = {0};
	struct form f;
	int go;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	form_text(&f, "old_password", "原密码", 1, 128, 1);
	pw = api_new_password(&f, "new_password", "new_password_confirm");
	if (form_failed(&f))
		return form_finish(&f, body, 200, NULL);
	c = db_acquire(app->db);
	if (store_org_get_id(c, api_session(r)->rec.subject_id, &o) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	go = !form_failed(&f) && change_gate(c, &f, &o, &claim) == 0;
	db_release(c);
	if (go)
		change_check(r, &f, &o, &claim, json_string_value(json_object_get(body, "old_password")), pw);
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
