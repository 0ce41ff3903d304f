/* The e-mail sender of the outbox worker: the 'invoice' template loads the invoice row and its file
 * from the filestore and mails it as an attachment through providers/mail.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "docs/invoice_file.h"
#include "jobs/outbox.h"
#include "store/filestore.h"
#include "store/store.h"
#include "util/xalloc.h"

/* Reads the stored file sha (at most max bytes) into *data (caller frees); returns its size or -1. */
static ssize_t read_stored(const char *dir, const char *sha, size_t max, unsigned char **data)
{
	int fd = filestore_open(dir, sha);
	struct stat st;
	ssize_t got = -1;
	size_t n = 0;

	*data = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (size_t)st.st_size <= max) {
		*data = xcalloc((size_t)st.st_size);
		while (n < (size_t)st.st_size) {
			ssize_t r = read(fd, *data + n, (size_t)st.st_size - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		got = n == (size_t)st.st_size ? (ssize_t)n : -1;
	}
	close(fd);
	return got;
}

/* Returns the invoice id of an 'invoice' message's parameters, or 0. */
int64_t outbox_invoice_id(const struct outbox_msg *m)
{
	json_t *p = json_loads(m->params, 0, NULL);
	json_int_t id = json_integer_value(json_object_get(p, "invoice_id"));

	json_decref(p);
	return id > 0 ? (int64_t)id : 0;
}

/* Mails the invoice of m with its file attached. Returns an enum outbox_result. */
static int send_invoice(struct outbox_mail_ctx *x, const struct outbox_msg *m, char *err, size_t errlen)
{
	struct invoice_rec v = {0};
	unsigned char *data = NULL;
	char subject[200], text[1024], name[96];
	json_t *p = json_loads(m->params, 0, NULL);
	const char *no = json_string_value(json_object_get(p, "order_no"));
	struct db_conn *c = db_acquire(x->db);
	int rc = store_invoice_get(c, outbox_invoice_id(m), &v);
	ssize_t len;

	db_release(c);
	if (rc != DB_OK || no == NULL) {
		snprintf(err, errlen, rc == DB_NOTFOUND || no == NULL ? "no such invoice" : "database error");
		json_decref(p);
		return rc == DB_NOTFOUND || no == NULL ? OUTBOX_GIVE_UP : OUTBOX_RETRY;
	}
	if ((len = read_stored(x->data_dir, v.sha256, INVOICE_MAX_BYTES, &data)) < 0) {
		snprintf(err, errlen, "invoice file %.16s… cannot be read", v.sha256);
		json_decref(p);
		return OUTBOX_RETRY;
	}
	snprintf(subject, sizeof(subject), "数字证书发票（订单 %s）", no);
	snprintf(text, sizeof(text),
		 "您好：\r\n\r\n附件是订单 %s 的数字证书发票（%s），请查收。\r\n"
		 "如有疑问请联系客服。本邮件由系统自动发送，请勿回复。\r\n",
		 no, strcmp(v.media_type, "application/ofd") == 0 ? "OFD" : "PDF");
	snprintf(name, sizeof(name), "invoice-%s.%s", no,
		 strcmp(v.media_type, "application/ofd") == 0 ? "ofd" : "pdf");
	rc = mail_send(&x->mail, m->recipient, subject, text,
		       &(struct mail_attachment){name, v.media_type, data, (size_t)len}, err, errlen);
	free(data);
	json_decref(p);
	return rc == MAIL_SENT ? OUTBOX_SENT : rc == MAIL_PERMANENT ? OUTBOX_GIVE_UP : OUTBOX_RETRY;
}

/* The e-mail sender: the templates the platform mails. */
static int send_mail(void *ctx, const struct outbox_msg *m, char *ref, size_t reflen, char *err,
		     size_t errlen)
{
	snprintf(ref, reflen, "smtp");
	if (strcmp(m->tmpl, "invoice") == 0)
		return send_invoice(ctx, m, err, errlen);
	snprintf(err, errlen, "unknown e-mail template %.40s", m->tmpl);
	return OUTBOX_GIVE_UP;
}

void outbox_opts_mail(struct outbox_opts *o, struct outbox_mail_ctx *x, const struct config *cfg,
		      struct db *db)
{
	mail_config_from(&x->mail, cfg);
	x->db = db;
	x->data_dir = cfg->data_dir;
	o->channel = "email";
	o->poll_interval_s = cfg->outbox_poll_interval_s;
	o->batch = cfg->outbox_batch;
	o->max_attempts = cfg->outbox_max_attempts;
	o->retry_base_s = cfg->outbox_retry_base_s;
	/* the lease must outlive one delivery, or another server could send the same mail meanwhile */
	o->lease_s =
		cfg->outbox_lease_s > cfg->mail_timeout_s + 5 ? cfg->outbox_lease_s : cfg->mail_timeout_s + 5;
	o->send = send_mail;
	o->ctx = x;
}
