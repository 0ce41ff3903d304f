/* The scans of an order: one current file per kind, earlier ones kept; their display names; which
 * stored files the database still names (for the orphan sweep). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/filestore.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

/* The longest display name kept, in characters (the byte limit is the caller's buffer). */
#define NAME_MAX_CHARS 100
/* The longest extension (after the last dot) kept apart from the stem when shortening. */
#define NAME_MAX_EXT 10

/* Returns the length (1 to 4) of the well-formed UTF-8 sequence at p with its code point in *cp, or
 * 0 when the bytes there are not one (stray, overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t v = len == 1 ? p[0] : len == 2 ? p[0] & 0x1fu : len == 3 ? p[0] & 0x0fu : p[0] & 0x07u;
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};

	if (len == 0)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL of a string cut short */
		v = (v << 6) | (p[i] & 0x3fu);
	}
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Returns 1 for code points a file name must not show: controls (C0, DEL, C1), and the invisible
 * and direction-changing marks that can disguise an extension ("exe.png" written backwards). */
static int name_hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/* Returns 1 when p holds only the start of a multi-byte character and then the end of the string. */
static int cut_short(const unsigned char *p)
{
	size_t need = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0, i;

	for (i = 1; i < need && (p[i] & 0xc0) == 0x80; i++)
		;
	return need > 0 && i < need && p[i] == '\0';
}

/* Returns a malloc'd copy of s as well-formed UTF-8: each stray byte becomes U+FFFD, a sequence cut
 * short at the end (a text truncated mid-character by a fixed buffer) is dropped, and when hide is
 * set the marks of name_hidden go. */
