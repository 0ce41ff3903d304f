/* Online renewal in the database (issue 15, migration 020): the project's renewal settings, the
 * one-time challenges of proof of possession, the renewal tokens (hashes only) and renewal orders
 * (orders of kind 'renewal', one live per certificate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pii.h"
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"

int store_renewal_settings(struct db_conn *c, int64_t project_id, struct renewal_settings *s)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT renewal_window_before_days, renewal_window_after_days, renewal_mode FROM projects"
			  " WHERE id = ?",
			  DB_ARGS(DB_INT(project_id)), &r);

	memset(s, 0, sizeof(*s));
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1) {
			s->before_days = (int)db_rows_int(r, 0);
			s->after_days = (int)db_rows_int(r, 1);
			str_copy(s->mode, db_rows_text(r, 2), sizeof(s->mode));
		}
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_renewal_challenge_add(struct db_conn *c, const char *challenge_id, const char *serial,
				const char *challenge_b64, const char *ip, const char *expires_at)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
		       "INSERT INTO renewal_challenges (challenge_id, cert_serial, challenge, ip, created_at, expires_at)"
		       " VALUES (?, ?, ?, ?, ?, ?)",
		       DB_ARGS(DB_TEXT(challenge_id), DB_TEXT(serial), DB_TEXT(challenge_b64), DB_TEXT(ip),
			       DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(expires_at)),
		       NULL);
}

int store_renewal_challenge_take(struct db_conn *c, const char *challenge_id, char serial[48],
				 char challenge_b64[64])
{
	char now[TIMEFMT_LEN];
	struct db_rows *r = NULL;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	/* used up by the first taker, whether its signature verifies or not: one-time */
	rc = db_query(c,
		      "UPDATE renewal_challenges SET used_at = ? WHERE challenge_id = ? AND used_at IS NULL"
		      " AND expires_at > ? RETURNING cert_serial, challenge",
		      DB_ARGS(DB_TEXT(now), DB_TEXT(challenge_id), DB_TEXT(now)), &r);
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1) {
			str_copy(serial, db_rows_text(r, 0), 48);
			str_copy(challenge_b64, db_rows_text(r, 1), 64);
		}
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_renewal_token_add(struct db_conn *c, const char *token_hash, const char *serial, int64_t order_id,
			    const char *expires_at)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
		       "INSERT INTO renewal_tokens (token_hash, cert_serial, order_id, created_at, expires_at)"
		       " VALUES (?, ?, ?, ?, ?)",
		       DB_ARGS(DB_TEXT(token_hash), DB_TEXT(serial), order_id != 0 ? DB_INT(order_id) : DB_NULLV,
			       DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_TEXT(expires_at)),
		       NULL);
}

int store_renewal_token_get(struct db_conn *c, const char *token_hash, char serial[48])
{
	char now[TIMEFMT_LEN], *s = NULL;
	int rc = db_query_text(c, "SELECT cert_serial FROM renewal_tokens WHERE token_hash = ? AND expires_at > ?",
			       DB_ARGS(DB_TEXT(token_hash), DB_TEXT(timefmt_rfc3339(time(NULL), now))), &s);

	if (rc == DB_OK)
		str_copy(serial, s != NULL ? s : "", 48);
	free(s);
	return rc;
}

int store_renewal_token_bind(struct db_conn *c, const char *token_hash, int64_t order_id)
{
	return db_exec(c, "UPDATE renewal_tokens SET order_id = ? WHERE token_hash = ?",
		       DB_ARGS(DB_INT(order_id), DB_TEXT(token_hash)), NULL);
}

