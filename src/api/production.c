/* Production onto a USB key (制证, issue 13), certdeskd's half: the producer's page picks a key
 * through certdesk-agent and starts the production here (the key recorded, its PINs made and kept
 * sealed under the KEK), issues through POST .../certificates (pki_issue links each certificate to
 * the key), writes everything to the key and sends what it read back: only a read-back equal to the
 * order's certificates moves the order to produced. A different key mid-production abandons the
 * first (its certificates revoked as superseded); the same key again resumes. The PIN slip and the
 * SO PIN are in production_slip.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "api/api.h"
#include "api/form.h"
#include "api/production.h"
#include "config/config.h"
#include "core/order_fsm.h"
#include "km/km.h"
#include "pki/pki.h"
#include "pki/publish.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define SERIAL_MAX 64
#define SO_PIN_LEN 16
#define USER_PIN_LEN 8
#define MAX_PROFILES 8
#define READBACK_MAX 4
#define DER_B64_MAX 16384

/* --- shared helpers --- */

/* Returns 1 when s is a key serial we accept: 1..64 of [A-Za-z0-9._:-] (what the agent reports). */
static int serial_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > SERIAL_MAX)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* Returns the agent's name of a profile algorithm (rsa2048 -> rsa-2048, p256 -> ec-p256). */
static const char *agent_alg(const char *a)
{
	if (strcmp(a, "rsa2048") == 0)
		return "rsa-2048";
	if (strcmp(a, "rsa3072") == 0)
		return "rsa-3072";
	if (strcmp(a, "p256") == 0)
		return "ec-p256";
	return a;
}

/* Picks the profile of order o a key of kind can hold: SM2 for an SKF key, else the first RSA or
 * P-256 one (PKCS#11). Writes its algorithm (profile name) and dual flag. Returns 0 or -1 (none). */
static int pick_profile(struct db_conn *c, const struct order_rec *o, const char *kind, char alg[16],
			int *dual)
{
	struct cert_profile_rec ps[MAX_PROFILES];
	int n = 0, skf = strcmp(kind, "skf") == 0;

	if (store_profiles_of(c, o->project_id, o->key_type, ps, MAX_PROFILES, &n) != DB_OK)
		return -1;
	for (int i = 0; i < n; i++)
		if ((strcmp(ps[i].algorithm, "sm2") == 0) == skf) {
			str_copy(alg, ps[i].algorithm, 16);
			*dual = ps[i].dual;
			return 0;
		}
	return -1;
}

/* Replies 503 km_unavailable (the KEK file is missing or unusable), logging why. */
static int kek_error(struct http_req *r, const char *why)
{
	log_error("production", "production of %s, request %s: KEK: %s", http_param(r, "order_no"),
		  http_request_id(r), why);
	http_set_error_what(r, km_err_code(KM_UNAVAILABLE));
	return http_reply_error(r, km_err_status(KM_UNAVAILABLE), km_err_code(KM_UNAVAILABLE),
				km_err_message(KM_UNAVAILABLE), NULL);
}

int production_kek_load(struct http_req *r, struct km_kek *kek)
{
	struct app *app = http_ctx(r);
	char why[512];

	if (km_kek_load(app->cfg->km_kek_file, kek, why, sizeof(why)) == KM_KEK_OK)
		return 0;
	kek_error(r, why);
	return -1;
}

/* Returns {"usage","serial","public_key","der"} of certificate v (NULL when it does not parse). */
static json_t *readback_cert_json(const struct cert_rec *v)
{
	X509 *x = pki_cert_from_b64(v->der_b64);
	unsigned char *spki = NULL;
	int n = x != NULL ? i2d_PUBKEY(X509_get0_pubkey(x), &spki) : -1;
	char *b64 = n > 0 ? pki_b64_encode(spki, (size_t)n) : NULL;
	json_t *j = NULL;

	if (b64 != NULL)
		j = json_pack("{s:s, s:s, s:s, s:s}", "usage", v->kind, "serial", v->serial, "public_key",
			      b64, "der", v->der_b64);
	free(b64);
	OPENSSL_free(spki);
	X509_free(x);
	return j;
}

