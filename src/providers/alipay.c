/* Alipay OpenAPI face-to-face payment over libcurl: requests signed RSA2 with the application key,
 * replies checked over the raw text of their "..._response" object with Alipay's public key, and
 * the asynchronous notification checked over its sorted fields (rule "V1").
 *
 * Unsigned replies: Alipay (and its Java SDK, AbstractAlipayClient.checkResponseSign) signs every
 * successful reply but may leave an error reply unsigned (a request whose own signature or app_id
 * did not check, code 40002). We accept an unsigned reply only when it stays a failure for us
 * (PAY_RETRY / PAY_PERMANENT); an unsigned reply that would count as success (code 10000, or
 * ACQ.TRADE_NOT_EXIST that close and query treat as an answer) is PAY_FORGED. A reply that carries
 * a sign is always checked. */
#include "providers/alipay.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "providers/httpc.h"
#include "providers/rsasig.h"
#include "util/urlform.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define MAX_NOTIFY_FIELDS 64
#define MAX_AMOUNT_FEN 10000000000LL /* 100,000,000.00 yuan, Alipay's upper bound */
#define MAX_SUBJECT 256

struct alipay {
	const struct config *cfg;
	struct rsakey *app_key;    /* ours: signs requests */
	struct rsakey *alipay_pub; /* Alipay's: checks replies and notifications */
};

/* A checked reply: the "..._response" object and whether it was signed. */
struct reply {
	json_t *obj;
	const char *code, *sub_code; /* point into obj; "" when absent */
	int is_signed;
};

struct alipay *alipay_new(const struct config *cfg, char *err, size_t errlen)
{
	struct alipay *a;
	const char *g = cfg->alipay_gateway;

	if (g == NULL || (strncmp(g, "https://", 8) != 0 && strncmp(g, "http://", 7) != 0) ||
	    str_has_control(g)) {
		snprintf(err, errlen, "[alipay] gateway is not an http(s) URL");
		return NULL;
	}
	if (cfg->alipay_app_id == NULL || cfg->alipay_app_id[0] == '\0' || cfg->alipay_seller_id == NULL ||
	    cfg->alipay_seller_id[0] == '\0') {
		snprintf(err, errlen, "[alipay] app_id and seller_id are needed");
		return NULL;
	}
	a = xcalloc(sizeof(*a));
	a->cfg = cfg;
	if ((a->app_key = rsakey_load(cfg->alipay_app_key, 1, err, errlen)) == NULL ||
	    (a->alipay_pub = rsakey_load(cfg->alipay_public_key, 0, err, errlen)) == NULL) {
		alipay_free(a);
		return NULL;
	}
	return a;
}

void alipay_free(struct alipay *a)
{
	if (a == NULL)
		return;
	rsakey_free(a->app_key);
	rsakey_free(a->alipay_pub);
	free(a);
}

/* Copies s into dst (size bytes) without cutting a UTF-8 sequence or keeping control characters. */
static void copy_text(char *dst, const char *s, size_t size)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n + 1 < size; s++)
		dst[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	while (n > 0 && s != NULL && *s != '\0' && ((unsigned char)dst[n - 1] & 0x80) != 0) {
		/* drop a sequence the size limit cut */
		unsigned char c = (unsigned char)dst[--n];
		if ((c & 0xC0) == 0xC0)
			break;
	}
	dst[n] = '\0';
}

/* Returns 1 when s is 1..64 characters of [0-9A-Za-z_]. */
static int id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n < PAY_ID_MAX &&
	       strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") == n;
}

/* Returns 1 when s is non-empty UTF-8 of at most max bytes without control characters. */
static int text_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= max && utf8_chars(s) > 0 && !str_has_control(s);
}

/* Posts body to the gateway. Returns PAY_OK with the reply in *b (status 200), or PAY_RETRY /
 * PAY_PERMANENT with err. */