int store_renewal_live(struct db_conn *c, const char *serial, char order_no[32])
{
	char *s = NULL;
	/* or the renewal that issued serial, not yet confirmed: the key was pulled out after its new
	 * signing certificate was written (recertify replaces the old one in its container), and that key
	 * resumes the renewal */
	int rc = db_query_text(c,
			       "SELECT order_no FROM orders WHERE kind = 'renewal' AND ((renews_serial = ? AND state NOT IN"
			       " ('cancelled', 'completed', 'refunding', 'refunded')) OR (state = 'issued' AND id IN"
			       " (SELECT order_id FROM certificates WHERE serial = ? AND kind = 'sign')))",
			       DB_ARGS(DB_TEXT(serial), DB_TEXT(serial)), &s);

	if (rc == DB_OK)
		str_copy(order_no, s != NULL ? s : "", 32);
	free(s);
	return rc;
}

int store_renewal_completed_of(struct db_conn *c, const char *serial, char order_no[32])
{
	char *s = NULL;
	/* the newest: a certificate renewed in certdesk and renewed again shows the later renewal */
	int rc = db_query_text(c,
			       "SELECT order_no FROM orders WHERE kind = 'renewal' AND state = 'completed' AND"
			       " (renews_serial = ? OR id IN (SELECT order_id FROM certificates WHERE serial = ?))"
			       " ORDER BY id DESC LIMIT 1",
			       DB_ARGS(DB_TEXT(serial), DB_TEXT(serial)), &s);

	if (rc == DB_OK)
		str_copy(order_no, s != NULL ? s : "", 32);
	free(s);
	return rc;
}

int store_order_kind(struct db_conn *c, int64_t order_id, char kind[12], char renews_serial[48])
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT kind, renews_serial FROM orders WHERE id = ?", DB_ARGS(DB_INT(order_id)), &r);

	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1) {
			str_copy(kind, db_rows_text(r, 0), 12);
			str_copy(renews_serial, db_rows_text(r, 1) != NULL ? db_rows_text(r, 1) : "", 48);
		}
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_order_is_renewal(struct db_conn *c, int64_t order_id)
{
	int64_t n = 0;
	int rc = db_query_int(c, "SELECT COUNT(*) FROM orders WHERE id = ? AND kind = 'renewal'",
			      DB_ARGS(DB_INT(order_id)), &n);

	return rc != DB_OK ? rc : n > 0;
}

/* Returns the Beijing (UTC+8) date of t as YYYYMMDD, as order numbers use it. */
static int beijing_day(time_t t)
{
	struct tm tm;

	t += 8 * 3600;
	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int renewal_create_steps(struct db_conn *c, struct order_rec *o, const char *prefix, const char *serial,
				const struct actor *a)
{
	char now[TIMEFMT_LEN];
	time_t t = time(NULL);
	int64_t seq = 0;
	int day = beijing_day(t), rc;

	rc = db_query_int(c,
			  "INSERT INTO order_counters (project_id, day, last_seq) VALUES (?, ?, 1) ON CONFLICT"
			  " (project_id, day) DO UPDATE SET last_seq = order_counters.last_seq + 1 RETURNING last_seq",
			  DB_ARGS(DB_INT(o->project_id), DB_INT(day)), &seq);
	if (rc != DB_OK)
		return rc;
	snprintf(o->order_no, sizeof(o->order_no), "%s%08d-%06lld", prefix, day, (long long)seq);
	str_copy(o->state, "awaiting_payment", sizeof(o->state));
	timefmt_rfc3339(t, now);
	/* the unique index orders_one_live_renewal refuses a second live renewal (DB_CONFLICT) */
	char *form = pii_form_seal(o->form, NULL); /* personal data sealed at rest (store/pii.h) */
	rc = db_query_int(c,
			  "INSERT INTO orders (order_no, org_id, project_id, key_type, state, price_fen, form,"
			  " verify_token, created_at, updated_at, submitted_at, kind, renews_serial)"
			  " VALUES (?, ?, ?, ?, 'awaiting_payment', ?, ?, ?, ?, ?, ?, 'renewal', ?) RETURNING id",
			  DB_ARGS(DB_TEXT(o->order_no), DB_INT(o->org_id), DB_INT(o->project_id), DB_TEXT(o->key_type),
				  DB_INT(o->price_fen), DB_TEXT(form), DB_TEXT(o->verify_token), DB_TEXT(now),
				  DB_TEXT(now), DB_TEXT(now), DB_TEXT(serial)),
			  &o->id);
	free(form);
	if (rc == DB_OK)
		rc = db_exec(c,
			     "INSERT INTO order_events (order_id, event, from_state, to_state, actor_kind, actor_id,"
			     " note, at) VALUES (?, 'renew', '', 'awaiting_payment', ?, ?, ?, ?)",
			     DB_ARGS(DB_INT(o->id), DB_TEXT(a->kind), DB_TEXT(a->id), DB_TEXT(serial),
				     DB_TEXT(timefmt_now_ms(now))),
			     NULL);
	if (rc == DB_OK)
		rc = store_audit_order(c, a, "renewal.create", o->order_no,
				       json_pack("{s:s, s:s, s:I}", "renews_serial", serial, "key_type", o->key_type,
						 "price_fen", (json_int_t)o->price_fen));
	return rc;
}

int store_renewal_create(struct db_conn *c, struct order_rec *o, const char *prefix, const char *serial,
			 const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, renewal_create_steps(c, o, prefix, serial, a));
}

