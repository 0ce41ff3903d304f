/* Draws Pango layouts into the PDF with each font embedded as a Type 3 subset of its own outlines.
 *
 * Why not pango_cairo_show_layout: cairo 1.16's CFF subsetter mis-parses Noto CJK (it marks a local
 * subroutine as seen and never parses it again for the next glyph, so the stem-hint count and then the
 * hintmask lengths go wrong). Depending on the glyphs and their order it then embeds every subroutine
 * (~900 KB for one font) or hits an assertion and aborts the process: one random 200-character
 * address in ten did. So the glyphs go through a cairo user font that draws the real font's unhinted
 * outline: cairo embeds user fonts as Type 3 fonts holding only the glyphs used, with a ToUnicode map
 * from the text clusters, and never runs the CFF subsetter. */
#define FORMS_INTERNAL
#include "docs/forms.h"

#include <cairo-ft.h>
#include <pango/pangofc-font.h>
#include <string.h>

typedef struct {
	PangoRenderer parent;
	cairo_t *cr;
} FormsRenderer;

typedef struct {
	PangoRendererClass parent_class;
} FormsRendererClass;

static GType forms_renderer_get_type(void);
G_DEFINE_TYPE(FormsRenderer, forms_renderer, PANGO_TYPE_RENDERER)

static cairo_user_data_key_t proxy_key;   /* on a Pango font's face: its user-font proxy */
static cairo_user_data_key_t outline_key; /* on a proxy: the unhinted face it draws from */
static GMutex proxy_lock;

/* Returns the unhinted face a proxy draws from. */
static cairo_font_face_t *outline_of(cairo_scaled_font_t *sf)
{
	return cairo_font_face_get_user_data(cairo_scaled_font_get_font_face(sf), &outline_key);
}

/* Gives the proxy the real font's extents (the context is in font space, size 1). */
static cairo_status_t proxy_init(cairo_scaled_font_t *sf, cairo_t *cr, cairo_font_extents_t *ext)
{
	cairo_set_font_face(cr, outline_of(sf));
	cairo_font_extents(cr, ext);
	return cairo_status(cr);
}

/* Draws one glyph of the real font as a filled outline. */
static cairo_status_t proxy_render(cairo_scaled_font_t *sf, unsigned long glyph, cairo_t *cr,
				   cairo_text_extents_t *ext)
{
	cairo_glyph_t g = {.index = glyph, .x = 0, .y = 0};

	cairo_set_font_face(cr, outline_of(sf));
	cairo_glyph_extents(cr, &g, 1, ext);
	cairo_glyph_path(cr, &g, 1);
	cairo_fill(cr);
	return cairo_status(cr);
}

/* Returns the proxy user font for a Pango font (owned by the font's cairo face), or NULL when the font
 * is not a fontconfig one. The outline face is made from the font's own pattern with hinting off:
 * hinted outlines at the glyph recording size would be visibly distorted in print. */
static cairo_font_face_t *proxy_for(PangoFont *font, cairo_scaled_font_t *sf)
{
	cairo_font_face_t *real = cairo_scaled_font_get_font_face(sf), *p, *outline;
	FcPattern *pat;

	if (!PANGO_IS_FC_FONT(font))
		return NULL;
	g_mutex_lock(&proxy_lock);
	p = cairo_font_face_get_user_data(real, &proxy_key);
	if (p == NULL) {
		pat = FcPatternDuplicate(pango_fc_font_get_pattern(PANGO_FC_FONT(font)));
		FcPatternDel(pat, FC_HINTING);
		FcPatternAddBool(pat, FC_HINTING, FcFalse);
		FcPatternDel(pat, FC_HINT_STYLE);
		FcPatternAddInteger(pat, FC_HINT_STYLE, FC_HINT_NONE);
		outline = cairo_ft_font_face_create_for_pattern(pat);
		FcPatternDestroy(pat);
		p = cairo_user_font_face_create();
		cairo_user_font_face_set_init_func(p, proxy_init);
		cairo_user_font_face_set_render_glyph_func(p, proxy_render);
		cairo_font_face_set_user_data(p, &outline_key, outline,
					      (cairo_destroy_func_t)cairo_font_face_destroy);
		if (cairo_font_face_set_user_data(real, &proxy_key, p,
						  (cairo_destroy_func_t)cairo_font_face_destroy) !=
		    CAIRO_STATUS_SUCCESS) {
			cairo_font_face_destroy(p);
			p = NULL;
		}
	}
	g_mutex_unlock(&proxy_lock);
	return p;
}

/* Selects the proxy of font on cr at the real font's size; returns 0, or -1 to draw with Pango's own. */
static int select_font(cairo_t *cr, PangoFont *font)
{
	cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(font));
	cairo_font_face_t *p;
	cairo_font_options_t *fo;
	cairo_matrix_t m;

	if (sf == NULL || (p = proxy_for(font, sf)) == NULL)
		return -1;
	cairo_scaled_font_get_font_matrix(sf, &m);
	cairo_set_font_face(cr, p);
	cairo_set_font_matrix(cr, &m);
	fo = cairo_font_options_create();
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_set_font_options(cr, fo);
	cairo_font_options_destroy(fo);
	return 0;
}

/* Returns the cairo glyphs of gs at baseline x,y (Pango units), skipping empty and unknown glyphs
 * (g_free it); *n is their count and map[i] (if map) the cairo glyph index of Pango glyph i or -1. */