/* Loads the good certificates of key id into vs (at most max; *n how many). Returns DB_OK or < 0. */
static int key_certs(struct db_conn *c, int64_t id, struct cert_rec *vs, int max, int *n)
{
	json_t *serials = NULL, *s;
	size_t i;
	int rc = store_usbkey_cert_serials(c, id, &serials);

	*n = 0;
	json_array_foreach (serials, i, s) {
		if (rc != DB_OK || *n >= max)
			break;
		rc = store_cert_by_serial(c, json_string_value(s), &vs[*n]);
		if (rc == DB_OK)
			(*n)++;
	}
	json_decref(serials);
	return rc;
}

static void certs_free(struct cert_rec *vs, int n)
{
	for (int i = 0; i < n; i++)
		store_cert_free(&vs[i]);
}

/* --- POST .../production --- */

struct start {
	struct order_rec o;
	const char *kind, *serial, *model, *manufacturer;
	int ulong_bits;
	char alg[16];
	int dual;
	struct usbkey_rec cur; /* the order's live key (cur.id 0: none) */
	int resume;            /* cur is the key of the request */
	json_t *certs;         /* resume: the certificates already issued for it */
	json_t *revoked;       /* switch: the serials revoked with the previous key */
	struct usbkey_rec key; /* new: the record inserted */
	struct actor a;
	char ca_revoked[48]; /* the CA of the revoked certificates, for its CRL */
};

/* Reads the body into s; returns 0, or -1 with the problems recorded in f. */
static int start_fields(struct form *f, json_t *body, struct start *s)
{
	json_t *ub = json_object_get(body, "ulong_bits");

	s->kind = form_text(f, "kind", "USB Key 类型", 3, 6, 1);
	s->serial = form_text(f, "serial", "USB Key 序列号", 1, SERIAL_MAX, 1);
	s->model = form_text(f, "model", "USB Key 型号", 0, 64, 0);
	s->manufacturer = form_text(f, "manufacturer", "USB Key 厂商", 0, 64, 0);
	if (s->kind != NULL && strcmp(s->kind, "skf") != 0 && strcmp(s->kind, "pkcs11") != 0)
		form_error(f, 422, "kind", "field_invalid", "USB Key 类型应为 skf 或 pkcs11");
	if (s->serial != NULL && !serial_ok(s->serial))
		form_error(f, 422, "serial", "field_invalid",
			   "USB Key 序列号只能包含字母、数字和 . _ : -（不超过 64 个字符）");
	if (ub != NULL &&
	    (!json_is_integer(ub) || (json_integer_value(ub) != 32 && json_integer_value(ub) != 64)))
		form_error(f, 422, "ulong_bits", "field_invalid", "ulong_bits 只能是 32 或 64");
	s->ulong_bits = ub != NULL ? (int)json_integer_value(ub) : 0;
	if (s->model == NULL)
		s->model = "";
	if (s->manufacturer == NULL)
		s->manufacturer = "";
	return form_failed(f) ? -1 : 0;
}

/* Decides what the start does from the database (c held briefly). Returns 0, or -1 with the
 * problem recorded in f. */
