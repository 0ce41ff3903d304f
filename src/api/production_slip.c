/* Production onto a USB key (issue 13): what is read back out of the key's sealed PINs - the PIN slip
 * (证书密码信封) for the parcel, and the SO PIN an admin needs for a PIN unlock. Both audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/api.h"
#include "api/production.h"
#include "docs/pin_slip.h"
#include "km/km.h"

/* --- GET .../production/pin-slip.pdf --- */

struct slip_audit {
	const struct actor *a;
	const char *order_no, *serial;
};

static int slip_audit_tx(struct db_conn *c, void *arg)
{
	struct slip_audit *s = arg;
	return store_audit_order(c, s->a, "production.pin_slip", s->order_no,
				 json_pack("{s:s}", "serial", s->serial));
}

/* Reads the order's live key and organisation name (c released by the caller). Returns 0, or -1
 * after replying. */
static int slip_read(struct http_req *r, struct db_conn *c, struct order_rec *o, struct usbkey_rec *k,
		     struct org_rec *org)
{
	int rc;

	if (api_staff_order(r, c, o) != 0)
		return -1;
	rc = store_usbkey_live_of_order(c, o->id, k);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 409, "production_not_started",
					"该订单尚未开始制证（未登记 USB Key），没有证书密码信封", NULL),
		       -1;
	if (rc != DB_OK || store_org_get_id(c, o->org_id, org) != DB_OK)
		return api_internal(r, "PIN slip"), -1;
	return 0;
}

/* Renders the slip (no connection held), audits and replies. */
static int slip_reply(struct http_req *r, const struct order_rec *o, const struct usbkey_rec *k,
		      const struct org_rec *org, const char *pin)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct slip_audit sa = {&a, o->order_no, k->serial};
	struct pin_slip s = {org->name, o->order_no, o->project_name, k->serial, k->model, pin, time(NULL)};
	unsigned char *pdf = NULL;
	size_t len = 0;
	char disp[96];
	int rc;

	if (pin_slip_render_pdf(&s, &pdf, &len) != 0)
		return api_internal(r, "PIN slip PDF");
	if (db_tx(app->db, slip_audit_tx, &sa) != DB_OK) {
		rc = api_internal(r, "PIN slip audit");
	} else {
		snprintf(disp, sizeof(disp), "attachment; filename=\"pin-slip-%s.pdf\"", o->order_no);
		http_add_header(r, "Content-Disposition", disp);
		http_add_header(r, "Cache-Control", "no-store");
		rc = http_reply_bytes(r, 200, "application/pdf", pdf, len);
	}
	OPENSSL_cleanse(pdf, len);
	free(pdf);
	return rc;
}

int api_production_pin_slip(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct order_rec o = {0};
	struct usbkey_rec k = {0};
	struct org_rec org = {0};
	struct km_kek kek;
	struct db_conn *c = db_acquire(app->db);
	char *pin = NULL;
	int rc = 0;

	if (slip_read(r, c, &o, &k, &org) != 0) {
		db_release(c);
		goto out;
	}
	db_release(c);
	if (production_kek_load(r, &kek) != 0)
		goto out;
	if (!k.user_pin_default)
		pin = km_pin_open(&kek, k.user_pin, o.id, k.serial, "user");
	km_kek_wipe(&kek);
	if (!k.user_pin_default && pin == NULL)
		rc = http_reply_error(r, km_err_status(KM_KEY_MISMATCH), km_err_code(KM_KEY_MISMATCH),
				      km_err_message(KM_KEY_MISMATCH), NULL);
	else
		rc = slip_reply(r, &o, &k, &org, pin);
	if (pin != NULL)
		OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
out:
	store_usbkey_free(&k);
	store_order_free(&o);
	return rc;
}

/* --- GET /api/v1/admin/usb-keys/{key_serial}/so-pin --- */

struct so_audit {
	const struct actor *a;
	const char *serial, *order_no;
};

static int so_audit_tx(struct db_conn *c, void *arg)
{
	struct so_audit *s = arg;
	json_t *d = json_pack("{s:s}", "order_no", s->order_no);
	char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = store_audit_append(c, s->a, "usbkey.so_pin", "usb_key", s->serial, text);

	free(text);
	json_decref(d);
	return rc;
}

int api_usbkey_so_pin(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct usbkey_rec k = {0};
	struct km_kek kek;
	struct db_conn *c = db_acquire(app->db);
	char *no = NULL, *pin = NULL;
	int rc = store_usbkey_latest_by_serial(c, http_param(r, "key_serial"), &k);

	if (rc == DB_OK)
		rc = db_query_text(c, "SELECT order_no FROM orders WHERE id = ?", DB_ARGS(DB_INT(k.order_id)),
				   &no);
	db_release(c);
	if (rc == DB_NOTFOUND)
		rc = http_reply_error(r, 404, "not_found", "未找到该序列号的 USB Key", NULL);
	else if (rc != DB_OK)
		rc = api_internal(r, "USB key");
	else if (production_kek_load(r, &kek) == 0) {
		struct so_audit sa = {&a, k.serial, no};
		pin = km_pin_open(&kek, k.so_pin, k.order_id, k.serial, "so");
		km_kek_wipe(&kek);
		if (pin == NULL)
			rc = http_reply_error(r, km_err_status(KM_KEY_MISMATCH), km_err_code(KM_KEY_MISMATCH),
					      km_err_message(KM_KEY_MISMATCH), NULL);
		else if (db_tx(app->db, so_audit_tx, &sa) != DB_OK)
			rc = api_internal(r, "SO PIN audit");
		else {
			http_add_header(r, "Cache-Control", "no-store");
			rc = http_reply_json(r, 200,
					     json_pack("{s:s, s:s, s:s, s:s}", "serial", k.serial, "order_no",
						       no, "state", k.state, "so_pin", pin));
		}
	} else
		rc = 0;
	if (pin != NULL)
		OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
	free(no);
	store_usbkey_free(&k);
	return rc;
}
