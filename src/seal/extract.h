/* Seal pictures from the scanned 签章采集表: the form's QR code fixes the page's position, scale and
 * rotation, which places the four impression boxes on the scan (extract_locate.c); each box is
 * resampled upright, the red impression separated from the paper by a colour model
 * (extract_colour.c), cleaned, trimmed and exported as a transparent PNG at its real size
 * (extract_export.c), and judged against the seed's impression rules (extract_quality.c).
 * Pure computation on decoded images: no database, no I/O besides the caller's bytes. */
#ifndef CERTDESK_SEAL_EXTRACT_H
#define CERTDESK_SEAL_EXTRACT_H
#include <stddef.h>

/* An 8-bit RGB image, rows packed (3 * w bytes each). px is malloc'd and owned by the struct. */
struct seal_rgb {
	unsigned char *px;
	unsigned w, h;
};

/* Decodes a JPEG, PNG or BMP into *img (composited on white when it has transparency). Returns 0 or -1.
 * The caller has checked the bytes with image_inspect (size and pixel bounds). */
int seal_rgb_decode(const unsigned char *data, size_t len, struct seal_rgb *img);
/* Decodes a PNG keeping its alpha: *rgba gets w * h * 4 bytes (malloc'd, caller frees). Returns 0 or -1. */
int seal_rgba_decode_png(const unsigned char *data, size_t len, unsigned char **rgba, unsigned *w,
			 unsigned *h);
/* Frees img's pixels and clears it. */
void seal_rgb_free(struct seal_rgb *img);

enum seal_slot { SEAL_UNIT_1, SEAL_UNIT_2, SEAL_LEGAL_1, SEAL_LEGAL_2, SEAL_NSLOTS };

/* Returns the slot's API name ("unit_1", "unit_2", "legal_1", "legal_2"). */
const char *seal_slot_name(enum seal_slot s);
/* Returns the slot named name, or -1. */
int seal_slot_parse(const char *name);
/* Returns the side of the slot's printed box in mm (50 or 25). */
double seal_slot_box_mm(enum seal_slot s);

/* The page transform: form millimetres (x, y) to scan pixels
 *   px = a * x - b * y + tx,   py = b * x + a * y + ty
 * (a similarity: scale sqrt(a² + b²) pixels per mm, rotation atan2(b, a)). */
struct seal_page {
	int located; /* 1: found from the QR code; 0: assumed (an upright A4 page filling the width) */
	double a, b, tx, ty;
	double px_per_mm, angle_deg;
	char qr_text[256]; /* the QR code it was found from ("" when not located) */
};

/* A box on the scan, in scan pixels: its centre and size. The picture inside is taken upright: the
 * page's rotation is undone around the centre, so w and h are along the page's axes. */
struct seal_box {
	double cx, cy, w, h;
};

/* The margin the proposed boxes leave around the printed impression box, in mm: room for the
 * frame line and a little error of the transform, yet short of the caption below. */
#define SEAL_BOX_MARGIN_MM 2.0

/* Finds the page transform from the QR code on img whose text starts with prefix (NULL or "": any
 * QR code), and proposes the four boxes (with SEAL_BOX_MARGIN_MM). When no QR code is read,
 * page->located is 0 and the boxes are where an upright, full-page scan would have them. Returns 0,
 * or -1 when img is unusable (empty, or out of memory). */
int seal_locate(const struct seal_rgb *img, const char *prefix, struct seal_page *page,
		struct seal_box boxes[SEAL_NSLOTS]);
/* Same on a grey image (what zbar reads). */
int seal_locate_grey(const unsigned char *grey, unsigned w, unsigned h, const char *prefix,
		     struct seal_page *page, struct seal_box boxes[SEAL_NSLOTS]);

/* The judgement of one impression. */
enum seal_verdict {
	SEAL_OK,            /* a red seal impression */
	SEAL_SIGNATURE,     /* a black handwritten signature, accepted for the legal person when allowed */
	SEAL_NO_IMPRESSION, /* nothing in the box */
	SEAL_CUT,           /* touches the box edge or lies over the printed frame */
	SEAL_FAINT,         /* too few red pixels, too pale or blurred */
	SEAL_TINT,          /* a background tint remains */
	SEAL_BLUE,          /* blue ink */
	SEAL_BLACK,         /* black ink (a stamp, or a signature where none is allowed) */
	SEAL_TOO_SMALL,     /* an uploaded picture too small to be a seal */
};

/* Returns the verdict's stable code ("ok", "signature", "no_impression", ...). */
const char *seal_verdict_code(enum seal_verdict v);
/* Returns 1 when the verdict accepts the picture. */
int seal_verdict_accepts(enum seal_verdict v);

struct seal_opts {
	int allow_signature; /* the project accepts a legal person's black signature instead of a seal */
};