static int start_read(struct db_conn *c, struct form *f, struct start *s)
{
	struct usbkey_rec other = {0};
	int rc;

	if (strcmp(s->o.state, "producing") != 0)
		return form_error(f, 409, NULL, "state_conflict",
				  "订单不在制证中（资料合格后才能制证），请刷新"),
		       -1;
	if (pick_profile(c, &s->o, s->kind, s->alg, &s->dual) != 0)
		return form_error(f, 409, "kind", "profile_missing",
				  "本项目没有适合该类型 USB Key 的证书模板"),
		       -1;
	rc = store_usbkey_live_by_serial(c, s->serial, &other);
	if (rc == DB_OK && other.order_id != s->o.id)
		form_error(f, 409, "serial", "key_in_use",
			   "该 USB Key 正在用于或已用于另一个订单，请换一个空白 USB Key");
	store_usbkey_free(&other);
	if (rc != DB_OK && rc != DB_NOTFOUND)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	if (form_failed(f))
		return -1;
	rc = store_usbkey_live_of_order(c, s->o.id, &s->cur);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != DB_OK)
		return form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试"), -1;
	if (strcmp(s->cur.state, "written") == 0)
		return form_error(f, 409, NULL, "state_conflict", "该订单的 USB Key 已制作完成"), -1;
	s->resume = strcmp(s->cur.serial, s->serial) == 0;
	if (s->resume) {
		struct cert_rec vs[READBACK_MAX];
		int n = 0;
		rc = key_certs(c, s->cur.id, vs, READBACK_MAX, &n);
		s->certs = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(s->certs, readback_cert_json(&vs[i]));
		certs_free(vs, n);
	} else {
		rc = store_usbkey_cert_serials(c, s->cur.id, &s->revoked);
	}
	if (rc != DB_OK)
		return form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试"), -1;
	return 0;
}

/* Makes and seals the new key's PINs into s->key. Returns 0 or -1. */
static int start_pins(struct http_req *r, const struct km_kek *kek, struct start *s, char so[SO_PIN_LEN + 1],
		      char user[USER_PIN_LEN + 17])
{
	struct app *app = http_ctx(r);

	s->key.user_pin_default = app->cfg->production_user_pin == 1;
	if (km_pin_random(so, SO_PIN_LEN + 1, 0) != 0 || km_pin_random(user, USER_PIN_LEN + 1, 1) != 0)
		return -1;
	if (s->key.user_pin_default)
		str_copy(user, app->cfg->production_default_user_pin, USER_PIN_LEN + 17);
	s->key.so_pin = km_pin_seal(kek, so, s->o.id, s->serial, "so");
	s->key.user_pin = km_pin_seal(kek, user, s->o.id, s->serial, "user");
	return s->key.so_pin != NULL && s->key.user_pin != NULL ? 0 : -1;
}

/* The switch and the new key in one transaction: the previous key's certificates revoked
 * (superseded), the key abandoned, the order's encryption key unlinked (the new key's encryption
 * certificate certifies it again), the new key recorded while the order is in production. */
static int start_tx(struct db_conn *c, void *arg)
{
	struct start *s = arg;
	json_t *d, *sv;
	size_t i;
	int rc = DB_OK;

	json_array_foreach (s->revoked, i, sv) {
		struct cert_rec v = {0};
		rc = store_cert_revoke(c, json_string_value(sv), "superseded", &s->a, &v);
		str_copy(s->ca_revoked, v.ca_key_id, sizeof(s->ca_revoked));
		store_cert_free(&v);
		if (rc != DB_OK)
			return rc == DB_CONFLICT ? DB_NOTFOUND : rc; /* revoked meanwhile: start over */
	}
	if (s->cur.id != 0 && (rc = store_usbkey_finish(c, s->cur.id, "abandoned")) != DB_OK)
		return rc;
	if (s->cur.id != 0 && (rc = db_exec(c, "UPDATE enc_keys SET cert_serial = NULL WHERE order_id = ?",
					    DB_ARGS(DB_INT(s->o.id)), NULL)) != DB_OK)
		return rc;
	if ((rc = store_usbkey_insert(c, &s->key)) != DB_OK)
		return rc;
	d = json_pack("{s:s, s:s, s:s, s:b, s:b}", "serial", s->serial, "kind", s->kind, "model", s->model,
		      "resumed", 0, "user_pin_default", s->key.user_pin_default);
	if (s->cur.id != 0) {
		json_object_set_new(d, "previous_serial", json_string(s->cur.serial));
		json_object_set_new(d, "revoked", json_incref(s->revoked));
	}
	return store_audit_order(c, &s->a, "production.start", s->o.order_no, d);
}

static int resume_audit_tx(struct db_conn *c, void *arg)
{
	struct start *s = arg;
	return store_audit_order(
		c, &s->a, "production.start", s->o.order_no,
		json_pack("{s:s, s:s, s:b}", "serial", s->serial, "kind", s->kind, "resumed", 1));
}

