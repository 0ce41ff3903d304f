/* Alipay OpenAPI gateway, simulated (face-to-face payment): the common parameters and the RSA2
 * signature checked as Alipay checks them, the trades kept in memory, replies in Alipay's shape
 * ({"<method>_response":{...},"sign":"..."}, signed over the exact bytes of the object; errors about
 * the request itself, code 40001/40002, left unsigned as Alipay may leave them), and test hooks. */
#include "sim/alipay.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http.h"
#include "providers/alipay.h"
#include "providers/rsasig.h"
#include "sim/alipay_int.h"
#include "sim/recorder.h"
#include "util/urlform.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define KEEP 1000
#define MAX_FIELDS 64
#define MAX_SKEW_S 600
#define MAX_AMOUNT_FEN 10000000000LL

pthread_mutex_t ali_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ali_trade *trades[KEEP]; /* a ring; next is the oldest slot */
static int next;
static struct rsakey *gateway_key, *app_pub;

/* The next gateway call's misbehaviour (POST /_sim/alipay/fail-next). */
static struct {
	int armed, status, delay_ms, bad_signature;
	char sub_code[64];
} fail;

/* The common parameters a request may carry in its query string. */
static const char *const common_names[] = {
	"app_id",         "method",
	"format",         "charset",
	"sign_type",      "sign",
	"timestamp",      "version",
	"notify_url",     "biz_content",
	"app_auth_token", "return_url",
	"app_cert_sn",    "alipay_root_cert_sn",
};

/* A request being answered: its parameters and the reply built so far. */
struct call {
	const struct config *cfg;
	struct urlform params;
	const char *method;
	json_t *biz;
};

/* Frees one trade. */
static void trade_free(struct ali_trade *t)
{
	if (t != NULL) {
		free(t->subject);
		free(t->notify_url);
		free(t);
	}
}

struct ali_trade *ali_find(const char *out_trade_no)
{
	for (int i = 0; out_trade_no != NULL && i < KEEP; i++)
		if (trades[i] != NULL && strcmp(trades[i]->out_trade_no, out_trade_no) == 0)
			return trades[i];
	return NULL;
}

struct ali_trade *ali_find_qr(const char *qr_id)
{
	for (int i = 0; qr_id != NULL && i < KEEP; i++)
		if (trades[i] != NULL && strcmp(trades[i]->qr_id, qr_id) == 0)
			return trades[i];
	return NULL;
}

/* Writes n random decimal digits and a NUL into out. */
static void random_digits(char *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[n] = '\0';
}

/* Writes 32 random hex digits and a NUL into out (33 bytes). */
static void random_hex(char *out)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 33, b, sizeof(b));
}

void ali_touch(struct ali_trade *t, int scanned)
{
	long long now = (long long)time(NULL);

	if (scanned && t->status == ALI_PRECREATED) {
		t->status = ALI_WAIT;
		alipay_time_format(now, t->gmt_create);
	}
	if (t->status == ALI_WAIT && t->expire_at != 0 && now >= t->expire_at) {
		t->status = ALI_CLOSED;
		alipay_time_format(now, t->gmt_close);
	}
}

int ali_pay(struct ali_trade *t)
{
	long long now = (long long)time(NULL);
	char digits[24];

	ali_touch(t, 1);
	if (t->status != ALI_WAIT)
		return -1;
	t->status = ALI_SUCCESS;
	alipay_time_format(now, t->gmt_payment);
	random_digits(digits, 20);
	snprintf(t->trade_no, sizeof(t->trade_no), "%.4s%.2s%.2s%s", t->gmt_payment, t->gmt_payment + 5,
		 t->gmt_payment + 8, digits);
	random_digits(digits, 12);
	snprintf(t->buyer_id, sizeof(t->buyer_id), "2088%.12s", digits);
	snprintf(t->buyer_logon_id, sizeof(t->buyer_logon_id), "138****%.4s", digits + 8);
	random_hex(t->notify_id);
	return 0;
}

const char *ali_status_name(const struct ali_trade *t)
{
	static const char *const names[] = {"NOT_SCANNED", "WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_CLOSED"};
	return names[t->status];
}

