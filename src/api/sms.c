/* SMS verification codes: 6 digits, 5 minutes, single use, rate-limited per mobile and address,
 * queued in the outbox in the same transaction that records them. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/form.h"
#include "api/limits.h"
#include "config/config.h"
#include "core/phone.h"
#include "core/uscc.h"
#include "store/pii.h"
#include "util/strnum.h"
#include "util/timefmt.h"

/* Writes the keyed hash of a code for mobile and purpose into out: the personal-data lookup key's
 * (pii_hash), never a plain hash, which a copy of the table would undo by trying the million codes.
 * Returns 0, or -1 without the key. */
static int code_hash(const char *mobile, const char *purpose, const char *code, char out[PII_HASH_LEN + 1])
{
	char text[112];
	int rc;

	snprintf(text, sizeof(text), "sms-code:%s:%s:%s", mobile, purpose, code);
	rc = pii_hash(text, out) == 0 && out[0] != '\0' ? 0 : -1;
	sodium_memzero(text, sizeof(text));
	return rc;
}

struct send_args {
	const char *mobile, *purpose, *ip, *hash, *params, *key;
	const char *state; /* of the outbox row: pending (a provider delivers it) or dev */
};

/* Records the code and queues the message together: neither exists without the other. */
static int send_tx(struct db_conn *c, void *arg)
{
	struct send_args *a = arg;
	char now[TIMEFMT_LEN], expires[TIMEFMT_LEN];
	time_t t = time(NULL);
	int rc = store_sms_insert(c, a->mobile, a->purpose, a->hash, a->ip, timefmt_rfc3339(t, now),
				  timefmt_rfc3339(t + SMS_TTL_S, expires));

	return rc != DB_OK
		       ? rc
		       : store_outbox_add(c, "sms", a->mobile, "verify_code", a->params, a->key, a->state);
}

/* Counts one request on bucket (window_s seconds) and records err when more than max were made.
 * Returns 0, or -1 with the error recorded. */
