/* Organisations: registration (免费注册), login with captcha (登录), logout, forgotten password. */
#include <pthread.h>
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

static char dummy[PASSWORD_HASH_LEN];

static void make_dummy(void)
{
	if (password_hash("certdesk-no-such-account", dummy) != 0)
		dummy[0] = '\0';
}

/* Returns a real Argon2id hash to verify against when there is no account, so that an unknown
 * USCC costs the same time as a wrong password. */
static const char *dummy_hash(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, make_dummy);
	return dummy;
}

/* Formats a UTC time stamp as Beijing time "HH:MM" (UTC+8 all year) into out. */
static void beijing_hhmm(const char *utc, char out[8])
{
	int h = 0, m = 0;

	if (sscanf(utc, "%*4d-%*2d-%*2dT%2d:%2d", &h, &m) != 2)
		h = m = 0;
	snprintf(out, 8, "%02d:%02d", (h + 8) % 24, m);
}

/* Replies that the account is locked until the given time. */
static void locked(struct form *f, const char *until)
{
	char msg[256], hhmm[8];

	beijing_hhmm(until, hhmm);
	snprintf(msg, sizeof(msg),
		 "密码错误次数过多，账户已锁定至 %s（北京时间），请稍后再试或通过“忘记密码”重置密码", hhmm);
	form_error(f, 429, NULL, "account_locked", msg);
}

/* Runs the password check of a login for an existing organisation. */
static void login_org(struct http_req *r, struct db_conn *c, struct form *f, struct org_rec *o,
		      const char *pw)
{
	struct actor a = api_actor(r);
	char now[TIMEFMT_LEN], until[TIMEFMT_LEN], bucket[96], msg[160];
	time_t t = time(NULL);
	int64_t hits = 0;
	int failures = 0;

	timefmt_rfc3339(t, now);
	if (o->locked_until[0] != '\0' && strcmp(o->locked_until, now) > 0) {
		locked(f, o->locked_until);
		return;
	}
	if (password_verify(o->password_hash, pw) == 0) {
		int rc = db_begin(c);
		if (rc == DB_OK) {
			rc = store_org_login_ok(c, o->id);
			if (rc == DB_OK)
				rc = api_session_start(r, c, "org", o->id);
			a = api_actor(r);
			if (rc == DB_OK)
				rc = store_audit_append(c, &a, "organisation.login", "organisation", o->uscc,
							NULL);
			rc = db_end(c, rc);
		}
		if (rc != DB_OK)
			form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return;
	}
	snprintf(bucket, sizeof(bucket), "login-ip:%s", http_remote_addr(r));
	if (db_begin(c) != DB_OK ||
	    db_end(c, store_rate_hit(c, bucket, LOGIN_IP_WINDOW_S, &hits) ||
			      store_org_login_failed(c, o->id, LOGIN_MAX_FAILURES,
						     timefmt_rfc3339(t + LOGIN_LOCK_S, until), &failures) ||
			      store_audit_append(c, &a, "organisation.login_failed", "organisation", o->uscc,
						 NULL)) != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return;
	}
	if (failures >= LOGIN_MAX_FAILURES) {
		locked(f, until);
		return;
	}
	snprintf(msg, sizeof(msg), "统一社会信用代码或密码错误，再错 %d 次账户将被锁定 15 分钟",
		 LOGIN_MAX_FAILURES - failures);
	form_error(f, 401, "password", "invalid_credentials", msg);
}

int api_login(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	char uscc[USCC_LEN + 1], bucket[96];
	const char *pw, *captcha;
	struct org_rec o = {0};
	struct db_conn *c = NULL;
	struct actor a = api_actor(r);
	int64_t hits = 0;
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	uscc_field(&f, uscc, 1);
	pw = form_text(&f, "password", "密码", 1, 128, 1);
	captcha = form_text(&f, "captcha", "图片验证码", 1, 16, 0);
	if (pw != NULL)
		pw = json_string_value(json_object_get(body, "password"));
	c = db_acquire(app->db);
	snprintf(bucket, sizeof(bucket), "login-ip:%s", http_remote_addr(r));
	if (store_rate_peek(c, bucket, LOGIN_IP_WINDOW_S, &hits) == DB_OK && hits >= LOGIN_IP_FAILURES) {
		form_error(&f, 429, NULL, "too_many_requests", "登录失败次数过多，请 15 分钟后再试");
		goto reply;
	}
	/* The captcha is used up by every attempt, right or wrong, before anything else is judged. */
	if (api_captcha_check(r, c, &f, captcha) != 0 || form_failed(&f))
		goto reply;
	if (store_org_get(c, uscc, &o) == DB_OK) {
		login_org(r, c, &f, &o, pw);
	} else {
		/* Same work and answer as a wrong password, so accounts cannot be told apart by either. */
		password_verify(dummy_hash(), pw);
		store_rate_hit(c, bucket, LOGIN_IP_WINDOW_S, &hits);
		store_audit_append(c, &a, "organisation.login_failed", "organisation", uscc,
				   "{\"unknown\":true}");
		form_error(&f, 401, "password", "invalid_credentials", "统一社会信用代码或密码错误");
	}
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

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	uscc_field(&f, uscc, 1);
	code = form_text(&f, "sms_code", "短信验证码", 1, 6, 1);
	pw = api_new_password(&f, "new_password", "new_password_confirm");
	if (form_failed(&f))
		goto reply;
	c = db_acquire(app->db);
	if (store_org_get(c, uscc, &o) != DB_OK) {
		form_error(&f, 404, "uscc", "not_registered", "该统一社会信用代码尚未注册");
		goto reply;
	}
	if (api_sms_check(r, c, &f, "sms_code", o.handler_mobile, "reset", code) != 0)
		goto reply;
	/* The new password and the end of every open session of the account go together. */
	if (password_hash(pw, hash) != 0 || db_begin(c) != DB_OK ||
	    db_end(c, store_org_set_password(c, o.id, hash, "organisation.password_reset", &a) ||
			      store_session_delete_subject(c, "org", o.id)) != DB_OK)
		form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
reply:
	db_release(c);
	return form_finish(&f, body, 200, json_pack("{s:b}", "reset", 1));
}