/* Loads the two [sim] keys once; returns 0, or -1. Call with ali_mu held. */
static int load_keys(const struct config *cfg)
{
	char err[300];

	if (gateway_key == NULL &&
	    (gateway_key = rsakey_load(cfg->sim_alipay_gateway_key, 1, err, sizeof(err))) == NULL)
		fprintf(stderr, "certdesk-sim: alipay: %s\n", err);
	if (app_pub == NULL && (app_pub = rsakey_load(cfg->sim_alipay_app_pub, 0, err, sizeof(err))) == NULL)
		fprintf(stderr, "certdesk-sim: alipay: %s\n", err);
	return gateway_key != NULL && app_pub != NULL ? 0 : -1;
}

const struct rsakey *ali_gateway_key(const struct config *cfg)
{
	return load_keys(cfg) == 0 ? gateway_key : NULL;
}

/* Returns a reply object {"code","msg"} (plus sub_code, sub_msg when sub_code is not NULL). */
static json_t *answer(const char *code, const char *msg, const char *sub_code, const char *sub_msg)
{
	json_t *o = json_pack("{s:s, s:s}", "code", code, "msg", msg);

	if (sub_code != NULL) {
		json_object_set_new(o, "sub_code", json_string(sub_code));
		json_object_set_new(o, "sub_msg", json_string(sub_msg));
	}
	return o;
}

/* Returns a business failure (40004, or 20000 for an isp.* fault). */
static json_t *business(const char *sub_code, const char *sub_msg)
{
	if (strncmp(sub_code, "isp.", 4) == 0)
		return answer("20000", "Service Currently Unavailable", sub_code, sub_msg);
	return answer("40004", "Business Failed", sub_code, sub_msg);
}

/* Returns success {"code":"10000","msg":"Success"}. */
static json_t *success(void)
{
	return answer("10000", "Success", NULL, NULL);
}

/* Returns the string member name of o, or NULL. */
static const char *biz_str(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* Returns 1 when s is 1..64 characters of [0-9A-Za-z_]. */
static int id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n > 0 && n < PAY_ID_MAX &&
	       strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") == n;
}

/* Adds a new trade to the ring (ali_mu held); returns it. */
static struct ali_trade *trade_add(const char *out_trade_no, long long fen, const char *subject)
{
	struct ali_trade *t = xcalloc(sizeof(*t));

	str_copy(t->out_trade_no, out_trade_no, sizeof(t->out_trade_no));
	random_hex(t->qr_id);
	t->total_fen = fen;
	t->subject = xstrdup(subject);
	t->notify_url = xstrdup("");
	trade_free(trades[next]);
	trades[next] = t;
	next = (next + 1) % KEEP;
	return t;
}

/* alipay.trade.precreate: a QR code for the trade; the same one again for an unchanged repeat. */
static json_t *do_precreate(struct call *c)
{
	const char *otn = biz_str(c->biz, "out_trade_no"), *subject = biz_str(c->biz, "subject");
	const char *expire = biz_str(c->biz, "time_expire"), *notify = urlform_get(&c->params, "notify_url");
	long long fen, exp = 0;
	struct ali_trade *t;
	json_t *o;
	char url[PAY_QR_MAX];

	if (!id_ok(otn) || alipay_yuan_to_fen(biz_str(c->biz, "total_amount"), &fen) != 0 || fen < 1 ||
	    fen > MAX_AMOUNT_FEN || subject == NULL || subject[0] == '\0' || strlen(subject) > 256 ||
	    (expire != NULL && alipay_time_parse(expire, &exp) != 0))
		return answer("40002", "Invalid Arguments", "isv.invalid-parameter",
			      "out_trade_no、total_amount、subject 或 time_expire 不合法");
	if ((t = ali_find(otn)) != NULL) {
		ali_touch(t, 0);
		if (t->status == ALI_SUCCESS)
			return business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
		if (t->status == ALI_CLOSED)
			return business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
		if (t->total_fen != fen || strcmp(t->subject, subject) != 0)
			return business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改");
	} else {
		t = trade_add(otn, fen, subject);
	}
	t->expire_at = exp;
	free(t->notify_url);
	t->notify_url = xstrdup(notify != NULL ? notify : "");
	snprintf(url, sizeof(url), "%s/alipay/scan/%s", c->cfg->sim_url, t->qr_id);
	o = success();
	json_object_set_new(o, "out_trade_no", json_string(otn));
	json_object_set_new(o, "qr_code", json_string(url));
	return o;
}