static int post(const struct alipay *a, const char *body, struct httpc_reply *b, char *err, size_t errlen)
{
	struct curl_slist *h =
		curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded;charset=utf-8");
	int rc = PAY_RETRY;
	char why[PAY_ERR_MAX];

	h = curl_slist_append(h, "Expect:");
	if (httpc_send("POST", a->cfg->alipay_gateway, h, body, a->cfg->alipay_timeout_s, ALIPAY_MAX_REPLY,
		       NULL, 0, b, why, sizeof(why)) != 0)
		snprintf(err, errlen, "%s%s", b->too_long ? "" : "transport: ", why);
	else if (b->status >= 500 || b->status == 429)
		snprintf(err, errlen, "HTTP status %ld", b->status);
	else if (b->status != 200) {
		snprintf(err, errlen, "HTTP status %ld", b->status);
		rc = PAY_PERMANENT;
	} else
		rc = PAY_OK;
	curl_slist_free_all(h);
	return rc;
}

/* Returns the request body for method with biz_content biz (and notify_url when not NULL), signed
 * with the application key; NULL when it cannot be signed. Caller frees. */
static char *request_body(const struct alipay *a, const char *method, const char *biz, const char *notify_url)
{
	struct urlform f = {0};
	char ts[20], *content, *body = NULL, sig[RSASIG_B64_MAX];

	urlform_add(&f, "app_id", a->cfg->alipay_app_id);
	urlform_add(&f, "method", method);
	urlform_add(&f, "format", "JSON");
	urlform_add(&f, "charset", "utf-8");
	urlform_add(&f, "sign_type", "RSA2");
	urlform_add(&f, "timestamp", alipay_time_format((long long)time(NULL), ts));
	urlform_add(&f, "version", "1.0");
	if (notify_url != NULL)
		urlform_add(&f, "notify_url", notify_url);
	urlform_add(&f, "biz_content", biz);
	content = alipay_sign_content(&f, 0);
	if (rsasig_sign(a->app_key, content, strlen(content), sig, sizeof(sig)) == 0) {
		urlform_add(&f, "sign", sig);
		body = urlform_encode(&f);
	}
	free(content);
	urlform_free(&f);
	return body;
}

/* Returns the string member name of o, or "". */
static const char *str_of(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s != NULL ? s : "";
}

/* Reads the gateway's reply to method: the "<method, dots as underscores>_response" object (or
 * "error_response"), its signature checked. Returns PAY_OK with *r, or PAY_RETRY / PAY_FORGED. */
static int read_reply(const struct alipay *a, const char *method, const struct httpc_reply *b,
		      struct reply *r, char *err, size_t errlen)
{
	char name[96], sign[RSASIG_B64_MAX];
	const char *obj;
	size_t objlen;

	snprintf(name, sizeof(name), "%s_response", method);
	for (char *p = name; *p != '\0'; p++)
		if (*p == '.')
			*p = '_';
	if (alipay_reply_extract(b->body, b->len, name, &obj, &objlen, sign, sizeof(sign)) != 0 &&
	    alipay_reply_extract(b->body, b->len, "error_response", &obj, &objlen, sign, sizeof(sign)) != 0) {
		snprintf(err, errlen, "%s: reply without %s", method, name);
		return PAY_RETRY;
	}
	if (sign[0] != '\0' && !rsasig_verify(a->alipay_pub, obj, objlen, sign)) {
		snprintf(err, errlen, "%s: reply signature does not verify", method);
		return PAY_FORGED;
	}
	r->obj = json_loadb(obj, objlen, JSON_REJECT_DUPLICATES, NULL);
	r->code = str_of(r->obj, "code");
	r->sub_code = str_of(r->obj, "sub_code");
	r->is_signed = sign[0] != '\0';
	if (strcmp(r->code, "10000") == 0 && !r->is_signed) {
		json_decref(r->obj);
		snprintf(err, errlen, "%s: successful reply without a signature", method);
		return PAY_FORGED;
	}
	return PAY_OK;
}

/* Calls method with biz (a JSON object, reference stolen). Returns PAY_OK with *r (json_decref
 * r->obj), or PAY_RETRY / PAY_PERMANENT / PAY_FORGED with err. */
static int call(const struct alipay *a, const char *method, json_t *biz, const char *notify_url,
		struct reply *r, char *err, size_t errlen)
{
	char *text = json_dumps(biz, JSON_COMPACT | JSON_PRESERVE_ORDER), *body;
	struct httpc_reply b = {0};
	int rc;