static char *utf8_clean(const char *s, int hide)
{
	size_t n = strlen(s), o = 0;
	char *out = xcalloc(3 * n + 1);

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
		uint32_t cp = 0;
		size_t len = utf8_seq(p, &cp);
		if (len == 0) {
			if (cut_short(p))
				break; /* the tail of a character cut by a fixed buffer */
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		if (!hide || !name_hidden(cp)) {
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	out[o] = '\0';
	return out;
}

/* Returns the number of bytes of the first max_chars characters of valid UTF-8 s that fit in
 * max_bytes. */
static size_t utf8_prefix(const char *s, size_t max_chars, size_t max_bytes)
{
	size_t at = 0;
	uint32_t cp;

	for (size_t chars = 0; s[at] != '\0' && chars < max_chars; chars++) {
		size_t len = utf8_seq((const unsigned char *)s + at, &cp);
		if (len == 0 || at + len > max_bytes)
			break;
		at += len;
	}
	return at;
}

/* Returns the extension the media type is stored under. */
static const char *media_ext(const char *media_type)
{
	return media_type == NULL                       ? "bin"
	       : strcmp(media_type, "image/png") == 0   ? "png"
	       : strcmp(media_type, "image/bmp") == 0   ? "bmp"
	       : strcmp(media_type, "image/jpeg") == 0  ? "jpg"
							: "bin";
}

/* Returns where the extension of name starts (its dot), or NULL: a short run of letters and digits
 * after the last dot, with something before it. */
static const char *name_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t n = dot != NULL ? strlen(dot + 1) : 0;

	if (dot == NULL || dot == name || n == 0 || n > NAME_MAX_EXT)
		return NULL;
	for (const char *p = dot + 1; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			return NULL;
	return dot;
}

void store_document_display_name(const char *given, const char *media_type, char *out, size_t size)
{
	const char *base = given != NULL ? given : "", *slash;
	char *clean, ext[NAME_MAX_EXT + 2];
	const char *dot;
	size_t stem_len, keep, ext_chars;

	/* browsers of old sent the whole client path */
	while ((slash = strpbrk(base, "/\\")) != NULL)
		base = slash + 1;
	clean = utf8_clean(base, 1);
	dot = name_ext(clean);
	snprintf(ext, sizeof(ext), ".%s", dot != NULL ? dot + 1 : media_ext(media_type));
	stem_len = dot != NULL ? (size_t)(dot - clean) : strlen(clean);
	clean[stem_len] = '\0';
	ext_chars = strlen(ext);
	/* the stem shortened at a character boundary, marked with "…" (3 bytes) when cut */
	keep = utf8_prefix(clean, NAME_MAX_CHARS - ext_chars, size - 1 - strlen(ext));
	if (keep < stem_len)
		keep = utf8_prefix(clean, NAME_MAX_CHARS - ext_chars - 1, size - 1 - strlen(ext) - 3);
	if (stem_len == 0)
		snprintf(out, size, "scan%s", ext);
	else
		snprintf(out, size, "%.*s%s%s", (int)keep, clean, keep < stem_len ? "…" : "", ext);
	free(clean);
}

/* Takes the row lock of the order and checks it is still in state at form_version: the guard that
 * keeps an upload off an order submitted meanwhile (a racing submission either waits for this
 * transaction or has already moved the state, and then nothing is written), and a form checked
 * against the order's data off an order edited meanwhile. Returns DB_OK, DB_NOTFOUND or < 0. */
static int order_still(struct db_conn *c, int64_t order_id, const char *state, int64_t form_version,
		       const char *now)
{
	int64_t changes = 0;
	int rc = db_exec(c, "UPDATE orders SET updated_at = ? WHERE id = ? AND state = ? AND form_version = ?",
			 DB_ARGS(DB_TEXT(now), DB_INT(order_id), DB_TEXT(state), DB_INT(form_version)),
			 &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

static int put_steps(struct db_conn *c, const struct doc_rec *d, const struct order_rec *o,
		     const struct actor *a, int64_t *id)
{
	char now[TIMEFMT_LEN];
	int rc = order_still(c, o->id, o->state, o->form_version, timefmt_rfc3339(time(NULL), now));

	if (rc == DB_OK)
		rc = db_exec(c,
			     "UPDATE documents SET is_current = 0 WHERE order_id = ? AND kind = ? AND is_current = 1",
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
				  DB_TEXT(now)),
			  id);
	if (rc != DB_OK)
		return rc;
	json_t *detail = json_pack("{s:s, s:s, s:I, s:s}", "kind", d->kind, "sha256", d->sha256, "size",
				   (json_int_t)d->size, "qr_status", d->qr_status);
	return detail == NULL ? DB_ERROR : store_audit_order(c, a, "document.upload", o->order_no, detail);
}

int store_document_put(struct db_conn *c, const struct doc_rec *d, const struct order_rec *o,
		       const struct actor *a, int64_t *id)
{
	int rc = d->order_id == o->id ? db_begin(c) : DB_ERROR;

	return rc != DB_OK ? rc : db_end(c, put_steps(c, d, o, a, id));
}

#define DOC_COLUMNS                                                                                          \
	"id, order_id, size, kind, sha256, media_type, width, height, dpi_x, dpi_y, qr_status, review,"      \
	" review_reason, original_name, uploaded_at, checks"

/* Copies src into dst of size bytes cut at a character boundary, as well-formed UTF-8. */
static void text_copy(char *dst, const char *src, size_t size)
{
	char *clean = utf8_clean(src != NULL ? src : "", 0);

	snprintf(dst, size, "%.*s", (int)utf8_prefix(clean, SIZE_MAX, size - 1), clean);
	free(clean);
}

/* Copies the current row (DOC_COLUMNS) into d (checks excluded; review_reason cut to its buffer,
 * store_documents_json shows it whole). */
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
	text_copy(d->review_reason, db_rows_text(r, 12), sizeof(d->review_reason));
	/* rows written before names were cleaned may hold a name cut mid-character: shown cleaned */
	store_document_display_name(db_rows_text(r, 13), d->media_type, d->original_name,
				    sizeof(d->original_name));
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

/* Returns the JSON of the current row (DOC_COLUMNS), or NULL when it cannot be built. */
static json_t *doc_json(struct db_rows *r)
{
	struct doc_rec d = {0};
	json_t *checks = json_loads(db_rows_text(r, 15), 0, NULL), *j;

	doc_from_row(r, &d);
	j = json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:s, s:o, s:s, s:s, s:s, s:s}", "kind", d.kind,
		      "media_type", d.media_type, "size", (json_int_t)d.size, "width", (int)d.width, "height",
		      (int)d.height, "dpi_x", (int)d.dpi_x, "dpi_y", (int)d.dpi_y, "qr_status", d.qr_status,
		      "checks", checks ? checks : json_object(), "review", d.review, "uploaded_at",
		      d.uploaded_at, "sha256", d.sha256, "original_name", d.original_name);
	if (j != NULL && db_rows_text(r, 12) != NULL && db_rows_text(r, 12)[0] != '\0') {
		char *reason = utf8_clean(db_rows_text(r, 12), 0);
		if (json_object_set_new(j, "review_reason", json_string(reason)) != 0) {
			json_decref(j);
			j = NULL;
		}
		free(reason);
	}
	return j;
}

int store_documents_json(struct db_conn *c, int64_t order_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c, "SELECT " DOC_COLUMNS " FROM documents WHERE order_id = ? AND is_current = 1 ORDER BY id",
		DB_ARGS(DB_INT(order_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j = doc_json(r);
		/* a document that cannot be shown is not there, for the page and for submission alike */
		if (j == NULL)
			log_error("files", "document %lld of order %lld cannot be shown",
				  (long long)db_rows_int(r, 0), (long long)order_id);
		else
			json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

/* Returns 1 when items holds a document of kind that is not rejected. */
static int kind_done(json_t *items, const char *kind)
{
	json_t *it;
	size_t i;

	json_array_foreach (items, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "kind")), kind) == 0)
			return strcmp(json_string_value(json_object_get(it, "review")), "rejected") != 0;
	}
	return 0;
}