/* Returns the trade the request's biz_content names (by out_trade_no or trade_no), known to Alipay
 * (scanned); NULL otherwise. */
static struct ali_trade *known_trade(struct call *c)
{
	const char *otn = biz_str(c->biz, "out_trade_no"), *tn = biz_str(c->biz, "trade_no");
	struct ali_trade *t = otn != NULL ? ali_find(otn) : NULL;

	for (int i = 0; t == NULL && tn != NULL && tn[0] != '\0' && i < KEEP; i++)
		if (trades[i] != NULL && strcmp(trades[i]->trade_no, tn) == 0)
			t = trades[i];
	if (t != NULL)
		ali_touch(t, 0);
	return t != NULL && t->status != ALI_PRECREATED ? t : NULL;
}

/* Adds the fields every answer about trade t carries. */
static void trade_fields(json_t *o, const struct ali_trade *t)
{
	if (t->trade_no[0] != '\0')
		json_object_set_new(o, "trade_no", json_string(t->trade_no));
	json_object_set_new(o, "out_trade_no", json_string(t->out_trade_no));
	if (t->buyer_logon_id[0] != '\0') {
		json_object_set_new(o, "buyer_logon_id", json_string(t->buyer_logon_id));
		json_object_set_new(o, "buyer_user_id", json_string(t->buyer_id));
	}
}

/* alipay.trade.query */
static json_t *do_query(struct call *c)
{
	struct ali_trade *t = known_trade(c);
	char yuan[32];
	json_t *o;
	int paid;

	if (t == NULL)
		return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
	paid = t->gmt_payment[0] != '\0';
	o = success();
	trade_fields(o, t);
	json_object_set_new(o, "trade_status", json_string(ali_status_name(t)));
	json_object_set_new(o, "total_amount", json_string(alipay_fen_to_yuan(t->total_fen, yuan)));
	json_object_set_new(o, "buyer_pay_amount", json_string(paid ? yuan : "0.00"));
	json_object_set_new(o, "receipt_amount", json_string(paid ? yuan : "0.00"));
	json_object_set_new(o, "point_amount", json_string("0.00"));
	json_object_set_new(o, "invoice_amount", json_string(paid ? yuan : "0.00"));
	if (paid)
		json_object_set_new(o, "send_pay_date", json_string(t->gmt_payment));
	return o;
}

/* alipay.trade.close: a trade scanned and not paid. */
static json_t *do_close(struct call *c)
{
	struct ali_trade *t = known_trade(c);
	json_t *o;

	if (t == NULL)
		return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
	if (t->status == ALI_SUCCESS)
		return business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
	if (t->status == ALI_CLOSED)
		return business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
	t->status = ALI_CLOSED;
	alipay_time_format((long long)time(NULL), t->gmt_close);
	o = success();
	trade_fields(o, t);
	return o;
}

/* The answer to refund request r of trade t; fund_change says whether this call moved money. */
static json_t *refund_answer(const struct ali_trade *t, const struct ali_refund *r, int fund_change)
{
	json_t *o = success();
	char yuan[32];

	trade_fields(o, t);
	json_object_set_new(o, "fund_change", json_string(fund_change ? "Y" : "N"));
	json_object_set_new(o, "refund_fee", json_string(alipay_fen_to_yuan(t->refunded_fen, yuan)));
	json_object_set_new(o, "gmt_refund_pay", json_string(r->gmt));
	return o;
}

/* alipay.trade.refund: of a paid trade, up to its total; a repeated out_request_no is answered again
 * (fund_change N) without moving money. */