	json_decref(biz);
	body = text != NULL ? request_body(a, method, text, notify_url) : NULL;
	free(text);
	if (body == NULL) {
		snprintf(err, errlen, "%s: request cannot be signed", method);
		return PAY_PERMANENT;
	}
	rc = post(a, body, &b, err, errlen);
	if (rc == PAY_OK)
		rc = read_reply(a, method, &b, r, err, errlen);
	else if (strlen(err) + strlen(method) + 3 < errlen) {
		char tmp[PAY_ERR_MAX];
		snprintf(tmp, sizeof(tmp), "%s: %s", method, err);
		str_copy(err, tmp, errlen);
	}
	free(body);
	free(b.body);
	return rc;
}

/* Returns PAY_RETRY or PAY_PERMANENT for a failed reply, with "method: code sub_code (sub_msg)" in
 * err: the gateway unavailable (20000), a system error or an isp.* fault are worth retrying;
 * invalid or missing parameters and signatures (40001, 40002), permissions (20001, 40006) and
 * business refusals (40004) are not. */
static int failure(const char *method, const struct reply *r, char *err, size_t errlen)
{
	char msg[128];
	int retry = strcmp(r->code, "20000") == 0 || strcmp(r->sub_code, "ACQ.SYSTEM_ERROR") == 0 ||
		    strncmp(r->sub_code, "isp.", 4) == 0 ||
		    strncmp(r->sub_code, "aop.ACQ.SYSTEM_ERROR", 20) == 0 ||
		    (r->code[0] != '4' && strcmp(r->code, "20001") != 0);

	copy_text(msg, str_of(r->obj, r->sub_code[0] != '\0' ? "sub_msg" : "msg"), sizeof(msg));
	snprintf(err, errlen, "%s: %s %s (%s)%s", method, r->code[0] != '\0' ? r->code : "no code",
		 r->sub_code, msg, r->is_signed ? "" : " [unsigned]");
	return retry ? PAY_RETRY : PAY_PERMANENT;
}

/* Checks that the reply names out_trade_no (when it names one). Returns 0, or -1 with err. */
static int same_trade(const char *method, json_t *obj, const char *out_trade_no, char *err, size_t errlen)
{
	const char *o = str_of(obj, "out_trade_no");

	if (o[0] != '\0' && strcmp(o, out_trade_no) != 0) {
		snprintf(err, errlen, "%s: reply about another out_trade_no", method);
		return -1;
	}
	return 0;
}

int alipay_precreate(const struct alipay *a, const char *out_trade_no, long long amount_fen,
		     const char *subject, const char *notify_url, long long expire_at, char *qr_code,
		     size_t qrlen, char *err, size_t errlen)
{
	static const char *m = "alipay.trade.precreate";
	char yuan[32], expire[20];
	struct reply r;
	const char *qr;
	int rc;

	if (!id_ok(out_trade_no) || amount_fen <= 0 || amount_fen > MAX_AMOUNT_FEN ||
	    !text_ok(subject, MAX_SUBJECT) || !text_ok(notify_url, 1024) ||
	    expire_at <= (long long)time(NULL) ||
	    (strncmp(notify_url, "https://", 8) != 0 && strncmp(notify_url, "http://", 7) != 0)) {
		snprintf(err, errlen, "%s: invalid out_trade_no, amount, subject, notify_url or expiry", m);
		return PAY_PERMANENT;
	}
	rc = call(a, m,
		  json_pack("{s:s, s:s, s:s, s:s}", "out_trade_no", out_trade_no, "total_amount",
			    alipay_fen_to_yuan(amount_fen, yuan), "subject", subject, "time_expire",
			    alipay_time_format(expire_at, expire)),
		  notify_url, &r, err, errlen);
	if (rc != PAY_OK)
		return rc;
	if (strcmp(r.code, "10000") != 0)
		rc = failure(m, &r, err, errlen);
	else if (same_trade(m, r.obj, out_trade_no, err, errlen) != 0)
		rc = PAY_PERMANENT;
	else if ((qr = str_of(r.obj, "qr_code"))[0] == '\0' || strlen(qr) >= qrlen || str_has_control(qr)) {
		snprintf(err, errlen, "%s: reply without a usable qr_code", m);
		rc = PAY_PERMANENT;
	} else
		str_copy(qr_code, qr, qrlen);
	json_decref(r.obj);
	return rc;
}

