/* The paper forms: PDF surface set-up, the frame every page shares (header, title, footer), and the
 * reproducible metadata. The pages themselves are in forms_application.c, forms_authorisation.c and
 * forms_seal.c. */
#define FORMS_INTERNAL
#include "docs/forms.h"
#include "docs/forms_seal_layout.h"

#include <cairo-pdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MM_TO_PT (72.0 / 25.4)
#define QR_TOP FORMS_QR_TOP

const char *forms_title(enum form_kind kind)
{
	switch (kind) {
	case FORM_APPLICATION:
		return "数字证书用户申请表";
	case FORM_AUTHORISATION:
		return "法人授权委托书";
	case FORM_SEAL:
		return "签章采集表";
	}
	return NULL;
}

/* Returns s, or a writing line when it is empty. */
static const char *or_blank(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "＿＿＿＿＿＿＿＿＿";
}

/* Draws the labelled order-number box at the top left, where the seed asks the number to be written. */
static void order_box(struct form *f)
{
	const double x = FORMS_LEFT, y = 14.0, lw = 17.0, vw = 43.0, h = 11.0;

	forms_rect(f, x, y, lw, h, 0.90, -1, 0);
	forms_text(f, x, y, lw, h, (struct forms_style){.pt = 9, .bold = 1, .align = FA_CENTER, .vcenter = 1},
		   "订单编号");
	forms_text(f, x + lw + 1.5, y, vw - 3, h,
		   (struct forms_style){.pt = 11, .bold = 1, .vcenter = 1, .align = FA_CENTER, .min_pt = 6},
		   f->d->order_no);
	forms_rect(f, x, y, lw + vw, h, -1, 0.5, 0);
	forms_line(f, x + lw, y, x + lw, y + h, 0.25);
	forms_text(f, x, y + h + 1.5, lw + vw, 5, (struct forms_style){.pt = 7.5, .gray = 0.35},
		   "江西CA · 数字证书在线业务专用表格");
}

/* Draws the footer: a rule, the form's provenance line and the do-not-edit note. */
static void footer(struct form *f)
{
	char *line;

	forms_line(f, FORMS_LEFT, 273.5, FORMS_RIGHT, 273.5, 0.2);
	line = g_strdup_printf("江西CA%s%s · 订单编号 %s · 第 1 页 共 1 页",
			       forms_s(f->d->project_name)[0] ? " · " : "", forms_s(f->d->project_name),
			       or_blank(f->d->order_no));
	forms_text(f, FORMS_LEFT, 274.8, FORMS_WIDTH, 4.2,
		   (struct forms_style){.pt = 8, .align = FA_CENTER, .gray = 0.25, .min_pt = 5}, line);
	g_free(line);
	forms_text(f, FORMS_LEFT, 279.0, FORMS_WIDTH, 4,
		   (struct forms_style){.pt = 7.5, .align = FA_CENTER, .gray = 0.4},
		   "本表由系统根据订单自动生成，请勿手工修改");
}

void forms_frame(struct form *f, const char *qr_text, double qr_size, const char *subtitle)
{
	/* The quiet zone is white: let it reach into the margin so the dark part lines up with the table. */
	const double quiet = forms_qr_quiet(qr_text, qr_size);
	const double qx = FORMS_RIGHT - qr_size + quiet;
	char *no = g_strdup_printf("订单编号：%s", or_blank(f->d->order_no));

	order_box(f);
	forms_qr(f, qx, QR_TOP - quiet, qr_size, qr_text);
	forms_text(f, FORMS_RIGHT - qr_size - 30, QR_TOP + qr_size - quiet + 0.3, qr_size + 30, 4,
		   (struct forms_style){.pt = 7.5, .align = FA_RIGHT, .min_pt = 5}, no);
	g_free(no);
	forms_text(f, FORMS_LEFT, 50.0, FORMS_WIDTH, 11,
		   (struct forms_style){.family = FORMS_SERIF, .pt = 22, .bold = 1, .align = FA_CENTER},
		   forms_title(f->kind));
	if (subtitle != NULL)
		forms_text(f, FORMS_LEFT, 61.0, FORMS_WIDTH, 5,
			   (struct forms_style){.pt = 9, .align = FA_CENTER, .gray = 0.3}, subtitle);
	footer(f);
}

struct buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

