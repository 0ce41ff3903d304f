/* Draws Pango layouts into the PDF with each font embedded as a CFF subset that cairo builds from the
 * font's own outlines.
 *
 * Why not pango_cairo_show_layout: cairo 1.16's CFF subsetter mis-parses Noto CJK (it marks a local
 * subroutine as seen and never parses it again for the next glyph, so the stem-hint count and then the
 * hintmask lengths go wrong). Depending on the glyphs and their order it then embeds every subroutine
 * (~900 KB for one font) or hits an assertion and aborts the process: one random 200-character
 * address in ten did. cairo skips its CFF and TrueType subsetters for a face it is told is synthetic
 * (cairo_ft_font_face_set_synthesize) and embeds its "CFF fallback" instead: a CID-keyed CFF whose
 * Type 2 charstrings it writes from each used glyph's unhinted outline, in integer units of 1/1000 em
 * (Noto CJK's own grid, so the outlines are the font's own), with a ToUnicode map from the text
 * clusters. The faces here are marked synthetic with a flag bit that means nothing else to cairo (it
 * tests its own bits, BOLD and OBLIQUE, before changing a glyph), so the glyphs stay as designed.
 *
 * (Until issue 17 the glyphs went through a cairo user font, which cairo embeds as Type 3: every
 * outline point printed with printf("%f"), ~45 % of a form's CPU time; the CFF fallback is a few
 * bytes of binary per curve.) */
#define _GNU_SOURCE /* RTLD_NEXT */
#define FORMS_INTERNAL
#include "docs/forms.h"

#include <cairo-ft.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <pango/pangofc-font.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A synthesis flag cairo does not define (it has BOLD = 1, OBLIQUE = 2): makes cairo treat the face as
 * synthetic, i.e. not subset its font file, without changing a glyph. */
#define FORMS_SYNTH_NO_SUBSET (1u << 30)

typedef struct {
	PangoRenderer parent;
	cairo_t *cr;
} FormsRenderer;

typedef struct {
	PangoRendererClass parent_class;
} FormsRendererClass;

static GType forms_renderer_get_type(void);
G_DEFINE_TYPE(FormsRenderer, forms_renderer, PANGO_TYPE_RENDERER)

static cairo_user_data_key_t embed_key; /* on a Pango font's face: the face its glyphs are embedded from */
static cairo_user_data_key_t ft_key;    /* on an embed face: its struct ft_file, closed with it */
static GMutex embed_lock;               /* the embed_key look-up */
static GMutex ft_lock;                  /* ft_lib: opening and closing faces */
static FT_Library ft_lib;               /* ours: our faces are never shared with Pango's */

/* A font file that FreeType reads through pread, with its cmap hidden (see ft_file_open). */
struct ft_file {
	FT_Face face;
	FT_StreamRec stream;
	int fd;
	int ncmap;
	unsigned long cmap_tag[8]; /* file offsets of the 'cmap' tags in the table directory */
};

/* Returns the big-endian 16- or 32-bit number at p. */
static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}
static unsigned long be32(const unsigned char *p)
{
	return (unsigned long)be16(p) << 16 | be16(p + 2);
}

/* Finds where the table directory of font index in f's sfnt or collection names its 'cmap' table(s)
 * (f->cmap_tag). Returns 0, or -1 when the file is not an sfnt. */
static int find_cmap(struct ft_file *f, int index)
{
	unsigned char h[16], rec[16];
	unsigned long off = 0;
	unsigned n;

	if (pread(f->fd, h, 12, 0) != 12)
		return -1;
	if (memcmp(h, "ttcf", 4) == 0) {
		if (index < 0 || (unsigned long)index >= be32(h + 8) ||
		    pread(f->fd, h, 4, 12 + 4 * (off_t)index) != 4)
			return -1;
		off = be32(h);
		if (pread(f->fd, h, 12, (off_t)off) != 12)
			return -1;
	}
	n = be16(h + 4);
	for (unsigned i = 0; i < n; i++) {
		unsigned long at = off + 12 + 16 * (unsigned long)i;
		if (pread(f->fd, rec, 16, (off_t)at) != 16)
			return -1;
		if (memcmp(rec, "cmap", 4) == 0 && f->ncmap < (int)G_N_ELEMENTS(f->cmap_tag))
			f->cmap_tag[f->ncmap++] = at;
	}
	return 0;
}

