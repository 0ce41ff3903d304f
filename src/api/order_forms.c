/* The generated paper forms of an order, as PDFs made on demand from its current data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/order_form.h"
#include "config/config.h"
#include "docs/forms.h"

static const struct {
	const char *name;
	enum form_kind kind;
	const char *file;
} kinds[] = {
	{"application", FORM_APPLICATION, "application-form"},
	{"authorisation", FORM_AUTHORISATION, "authorisation-letter"},
	{"seal", FORM_SEAL, "seal-form"},
};

/* Returns the string field name of form, or NULL. */
static const char *field(json_t *form, const char *name)
{
	return json_string_value(json_object_get(form, name));
}

/* Parses an RFC 3339 UTC time stamp into Unix time (0 when malformed). */
static long long unix_time(const char *s)
{
	struct tm tm = {0};

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

void api_form_qr_text(const struct order_rec *o, const char *kind, char *out, size_t len)
{
	/* What the uploaded scan's QR code must show: this form of this order, this version of its data. */
	snprintf(out, len, "certdesk:form:%s:%s:v%lld", kind, o->order_no, (long long)o->form_version);
}

/* Reads the order of the request and what its forms print, with a pooled connection given back
 * before the slow rendering. Returns 0, or -1 after replying. */
static int form_read(struct http_req *r, struct order_rec *o, struct key_type_rec *k, struct org_rec *org)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	int rc = api_own_order(r, c, o) != 0 ? -1 : 0;

	if (rc == 0)
		store_key_type_get(c, o->project_id, o->key_type, k);
	if (rc == 0 && store_org_get_id(c, o->org_id, org) != DB_OK) {
		api_internal(r, "organisation vanished");
		rc = -1;
	}
	db_release(c);
	return rc;
}

/* Renders form i of order o and replies with the PDF (no database connection held). */
static int form_reply(struct http_req *r, size_t i, const struct order_rec *o, const struct key_type_rec *k,
		      const struct org_rec *org, json_t *form)
{
	struct app *app = http_ctx(r);
	char qr[96], url[1200], disp[160];
	unsigned char *pdf = NULL;
	size_t len = 0;
	int rc;

	api_form_qr_text(o, kinds[i].name, qr, sizeof(qr));
	snprintf(url, sizeof(url), "%s/verify/%s", app->cfg->public_url, o->verify_token);
	struct order_doc d = {.order_no = o->order_no,
			      .project_name = o->project_name,
			      .key_type = o->key_type,
			      .key_type_label = k->name,
			      .price_fen = o->price_fen,
			      .unit_name = org->name,
			      .uscc = org->uscc,
			      .unit_address = field(form, "unit_address"),
			      .legal_name = field(form, "legal_name"),
			      .legal_id_type_label = order_form_id_type_label(field(form, "legal_id_type")),
			      .legal_id_number = field(form, "legal_id_number"),
			      .legal_mobile = field(form, "legal_mobile"),
			      .handler_name = field(form, "handler_name"),
			      .handler_id_number = field(form, "handler_id_number"),
			      .handler_mobile = field(form, "handler_mobile"),
			      .handler_email = field(form, "handler_email"),
			      .invoice_title = field(form, "invoice_title"),
			      .invoice_tax_number = field(form, "invoice_tax_number"),
			      .invoice_email = field(form, "invoice_email"),
			      .recipient_name = field(form, "recipient_name"),
			      .recipient_mobile = field(form, "recipient_mobile"),
			      .recipient_address = field(form, "recipient_address"),
			      .form_qr_text = qr,
			      .verify_url = url,
			      .created_at = unix_time(o->created_at)};
	if (forms_render_pdf(kinds[i].kind, &d, &pdf, &len) != 0)
		return api_internal(r, "pdf rendering");
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s-%s.pdf\"", o->order_no, kinds[i].file);
	http_add_header(r, "Content-Disposition", disp);
	http_add_header(r, "Cache-Control", "private, no-store");
	rc = http_reply_bytes(r, 200, "application/pdf", pdf, len);
	free(pdf);
	return rc;
}

/* GET /orders/{no}/forms/{kind}: read, give the connection back, render (slow), reply. */
int api_orders_form_pdf(struct http_req *r)
{
	const char *kind = http_param(r, "kind");
	struct key_type_rec k = {0};
	struct order_rec o = {0};
	struct org_rec org = {0};
	json_t *form = NULL, *missing = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kind, kinds[i].name) != 0; i++)
		;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return http_reply_error(r, 404, "not_found", "没有这种表格", "kind");
	if (form_read(r, &o, &k, &org) != 0) {
		store_order_free(&o);
		return 0;
	}
	form = json_loads(o.form, 0, NULL);
	missing = order_form_missing(form, o.key_type);
	if (kinds[i].kind == FORM_SEAL && !k.has_seal)
		rc = http_reply_error(r, 404, "not_found", "副锁无电子签章，无需签章采集表", "kind");
	else if (json_array_size(missing) > 0)
		rc = http_reply_json(r, 409,
				     json_pack("{s:{s:s, s:s}, s:O}", "error", "code", "form_incomplete",
					       "message", "请先完善订单信息，再下载表格", "missing", missing));
	else
		rc = form_reply(r, i, &o, &k, &org, form);
	json_decref(missing);
	json_decref(form);
	store_order_free(&o);
	return rc;
}
