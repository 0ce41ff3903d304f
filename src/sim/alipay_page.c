/* The page a phone shows after scanning the simulator's QR code, instead of the Alipay app's
 * cashier: the amount and subject, 确认付款 (pays, then notifies notify_url) and 取消 (leaves the
 * trade waiting, as closing the app's cashier does). Plain HTML forms, no script. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "http/http.h"
#include "providers/alipay.h"
#include "sim/alipay.h"
#include "sim/alipay_int.h"
#include "sim/recorder.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* A growing text buffer. */
struct out {
	char *p;
	size_t len, cap;
};

/* Appends the string s to o. */
static void put(struct out *o, const char *s)
{
	size_t len = strlen(s);

	if (o->len + len + 1 > o->cap) {
		o->cap = (o->len + len + 1) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, len + 1);
	o->len += len;
}

/* Appends s to o with HTML's special characters escaped. */
static void put_html(struct out *o, const char *s)
{
	char one[2] = {0};

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			put(o, "&lt;");
			break;
		case '>':
			put(o, "&gt;");
			break;
		case '&':
			put(o, "&amp;");
			break;
		case '"':
			put(o, "&quot;");
			break;
		case '\'':
			put(o, "&#39;");
			break;
		default:
			one[0] = *s;
			put(o, one);
		}
	}
}

/* Replies with the page: the trusted HTML body inside the simulator's frame. */
static int page(struct http_req *r, unsigned status, const char *html_body)
{
	struct out o = {0};
	int rc;

	put(&o, "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>支付宝（模拟器）</title><style>"
		"body{font-family:sans-serif;margin:0;padding:24px;background:#f5f6f8;color:#222}"
		"h1{font-size:20px;color:#1677ff}.card{background:#fff;border-radius:12px;padding:20px;"
		"margin:16px 0}"
		".amount{font-size:36px;font-weight:bold;margin:8px 0}.subject{color:#555;font-size:16px}"
		"button{width:100%;font-size:20px;padding:16px;border:0;border-radius:10px;margin-top:12px}"
		".pay{background:#1677ff;color:#fff}.cancel{background:#e5e6eb;color:#333}"
		".note{color:#888;font-size:13px}</style></head><body><h1>支付宝（模拟器）</h1>");
	put(&o, html_body);
	put(&o, "<p class=\"note\">这是 certdesk-sim 模拟的支付宝收银台，不会真实扣款，仅供开发和测试。</p>"
		"</body></html>\n");
	http_add_header(r, "Cache-Control", "no-store");
	rc = http_reply_bytes(r, status, "text/html; charset=utf-8", o.p, o.len);
	free(o.p);
	return rc;
}

/* What the page shows of a trade, copied out under the lock. */
struct view {
	char qr_id[33], yuan[32], trade_no[33];
	char *subject;
	int status;
};

/* Copies the trade of qr_id (scanning it when scan) into v; returns 0, or -1 when unknown. */
static int lookup(const char *qr_id, int scan, struct view *v)
{
	struct ali_trade *t;

	pthread_mutex_lock(&ali_mu);
	if ((t = ali_find_qr(qr_id)) != NULL) {
		ali_touch(t, scan);
		str_copy(v->qr_id, t->qr_id, sizeof(v->qr_id));
		alipay_fen_to_yuan(t->total_fen, v->yuan);
		str_copy(v->trade_no, t->trade_no, sizeof(v->trade_no));
		v->subject = xstrdup(t->subject);
		v->status = t->status;
	}
	pthread_mutex_unlock(&ali_mu);
	return t != NULL ? 0 : -1;
}

/* Replies with the page for a trade that is no longer waiting (paid, or closed). */
static int settled(struct http_req *r, const struct view *v)
{
	struct out o = {0};
	int rc;

	if (v->status == ALI_SUCCESS) {
		put(&o, "<div class=\"card\"><p class=\"amount\">付款成功</p><p>￥");
		put(&o, v->yuan);
		put(&o, "</p><p class=\"note\">支付宝交易号 ");
		put_html(&o, v->trade_no);
		put(&o, "</p></div>");
	} else {
		put(&o, "<div class=\"card\"><p "
			"class=\"amount\">交易已关闭</p><p>请回到电脑端重新发起支付。</p></div>");
	}
	rc = page(r, v->status == ALI_SUCCESS ? 200 : 409, o.p);
	free(o.p);
	return rc;
}

int alipay_sim_scan_page(struct http_req *r)
{
	struct view v = {0};
	struct out o = {0};
	int rc;

	recorder_add(http_method(r), http_path(r), NULL, NULL, 0);
	if (lookup(http_param(r, "id"), 1, &v) != 0)
		return page(r, 404, "<div class=\"card\"><p>二维码无效或已过期。</p></div>");
	if (v.status != ALI_WAIT) {
		rc = settled(r, &v);
		free(v.subject);
		return rc;
	}
	put(&o, "<div class=\"card\"><p class=\"subject\">");
	put_html(&o, v.subject);
	put(&o, "</p><p class=\"amount\">￥");
	put(&o, v.yuan);
	put(&o, "</p></div><form method=\"post\" action=\"/alipay/scan/");
	put(&o, v.qr_id);
	put(&o, "/pay\"><button class=\"pay\" type=\"submit\">确认付款</button></form>"
		"<form method=\"post\" action=\"/alipay/scan/");
	put(&o, v.qr_id);
	put(&o, "/cancel\"><button class=\"cancel\" type=\"submit\">取消</button></form>");
	rc = page(r, 200, o.p);
	free(o.p);
	free(v.subject);
	return rc;
}

int alipay_sim_scan_pay(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	char *body = NULL, url[1100] = "", otn[PAY_ID_MAX] = "";
	struct ali_trade *t;
	struct view v = {0};
	int rc;

	recorder_add(http_method(r), http_path(r), NULL, NULL, 0);
	pthread_mutex_lock(&ali_mu);
	if ((t = ali_find_qr(http_param(r, "id"))) != NULL && ali_pay(t) == 0 && t->notify_url[0] != '\0' &&
	    (body = ali_notification(cfg, t, "ok", t->notify_id)) != NULL) {
		str_copy(url, t->notify_url, sizeof(url));
		str_copy(otn, t->out_trade_no, sizeof(otn));
	}
	pthread_mutex_unlock(&ali_mu);
	if (body != NULL)
		ali_notify_enqueue(url, body, otn);
	if (lookup(http_param(r, "id"), 0, &v) != 0)
		return page(r, 404, "<div class=\"card\"><p>二维码无效或已过期。</p></div>");
	rc = settled(r, &v);
	free(v.subject);
	return rc;
}

int alipay_sim_scan_cancel(struct http_req *r)
{
	recorder_add(http_method(r), http_path(r), NULL, NULL, 0);
	return page(r, 200,
		    "<div class=\"card\"><p class=\"amount\">已取消付款</p>"
		    "<p>可以重新扫码付款，或回到电脑端选择其他支付方式。</p></div>");
}
