/* WeChat Pay API v3 Native, simulated: the Authorization header checked as WeChat Pay checks it,
 * requests validated, orders and refunds kept in memory, every reply signed with the platform key,
 * and the test controls under /_sim/wxpay. */
#include "sim/wxpay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http.h"
#include "providers/rsasig.h"
#include "providers/wxpay.h"
#include "sim/recorder.h"
#include "util/strnum.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define SKEW_S 300
#define AMOUNT_MAX 2147483647LL
#define PREFIX "/wxpay" /* where the simulator serves what WeChat Pay serves at / */

/* What the next API request suffers (POST /_sim/wxpay/fail-next). */
struct failure {
	int status, delay_ms, bad_sig;
	char code[64];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *orders;  /* out_trade_no -> order */
static json_t *refunds; /* out_refund_no -> refund */
static struct failure armed;
static char refund_mode[16] = "success";
static struct rsakey *merchant_pub; /* loaded on first use */

/* Returns the orders or refunds table, made on first use (mu held). */
static json_t *table(json_t **t)
{
	if (*t == NULL)
		*t = json_object();
	return *t;
}

/* Takes the armed failure into f (and disarms it). */
static void take_failure(struct failure *f)
{
	pthread_mutex_lock(&mu);
	*f = armed;
	memset(&armed, 0, sizeof(armed));
	pthread_mutex_unlock(&mu);
}

/* Replies status with body (stolen; NULL: empty), signed as WeChat Pay signs (corrupt: wrongly). */
static int reply_signed(struct http_req *r, unsigned status, json_t *body, int corrupt)
{
	const struct config *cfg = http_ctx(r);
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : xstrdup("");
	char ts[24], nonce[40], sig[RSASIG_B64_MAX], rid[33];
	size_t len = strlen(text);

	json_decref(body);
	if (wxsim_sign(cfg, text, len, 0, corrupt, ts, nonce, sig) != 0) {
		free(text);
		return http_reply_error(r, 500, "sim_key", "模拟器读不到 [sim] wxpay_platform_key", NULL);
	}
	wxsim_random_alnum(rid, 32);
	http_add_header(r, "Request-ID", rid);
	http_add_header(r, "Wechatpay-Timestamp", ts);
	http_add_header(r, "Wechatpay-Nonce", nonce);
	http_add_header(r, "Wechatpay-Signature", sig);
	http_add_header(r, "Wechatpay-Serial", cfg->wxpay_platform_serial);
	http_add_header(r, "Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048");
	http_reply_bytes(r, status, "application/json", text, len);
	free(text);
	return 0;
}

/* Replies WeChat Pay's error shape {code, message} with status, signed; returns -1. */
static int refuse(struct http_req *r, const struct failure *f, unsigned status, const char *code,
		  const char *message)
{
	reply_signed(r, status, json_pack("{s:s, s:s}", "code", code, "message", message), f->bad_sig);
	return -1;
}

/* Reads the next item k="v" of an Authorization header at *p into key and val; returns 0, or -1. */
static int auth_item(const char **p, char key[16], char val[RSASIG_B64_MAX])
{
	const char *s = *p, *e;
	size_t n;

	while (*s == ' ' || *s == ',')
		s++;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
	if (n == 0 || n >= 16 || s[n] != '=' || s[n + 1] != '"')
		return -1;
	memcpy(key, s, n);
	key[n] = '\0';
	s += n + 2;
	if ((e = strchr(s, '"')) == NULL || (size_t)(e - s) >= RSASIG_B64_MAX)
		return -1;
	memcpy(val, s, (size_t)(e - s));
	val[e - s] = '\0';
	*p = e + 1;
	return 0;
}

/* The five items of an Authorization header. */
struct auth {
	char mchid[RSASIG_B64_MAX], nonce[RSASIG_B64_MAX], sig[RSASIG_B64_MAX], ts[RSASIG_B64_MAX],
		serial[RSASIG_B64_MAX];
};

/* Parses a WECHATPAY2-SHA256-RSA2048 header (items in any order) into a; returns 0, or -1. */
static int auth_parse(const char *h, struct auth *a)
{
	static const char scheme[] = "WECHATPAY2-SHA256-RSA2048 ";
	char key[16], val[RSASIG_B64_MAX];
	int seen = 0;

	memset(a, 0, sizeof(*a));
	if (h == NULL || strncmp(h, scheme, sizeof(scheme) - 1) != 0)
		return -1;
	h += sizeof(scheme) - 1;
	while (*h != '\0') {
		if (auth_item(&h, key, val) != 0)
			return -1;
		char *dst = strcmp(key, "mchid") == 0       ? a->mchid
			    : strcmp(key, "nonce_str") == 0 ? a->nonce
			    : strcmp(key, "signature") == 0 ? a->sig
			    : strcmp(key, "timestamp") == 0 ? a->ts
			    : strcmp(key, "serial_no") == 0 ? a->serial
							    : NULL;
		if (dst == NULL || dst[0] != '\0')
			return -1;
		str_copy(dst, val, RSASIG_B64_MAX);
		seen++;
		while (*h == ' ')
			h++;
		if (*h != '\0' && *h != ',')
			return -1;
	}
	return seen == 5 ? 0 : -1;
}

/* Returns the merchant public key, read on first use, or NULL. */
static struct rsakey *merchant_key(const struct config *cfg)
{
	char err[256];
	struct rsakey *k;

