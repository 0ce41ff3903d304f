/* The simulated FaceID H5 page: what the legal representative's phone shows instead of Tencent's
 * liveness check. Plain HTML forms, no script: 模拟核验通过 / 模拟核验失败 (with a reason), then a
 * 302 back to the RedirectUrl with BizToken=... as Tencent does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "sim/faceid.h"
#include "sim/recorder.h"
#include "util/strnum.h"
#include "util/urlform.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* A growing text buffer. */
struct out {
	char *p;
	size_t len, cap;
};

/* Appends len bytes of s to o. */
static void put(struct out *o, const char *s, size_t len)
{
	if (o->len + len + 1 > o->cap) {
		o->cap = (o->len + len + 1) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, len);
	o->len += len;
	o->p[o->len] = '\0';
}

/* Appends the string s to o. */
static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Appends s to o with HTML's special characters escaped. */
static void put_html(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			puts_(o, "&lt;");
			break;
		case '>':
			puts_(o, "&gt;");
			break;
		case '&':
			puts_(o, "&amp;");
			break;
		case '"':
			puts_(o, "&quot;");
			break;
		case '\'':
			puts_(o, "&#39;");
			break;
		default:
			put(o, s, 1);
		}
	}
}

/* Appends the name with every character but the first masked: 张三 -> 张*. */
static void put_masked_name(struct out *o, const char *name)
{
	size_t first = 1;

	if (name[0] == '\0') {
		puts_(o, "（未提供）");
		return;
	}
	while (name[first] != '\0' && ((unsigned char)name[first] & 0xC0) == 0x80)
		first++;
	char *head = xstrndup(name, first);
	put_html(o, head);
	free(head);
	for (const char *p = name + first; *p != '\0'; p++)
		if (((unsigned char)*p & 0xC0) != 0x80)
			puts_(o, "*");
}

/* Appends the ID number with all but the first 3 and last 4 characters masked. */
static void put_masked_id(struct out *o, const char *id)
{
	size_t n = strlen(id);

	if (n < 8) {
		puts_(o, n == 0 ? "（未提供）" : "****");
		return;
	}
	char *shown = xasprintf("%.3s%.*s%s", id, (int)(n - 7), "**************************", id + n - 4);
	put_html(o, shown);
	free(shown);
}

