/* The seal pictures staff choose for a main-key order (issue 14), what production puts in its seals:
 *   PUT /admin/orders/{no}/seal-pictures/{seal}   seal = org (单位公章) | legal (法人章); the body is
 *       {"slot", "box": {x, y, w, h}, "allow_signature"?}: cut out of the order's seal-form scan
 *       (src/seal/extract.h, as POST .../seal-crops/extract does), or {"png": base64, "width_mm"?,
 *       "allow_signature"?}: staff's own clean PNG (the checks of .../seal-crops/check-png).
 *       The quality check must accept it (422 picture_<verdict> with the reason otherwise).
 *   GET /admin/orders/{no}/seal-pictures          both (null when not chosen yet)
 * The scan is read with a pooled connection, given back, processed (seconds at 300 dpi) holding
 * none, and the choice written in a transaction. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "api/seal_scan.h"
#include "config/config.h"
#include "docs/image.h"
#include "seal/extract.h"
#include "util/strutil.h"
#include "util/xalloc.h"

/* A picture larger than this would not fit the seal the signer signs (65,536 bytes with the
 * organisation's certificate and the names). */
#define PICTURE_MAX_BYTES (56 * 1024)

static const struct {
	const char *name, *label;
	enum seal_slot slots[2]; /* the form's boxes of this seal */
} seals[2] = {
	{"org", "单位公章", {SEAL_UNIT_1, SEAL_UNIT_2}},
	{"legal", "法人章", {SEAL_LEGAL_1, SEAL_LEGAL_2}},
};

/* Returns the index of seal name, or -1. */
static int seal_index(const char *name)
{
	for (int i = 0; name != NULL && i < 2; i++)
		if (strcmp(seals[i].name, name) == 0)
			return i;
	return -1;
}

/* Returns base64 of len bytes (caller frees), or NULL. */
static char *b64(const unsigned char *d, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);

	if (out != NULL)
		sodium_bin2base64(out, n, d, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Returns p as the API shows it. */
static json_t *picture_json(const struct seal_picture_rec *p)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:s, s:s, s:s, s:s}", "seal", p->seal,
			      "png_base64", p->png_b64, "sha256", p->sha256, "width_px",
			      (json_int_t)p->width_px, "height_px", (json_int_t)p->height_px, "width_mm",
			      p->width_mm10 / 10.0, "height_mm", p->height_mm10 / 10.0, "source", p->source,
			      "verdict", p->verdict, "chosen_by", p->chosen_by, "chosen_at", p->chosen_at);

	if (p->slot[0] != '\0')
		json_object_set_new(j, "slot", json_string(p->slot));
	if (p->box != NULL)
		json_object_set_new(j, "box", json_loads(p->box, 0, NULL));
	return j;
}

/* --- GET --- */

static int pictures_get(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	json_t *out = json_pack("{s:s}", "order_no", o->order_no);

	for (int i = 0; i < 2; i++) {
		struct seal_picture_rec p = {0};
		int rc = store_seal_picture_get(c, o->id, seals[i].name, &p);
		if (rc != DB_OK && rc != DB_NOTFOUND) {
			json_decref(out);
			return api_internal(r, "seal picture read");
		}
		json_object_set_new(out, seals[i].name, rc == DB_OK ? picture_json(&p) : json_null());
		store_seal_picture_free(&p);
	}
	return http_reply_json(r, 200, out);
}

int api_seal_pictures_get(struct http_req *r)
{
	return api_on_order(r, 0, pictures_get);
}

/* --- PUT --- */

struct choice {
	struct seal_scan scan; /* the order and, for a cut-out, its scan */
	int seal;              /* index in seals */
	int from_scan;         /* 1: slot and box; 0: png */
	enum seal_slot slot;
	double x, y, w, h;   /* the box, scan pixels (top left and size) */
	unsigned char *data; /* the uploaded PNG */
	size_t len;
	double width_mm; /* upload: the real width when given (0: the usual) */
	struct seal_opts opts;
	struct seal_picture_rec pic;
	struct actor a;
};

static void choice_free(struct choice *ch)
{
	api_seal_scan_free(&ch->scan);
	free(ch->data);
	store_seal_picture_free(&ch->pic);
}

/* Reads number name of o into *v; records an error unless it is within [lo, hi]. */
static void number(struct form *f, json_t *o, const char *name, double lo, double hi, double *v)
{
	json_t *j = json_object_get(o, name);

	*v = json_is_number(j) ? json_number_value(j) : NAN;
	if (!(*v >= lo && *v <= hi))
		form_error(f, 422, "box", "invalid_box", "裁剪框的位置或大小不在扫描件范围内");
}

