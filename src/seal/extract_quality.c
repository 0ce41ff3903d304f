/* The seed's impression rules as checks on a segmented crop: a red impression must be there, whole
 * (not cut by the box edge, not over the printed frame), strong and sharp, and without a background
 * tint; blue or black ink is refused, except a legal person's black signature where the project
 * allows it. Each refusal says why, in Chinese, for staff. */
#define SEAL_EXTRACT_INTERNAL
#include "seal/extract.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const codes[] = {"ok",   "signature", "no_impression", "cut",      "faint",
				    "tint", "blue_ink",  "black_ink",     "too_small"};

const char *seal_verdict_code(enum seal_verdict v)
{
	return (unsigned)v < sizeof(codes) / sizeof(codes[0]) ? codes[v] : "";
}

int seal_verdict_accepts(enum seal_verdict v)
{
	return v == SEAL_OK || v == SEAL_SIGNATURE;
}

/* Sets the verdict and its reason. */
static void verdict(struct seal_result *res, enum seal_verdict v, const char *reason)
{
	res->verdict = v;
	snprintf(res->reason, sizeof(res->reason), "%s", reason);
}

struct census {
	unsigned red, blue, dark;
	unsigned red_edge;    /* red pixels on the crop's outermost pixel ring */
	unsigned red_outside; /* red pixels beyond the printed frame */
	unsigned red_full;    /* red pixels inked at least 70 % of the strongest tenth */
	unsigned rx0, ry0, rx1, ry1;
};

/* Returns the pct quantile of the provisional red strength over the n red pixels (0 when none). */
static double red_median(const struct seal_crop *c, unsigned n, double pct)
{
	unsigned hist[256] = {0};
	unsigned want = (unsigned)(n * pct), seen = 0;

	for (size_t i = 0; i < (size_t)c->w * c->h; i++)
		if (c->cls[i] == CLS_RED)
			hist[c->alpha[i] > 255 ? 255 : (int)c->alpha[i]]++;
	for (int v = 0; v < 256; v++)
		if ((seen += hist[v]) > want)
			return v;
	return 0;
}

/* Counts the classes, inside the frame (fx0..fx1, fy0..fy1) for dark and blue ink. */
static void count(const struct seal_crop *c, unsigned fx0, unsigned fx1, unsigned fy0, unsigned fy1,
		  struct census *k)
{
	memset(k, 0, sizeof(*k));
	k->rx0 = c->w, k->ry0 = c->h;
	for (unsigned y = 0; y < c->h; y++)
		for (unsigned x = 0; x < c->w; x++) {
			unsigned char cls = c->cls[(size_t)y * c->w + x];
			int inside = x >= fx0 && x < fx1 && y >= fy0 && y < fy1;
			if (cls == CLS_RED) {
				k->red++;
				k->red_edge += x == 0 || y == 0 || x + 1 == c->w || y + 1 == c->h;
				k->red_outside += !inside;
				k->rx0 = x < k->rx0 ? x : k->rx0, k->rx1 = x > k->rx1 ? x : k->rx1;
				k->ry0 = y < k->ry0 ? y : k->ry0, k->ry1 = y > k->ry1 ? y : k->ry1;
			} else if (cls == CLS_BLUE && inside) {
				k->blue++;
			} else if (cls == CLS_DARK && inside) {
				k->dark++;
			}
		}
}

/* Judges an image that has no red: blue ink, black ink (a signature where allowed), or nothing. */
static enum seal_cls judge_no_red(const struct census *k, double box_px, enum seal_slot slot,
				  const struct seal_opts *opts, struct seal_result *res)
{
	int legal = slot == SEAL_LEGAL_1 || slot == SEAL_LEGAL_2;

	if (k->blue > 0.004 * box_px) {
		verdict(res, SEAL_BLUE, "印模为蓝色，须加盖红色原章");
		return CLS_PAPER;
	}
	if (k->dark > 0.004 * box_px) {
		if (legal && opts != NULL && opts->allow_signature) {
			verdict(res, SEAL_SIGNATURE, "");
			return CLS_DARK;
		}
		verdict(res, SEAL_BLACK,
			legal ? "框内为黑色字迹或黑色印章：法人章须为红色方章（本项目不接受法人签字代替）"
			      : "印模为黑色，须加盖红色原章（请勿提供打印、复印的印章）");
		return CLS_PAPER;
	}
	verdict(res, SEAL_NO_IMPRESSION, "框内没有印模");
	return CLS_PAPER;
}

/* Marks in near the pixels within r of a pixel that is set in src (a square window: a row pass, then a
 * column pass). */
static void dilate(const unsigned char *src, unsigned w, unsigned h, unsigned r, unsigned char *near)
{
	unsigned char *row = calloc((size_t)w * h, 1);

	if (row == NULL)
		return;
	for (unsigned y = 0; y < h; y++) {
		long last = -1000000;
		for (unsigned x = 0; x < w; x++) { /* forward: a set pixel at most r to the left */
			if (src[(size_t)y * w + x])
				last = x;
			row[(size_t)y * w + x] = (long)x - last <= (long)r;
		}
		last = 1000000;
		for (unsigned x = w; x-- > 0;) {
			if (src[(size_t)y * w + x])
				last = x;
			row[(size_t)y * w + x] |= last - (long)x <= (long)r;
		}
	}
	for (unsigned x = 0; x < w; x++) {
		long last = -1000000;
		for (unsigned y = 0; y < h; y++) {
			if (row[(size_t)y * w + x])
				last = y;
			near[(size_t)y * w + x] = (long)y - last <= (long)r;
		}
		last = 1000000;
		for (unsigned y = h; y-- > 0;) {
			if (row[(size_t)y * w + x])
				last = y;
			near[(size_t)y * w + x] |= last - (long)y <= (long)r;
		}
	}
	free(row);
}

