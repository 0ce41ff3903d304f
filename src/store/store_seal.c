/* The tables seal_pictures and seals (migration 019, issue 14): the seal pictures staff chose for an
 * order, and the GB/T 38540 seals made for a main key's signing certificate. Bytes are base64 text
 * (the store binds text and integers only); nothing here parses a picture or a seal. */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

/* --- seal pictures --- */

#define PIC_COLS                                                                                             \
	"id, order_id, seal, png, sha256, width_px, height_px, width_mm10, height_mm10, source, slot, box,"  \
	" verdict, chosen_by, chosen_at"

static void pic_from_row(struct db_rows *r, struct seal_picture_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->id = db_rows_int(r, 0);
	p->order_id = db_rows_int(r, 1);
	str_copy(p->seal, db_rows_text(r, 2), sizeof(p->seal));
	p->png_b64 = xstrdup(db_rows_text(r, 3) != NULL ? db_rows_text(r, 3) : "");
	str_copy(p->sha256, db_rows_text(r, 4), sizeof(p->sha256));
	p->width_px = (int)db_rows_int(r, 5);
	p->height_px = (int)db_rows_int(r, 6);
	p->width_mm10 = (int)db_rows_int(r, 7);
	p->height_mm10 = (int)db_rows_int(r, 8);
	str_copy(p->source, db_rows_text(r, 9), sizeof(p->source));
	if (db_rows_text(r, 10) != NULL)
		str_copy(p->slot, db_rows_text(r, 10), sizeof(p->slot));
	p->box = db_rows_text(r, 11) != NULL ? xstrdup(db_rows_text(r, 11)) : NULL;
	str_copy(p->verdict, db_rows_text(r, 12), sizeof(p->verdict));
	str_copy(p->chosen_by, db_rows_text(r, 13), sizeof(p->chosen_by));
	str_copy(p->chosen_at, db_rows_text(r, 14), sizeof(p->chosen_at));
}

int store_seal_picture_get(struct db_conn *c, int64_t order_id, const char *seal, struct seal_picture_rec *p)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT " PIC_COLS " FROM seal_pictures WHERE order_id = ? AND seal = ?",
			  DB_ARGS(DB_INT(order_id), DB_TEXT(seal)), &r);

	memset(p, 0, sizeof(*p));
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1)
			pic_from_row(r, p);
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_seal_picture_put(struct db_conn *c, struct seal_picture_rec *p, const char *order_no,
			   const struct actor *a)
{
	char now[TIMEFMT_LEN];
	int rc;

	timefmt_rfc3339(time(NULL), now);
	str_copy(p->chosen_at, now, sizeof(p->chosen_at));
	str_copy(p->chosen_by, a->id != NULL ? a->id : "", sizeof(p->chosen_by));
	/* a new choice replaces the order's picture of that seal */
	rc = db_exec(
		c,
		"INSERT INTO seal_pictures (order_id, seal, png, sha256, width_px, height_px, width_mm10,"
		" height_mm10, source, slot, box, verdict, chosen_by, chosen_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (order_id, seal) DO UPDATE SET png = excluded.png, sha256 = excluded.sha256,"
		" width_px = excluded.width_px, height_px = excluded.height_px,"
		" width_mm10 = excluded.width_mm10, height_mm10 = excluded.height_mm10,"
		" source = excluded.source, slot = excluded.slot, box = excluded.box,"
		" verdict = excluded.verdict, chosen_by = excluded.chosen_by, chosen_at = excluded.chosen_at",
		DB_ARGS(DB_INT(p->order_id), DB_TEXT(p->seal), DB_TEXT(p->png_b64), DB_TEXT(p->sha256),
			DB_INT(p->width_px), DB_INT(p->height_px), DB_INT(p->width_mm10),
			DB_INT(p->height_mm10), DB_TEXT(p->source), DB_TEXT(p->slot[0] ? p->slot : NULL),
			DB_TEXT(p->box), DB_TEXT(p->verdict), DB_TEXT(p->chosen_by), DB_TEXT(now)),
		NULL);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(
		c, a, "seal.picture", order_no,
		json_pack("{s:s, s:s, s:s, s:s*, s:i, s:i}", "seal", p->seal, "source", p->source, "sha256",
			  p->sha256, "slot", p->slot[0] ? p->slot : NULL, "width_mm10",
			  (json_int_t)p->width_mm10, "height_mm10", (json_int_t)p->height_mm10));
}

void store_seal_picture_free(struct seal_picture_rec *p)
{
	if (p == NULL)
		return;
	free(p->png_b64);
	free(p->box);
	p->png_b64 = p->box = NULL;
}

/* --- seals --- */

#define SEAL_COLS                                                                                            \
	"id, order_id, usb_key_id, cert_serial, type, es_id, der, sha256, valid_start, valid_end,"           \
	" maker_key_id, state, created_at, written_at"