static int over(struct db_conn *c, struct form *f, const char *bucket, int window_s, int64_t max,
		const char *code, const char *msg)
{
	int64_t hits = 0;

	if (store_rate_hit(c, bucket, window_s, &hits) != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	if (hits > max) {
		form_error(f, 429, "mobile", code, msg);
		return -1;
	}
	return 0;
}

#define TOO_FREQUENT "短信验证码发送过于频繁，请 60 秒后再试"
#define LIMIT_REACHED "短信验证码发送次数已达上限，请一小时后再试"

/* Checks the quotas of a code to mobile asked from ip: per mobile and address (so that nobody else
 * can use up the owner's), per mobile from all addresses (the SMS budget). Returns 0 or -1. */
static int mobile_quota(struct db_conn *c, struct form *f, const char *mobile, const char *ip)
{
	char since[TIMEFMT_LEN];
	int64_t minute = 0, hour = 0, all = 0;
	time_t t = time(NULL);

	if (store_sms_count_since(c, mobile, ip, timefmt_rfc3339(t - 60, since), &minute) != DB_OK ||
	    store_sms_count_since(c, mobile, ip, timefmt_rfc3339(t - 3600, since), &hour) != DB_OK ||
	    store_sms_count_since(c, mobile, NULL, since, &all) != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	if (minute >= SMS_PER_MOBILE_IP_MINUTE) {
		form_error(f, 429, "mobile", "sms_too_frequent", TOO_FREQUENT);
		return -1;
	}
	if (hour >= SMS_PER_MOBILE_IP_HOUR || all >= SMS_PER_MOBILE_HOUR) {
		form_error(f, 429, "mobile", "sms_limit", LIMIT_REACHED);
		return -1;
	}
	return 0;
}

/* Counts a request for a code from the client's address. Returns 0 or -1 with the error. */
static int ip_quota(struct http_req *r, struct db_conn *c, struct form *f)
{
	char bucket[96];

	const struct app *app = http_ctx(r);

	snprintf(bucket, sizeof(bucket), "sms-ip:%s", http_remote_addr(r));
	return over(c, f, bucket, 3600, app->cfg->sms_per_ip_hour, "sms_limit", LIMIT_REACHED);
}

int api_sms_send(struct http_req *r, struct db_conn *c, struct form *f, const char *mobile,
		 const char *purpose)
{
	char code[8], hash[PII_HASH_LEN + 1], key[64], *params;
	const char *state;
	int rc;

	if (ip_quota(r, c, f) != 0 || mobile_quota(c, f, mobile, http_remote_addr(r)) != 0)
		return -1;
	snprintf(code, sizeof(code), "%06u", randombytes_uniform(1000000));
	if (code_hash(mobile, purpose, code, hash) != 0) {
		sodium_memzero(code, sizeof(code));
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	char masked[MOBILE_LEN + 1];
	phone_mask(mobile, masked); /* the outbox holds no whole mobile in the clear (personal data at rest) */
	snprintf(key, sizeof(key), "sms-code:%s:%08x%08x", masked, randombytes_random(),
		 randombytes_random());
	json_t *j = json_pack("{s:s, s:s, s:i}", "code", code, "purpose", purpose, "minutes", SMS_TTL_S / 60);
	params = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	state = ((struct app *)http_ctx(r))->cfg->sms_provider == SMS_PROVIDER_OUTBOX ? "dev" : "pending";
	rc = db_tx_conn(c, send_tx,
			&(struct send_args){mobile, purpose, http_remote_addr(r), hash, params, key, state});
	free(params);
	sodium_memzero(code, sizeof(code));
	if (rc != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	return 0;
}

int api_sms_check(struct http_req *r, struct db_conn *c, struct form *f, const char *field,
		  const char *mobile, const char *purpose, const char *code)
{
	char hash[PII_HASH_LEN + 1], now[TIMEFMT_LEN];
	int result = SMS_CODE_NONE;

	(void)r;
	if (code == NULL || strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		form_error(f, 422, field, code == NULL ? "sms_code_required" : "sms_code_wrong",
			   code == NULL ? "请输入短信验证码" : "短信验证码为 6 位数字");
		return -1;
	}
	if (code_hash(mobile, purpose, code, hash) != 0 ||
	    store_sms_consume(c, mobile, purpose, hash, timefmt_rfc3339(time(NULL), now), SMS_MAX_ATTEMPTS,
			      &result) != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	switch (result) {
	case SMS_CODE_OK:
		return 0;
	case SMS_CODE_WRONG:
		form_error(f, 422, field, "sms_code_wrong", "短信验证码错误");
		break;
	case SMS_CODE_LOCKED:
		form_error(f, 422, field, "sms_code_locked", "短信验证码错误次数过多，请重新获取");
		break;
	default:
		form_error(f, 422, field, "sms_code_expired", "短信验证码已失效，请重新获取");
	}
	return -1;
}

/* Works out the mobile of a reset code: the handler's of the organisation uscc, or "" when it is not
 * registered. The quotas are counted per USCC and address first, the same whether it is or not, so
 * that neither the answer nor a refusal tells. Returns 0, or -1 with an error recorded. */
static int reset_target(struct http_req *r, struct db_conn *c, struct form *f, char mobile[16])
{
	const char *in = form_text(f, "uscc", "统一社会信用代码", 1, 40, 1);
	char uscc[USCC_LEN + 1] = "", bucket[160];
	struct org_rec o = {0};
	int rc;

	if (in == NULL)
		return -1;
	uscc_check(in, uscc);
	snprintf(bucket, sizeof(bucket), "sms-reset-m:%s:%s", uscc, http_remote_addr(r));
	if (over(c, f, bucket, 60, SMS_PER_MOBILE_IP_MINUTE, "sms_too_frequent", TOO_FREQUENT) != 0)
		return -1;
	snprintf(bucket, sizeof(bucket), "sms-reset-h:%s:%s", uscc, http_remote_addr(r));
	if (over(c, f, bucket, 3600, SMS_PER_MOBILE_IP_HOUR, "sms_limit", LIMIT_REACHED) != 0)
		return -1;
	if ((rc = store_org_get(c, uscc, &o)) != DB_OK && rc != DB_NOTFOUND) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	snprintf(mobile, 16, "%s", o.handler_mobile);
	return 0;
}

/* Works out the mobile a code for purpose goes to; returns 0 with mobile filled, or -1 with an
 * error recorded. Codes for strangers' mobiles need the captcha; the logged-in handler's do not. */
static int target(struct http_req *r, struct db_conn *c, struct form *f, const char *purpose, char mobile[16])
{
	struct api_session *s = api_session(r);
	const char *m = form_text(f, "mobile", "手机号", 1, 20, 0);
	int org = strcmp(s->rec.kind, "org") == 0;
	struct org_rec o = {0};

	if (strcmp(purpose, "mobile_old") == 0 || strcmp(purpose, "mobile_new") == 0) {
		if (!org || store_org_get_id(c, s->rec.subject_id, &o) != DB_OK) {
			form_error(f, 401, NULL, "not_logged_in", "请先登录");
			return -1;
		}
		if (strcmp(purpose, "mobile_old") == 0) {
			snprintf(mobile, 16, "%s", o.handler_mobile);
			return 0;
		}
	} else if (api_captcha_check(r, c, f, form_text(f, "captcha", "图片验证码", 1, 16, 0)) != 0) {
		return -1;
	}
	if (strcmp(purpose, "reset") == 0)
		return reset_target(r, c, f, mobile);
	if (m == NULL || phone_mobile_normalise(m, mobile) != 0) {
		form_error(f, 422, "mobile", "mobile_invalid", "请输入正确的 11 位手机号码");
		return -1;
	}
	return 0;
}

int api_sms_codes_post(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	char mobile[16] = "";
	const char *purpose;
	struct db_conn *c;
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	purpose = form_text(&f, "purpose", "用途", 1, 16, 1);
	if (purpose != NULL && strcmp(purpose, "register") != 0 && strcmp(purpose, "reset") != 0 &&
	    strcmp(purpose, "mobile_old") != 0 && strcmp(purpose, "mobile_new") != 0)
		form_error(&f, 422, "purpose", "field_invalid", "用途不正确");
	c = db_acquire(app->db);
	if (!form_failed(&f) && target(r, c, &f, purpose, mobile) == 0) {
		/* A reset for a USCC with no account sends nothing and answers like one that has. */
		if (mobile[0] != '\0')
			api_sms_send(r, c, &f, mobile, purpose);
		else
			ip_quota(r, c, &f);
	}
	db_release(c);
	return form_finish(
		&f, body, 200,
		json_pack("{s:b, s:i, s:i}", "sent", 1, "expires_in", SMS_TTL_S, "resend_after", 60));
}

int api_dev_outbox_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *recipient = http_query(r, "recipient");
	json_t *items = NULL;
	struct db_conn *c = db_acquire(app->db);
	int rc = store_outbox_list(c, recipient, 50, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "outbox");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}
