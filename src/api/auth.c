/* Organisations: registration (免费注册), login with captcha (登录), logout, forgotten password. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/form.h"
#include "api/limits.h"
#include "auth/password.h"
#include "core/phone.h"
#include "core/uscc.h"
#include "util/timefmt.h"

const char *api_new_password(struct form *f, const char *name, const char *confirm_name)
{
	const char *pw = form_text(f, name, "密码", 1, 128, 1),
		   *again = form_text(f, confirm_name, "确认密码", 1, 128, 1);
	const char *problem;

	if (pw == NULL)
		return NULL;
	/* The policy counts bytes of the password as typed, spaces included. */
	pw = json_string_value(json_object_get(f->body, name));
	if ((problem = password_policy_problem(pw)) != NULL) {
		form_error(f, 422, name, "password_weak", problem);
		return NULL;
	}
	if (again != NULL && strcmp(pw, json_string_value(json_object_get(f->body, confirm_name))) != 0) {
		form_error(f, 422, confirm_name, "password_mismatch", "两次输入的密码不一致");
		return NULL;
	}
	return again != NULL ? pw : NULL;
}

/* Validates a USCC field into out; records the error naming the rule it broke. Returns the
 * enum uscc_result (USCC_OK when fine). check_char_ok lets a check-character failure pass. */
static int uscc_field(struct form *f, char out[USCC_LEN + 1], int check_char_ok)
{
	const char *in = form_text(f, "uscc", "统一社会信用代码", 1, 40, 1);
	char msg[512];
	int rc;

	if (in == NULL)
		return USCC_BAD_LENGTH;
	switch ((rc = uscc_check(in, out))) {
	case USCC_OK:
		break;
	case USCC_BAD_LENGTH:
		form_error(f, 422, "uscc", "uscc_length", "统一社会信用代码应为 18 位");
		break;
	case USCC_BAD_CHAR:
		form_error(f, 422, "uscc", "uscc_char",
			   "统一社会信用代码只能由数字和大写字母组成，且不含字母 I、O、Z、S、V（请注意数字 0 "
			   "与字母 O、数字 1 与字母 I 的区别）");
		break;
	case USCC_BAD_DIVISION:
		form_error(f, 422, "uscc", "uscc_division",
			   "统一社会信用代码第 3 至 8 位应为数字（行政区划码）");
		break;
	case USCC_BAD_CHECK_CHAR:
		if (check_char_ok)
			break;
		snprintf(msg, sizeof(msg),
			 "统一社会信用代码校验位不符（按前 17 位计算，最后一位应为 "
			 "%c），可能有字符输入错误，请对照营业执照核对。"
			 "如确认与营业执照上印制的完全一致，请勾选“代码与营业执照一致”后再提交，工作人员将人"
			 "工核实。",
			 uscc_check_char(out));
		form_error(f, 422, "uscc", "uscc_check_char", msg);
		break;
	}
	return rc;
}