static void seal_from_row(struct db_rows *r, struct seal_rec *s)
{
	memset(s, 0, sizeof(*s));
	s->id = db_rows_int(r, 0);
	s->order_id = db_rows_int(r, 1);
	s->usb_key_id = db_rows_int(r, 2);
	str_copy(s->cert_serial, db_rows_text(r, 3), sizeof(s->cert_serial));
	str_copy(s->type, db_rows_text(r, 4), sizeof(s->type));
	str_copy(s->es_id, db_rows_text(r, 5), sizeof(s->es_id));
	s->der_b64 = xstrdup(db_rows_text(r, 6) != NULL ? db_rows_text(r, 6) : "");
	str_copy(s->sha256, db_rows_text(r, 7), sizeof(s->sha256));
	str_copy(s->valid_start, db_rows_text(r, 8), sizeof(s->valid_start));
	str_copy(s->valid_end, db_rows_text(r, 9), sizeof(s->valid_end));
	str_copy(s->maker_key_id, db_rows_text(r, 10), sizeof(s->maker_key_id));
	str_copy(s->state, db_rows_text(r, 11), sizeof(s->state));
	str_copy(s->created_at, db_rows_text(r, 12), sizeof(s->created_at));
	if (db_rows_text(r, 13) != NULL)
		str_copy(s->written_at, db_rows_text(r, 13), sizeof(s->written_at));
}

int store_seal_insert(struct db_conn *c, struct seal_rec *s)
{
	char now[TIMEFMT_LEN];
	int rc;

	timefmt_rfc3339(time(NULL), now);
	str_copy(s->created_at, now, sizeof(s->created_at));
	str_copy(s->state, "made", sizeof(s->state));
	/* only while the key is still being produced: an abandoned or written key gets no new seal */
	rc = db_query_int(
		c,
		"INSERT INTO seals (order_id, usb_key_id, cert_serial, type, es_id, der, sha256,"
		" valid_start, valid_end, maker_key_id, state, created_at)"
		" SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'made', ?"
		" WHERE EXISTS (SELECT 1 FROM usb_keys WHERE id = ? AND order_id = ? AND state = 'producing')"
		" RETURNING id",
		DB_ARGS(DB_INT(s->order_id), DB_INT(s->usb_key_id), DB_TEXT(s->cert_serial), DB_TEXT(s->type),
			DB_TEXT(s->es_id), DB_TEXT(s->der_b64), DB_TEXT(s->sha256), DB_TEXT(s->valid_start),
			DB_TEXT(s->valid_end), DB_TEXT(s->maker_key_id), DB_TEXT(now), DB_INT(s->usb_key_id),
			DB_INT(s->order_id)),
		&s->id);
	return rc;
}

int store_seals_of_key(struct db_conn *c, int64_t usb_key_id, const char *cert_serial, struct seal_rec *out,
		       int max, int *n)
{
	struct db_rows *r = NULL;
	int rc = cert_serial != NULL
			 ? db_query(c,
				    "SELECT " SEAL_COLS " FROM seals WHERE usb_key_id = ? AND cert_serial = ?"
				    " ORDER BY type DESC",
				    DB_ARGS(DB_INT(usb_key_id), DB_TEXT(cert_serial)), &r)
			 : db_query(c, "SELECT " SEAL_COLS " FROM seals WHERE usb_key_id = ? ORDER BY id",
				    DB_ARGS(DB_INT(usb_key_id)), &r);

	*n = 0;
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		if (*n < max)
			seal_from_row(r, &out[(*n)++]);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_seals_mark_written(struct db_conn *c, int64_t usb_key_id, const char *cert_serial)
{
	char now[TIMEFMT_LEN];

	timefmt_rfc3339(time(NULL), now);
	return db_exec(
		c,
		"UPDATE seals SET state = 'written', written_at = ? WHERE usb_key_id = ? AND cert_serial = ?"
		" AND state = 'made'",
		DB_ARGS(DB_TEXT(now), DB_INT(usb_key_id), DB_TEXT(cert_serial)), NULL);
}

void store_seal_free(struct seal_rec *s)
{
	if (s == NULL)
		return;
	free(s->der_b64);
	s->der_b64 = NULL;
}

int store_ca_sealmaker(struct db_conn *c, const char *issuing_key_id, char key_id[48], char **der_b64)
{
	struct db_rows *r = NULL;
	/* the issuing CA's own SM2 seal maker first, else any SM2 seal maker (an RSA or P-256 issuing CA
	 * has none of its own: seals are SM2 only) */
	int rc = db_query(c,
			  "SELECT key_id, der FROM cas WHERE role = 'sealmaker' AND algorithm = 'sm2'"
			  " ORDER BY CASE WHEN parent_key_id = ? THEN 0 ELSE 1 END, id LIMIT 1",
			  DB_ARGS(DB_TEXT(issuing_key_id)), &r);

	*der_b64 = NULL;
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1) {
			str_copy(key_id, db_rows_text(r, 0), 48);
			*der_b64 = xstrdup(db_rows_text(r, 1));
		}
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}
