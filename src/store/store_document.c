/* The scans of an order: one current file per kind, earlier ones kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

static int put_steps(struct db_conn *c, const struct doc_rec *d, const char *order_no, const struct actor *a,
		     int64_t *id)
{
	char now[TIMEFMT_LEN];
	int rc = db_exec(
		c, "UPDATE documents SET is_current = 0 WHERE order_id = ? AND kind = ? AND is_current = 1",
		DB_ARGS(DB_INT(d->order_id), DB_TEXT(d->kind)), NULL);

	if (rc != DB_OK)
		return rc;
	rc = db_query_int(c,
			  "INSERT INTO documents (order_id, kind, is_current, sha256, media_type, size, "
			  "width, height, dpi_x,"
			  " dpi_y, qr_status, checks, original_name, uploaded_at) VALUES (?, ?, 1, ?, ?, ?, "
			  "?, ?, ?, ?, ?, ?,"
			  " ?, ?) RETURNING id",
			  DB_ARGS(DB_INT(d->order_id), DB_TEXT(d->kind), DB_TEXT(d->sha256),
				  DB_TEXT(d->media_type), DB_INT(d->size), DB_INT(d->width),
				  DB_INT(d->height), DB_INT(d->dpi_x), DB_INT(d->dpi_y),
				  DB_TEXT(d->qr_status), DB_TEXT(d->checks), DB_TEXT(d->original_name),
				  DB_TEXT(timefmt_rfc3339(time(NULL), now))),
			  id);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "document.upload", order_no,
				 json_pack("{s:s, s:s, s:I, s:s}", "kind", d->kind, "sha256", d->sha256,
					   "size", (json_int_t)d->size, "qr_status", d->qr_status));
}

int store_document_put(struct db_conn *c, const struct doc_rec *d, const char *order_no,
		       const struct actor *a, int64_t *id)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, put_steps(c, d, order_no, a, id));
}

#define DOC_COLUMNS                                                                                          \
	"id, order_id, size, kind, sha256, media_type, width, height, dpi_x, dpi_y, qr_status, review,"      \
	" review_reason, original_name, uploaded_at, checks"

/* Copies the current row (DOC_COLUMNS) into d (checks excluded). */
static void doc_from_row(struct db_rows *r, struct doc_rec *d)
{
	memset(d, 0, sizeof(*d));
	d->id = db_rows_int(r, 0);
	d->order_id = db_rows_int(r, 1);
	d->size = db_rows_int(r, 2);
	str_copy(d->kind, db_rows_text(r, 3), sizeof(d->kind));
	str_copy(d->sha256, db_rows_text(r, 4), sizeof(d->sha256));
	str_copy(d->media_type, db_rows_text(r, 5), sizeof(d->media_type));
	d->width = (unsigned)db_rows_int(r, 6);
	d->height = (unsigned)db_rows_int(r, 7);
	d->dpi_x = (unsigned)db_rows_int(r, 8);
	d->dpi_y = (unsigned)db_rows_int(r, 9);
	str_copy(d->qr_status, db_rows_text(r, 10), sizeof(d->qr_status));
	str_copy(d->review, db_rows_text(r, 11), sizeof(d->review));
	str_copy(d->review_reason, db_rows_text(r, 12), sizeof(d->review_reason));
	str_copy(d->original_name, db_rows_text(r, 13), sizeof(d->original_name));
	str_copy(d->uploaded_at, db_rows_text(r, 14), sizeof(d->uploaded_at));
}

int store_document_current(struct db_conn *c, int64_t order_id, const char *kind, struct doc_rec *d)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c, "SELECT " DOC_COLUMNS " FROM documents WHERE order_id = ? AND kind = ? AND is_current = 1",
		DB_ARGS(DB_INT(order_id), DB_TEXT(kind)), &r);

	if (rc != DB_OK)
		return rc;
	rc = db_rows_next(r);
	if (rc == 1)
		doc_from_row(r, d);
	db_rows_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
}

int store_documents_json(struct db_conn *c, int64_t order_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c, "SELECT " DOC_COLUMNS " FROM documents WHERE order_id = ? AND is_current = 1 ORDER BY id",
		DB_ARGS(DB_INT(order_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		struct doc_rec d = {0};
		json_t *checks = json_loads(db_rows_text(r, 15), 0, NULL);
		doc_from_row(r, &d);
		json_t *j = json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:s, s:o, s:s, s:s, s:s, s:s}",
				      "kind", d.kind, "media_type", d.media_type, "size", (json_int_t)d.size,
				      "width", (int)d.width, "height", (int)d.height, "dpi_x", (int)d.dpi_x,
				      "dpi_y", (int)d.dpi_y, "qr_status", d.qr_status, "checks",
				      checks ? checks : json_object(), "review", d.review, "uploaded_at",
				      d.uploaded_at, "sha256", d.sha256, "original_name", d.original_name);
		if (d.review_reason[0] != '\0')
			json_object_set_new(j, "review_reason", json_string(d.review_reason));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_documents_complete(struct db_conn *c, int64_t order_id, const char *kinds, int *ok)
{
	*ok = 1;
	for (const char *p = kinds; *p != '\0' && *ok;) {
		char kind[32];
		struct doc_rec d = {0};
		size_t n = strcspn(p, ",");
		snprintf(kind, sizeof(kind), "%.*s", (int)n, p);
		int rc = store_document_current(c, order_id, kind, &d);
		if (rc == DB_NOTFOUND || (rc == DB_OK && strcmp(d.review, "rejected") == 0))
			*ok = 0;
		else if (rc != DB_OK)
			return rc;
		p += n + (p[n] == ',');
	}
	return DB_OK;
}
