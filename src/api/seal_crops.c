/* Seal pictures from the order's scanned 签章采集表, for staff (src/seal/extract.h does the work):
 *   GET  /admin/orders/{no}/seal-crops            the proposed boxes, located from the form's QR code,
 *                                                  with each box's quality verdict
 *   POST /admin/orders/{no}/seal-crops/extract    pictures of the boxes staff confirmed or adjusted
 *   POST /admin/orders/{no}/seal-crops/check-png  the same checks on a clean PNG staff made
 * One shape each: read the order and the scan with a pooled connection, give it back, then decode and
 * process (seconds on a 300 dpi page) holding none. Nothing is written. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "docs/image.h"
#include "api/seal_scan.h"
#include "seal/extract.h"
#include "util/xalloc.h"

static const char *const slot_labels[SEAL_NSLOTS] = {"单位公章印模（一）", "单位公章印模（二）",
						     "法定代表人印章（一）", "法定代表人印章（二）"};

/* Loads the order and its scan (api_seal_scan_read), answering 409 for an order without seals.
 * Returns 0, or -1 after replying. */
static int scan_read(struct http_req *r, struct seal_scan *s)
{
	if (api_seal_scan_read(r, 1, s) != 0)
		return -1;
	if (!s->has_seal)
		return http_reply_error(r, 409, "no_seal", "该订单的证书不含电子签章（副锁），无需签章采集表",
					NULL),
		       -1;
	return 0;
}

/* Returns the page transform as the API shows it. */
static json_t *page_json(const struct seal_page *p, const struct seal_scan *s)
{
	json_t *j = json_pack("{s:b, s:f, s:f, s:{s:s, s:i, s:i}}", "located", p->located, "px_per_mm",
			      round(p->px_per_mm * 1000) / 1000, "angle_deg", round(p->angle_deg * 100) / 100,
			      "scan", "sha256", s->d.sha256, "width", (json_int_t)s->d.width, "height",
			      (json_int_t)s->d.height);

	/* Form millimetres to scan pixels: px = a·x − b·y + tx, py = b·x + a·y + ty. */
	json_object_set_new(
		j, "transform",
		json_pack("{s:f, s:f, s:f, s:f}", "a", p->a, "b", p->b, "tx", p->tx, "ty", p->ty));
	if (!p->located)
		json_object_set_new(
			j, "message",
			json_string(
				"未能识别扫描件上的二维码：裁剪框按整页端正扫描估计，请逐个核对并手动调整"));
	return j;
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

/* Returns what extraction found, the picture included when with_png. */
static json_t *result_json(enum seal_slot slot, const struct seal_result *res, int with_png)
{
	json_t *j = json_pack("{s:s, s:s, s:b, s:s}", "slot", seal_slot_name(slot), "verdict",
			      seal_verdict_code(res->verdict), "accepted", seal_verdict_accepts(res->verdict),
			      "reason", res->reason);

	json_object_set_new(j, "measurements",
			    json_pack("{s:i, s:i, s:i, s:f, s:f}", "red_pixels", (json_int_t)res->red_pixels,
				      "blue_pixels", (json_int_t)res->blue_pixels, "dark_pixels",
				      (json_int_t)res->dark_pixels, "contrast",
				      round(res->contrast * 10) / 10, "sharpness",
				      round(res->sharpness * 1000) / 1000));
	if (res->png == NULL)
		return j;
	json_object_set_new(j, "width_px", json_integer(res->width_px));
	json_object_set_new(j, "height_px", json_integer(res->height_px));
	json_object_set_new(j, "width_mm", json_real(round(res->width_mm * 10) / 10));
	json_object_set_new(j, "height_mm", json_real(round(res->height_mm * 10) / 10));
	if (with_png) {
		char *s = b64(res->png, res->png_len);
		json_object_set_new(j, "png_base64", s != NULL ? json_string(s) : json_null());
		free(s);
	}
	return j;
}

/* Returns a box as the API shows it: top left and size in scan pixels. */
static json_t *box_json(enum seal_slot slot, const struct seal_box *b)
{
	return json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f}", "slot", seal_slot_name(slot), "label",
			 slot_labels[slot], "box_mm", seal_slot_box_mm(slot), "x", round(b->cx - b->w / 2),
			 "y", round(b->cy - b->h / 2), "w", round(b->w), "h", round(b->h));
}