int store_documents_complete(struct db_conn *c, int64_t order_id, const char *kinds, int *ok)
{
	json_t *items = NULL;
	/* the very list the page shows: a slot that shows empty is never counted as filled */
	int rc = store_documents_json(c, order_id, &items);

	*ok = rc == DB_OK;
	for (const char *p = kinds; rc == DB_OK && *p != '\0' && *ok;) {
		char kind[32];
		size_t n = strcspn(p, ",");
		snprintf(kind, sizeof(kind), "%.*s", (int)n, p);
		*ok = kind_done(items, kind);
		p += n + (p[n] == ',');
	}
	json_decref(items);
	return rc;
}

int store_file_in_use(struct db_conn *c, const char *sha)
{
	int64_t n = 0;
	int rc = db_query_int(c,
			      "SELECT (SELECT COUNT(*) FROM documents WHERE sha256 = ?)"
			      " + (SELECT COUNT(*) FROM invoices WHERE sha256 = ?)"
			      " + (SELECT COUNT(*) FROM mobile_change_requests WHERE letter_sha256 = ?)",
			      DB_ARGS(DB_TEXT(sha), DB_TEXT(sha), DB_TEXT(sha)), &n);

	return rc != DB_OK ? rc : n > 0;
}

/* filestore_sweep's question, asked on a connection held for that one query. */
static int file_in_use(const char *sha, void *arg)
{
	struct db_conn *c = db_acquire(arg);
	int rc = store_file_in_use(c, sha);

	db_release(c);
	return rc;
}

int store_files_sweep(struct db *db, const char *dir, long grace_s, int *removed)
{
	return filestore_sweep(dir, grace_s, file_in_use, db, removed);
}

int store_files_sweep_pass(void *arg, const atomic_int *stop)
{
	struct store_sweep_job *job = arg;
	int removed = 0;

	(void)stop;
	if (store_files_sweep(job->db, job->dir, STORE_FILES_GRACE_S, &removed) != 0)
		log_error("files", "orphan file sweep: cannot read %s", job->dir);
	else if (removed > 0)
		log_info("files", "orphan file sweep: %d file(s) no row names removed", removed);
	return 0;
}