	pthread_mutex_lock(&mu);
	if (merchant_pub == NULL)
		merchant_pub = rsakey_load(cfg->sim_wxpay_merchant_pub, 0, err, sizeof(err));
	k = merchant_pub;
	pthread_mutex_unlock(&mu);
	return k;
}

/* Checks the Authorization header over the request as the merchant sent it (path from /v3/);
 * returns 0, or replies 401 SIGN_ERROR and returns -1. */
static int check_auth(struct http_req *r, const struct config *cfg, const struct failure *f)
{
	size_t len;
	const char *body = http_body(r, &len), *mchid = http_query(r, "mchid");
	char *path, *msg;
	struct auth a;
	int64_t ts;
	int ok;

	if (auth_parse(http_header(r, "Authorization"), &a) != 0)
		return refuse(r, f, 401, "SIGN_ERROR", "Authorization 格式错误（WECHATPAY2-SHA256-RSA2048）");
	if (strcmp(a.mchid, cfg->wxpay_mchid) != 0)
		return refuse(r, f, 401, "SIGN_ERROR", "商户号 mchid 不存在");
	if (strcmp(a.serial, cfg->wxpay_merchant_serial) != 0)
		return refuse(r, f, 401, "SIGN_ERROR", "商户证书序列号 serial_no 有误");
	if (strnum_parse(a.ts, 0, 253402300799LL, &ts) != 0 || ts < (int64_t)time(NULL) - SKEW_S ||
	    ts > (int64_t)time(NULL) + SKEW_S)
		return refuse(r, f, 401, "SIGN_ERROR", "timestamp 与当前时间相差超过 5 分钟");
	if (strlen(body) != len)
		return refuse(r, f, 400, "PARAM_ERROR", "请求包体含有 NUL");
	/* the signed path is the API's (/v3/...), without the simulator's /wxpay */
	path = xasprintf("%s%s%s", http_path(r) + strlen(PREFIX), mchid != NULL ? "?mchid=" : "",
			 mchid != NULL ? mchid : "");
	msg = wxpay_request_message(http_method(r), path, (long long)ts, a.nonce, body);
	ok = rsasig_verify(merchant_key(cfg), msg, strlen(msg), a.sig);
	free(msg);
	free(path);
	return ok ? 0 : refuse(r, f, 401, "SIGN_ERROR", "签名错误");
}

/* Records the request, applies an armed failure, checks the signature. Returns 0 to go on, or -1
 * after replying. */
static int api_begin(struct http_req *r, struct failure *f)
{
	size_t len;
	const char *body = http_body(r, &len);

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	take_failure(f);
	if (f->delay_ms > 0)
		usleep((useconds_t)f->delay_ms * 1000);
	if (f->status != 0)
		return refuse(r, f, (unsigned)f->status, f->code[0] != '\0' ? f->code : "SYSTEM_ERROR",
			      "系统错误（模拟器按测试要求返回）");
	return check_auth(r, http_ctx(r), f);
}

/* Parses the body as a JSON object; returns it, or replies 400 PARAM_ERROR and returns NULL. */
static json_t *api_body(struct http_req *r, const struct failure *f)
{
	size_t len;
	const char *body = http_body(r, &len);
	json_t *in = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(in)) {
		json_decref(in);
		refuse(r, f, 400, "PARAM_ERROR", "请求包体不是 JSON 对象");
		return NULL;
	}
	return in;
}

