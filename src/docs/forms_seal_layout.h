/* Where things are on the 签章采集表 (FORM_SEAL), in millimetres on the A4 page, origin at the top left:
 * the form's QR code and the four impression boxes. forms_seal.c draws from these numbers and
 * src/seal/extract*.c finds the boxes on a scan from them, so the two cannot drift apart. */
#ifndef CERTDESK_FORMS_SEAL_LAYOUT_H
#define CERTDESK_FORMS_SEAL_LAYOUT_H

#define FORMS_SEAL_LEFT 18.0   /* = FORMS_LEFT */
#define FORMS_SEAL_WIDTH 174.0 /* = FORMS_WIDTH */
/* The QR code every form prints at the top right (forms_frame): the square of FORMS_QR_SIZE holds the
 * code with its 4-module quiet zone; the dark part's top edge is at FORMS_QR_TOP and its right edge at
 * FORMS_QR_RIGHT. */
#define FORMS_QR_TOP 12.0
#define FORMS_QR_RIGHT 192.0 /* = FORMS_RIGHT */
#define FORMS_SEAL_QR_SIZE 30.0

#define FORMS_SEAL_LABEL_W 30.0
#define FORMS_SEAL_ROW_H 9.0
#define FORMS_SEAL_ROWS 3 /* identity rows */
#define FORMS_SEAL_GRID_TOP (70.0 /* FORMS_BODY_TOP */ + FORMS_SEAL_ROWS * FORMS_SEAL_ROW_H + 4) /* 101 */
#define FORMS_SEAL_HEAD 8.0                        /* heading row above each pair of boxes */
#define FORMS_SEAL_BIG 50.0                        /* 单位公章 impression box side */
#define FORMS_SEAL_SMALL 25.0                      /* 法人章 impression box side */
#define FORMS_SEAL_BIG_H (FORMS_SEAL_BIG + 16)     /* cell height around a big box */
#define FORMS_SEAL_SMALL_H (FORMS_SEAL_SMALL + 15) /* cell height around a small box */
#define FORMS_SEAL_CAPTION 7.0                     /* room kept for the caption under a box */

/* The impression boxes: 0 and 1 the unit seal (left, right), 2 and 3 the legal person's seal. */
#define FORMS_SEAL_NBOXES 4

/* Sets *x, *y (top left) and *side of impression box i (0..3). */
static inline void forms_seal_box_mm(int i, double *x, double *y, double *side)
{
	const double half = FORMS_SEAL_WIDTH / 2;
	const int big = i < 2, right = i % 2;
	const double cell_x = FORMS_SEAL_LEFT + (right ? half : 0);
	const double cell_y =
		FORMS_SEAL_GRID_TOP + FORMS_SEAL_HEAD + (big ? 0 : FORMS_SEAL_BIG_H + FORMS_SEAL_HEAD);
	const double cell_h = big ? FORMS_SEAL_BIG_H : FORMS_SEAL_SMALL_H;

	*side = big ? FORMS_SEAL_BIG : FORMS_SEAL_SMALL;
	*x = cell_x + (half - *side) / 2;
	*y = cell_y + (cell_h - *side - FORMS_SEAL_CAPTION) / 2;
}

/* Returns the width of the quiet zone the forms leave around text's QR code in a square of size mm
 * (forms_draw.c; 0 when text cannot be encoded). */
double forms_qr_quiet(const char *text, double size);

#endif