int store_cert_sibling(struct db_conn *c, const struct cert_rec *v, const char *kind, struct cert_rec *out)
{
	char *serial = NULL;
	int rc = db_query_text(c,
			       "SELECT serial FROM certificates WHERE order_id = ? AND kind = ? AND"
			       " ((usb_key_id IS NULL AND ? = 0) OR usb_key_id = ?) ORDER BY id DESC LIMIT 1",
			       DB_ARGS(DB_INT(v->order_id), DB_TEXT(kind), DB_INT(v->usb_key_id),
				       DB_INT(v->usb_key_id)),
			       &serial);

	if (rc == DB_OK && serial != NULL)
		rc = store_cert_by_serial(c, serial, out);
	free(serial);
	return rc;
}

int store_order_no_of(struct db_conn *c, int64_t order_id, char order_no[32])
{
	char *s = NULL;
	int rc = db_query_text(c, "SELECT order_no FROM orders WHERE id = ?", DB_ARGS(DB_INT(order_id)), &s);

	if (rc == DB_OK)
		str_copy(order_no, s != NULL ? s : "", 32);
	free(s);
	return rc;
}

static int import_cert(struct db_conn *c, struct store_import *im, int64_t org_id, const struct actor *a);

static int import_steps(struct db_conn *c, struct store_import *im, const struct actor *a)
{
	char now[TIMEFMT_LEN], token[65];
	struct org_rec o = {0};
	time_t t = time(NULL);
	int64_t seq = 0, n = 0;
	int day = beijing_day(t), rc;

	rc = db_query_int(c, "SELECT COUNT(*) FROM certificates WHERE serial = ?", DB_ARGS(DB_TEXT(im->cert.serial)), &n);
	if (rc != DB_OK)
		return rc;
	if (n > 0)
		return DB_CONFLICT; /* imported before: nothing to do */
	rc = store_org_get(c, im->org.uscc, &o);
	if (rc == DB_NOTFOUND) {
		rc = store_org_create(c, &im->org, a, &o.id);
		im->org_created = rc == DB_OK;
	}
	if (rc != DB_OK)
		return rc;
	im->org.id = o.id;
	/* the other half of a dual pair imported before (same organisation, project, key type and
	 * subject): both certificates on one order, as production leaves them */
	rc = db_query_int(c,
			  "SELECT o.id FROM orders o JOIN certificates c ON c.order_id = o.id WHERE o.kind = 'imported'"
			  " AND o.org_id = ? AND o.project_id = ? AND o.key_type = ? AND c.subject = ? AND c.kind <> ?"
			  " AND NOT EXISTS (SELECT 1 FROM certificates d WHERE d.order_id = o.id AND d.kind = ?)"
			  " ORDER BY o.id LIMIT 1",
			  DB_ARGS(DB_INT(o.id), DB_INT(im->project_id), DB_TEXT(im->key_type), DB_TEXT(im->cert.subject),
				  DB_TEXT(im->cert.kind), DB_TEXT(im->cert.kind)),
			  &im->cert.order_id);
	if (rc == DB_OK)
		rc = store_order_no_of(c, im->cert.order_id, im->order_no);
	if (rc == DB_OK)
		return import_cert(c, im, o.id, a);
	if (rc != DB_NOTFOUND)
		return rc;
	rc = db_query_int(c,
			  "INSERT INTO order_counters (project_id, day, last_seq) VALUES (?, ?, 1) ON CONFLICT"
			  " (project_id, day) DO UPDATE SET last_seq = order_counters.last_seq + 1 RETURNING last_seq",
			  DB_ARGS(DB_INT(im->project_id), DB_INT(day)), &seq);
	if (rc != DB_OK)
		return rc;
	snprintf(im->order_no, sizeof(im->order_no), "%s%08d-%06lld", im->prefix, day, (long long)seq);
	timefmt_rfc3339(t, now);
	snprintf(token, sizeof(token), "imported-%s", im->cert.serial);
	/* the order the imported certificate hangs on: completed, nothing to pay */
	char *form = pii_form_seal(im->form, NULL); /* personal data sealed at rest (store/pii.h) */
	rc = db_query_int(c,
			  "INSERT INTO orders (order_no, org_id, project_id, key_type, state, price_fen, form, verify_token,"
			  " created_at, updated_at, submitted_at, kind) VALUES (?, ?, ?, ?, 'completed', 0, ?, ?, ?, ?, ?,"
			  " 'imported') RETURNING id",
			  DB_ARGS(DB_TEXT(im->order_no), DB_INT(o.id), DB_INT(im->project_id), DB_TEXT(im->key_type),
				  DB_TEXT(form), DB_TEXT(token), DB_TEXT(now), DB_TEXT(now), DB_TEXT(now)),
			  &im->cert.order_id);
	free(form);
	if (rc != DB_OK)
		return rc;
	return import_cert(c, im, o.id, a);
}