/* Returns the string member name of o when it is 1 to max bytes of text (min 0: may be absent, ""
 * then), else NULL. */
static const char *text_of(json_t *o, const char *name, size_t min, size_t max)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);

	if (v == NULL && min == 0)
		return "";
	if (s == NULL || strlen(s) < min || strlen(s) > max || str_has_control(s) || utf8_chars(s) < 0)
		return NULL;
	return s;
}

/* Returns 1 when v is the string s. */
static int str_is(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* Returns 1 when s is min to max characters of set. */
static int chars_of(const char *s, size_t min, size_t max, const char *set)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n >= min && n <= max && strspn(s, set) == n;
}

#define ALNUM "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* Checks a create request; returns the order to keep (without pr and state), or replies
 * PARAM_ERROR and returns NULL. */
static json_t *create_order(struct http_req *r, const struct failure *f, json_t *in)
{
	const struct config *cfg = http_ctx(r);
	const char *desc = text_of(in, "description", 1, 127), *otn = text_of(in, "out_trade_no", 6, 32);
	const char *url = text_of(in, "notify_url", 10, 255), *attach = text_of(in, "attach", 0, 128);
	const char *te = text_of(in, "time_expire", 0, 64);
	json_t *amount = json_object_get(in, "amount"), *total = json_object_get(amount, "total");
	const char *cur = text_of(amount, "currency", 0, 3);
	long long expire = 0;

	if (!str_is(json_object_get(in, "appid"), cfg->wxpay_appid) ||
	    !str_is(json_object_get(in, "mchid"), cfg->wxpay_mchid))
		return refuse(r, f, 400, "APPID_MCHID_NOT_MATCH", "appid 和 mchid 不匹配"), NULL;
	if (desc == NULL || otn == NULL || !chars_of(otn, 6, 32, ALNUM "_-*") || url == NULL ||
	    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
	    strchr(url, '?') != NULL || attach == NULL || te == NULL || cur == NULL ||
	    (cur[0] != '\0' && strcmp(cur, "CNY") != 0))
		return refuse(r, f, 400, "PARAM_ERROR", "参数错误：description、out_trade_no、notify_url 等"),
		       NULL;
	if (!json_is_integer(total) || json_integer_value(total) < 1 ||
	    json_integer_value(total) > AMOUNT_MAX)
		return refuse(r, f, 400, "PARAM_ERROR", "amount.total 须为正整数（分）"), NULL;
	if (te[0] != '\0' && (wxpay_time_parse(te, &expire) != 0 || expire <= (long long)time(NULL)))
		return refuse(r, f, 400, "PARAM_ERROR", "time_expire 格式错误或已过期"), NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:[]}", "appid",
			 cfg->wxpay_appid, "mchid", cfg->wxpay_mchid, "description", desc, "out_trade_no",
			 otn, "notify_url", url, "attach", attach, "time_expire", te, "expire_at",
			 (json_int_t)expire, "total", json_integer_value(total), "refunded", (json_int_t)0,
			 "trade_state", "NOTPAY", "transaction_id", "", "success_time", "",
			 "notify_statuses");
}

/* Returns 1 when the orders a and b were made from the same request content. */
static int same_content(json_t *a, json_t *b)
{
	static const char *const keys[] = {"description", "notify_url", "attach", "time_expire", "total"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])))
			return 0;
	return 1;
}

