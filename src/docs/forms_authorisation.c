/* 法人授权委托书: the legal person authorises the handler; its QR code leads the legal person to the
 * face verification that must succeed before the application can be submitted. */
#define FORMS_INTERNAL
#include "docs/forms.h"

#define QR_SIZE 32.0
#define SIGN_X 100.0

/* Appends s underlined as a filled-in value, or a writing line of width full-width low lines. */
static void put_value(GString *g, const char *s, int width)
{
	if (s == NULL || s[0] == '\0') {
		for (int i = 0; i < width; i++)
			g_string_append(g, "＿");
		return;
	}
	char *e = forms_esc(s);
	g_string_append_printf(g, "<u>\u2002%s\u2002</u>", e);
	g_free(e);
}

/* Draws the callout beside the QR code telling the legal person what to do with it. */
static void callout(struct form *f)
{
	const double x = 84.0, y = 14.0, w = 62.0, h = 28.0;

	forms_rect(f, x, y, w, h, 0.95, 0.4, 0);
	forms_text(f, x + 3, y + 2.2, w - 6, 6, (struct forms_style){.pt = 10.5, .bold = 1},
		   "法人核验（刷脸）");
	forms_text(f, x + 3, y + 8.8, w - 6, h - 10.5, (struct forms_style){.pt = 9, .spacing = 1.25},
		   "法定代表人请使用手机扫描二维码完成刷脸核验（认证成功后方可提交申请）");
	/* an arrow to the QR code */
	cairo_move_to(f->cr, x + w + 0.8, y + h / 2 - 2.2);
	cairo_line_to(f->cr, x + w + 4.2, y + h / 2);
	cairo_line_to(f->cr, x + w + 0.8, y + h / 2 + 2.2);
	cairo_close_path(f->cr);
	cairo_set_source_rgb(f->cr, 0, 0, 0);
	cairo_fill(f->cr);
}

/* Draws the letter's text from y; returns the y below it. */
static double body(struct form *f, double y)
{
	const struct order_doc *d = f->d;
	const struct forms_style st = {
		.family = FORMS_SERIF, .pt = 12, .min_pt = 8, .spacing = 1.75, .markup = 1};
	GString *g = g_string_new("\u3000\u3000兹委托");
	double h;

	put_value(g, d->handler_name, 5);
	g_string_append(g, "（身份证号：");
	put_value(g, d->handler_id_number, 10);
	g_string_append(g, "）作为我单位经办人，代表我单位");
	put_value(g, d->unit_name, 12);
	g_string_append(g, "（统一社会信用代码：");
	put_value(g, d->uscc, 10);
	g_string_append(g, "）向江西CA办理");
	put_value(g, d->project_name, 10);
	g_string_append(g, "数字证书（");
	put_value(g, d->key_type_label, 6);
	g_string_append(g,
			"）新办业务，包括填写并提交申请资料、核对订单信息、缴纳费用及签收数字证书等相关事宜。"
			"经办人在办理上述事项过程中所签署的文件和所作的说明，我单位均予以承认，"
			"并承担相应的法律责任。经办人无转委托权。\n"
			"\u3000\u3000委托期限：自＿＿＿＿年＿＿月＿＿日至＿＿＿＿年＿＿月＿＿日。\n"
			"\u3000\u3000特此委托。");
	forms_text(f, FORMS_LEFT, y, FORMS_WIDTH, 8, (struct forms_style){.family = FORMS_SERIF, .pt = 12},
		   "江西CA：");
	h = forms_text(f, FORMS_LEFT, y + 9, FORMS_WIDTH, 84, st, g->str);
	g_string_free(g, TRUE);
	return y + 9 + h;
}

/* Draws the seal boxes and the lines the unit and the legal person sign on, from y. */
static double signatures(struct form *f, double y)
{
	const struct forms_style lab = {.family = FORMS_SERIF, .pt = 11.5, .bold = 1};
	const struct forms_style val = {.family = FORMS_SERIF, .pt = 11.5, .min_pt = 7, .spacing = 1.1};
	const struct forms_style faint = {.pt = 7.5, .align = FA_CENTER, .vcenter = 1, .gray = 0.7};
	const double top = y;
	double h;

	forms_rect(f, FORMS_LEFT, y, 42, 42, -1, 0.3, 1);
	forms_text(f, FORMS_LEFT, y, 42, 42, faint, "委托单位公章\n（原章）");
	forms_rect(f, FORMS_LEFT + 47, y + 17, 25, 25, -1, 0.3, 1);
	forms_text(f, FORMS_LEFT + 47, y + 17, 25, 25, faint, "法定代表人章\n或签字");

	forms_text(f, SIGN_X, y + 1, 40, 7, lab, "委托单位（盖章）：");
	h = forms_text(f, SIGN_X + 38, y + 1, FORMS_RIGHT - SIGN_X - 38, 13, val, f->d->unit_name);
	y += h > 7 ? h - 7 : 0; /* a unit name on two lines pushes the rest down */
	forms_line(f, SIGN_X + 38, y + 8.5, FORMS_RIGHT, y + 8.5, 0.3);
	forms_text(f, SIGN_X, y + 16, 60, 7, lab, "法定代表人（签字或盖章）：");
	forms_text(f, SIGN_X + 56, y + 16, FORMS_RIGHT - SIGN_X - 56, 7, val, f->d->legal_name);
	forms_line(f, SIGN_X + 56, y + 23.5, FORMS_RIGHT, y + 23.5, 0.3);
	forms_text(f, SIGN_X, y + 31, 80, 7, lab, "日期：＿＿＿＿年＿＿月＿＿日");
	return y + 40 > top + 44 ? y + 40 : top + 44;
}

/* Draws the numbered notes on filling in, stamping and verifying, from y down to the footer. */
static void notes(struct form *f, double y)
{
	char date[40];
	char *o = forms_esc(f->d->order_no);
	char *t;

	forms_date_cn(f->d->created_at, date, sizeof(date));
	t = g_strdup_printf(
		"<b>填写说明</b>\n"
		"1. 请将委托期限填写完整，有效期尽量长一些；打印后加盖单位公章原章，"
		"并加盖法定代表人章原章或由法定代表人亲笔签名。\n"
		"2. 右上角二维码已绑定本订单（订单编号：%s%s%s），须由法定代表人本人扫码刷脸核验；"
		"核验结果显示“认证成功”后，方可上传资料、提交申请。\n"
		"3. 订单删除后重新申请的，须重新下载本委托书并再次进行法人核验。",
		o[0] ? o : "＿＿＿＿＿＿＿＿", date[0] ? "，订单日期：" : "", date);
	forms_line(f, FORMS_LEFT, y, FORMS_RIGHT, y, 0.2);
	forms_text(f, FORMS_LEFT, y + 2, FORMS_WIDTH, FORMS_BODY_BOTTOM - y - 2,
		   (struct forms_style){.pt = 8.5, .spacing = 1.35, .gray = 0.2, .markup = 1, .hang = 3}, t);
	g_free(t);
	g_free(o);
}

void forms_draw_authorisation(struct form *f)
{
	double y;

	forms_frame(f, f->d->verify_url, QR_SIZE, NULL);
	callout(f);
	y = body(f, FORMS_BODY_TOP - 2);
	y = signatures(f, y + 8);
	notes(f, y + 8);
}