/* Publishes the CRL and the OCSP responses after a switch revoked certificates (the publishing job
 * does it later if the signer is down). */
static void publish_revoked(struct http_req *r, const struct start *s)
{
	struct app *app = http_ctx(r);
	struct pki_publisher p = {app->db, app->cfg->signer_socket, app->cfg->ca_crl_interval_s,
				  app->cfg->ca_ocsp_validity_s};
	char err[512];
	json_t *sv;
	size_t i;

	if (json_array_size(s->revoked) == 0)
		return;
	if (pki_publish_crl(&p, s->ca_revoked, err, sizeof(err)) != 0)
		log_error("production", "CRL after a key switch on %s not published yet: %s", s->o.order_no,
			  err);
	json_array_foreach (s->revoked, i, sv) {
		if (pki_publish_ocsp(&p, json_string_value(sv), err, sizeof(err)) != 0)
			log_error("production", "OCSP of %s not published yet: %s", json_string_value(sv),
				  err);
	}
}

/* Returns the Production reply for s with its PINs (wiped by the caller). */
static json_t *start_reply(const struct start *s, const struct usbkey_rec *k, const char *so,
			   const char *user)
{
	char label[33];

	str_copy(label, s->o.order_no, sizeof(label)); /* a token label is 32 bytes at most */
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:b, s:s, s:s, s:b, s:s, s:s, s:b, s:o}", "order_no",
			 s->o.order_no, "key", "kind", k->kind, "serial", k->serial, "model", k->model,
			 "state", k->state, "resumed", s->resume, "so_pin", so, "user_pin", user,
			 "user_pin_is_default", k->user_pin_default, "label", label, "algorithm",
			 agent_alg(s->alg), "dual", s->dual, "certificates",
			 s->certs != NULL ? json_incref(s->certs) : json_array()); /* o: the reply owns it */
}

/* Resumes production on the key already recorded: its PINs, the certificates issued. */
static int start_resume(struct http_req *r, const struct km_kek *kek, struct start *s)
{
	struct app *app = http_ctx(r);
	char *so = km_pin_open(kek, s->cur.so_pin, s->o.id, s->cur.serial, "so");
	char *user = km_pin_open(kek, s->cur.user_pin, s->o.id, s->cur.serial, "user");
	int rc;

	if (so == NULL || user == NULL) {
		rc = http_reply_error(r, km_err_status(KM_KEY_MISMATCH), km_err_code(KM_KEY_MISMATCH),
				      km_err_message(KM_KEY_MISMATCH), NULL);
	} else if (db_tx(app->db, resume_audit_tx, s) != DB_OK) {
		rc = api_internal(r, "production audit");
	} else {
		http_add_header(r, "Cache-Control", "no-store");
		rc = http_reply_json(r, 200, start_reply(s, &s->cur, so, user));
	}
	if (so != NULL)
		OPENSSL_cleanse(so, strlen(so));
	if (user != NULL)
		OPENSSL_cleanse(user, strlen(user));
	free(so);
	free(user);
	return rc;
}

