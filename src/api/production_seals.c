/* The electronic seals of a main key (issue 14), made at production:
 *   POST .../production/seals       makes the two GB/T 38540 seals (单位公章 org, 法人章 legal) for the
 *                                    key's signing certificate with the issuing CA's SM2 seal maker
 *                                    through certdesk-signer; one pair per order, key and certificate
 *   GET  /admin/orders/{no}/seals    staff: the seals of the order's key, with their pictures
 *   GET  /admin/orders/{no}/seals/{seal}.esl, /orders/{no}/seals[/{seal}.esl]   the seal files (the
 *                                    organisation's once the key is written and the order produced)
 * and the read-back check of POST .../production/complete (production_seals_readback). Making reads
 * everything with a pooled connection, gives it back, has the signer sign (a round trip), then
 * writes in a transaction: a retry, or a concurrent request, ends with the same seals. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "api/production.h"
#include "config/config.h"
#include "pki/pki.h"
#include "seal/seal.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define NTYPES 2

/* The two seals of a main key: the API's name, the seal's property type, the file name on the key
 * (SKF file / PKCS#11 CKO_DATA label, at most 32 bytes) and what staff call it. */
static const struct {
	const char *name;
	int type;
	const char *file;
	const char *label;
} types[NTYPES] = {
	{"org", SEAL_TYPE_ORG, PRODUCTION_SEAL_FILE_ORG, "单位公章"},
	{"legal", SEAL_TYPE_LEGAL_PERSON, PRODUCTION_SEAL_FILE_LEGAL, "法人章"},
};

/* Returns the index of type name in types, or -1. */
static int type_index(const char *name)
{
	for (int i = 0; name != NULL && i < NTYPES; i++)
		if (strcmp(types[i].name, name) == 0)
			return i;
	return -1;
}

/* Returns the seal s as the API shows it; with the file (esl, base64) when with_der. */
static json_t *seal_json(const struct seal_rec *s, int with_der)
{
	int t = type_index(s->type);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", s->type, "file",
			      t >= 0 ? types[t].file : "", "es_id", s->es_id, "cert_serial", s->cert_serial,
			      "sha256", s->sha256, "valid_start", s->valid_start, "valid_end", s->valid_end,
			      "state", s->state, "created_at", s->created_at);

	if (with_der)
		json_object_set_new(j, "esl", json_string(s->der_b64));
	return j;
}

static void seals_free(struct seal_rec *s, int n)
{
	for (int i = 0; i < n; i++)
		store_seal_free(&s[i]);
}

/* --- POST .../production/seals --- */

struct make {
	struct order_rec o;
	struct usbkey_rec key;
	struct cert_rec cert; /* the key's signing certificate */
	struct seal_picture_rec pics[NTYPES];
	char names[NTYPES][404]; /* the organisation's registered name, the legal person's name */
	char maker_id[48];
	char *maker_b64;
	struct seal_rec have[NTYPES]; /* the seals already made for the key and certificate */
	int nhave;
	struct seal_rec made[NTYPES];
	int nmade;
	struct actor a;
};

static void make_free(struct make *m)
{
	store_order_free(&m->o);
	store_usbkey_free(&m->key);
	store_cert_free(&m->cert);
	for (int i = 0; i < NTYPES; i++)
		store_seal_picture_free(&m->pics[i]);
	free(m->maker_b64);
	seals_free(m->have, m->nhave);
	seals_free(m->made, m->nmade);
}

/* Returns 1 when the seals of type index t are among m->have. */
static int have_type(const struct make *m, int t)
{
	for (int i = 0; i < m->nhave; i++)
		if (strcmp(m->have[i].type, types[t].name) == 0)
			return 1;
	return 0;
}