/* GET: the proposed boxes and their verdicts (no pictures: the page shows them from /extract). */
static json_t *propose(const struct seal_rgb *img, const struct seal_page *page,
		       const struct seal_box boxes[SEAL_NSLOTS], const struct seal_opts *opts)
{
	json_t *items = json_array();

	for (int i = 0; i < SEAL_NSLOTS; i++) {
		struct seal_result res;
		json_t *b = box_json(i, &boxes[i]);
		if (seal_extract(img, page, i, &boxes[i], opts, &res) == 0)
			json_object_set_new(b, "quality", result_json(i, &res, 0));
		seal_result_free(&res);
		json_array_append_new(items, b);
	}
	return items;
}

int api_seal_crops_get(struct http_req *r)
{
	const char *sig = http_query(r, "allow_signature");
	struct seal_opts opts = {.allow_signature = sig != NULL && strcmp(sig, "true") == 0};
	struct seal_scan s;
	struct seal_rgb img = {0};
	struct seal_page page;
	struct seal_box boxes[SEAL_NSLOTS];
	json_t *out;

	if (scan_read(r, &s) != 0 || api_seal_scan_open(r, &s, &img, &page, boxes) != 0) {
		api_seal_scan_free(&s);
		return 0;
	}
	out = page_json(&page, &s);
	json_object_set_new(out, "boxes", propose(&img, &page, boxes, &opts));
	seal_rgb_free(&img);
	api_seal_scan_free(&s);
	return http_reply_json(r, 200, out);
}

/* Reads number field name of o within [lo, hi] into *v; records an error otherwise. */
static void box_number(struct form *f, json_t *o, const char *name, const char *path, double lo, double hi,
		       double *v)
{
	json_t *j = json_object_get(o, name);

	*v = json_is_number(j) ? json_number_value(j) : NAN;
	if (!(*v >= lo && *v <= hi))
		form_error(f, 422, path, "invalid_box", "裁剪框的位置或大小不在扫描件范围内");
}

/* Parses {"boxes": [{slot, x, y, w, h}, ...]} (1 to 4 boxes, each slot once) into boxes and slots;
 * returns how many, or 0 with errors recorded in f. */
static int parse_boxes(struct form *f, const struct seal_scan *s, struct seal_box boxes[SEAL_NSLOTS],
		       int slots[SEAL_NSLOTS])
{
	json_t *arr = json_object_get(f->body, "boxes"), *it;
	const double W = s->d.width, H = s->d.height;
	unsigned seen = 0;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > SEAL_NSLOTS) {
		form_error(f, 422, "boxes", "invalid_box", "须给出 1 至 4 个裁剪框");
		return 0;
	}
	json_array_foreach (arr, i, it) {
		char path[32];
		double x, y, w, h;
		int slot = seal_slot_parse(json_string_value(json_object_get(it, "slot")));
		snprintf(path, sizeof(path), "boxes[%zu]", i);
		if (slot < 0 || (seen & 1u << slot)) {
			form_error(f, 422, path, "invalid_slot",
				   "裁剪框的 slot 须为 unit_1、unit_2、legal_1、legal_2 之一且不重复");
			continue;
		}
		seen |= 1u << slot;
		box_number(f, it, "w", path, 8, W, &w);
		box_number(f, it, "h", path, 8, H, &h);
		box_number(f, it, "x", path, -w / 2, W - w / 2, &x);
		box_number(f, it, "y", path, -h / 2, H - h / 2, &y);
		slots[i] = slot;
		boxes[i] = (struct seal_box){x + w / 2, y + h / 2, w, h};
	}
	return form_failed(f) ? 0 : (int)json_array_size(arr);
}