/* Stores the imported certificate on order im->cert.order_id (im->order_no), audited. */
static int import_cert(struct db_conn *c, struct store_import *im, int64_t org_id, const struct actor *a)
{
	int rc;

	im->cert.org_id = org_id;
	im->cert.usb_key_id = 0;
	rc = store_cert_insert(c, &im->cert, im->order_no, "completed", a);
	if (rc == DB_OK)
		rc = store_audit_order(c, a, "cert.import", im->order_no,
				       json_pack("{s:s, s:s, s:s}", "serial", im->cert.serial, "uscc", im->org.uscc,
						 "ca", im->cert.ca_key_id));
	return rc;
}

int store_cert_import(struct db_conn *c, struct store_import *im, const struct actor *a)
{
	int rc = db_begin(c);

	return rc != DB_OK ? rc : db_end(c, import_steps(c, im, a));
}

int store_renewal_seal_insert(struct db_conn *c, struct seal_rec *s)
{
	char now[TIMEFMT_LEN];

	/* the old key is written, not producing: store_seal_insert's guard does not apply; a seal made by
	 * a racing request stays (one per renewal order, key, certificate and type) */
	return db_exec(c,
		       "INSERT INTO seals (order_id, usb_key_id, cert_serial, type, es_id, der, sha256, valid_start,"
		       " valid_end, maker_key_id, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'made', ?)"
		       " ON CONFLICT (order_id, usb_key_id, cert_serial, type) DO NOTHING",
		       DB_ARGS(DB_INT(s->order_id), DB_INT(s->usb_key_id), DB_TEXT(s->cert_serial), DB_TEXT(s->type),
			       DB_TEXT(s->es_id), DB_TEXT(s->der_b64), DB_TEXT(s->sha256), DB_TEXT(s->valid_start),
			       DB_TEXT(s->valid_end), DB_TEXT(s->maker_key_id), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		       NULL);
}