/* Reads the pictures, names and seal maker (c held briefly). Returns 0, or -1 after replying. */
static int make_inputs(struct http_req *r, struct db_conn *c, struct make *m)
{
	struct org_rec org = {0};
	json_t *form = json_loads(m->o.form != NULL ? m->o.form : "{}", 0, NULL);
	const char *legal = json_string_value(json_object_get(form, "legal_name"));
	char missing[64] = "";
	int rc;

	for (int i = 0; i < NTYPES; i++) {
		rc = store_seal_picture_get(c, m->o.id, types[i].name, &m->pics[i]);
		if (rc == DB_NOTFOUND)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
				 missing[0] ? "、" : "", types[i].label);
		else if (rc != DB_OK)
			return json_decref(form), api_internal(r, "seal picture read"), -1;
	}
	if (missing[0] != '\0') {
		char msg[160];
		json_decref(form);
		snprintf(msg, sizeof(msg), "尚未选定%s的图片，请先在签章采集表中选定印章图片", missing);
		return http_reply_error(r, 409, "seal_pictures_missing", msg, NULL), -1;
	}
	if (legal == NULL || legal[0] == '\0') {
		json_decref(form);
		return http_reply_error(r, 409, "legal_person_missing",
					"订单中没有法定代表人姓名，无法制作法人章", NULL),
		       -1;
	}
	str_copy(m->names[1], legal, sizeof(m->names[1]));
	json_decref(form);
	if (store_org_get_id(c, m->o.org_id, &org) != DB_OK)
		return api_internal(r, "seal organisation read"), -1;
	str_copy(m->names[0], org.name, sizeof(m->names[0]));
	rc = store_ca_sealmaker(c, m->cert.ca_key_id, m->maker_id, &m->maker_b64);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 503, "seal_maker_missing",
					"CA 尚无 SM2 制章人证书（certdesk ca init 会生成 "
					"sm2-sealmaker-1），无法制作电子签章",
					NULL),
		       -1;
	return rc == DB_OK ? 0 : (api_internal(r, "seal maker read"), -1);
}

/* Reads what making needs (c held, no slow work). Returns 0 (m->nhave == NTYPES: nothing to make),
 * or -1 after replying. */
static int make_read(struct http_req *r, struct db_conn *c, struct make *m)
{
	struct key_type_rec kt = {0};
	int rc;

	if (api_staff_order(r, c, &m->o) != 0)
		return -1;
	if (store_key_type_get(c, m->o.project_id, m->o.key_type, &kt) != DB_OK || !kt.has_seal)
		return http_reply_error(r, 409, "no_seal_for_secondary",
					"副锁不含电子签章，只有主锁制作电子签章", NULL),
		       -1;
	if (strcmp(m->o.state, "producing") != 0)
		return http_reply_error(r, 409, "state_conflict", "订单不在制证中，请刷新", NULL), -1;
	rc = store_usbkey_live_of_order(c, m->o.id, &m->key);
	if (rc == DB_NOTFOUND || (rc == DB_OK && strcmp(m->key.state, "producing") != 0))
		return http_reply_error(r, 409, "production_not_started",
					"该订单尚未开始制证（未登记 USB Key）", NULL),
		       -1;
	if (rc != DB_OK)
		return api_internal(r, "seal key read"), -1;
	rc = store_cert_of_order(c, m->o.id, "sign", &m->cert);
	if (rc == DB_NOTFOUND ||
	    (rc == DB_OK && (m->cert.usb_key_id != m->key.id || strcmp(m->cert.status, "good") != 0)))
		return http_reply_error(r, 409, "certificate_missing",
					"该 USB Key 的签名证书尚未签发，请先签发证书再制作电子签章", NULL),
		       -1;
	if (rc != DB_OK ||
	    store_seals_of_key(c, m->key.id, m->cert.serial, m->have, NTYPES, &m->nhave) != DB_OK)
		return api_internal(r, "seal certificate read"), -1;
	if (m->nhave == NTYPES)
		return 0;
	return make_inputs(r, c, m);
}