/* Maps a trade_status to enum pay_state; paid tells TRADE_CLOSED after a payment apart. Returns -1
 * for an unknown status. */
static int state_of(const char *status, int paid)
{
	if (strcmp(status, "WAIT_BUYER_PAY") == 0)
		return PAY_ST_NOTPAY;
	if (strcmp(status, "TRADE_SUCCESS") == 0 || strcmp(status, "TRADE_FINISHED") == 0)
		return PAY_ST_PAID;
	if (strcmp(status, "TRADE_CLOSED") == 0)
		return paid ? PAY_ST_REFUNDED : PAY_ST_CLOSED;
	return -1;
}

/* Fills st->paid_at from a Beijing time stamp ("" stays ""). Returns 0, or -1 when it is bad. */
static int paid_at(struct pay_status *st, const char *beijing)
{
	long long t;

	st->paid_at[0] = '\0';
	if (beijing[0] == '\0')
		return 0;
	if (alipay_time_parse(beijing, &t) != 0)
		return -1;
	timefmt_rfc3339((time_t)t, st->paid_at);
	return 0;
}

/* Fills st from a successful query reply. Returns PAY_OK, or PAY_PERMANENT with err. */
static int query_fill(json_t *o, struct pay_status *st, char *err, size_t errlen)
{
	const char *pay_date = str_of(o, "send_pay_date"), *trade_no = str_of(o, "trade_no");
	int paid = pay_date[0] != '\0' || str_of(o, "refund_fee")[0] != '\0';
	int s = state_of(str_of(o, "trade_status"), paid);

	if (s < 0 || alipay_yuan_to_fen(str_of(o, "total_amount"), &st->amount_fen) != 0 ||
	    strlen(trade_no) >= PAY_ID_MAX || paid_at(st, pay_date) != 0) {
		snprintf(err, errlen,
			 "alipay.trade.query: reply with a bad trade_status, total_amount, "
			 "trade_no or send_pay_date");
		return PAY_PERMANENT;
	}
	st->state = s;
	str_copy(st->trade_no, trade_no, sizeof(st->trade_no));
	return PAY_OK;
}

int alipay_query(const struct alipay *a, const char *out_trade_no, struct pay_status *st, char *err,
		 size_t errlen)
{
	static const char *m = "alipay.trade.query";
	struct reply r;
	int rc;

	memset(st, 0, sizeof(*st));
	st->amount_fen = -1;
	if (!id_ok(out_trade_no)) {
		snprintf(err, errlen, "%s: invalid out_trade_no", m);
		return PAY_PERMANENT;
	}
	str_copy(st->out_trade_no, out_trade_no, sizeof(st->out_trade_no));
	rc = call(a, m, json_pack("{s:s}", "out_trade_no", out_trade_no), NULL, &r, err, errlen);
	if (rc != PAY_OK)
		return rc;
	if (strcmp(r.code, "10000") == 0) {
		rc = same_trade(m, r.obj, out_trade_no, err, errlen) != 0
			     ? PAY_PERMANENT
			     : query_fill(r.obj, st, err, errlen);
	} else if (strcmp(r.sub_code, "ACQ.TRADE_NOT_EXIST") == 0 && r.is_signed) {
		st->state = PAY_ST_UNKNOWN; /* not scanned yet */
	} else if (strcmp(r.sub_code, "ACQ.TRADE_NOT_EXIST") == 0) {
		snprintf(err, errlen, "%s: unsigned ACQ.TRADE_NOT_EXIST", m);
		rc = PAY_FORGED;
	} else {
		rc = failure(m, &r, err, errlen);
	}
	json_decref(r.obj);
	return rc;
}