int wxpay_sim_create(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	char pr[17], *url;
	struct failure f;
	json_t *in, *o, *old;
	const char *st;

	if (api_begin(r, &f) != 0 || (in = api_body(r, &f)) == NULL)
		return 0;
	o = create_order(r, &f, in);
	json_decref(in);
	if (o == NULL)
		return 0;
	pthread_mutex_lock(&mu);
	old = json_object_get(table(&orders), json_string_value(json_object_get(o, "out_trade_no")));
	st = json_string_value(json_object_get(old, "trade_state"));
	if (old == NULL) {
		wxsim_random_alnum(pr, 16);
		url = xasprintf("%s/wxpay/scan/%s", cfg->sim_url, pr);
		json_object_set_new(o, "pr", json_string(pr));
		json_object_set_new(o, "code_url", json_string(url));
		free(url);
		json_object_set(orders, json_string_value(json_object_get(o, "out_trade_no")), o);
		old = o;
	}
	json_t *reply = json_pack("{s:O}", "code_url", json_object_get(old, "code_url"));
	int same = old == o || same_content(old, o);
	pthread_mutex_unlock(&mu);
	json_decref(o);
	if (st != NULL && (strcmp(st, "SUCCESS") == 0 || strcmp(st, "REFUND") == 0))
		return json_decref(reply), refuse(r, &f, 400, "ORDERPAID", "该订单已支付"), 0;
	if (st != NULL && strcmp(st, "CLOSED") == 0)
		return json_decref(reply), refuse(r, &f, 400, "ORDERCLOSED", "该订单已关闭"), 0;
	if (!same)
		return json_decref(reply),
		       refuse(r, &f, 400, "INVALID_REQUEST", "OUT_TRADE_NO_USED: 商户订单号重复，且内容不同"),
		       0;
	return reply_signed(r, 200, reply, f.bad_sig);
}