/* Returns the HTTP status of a seal_make error. */
static unsigned make_status(int e)
{
	return e == SEAL_ERR_INPUT            ? 422
	       : e == SEAL_ERR_SIGNER_DOWN    ? 503
	       : e == SEAL_ERR_SIGNER_REFUSED ? 502
					      : 500;
}

/* Makes the seal of type index t into m->made (no connection held: the signer's round trip). Returns
 * 0, or -1 after replying. */
static int make_one(struct http_req *r, struct make *m, int t)
{
	struct app *app = http_ctx(r);
	const struct seal_picture_rec *p = &m->pics[t];
	size_t png_len = 0, cert_len = 0, maker_len = 0, out_len = 0;
	unsigned char *png = pki_b64_decode(p->png_b64, &png_len),
		      *cert = pki_b64_decode(m->cert.der_b64, &cert_len),
		      *maker = pki_b64_decode(m->maker_b64, &maker_len), *out = NULL, hash[32];
	struct seal_rec *s = &m->made[m->nmade];
	char es_id[72], err[512] = "", hex[65];
	struct seal_in in = {0};
	int e = SEAL_ERR_INTERNAL;

	snprintf(es_id, sizeof(es_id), "%s-%d", m->o.order_no, types[t].type);
	in = (struct seal_in){
		.type = types[t].type,
		.es_id = es_id,
		.name = m->names[t],
		.cert_der = cert,
		.cert_len = cert_len,
		.png = png,
		.png_len = png_len,
		.width_mm = (int)lround(p->width_mm10 / 10.0) > 0 ? (int)lround(p->width_mm10 / 10.0) : 1,
		.height_mm = (int)lround(p->height_mm10 / 10.0) > 0 ? (int)lround(p->height_mm10 / 10.0) : 1};
	if (png != NULL && cert != NULL && maker != NULL)
		e = seal_make(&in, app->cfg->signer_socket, m->maker_id, maker, maker_len, &out, &out_len,
			      err, sizeof(err));
	free(png);
	free(cert);
	free(maker);
	if (e != SEAL_OK) {
		log_error("production", "seal %s of %s, request %s: %s", types[t].name, m->o.order_no,
			  http_request_id(r), err);
		http_set_error_what(r, seal_err_code(e));
		return http_reply_error(r, make_status(e), seal_err_code(e),
					err[0] != '\0' ? err : "电子签章制作失败，请稍后重试", NULL),
		       -1;
	}
	memset(s, 0, sizeof(*s));
	crypto_hash_sha256(hash, out, out_len);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	s->order_id = m->o.id;
	s->usb_key_id = m->key.id;
	str_copy(s->cert_serial, m->cert.serial, sizeof(s->cert_serial));
	str_copy(s->type, types[t].name, sizeof(s->type));
	str_copy(s->es_id, es_id, sizeof(s->es_id));
	str_copy(s->sha256, hex, sizeof(s->sha256));
	str_copy(s->valid_start, m->cert.not_before, sizeof(s->valid_start));
	str_copy(s->valid_end, m->cert.not_after, sizeof(s->valid_end));
	str_copy(s->maker_key_id, m->maker_id, sizeof(s->maker_key_id));
	s->der_b64 = pki_b64_encode(out, out_len);
	free(out);
	m->nmade++;
	return s->der_b64 != NULL ? 0 : (api_internal(r, "seal base64"), -1);
}

/* Records the seals made; one made meanwhile by another request stays (ON CONFLICT DO NOTHING in
 * SQL would hide a key no longer producing, so the caller reads back what is stored instead). */
static int make_tx(struct db_conn *c, void *arg)
{
	struct make *m = arg;
	json_t *made = json_array();
	int rc = DB_OK;

	for (int i = 0; i < m->nmade && rc == DB_OK; i++) {
		rc = store_seal_insert(c, &m->made[i]);
		if (rc == DB_OK)
			json_array_append_new(made,
					      json_pack("{s:s, s:s, s:s}", "type", m->made[i].type, "es_id",
							m->made[i].es_id, "sha256", m->made[i].sha256));
	}
	if (rc == DB_OK)
		rc = store_audit_order(c, &m->a, "seal.make", m->o.order_no,
				       json_pack("{s:s, s:s, s:s, s:o}", "serial", m->key.serial,
						 "cert_serial", m->cert.serial, "maker", m->maker_id, "seals",
						 made));
	else
		json_decref(made);
	return rc;
}