/* Parses the body's shape (not yet the box against the scan). Returns 0 or -1 with f. */
static int choice_fields(struct http_req *r, struct form *f, json_t *body, struct choice *ch)
{
	const char *slot = json_string_value(json_object_get(body, "slot"));
	const char *png = json_string_value(json_object_get(body, "png"));
	const char *q = http_query(r, "allow_signature");
	json_t *box = json_object_get(body, "box"), *wm = json_object_get(body, "width_mm");

	ch->opts.allow_signature = form_bool(f, "allow_signature") || (q != NULL && strcmp(q, "true") == 0);
	ch->from_scan = slot != NULL || box != NULL;
	if (ch->from_scan == (png != NULL))
		return form_error(f, 422, NULL, "field_invalid",
				  "请给出 slot 和 box（从签章采集表扫描件裁剪），或 "
				  "png（自行制作的印章图片），二者选一"),
		       -1;
	if (ch->from_scan) {
		int s = seal_slot_parse(slot);
		if (s < 0 || (s != (int)seals[ch->seal].slots[0] && s != (int)seals[ch->seal].slots[1]))
			form_error(f, 422, "slot", "invalid_slot",
				   ch->seal == 0 ? "单位公章的 slot 须为 unit_1 或 unit_2"
						 : "法人章的 slot 须为 legal_1 或 legal_2");
		if (!json_is_object(box))
			form_error(f, 422, "box", "invalid_box",
				   "请给出裁剪框 box {x, y, w, h}（扫描件像素）");
		ch->slot = s < 0 ? SEAL_UNIT_1 : (enum seal_slot)s;
		return form_failed(f) ? -1 : 0;
	}
	ch->slot = seals[ch->seal].slots[0];
	if (wm != NULL && !(json_is_number(wm) && json_number_value(wm) >= 5 && json_number_value(wm) <= 80))
		form_error(f, 422, "width_mm", "invalid_width", "印章宽度须为 5 至 80 毫米");
	ch->width_mm = wm != NULL ? json_number_value(wm) : 0;
	ch->data = malloc(strlen(png) + 1);
	if (ch->data == NULL ||
	    sodium_base642bin(ch->data, strlen(png) + 1, png, strlen(png), "\r\n", &ch->len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    ch->len < 8 || memcmp(ch->data, "\x89PNG\r\n\x1a\n", 8) != 0)
		form_error(f, 415, "png", "file_type", "png 应为 base64 编码的 PNG 图片（透明或白色背景）");
	else if (ch->len > IMAGE_MAX_BYTES)
		form_error(f, 413, "png", "body_too_large", "印章图片过大，请压缩后重新上传");
	return form_failed(f) ? -1 : 0;
}

/* Loads the order (a main key's) and, for a cut-out, its scan (api_seal_scan_read). Returns 0, or -1
 * after replying. */
static int choice_read(struct http_req *r, struct choice *ch)
{
	if (api_seal_scan_read(r, ch->from_scan, &ch->scan) != 0)
		return -1;
	if (!ch->scan.has_seal)
		return http_reply_error(r, 409, "no_seal_for_secondary", "副锁不含电子签章，无需选定印章图片",
					NULL),
		       -1;
	return 0;
}

/* Cuts the box out of the scan into *res (no connection held). Returns 0, or -1 after replying. */
static int cut_out(struct http_req *r, struct form *f, json_t *body, struct choice *ch,
		   struct seal_result *res)
{
	json_t *box = json_object_get(body, "box");
	struct seal_rgb img = {0};
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS], b;
	int rc;

	if (api_seal_scan_open(r, &ch->scan, &img, &page, boxes) != 0)
		return -1;
	number(f, box, "w", 8, img.w, &ch->w);
	number(f, box, "h", 8, img.h, &ch->h);
	number(f, box, "x", -ch->w / 2, img.w - ch->w / 2, &ch->x);
	number(f, box, "y", -ch->h / 2, img.h - ch->h / 2, &ch->y);
	if (form_failed(f)) {
		seal_rgb_free(&img);
		return form_reply(f), -1;
	}
	b = (struct seal_box){ch->x + ch->w / 2, ch->y + ch->h / 2, ch->w, ch->h};
	rc = seal_extract(&img, &page, ch->slot, &b, &ch->opts, res);
	seal_rgb_free(&img);
	if (rc != 0)
		return http_reply_error(r, 422, "invalid_box", "裁剪框无法裁剪", "box"), -1;
	return 0;
}

