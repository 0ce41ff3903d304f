/* The PIN slip: an A5 page with the organisation, order, USB key and its initial user PIN, and how
 * to change the PIN at first use. Drawn with the paper forms' helpers (forms_text and friends). */
#define FORMS_INTERNAL
#include "docs/pin_slip.h"

#include <cairo-pdf.h>
#include <stdlib.h>
#include <string.h>

#include "docs/forms.h"

#define MM_TO_PT (72.0 / 25.4)
#define A5_W 148.0
#define A5_H 210.0
#define LEFT 14.0
#define WIDTH (A5_W - 2 * LEFT)

static const char *const steps[] = {
	"1. 收到 USB Key（CA锁）后，请先插入电脑，打开海泰用户工具（或证书助手），确认可以正常显示数字证书，"
	"并查看证书有效期。",
	"2. 首次使用前请立即修改证书密码（PIN码）：在用户工具中选择“修改用户口令”，输入上面的初始密码，"
	"再两次输入新密码（建议 8 位以上，不要使用生日、电话等易猜的数字）。",
	"3. 证书密码连续输错多次后 USB Key 将被锁定，请妥善保管新密码；锁定或遗忘时请联系江西CA办理解锁。",
	"4. 本信封仅供证书持有单位拆阅，修改密码后请将本页销毁，切勿与 USB Key 放在一起保管。",
};

/* Draws a label/value row of the key table at y; returns the next row's y. */
static double row(struct form *f, double y, const char *label, const char *value, double h, double pt)
{
	forms_cell(f, LEFT, y, 32, h, 1, (struct forms_style){.pt = 10, .bold = 1, .align = FA_CENTER},
		   label);
	forms_cell(f, LEFT + 32, y, WIDTH - 32, h, 0,
		   (struct forms_style){.pt = pt, .bold = pt > 12, .min_pt = 6}, value);
	return y + h;
}

/* Draws the slip for s on f. */
static void draw(struct form *f, const struct pin_slip *s)
{
	char date[40];
	double y;

	forms_text(f, LEFT, 14, WIDTH, 12,
		   (struct forms_style){.family = FORMS_SERIF, .pt = 20, .bold = 1, .align = FA_CENTER},
		   "证书密码信封");
	forms_text(f, LEFT, 27, WIDTH, 5, (struct forms_style){.pt = 9, .align = FA_CENTER, .gray = 0.3},
		   "江西CA · 数字证书 USB Key 初始密码（请妥善保管）");
	forms_line(f, LEFT, 34, LEFT + WIDTH, 34, 0.3);
	y = row(f, 38, "单位名称", forms_s(s->org_name), 10, 10);
	y = row(f, y, "订单编号", forms_s(s->order_no), 8, 10);
	y = row(f, y, "USB Key 序列号", forms_s(s->key_serial), 8, 10);
	y = row(f, y, "USB Key 型号", forms_s(s->key_model), 8, 10);
	y = row(f, y, "初始证书密码", s->user_pin != NULL ? s->user_pin : "默认 PIN，见说明", 14,
		s->user_pin != NULL ? 18 : 12);
	y += 6;
	forms_text(f, LEFT, y, WIDTH, 6, (struct forms_style){.pt = 11, .bold = 1}, "首次使用说明");
	y += 7;
	if (s->user_pin == NULL)
		y += forms_text(
			     f, LEFT, y, WIDTH, 0, (struct forms_style){.pt = 9.5, .spacing = 1.3},
			     "本项目的 USB Key 使用项目公布的默认证书密码，请查阅办理指南或致电江西CA获取，"
			     "并在首次使用时立即修改。") +
		     2;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		y += forms_text(f, LEFT, y, WIDTH, 0,
				(struct forms_style){.pt = 9.5, .spacing = 1.3, .hang = 4}, steps[i]) +
		     2;
	forms_date_cn(s->created_at, date, sizeof(date));
	forms_line(f, LEFT, A5_H - 16, LEFT + WIDTH, A5_H - 16, 0.2);
	forms_text(f, LEFT, A5_H - 14.5, WIDTH, 5,
		   (struct forms_style){.pt = 8, .align = FA_CENTER, .gray = 0.35}, date);
}

struct buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

/* Appends what cairo writes to the growing buffer (wiping what it leaves behind: it holds the PIN). */
static cairo_status_t on_write(void *closure, const unsigned char *data, unsigned int n)
{
	struct buf *b = closure;

	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		unsigned char *p;
		while (cap < b->len + n)
			cap *= 2;
		if ((p = malloc(cap)) == NULL) {
			b->failed = 1;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

/* Returns a Pango context for cr with unhinted metrics (as the forms do). */
static PangoContext *new_pango(cairo_t *cr)
{
	PangoContext *pc = pango_cairo_create_context(cr);
	cairo_font_options_t *fo = cairo_font_options_create();

	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	pango_cairo_context_set_font_options(pc, fo);
	cairo_font_options_destroy(fo);
	pango_context_set_round_glyph_positions(pc, FALSE);
	return pc;
}

int pin_slip_render_pdf(const struct pin_slip *s, unsigned char **pdf, size_t *len)
{
	struct order_doc d = {.order_no = s->order_no, .created_at = s->created_at};
	struct form f = {.d = &d, .kind = FORM_APPLICATION};
	struct buf b = {0};
	cairo_surface_t *surf;
	cairo_status_t st;
	char iso[40];

	*pdf = NULL;
	*len = 0;
	surf = cairo_pdf_surface_create_for_stream(on_write, &b, A5_W * MM_TO_PT, A5_H * MM_TO_PT);
	forms_date_iso(s->created_at, iso, sizeof(iso));
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, "证书密码信封");
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_AUTHOR, "江西CA");
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "certdesk");
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATE_DATE, iso);
	f.cr = cairo_create(surf);
	cairo_scale(f.cr, MM_TO_PT, MM_TO_PT);
	f.pc = new_pango(f.cr);
	draw(&f, s);
	cairo_show_page(f.cr);
	if (f.renderer != NULL)
		g_object_unref(f.renderer);
	g_object_unref(f.pc);
	st = cairo_status(f.cr);
	cairo_destroy(f.cr);
	cairo_surface_finish(surf);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surf);
	cairo_surface_destroy(surf);
	if (st != CAIRO_STATUS_SUCCESS || b.failed || b.len == 0) {
		if (b.p != NULL)
			explicit_bzero(b.p, b.cap);
		free(b.p);
		return -1;
	}
	*pdf = b.p;
	*len = b.len;
	return 0;
}