struct tint {
	unsigned strokes; /* red pixels inked at least 30 % of the ink's strength */
	double stray;     /* weakly red pixels over 1 mm from any stroke, per stroke pixel */
	double haze;      /* share of the impression's box, away from the strokes, with a red cast */
};

/* Measures what red lies away from the strokes (ink pad haze, a pink background): weakly red pixels
 * and a faint cast of the paper over 1 mm from any stroke. A blurred edge is weak too, but it hugs
 * the strokes, and a smeared thin stroke still rises above 30 %. */
static void measure_tint(const struct seal_crop *c, const struct census *k, struct tint *t)
{
	size_t n = (size_t)c->w * c->h, far_red = 0, cast = 0, away = 0;
	unsigned char *ink = calloc(n, 1), *near = calloc(n, 1);

	memset(t, 0, sizeof(*t));
	if (ink == NULL || near == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		t->strokes += ink[i] = c->cls[i] == CLS_RED && c->alpha[i] >= 0.3 * c->ink;
	dilate(ink, c->w, c->h, (unsigned)lrint(c->px_per_mm), near);
	for (size_t i = 0; i < n; i++)
		far_red += c->cls[i] == CLS_RED && !ink[i] && !near[i];
	for (unsigned y = k->ry0; y <= k->ry1 && y < c->h; y++)
		for (unsigned x = k->rx0; x <= k->rx1 && x < c->w; x++) {
			size_t i = (size_t)y * c->w + x;
			if (near[i] || c->cls[i] == CLS_RED)
				continue;
			away++;
			cast += c->alpha[i] >= 9;
		}
	t->stray = t->strokes > 0 ? (double)far_red / t->strokes : 0;
	t->haze = away > 0 ? (double)cast / away : 0;
out:
	free(ink);
	free(near);
}

/* Judges a red impression: whole, strong, sharp, without a tint. */
static void judge_red(const struct seal_crop *c, const struct census *k, double box_px, int frame_known,
		      struct seal_result *res)
{
	struct tint tint;

	measure_tint(c, k, &tint);

	if (!c->loose && k->red_edge >= 3) {
		verdict(res, SEAL_CUT, "印模被框边截断，请调整裁剪框或重新盖章");
		return;
	}
	if (frame_known && k->red_outside > 0.01 * k->red) {
		verdict(res, SEAL_CUT, "印模压盖框线，不完整，请在框内重新盖章");
		return;
	}
	if (res->contrast < 40) {
		verdict(res, SEAL_FAINT, "印模颜色过浅，与纸张对比度不足，请重新盖章");
		return;
	}
	if (tint.strokes < 0.02 * box_px) {
		verdict(res, SEAL_FAINT, "印模过淡或不完整（红色笔画太少），须清晰可辨每一个字符");
		return;
	}
	if (c->paper_cr - 128 > 12 || tint.stray > 0.15 || tint.haze > 0.25) {
		verdict(res, SEAL_TINT, "印模有底色（印泥渗开或纸张有色），须无杂质、无底色");
		return;
	}
	if (res->sharpness < 0.55) {
		verdict(res, SEAL_FAINT, "印模模糊，笔画边缘不清，请重新盖章或重新扫描");
		return;
	}
	verdict(res, SEAL_OK, "");
}

enum seal_cls seal_judge(struct seal_crop *crop, enum seal_slot slot, const struct seal_opts *opts,
			 struct seal_result *res)
{
	unsigned fx0, fx1, fy0, fy1;
	double ppm = crop->px_per_mm;
	/* The printed frame's lines are as long as the box's side; a stamp's straight border is shorter. */
	int lines = seal_find_frame(crop, 0.8 * seal_slot_box_mm(slot) * ppm, &fx0, &fx1, &fy0, &fy1);
	double box_px = pow(seal_slot_box_mm(slot) * ppm, 2);
	/* Specks: anything under 0.4 mm square (scanner dust, toner dots). */
	unsigned speck = (unsigned)fmax(4, pow(0.4 * ppm, 2));
	struct census k;

	seal_clean(crop, CLS_RED, speck);
	seal_clean(crop, CLS_BLUE, speck);
	seal_clean(crop, CLS_DARK, speck);
	count(crop, fx0, fx1, fy0, fy1, &k);
	res->red_pixels = k.red, res->blue_pixels = k.blue, res->dark_pixels = k.dark;
	res->paper_r = crop->paper[0], res->paper_g = crop->paper[1], res->paper_b = crop->paper[2];
	if (k.red < 0.004 * box_px)
		return judge_no_red(&k, box_px, slot, opts, res);
	crop->ink = res->contrast = red_median(crop, k.red, 0.9);
	/* Sharp: most of the impression inked nearly as strongly as its strongest part. */
	for (size_t i = 0; i < (size_t)crop->w * crop->h; i++)
		k.red_full += crop->cls[i] == CLS_RED && crop->alpha[i] >= 0.7 * crop->ink;
	res->sharpness = (double)k.red_full / k.red;
	judge_red(crop, &k, box_px, lines > 0, res);
	return CLS_RED;
}