static cairo_glyph_t *to_cairo(PangoGlyphString *gs, int x, int y, int *n, int *map)
{
	cairo_glyph_t *g = g_new(cairo_glyph_t, gs->num_glyphs > 0 ? gs->num_glyphs : 1);
	int pos = 0;

	*n = 0;
	for (int i = 0; i < gs->num_glyphs; i++) {
		PangoGlyphInfo *gi = &gs->glyphs[i];
		if (map != NULL)
			map[i] = -1;
		if (gi->glyph != PANGO_GLYPH_EMPTY && !(gi->glyph & PANGO_GLYPH_UNKNOWN_FLAG)) {
			g[*n].index = gi->glyph;
			g[*n].x = (double)(x + pos + gi->geometry.x_offset) / PANGO_SCALE;
			g[*n].y = (double)(y + gi->geometry.y_offset) / PANGO_SCALE;
			if (map != NULL)
				map[i] = *n;
			(*n)++;
		}
		pos += gi->geometry.width;
	}
	return g;
}

static void draw_glyphs(PangoRenderer *r, PangoFont *font, PangoGlyphString *gs, int x, int y)
{
	cairo_t *cr = ((FormsRenderer *)r)->cr;
	int n;
	cairo_glyph_t *g;

	if (select_font(cr, font) != 0)
		return;
	g = to_cairo(gs, x, y, &n, NULL);
	cairo_show_glyphs(cr, g, n);
	g_free(g);
}

/* Returns the text clusters of gs (g_free it) and their count in *nc; map is from to_cairo. */
static cairo_text_cluster_t *clusters(PangoGlyphString *gs, int len, const int *map, int *nc)
{
	cairo_text_cluster_t *cl = g_new0(cairo_text_cluster_t, gs->num_glyphs);

	*nc = 0;
	for (int i = 0; i < gs->num_glyphs;) {
		int start = gs->log_clusters[i], j = i;
		while (j < gs->num_glyphs && gs->log_clusters[j] == start)
			j++;
		cl[*nc].num_bytes = (j < gs->num_glyphs ? gs->log_clusters[j] : len) - start;
		for (int k = i; k < j; k++)
			cl[*nc].num_glyphs += map[k] >= 0;
		if (cl[*nc].num_bytes > 0 || cl[*nc].num_glyphs > 0)
			(*nc)++;
		else
			cl[*nc] = (cairo_text_cluster_t){0};
		i = j;
	}
	return cl;
}

/* Draws a run with its text clusters, so that the PDF's ToUnicode maps each glyph to its characters.
 * An ellipsis run stands for "…"; right-to-left runs (none on these forms) go without text. */
static void draw_glyph_item(PangoRenderer *r, const char *text, PangoGlyphItem *gi, int x, int y)
{
	cairo_t *cr = ((FormsRenderer *)r)->cr;
	PangoGlyphString *gs = gi->glyphs;
	int *map, n, nc, first;
	cairo_glyph_t *g;
	cairo_text_cluster_t *cl;

	if (gs->num_glyphs == 0 || select_font(cr, gi->item->analysis.font) != 0)
		return;
	map = g_new(int, gs->num_glyphs);
	g = to_cairo(gs, x, y, &n, map);
	if (n == 0) {
		/* nothing visible */
	} else if (gi->item->analysis.flags & PANGO_ANALYSIS_FLAG_IS_ELLIPSIS) {
		cairo_text_cluster_t one = {.num_bytes = (int)strlen("…"), .num_glyphs = n};
		cairo_show_text_glyphs(cr, "…", one.num_bytes, g, n, &one, 1, 0);
	} else if (gi->item->analysis.level % 2 != 0) {
		cairo_show_glyphs(cr, g, n);
	} else {
		cl = clusters(gs, gi->item->length, map, &nc);
		first = gs->log_clusters[0];
		cairo_show_text_glyphs(cr, text + gi->item->offset + first, gi->item->length - first, g, n,
				       cl, nc, 0);
		g_free(cl);
	}
	g_free(g);
	g_free(map);
}

static void draw_rectangle(PangoRenderer *r, PangoRenderPart part, int x, int y, int w, int h)
{
	cairo_t *cr = ((FormsRenderer *)r)->cr;

	(void)part;
	cairo_rectangle(cr, (double)x / PANGO_SCALE, (double)y / PANGO_SCALE, (double)w / PANGO_SCALE,
			(double)h / PANGO_SCALE);
	cairo_fill(cr);
}

static void forms_renderer_init(FormsRenderer *r)
{
	r->cr = NULL;
}

static void forms_renderer_class_init(FormsRendererClass *k)
{
	PangoRendererClass *rc = PANGO_RENDERER_CLASS(k);

	rc->draw_glyphs = draw_glyphs;
	rc->draw_glyph_item = draw_glyph_item;
	rc->draw_rectangle = draw_rectangle;
}

void forms_show_layout(struct form *f, PangoLayout *l, double x, double y)
{
	FormsRenderer *r;

	if (f->renderer == NULL)
		f->renderer = g_object_new(forms_renderer_get_type(), NULL);
	r = (FormsRenderer *)f->renderer;
	r->cr = f->cr;
	cairo_save(f->cr);
	pango_renderer_draw_layout(f->renderer, l, (int)(x * PANGO_SCALE), (int)(y * PANGO_SCALE));
	cairo_restore(f->cr);
}