/* What seal_extract found in a box. */
struct seal_result {
	enum seal_verdict verdict;
	char reason[256]; /* Chinese, for staff; "" when accepted */
	/* The picture: a PNG with a transparent background, trimmed to the impression (NULL when the
	 * verdict is no_impression). Malloc'd, owned: seal_result_free. */
	unsigned char *png;
	size_t png_len;
	unsigned width_px, height_px;
	double width_mm, height_mm;
	/* Where the trimmed picture starts in the upright box, in pixels. */
	unsigned off_x, off_y;
	/* Measurements behind the verdict, for staff and tests. */
	unsigned red_pixels, blue_pixels, dark_pixels;
	double contrast;  /* how far well-inked pixels are from the paper (90th percentile of Cr above it) */
	double sharpness; /* share of the impression's pixels inked at least 70 % of that */
	double paper_r, paper_g, paper_b;
};

/* Extracts the impression of slot inside box on img, with the page's scale and rotation (page from
 * seal_locate; not located: its assumed scale, no rotation). Returns 0 with *res filled (any
 * verdict), or -1 on a bad box or out of memory. */
int seal_extract(const struct seal_rgb *img, const struct seal_page *page, enum seal_slot slot,
		 const struct seal_box *box, const struct seal_opts *opts, struct seal_result *res);
/* Checks a clean PNG staff made for slot (transparent or white background) with the same rules;
 * width_mm is the picture's real width when known (0: the usual 42 mm of a unit seal, 20 mm of a
 * legal person's seal).
 * Returns 0 with *res filled (res->png is the cleaned picture), or -1 on a PNG that does not decode. */
int seal_check_png(const unsigned char *data, size_t len, enum seal_slot slot, double width_mm,
		   const struct seal_opts *opts, struct seal_result *res);
/* As seal_check_png on a picture already decoded (w * h * 4 bytes of RGBA, e.g. by certdesk-decode:
 * certdeskd decodes no upload itself). Returns 0 with *res filled, or -1. */
int seal_check_rgba(const unsigned char *rgba, unsigned w, unsigned h, enum seal_slot slot, double width_mm,
		    const struct seal_opts *opts, struct seal_result *res);
/* Frees what res holds. */
void seal_result_free(struct seal_result *res);

#ifdef SEAL_EXTRACT_INTERNAL
/* Private to src/seal/extract*.c. */

/* An upright crop: RGB pixels and, after segmentation, per-pixel ink classes and alpha. */
struct seal_crop {
	unsigned w, h;
	double px_per_mm;
	unsigned char *rgb; /* w * h * 3 */
	float *alpha;       /* w * h: how red (0..1), the impression's opacity */
	unsigned char *cls; /* w * h: enum seal_cls */
	double paper[3];    /* the paper's colour (border median) */
	double paper_cb, paper_cr, paper_y;
	double ink; /* the red strength of well-inked pixels (90th percentile), set by seal_judge */
	int loose;  /* an uploaded picture: trimmed already, so touching the edge is no cut */
};

enum seal_cls { CLS_PAPER, CLS_RED, CLS_BLUE, CLS_DARK, CLS_LINE };

/* Samples box of img upright into crop (bilinear; the page's rotation undone). Returns 0 or -1. */
int seal_crop_take(const struct seal_rgb *img, const struct seal_page *page, const struct seal_box *box,
		   struct seal_crop *crop);
/* Builds a crop from an RGBA picture composited on white. Returns 0 or -1. */
int seal_crop_from_rgba(const unsigned char *rgba, unsigned w, unsigned h, double px_per_mm,
			struct seal_crop *crop);
void seal_crop_free(struct seal_crop *crop);
/* Estimates the paper colour and classifies every pixel (red, blue, dark, paper) with the red alpha. */
void seal_segment(struct seal_crop *crop);
/* Marks the printed frame lines (straight dark rows or columns at least min_len pixels long) CLS_LINE;
 * returns how many were found and sets *x0, *x1, *y0, *y1 to the innermost box they enclose (the
 * crop's edges on a side without one). */
int seal_find_frame(struct seal_crop *crop, double min_len, unsigned *x0, unsigned *x1, unsigned *y0,
		    unsigned *y1);
/* Removes connected components of cls smaller than min_area pixels (specks) and long thin ones
 * (lines). Returns how many pixels remain of cls. */
unsigned seal_clean(struct seal_crop *crop, enum seal_cls cls, unsigned min_area);
/* Judges the segmented crop; fills res's verdict, reason and measurements. Returns the class the
 * picture is made of (CLS_RED, CLS_DARK for a signature) or CLS_PAPER when nothing is kept. */
enum seal_cls seal_judge(struct seal_crop *crop, enum seal_slot slot, const struct seal_opts *opts,
			 struct seal_result *res);
/* Trims the crop to the pixels of cls and encodes them as a transparent PNG into res. Returns 0 or -1. */
int seal_export(const struct seal_crop *crop, enum seal_cls cls, struct seal_result *res);
#endif

#endif