/* Starts production on a new key (abandoning the previous one, if any). */
static int start_new(struct http_req *r, const struct km_kek *kek, struct start *s)
{
	struct app *app = http_ctx(r);
	char so[SO_PIN_LEN + 1] = "", user[USER_PIN_LEN + 17] = "", *prev = NULL;
	json_t *j;
	int rc;

	s->key.order_id = s->o.id;
	str_copy(s->key.serial, s->serial, sizeof(s->key.serial));
	str_copy(s->key.kind, s->kind, sizeof(s->key.kind));
	str_copy(s->key.model, s->model, sizeof(s->key.model));
	str_copy(s->key.manufacturer, s->manufacturer, sizeof(s->key.manufacturer));
	str_copy(s->key.kek_id, kek->id, sizeof(s->key.kek_id));
	s->key.ulong_bits = s->ulong_bits;
	if (start_pins(r, kek, s, so, user) != 0) {
		rc = api_internal(r, "PIN sealing");
		goto out;
	}
	rc = db_tx(app->db, start_tx, s);
	if (rc == DB_CONFLICT) {
		rc = http_reply_error(r, 409, "key_in_use",
				      "该 USB Key 正在用于另一个订单，或本订单已在制作另一个 USB Key，请刷新",
				      "serial");
		goto out;
	}
	if (rc == DB_NOTFOUND) {
		rc = http_reply_error(r, 409, "state_conflict", "订单或 USB Key 的状态已变化，请刷新后重试",
				      NULL);
		goto out;
	}
	if (rc != DB_OK) {
		rc = api_internal(r, "production start");
		goto out;
	}
	publish_revoked(r, s);
	j = start_reply(s, &s->key, so, user);
	if (s->cur.id != 0 && (prev = km_pin_open(kek, s->cur.so_pin, s->o.id, s->cur.serial, "so")) != NULL)
		json_object_set_new(j, "previous_key",
				    json_pack("{s:s, s:s}", "serial", s->cur.serial, "so_pin", prev));
	http_add_header(r, "Cache-Control", "no-store");
	rc = http_reply_json(r, 201, j);
out:
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(user, sizeof(user));
	if (prev != NULL)
		OPENSSL_cleanse(prev, strlen(prev));
	free(prev);
	return rc;
}

int api_production_start(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct start s = {.a = api_actor(r)};
	struct km_kek kek;
	struct db_conn *c;
	struct form f;
	int rc = 0;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	if (start_fields(&f, body, &s) != 0)
		return form_finish(&f, body, 200, NULL);
	c = db_acquire(app->db);
	if (api_staff_order(r, c, &s.o) != 0) {
		db_release(c);
		form_free(&f);
		json_decref(body);
		return 0;
	}
	start_read(c, &f, &s);
	db_release(c);
	if (!form_failed(&f) && production_kek_load(r, &kek) == 0) {
		rc = s.resume ? start_resume(r, &kek, &s) : start_new(r, &kek, &s);
		km_kek_wipe(&kek);
	} else if (form_failed(&f)) {
		rc = form_reply(&f);
	}
	form_free(&f);
	json_decref(body);
	json_decref(s.certs);
	json_decref(s.revoked);
	store_usbkey_free(&s.cur);
	store_usbkey_free(&s.key);
	store_order_free(&s.o);
	return rc;
}

/* --- POST .../production/complete --- */

struct complete {
	struct order_rec o;
	struct usbkey_rec key;
	struct cert_rec certs[READBACK_MAX];
	int ncerts;
	json_t *serials; /* of the certificates on the key, for the audit */
	json_t *seals;   /* the body's read-back seals (main keys, production_seals.c) */
	char seal_serial[48]; /* the signing certificate whose seals were read back ("": none) */
	enum order_state next;
	struct actor a;
};

/* Returns the usage's Chinese name. */
static const char *usage_cn(const char *usage)
{
	return strcmp(usage, "enc") == 0 ? "加密证书" : "签名证书";
}

/* Returns 1 when base64 texts a and b hold the same bytes. */
static int same_der(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	unsigned char *da = pki_b64_decode(a, &la), *db = pki_b64_decode(b, &lb);
	int same = da != NULL && db != NULL && la == lb && memcmp(da, db, la) == 0;

	free(da);
	free(db);
	return same;
}

/* Returns the read-back DER of usage in list (NULL: absent); *dup is set when it appears twice. */
static const char *readback_of(json_t *list, const char *usage, int *dup)
{
	const char *found = NULL;
	json_t *it;
	size_t i;

	json_array_foreach (list, i, it) {
		const char *u = json_string_value(json_object_get(it, "usage"));
		if (u != NULL && strcmp(u, usage) == 0) {
			*dup |= found != NULL;
			found = json_string_value(json_object_get(it, "der"));
		}
	}
	return found;
}

/* Checks the read-back list against the key's certificates (sign, and enc when dual). Returns 0, or
 * -1 with a Chinese message naming what differs in msg. */