static json_t *do_refund(struct call *c)
{
	struct ali_trade *t = known_trade(c);
	const char *req = biz_str(c->biz, "out_request_no");
	struct ali_refund *r;
	long long fen;

	if (req == NULL)
		req = biz_str(c->biz, "out_trade_no");
	if (!id_ok(req) || alipay_yuan_to_fen(biz_str(c->biz, "refund_amount"), &fen) != 0 || fen < 1)
		return answer("40002", "Invalid Arguments", "isv.invalid-parameter",
			      "refund_amount 或 out_request_no 不合法");
	if (t == NULL)
		return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
	for (int i = 0; i < t->nrefunds; i++)
		if (strcmp(t->refunds[i].out_request_no, req) == 0)
			return refund_answer(t, &t->refunds[i], 0);
	if (t->status == ALI_CLOSED)
		return business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭");
	if (t->status != ALI_SUCCESS)
		return business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
	if (t->refunded_fen + fen > t->total_fen)
		return business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限");
	if (t->nrefunds >= ALI_MAX_REFUNDS)
		return business("ACQ.REFUND_TIMES_LIMIT", "退款次数超限");
	r = &t->refunds[t->nrefunds++];
	str_copy(r->out_request_no, req, sizeof(r->out_request_no));
	r->fen = fen;
	alipay_time_format((long long)time(NULL), r->gmt);
	t->refunded_fen += fen;
	if (t->refunded_fen == t->total_fen) {
		t->status = ALI_CLOSED;
		str_copy(t->gmt_close, r->gmt, sizeof(t->gmt_close));
	}
	return refund_answer(t, r, 1);
}

/* alipay.trade.fastpay.refund.query: the refund out_request_no of a trade, or no data. */
static json_t *do_refund_query(struct call *c)
{
	struct ali_trade *t = known_trade(c);
	const char *req = biz_str(c->biz, "out_request_no");
	char yuan[32];
	json_t *o;

	if (t == NULL)
		return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
	o = success();
	trade_fields(o, t);
	for (int i = 0; req != NULL && i < t->nrefunds; i++)
		if (strcmp(t->refunds[i].out_request_no, req) == 0) {
			json_object_set_new(o, "out_request_no", json_string(req));
			json_object_set_new(o, "total_amount",
					    json_string(alipay_fen_to_yuan(t->total_fen, yuan)));
			json_object_set_new(o, "refund_amount",
					    json_string(alipay_fen_to_yuan(t->refunds[i].fen, yuan)));
			json_object_set_new(o, "refund_status", json_string("REFUND_SUCCESS"));
		}
	return o;
}

/* Returns the "<method>_response" name of method (dots as underscores) in out (96 bytes). */
static const char *response_name(const char *method, char *out)
{
	snprintf(out, 96, "%s_response", method);
	for (char *p = out; *p != '\0'; p++)
		if (*p == '.')
			*p = '_';
	return out;
}

/* Replies {"<name>":obj,"sign":...} (obj stolen), signing the exact text of obj unless it is about
 * the request itself (40001, 40002) or there is no key; bad_sig signs other bytes. */
static int reply(struct http_req *r, const struct config *cfg, const char *name, json_t *obj, int bad_sig)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER), *body, sig[RSASIG_B64_MAX] = "";
	const char *code = json_string_value(json_object_get(obj, "code"));
	const struct rsakey *k;
	int rc;

	pthread_mutex_lock(&ali_mu);
	k = ali_gateway_key(cfg);
	pthread_mutex_unlock(&ali_mu);
	if (k != NULL && strcmp(code, "40001") != 0 && strcmp(code, "40002") != 0) {
		if (bad_sig) {
			char *other = xasprintf("%s ", text);
			rsasig_sign(k, other, strlen(other), sig, sizeof(sig));
			free(other);
		} else {
			rsasig_sign(k, text, strlen(text), sig, sizeof(sig));
		}
	}
	body = sig[0] != '\0' ? xasprintf("{\"%s\":%s,\"sign\":\"%s\"}", name, text, sig)
			      : xasprintf("{\"%s\":%s}", name, text);
	rc = http_reply_bytes(r, 200, "application/json;charset=utf-8", body, strlen(body));
	free(body);
	free(text);
	json_decref(obj);
	return rc;
}

/* Collects the request's parameters: the form body, then the common ones in the query string. Returns
 * 0, or -1 when the body is not a form. */
