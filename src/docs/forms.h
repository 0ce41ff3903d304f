/* The three paper forms of an order, rendered as print-ready A4 PDFs. */
#ifndef CERTDESK_FORMS_H
#define CERTDESK_FORMS_H
#include <stddef.h>

enum form_kind { FORM_APPLICATION, FORM_AUTHORISATION, FORM_SEAL };

struct order_doc {
	const char *order_no;       /* e.g. "YT20261124-000123" */
	const char *project_name;   /* 鹰潭市阳光采购服务平台 */
	const char *key_type;       /* "main" or "secondary" */
	const char *key_type_label; /* 主锁（含电子签章） / 副锁（无电子签章） */
	long long price_fen;        /* 22000 -> print 220.00 元; 0 or less prints a blank */
	const char *unit_name, *uscc, *unit_address;
	const char *legal_name, *legal_id_type_label, *legal_id_number, *legal_mobile;
	const char *handler_name, *handler_id_number, *handler_mobile, *handler_email;
	const char *invoice_title, *invoice_tax_number, *invoice_email;
	const char *recipient_name, *recipient_mobile, *recipient_address;
	const char *form_qr_text; /* QR content printed on the application form and the seal form */
	const char *verify_url;   /* QR content of the authorisation letter: the legal person's
				     face-verification page */
	long long created_at; /* Unix time of the order: the date printed on the forms and the PDF's metadata
				 date */
};

/* Returns the Chinese title of the form ("数字证书用户申请表", "法人授权委托书", "签章采集表"). */
const char *forms_title(enum form_kind kind);
/* Renders the form for d as a PDF into *pdf (malloc'd, caller frees) and its size *len. The same d
 * gives the same bytes (no current time, no random ids). FORM_SEAL for a secondary key is refused
 * (-1). Any string of d may be NULL or empty: the form then shows a blank to write on. Strings that
 * are not valid UTF-8 are printed with U+FFFD in place of the bad bytes. Returns 0 or -1. */
int forms_render_pdf(enum form_kind kind, const struct order_doc *d, unsigned char **pdf, size_t *len);
/* Returns how many times this process refused cairo the 'CFF ' table of a form font (forms_text.c's
 * FT_Load_Sfnt_Table, which saves copying 16-24 MB per font per PDF): > 0 once a form was rendered,
 * when that replacement is linked in as it must be. */
int forms_cff_refused(void);
/* Drops this process's resident pages of the font files it has mapped (read-only mappings of .ttc, .otf
 * and .ttf files); they stay in the page cache and are read back on the next access. Done by a thread
 * of its own once no form was rendered for 5 seconds. Returns the number of mappings, or -1. */
int forms_release_font_pages(void);

#ifdef FORMS_INTERNAL
/* Private to src/docs/forms*.c: the drawing helpers the three page files share. All lengths are
 * millimetres on an A4 page, origin at the top left. */
#include <cairo.h>
#include <pango/pangocairo.h>

#define FORMS_PAGE_W 210.0
#define FORMS_PAGE_H 297.0
#define FORMS_MARGIN 18.0
#define FORMS_LEFT FORMS_MARGIN
#define FORMS_RIGHT (FORMS_PAGE_W - FORMS_MARGIN)
#define FORMS_WIDTH (FORMS_RIGHT - FORMS_LEFT)
#define FORMS_BODY_TOP 70.0     /* first line below the header and the title */
#define FORMS_BODY_BOTTOM 270.0 /* last line above the footer */
#define FORMS_SANS "Noto Sans CJK SC"
#define FORMS_SERIF "Noto Serif CJK SC"

struct form {
	cairo_t *cr;
	PangoContext *pc;
	const struct order_doc *d;
	enum form_kind kind;
	PangoRenderer *renderer; /* made by forms_show_layout on first use */
};

enum forms_align { FA_LEFT, FA_CENTER, FA_RIGHT };

/* How forms_text sets a text; zero fields take the defaults in brackets. */
struct forms_style {
	const char *family; /* [FORMS_SANS] */
	double pt;          /* font size in points [10] */
	double min_pt;      /* smallest size it may shrink to [0.6 * pt] */
	int bold;
	enum forms_align align; /* [FA_LEFT] */
	int vcenter;            /* centre vertically in the box (else top) */
	double gray;            /* 0 black .. 1 white [0] */
	double spacing;         /* line-height factor [font's own] */
	int markup;             /* text is Pango markup (values escaped with forms_esc) */
	double hang;            /* hanging indent of each paragraph's later lines [0] */
};

/* Draws text in the box x,y,w,h: wrapped to w, shrunk towards min_pt and at last cut with "…" so it
 * never leaves the box (h <= 0: no height limit). NULL text draws nothing. Returns the height used. */
double forms_text(struct form *f, double x, double y, double w, double h, struct forms_style st,
		  const char *text);
/* Draws layout l with its top left at x,y in the current source colour (see forms_text.c for why not
 * pango_cairo_show_layout). */
void forms_show_layout(struct form *f, PangoLayout *l, double x, double y);
/* Strokes a line of width lw. */
void forms_line(struct form *f, double x1, double y1, double x2, double y2, double lw);
/* Draws a rectangle: filled with fill_gray when >= 0, stroked with lw when > 0, dashed if asked. */
void forms_rect(struct form *f, double x, double y, double w, double h, double fill_gray, double lw,
		int dashed);
/* Draws a table cell: border, optional shade, and text padded inside, vertically centred. */
void forms_cell(struct form *f, double x, double y, double w, double h, int shaded, struct forms_style st,
		const char *text);
/* Draws text as a QR code (ECC M, 4-module quiet zone included) in the size x size square at x,y with
 * vector rectangles; an empty or unencodable text gives a dashed placeholder. */
void forms_qr(struct form *f, double x, double y, double size, const char *text);
/* Returns the width of the quiet zone forms_qr leaves around text's code in a square of size (0 if none). */
double forms_qr_quiet(const char *text, double size);
/* Draws the header (order-number box at the top left, QR and order number at the top right), the
 * title centred below it with an optional subtitle, and the footer. qr_size is in mm. */
void forms_frame(struct form *f, const char *qr_text, double qr_size, const char *subtitle);
/* Returns s, or "" for NULL. */
const char *forms_s(const char *s);
/* Returns s as valid UTF-8 escaped for Pango markup (g_free it); NULL gives "". */
char *forms_esc(const char *s);
/* Writes t (Unix time) as a Chinese date in Asia/Shanghai, "2026年11月24日", or "" when t <= 0. */
void forms_date_cn(long long t, char *buf, size_t n);
/* Writes t as ISO 8601 in Asia/Shanghai, "2026-11-24T10:30:00+08:00". */
void forms_date_iso(long long t, char *buf, size_t n);
/* Writes fen as yuan with two decimals, "220.00". */
void forms_money(long long fen, char *buf, size_t n);

void forms_draw_application(struct form *f);
void forms_draw_authorisation(struct form *f);
void forms_draw_seal(struct form *f);
#endif

#endif