static int readback_check(const struct complete *x, json_t *list, int dual, char *msg, size_t ml)
{
	static const char *const usages[] = {"sign", "enc"};
	json_t *it;
	size_t i;

	json_array_foreach (list, i, it) {
		const char *u = json_string_value(json_object_get(it, "usage"));
		if (u == NULL || (strcmp(u, "sign") != 0 && strcmp(u, "enc") != 0))
			return snprintf(msg, ml, "读回的第 %zu 个证书用途应为 sign 或 enc", i + 1), -1;
	}
	for (int u = 0; u < 2; u++) {
		const struct cert_rec *want = NULL;
		int dup = 0;
		const char *got = readback_of(list, usages[u], &dup);
		for (int k = 0; k < x->ncerts; k++)
			if (strcmp(x->certs[k].kind, usages[u]) == 0)
				want = &x->certs[k];
		if (want == NULL && (u == 0 || dual))
			return snprintf(msg, ml, "%s尚未签发，请先完成签发再写入 USB Key",
					usage_cn(usages[u])),
			       -1;
		if (dup)
			return snprintf(msg, ml, "读回了多个%s", usage_cn(usages[u])), -1;
		if (want == NULL && got != NULL)
			return snprintf(msg, ml, "USB Key 中读回了本订单没有签发的%s", usage_cn(usages[u])),
			       -1;
		if (want != NULL && got == NULL)
			return snprintf(msg, ml, "USB Key 中没有读回%s（序列号 %s）", usage_cn(usages[u]),
					want->serial),
			       -1;
		if (want != NULL && !same_der(got, want->der_b64))
			return snprintf(msg, ml, "USB Key 中读回的%s与已签发的证书（序列号 %s）不一致",
					usage_cn(usages[u]), want->serial),
			       -1;
	}
	return 0;
}

/* Validates the body's shape; returns 0 or -1 with the problem in f. */
static int complete_fields(struct form *f, json_t *body, const char **serial, json_t **list)
{
	json_t *it;
	size_t i;

	*serial = form_text(f, "serial", "USB Key 序列号", 1, SERIAL_MAX, 1);
	*list = json_object_get(body, "certificates");
	if (!json_is_array(*list) || json_array_size(*list) == 0 || json_array_size(*list) > READBACK_MAX)
		form_error(f, 422, "certificates", "field_invalid",
			   "请提供从 USB Key 读回的证书（1 至 4 个）");
	else
		json_array_foreach (*list, i, it) {
			const char *d = json_string_value(json_object_get(it, "der"));
			if (!json_is_object(it) || d == NULL || strlen(d) > DER_B64_MAX)
				form_error(f, 422, "certificates", "field_invalid",
					   "读回的证书应为 {usage, der}，der 为 base64 编码的 DER");
		}
	return form_failed(f) ? -1 : 0;
}

/* Returns 1 when the order's profile for the signing certificate's key is dual. */
static int sign_dual(struct db_conn *c, const struct complete *x)
{
	struct cert_profile_rec ps[MAX_PROFILES];
	int n = 0, dual = 0, alg = -1;

	for (int k = 0; k < x->ncerts; k++)
		if (strcmp(x->certs[k].kind, "sign") == 0) {
			X509 *cx = pki_cert_from_b64(x->certs[k].der_b64);
			alg = cx != NULL ? pki_key_alg(X509_get0_pubkey(cx), NULL, 0) : -1;
			X509_free(cx);
		}
	if (alg < 0 || store_profiles_of(c, x->o.project_id, x->o.key_type, ps, MAX_PROFILES, &n) != DB_OK)
		return 0;
	for (int i = 0; i < n; i++)
		if (strcmp(ps[i].algorithm, pki_alg_name(alg)) == 0)
			dual = ps[i].dual;
	return dual;
}