/* Replies the seals stored for the key and certificate (status when both are there). */
static int make_reply(struct http_req *r, struct make *m, unsigned status)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct seal_rec s[NTYPES];
	json_t *items;
	int n = 0, rc = store_seals_of_key(c, m->key.id, m->cert.serial, s, NTYPES, &n);

	db_release(c);
	if (rc != DB_OK)
		return api_internal(r, "seals read");
	if (n != NTYPES) {
		seals_free(s, n);
		return http_reply_error(r, 409, "state_conflict", "USB Key 的状态已变化，请刷新后重试", NULL);
	}
	items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, seal_json(&s[i], 1));
	seals_free(s, n);
	return http_reply_json(r, status,
			       json_pack("{s:s, s:s, s:o}", "order_no", m->o.order_no, "key_serial",
					 m->key.serial, "seals", items));
}

int api_production_seals_make(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct make m = {.a = api_actor(r)};
	struct db_conn *c = db_acquire(app->db);
	int rc = make_read(r, c, &m);

	db_release(c);
	for (int t = 0; rc == 0 && t < NTYPES; t++)
		if (!have_type(&m, t))
			rc = make_one(r, &m, t);
	if (rc == 0 && m.nmade > 0) {
		int tx = db_tx(app->db, make_tx, &m);
		/* DB_CONFLICT: another request stored them first; DB_NOTFOUND: the key moved on (make_reply
		 * tells which by what is stored) */
		if (tx != DB_OK && tx != DB_CONFLICT && tx != DB_NOTFOUND)
			rc = -1, api_internal(r, "seals write");
		else if (tx == DB_NOTFOUND)
			rc = -1, http_reply_error(r, 409, "state_conflict",
						  "USB Key 的状态已变化，请刷新后重试", NULL);
	}
	if (rc == 0)
		make_reply(r, &m, m.nmade > 0 ? 201 : 200);
	make_free(&m);
	return 0;
}

/* --- the read-back of POST .../production/complete --- */

/* Returns the read-back seal of type name in list (NULL: absent); *dup is set when it is there twice. */
static const char *readback_of(json_t *list, const char *name, int *dup)
{
	const char *found = NULL;
	json_t *it;
	size_t i;

	json_array_foreach (list, i, it) {
		const char *t = json_string_value(json_object_get(it, "type"));
		if (t != NULL && strcmp(t, name) == 0) {
			*dup |= found != NULL;
			found = json_string_value(json_object_get(it, "esl"));
		}
	}
	return found;
}

/* Checks the shape of the read-back list; returns 0 or -1 with the problem in f. */
static int readback_shape(struct form *f, json_t *list)
{
	json_t *it;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) > 4)
		return form_error(f, 422, "seals", "field_invalid",
				  "seals 应为从 USB Key 读回的电子签章列表 [{type, esl}]"),
		       -1;
	json_array_foreach (list, i, it) {
		const char *esl = json_string_value(json_object_get(it, "esl"));
		if (type_index(json_string_value(json_object_get(it, "type"))) < 0 || esl == NULL ||
		    strlen(esl) > SEAL_MAX_LEN * 4 / 3 + 4)
			return form_error(
				       f, 422, "seals", "field_invalid",
				       "读回的电子签章应为 {type: org 或 legal, esl: base64 编码的签章文件}"),
			       -1;
	}
	return 0;
}