int alipay_close(const struct alipay *a, const char *out_trade_no, char *err, size_t errlen)
{
	static const char *m = "alipay.trade.close";
	struct reply r;
	int rc;

	if (!id_ok(out_trade_no)) {
		snprintf(err, errlen, "%s: invalid out_trade_no", m);
		return PAY_PERMANENT;
	}
	rc = call(a, m, json_pack("{s:s}", "out_trade_no", out_trade_no), NULL, &r, err, errlen);
	if (rc != PAY_OK)
		return rc;
	/* never scanned or already closed: nothing (more) to close */
	if (strcmp(r.code, "10000") == 0 || (r.is_signed && (strcmp(r.sub_code, "ACQ.TRADE_NOT_EXIST") == 0 ||
							     strcmp(r.sub_code, "ACQ.TRADE_HAS_CLOSE") == 0)))
		rc = same_trade(m, r.obj, out_trade_no, err, errlen) != 0 ? PAY_PERMANENT : PAY_OK;
	else if (!r.is_signed && strcmp(r.sub_code, "ACQ.TRADE_NOT_EXIST") == 0) {
		snprintf(err, errlen, "%s: unsigned ACQ.TRADE_NOT_EXIST", m);
		rc = PAY_FORGED;
	} else
		rc = failure(m, &r, err, errlen);
	json_decref(r.obj);
	return rc;
}

/* After a refund reply with fund_change N (no money moved by that call: a repeat of a request
 * already done, or one still being processed) asks alipay.trade.fastpay.refund.query whether
 * out_request_no has been refunded, and for refund_fen. Returns PAY_OK, or PAY_RETRY (not done
 * yet) / PAY_PERMANENT (done for another amount) / PAY_FORGED with err. */
static int refund_confirm(const struct alipay *a, const char *out_trade_no, const char *out_request_no,
			  long long refund_fen, char *err, size_t errlen)
{
	static const char *m = "alipay.trade.fastpay.refund.query";
	const char *amount, *status;
	long long fen;
	struct reply r;
	int rc;

	rc = call(a, m,
		  json_pack("{s:s, s:s}", "out_trade_no", out_trade_no, "out_request_no", out_request_no),
		  NULL, &r, err, errlen);
	if (rc != PAY_OK)
		return rc;
	amount = str_of(r.obj, "refund_amount");
	status = str_of(r.obj, "refund_status");
	if (strcmp(r.code, "10000") != 0) {
		rc = failure(m, &r, err, errlen);
	} else if (same_trade(m, r.obj, out_trade_no, err, errlen) != 0) {
		rc = PAY_PERMANENT;
	} else if (amount[0] == '\0' || (status[0] != '\0' && strcmp(status, "REFUND_SUCCESS") != 0)) {
		/* Alipay: no data, or another refund_status, means not refunded (yet) */
		snprintf(err, errlen, "%s: refund %s not done yet", m, out_request_no);
		rc = PAY_RETRY;
	} else if (alipay_yuan_to_fen(amount, &fen) != 0 || fen != refund_fen) {
		snprintf(err, errlen, "%s: refund %s was made for another amount (%.20s)", m, out_request_no,
			 amount);
		rc = PAY_PERMANENT;
	}
	json_decref(r.obj);
	return rc;
}

int alipay_refund(const struct alipay *a, const char *out_trade_no, const char *out_request_no,
		  long long refund_fen, const char *reason, char *refund_id, char *err, size_t errlen)
{
	static const char *m = "alipay.trade.refund";
	char yuan[32];
	struct reply r;
	json_t *biz;
	int rc;

	refund_id[0] = '\0';
	if (!id_ok(out_trade_no) || !id_ok(out_request_no) || refund_fen <= 0 ||
	    refund_fen > MAX_AMOUNT_FEN ||
	    (reason != NULL && reason[0] != '\0' && !text_ok(reason, MAX_SUBJECT))) {
		snprintf(err, errlen, "%s: invalid out_trade_no, out_request_no, amount or reason", m);
		return PAY_PERMANENT;
	}
	biz = json_pack("{s:s, s:s, s:s}", "out_trade_no", out_trade_no, "refund_amount",
			alipay_fen_to_yuan(refund_fen, yuan), "out_request_no", out_request_no);
	if (reason != NULL && reason[0] != '\0')
		json_object_set_new(biz, "refund_reason", json_string(reason));
	if ((rc = call(a, m, biz, NULL, &r, err, errlen)) != PAY_OK)
		return rc;
	if (strcmp(r.code, "10000") != 0)
		rc = failure(m, &r, err, errlen);
	else if (same_trade(m, r.obj, out_trade_no, err, errlen) != 0 ||
		 strlen(str_of(r.obj, "trade_no")) >= PAY_ID_MAX) {
		rc = PAY_PERMANENT;
	} else if (strcmp(str_of(r.obj, "fund_change"), "Y") != 0)
		rc = refund_confirm(a, out_trade_no, out_request_no, refund_fen, err, errlen);
	if (rc == PAY_OK)
		str_copy(refund_id, str_of(r.obj, "trade_no"), PAY_ID_MAX);
	json_decref(r.obj);
	return rc;
}