/* FreeType's read function for an ft_file: pread, with each 'cmap' tag read as 'xmap'. */
static unsigned long ft_read(FT_Stream s, unsigned long offset, unsigned char *buf, unsigned long count)
{
	struct ft_file *f = s->descriptor.pointer;
	ssize_t n;

	if (count == 0) /* a seek: 0 is success */
		return offset <= s->size ? 0 : 1;
	n = pread(f->fd, buf, count, (off_t)offset);
	if (n <= 0)
		return 0;
	for (int i = 0; i < f->ncmap; i++)
		for (unsigned long k = 0; k < 4; k++)
			if (f->cmap_tag[i] + k >= offset && f->cmap_tag[i] + k < offset + (unsigned long)n)
				buf[f->cmap_tag[i] + k - offset] = (unsigned char)"xmap"[k];
	return (unsigned long)n;
}

/* Returns FreeType's own FT_Load_Sfnt_Table (for g_once). */
static gpointer find_real_load_sfnt_table(gpointer unused)
{
	(void)unused;
	return dlsym(RTLD_NEXT, "FT_Load_Sfnt_Table");
}

/* Marks our FT_Faces (face->generic.data), for the FT_Load_Sfnt_Table below. */
static const char ft_ours[] = "certdesk forms";
static volatile gint cff_refused; /* how many times cairo was refused our CFF tables (forms_cff_refused) */

/* Replaces FreeType's FT_Load_Sfnt_Table in the programs that link this file (cairo and HarfBuzz call
 * it through the dynamic linker, which takes the executable's definition first): refuses the 'CFF '
 * table of our own faces, passes everything else to FreeType's. Why: for each font in each PDF, cairo
 * 1.16 copies the whole 'CFF ' table — 16 to 24 MB for Noto CJK — only to see whether the font is
 * CID-keyed (_cairo_cff_scaled_font_is_cid_cff, which decides whether a "latin" subset is possible), and
 * our faces never use that table in cairo (no subsetting, see FORMS_SYNTH_NO_SUBSET; FreeType reads the
 * glyphs through its own table directory). The copy was ~40 % of a form's CPU time, and the 24 MB
 * blocks stayed in malloc's arenas. */
FT_Error FT_Load_Sfnt_Table(FT_Face face, FT_ULong tag, FT_Long offset, FT_Byte *buffer, FT_ULong *length)
{
	static GOnce once = G_ONCE_INIT; /* g_once: a lock-free read once done, and no data race */
	FT_Error (*real)(FT_Face, FT_ULong, FT_Long, FT_Byte *, FT_ULong *);

	if (face != NULL && face->generic.data == ft_ours && tag == FT_MAKE_TAG('C', 'F', 'F', ' ')) {
		g_atomic_int_inc(&cff_refused);
		return FT_Err_Table_Missing;
	}
	real = (FT_Error(*)(FT_Face, FT_ULong, FT_Long, FT_Byte *, FT_ULong *))g_once(
		&once, find_real_load_sfnt_table, NULL);
	return real != NULL ? real(face, tag, offset, buffer, length) : FT_Err_Unimplemented_Feature;
}

int forms_cff_refused(void)
{
	return g_atomic_int_get(&cff_refused);
}

/* Closes an embed face's FreeType face and file when cairo drops the face. */
static void ft_file_close(void *p)
{
	struct ft_file *f = p;

	g_mutex_lock(&ft_lock);
	FT_Done_Face(f->face);
	g_mutex_unlock(&ft_lock);
	close(f->fd);
	g_free(f);
}

/* Opens font index of file for FreeType; returns it (ft_file_close) or NULL. Why not FT_New_Face:
 * 1. the file's 'cmap' is hidden from FreeType and cairo: for each glyph new in a document cairo looks
 *    up its code point for the PDF's ToUnicode map — a copy of the 46 KB BMP cmap subtable, then
 *    FreeType's walk over all 44,000 code points of a CJK font when the glyph is not in it (a variant
 *    form): over half of a form's CPU time. The ToUnicode map is made from the text clusters
 *    forms_show_layout passes anyway, and the glyphs are drawn by index (Pango shaped the text with
 *    its own copy of the font);
 * 2. read, not mapped: FreeType would map the file a second time (cairo's copy for Pango has it
 *    mapped already), and the 3-7 MB of each font that drawing touches (the glyphs' charstrings and
 *    the subroutines they call) would count twice in certdeskd's RSS. Read through a stream, they stay
 *    in the page cache; FreeType keeps what it needs (the subroutines) on the heap. */