/* Compares one read-back seal with the stored one and verifies it. Returns 0 or -1 with f. */
static int readback_one(struct form *f, const struct seal_rec *s, const char *got)
{
	int t = type_index(s->type);
	size_t la = 0, lb = 0;
	unsigned char *a = pki_b64_decode(got, &la), *b = pki_b64_decode(s->der_b64, &lb);
	struct seal_report rep = {0};
	char *msg = NULL;
	int rc = 0;

	if (a == NULL || b == NULL || la != lb || memcmp(a, b, la) != 0) {
		msg = xasprintf("USB Key 中读回的%s（%s）与制作的电子签章不一致", types[t].label, types[t].file);
		rc = (form_error(f, 409, "seals", "readback_mismatch", msg), -1);
	} else if (!seal_verify(a, la, time(NULL), &rep)) {
		const char *why = "";
		for (int k = 0; k < SEAL_CHECK_COUNT && why[0] == '\0'; k++)
			if (rep.checks[k].result == SEAL_FAILED)
				why = rep.checks[k].message;
		msg = xasprintf("%s未通过验证：%s", types[t].label, why);
		rc = (form_error(f, 409, "seals", "seal_invalid", msg), -1);
	}
	free(msg);
	free(a);
	free(b);
	return rc;
}

int production_seals_readback(struct db_conn *c, struct form *f, const struct order_rec *o, int64_t key_id,
			      const char *sign_serial, json_t *list, char serial_out[48])
{
	struct key_type_rec kt = {0};
	struct seal_rec s[NTYPES];
	int n = 0, rc = 0;
	char msg[300];

	serial_out[0] = '\0';
	if (store_key_type_get(c, o->project_id, o->key_type, &kt) != DB_OK)
		return form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试"), -1;
	if (!kt.has_seal)
		return list != NULL ? (form_error(f, 422, "seals", "field_invalid",
						  "副锁不含电子签章，完成时不应提交 seals"),
				       -1)
				    : 0;
	if (sign_serial == NULL)
		return 0; /* readback_check named the missing certificate already */
	if (store_seals_of_key(c, key_id, sign_serial, s, NTYPES, &n) != DB_OK)
		return form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试"), -1;
	if (n != NTYPES)
		rc = (form_error(f, 409, "seals", "seals_not_made",
				 "尚未为该 USB Key 的签名证书制作电子签章，请先制作并写入电子签章"),
		      -1);
	else if (list == NULL || json_array_size(list) == 0)
		rc = (form_error(f, 409, "seals", "readback_mismatch", "没有提交从 USB Key 读回的电子签章"),
		      -1);
	else if (readback_shape(f, list) != 0)
		rc = -1;
	for (int i = 0; rc == 0 && i < n; i++) {
		int dup = 0, t = type_index(s[i].type);
		const char *got = readback_of(list, s[i].type, &dup);
		if (got == NULL || dup) {
			snprintf(msg, sizeof(msg),
				 got == NULL ? "USB Key 中没有读回%s（%s）" : "读回了多个%s（%s）",
				 types[t].label, types[t].file);
			rc = (form_error(f, 409, "seals", "readback_mismatch", msg), -1);
		} else {
			rc = readback_one(f, &s[i], got);
		}
	}
	seals_free(s, n);
	if (rc == 0)
		str_copy(serial_out, sign_serial, 48);
	return rc;
}

/* --- downloads --- */

/* Loads the seals of the order's live key (written only, for the organisation). Returns DB_OK with
 * *n seals (0: none to show) or < 0. */
