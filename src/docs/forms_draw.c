/* Drawing helpers shared by the form pages: fitted text, table cells, boxes, QR codes, dates. */
#define FORMS_INTERNAL
#include "docs/forms.h"

#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#define PT_TO_MM (25.4 / 72.0)

/* Returns s as valid UTF-8 (g_free it): bad bytes become U+FFFD. */
static char *valid_utf8(const char *s)
{
	if (s == NULL)
		return g_strdup("");
	if (g_utf8_validate(s, -1, NULL))
		return g_strdup(s);
	return g_utf8_make_valid(s, -1);
}

const char *forms_s(const char *s)
{
	return s == NULL ? "" : s;
}

char *forms_esc(const char *s)
{
	char *v = valid_utf8(s);
	char *e = g_markup_escape_text(v, -1);

	g_free(v);
	return e;
}

/* Sets the layout's font to the style's family and weight at pt points. */
static void set_font(PangoLayout *l, const struct forms_style *st, double pt)
{
	PangoFontDescription *fd = pango_font_description_new();

	pango_font_description_set_family(fd, st->family != NULL ? st->family : FORMS_SANS);
	pango_font_description_set_weight(fd, st->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_font_description_set_absolute_size(fd, pt * PT_TO_MM * PANGO_SCALE);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
}

/* Returns a layout of text in style st (valid UTF-8 guaranteed), not yet sized. */
static PangoLayout *new_layout(struct form *f, const struct forms_style *st, const char *text)
{
	PangoLayout *l = pango_layout_new(f->pc);
	static const PangoAlignment al[] = {PANGO_ALIGN_LEFT, PANGO_ALIGN_CENTER, PANGO_ALIGN_RIGHT};

	pango_layout_set_alignment(l, al[st->align]);
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	if (st->spacing > 0)
		pango_layout_set_line_spacing(l, (float)st->spacing);
	if (st->hang > 0)
		pango_layout_set_indent(l, (int)(-st->hang * PANGO_SCALE));
	if (st->markup) {
		pango_layout_set_markup(l, text, -1);
	} else {
		char *v = valid_utf8(text);
		pango_layout_set_text(l, v, -1);
		g_free(v);
	}
	return l;
}

/* Returns the layout's logical size in mm through *w and *h. */
static void layout_size(PangoLayout *l, double *w, double *h)
{
	PangoRectangle r;

	pango_layout_get_extents(l, NULL, &r);
	*w = (double)r.width / PANGO_SCALE;
	*h = (double)r.height / PANGO_SCALE;
}

double forms_text(struct form *f, double x, double y, double w, double h, struct forms_style st,
		  const char *text)
{
	PangoLayout *l;
	double pt, min_pt, lw = 0, lh = 0;

	if (text == NULL || text[0] == '\0')
		return 0;
	pt = st.pt > 0 ? st.pt : 10;
	min_pt = st.min_pt > 0 ? st.min_pt : 0.6 * pt;
	l = new_layout(f, &st, text);
	pango_layout_set_width(l, (int)(w * PANGO_SCALE));
	for (;;) {
		set_font(l, &st, pt);
		layout_size(l, &lw, &lh);
		if (h <= 0 || (lh <= h && lw <= w + 0.01) || pt <= min_pt)
			break;
		pt = pt - 0.5 < min_pt ? min_pt : pt - 0.5;
	}
	if (h > 0 && lh > h) {
		pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
		pango_layout_set_height(l, (int)(h * PANGO_SCALE));
		layout_size(l, &lw, &lh);
	}
	cairo_save(f->cr);
	cairo_set_source_rgb(f->cr, st.gray, st.gray, st.gray);
	forms_show_layout(f, l, x, st.vcenter && h > 0 ? y + (h - lh) / 2 : y);
	cairo_restore(f->cr);
	g_object_unref(l);
	return lh;
}

void forms_line(struct form *f, double x1, double y1, double x2, double y2, double lw)
{
	cairo_set_source_rgb(f->cr, 0, 0, 0);
	cairo_set_line_width(f->cr, lw);
	cairo_move_to(f->cr, x1, y1);
	cairo_line_to(f->cr, x2, y2);
	cairo_stroke(f->cr);
}

void forms_rect(struct form *f, double x, double y, double w, double h, double fill_gray, double lw,
		int dashed)
{
	static const double dash[] = {1.6, 1.0};

	cairo_save(f->cr);
	cairo_rectangle(f->cr, x, y, w, h);
	if (fill_gray >= 0) {
		cairo_set_source_rgb(f->cr, fill_gray, fill_gray, fill_gray);
		cairo_fill_preserve(f->cr);
	}
	if (lw > 0) {
		cairo_set_source_rgb(f->cr, 0, 0, 0);
		cairo_set_line_width(f->cr, lw);
		if (dashed)
			cairo_set_dash(f->cr, dash, 2, 0);
		cairo_stroke(f->cr);
	}
	cairo_new_path(f->cr);
	cairo_restore(f->cr);
}

void forms_cell(struct form *f, double x, double y, double w, double h, int shaded, struct forms_style st,
		const char *text)
{
	const double pad = 1.8;

	forms_rect(f, x, y, w, h, shaded ? 0.93 : -1, 0.25, 0);
	st.vcenter = 1;
	forms_text(f, x + pad, y + 0.6, w - 2 * pad, h - 1.2, st, text);
}

/* Returns the QR code of text at ECC level M, or NULL when it is empty or too long to encode. */
static QRcode *encode(const char *text)
{
	if (text == NULL || text[0] == '\0')
		return NULL;
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

double forms_qr_quiet(const char *text, double size)
{
	QRcode *q = encode(text);
	double quiet;

	if (q == NULL)
		return 0;
	quiet = size * 4 / (q->width + 8);
	QRcode_free(q);
	return quiet;
}

void forms_qr(struct form *f, double x, double y, double size, const char *text)
{
	QRcode *q = encode(text);
	double m;

	if (q == NULL) {
		forms_rect(f, x + 2, y + 2, size - 4, size - 4, -1, 0.3, 1);
		forms_text(f, x + 2, y + 2, size - 4, size - 4,
			   (struct forms_style){.pt = 8, .align = FA_CENTER, .vcenter = 1, .gray = 0.45},
			   "（二维码暂不可用）");
		return;
	}
	m = size / (q->width + 8);
	/* One path of row runs, filled once: no hairline seams between neighbouring modules. */
	for (int r = 0; r < q->width; r++) {
		for (int c = 0; c < q->width;) {
			int run = 0;
			while (c + run < q->width && (q->data[r * q->width + c + run] & 1))
				run++;
			if (run > 0)
				cairo_rectangle(f->cr, x + (c + 4) * m, y + (r + 4) * m, run * m, m);
			c += run > 0 ? run : 1;
		}
	}
	cairo_set_source_rgb(f->cr, 0, 0, 0);
	cairo_set_fill_rule(f->cr, CAIRO_FILL_RULE_WINDING);
	cairo_fill(f->cr);
	QRcode_free(q);
}

/* Splits t (shifted to UTC+8, Asia/Shanghai has had no DST since 1991) into a civil date and time. */
static void civil(long long t, int *y, int *mo, int *d, int *h, int *mi, int *s)
{
	long long secs = t + 8 * 3600;
	long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	long long sod = secs - days * 86400;
	/* Howard Hinnant's days_from_civil inverse. */
	long long z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*mo <= 2));
	*h = (int)(sod / 3600);
	*mi = (int)(sod / 60 % 60);
	*s = (int)(sod % 60);
}

void forms_date_cn(long long t, char *buf, size_t n)
{
	int y, mo, d, h, mi, s;

	if (t <= 0 || t > 253402271999LL) { /* unknown, or past 9999 */
		snprintf(buf, n, "%s", "");
		return;
	}
	civil(t, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, n, "%d年%d月%d日", y, mo, d);
}

void forms_date_iso(long long t, char *buf, size_t n)
{
	int y, mo, d, h, mi, s;

	if (t < 0 || t > 253402271999LL)
		t = 0;
	civil(t, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", y, mo, d, h, mi, s);
}

void forms_money(long long fen, char *buf, size_t n)
{
	unsigned long long a = fen < 0 ? 0ULL - (unsigned long long)fen : (unsigned long long)fen;

	snprintf(buf, n, "%s%llu.%02llu", fen < 0 ? "-" : "", a / 100, a % 100);
}
