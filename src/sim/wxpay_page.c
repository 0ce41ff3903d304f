/* The simulated WeChat Pay scan page: what a tester's phone shows after scanning the code_url QR
 * (<sim_url>/wxpay/scan/<pr>) instead of WeChat's payment sheet. Plain HTML forms, no script:
 * 确认支付 pays the order and notifies the merchant in the background; 不付款/关闭 leaves it unpaid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "sim/recorder.h"
#include "sim/wxpay.h"
#include "util/xalloc.h"

/* Appends s to the string *o (reallocated) with HTML's special characters escaped. */
static void put_html(char **o, const char *s)
{
	size_t len = strlen(*o), cap = len + strlen(s) * 6 + 1;
	char *p;

	*o = xrealloc(*o, cap);
	p = *o + len;
	for (; *s != '\0'; s++) {
		const char *e = *s == '<'    ? "&lt;"
				: *s == '>'  ? "&gt;"
				: *s == '&'  ? "&amp;"
				: *s == '"'  ? "&quot;"
				: *s == '\'' ? "&#39;"
					     : NULL;
		if (e != NULL) {
			memcpy(p, e, strlen(e));
			p += strlen(e);
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
}

/* Appends the trusted text s to *o. */
static void put(char **o, const char *s)
{
	size_t len = strlen(*o);

	*o = xrealloc(*o, len + strlen(s) + 1);
	memcpy(*o + len, s, strlen(s) + 1);
}

/* Replies with the page: title (trusted) and the HTML body (built by the caller). */
static int reply_page(struct http_req *r, unsigned status, const char *title, const char *body)
{
	char *o = xstrdup("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
			  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");

	put(&o, title);
	put(&o, "</title><style>body{font-family:sans-serif;margin:0;padding:24px;background:#ededed;"
		"color:#111;text-align:center}.sim{color:#888;font-size:13px}.card{background:#fff;"
		"border-radius:12px;padding:24px 16px;margin:16px 0}.amount{font-size:40px;font-weight:600;"
		"margin:12px 0}button{width:100%;font-size:18px;padding:14px;border:0;border-radius:8px;"
		"margin-top:12px}.pay{background:#07c160;color:#fff}.no{background:#f2f2f2;color:#333}"
		"</style></head><body><p class=\"sim\">微信支付（模拟器）· 测试用，不会真的扣款</p>");
	put(&o, body);
	put(&o, "</body></html>\n");
	http_add_header(r, "Cache-Control", "no-store");
	http_reply_bytes(r, status, "text/html; charset=utf-8", o, strlen(o));
	free(o);
	return 0;
}

/* Replies with the card of order o (amount, description) followed by the trusted HTML tail. */
static int order_page(struct http_req *r, unsigned status, const json_t *o, const char *tail)
{
	char amount[64],
		*b = xstrdup("<div class=\"card\"><div>certdesk（模拟商户）</div><div class=\"amount\">");
	json_int_t fen = json_integer_value(json_object_get(o, "total"));
	int rc;

	snprintf(amount, sizeof(amount), "¥%lld.%02lld", (long long)(fen / 100), (long long)(fen % 100));
	put(&b, amount);
	put(&b, "</div><div>");
	put_html(&b, json_string_value(json_object_get(o, "description")));
	put(&b, "</div></div>");
	put(&b, tail);
	rc = reply_page(r, status, "微信支付（模拟器）", b);
	free(b);
	return rc;
}

/* Returns the order of the page's pr, or replies 404 and returns NULL. */
static json_t *page_order(struct http_req *r)
{
	json_t *o = wxsim_order_get(http_param(r, "pr"), 1);

	recorder_add(http_method(r), http_path(r), NULL, NULL, 0);
	if (o == NULL)
		reply_page(r, 404, "二维码无效", "<h1>二维码无效</h1><p>没有找到这笔订单。</p>");
	return o;
}

int wxpay_sim_page(struct http_req *r)
{
	json_t *o = page_order(r);
	const char *st;
	char *tail;

	if (o == NULL)
		return 0;
	st = json_string_value(json_object_get(o, "trade_state"));
	json_int_t exp = json_integer_value(json_object_get(o, "expire_at"));
	if (strcmp(st, "SUCCESS") == 0 || strcmp(st, "REFUND") == 0)
		order_page(r, 409, o, "<h1>该订单已支付</h1>");
	else if (strcmp(st, "CLOSED") == 0)
		order_page(r, 409, o, "<h1>订单已关闭</h1><p>请回到电脑端重新下单。</p>");
	else if (exp != 0 && exp <= (json_int_t)time(NULL))
		order_page(r, 409, o, "<h1>二维码已过期</h1><p>请回到电脑端刷新二维码。</p>");
	else {
		tail = xasprintf(
			"<form method=\"post\" action=\"/wxpay/scan/%s/pay\"><button class=\"pay\" "
			"type=\"submit\">确认支付</button></form><form method=\"post\" "
			"action=\"/wxpay/scan/%s/cancel\"><button class=\"no\" type=\"submit\">不付款/关闭"
			"</button></form>",
			json_string_value(json_object_get(o, "pr")),
			json_string_value(json_object_get(o, "pr")));
		order_page(r, 200, o, tail);
		free(tail);
	}
	json_decref(o);
	return 0;
}

int wxpay_sim_page_pay(struct http_req *r)
{
	json_t *o = page_order(r), *paid = NULL;
	int rc;

	if (o == NULL)
		return 0;
	rc = wxsim_order_pay(json_string_value(json_object_get(o, "out_trade_no")), &paid);
	if (rc == WXSIM_PAID) {
		order_page(r, 200, paid,
			   "<h1>支付成功</h1><p>商户会收到支付结果通知，可回到电脑端查看。</p>");
		wxsim_notify_background(http_ctx(r), paid);
	} else {
		order_page(r, 409, o,
			   rc == WXSIM_EXPIRED ? "<h1>二维码已过期</h1><p>请回到电脑端刷新二维码。</p>"
					       : "<h1>不能支付</h1><p>订单已支付或已关闭。</p>");
	}
	json_decref(o);
	return 0;
}

int wxpay_sim_page_cancel(struct http_req *r)
{
	json_t *o = page_order(r);

	if (o == NULL)
		return 0;
	order_page(r, 200, o, "<h1>已取消支付</h1><p>订单仍待支付，可重新扫码。</p>");
	json_decref(o);
	return 0;
}
