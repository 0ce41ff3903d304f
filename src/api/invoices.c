/* Invoices (发票, finance): the queue of paid orders awaiting an invoice, finance's upload of the
 * invoice file (PDF or OFD) that records it and queues its e-mail to the order's invoice e-mail in
 * one transaction, and the file served back to staff and to the owning organisation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "core/roles.h"
#include "docs/invoice_file.h"
#include "providers/mail.h"
#include "store/filestore.h"
#include "util/strutil.h"

/* The states of a paid order (payment leads to awaiting_paper; a renewal's to paid, issue 15). */
static const char *const paid_states[] = {"awaiting_paper", "paper_sent", "paper_rejected", "producing",
					  "produced",       "shipped",    "completed",      "paid",
					  "issued",         NULL};

/* Returns 1 when state is one of a paid order. */
static int paid(const char *state)
{
	for (int i = 0; paid_states[i] != NULL; i++)
		if (strcmp(state, paid_states[i]) == 0)
			return 1;
	return 0;
}

json_t *api_invoice_json(struct db_conn *c, const struct order_rec *o)
{
	struct invoice_rec v = {0};
	json_t *j;

	if (store_invoice_current(c, o->id, &v) != DB_OK)
		return json_null();
	j = json_pack("{s:s, s:s, s:s, s:s, s:I}", "uploaded_at", v.uploaded_at, "file_name", v.file_name,
		      "email_to", v.email_to, "media_type", v.media_type, "size", (json_int_t)v.size);
	if (j != NULL && v.sent_at[0] != '\0')
		json_object_set_new(j, "sent_at", json_string(v.sent_at));
	return j != NULL ? j : json_null();
}

int api_invoice_queue(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL;
	int rc = store_invoice_queue(c, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "invoice queue");
	}
	return http_reply_json(r, 200, json_pack("{s:s, s:o}", "queue", "invoice", "items", items));
}

/* Writes the display name of an upload into out (len bytes): the browser's name when it is short,
 * valid UTF-8 without control characters, otherwise a generic one. */
static void display_name(const char *given, int kind, char *out, size_t len)
{
	if (given[0] != '\0' && strlen(given) < len && utf8_chars(given) >= 0 && !str_has_control(given))
		str_copy(out, given, len);
	else
		snprintf(out, len, "invoice.%s", kind == INVOICE_OFD ? "ofd" : "pdf");
}

struct upload_tx {
	struct invoice_rec *v;
	const char *order_no, *outbox_state;
	const struct actor *a;
	int unpaid; /* the order left the paid states while the file was written */
};

/* The write: the invoice while the order is still paid (read again in the transaction: the
 * connection was given back while the file was written), and its e-mail queued. */
static int upload_tx(struct db_conn *c, void *arg)
{
	struct upload_tx *t = arg;
	struct order_rec o = {0};
	int rc = store_order_get(c, t->order_no, &o);

	t->unpaid = rc == DB_OK && !paid(o.state);
	store_order_free(&o);
	if (rc != DB_OK || t->unpaid)
		return rc != DB_OK ? rc : DB_NOTFOUND;
	return store_invoice_create(c, t->v, t->order_no, t->outbox_state, t->a);
}

/* Checks the upload in u for order o, writes the file (fsync: no pooled connection held) and then
 * records it in its own transaction; returns the invoice JSON or NULL with f failed. */