static struct ft_file *ft_file_open(const char *file, int index)
{
	struct ft_file *f = g_new0(struct ft_file, 1);
	FT_Open_Args args = {.flags = FT_OPEN_STREAM, .stream = &f->stream};
	struct stat st;
	int err = 1;

	f->fd = open(file, O_RDONLY | O_CLOEXEC);
	if (f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_size > 0 && find_cmap(f, index) == 0) {
		f->stream.size = (unsigned long)st.st_size;
		f->stream.descriptor.pointer = f;
		f->stream.read = ft_read;
		g_mutex_lock(&ft_lock);
		err = (ft_lib == NULL && FT_Init_FreeType(&ft_lib) != 0) ||
		      FT_Open_Face(ft_lib, &args, index, &f->face) != 0;
		if (!err)
			f->face->generic.data = (void *)ft_ours;
		g_mutex_unlock(&ft_lock);
	}
	if (err) {
		if (f->fd >= 0)
			close(f->fd);
		g_free(f);
		return NULL;
	}
	return f;
}

/* Returns a new cairo face for the font file and index of pat, unhinted, with glyph synthesis as pat
 * asks (FC_EMBOLDEN) and marked so that cairo does not subset the file; NULL on error. */
static cairo_font_face_t *embed_face_new(FcPattern *pat)
{
	FcChar8 *file = NULL;
	int index = 0;
	FcBool embolden = FcFalse;
	struct ft_file *f;
	cairo_font_face_t *face;

	if (FcPatternGetString(pat, FC_FILE, 0, &file) != FcResultMatch)
		return NULL;
	(void)FcPatternGetInteger(pat, FC_INDEX, 0, &index);
	(void)FcPatternGetBool(pat, FC_EMBOLDEN, 0, &embolden);
	if ((f = ft_file_open((const char *)file, index)) == NULL)
		return NULL;
	face = cairo_ft_font_face_create_for_ft_face(f->face, FT_LOAD_NO_HINTING);
	if (cairo_font_face_set_user_data(face, &ft_key, f, ft_file_close) != CAIRO_STATUS_SUCCESS) {
		cairo_font_face_destroy(face);
		ft_file_close(f);
		return NULL;
	}
	cairo_ft_font_face_set_synthesize(face,
					  FORMS_SYNTH_NO_SUBSET | (embolden ? CAIRO_FT_SYNTHESIZE_BOLD : 0));
	return face;
}

/* Returns the face to draw a Pango font's glyphs with (owned by the font's cairo face), or NULL when the
 * font is not a fontconfig one. */
static cairo_font_face_t *embed_face_for(PangoFont *font, cairo_scaled_font_t *sf)
{
	cairo_font_face_t *real = cairo_scaled_font_get_font_face(sf), *e;

	if (!PANGO_IS_FC_FONT(font))
		return NULL;
	g_mutex_lock(&embed_lock);
	e = cairo_font_face_get_user_data(real, &embed_key);
	if (e == NULL && (e = embed_face_new(pango_fc_font_get_pattern(PANGO_FC_FONT(font)))) != NULL &&
	    cairo_font_face_set_user_data(real, &embed_key, e,
					  (cairo_destroy_func_t)cairo_font_face_destroy) !=
		    CAIRO_STATUS_SUCCESS) {
		cairo_font_face_destroy(e);
		e = NULL;
	}
	g_mutex_unlock(&embed_lock);
	return e;
}

/* Selects the embed face of font on cr at the real font's size; returns 0, or -1 to draw nothing. */
static int select_font(cairo_t *cr, PangoFont *font)
{
	cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(font));
	cairo_font_face_t *p;
	cairo_font_options_t *fo;
	cairo_matrix_t m;

	if (sf == NULL || (p = embed_face_for(font, sf)) == NULL)
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