static int gather(struct http_req *r, struct urlform *f)
{
	size_t len;
	const char *body = http_body(r, &len), *v;

	if (urlform_parse(body != NULL ? body : "", body != NULL ? len : 0, MAX_FIELDS, f) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(common_names) / sizeof(common_names[0]); i++)
		if (urlform_get(f, common_names[i]) == NULL && (v = http_query(r, common_names[i])) != NULL)
			urlform_add(f, common_names[i], v);
	return 0;
}

/* Checks the common parameters and the signature; returns NULL, or the error to answer. */
static json_t *check_common(struct call *c)
{
	const char *app = urlform_get(&c->params, "app_id"), *sign = urlform_get(&c->params, "sign");
	const char *type = urlform_get(&c->params, "sign_type"), *ts = urlform_get(&c->params, "timestamp");
	const char *charset = urlform_get(&c->params, "charset"),
		   *version = urlform_get(&c->params, "version");
	long long t;
	char *content;
	int ok;

	if (app == NULL || strcmp(app, c->cfg->alipay_app_id) != 0)
		return answer("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数");
	if (sign == NULL || sign[0] == '\0')
		return answer("40001", "Missing Required Arguments", "isv.missing-signature", "缺少签名参数");
	if (type == NULL || strcmp(type, "RSA2") != 0)
		return answer("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型");
	if (ts == NULL || alipay_time_parse(ts, &t) != 0 || llabs(t - (long long)time(NULL)) > MAX_SKEW_S)
		return answer("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数");
	if ((charset != NULL && strcmp(charset, "utf-8") != 0 && strcmp(charset, "UTF-8") != 0) ||
	    (version != NULL && strcmp(version, "1.0") != 0))
		return answer("40002", "Invalid Arguments", "isv.invalid-charset", "字符集或版本不合法");
	content = alipay_sign_content(&c->params, 0);
	pthread_mutex_lock(&ali_mu);
	ok = load_keys(c->cfg) == 0 && rsasig_verify(app_pub, content, strlen(content), sign);
	pthread_mutex_unlock(&ali_mu);
	free(content);
	if (!ok)
		return answer("40002", "Invalid Arguments", "isv.invalid-signature",
			      "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配");
	c->biz = json_loads(
		urlform_get(&c->params, "biz_content") != NULL ? urlform_get(&c->params, "biz_content") : "",
		JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(c->biz))
		return answer("40002", "Invalid Arguments", "isv.invalid-parameter",
			      "biz_content 不是 JSON 对象");
	return NULL;
}

/* Runs the method of c (ali_mu held); returns the answer. */
static json_t *dispatch(struct call *c)
{
	if (strcmp(c->method, "alipay.trade.precreate") == 0)
		return do_precreate(c);
	if (strcmp(c->method, "alipay.trade.query") == 0)
		return do_query(c);
	if (strcmp(c->method, "alipay.trade.close") == 0)
		return do_close(c);
	if (strcmp(c->method, "alipay.trade.refund") == 0)
		return do_refund(c);
	return do_refund_query(c);
}

/* Returns 1 when method is one this simulator answers. */
static int known_method(const char *method)
{
	static const char *const methods[] = {"alipay.trade.precreate", "alipay.trade.query",
					      "alipay.trade.close", "alipay.trade.refund",
					      "alipay.trade.fastpay.refund.query"};

	for (size_t i = 0; method != NULL && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i]) == 0)
			return 1;
	return 0;
}