/* Appends what cairo writes to the growing buffer. */
static cairo_status_t on_write(void *closure, const unsigned char *data, unsigned int n)
{
	struct buf *b = closure;

	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		unsigned char *p;
		while (cap < b->len + n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

/* Sets the document metadata from the order alone, so that the bytes depend on nothing else. */
static void set_metadata(cairo_surface_t *s, enum form_kind kind, const struct order_doc *d)
{
	char date[40];
	char *subject = g_strdup_printf("订单编号 %s", forms_s(d->order_no));
	char *title = g_strdup(forms_title(kind));

	forms_date_iso(d->created_at, date, sizeof(date));
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_SUBJECT, subject);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, "江西CA");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "certdesk");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, date);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_MOD_DATE, date);
	g_free(subject);
	g_free(title);
}

/* Returns a Pango context for cr with unhinted metrics and unrounded glyph positions: in mm units,
 * rounding would move glyphs by up to half a millimetre. */
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

/* Draws the page of kind for d on cr. */
static void draw_page(enum form_kind kind, const struct order_doc *d, cairo_t *cr)
{
	struct form f = {.cr = cr, .d = d, .kind = kind};

	cairo_scale(cr, MM_TO_PT, MM_TO_PT);
	f.pc = new_pango(cr);
	if (kind == FORM_APPLICATION)
		forms_draw_application(&f);
	else if (kind == FORM_AUTHORISATION)
		forms_draw_authorisation(&f);
	else
		forms_draw_seal(&f);
	cairo_show_page(cr);
	if (f.renderer != NULL)
		g_object_unref(f.renderer);
	g_object_unref(f.pc);
}

/* Returns whether path names a font file. */
static int is_font_file(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && (strcmp(path + n - 4, ".ttc") == 0 || strcmp(path + n - 4, ".otf") == 0 ||
			 strcmp(path + n - 4, ".ttf") == 0);
}

int forms_release_font_pages(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200], perms[8], path[4096];
	unsigned long from, to;
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		path[0] = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095[^\n]", &from, &to, perms, path) != 4)
			continue;
		/* read-only private mappings only: their pages are the file's, re-read on the next access */
		if (perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' || !is_font_file(path))
			continue;
		if (madvise((void *)from, to - from, MADV_DONTNEED) == 0)
			n++;
	}
	fclose(f);
	return n;
}

#define FONT_IDLE_S 5
static gint64 last_render_s; /* monotonic seconds of the last form rendered (__atomic builtins) */

/* Drops the fonts' resident pages once no form was rendered for FONT_IDLE_S seconds. Why: drawing the
 * forms touches 25-30 MB of the Noto CJK files (the glyphs' charstrings and the subroutines they call,
 * through the font mappings of FreeType and HarfBuzz), and those pages, though they are the page
 * cache's and shared, count in certdeskd's RSS for as long as it runs (issue 17's idle-connections
 * row). Re-reading them after a pause costs about a millisecond of page faults on the next form. */
static gpointer font_releaser(gpointer unused)
{
	gint64 released_for = 0;

	(void)unused;
	for (;;) {
		gint64 last;

		g_usleep(FONT_IDLE_S * G_USEC_PER_SEC);
		last = __atomic_load_n(&last_render_s, __ATOMIC_RELAXED);
		if (last != released_for && g_get_monotonic_time() / G_USEC_PER_SEC - last >= FONT_IDLE_S) {
			forms_release_font_pages();
			released_for = last;
		}
	}
	return NULL;
}

/* Starts font_releaser (for g_once). */
static gpointer start_font_releaser(gpointer unused)
{
	(void)unused;
	g_thread_unref(g_thread_new("forms fonts", font_releaser, NULL));
	return NULL;
}

int forms_render_pdf(enum form_kind kind, const struct order_doc *d, unsigned char **pdf, size_t *len)
{
	static GOnce releaser = G_ONCE_INIT;

	struct buf b = {0};
	cairo_surface_t *s;
	cairo_t *cr;
	cairo_status_t st;

	if (pdf == NULL || len == NULL)
		return -1;
	*pdf = NULL;
	*len = 0;
	if (d == NULL || forms_title(kind) == NULL)
		return -1;
	if (kind == FORM_SEAL && d->key_type != NULL && strcmp(d->key_type, "secondary") == 0)
		return -1; /* a secondary key carries no electronic seal */
	g_once(&releaser, start_font_releaser, NULL);
	__atomic_store_n(&last_render_s, g_get_monotonic_time() / G_USEC_PER_SEC, __ATOMIC_RELAXED);
	s = cairo_pdf_surface_create_for_stream(on_write, &b, FORMS_PAGE_W * MM_TO_PT,
						FORMS_PAGE_H * MM_TO_PT);
	set_metadata(s, kind, d);
	cr = cairo_create(s);
	draw_page(kind, d, cr);
	st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	if (st != CAIRO_STATUS_SUCCESS || b.failed || b.len == 0) {
		free(b.p);
		return -1;
	}
	*pdf = b.p;
	*len = b.len;
	return 0;
}
