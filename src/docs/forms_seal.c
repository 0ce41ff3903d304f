/* 签章采集表 (main key only): boxes where the unit's seal and the legal person's seal are stamped, from
 * which the electronic seal is made, and the rules the impressions must follow. The boxes stay empty
 * inside: any print there would spoil the impression. */
#define FORMS_INTERNAL
#include "docs/forms.h"
#include "docs/forms_seal_layout.h" /* the numbers src/seal/extract*.c finds the boxes by */

#define LABEL_W FORMS_SEAL_LABEL_W
#define ROW_H FORMS_SEAL_ROW_H
#define BIG FORMS_SEAL_BIG     /* 单位公章 impression box */
#define SMALL FORMS_SEAL_SMALL /* 法人章 impression box */

static const struct forms_style label_st = {.pt = 9, .align = FA_CENTER};
static const struct forms_style value_st = {.pt = 10, .min_pt = 6};
static const struct forms_style head_st = {.pt = 10, .bold = 1, .align = FA_CENTER};
static const struct forms_style caption_st = {.pt = 9, .align = FA_CENTER, .gray = 0.2};

/* Draws the unit's identity rows from y; returns the y below them. */
static double identity(struct form *f, double y)
{
	const struct order_doc *d = f->d;
	const double half = (FORMS_WIDTH - 2 * LABEL_W) / 2;
	const double x2 = FORMS_LEFT + LABEL_W + half;

	forms_cell(f, FORMS_LEFT, y, LABEL_W, ROW_H, 1, label_st, "单位名称");
	forms_cell(f, FORMS_LEFT + LABEL_W, y, FORMS_WIDTH - LABEL_W, ROW_H, 0, value_st, d->unit_name);
	y += ROW_H;
	forms_cell(f, FORMS_LEFT, y, LABEL_W, ROW_H, 1, label_st, "统一社会信用代码");
	forms_cell(f, FORMS_LEFT + LABEL_W, y, half, ROW_H, 0, value_st, d->uscc);
	forms_cell(f, x2, y, LABEL_W, ROW_H, 1, label_st, "法定代表人");
	forms_cell(f, x2 + LABEL_W, y, half, ROW_H, 0, value_st, d->legal_name);
	y += ROW_H;
	forms_cell(f, FORMS_LEFT, y, LABEL_W, ROW_H, 1, label_st, "所属项目");
	forms_cell(f, FORMS_LEFT + LABEL_W, y, half, ROW_H, 0, value_st, d->project_name);
	forms_cell(f, x2, y, LABEL_W, ROW_H, 1, label_st, "证书类型");
	forms_cell(f, x2 + LABEL_W, y, half, ROW_H, 0, value_st, d->key_type_label);
	return y + ROW_H;
}

/* Draws an impression box of side s centred in the cell x,y,w,h with its caption below it. */
static void impression(struct form *f, double x, double y, double w, double h, double s, const char *caption)
{
	const double bx = x + (w - s) / 2, by = y + (h - s - FORMS_SEAL_CAPTION) / 2;

	forms_rect(f, bx, by, s, s, -1, 0.4, 0);
	forms_text(f, x + 2, by + s + 2.2, w - 4, 5, caption_st, caption);
}

/* Draws the impression grid from y: two 50 mm boxes for the unit seal, two 25 mm boxes for the legal
 * person's seal; returns the y below it. */
static double grid(struct form *f, double y)
{
	const double half = FORMS_WIDTH / 2, mid = FORMS_LEFT + half;
	const double top = y, head = FORMS_SEAL_HEAD, big_h = FORMS_SEAL_BIG_H, small_h = FORMS_SEAL_SMALL_H;

	forms_cell(f, FORMS_LEFT, y, FORMS_WIDTH, head, 1, head_st,
		   "单位公章印模（请在框内加盖单位公章原章）");
	y += head;
	forms_rect(f, FORMS_LEFT, y, half, big_h, -1, 0.25, 0);
	forms_rect(f, mid, y, half, big_h, -1, 0.25, 0);
	impression(f, FORMS_LEFT, y, half, big_h, BIG, "单位公章印模（一）  50 mm × 50 mm");
	impression(f, mid, y, half, big_h, BIG, "单位公章印模（二）  50 mm × 50 mm");
	y += big_h;
	forms_cell(f, FORMS_LEFT, y, FORMS_WIDTH, head, 1, head_st,
		   "法定代表人印章（或法人签字）（请在框内加盖法人章原章，或由法人亲笔正楷签名）");
	y += head;
	forms_rect(f, FORMS_LEFT, y, half, small_h, -1, 0.25, 0);
	forms_rect(f, mid, y, half, small_h, -1, 0.25, 0);
	impression(f, FORMS_LEFT, y, half, small_h, SMALL,
		   "法定代表人印章（或法人签字）（一）  25 mm × 25 mm");
	impression(f, mid, y, half, small_h, SMALL, "法定代表人印章（或法人签字）（二）  25 mm × 25 mm");
	y += small_h;
	forms_rect(f, FORMS_LEFT, top, FORMS_WIDTH, y - top, -1, 0.6, 0);
	return y;
}

/* Draws the seed's rules for the impressions from y down to the footer. */
static void rules(struct form *f, double y)
{
	static const char text[] =
		"<b>印模要求</b>\n"
		"① 印模须原章加盖，请勿提供打印、复印的印章。\n"
		"② 印模一定要清晰，包括印章边框和每一个字符。\n"
		"③ 印模须无杂质、无底色，不得压盖框线及其他文字。\n"
		"④ 建议提供法人章（法人章在公安系统有备案）；无法提供法人章的单位可用法人正楷签字代替，"
		"须由法人本人亲笔书写，姓名从左至右排列，总宽度尽量与法人章宽度接近。\n"
		"<b>法人章为红色方章。</b>主锁含电子签章，须提供本表原件；副锁无电子签章，无需提供本表。";

	forms_text(f, FORMS_LEFT, y, FORMS_WIDTH, FORMS_BODY_BOTTOM - y,
		   (struct forms_style){.pt = 9.5, .spacing = 1.4, .markup = 1, .hang = 4.5}, text);
}

void forms_draw_seal(struct form *f)
{
	double y;

	forms_frame(f, f->d->form_qr_text, FORMS_SEAL_QR_SIZE, "（主锁 · 含电子签章 · 印模用于制作电子签章）");
	y = identity(f, FORMS_BODY_TOP);
	y = grid(f, y + 4); /* at FORMS_SEAL_GRID_TOP */
	rules(f, y + 4);
}
