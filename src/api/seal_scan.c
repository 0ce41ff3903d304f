/* The order's seal-form scan for the seal routes of staff (see seal_scan.h). */
#include "api/seal_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "docs/image.h"
#include "sandbox/decode_client.h"
#include "store/filestore.h"

#define SEAL_FORM_KIND "seal_form"

void api_seal_scan_free(struct seal_scan *s)
{
	store_order_free(&s->o);
	free(s->data);
	s->data = NULL;
	s->len = 0;
}

/* Reads all of fd (at most max bytes) into *out. Returns 0 or -1; closes fd. */
static int read_all(int fd, size_t max, unsigned char **out, size_t *len)
{
	unsigned char *buf = malloc(max + 1);
	size_t n = 0;
	ssize_t got = 0;

	*out = NULL;
	while (buf != NULL && n <= max && (got = read(fd, buf + n, max + 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	if (buf == NULL || got < 0 || n > max || n == 0) {
		free(buf);
		return -1;
	}
	*out = buf, *len = n;
	return 0;
}

int api_seal_scan_read(struct http_req *r, int want_scan, struct seal_scan *s)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct key_type_rec kt = {0};
	int rc = DB_OK, fd;

	memset(s, 0, sizeof(*s));
	if (api_staff_order(r, c, &s->o) != 0) {
		db_release(c);
		return -1;
	}
	store_key_type_get(c, s->o.project_id, s->o.key_type, &kt);
	s->has_seal = kt.has_seal;
	if (s->has_seal && want_scan)
		rc = store_document_current(c, s->o.id, SEAL_FORM_KIND, &s->d);
	db_release(c);
	if (!s->has_seal || !want_scan)
		return 0;
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "本订单尚未上传签章采集表", NULL), -1;
	if (rc != DB_OK)
		return api_internal(r, "seal form document read"), -1;
	fd = filestore_open(app->cfg->data_dir, s->d.sha256);
	if (fd < 0 || read_all(fd, IMAGE_MAX_BYTES, &s->data, &s->len) != 0)
		return api_internal(r, "seal form file missing"), -1;
	return 0;
}

int api_seal_scan_open(struct http_req *r, const struct seal_scan *s, struct seal_rgb *img,
		       struct seal_page *page, struct seal_box boxes[SEAL_NSLOTS])
{
	struct decode_facts *f = calloc(1, sizeof(*f));
	char prefix[80];

	memset(img, 0, sizeof(*img));
	if (f == NULL)
		return api_internal(r, "out of memory"), -1;
	if (decode_rgb(s->data, s->len, img, f) != DECODE_OK) {
		http_reply_error(r, 422, f->code, f->message, NULL);
		free(f);
		return -1;
	}
	free(f);
	/* This order's seal form, whatever version of its data it was printed for. */
	snprintf(prefix, sizeof(prefix), "certdesk:form:seal:%s:", s->o.order_no);
	if (seal_locate(img, prefix, page, boxes) != 0) {
		seal_rgb_free(img);
		return api_internal(r, "seal locate"), -1;
	}
	return 0;
}

enum decode_status api_seal_check_png(const unsigned char *png, size_t len, enum seal_slot slot,
				      double width_mm, const struct seal_opts *opts, struct seal_result *res,
				      struct decode_facts *f)
{
	unsigned char *rgba = NULL;
	unsigned w = 0, h = 0;
	enum decode_status st = decode_rgba(png, len, &rgba, &w, &h, f);

	memset(res, 0, sizeof(*res));
	if (st == DECODE_OK && seal_check_rgba(rgba, w, h, slot, width_mm, opts, res) != 0) {
		snprintf(f->code, sizeof(f->code), "file_type");
		snprintf(f->message, sizeof(f->message), "PNG 图片无法解码");
		st = DECODE_REFUSED;
	}
	free(rgba);
	return st;
}