int api_org_register(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct org_rec o = {0};
	struct actor a = api_actor(r);
	struct db_conn *c = NULL;
	const char *name, *handler, *mobile, *pw, *code;
	int check, as_printed, rc;
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	name = form_text(&f, "unit_name", "单位名称", 2, 100, 1);
	as_printed = form_bool(&f, "uscc_as_printed");
	check = uscc_field(&f, o.uscc, as_printed);
	handler = form_text(&f, "handler_name", "经办人姓名", 2, 40, 1);
	mobile = form_text(&f, "handler_mobile", "经办人手机号", 1, 20, 1);
	if (mobile != NULL && phone_mobile_normalise(mobile, o.handler_mobile) != 0)
		form_error(&f, 422, "handler_mobile", "mobile_invalid",
			   "请输入正确的 11 位手机号码（不支持座机号码）");
	pw = api_new_password(&f, "password", "password_confirm");
	code = form_text(&f, "sms_code", "短信验证码", 1, 6, 1);
	if (form_failed(&f))
		goto reply;
	c = db_acquire(app->db);
	if (store_org_get(c, o.uscc, &o) == DB_OK) {
		form_error(&f, 409, "uscc", "uscc_registered",
			   "该统一社会信用代码已注册，请直接登录；如忘记密码请点击“忘记密码”");
		goto reply;
	}
	if (api_sms_check(r, c, &f, "sms_code", o.handler_mobile, "register", code) != 0)
		goto reply;
	snprintf(o.name, sizeof(o.name), "%s", name);
	snprintf(o.handler_name, sizeof(o.handler_name), "%s", handler);
	snprintf(o.uscc_status, sizeof(o.uscc_status), "%s", check == USCC_OK ? "valid" : "pending_review");
	if (password_hash(pw, o.password_hash) != 0) {
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		goto reply;
	}
	rc = store_org_create(c, &o, &a, &o.id);
	if (rc == DB_OK)
		rc = store_org_get_id(c, o.id, &o);
	if (rc == DB_CONFLICT)
		form_error(&f, 409, "uscc", "uscc_registered", "该统一社会信用代码已注册，请直接登录");
	else if (rc != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
reply:
	db_release(c);
	return form_finish(&f, body, 201,
			   form_failed(&f) ? NULL : json_pack("{s:o}", "organisation", store_org_json(&o)));
}

/* --- the lockout: per account and address, and per account from all addresses --------------- */

static const struct login_rule here_rule = {LOGIN_MAX_FAILURES, LOGIN_LOCK_S};
static const struct login_rule all_rule = {LOGIN_ACCOUNT_FAILURES, LOGIN_ACCOUNT_LOCK_S};

/* Returns 1 when ok_at (a time stamp, or "") is a right password from this address lately. */
static int known_address(const char *ok_at)
{
	char since[TIMEFMT_LEN];

	return ok_at[0] != '\0' &&
	       strcmp(ok_at, timefmt_rfc3339(time(NULL) - STORE_LOGIN_KNOWN_S, since)) > 0;
}

struct gate_args {
	const char *ip;
	struct login_gate *g;
};

/* The address's own count comes first and an address locked out adds nothing to the count of all
 * addresses: one address alone cannot lock the account for the others. */
static int gate_tx(struct db_conn *c, void *arg)
{
	struct gate_args *t = arg;
	struct login_gate *g = t->g;
	struct login_claim here = {0}, all = {0};
	int rc = store_login_claim(c, g->account, t->ip, &here_rule, &here);

	g->attempts = here.attempts;
	snprintf(g->until, sizeof(g->until), "%s", here.until);
	g->locked = here.attempts > LOGIN_MAX_FAILURES;
	g->everywhere = 0;
	if (rc != DB_OK || g->locked)
		return rc;
	rc = store_login_claim(c, g->account, STORE_LOGIN_ALL, &all_rule, &all);
	/* Many failures from everywhere: only addresses the owner used before still get in. */
	if (rc == DB_OK && all.attempts > LOGIN_ACCOUNT_FAILURES && !known_address(here.ok_at)) {
		g->locked = g->everywhere = 1;
		snprintf(g->until, sizeof(g->until), "%s", all.until);
	}
	return rc;
}

int api_login_gate(struct http_req *r, struct db_conn *c, const char *kind, const char *name,
		   struct login_gate *g)
{
	memset(g, 0, sizeof(*g));
	store_login_account(g->account, kind, name);
	return db_tx_conn(c, gate_tx, &(struct gate_args){http_remote_addr(r), g});
}

int api_login_passed(struct http_req *r, struct db_conn *c, const struct login_gate *g)
{
	int rc = store_login_passed(c, g->account, http_remote_addr(r));

	return rc == DB_OK ? store_login_purge(c) : rc;
}

void api_beijing_hhmm(const char *utc, char out[8])
{
	int h = 0, m = 0;

	if (sscanf(utc, "%*4d-%*2d-%*2dT%2d:%2d", &h, &m) != 2)
		h = m = 0;
	snprintf(out, 8, "%02d:%02d", (h + 8) % 24, m);
}

void api_login_locked(struct form *f, const struct login_gate *g, const char *hint)
{
	char msg[512], hhmm[8];

	api_beijing_hhmm(g->until, hhmm);
	if (g->everywhere)
		snprintf(
			msg, sizeof(msg),
			"该账户近期密码错误次数过多，%s（北京时间）前只能从曾经登录过的网络登录。请稍后再试，"
			"或%s",
			hhmm, hint);
	else
		snprintf(msg, sizeof(msg),
			 "密码错误次数过多，%s（北京时间）前不能从当前网络登录该账户。请稍后再试，或%s", hhmm,
			 hint);
	form_error(f, 429, NULL, "account_locked", msg);
}

void api_login_wrong(struct form *f, const struct login_gate *g, const char *what, const char *hint)
{
	char msg[256];

	if (g->attempts >= LOGIN_MAX_FAILURES) {
		api_login_locked(f, g, hint);
		return;
	}
	snprintf(msg, sizeof(msg), "%s，再错 %d 次将暂停从当前网络登录该账户 15 分钟", what,
		 (int)(LOGIN_MAX_FAILURES - g->attempts));
	form_error(f, 401, "password", "invalid_credentials", msg);
}

/* A right password: the counters, the new session and the audit entry together. */
static int login_ok_tx(struct db_conn *c, void *arg)
{
	struct login_try *t = arg;
	struct actor a = {0};
	char action[40];
	int rc = api_login_passed(t->r, c, t->g);

	if (rc == DB_OK && api_session_start(t->r, c, t->session_kind, t->id) != 0)
		rc = DB_ERROR;
	a = api_actor(t->r);
	snprintf(action, sizeof(action), "%s.login", t->object);
	if (rc == DB_OK)
		rc = store_audit_append(c, &a, action, t->object,
					strcmp(t->session_kind, "staff") == 0 ? a.id : t->name, NULL);
	return rc;
}

/* A wrong password, or a name with no account: the address's failed-login count and the audit. */
static int login_failed_tx(struct db_conn *c, void *arg)
{
	struct login_try *t = arg;
	struct actor a = api_actor(t->r);
	char bucket[96], action[40];
	int64_t hits = 0;
	int rc;

	snprintf(bucket, sizeof(bucket), "%s:%s", t->ip_bucket, http_remote_addr(t->r));
	snprintf(action, sizeof(action), "%s.login_failed", t->object);
	rc = store_rate_hit(c, bucket, LOGIN_IP_WINDOW_S, &hits);
	return rc != DB_OK ? rc
			   : store_audit_append(c, &a, action, t->object, t->name,
						t->id == 0    ? "{\"unknown\":true}"
						: t->disabled ? "{\"disabled\":true}"
							      : NULL);
}

int api_login_check(struct login_try *t, const char *hash, const char *pw)
{
	struct app *app = http_ctx(t->r);
	int ok = 0;

	/* The same work for a name with no account: neither the answer nor its time tells them apart. */
	if (hash != NULL)
		ok = password_verify(hash, pw) == 0 && !t->disabled;
	else
		password_verify_dummy(pw);
	if (db_tx(app->db, ok ? login_ok_tx : login_failed_tx, t) != DB_OK)
		return -1;
	return ok;
}

int api_login_ip_blocked(struct http_req *r, struct db_conn *c, const char *ip_bucket)
{
	char bucket[96];
	int64_t hits = 0;

	snprintf(bucket, sizeof(bucket), "%s:%s", ip_bucket, http_remote_addr(r));
	return store_rate_peek(c, bucket, LOGIN_IP_WINDOW_S, &hits) == DB_OK && hits >= LOGIN_IP_FAILURES;
}

#define ORG_HINT "通过“忘记密码”用短信验证码重置密码（重置后立即解除）"

/* Checks the password of the organisation uscc (o->id 0: none) after the pooled connection went
 * back: Argon2id is slow work. Records the answer's error in f, or logs in. */
static void org_login_check(struct http_req *r, struct form *f, const struct login_gate *g,
			    const struct org_rec *o, const char *uscc, const char *pw)
{
	struct login_try t = {r, g, "org", o->id, "organisation", uscc, "login-ip", 0};
	int ok = api_login_check(&t, o->id != 0 ? o->password_hash : NULL, pw);

	if (ok < 0)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	else if (ok == 0)
		api_login_wrong(f, g, "统一社会信用代码或密码错误", ORG_HINT);
}

int api_login(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	char uscc[USCC_LEN + 1];
	const char *pw, *captcha;
	struct org_rec o = {0};
	struct login_gate g = {0};
	struct db_conn *c = NULL;
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	uscc_field(&f, uscc, 1);
	pw = form_text(&f, "password", "密码", 1, 128, 1);
	captcha = form_text(&f, "captcha", "图片验证码", 1, 16, 0);
	if (pw != NULL)
		pw = json_string_value(json_object_get(body, "password"));
	c = db_acquire(app->db);
	if (api_login_ip_blocked(r, c, "login-ip")) {
		form_error(&f, 429, NULL, "too_many_requests", "登录失败次数过多，请 15 分钟后再试");
		goto reply;
	}
	/* The captcha is used up by every attempt, right or wrong, before anything else is judged. */
	if (api_captcha_check(r, c, &f, captcha) != 0 || form_failed(&f))
		goto reply;
	/* Counted before the password is checked, so that parallel attempts cannot overrun the limit. */
	if (api_login_gate(r, c, "org", uscc, &g) != DB_OK ||
	    ((rc = store_org_get(c, uscc, &o)) != DB_OK && rc != DB_NOTFOUND)) {
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		goto reply;
	}
	if (g.locked) {
		api_login_locked(&f, &g, ORG_HINT);
		goto reply;
	}
	db_release(c);
	c = NULL;
	org_login_check(r, &f, &g, &o, uscc, pw);
reply:
	db_release(c);
	return form_finish(&f, body, 200,
			   form_failed(&f) ? NULL
					   : json_pack("{s:s, s:s, s:o}", "kind", "org", "csrf_token",
						       api_session(r)->rec.csrf, "user", store_org_json(&o)));
}

int api_logout(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct actor a = api_actor(r);
	struct api_session *s = api_session(r);

	if (strcmp(s->rec.kind, "anon") != 0)
		store_audit_append(c, &a,
				   strcmp(s->rec.kind, "org") == 0 ? "organisation.logout" : "staff.logout",
				   s->rec.kind, a.id, NULL);
	api_session_end(r, c);
	db_release(c);
	return http_reply_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

struct reset_args {
	int64_t id;
	const char *hash;
	const struct actor *a;
};

/* The new password, the end of every lock and of every open session of the account go together. */
static int reset_tx(struct db_conn *c, void *arg)
{
	struct reset_args *t = arg;
	int rc = store_org_set_password(c, t->id, t->hash, "organisation.password_reset", t->a);

	return rc == DB_OK ? store_session_delete_subject(c, "org", t->id) : rc;
}

/* Checks (and uses up) the reset code of the organisation o (o->id 0: no such USCC). Every failure
 * gets one answer, so that the reply does not tell whether the USCC is registered. Returns 0 or -1. */
static int reset_code_check(struct http_req *r, struct db_conn *c, struct form *f, const struct org_rec *o,
			    const char *code)
{
	struct form scratch;
	unsigned status;

	form_init(&scratch, r, f->body);
	if (o->id != 0 && api_sms_check(r, c, &scratch, "sms_code", o->handler_mobile, "reset", code) == 0) {
		form_free(&scratch);
		return 0;
	}
	status = form_failed(&scratch) ? scratch.status : 422;
	form_free(&scratch);
	if (status == 500)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	else
		form_error(f, 422, "sms_code", "sms_code_wrong", "短信验证码错误或已失效，请重新获取");
	return -1;
}

int api_password_reset(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	char uscc[USCC_LEN + 1], hash[PASSWORD_HASH_LEN];
	const char *code, *pw;
	struct actor a = api_actor(r);
	struct db_conn *c = NULL;
	struct org_rec o = {0};
	struct form f;
	int rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	uscc_field(&f, uscc, 1);
	code = form_text(&f, "sms_code", "短信验证码", 1, 6, 1);
	pw = api_new_password(&f, "new_password", "new_password_confirm");
	if (form_failed(&f))
		goto reply;
	c = db_acquire(app->db);
	if ((rc = store_org_get(c, uscc, &o)) != DB_OK && rc != DB_NOTFOUND)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	else if (reset_code_check(r, c, &f, &o, code) != 0)
		goto reply;
	db_release(c);
	c = NULL;
	if (form_failed(&f))
		goto reply;
	/* Hashing is slow work: the pooled connection went back first. */
	if (password_hash(pw, hash) != 0 ||
	    db_tx(app->db, reset_tx, &(struct reset_args){o.id, hash, &a}) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	sodium_memzero(hash, sizeof(hash));
reply:
	db_release(c);
	return form_finish(&f, body, 200, json_pack("{s:b}", "reset", 1));
}