int alipay_sim_gateway(struct http_req *r)
{
	struct call c = {.cfg = http_ctx(r)};
	size_t len;
	const char *body = http_body(r, &len);
	char name[96];
	int status, delay_ms, bad_sig, rc;
	char sub_code[64];
	json_t *a;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	pthread_mutex_lock(&ali_mu);
	status = fail.armed ? fail.status : 0;
	delay_ms = fail.armed ? fail.delay_ms : 0;
	bad_sig = fail.armed && fail.bad_signature;
	str_copy(sub_code, fail.armed ? fail.sub_code : "", sizeof(sub_code));
	fail.armed = 0;
	pthread_mutex_unlock(&ali_mu);
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000);
	if (status != 0)
		return http_reply_bytes(r, (unsigned)status, "text/html", "<html>error</html>", 18);
	if (gather(r, &c.params) != 0)
		return reply(r, c.cfg, "error_response",
			     answer("40002", "Invalid Arguments", "isv.invalid-parameter", "请求不是表单"),
			     0);
	c.method = urlform_get(&c.params, "method");
	if (!known_method(c.method)) {
		urlform_free(&c.params);
		return reply(r, c.cfg, "error_response",
			     answer("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名"), 0);
	}
	response_name(c.method, name);
	if ((a = check_common(&c)) == NULL) {
		pthread_mutex_lock(&ali_mu);
		a = sub_code[0] != '\0' ? business(sub_code, "模拟的故障") : dispatch(&c);
		pthread_mutex_unlock(&ali_mu);
	}
	rc = reply(r, c.cfg, name, a, bad_sig);
	json_decref(c.biz);
	urlform_free(&c.params);
	return rc;
}

/* Returns the test hooks' view of trade t. Call with ali_mu held. */
static json_t *trade_view(const struct config *cfg, const struct ali_trade *t)
{
	char yuan[32], refunded[32], url[PAY_QR_MAX];
	json_t *refunds = json_array();

	for (int i = 0; i < t->nrefunds; i++)
		json_array_append_new(refunds, json_pack("{s:s, s:s, s:s}", "out_request_no",
							 t->refunds[i].out_request_no, "refund_amount",
							 alipay_fen_to_yuan(t->refunds[i].fen, yuan),
							 "gmt_refund", t->refunds[i].gmt));
	snprintf(url, sizeof(url), "%s/alipay/scan/%s", cfg->sim_url, t->qr_id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:i, s:b, s:s}}",
			 "out_trade_no", t->out_trade_no, "qr_code", url, "trade_status", ali_status_name(t),
			 "trade_no", t->trade_no, "total_amount", alipay_fen_to_yuan(t->total_fen, yuan),
			 "subject", t->subject, "notify_url", t->notify_url, "notify_id", t->notify_id,
			 "gmt_payment", t->gmt_payment, "refund_fee",
			 alipay_fen_to_yuan(t->refunded_fen, refunded), "refunds", refunds, "notifications",
			 "attempts", t->deliveries, "delivered", t->delivered, "last_answer", t->last_answer);
}

int alipay_sim_pay(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	json_t *in = http_json_body(r), *view = NULL;
	char *body = NULL, url[1100] = "", otn[PAY_ID_MAX] = "";
	struct ali_trade *t;
	int notify, rc = 0;

	if (in == NULL)
		return 0;
	notify = !json_is_false(json_object_get(in, "notify"));
	json_decref(in);
	pthread_mutex_lock(&ali_mu);
	if ((t = ali_find(http_param(r, "out_trade_no"))) == NULL)
		rc = 404;
	else if (ali_pay(t) != 0)
		rc = 409;
	else {
		if (notify && t->notify_url[0] != '\0' &&
		    (body = ali_notification(cfg, t, "ok", t->notify_id)) != NULL) {
			str_copy(url, t->notify_url, sizeof(url));
			str_copy(otn, t->out_trade_no, sizeof(otn));
		}
		view = trade_view(cfg, t);
	}
	pthread_mutex_unlock(&ali_mu);
	if (rc == 404)
		return http_reply_error(r, 404, "not_found", "没有这笔交易（先调用 precreate）", NULL);
	if (rc == 409)
		return http_reply_error(r, 409, "conflict", "交易已支付或已关闭", NULL);
	if (body != NULL)
		ali_notify_enqueue(url, body, otn);
	return http_reply_json(r, 200, view);
}

/* Sends copies of body to url now; returns {"notify_id", "answers":[...]}. */
static json_t *send_copies(const char *url, const char *body, const char *notify_id, int copies)
{
	json_t *answers = json_array();

	for (int i = 0; i < copies; i++) {
		char *got = NULL;
		long status = ali_notify_post(url, body, &got);
		json_array_append_new(answers, json_pack("{s:i, s:s}", "status", (int)status, "body",
							 got != NULL ? got : ""));
		free(got);
	}
	return json_pack("{s:s, s:o}", "notify_id", notify_id, "answers", answers);
}