/* Reads and checks everything before the write (c held: no slow work). Returns 0 or -1 with f. */
static int complete_read(struct http_req *r, struct db_conn *c, struct form *f, struct complete *x,
			 const char *serial, json_t *list)
{
	struct order_facts facts = {0};
	char msg[300];
	int rc;

	if (strcmp(x->o.state, "producing") != 0)
		return form_error(f, 409, NULL, "state_conflict", "订单不在制证中，请刷新"), -1;
	rc = store_usbkey_live_of_order(c, x->o.id, &x->key);
	if (rc == DB_NOTFOUND || (rc == DB_OK && strcmp(x->key.state, "producing") != 0))
		return form_error(f, 409, NULL, "production_not_started",
				  "该订单尚未开始制证（未登记 USB Key）"),
		       -1;
	if (rc != DB_OK || key_certs(c, x->key.id, x->certs, READBACK_MAX, &x->ncerts) != DB_OK)
		return form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试"), -1;
	if (strcmp(x->key.serial, serial) != 0) {
		snprintf(msg, sizeof(msg), "读回的 USB Key 序列号 %s 与制证中的 USB Key（%s）不一致", serial,
			 x->key.serial);
		return form_error(f, 409, "serial", "readback_mismatch", msg), -1;
	}
	if (readback_check(x, list, sign_dual(c, x), msg, sizeof(msg)) != 0)
		return form_error(f, 409, "certificates", "readback_mismatch", msg), -1;
	for (int k = 0; k < x->ncerts; k++) /* a main key's seals, bound to its signing certificate */
		if (strcmp(x->certs[k].kind, "sign") == 0 &&
		    production_seals_readback(c, f, &x->o, x->key.id, x->certs[k].serial, x->seals,
					      x->seal_serial) != 0)
			return -1;
	api_order_facts(c, &x->o, &facts);
	if (order_fsm_decide(OS_PRODUCING, OE_MADE, OA_STAFF, api_session(r)->roles, &facts, &x->next) !=
	    FSM_OK)
		return form_error(f, 403, NULL, "forbidden", "您的岗位无权执行此操作"), -1;
	x->serials = json_array();
	for (int k = 0; k < x->ncerts; k++)
		json_array_append_new(x->serials, json_string(x->certs[k].serial));
	return 0;
}

/* The key written and the order produced, together (the same transition as POST .../made). */
static int complete_tx(struct db_conn *c, void *arg)
{
	struct complete *x = arg;
	int rc = store_usbkey_finish(c, x->key.id, "written");

	if (rc == DB_OK && x->seal_serial[0] != '\0')
		rc = store_seals_mark_written(c, x->key.id, x->seal_serial);
	if (rc == DB_OK)
		rc = store_order_transition(c, x->o.id, "producing", order_state_name(x->next),
					    order_event_name(OE_MADE), NULL, &x->a);
	if (rc == DB_OK)
		rc = store_audit_order(
			c, &x->a, "production.complete", x->o.order_no,
			json_pack("{s:s, s:O}", "serial", x->key.serial, "certificates", x->serials));
	return rc;
}

int api_production_complete(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *list = NULL, *ok = NULL;
	struct complete x = {.a = api_actor(r)};
	const char *serial;
	struct db_conn *c;
	struct form f;
	char no[32];
	int rc;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	if (complete_fields(&f, body, &serial, &list) != 0)
		return form_finish(&f, body, 200, NULL);
	c = db_acquire(app->db);
	if (api_staff_order(r, c, &x.o) != 0) {
		db_release(c);
		form_free(&f);
		json_decref(body);
		return 0;
	}
	x.seals = json_object_get(body, "seals");
	if (complete_read(r, c, &f, &x, serial, list) == 0) {
		rc = db_tx_conn(c, complete_tx, &x);
		if (rc == DB_NOTFOUND)
			form_error(&f, 409, NULL, "state_conflict", "订单或 USB Key 的状态已变化，请刷新");
		else if (rc != DB_OK)
			form_error(&f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	}
	if (!form_failed(&f)) {
		str_copy(no, x.o.order_no, sizeof(no));
		store_order_free(&x.o);
		if (store_order_get(c, no, &x.o) == DB_OK)
			ok = api_order_json(c, &x.o); /* with its usb_key, now written */
	}
	db_release(c);
	certs_free(x.certs, x.ncerts);
	json_decref(x.serials);
	store_usbkey_free(&x.key);
	store_order_free(&x.o);
	return form_finish(&f, body, 200, ok);
}