/* Checks staff's own PNG into *res, decoded by certdesk-decode like every upload. Returns 0, or -1
 * after replying. */
static int check_own(struct http_req *r, struct choice *ch, struct seal_result *res)
{
	struct decode_facts *f = xcalloc(sizeof(*f));
	enum decode_status st = api_seal_check_png(ch->data, ch->len, ch->slot, ch->width_mm, &ch->opts, res, f);

	if (st != DECODE_OK)
		http_reply_error(r, st == DECODE_FAILED ? 422 : 415, f->code, f->message, "png");
	free(f);
	return st == DECODE_OK ? 0 : -1;
}

/* Judges res and fills ch->pic from it. Returns 0, or -1 after replying 422. */
static int accept_result(struct http_req *r, struct choice *ch, const struct seal_result *res)
{
	struct seal_picture_rec *p = &ch->pic;
	unsigned char hash[32];
	char code[40];

	if (!seal_verdict_accepts(res->verdict) || res->png == NULL) {
		snprintf(code, sizeof(code), "picture_%s", seal_verdict_code(res->verdict));
		return http_reply_error(r, 422, code, res->reason[0] ? res->reason : "印章图片未通过质量检查",
					ch->from_scan ? "box" : "png"),
		       -1;
	}
	if (res->png_len > PICTURE_MAX_BYTES)
		return http_reply_error(
			       r, 422, "picture_too_large",
			       "印章图片超过 56 KB，放不进电子签章：请缩小图片（或降低扫描分辨率）后重试",
			       ch->from_scan ? "box" : "png"),
		       -1;
	p->order_id = ch->scan.o.id;
	str_copy(p->seal, seals[ch->seal].name, sizeof(p->seal));
	p->png_b64 = b64(res->png, res->png_len);
	crypto_hash_sha256(hash, res->png, res->png_len);
	sodium_bin2hex(p->sha256, sizeof(p->sha256), hash, sizeof(hash));
	p->width_px = (int)res->width_px;
	p->height_px = (int)res->height_px;
	p->width_mm10 = (int)lround(res->width_mm * 10);
	p->height_mm10 = (int)lround(res->height_mm * 10);
	str_copy(p->source, ch->from_scan ? "scan" : "upload", sizeof(p->source));
	str_copy(p->verdict, seal_verdict_code(res->verdict), sizeof(p->verdict));
	if (ch->from_scan) {
		json_t *bj = json_pack("{s:f, s:f, s:f, s:f}", "x", round(ch->x), "y", round(ch->y), "w",
				       round(ch->w), "h", round(ch->h));
		str_copy(p->slot, seal_slot_name(ch->slot), sizeof(p->slot));
		p->box = json_dumps(bj, JSON_COMPACT);
		json_decref(bj);
	}
	return p->png_b64 != NULL ? 0 : (api_internal(r, "picture base64"), -1);
}

static int choice_tx(struct db_conn *c, void *arg)
{
	struct choice *ch = arg;
	return store_seal_picture_put(c, &ch->pic, ch->scan.o.order_no, &ch->a);
}

/* Processes and records the choice (after choice_read). Returns 0 (replied). */
static int choose(struct http_req *r, struct form *f, json_t *body, struct choice *ch)
{
	struct app *app = http_ctx(r);
	struct seal_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	if (ch->from_scan) {
		if (cut_out(r, f, body, ch, &res) != 0) {
			seal_result_free(&res);
			return 0;
		}
	} else if (check_own(r, ch, &res) != 0) {
		seal_result_free(&res);
		return 0;
	}
	rc = accept_result(r, ch, &res);
	seal_result_free(&res);
	if (rc != 0)
		return 0;
	if (db_tx(app->db, choice_tx, ch) != DB_OK)
		return api_internal(r, "seal picture write");
	return http_reply_json(r, 200, picture_json(&ch->pic));
}

int api_seal_pictures_put(struct http_req *r)
{
	json_t *body;
	struct choice ch = {.a = api_actor(r), .seal = seal_index(http_param(r, "seal"))};
	struct form f;

	if (ch.seal < 0)
		return http_reply_error(r, 404, "not_found", "印章只能是 org（单位公章）或 legal（法人章）",
					NULL);
	if ((body = http_json_body(r)) == NULL)
		return 0;
	form_init(&f, r, body);
	if (choice_fields(r, &f, body, &ch) != 0) {
		choice_free(&ch);
		return form_finish(&f, body, 200, NULL);
	}
	if (choice_read(r, &ch) == 0)
		choose(r, &f, body, &ch);
	choice_free(&ch);
	form_free(&f);
	json_decref(body);
	return 0;
}