static json_t *record(struct http_req *r, const struct order_rec *o, const struct http_upload *u,
		      const char *email, struct form *f)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct invoice_rec v = {0};
	struct upload_tx t = {&v, o->order_no, app->cfg->mail_smtp_url[0] != '\0' ? "pending" : "dev", &a, 0};
	const char *code = NULL, *msg = NULL;
	int kind = invoice_file_check(u->data, u->len, &code, &msg);

	if (kind < 0) {
		form_error(f, strcmp(code, "file_too_large") == 0 ? 413 : 415, "file", code, msg);
		return NULL;
	}
	v.order_id = o->id;
	v.size = (int64_t)u->len;
	v.uploaded_by = api_session(r)->rec.subject_id;
	str_copy(v.media_type, invoice_media_type(kind), sizeof(v.media_type));
	str_copy(v.email_to, email, sizeof(v.email_to));
	display_name(u->filename, kind, v.file_name, 200);
	/* The file is durable before the row that names it is written (a file left without its row by
	 * a failure here is taken by the orphan sweep). */
	if (filestore_put(app->cfg->data_dir, u->data, u->len, v.sha256) != 0 ||
	    db_tx(app->db, upload_tx, &t) != DB_OK) {
		if (t.unpaid)
			form_error(f, 409, NULL, "state_conflict", "订单尚未付款，不能开具发票");
		else
			form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return NULL;
	}
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:s}", "order_no", o->order_no, "id",
			 (json_int_t)v.id, "sha256", v.sha256, "media_type", v.media_type, "file_name",
			 v.file_name, "size", (json_int_t)v.size, "email_to", v.email_to, "uploaded_at",
			 v.uploaded_at);
}

/* Reads order no into o (the connection given back at once). Returns 1 when found. */
static int order_read(struct app *app, const char *no, struct order_rec *o)
{
	struct db_conn *c;
	int rc;

	if (no == NULL || strlen(no) > 24)
		return 0;
	c = db_acquire(app->db);
	rc = store_order_get(c, no, o);
	db_release(c);
	return rc == DB_OK;
}

/* Reads, gives the connection back, reads the upload and writes the file, then writes the row
 * with db_tx: no pooled connection is held across the body or the fsync (STYLE.md). */
int api_invoice_put(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *no = http_param(r, "order_no"), *email;
	struct http_upload u;
	struct order_rec o = {0};
	json_t *form, *ok = NULL;
	struct form f;

	if (!order_read(app, no, &o)) {
		store_order_free(&o);
		return http_reply_error(r, 404, "not_found", "未找到该订单", NULL);
	}
	form = json_loads(o.form, 0, NULL);
	email = json_string_value(json_object_get(form, "invoice_email"));
	if (!paid(o.state) || !mail_address_valid(email)) {
		json_decref(form);
		store_order_free(&o);
		return !paid(o.state) ? http_reply_error(r, 409, "state_conflict",
							 "订单尚未付款，不能开具发票", NULL)
				      : http_reply_error(r, 422, "invoice_email_invalid",
							 "订单的发票接收邮箱无效，请先联系客户更正", NULL);
	}
	if (http_multipart(r, INVOICE_MAX_BYTES, &u) != 0) {
		http_upload_free(&u);
		json_decref(form);
		store_order_free(&o);
		return 0;
	}
	form_init(&f, r, u.fields);
	ok = record(r, &o, &u, email, &f);
	json_decref(form);
	store_order_free(&o);
	u.fields = NULL; /* form_finish releases it */
	http_upload_free(&u);
	return form_finish(&f, f.body, 201, ok);
}

/* Replies with the current invoice file of order o, or 404. */
static int send_file(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	struct app *app = http_ctx(r);
	struct invoice_rec v = {0};
	char name[96];
	int fd;

	if (store_invoice_current(c, o->id, &v) != DB_OK)
		return http_reply_error(r, 404, "not_found", "该订单的发票尚未开具", NULL);
	fd = filestore_open(app->cfg->data_dir, v.sha256);
	if (fd < 0)
		return api_internal(r, "invoice file missing");
	snprintf(name, sizeof(name), "invoice-%s.%s", o->order_no,
		 strcmp(v.media_type, "application/ofd") == 0 ? "ofd" : "pdf");
	return http_reply_fd(r, fd, v.media_type, name);
}

int api_invoice_get(struct http_req *r)
{
	return api_on_order(r, 1, send_file);
}

int api_admin_invoice_get(struct http_req *r)
{
	return api_on_order(r, 0, send_file);
}