static int order_seals(struct db_conn *c, const struct order_rec *o, int org_view, struct seal_rec *s,
		       int max, int *n)
{
	struct usbkey_rec k = {0};
	struct cert_rec v = {0};
	int rc = store_usbkey_live_of_order(c, o->id, &k);

	*n = 0;
	if (rc == DB_OK && org_view && strcmp(k.state, "written") != 0)
		rc = DB_NOTFOUND;
	if (rc == DB_OK)
		rc = store_cert_of_order(c, o->id, "sign", &v);
	if (rc == DB_OK)
		rc = store_seals_of_key(c, k.id, v.serial, s, max, n);
	if (rc == DB_OK && org_view) { /* only what was read back from the key */
		int w = 0;
		for (int i = 0; i < *n; i++)
			if (strcmp(s[i].state, "written") == 0)
				s[w++] = s[i];
			else
				store_seal_free(&s[i]);
		*n = w;
	}
	store_usbkey_free(&k);
	store_cert_free(&v);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* Returns 1 when the organisation may see the order's seals: produced (or later). */
static int org_may_see(const struct order_rec *o)
{
	static const char *const states[] = {"produced", "shipped", "completed"};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(o->state, states[i]) == 0)
			return 1;
	return 0;
}

static int list_reply(struct http_req *r, struct db_conn *c, const struct order_rec *o, int org_view)
{
	struct seal_rec s[NTYPES];
	json_t *items;
	int n = 0;

	if (org_view && !org_may_see(o))
		return http_reply_error(r, 404, "not_found", "订单制证完成后才能下载电子签章", NULL);
	if (order_seals(c, o, org_view, s, NTYPES, &n) != DB_OK)
		return api_internal(r, "seals list");
	if (org_view && n == 0)
		return http_reply_error(r, 404, "not_found", "该订单没有电子签章", NULL);
	items = json_array();
	for (int i = 0; i < n; i++) {
		struct seal_picture_rec p = {0};
		json_t *j = seal_json(&s[i], 0);
		/* the picture as chosen (the seal holds the same PNG) */
		if (store_seal_picture_get(c, o->id, s[i].type, &p) == DB_OK)
			json_object_set_new(j, "picture",
					    json_pack("{s:s, s:f, s:f}", "png_base64", p.png_b64, "width_mm",
						      p.width_mm10 / 10.0, "height_mm",
						      p.height_mm10 / 10.0));
		store_seal_picture_free(&p);
		json_array_append_new(items, j);
	}
	seals_free(s, n);
	return http_reply_json(r, 200, json_pack("{s:s, s:o}", "order_no", o->order_no, "seals", items));
}

static int file_reply(struct http_req *r, struct db_conn *c, const struct order_rec *o, int org_view)
{
	const char *name = http_param(r, "seal");
	struct seal_rec s[NTYPES];
	int n = 0, found = -1, t = type_index(name), rc;

	if (t < 0 || (org_view && !org_may_see(o)))
		return http_reply_error(r, 404, "not_found", "未找到该电子签章", NULL);
	if (order_seals(c, o, org_view, s, NTYPES, &n) != DB_OK)
		return api_internal(r, "seal file");
	for (int i = 0; i < n; i++)
		if (strcmp(s[i].type, name) == 0)
			found = i;
	if (found < 0) {
		rc = http_reply_error(r, 404, "not_found", "未找到该电子签章", NULL);
	} else {
		size_t len = 0;
		unsigned char *der = pki_b64_decode(s[found].der_b64, &len);
		char disp[160];
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s-%s.esl\"", o->order_no,
			 types[t].name);
		http_add_header(r, "Content-Disposition", disp);
		rc = der != NULL ? http_reply_bytes(r, 200, "application/octet-stream", der, len)
				 : api_internal(r, "seal DER");
		free(der);
	}
	seals_free(s, n);
	return rc;
}

static int staff_list(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	return list_reply(r, c, o, 0);
}

static int own_list(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	return list_reply(r, c, o, 1);
}

static int staff_file(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	return file_reply(r, c, o, 0);
}

static int own_file(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	return file_reply(r, c, o, 1);
}

int api_admin_seals_list(struct http_req *r)
{
	return api_on_order(r, 0, staff_list);
}

int api_admin_seal_file(struct http_req *r)
{
	return api_on_order(r, 0, staff_file);
}

int api_seals_list(struct http_req *r)
{
	return api_on_order(r, 1, own_list);
}

int api_seal_file(struct http_req *r)
{
	return api_on_order(r, 1, own_file);
}