/* Replies with a small page: title and a message (both trusted text). */
static int reply_page(struct http_req *r, unsigned status, const char *title, const char *html_body)
{
	struct out o = {0};
	int rc;

	puts_(&o, "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	puts_(&o, title);
	puts_(&o,
	      "</"
	      "title><style>body{font-family:sans-serif;margin:0;padding:24px;background:#f5f6f8;color:#222}"
	      "h1{font-size:22px}.card{background:#fff;border-radius:12px;padding:20px;margin:16px 0}"
	      "dt{color:#888;font-size:14px}dd{margin:4px 0 12px;font-size:20px}"
	      "button{width:100%;font-size:20px;padding:16px;border:0;border-radius:10px;color:#fff;margin-"
	      "top:12px}"
	      ".pass{background:#1a9e5c}.fail{background:#d0343f}"
	      "select{width:100%;font-size:18px;padding:10px}.note{color:#888;font-size:13px}</style></"
	      "head><body>");
	puts_(&o, html_body);
	puts_(&o, "</body></html>\n");
	http_add_header(r, "Cache-Control", "no-store");
	rc = http_reply_bytes(r, status, "text/html; charset=utf-8", o.p, o.len);
	free(o.p);
	return rc;
}

/* Appends the two forms for token. */
static void put_forms(struct out *o, const char *token)
{
	puts_(o, "<form method=\"post\" action=\"/faceid/h5/decide\"><input type=\"hidden\" name=\"token\" "
		 "value=\"");
	put_html(o, token);
	puts_(o, "\"><input type=\"hidden\" name=\"result\" value=\"pass\">"
		 "<button class=\"pass\" type=\"submit\">模拟核验通过</button></form>");
	puts_(o, "<form method=\"post\" action=\"/faceid/h5/decide\" class=\"card\"><input type=\"hidden\" "
		 "name=\"token\" value=\"");
	put_html(o, token);
	puts_(o, "\"><input type=\"hidden\" name=\"result\" value=\"fail\"><label "
		 "for=\"err_code\">失败原因</label>"
		 "<select id=\"err_code\" name=\"err_code\">");
	for (int i = 0; i < faceid_nfailures; i++) {
		char opt[320];
		snprintf(opt, sizeof(opt), "<option value=\"%d\">%d %s</option>", faceid_failures[i].code,
			 faceid_failures[i].code, faceid_failures[i].msg);
		puts_(o, opt);
	}
	puts_(o, "</select><button class=\"fail\" type=\"submit\">模拟核验失败</button></form>");
}

int faceid_h5_page(struct http_req *r)
{
	const char *token = http_query(r, "token");
	struct faceid_view v;
	struct out o = {0};
	int rc;

	recorder_add(http_method(r), http_path(r), NULL, NULL, 0);
	if (token == NULL || faceid_lookup(token, &v) != 0)
		return reply_page(r, 404, "核验链接无效",
				  "<h1>核验链接无效或已过期</h1><p>请回到电脑端重新发起人脸核验。</p>");
	if (v.decided)
		return reply_page(r, 409, "核验已完成",
				  "<h1>本次核验已完成</h1><p>请回到电脑端查看结果。</p>");
	puts_(&o, "<h1>人脸核验（模拟器）</h1><p class=\"note\">这是 certdesk-sim 模拟的腾讯云慧眼 H5 页面，"
		  "不做真实的活体检测，仅供开发和测试。</p><div class=\"card\"><dl><dt>姓名</dt><dd>");
	put_masked_name(&o, v.name);
	puts_(&o, "</dd><dt>身份证号</dt><dd>");
	put_masked_id(&o, v.id_card);
	puts_(&o, "</dd></dl></div>");
	put_forms(&o, token);
	rc = reply_page(r, 200, "人脸核验（模拟器）", o.p);
	free(o.p);
	return rc;
}

/* Copies the value of field name of the form f into out (len bytes). Returns 0, or -1 when absent or
 * too long. */
static int form_field(const struct urlform *f, const char *name, char *out, size_t len)
{
	const char *v = urlform_get(f, name);

	if (v == NULL || strlen(v) >= len)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* Writes into loc (len bytes) redirect with BizToken=token added to its query (before any
 * fragment). Returns 0, or -1 when it does not fit. */
static int add_biz_token(const char *redirect, const char *token, char *loc, size_t len)
{
	size_t base = strcspn(redirect, "#");
	const char *sep = memchr(redirect, '?', base) != NULL ? "&" : "?";
	int n = snprintf(loc, len, "%.*s%sBizToken=%s%s", (int)base, redirect, sep, token, redirect + base);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

int faceid_h5_decide(struct http_req *r)
{
	size_t len;
	const char *body = http_body(r, &len);
	char token[64], result[8], code_s[16], loc[1200];
	struct faceid_view v;
	int64_t code = 0;
	int rc;

	struct urlform f = {0};
	int bad;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	bad = body == NULL || urlform_parse(body, len, 16, &f) != 0 ||
	      form_field(&f, "token", token, sizeof(token)) != 0 ||
	      form_field(&f, "result", result, sizeof(result)) != 0 ||
	      (strcmp(result, "pass") != 0 && strcmp(result, "fail") != 0) ||
	      (strcmp(result, "fail") == 0 && (form_field(&f, "err_code", code_s, sizeof(code_s)) != 0 ||
					       strnum_parse(code_s, 1, 99999, &code) != 0));
	urlform_free(&f);
	if (bad)
		return reply_page(r, 400, "请求无效", "<h1>请求无效</h1>");
	rc = faceid_decide(token, (long)code, NULL, NULL, 0);
	if (rc == -1 || faceid_lookup(token, &v) != 0)
		return reply_page(r, 404, "核验链接无效", "<h1>核验链接无效或已过期</h1>");
	if (rc == -2)
		return reply_page(r, 409, "核验已完成", "<h1>本次核验已完成，不能重复提交</h1>");
	if (v.redirect_url[0] == '\0' || add_biz_token(v.redirect_url, token, loc, sizeof(loc)) != 0)
		return reply_page(r, 200, "核验已完成", "<h1>核验已完成</h1><p>请回到电脑端查看结果。</p>");
	http_add_header(r, "Location", loc);
	return reply_page(r, 302, "核验已完成", "<h1>核验已完成</h1><p>正在返回……</p>");
}