int alipay_sim_notify(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	json_t *in = http_json_body(r), *c;
	const char *variant;
	char *body = NULL, url[1100] = "", id[33];
	struct ali_trade *t;
	json_int_t copies = 1;
	int missing = 0;

	if (in == NULL)
		return 0;
	variant = json_string_value(json_object_get(in, "variant"));
	if ((c = json_object_get(in, "copies")) != NULL)
		copies = json_is_integer(c) ? json_integer_value(c) : 0;
	if (copies < 1 || copies > 1000) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request", "copies 须为 1-1000", "copies");
	}
	pthread_mutex_lock(&ali_mu);
	if ((t = ali_find(http_param(r, "out_trade_no"))) == NULL || t->notify_url[0] == '\0') {
		missing = 1;
	} else {
		if (t->notify_id[0] == '\0')
			random_hex(t->notify_id);
		if (variant != NULL && strcmp(variant, "ok") == 0)
			str_copy(id, t->notify_id, sizeof(id));
		else
			random_hex(id);
		body = ali_notification(cfg, t, variant != NULL ? variant : "ok", id);
		str_copy(url, t->notify_url, sizeof(url));
	}
	pthread_mutex_unlock(&ali_mu);
	json_decref(in);
	if (missing)
		return http_reply_error(r, 404, "not_found", "没有这笔交易，或它没有 notify_url", NULL);
	if (body == NULL)
		return http_reply_error(r, 400, "bad_request", "未知的 variant", "variant");
	c = send_copies(url, body, id, (int)copies);
	free(body);
	return http_reply_json(r, 200, c);
}

int alipay_sim_trades(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	json_t *items = json_array();

	pthread_mutex_lock(&ali_mu);
	for (int i = 0; i < KEEP; i++) {
		struct ali_trade *t = trades[(next + i) % KEEP];
		if (t != NULL) {
			ali_touch(t, 0);
			json_array_append_new(items, trade_view(cfg, t));
		}
	}
	pthread_mutex_unlock(&ali_mu);
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int alipay_sim_fail_next(struct http_req *r)
{
	json_t *in = http_json_body(r);
	json_int_t status, delay;
	const char *sub;

	if (in == NULL)
		return 0;
	status = json_integer_value(json_object_get(in, "status"));
	delay = json_integer_value(json_object_get(in, "delay_ms"));
	sub = json_string_value(json_object_get(in, "sub_code"));
	if ((status != 0 && (status < 400 || status > 599)) || delay < 0 || delay > 60000 ||
	    (sub != NULL && (sub[0] == '\0' || strlen(sub) >= sizeof(fail.sub_code)))) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request",
					"status 400-599，delay_ms 0-60000，sub_code 非空", NULL);
	}
	pthread_mutex_lock(&ali_mu);
	fail.armed = 1;
	fail.status = (int)status;
	fail.delay_ms = (int)delay;
	fail.bad_signature = json_is_true(json_object_get(in, "bad_reply_signature"));
	str_copy(fail.sub_code, sub, sizeof(fail.sub_code));
	pthread_mutex_unlock(&ali_mu);
	json_decref(in);
	return http_reply_json(r, 200, json_object());
}

/* Forgets every trade and an armed failure. */
static void forget(void)
{
	pthread_mutex_lock(&ali_mu);
	for (int i = 0; i < KEEP; i++) {
		trade_free(trades[i]);
		trades[i] = NULL;
	}
	memset(&fail, 0, sizeof(fail));
	pthread_mutex_unlock(&ali_mu);
}

int alipay_sim_clear(struct http_req *r)
{
	forget();
	ali_notify_clear();
	return http_reply_json(r, 200, json_object());
}

void alipay_sim_stop(void)
{
	ali_notify_stop();
	forget();
	pthread_mutex_lock(&ali_mu);
	rsakey_free(gateway_key);
	rsakey_free(app_pub);
	gateway_key = app_pub = NULL;
	pthread_mutex_unlock(&ali_mu);
}