/* Checks the notification's signature, app and seller. Returns PAY_OK, or PAY_FORGED with err. */
static int notification_check(const struct alipay *a, const struct urlform *f, char *err, size_t errlen)
{
	const char *sign = urlform_get(f, "sign"), *type = urlform_get(f, "sign_type");
	const char *app = urlform_get(f, "app_id"), *seller = urlform_get(f, "seller_id");
	char *content;
	int ok;

	if (sign == NULL || sign[0] == '\0' || (type != NULL && strcmp(type, "RSA2") != 0)) {
		snprintf(err, errlen, "notification: no sign, or sign_type is not RSA2");
		return PAY_FORGED;
	}
	content = alipay_sign_content(f, 1);
	ok = rsasig_verify(a->alipay_pub, content, strlen(content), sign);
	free(content);
	if (!ok) {
		snprintf(err, errlen, "notification: signature does not verify");
		return PAY_FORGED;
	}
	if (app == NULL || strcmp(app, a->cfg->alipay_app_id) != 0) {
		snprintf(err, errlen, "notification: for another app_id");
		return PAY_FORGED;
	}
	if (seller == NULL || strcmp(seller, a->cfg->alipay_seller_id) != 0) {
		snprintf(err, errlen, "notification: for another seller_id");
		return PAY_FORGED;
	}
	return PAY_OK;
}

/* Fills st from a checked notification. Returns PAY_OK, or PAY_PERMANENT with err. */
static int notification_fill(const struct urlform *f, struct pay_status *st, char *err, size_t errlen)
{
	const char *type = urlform_get(f, "notify_type"), *id = urlform_get(f, "notify_id");
	const char *otn = urlform_get(f, "out_trade_no"), *tn = urlform_get(f, "trade_no");
	const char *status = urlform_get(f, "trade_status"), *charset = urlform_get(f, "charset");
	const char *pay = urlform_get(f, "gmt_payment");
	int s = status != NULL ? state_of(status, pay != NULL && pay[0] != '\0') : -1;

	for (size_t i = 0; i < f->n; i++)
		if (utf8_chars(f->f[i].value) < 0) {
			snprintf(err, errlen, "notification: a value that is not UTF-8");
			return PAY_PERMANENT;
		}
	if ((charset != NULL && strcasecmp(charset, "utf-8") != 0) || type == NULL ||
	    strcmp(type, "trade_status_sync") != 0 || s < 0 || id == NULL || id[0] == '\0' ||
	    strlen(id) >= PAY_ID_MAX || !id_ok(otn) || (tn != NULL && strlen(tn) >= PAY_ID_MAX) ||
	    alipay_yuan_to_fen(urlform_get(f, "total_amount"), &st->amount_fen) != 0 ||
	    paid_at(st, pay != NULL ? pay : "") != 0) {
		snprintf(err, errlen, "notification: not a trade_status_sync of the expected shape");
		st->amount_fen = -1;
		return PAY_PERMANENT;
	}
	st->state = s;
	str_copy(st->out_trade_no, otn, sizeof(st->out_trade_no));
	str_copy(st->trade_no, tn, sizeof(st->trade_no));
	str_copy(st->event_id, id, sizeof(st->event_id));
	return PAY_OK;
}

int alipay_notification(const struct alipay *a, const char *body, size_t len, struct pay_status *st,
			char *err, size_t errlen)
{
	struct urlform f;
	int rc;

	memset(st, 0, sizeof(*st));
	st->amount_fen = -1;
	if (body == NULL || urlform_parse(body, len, MAX_NOTIFY_FIELDS, &f) != 0) {
		snprintf(err, errlen, "notification: not a form body");
		return PAY_PERMANENT;
	}
	rc = notification_check(a, &f, err, errlen);
	if (rc == PAY_OK)
		rc = notification_fill(&f, st, err, errlen);
	if (rc != PAY_OK) {
		memset(st, 0, sizeof(*st));
		st->amount_fen = -1;
	}
	urlform_free(&f);
	return rc;
}