json_t *wxsim_transaction(const struct config *cfg, const json_t *o)
{
	const char *st = json_string_value(json_object_get(o, "trade_state"));
	json_int_t total = json_integer_value(json_object_get(o, "total"));
	int paid = strcmp(st, "SUCCESS") == 0 || strcmp(st, "REFUND") == 0;
	const char *desc = strcmp(st, "SUCCESS") == 0  ? "支付成功"
			   : strcmp(st, "REFUND") == 0 ? "转入退款"
			   : strcmp(st, "CLOSED") == 0 ? "订单已关闭"
						       : "订单未支付";
	json_t *t = json_pack("{s:s, s:s, s:O, s:s, s:s, s:O, s:{s:I, s:s}}", "appid", cfg->wxpay_appid,
			      "mchid", cfg->wxpay_mchid, "out_trade_no", json_object_get(o, "out_trade_no"),
			      "trade_state", st, "trade_state_desc", desc, "attach",
			      json_object_get(o, "attach"), "amount", "total", total, "currency", "CNY");

	if (paid) {
		json_object_set_new(t, "trade_type", json_string("NATIVE"));
		json_object_set(t, "transaction_id", json_object_get(o, "transaction_id"));
		json_object_set_new(t, "bank_type", json_string("OTHERS"));
		json_object_set(t, "success_time", json_object_get(o, "success_time"));
		json_object_set_new(t, "payer", json_pack("{s:s}", "openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
		json_object_set_new(json_object_get(t, "amount"), "payer_total", json_integer(total));
		json_object_set_new(json_object_get(t, "amount"), "payer_currency", json_string("CNY"));
	}
	return t;
}

int wxpay_sim_query(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	const char *mchid = http_query(r, "mchid");
	struct failure f;
	json_t *o;

	if (api_begin(r, &f) != 0)
		return 0;
	if (mchid == NULL || strcmp(mchid, cfg->wxpay_mchid) != 0)
		return refuse(r, &f, 400, "PARAM_ERROR", "mchid 缺失或与商户号不符"), 0;
	if ((o = wxsim_order_get(http_param(r, "out_trade_no"), 0)) == NULL)
		return refuse(r, &f, 404, "ORDER_NOT_EXIST", "订单不存在"), 0;
	json_t *t = wxsim_transaction(cfg, o);
	json_decref(o);
	return reply_signed(r, 200, t, f.bad_sig);
}

int wxpay_sim_close(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	struct failure f;
	json_t *in, *o;
	const char *st;
	int rc = 0;

	if (api_begin(r, &f) != 0 || (in = api_body(r, &f)) == NULL)
		return 0;
	int mine = str_is(json_object_get(in, "mchid"), cfg->wxpay_mchid);
	json_decref(in);
	if (!mine)
		return refuse(r, &f, 400, "PARAM_ERROR", "mchid 缺失或与商户号不符"), 0;
	pthread_mutex_lock(&mu);
	o = json_object_get(table(&orders), http_param(r, "out_trade_no"));
	st = json_string_value(json_object_get(o, "trade_state"));
	if (o == NULL)
		rc = 404;
	else if (strcmp(st, "SUCCESS") == 0 || strcmp(st, "REFUND") == 0)
		rc = 400;
	else
		json_object_set_new(o, "trade_state", json_string("CLOSED"));
	pthread_mutex_unlock(&mu);
	if (rc == 404)
		return refuse(r, &f, 404, "ORDER_NOT_EXIST", "订单不存在"), 0;
	if (rc == 400)
		return refuse(r, &f, 400, "ORDERPAID", "订单已支付，不能关闭"), 0;
	return reply_signed(r, 204, NULL, f.bad_sig);
}

/* Writes prefix and random digits, n characters in all, into out (n + 1 bytes). */
static void random_id(char *out, size_t n, const char *prefix)
{
	size_t i = str_copy(out, prefix, n + 1);

	wxsim_random_alnum(out + i, n - i);
	for (; i < n; i++)
		out[i] = (char)('0' + (unsigned char)out[i] % 10);
}

/* Returns the refund reply of the refund object rf. */
static json_t *refund_view(json_t *rf)
{
	json_t *v = json_deep_copy(rf);

	json_object_set_new(v, "channel", json_string("ORIGINAL"));
	json_object_set_new(v, "user_received_account", json_string("支付用户零钱"));
	json_object_set_new(v, "funds_account", json_string("AVAILABLE"));
	return v;
}

/* Checks a refund request against the orders and records it (mu held). Returns the refund (a
 * copy) or NULL with *status, *code and *msg set. */
static json_t *refund_record(json_t *in, unsigned *status, const char **code, const char **msg)
{
	const char *otn = json_string_value(json_object_get(in, "out_trade_no"));
	const char *orn = json_string_value(json_object_get(in, "out_refund_no"));
	json_t *amount = json_object_get(in, "amount"), *o = json_object_get(table(&orders), otn ? otn : "");
	json_int_t refund = json_integer_value(json_object_get(amount, "refund"));
	json_int_t total = json_integer_value(json_object_get(amount, "total"));
	json_t *old = json_object_get(table(&refunds), orn ? orn : ""), *rf;
	const char *st = json_string_value(json_object_get(o, "trade_state"));
	char id[31], when[32];

	*status = 400;
	*code = "INVALID_REQUEST";
	if (old != NULL && str_is(json_object_get(old, "out_trade_no"), otn) &&
	    json_integer_value(json_object_get(json_object_get(old, "amount"), "refund")) == refund)
		return refund_view(old); /* the same refund asked again */
	if (old != NULL)
		return *msg = "退款单号 out_refund_no 已用于另一笔退款", NULL;
	if (o == NULL)
		return *status = 404, *code = "RESOURCE_NOT_EXISTS", *msg = "订单不存在", NULL;
	if (strcmp(st, "SUCCESS") != 0 && strcmp(st, "REFUND") != 0)
		return *msg = "订单未支付，不能退款", NULL;
	if (total != json_integer_value(json_object_get(o, "total")))
		return *code = "PARAM_ERROR", *msg = "amount.total 与订单金额不符", NULL;
	if (refund > total - json_integer_value(json_object_get(o, "refunded")))
		return *msg = "申请退款金额超过订单可退金额", NULL;
	random_id(id, 30, "50");
	const char *mode = refund_mode;
	rf = json_pack("{s:s, s:s, s:O, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:s}}", "refund_id", id,
		       "out_refund_no", orn, "transaction_id", json_object_get(o, "transaction_id"),
		       "out_trade_no", otn, "create_time", wxpay_time_cn((long long)time(NULL), when),
		       "success_time", strcmp(mode, "success") == 0 ? when : "", "status",
		       strcmp(mode, "success") == 0    ? "SUCCESS"
		       : strcmp(mode, "abnormal") == 0 ? "ABNORMAL"
						       : "PROCESSING",
		       "amount", "total", total, "refund", refund, "payer_total", total, "payer_refund",
		       refund, "currency", "CNY");
	json_object_set(refunds, orn, rf);
	if (strcmp(mode, "abnormal") != 0) {
		json_object_set_new(
			o, "refunded",
			json_integer(json_integer_value(json_object_get(o, "refunded")) + refund));
		json_object_set_new(o, "trade_state", json_string("REFUND"));
	}
	json_t *v = refund_view(rf);
	json_decref(rf);
	return v;
}

int wxpay_sim_refund(struct http_req *r)
{
	struct failure f;
	json_t *in, *amount, *v;
	unsigned status;
	const char *code = "", *msg = "";

	if (api_begin(r, &f) != 0 || (in = api_body(r, &f)) == NULL)
		return 0;
	amount = json_object_get(in, "amount");
	if (!chars_of(json_string_value(json_object_get(in, "out_trade_no")), 6, 32, ALNUM "_-*") ||
	    !chars_of(json_string_value(json_object_get(in, "out_refund_no")), 1, 64, ALNUM "_-|*@") ||
	    text_of(in, "reason", 0, 80) == NULL || !json_is_integer(json_object_get(amount, "refund")) ||
	    !json_is_integer(json_object_get(amount, "total")) ||
	    json_integer_value(json_object_get(amount, "refund")) < 1 ||
	    json_integer_value(json_object_get(amount, "refund")) >
		    json_integer_value(json_object_get(amount, "total")) ||
	    !str_is(json_object_get(amount, "currency"), "CNY")) {
		json_decref(in);
		return refuse(r, &f, 400, "PARAM_ERROR", "参数错误：out_trade_no、out_refund_no、amount"), 0;
	}
	pthread_mutex_lock(&mu);
	v = refund_record(in, &status, &code, &msg);
	pthread_mutex_unlock(&mu);
	json_decref(in);
	if (v == NULL)
		return refuse(r, &f, status, code, msg), 0;
	return reply_signed(r, 200, v, f.bad_sig);
}

int wxpay_sim_refund_query(struct http_req *r)
{
	struct failure f;
	json_t *rf, *v = NULL;
	char when[32];

	if (api_begin(r, &f) != 0)
		return 0;
	pthread_mutex_lock(&mu);
	rf = json_object_get(table(&refunds), http_param(r, "out_refund_no"));
	if (rf != NULL && str_is(json_object_get(rf, "status"), "PROCESSING") &&
	    strcmp(refund_mode, "success") == 0) {
		json_object_set_new(rf, "status", json_string("SUCCESS"));
		json_object_set_new(rf, "success_time",
				    json_string(wxpay_time_cn((long long)time(NULL), when)));
	}
	if (rf != NULL)
		v = refund_view(rf);
	pthread_mutex_unlock(&mu);
	if (v == NULL)
		return refuse(r, &f, 404, "RESOURCE_NOT_EXISTS", "退款单不存在"), 0;
	return reply_signed(r, 200, v, f.bad_sig);
}

json_t *wxsim_order_get(const char *key, int by_pr)
{
	const char *k;
	json_t *o, *found = NULL;

	pthread_mutex_lock(&mu);
	if (!by_pr && key != NULL)
		found = json_object_get(table(&orders), key);
	else if (key != NULL)
		json_object_foreach (table(&orders), k, o)
			if (str_is(json_object_get(o, "pr"), key))
				found = o;
	found = json_deep_copy(found);
	pthread_mutex_unlock(&mu);
	return found;
}

int wxsim_order_pay(const char *out_trade_no, json_t **paid)
{
	json_t *o;
	char tid[29], when[32];
	int rc = WXSIM_PAID;

	*paid = NULL;
	pthread_mutex_lock(&mu);
	o = out_trade_no != NULL ? json_object_get(table(&orders), out_trade_no) : NULL;
	if (o == NULL)
		rc = WXSIM_NO_ORDER;
	else if (!str_is(json_object_get(o, "trade_state"), "NOTPAY"))
		rc = WXSIM_NOT_PAYABLE;
	else if (json_integer_value(json_object_get(o, "expire_at")) != 0 &&
		 json_integer_value(json_object_get(o, "expire_at")) <= (json_int_t)time(NULL))
		rc = WXSIM_EXPIRED;
	if (rc == WXSIM_PAID) {
		random_id(tid, 28, "4200");
		json_object_set_new(o, "trade_state", json_string("SUCCESS"));
		json_object_set_new(o, "transaction_id", json_string(tid));
		json_object_set_new(o, "success_time",
				    json_string(wxpay_time_cn((long long)time(NULL), when)));
		*paid = json_deep_copy(o);
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

void wxsim_order_notified(const char *out_trade_no, long status)
{
	json_t *o;

	pthread_mutex_lock(&mu);
	o = json_object_get(table(&orders), out_trade_no);
	if (o != NULL)
		json_array_append_new(json_object_get(o, "notify_statuses"), json_integer(status));
	pthread_mutex_unlock(&mu);
}

/* Replies {"error":...} for a wxsim_order_pay failure rc. */
static int pay_refused(struct http_req *r, int rc)
{
	if (rc == WXSIM_NO_ORDER)
		return http_reply_error(r, 404, "no_order", "模拟器没有这个订单", NULL);
	if (rc == WXSIM_EXPIRED)
		return http_reply_error(r, 409, "expired", "订单已过期（time_expire），不能支付", NULL);
	return http_reply_error(r, 409, "not_payable", "订单不是待支付（NOTPAY）状态", NULL);
}

int wxpay_sim_ctl_pay(struct http_req *r)
{
	json_t *in, *paid = NULL, *n;
	int rc, notify;

	if ((in = http_json_body(r)) == NULL)
		return 0;
	n = json_object_get(in, "notify");
	notify = n == NULL || json_is_true(n);
	rc = n != NULL && !json_is_boolean(n);
	json_decref(in);
	if (rc)
		return http_reply_error(r, 400, "bad_request", "notify 须为 true 或 false", "notify");
	if ((rc = wxsim_order_pay(http_param(r, "out_trade_no"), &paid)) != WXSIM_PAID)
		return pay_refused(r, rc);
	json_t *t = wxsim_transaction(http_ctx(r), paid);
	if (notify)
		wxsim_notify_background(http_ctx(r), paid);
	else
		json_decref(paid);
	return http_reply_json(r, 200, t);
}

int wxpay_sim_ctl_notify(struct http_req *r)
{
	static const char *const variants[] = {
		"ok",          "bad_signature", "wrong_serial",  "stale_timestamp",
		"wrong_mchid", "wrong_amount",  "bad_ciphertext"};
	json_t *in, *o, *statuses;
	const char *v;
	json_int_t copies;
	size_t i;

	if ((in = http_json_body(r)) == NULL)
		return 0;
	v = json_string_value(json_object_get(in, "variant"));
	copies =
		json_object_get(in, "copies") != NULL ? json_integer_value(json_object_get(in, "copies")) : 1;
	for (i = 0; v != NULL && i < sizeof(variants) / sizeof(variants[0]) && strcmp(v, variants[i]) != 0;
	     i++)
		;
	v = v != NULL && i < sizeof(variants) / sizeof(variants[0]) ? variants[i] : NULL;
	json_decref(in);
	if (v == NULL || copies < 1 || copies > 1000)
		return http_reply_error(r, 400, "bad_request", "variant 取值不对，或 copies 不在 1-1000", NULL);
	if ((o = wxsim_order_get(http_param(r, "out_trade_no"), 0)) == NULL)
		return http_reply_error(r, 404, "no_order", "模拟器没有这个订单", NULL);
	if (!str_is(json_object_get(o, "trade_state"), "SUCCESS") &&
	    !str_is(json_object_get(o, "trade_state"), "REFUND")) {
		json_decref(o);
		return http_reply_error(r, 409, "not_paid", "订单未支付，没有支付通知可发", NULL);
	}
	statuses = json_array();
	for (json_int_t k = 0; k < copies; k++)
		json_array_append_new(statuses, json_integer(wxsim_notify_send(http_ctx(r), o, v)));
	json_decref(o);
	return http_reply_json(r, 200, json_pack("{s:o}", "statuses", statuses));
}

int wxpay_sim_ctl_orders(struct http_req *r)
{
	json_t *out;

	pthread_mutex_lock(&mu);
	out = json_pack("{s:O, s:O}", "orders", table(&orders), "refunds", table(&refunds));
	json_t *copy = json_deep_copy(out);
	pthread_mutex_unlock(&mu);
	json_decref(out);
	return http_reply_json(r, 200, copy);
}

int wxpay_sim_ctl_fail_next(struct http_req *r)
{
	json_t *in = http_json_body(r), *st, *d, *b;
	const char *code;
	struct failure f = {0};

	if (in == NULL)
		return 0;
	st = json_object_get(in, "status");
	d = json_object_get(in, "delay_ms");
	b = json_object_get(in, "bad_reply_signature");
	code = json_string_value(json_object_get(in, "code"));
	if ((st != NULL &&
	     (!json_is_integer(st) || json_integer_value(st) < 400 || json_integer_value(st) > 599)) ||
	    (d != NULL &&
	     (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 30000)) ||
	    (b != NULL && !json_is_boolean(b)) || (code != NULL && !chars_of(code, 1, 63, ALNUM "_"))) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request",
					"status 400-599、code、delay_ms 0-30000、bad_reply_signature 布尔",
					NULL);
	}
	f.status = st != NULL ? (int)json_integer_value(st) : 0;
	f.delay_ms = d != NULL ? (int)json_integer_value(d) : 0;
	f.bad_sig = json_is_true(b);
	str_copy(f.code, code, sizeof(f.code));
	json_decref(in);
	pthread_mutex_lock(&mu);
	armed = f;
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200,
			       json_pack("{s:i, s:i, s:b}", "status", f.status, "delay_ms", f.delay_ms,
					 "bad_reply_signature", f.bad_sig));
}

int wxpay_sim_ctl_refund_mode(struct http_req *r)
{
	json_t *in = http_json_body(r);
	const char *m;

	if (in == NULL)
		return 0;
	m = json_string_value(json_object_get(in, "mode"));
	if (m == NULL ||
	    (strcmp(m, "success") != 0 && strcmp(m, "processing") != 0 && strcmp(m, "abnormal") != 0)) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request", "mode 须为 success、processing 或 abnormal",
					"mode");
	}
	json_t *reply = json_pack("{s:s}", "mode", m);
	pthread_mutex_lock(&mu);
	str_copy(refund_mode, m, sizeof(refund_mode));
	pthread_mutex_unlock(&mu);
	json_decref(in);
	return http_reply_json(r, 200, reply);
}

/* Forgets orders, refunds, the armed failure and the refund mode. */
static void forget(void)
{
	pthread_mutex_lock(&mu);
	json_decref(orders);
	json_decref(refunds);
	orders = refunds = NULL;
	memset(&armed, 0, sizeof(armed));
	str_copy(refund_mode, "success", sizeof(refund_mode));
	pthread_mutex_unlock(&mu);
}

int wxpay_sim_ctl_clear(struct http_req *r)
{
	forget();
	return http_reply_json(r, 200, json_object());
}

void wxpay_sim_stop(void)
{
	wxsim_notify_stop();
	forget();
	pthread_mutex_lock(&mu);
	rsakey_free(merchant_pub);
	merchant_pub = NULL;
	pthread_mutex_unlock(&mu);
}
