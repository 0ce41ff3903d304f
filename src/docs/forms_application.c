/* 数字证书用户申请表: the order's data in a ruled table, the applicant's declaration and the places for
 * the unit's seal, the handler's signature and the date. */
#define FORMS_INTERNAL
#include "docs/forms.h"

#include <stdio.h>

#define SEC_W 22.0
#define LABEL_W 30.0
#define VALUE_W ((FORMS_WIDTH - SEC_W - 2 * LABEL_W) / 2)
#define ROW_H 9.0

struct field {
	const char *label, *value;
};

/* One table row: a alone spans the row when b.label is NULL. */
struct row {
	double h;
	struct field a, b;
};

struct section {
	const char *name;
	int nrows;
	struct row rows[3];
};

static const struct forms_style label_st = {.pt = 9, .align = FA_CENTER};
static const struct forms_style value_st = {.pt = 10, .min_pt = 6};
static const struct forms_style sec_st = {.pt = 9.5, .bold = 1, .align = FA_CENTER};

/* Draws one row at y and returns its height. */
static double draw_row(struct form *f, double y, const struct row *r)
{
	double x = FORMS_LEFT + SEC_W;

	forms_cell(f, x, y, LABEL_W, r->h, 1, label_st, r->a.label);
	if (r->b.label == NULL) {
		forms_cell(f, x + LABEL_W, y, FORMS_RIGHT - x - LABEL_W, r->h, 0, value_st, r->a.value);
		return r->h;
	}
	forms_cell(f, x + LABEL_W, y, VALUE_W, r->h, 0, value_st, r->a.value);
	x += LABEL_W + VALUE_W;
	forms_cell(f, x, y, LABEL_W, r->h, 1, label_st, r->b.label);
	forms_cell(f, x + LABEL_W, y, VALUE_W, r->h, 0, value_st, r->b.value);
	return r->h;
}

/* Draws the sections from y with a heavier outer border; returns the y below the table. */
static double draw_table(struct form *f, double y, const struct section *secs, int n)
{
	const double top = y;

	for (int i = 0; i < n; i++) {
		double h = 0;
		for (int j = 0; j < secs[i].nrows; j++)
			h += draw_row(f, y + h, &secs[i].rows[j]);
		forms_cell(f, FORMS_LEFT, y, SEC_W, h, 1, sec_st, secs[i].name);
		y += h;
	}
	forms_rect(f, FORMS_LEFT, top, FORMS_WIDTH, y - top, -1, 0.6, 0);
	return y;
}

/* Draws the declaration the applicant signs up to, from y; returns the y below it. */
static double declaration(struct form *f, double y)
{
	static const char text[] =
		"<b>申请单位声明：</b>本单位承诺，以上所填信息及随本表提交的证件资料真实、准确、完整、有效；"
		"本单位已仔细阅读、充分理解并同意遵守江西CA《数字证书策略》《电子认证业务规则》及"
		"《电子认证服务协议》的全部条款，自愿申请并使用江西CA签发的数字证书"
		"（主锁另含电子签章），妥善保管证书介质及其密码（PIN码）。"
		"因所填信息或所交资料不实而产生的一切后果和法律责任，由本单位承担。";

	return y + forms_text(f, FORMS_LEFT, y, FORMS_WIDTH, 24,
			      (struct forms_style){.pt = 9.5, .spacing = 1.3, .markup = 1}, text);
}

/* Draws the seal box, the handler's signature and the dates from y (down to FORMS_BODY_BOTTOM). */
static void signatures(struct form *f, double y)
{
	const struct forms_style st = {.pt = 10.5, .bold = 1};
	const double rx = 112.0, seal = 42.0;
	char date[40], line[80];

	forms_text(f, FORMS_LEFT, y + 2, 40, 6, st, "单位（盖章）：");
	forms_rect(f, FORMS_LEFT + 34, y + 2, seal, seal, -1, 0.3, 1);
	forms_text(f, FORMS_LEFT + 34, y + 2, seal, seal,
		   (struct forms_style){.pt = 8, .align = FA_CENTER, .vcenter = 1, .gray = 0.7},
		   "请在此处加盖\n单位公章（原章）");

	forms_text(f, rx, y + 8, 30, 6, st, "经办人签字：");
	forms_line(f, rx + 25, y + 13.5, FORMS_RIGHT, y + 13.5, 0.3);
	forms_text(f, rx, y + 22, 80, 6, st, "日期：＿＿＿＿年＿＿月＿＿日");
	forms_date_cn(f->d->created_at, date, sizeof(date));
	snprintf(line, sizeof(line), "订单日期：%s", date);
	if (date[0] != '\0')
		forms_text(f, rx, y + 33, 80, 5, (struct forms_style){.pt = 8.5, .gray = 0.35}, line);
	forms_text(f, rx, y + 38, FORMS_RIGHT - rx, 8,
		   (struct forms_style){.pt = 8, .gray = 0.35, .spacing = 1.2},
		   "打印后加盖单位公章原章，扫描上传，并将原件随纸质资料寄回。");
}

void forms_draw_application(struct form *f)
{
	const struct order_doc *d = f->d;
	char money[40], price[60];
	double y;

	forms_money(d->price_fen, money, sizeof(money));
	snprintf(price, sizeof(price), "%s 元", money);
	if (d->price_fen <= 0)
		price[0] = '\0'; /* unknown: a blank to write on */
	const struct section secs[] = {
		{"单位\n信息",
		 3,
		 {{ROW_H, {"单位名称", d->unit_name}, {0}},
		  {ROW_H, {"统一社会信用代码", d->uscc}, {0}},
		  {ROW_H + 2, {"单位地址", d->unit_address}, {0}}}},
		{"法定代表人\n信息",
		 2,
		 {{ROW_H, {"姓名", d->legal_name}, {"手机号", d->legal_mobile}},
		  {ROW_H, {"证件类型", d->legal_id_type_label}, {"证件号码", d->legal_id_number}}}},
		{"经办人\n信息",
		 2,
		 {{ROW_H, {"姓名", d->handler_name}, {"手机号", d->handler_mobile}},
		  {ROW_H, {"身份证号", d->handler_id_number}, {"电子邮箱", d->handler_email}}}},
		{"证书\n信息",
		 2,
		 {{ROW_H, {"所属项目", d->project_name}, {0}},
		  {ROW_H, {"证书类型", d->key_type_label}, {"费用", price}}}},
		{"发票\n信息",
		 2,
		 {{ROW_H, {"发票抬头", d->invoice_title}, {0}},
		  {ROW_H, {"纳税人识别号", d->invoice_tax_number}, {"接收邮箱", d->invoice_email}}}},
		{"证书\n收件人",
		 2,
		 {{ROW_H, {"姓名", d->recipient_name}, {"手机号", d->recipient_mobile}},
		  {ROW_H + 2, {"收件地址", d->recipient_address}, {0}}}},
	};

	forms_frame(f, d->form_qr_text, 30.0,
		    "（在线业务专用 · 请打印后加盖单位公章原章，并在左上角核对订单编号）");
	y = draw_table(f, FORMS_BODY_TOP, secs, (int)(sizeof(secs) / sizeof(secs[0])));
	y = declaration(f, y + 4);
	signatures(f, y + 3);
}