int api_seal_crops_extract(struct http_req *r)
{
	json_t *body = http_json_body(r), *results;
	struct seal_scan s;
	struct seal_rgb img = {0};
	struct seal_page page;
	struct seal_box proposed[SEAL_NSLOTS], boxes[SEAL_NSLOTS];
	int slots[SEAL_NSLOTS], n;
	struct seal_opts opts = {0};
	struct form f;
	json_t *out;

	if (body == NULL)
		return 0;
	if (scan_read(r, &s) != 0) {
		api_seal_scan_free(&s);
		json_decref(body);
		return 0;
	}
	form_init(&f, r, body);
	opts.allow_signature = form_bool(&f, "allow_signature");
	n = parse_boxes(&f, &s, boxes, slots);
	if (n == 0 || api_seal_scan_open(r, &s, &img, &page, proposed) != 0) {
		api_seal_scan_free(&s);
		if (n == 0)
			return form_finish(&f, body, 422, NULL);
		form_free(&f);
		json_decref(body);
		return 0;
	}
	results = json_array();
	for (int i = 0; i < n; i++) {
		struct seal_result res;
		if (seal_extract(&img, &page, slots[i], &boxes[i], &opts, &res) == 0)
			json_array_append_new(results, result_json(slots[i], &res, 1));
		else
			form_error(&f, 422, "boxes", "invalid_box", "裁剪框无法裁剪");
		seal_result_free(&res);
	}
	out = page_json(&page, &s);
	json_object_set_new(out, "results", results);
	seal_rgb_free(&img);
	api_seal_scan_free(&s);
	return form_finish(&f, body, 200, out);
}

/* Checks that the order of the path exists and carries seals (staff). Returns 0, or -1 after replying. */
static int seal_order(struct http_req *r)
{
	struct seal_scan s;
	int rc = api_seal_scan_read(r, 0, &s);

	api_seal_scan_free(&s);
	if (rc != 0)
		return -1;
	if (!s.has_seal)
		return http_reply_error(r, 409, "no_seal", "该订单的证书不含电子签章（副锁），无需签章图片",
					NULL),
		       -1;
	return 0;
}

/* Parses the optional width_mm text field (5 to 80 mm); 0 when absent. Records an error otherwise. */
static double width_field(struct form *f)
{
	const char *t = form_text(f, "width_mm", "印章宽度", 1, 10, 0);
	char *end = NULL;
	double v;

	if (t == NULL)
		return 0;
	v = strtod(t, &end);
	if (end == t || *end != '\0' || !(v >= 5 && v <= 80)) {
		form_error(f, 422, "width_mm", "invalid_width", "印章宽度须为 5 至 80 毫米");
		return 0;
	}
	return v;
}

/* Runs the checks on an uploaded PNG; returns the reply body or NULL with f failed. */
static json_t *check_upload(struct form *f, const struct http_upload *u)
{
	const char *slot_name = form_text(f, "slot", "印章", 1, 16, 1);
	const char *sig = form_text(f, "allow_signature", "允许签字", 1, 8, 0);
	int slot = seal_slot_parse(slot_name);
	double width = width_field(f);
	struct seal_opts opts = {.allow_signature = sig != NULL && strcmp(sig, "true") == 0};
	struct seal_result res;
	struct decode_facts *facts;
	json_t *out;

	if (slot_name != NULL && slot < 0)
		form_error(f, 422, "slot", "invalid_slot", "slot 须为 unit_1、unit_2、legal_1、legal_2 之一");
	if (u->len < 8 || memcmp(u->data, "\x89PNG\r\n\x1a\n", 8) != 0)
		form_error(f, 415, "file", "file_type", "请上传 PNG 图片（透明或白色背景）");
	if (form_failed(f))
		return NULL;
	/* decoded by certdesk-decode (the sandboxed helper) like every upload */
	facts = xcalloc(sizeof(*facts));
	enum decode_status st = api_seal_check_png(u->data, u->len, slot, width, &opts, &res, facts);
	if (st != DECODE_OK) {
		form_error(f, st == DECODE_FAILED ? 422 : 415, "file", facts->code, facts->message);
		free(facts);
		return NULL;
	}
	free(facts);
	out = result_json(slot, &res, 1);
	seal_result_free(&res);
	return out;
}

int api_seal_crops_check_png(struct http_req *r)
{
	struct http_upload u;
	struct form f;
	json_t *ok;

	if (seal_order(r) != 0)
		return 0;
	if (http_multipart(r, IMAGE_MAX_BYTES, &u) != 0) {
		http_upload_free(&u);
		return 0;
	}
	form_init(&f, r, u.fields);
	ok = check_upload(&f, &u);
	u.fields = NULL; /* form_finish releases it */
	http_upload_free(&u);
	return form_finish(&f, f.body, 200, ok);
}
