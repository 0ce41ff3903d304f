/* Issuance intents (migration 024): the TBSCertificate recorded before the signer signs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_issuance.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define STALE_BATCH 32
#define STALE_BATCH_SQL "32"

#define INTENT_COLS                                                                                          \
	"id, order_id, kind, usb_key_id, ca_key_id, serial, spki_sha256, tbs, sig_alg, state, created_at,"   \
	" lease_until"

int store_intent_insert(struct db_conn *c, struct issuance_intent_rec *v)
{
	char now[TIMEFMT_LEN];

	timefmt_rfc3339(time(NULL), now);
	str_copy(v->created_at, now, sizeof(v->created_at));
	str_copy(v->state, "signing", sizeof(v->state));
	return db_query_int(
		c,
		"INSERT INTO issuance_intents (order_id, kind, usb_key_id, ca_key_id, serial, spki_sha256,"
		" tbs, sig_alg, state, created_at, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'signing', "
		"?, ?)"
		" RETURNING id",
		DB_ARGS(DB_INT(v->order_id), DB_TEXT(v->kind),
			v->usb_key_id != 0 ? DB_INT(v->usb_key_id) : DB_NULLV, DB_TEXT(v->ca_key_id),
			DB_TEXT(v->serial), DB_TEXT(v->spki_sha256), DB_TEXT(v->tbs_b64),
			DB_TEXT(v->sig_alg_b64), DB_TEXT(now),
			DB_TEXT(v->lease_until[0] != '\0' ? v->lease_until : NULL)),
		&v->id);
}

/* Copies the current row (INTENT_COLS) into v. */
static void intent_from_row(struct db_rows *r, struct issuance_intent_rec *v)
{
	memset(v, 0, sizeof(*v));
	v->id = db_rows_int(r, 0);
	v->order_id = db_rows_int(r, 1);
	str_copy(v->kind, db_rows_text(r, 2), sizeof(v->kind));
	v->usb_key_id = db_rows_int(r, 3);
	str_copy(v->ca_key_id, db_rows_text(r, 4), sizeof(v->ca_key_id));
	str_copy(v->serial, db_rows_text(r, 5), sizeof(v->serial));
	str_copy(v->spki_sha256, db_rows_text(r, 6), sizeof(v->spki_sha256));
	v->tbs_b64 = xstrdup(db_rows_text(r, 7));
	v->sig_alg_b64 = xstrdup(db_rows_text(r, 8));
	str_copy(v->state, db_rows_text(r, 9), sizeof(v->state));
	str_copy(v->created_at, db_rows_text(r, 10), sizeof(v->created_at));
	if (db_rows_text(r, 11) != NULL)
		str_copy(v->lease_until, db_rows_text(r, 11), sizeof(v->lease_until));
}

int store_intent_signing(struct db_conn *c, int64_t order_id, const char *kind, struct issuance_intent_rec *v)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT " INTENT_COLS " FROM issuance_intents WHERE order_id = ? AND kind = ?"
			  " AND state = 'signing'",
			  DB_ARGS(DB_INT(order_id), DB_TEXT(kind)), &r);

	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1)
			intent_from_row(r, v);
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

/* Closes intent id in state to (with reason, may be NULL) while it is still signing. */
static int intent_close(struct db_conn *c, int64_t id, const char *to, const char *reason)
{
	char now[TIMEFMT_LEN];
	int64_t changes = 0;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	rc = db_exec(c,
		     "UPDATE issuance_intents SET state = ?, reason = ?, closed_at = ? WHERE id = ?"
		     " AND state = 'signing'",
		     DB_ARGS(DB_TEXT(to), DB_TEXT(reason), DB_TEXT(now), DB_INT(id)), &changes);
	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_intent_lease(struct db_conn *c, int64_t id, const char *until)
{
	int64_t changes = 0;
	int rc = db_exec(c, "UPDATE issuance_intents SET lease_until = ? WHERE id = ? AND state = 'signing'",
			 DB_ARGS(DB_TEXT(until[0] != '\0' ? until : NULL), DB_INT(id)), &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_intent_issued(struct db_conn *c, int64_t id)
{
	return intent_close(c, id, "issued", NULL);
}

int store_intent_abandon(struct db_conn *c, const struct issuance_intent_rec *v, const char *order_no,
			 const char *why, const struct actor *a)
{
	int rc = intent_close(c, v->id, "abandoned", ISSUANCE_ABANDON_REASON);

	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "cert.abandon", order_no,
				 json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", v->serial, "kind", v->kind,
					   "ca", v->ca_key_id, "reason", ISSUANCE_ABANDON_REASON, "why",
					   why));
}

/* One stale intent to close, and who closes it. */
struct stale_close {
	struct issuance_intent_rec v;
	char order_no[32];
	const struct actor *a;
};

static int stale_tx(struct db_conn *c, void *arg)
{
	struct stale_close *s = arg;
	int rc = store_intent_abandon(c, &s->v, s->order_no, "no request came back for it", s->a);

	return rc == DB_NOTFOUND ? DB_OK : rc; /* a retry completed or closed it meanwhile */
}

int store_intents_abandon_stale(struct db *db, const char *now, const char *created_before,
				const struct actor *a, int *closed)
{
	struct stale_close list[STALE_BATCH];
	struct db_conn *c = db_acquire(db);
	struct db_rows *r = NULL;
	int n = 0, rc, more = 0;

	*closed = 0;
	memset(list, 0, sizeof(list));
	rc = db_query(
		c,
		"SELECT i.id, i.serial, i.kind, i.ca_key_id, o.order_no FROM issuance_intents i"
		" JOIN orders o ON o.id = i.order_id WHERE i.state = 'signing' AND i.created_at < ?"
		" AND (i.lease_until IS NULL OR i.lease_until < ?) ORDER BY i.id LIMIT " STALE_BATCH_SQL,
		DB_ARGS(DB_TEXT(created_before), DB_TEXT(now)), &r);
	while (rc == DB_OK && n < STALE_BATCH && (more = db_rows_next(r)) == 1) {
		list[n].v.id = db_rows_int(r, 0);
		str_copy(list[n].v.serial, db_rows_text(r, 1), sizeof(list[n].v.serial));
		str_copy(list[n].v.kind, db_rows_text(r, 2), sizeof(list[n].v.kind));
		str_copy(list[n].v.ca_key_id, db_rows_text(r, 3), sizeof(list[n].v.ca_key_id));
		str_copy(list[n].order_no, db_rows_text(r, 4), sizeof(list[n].order_no));
		list[n++].a = a;
	}
	if (rc == DB_OK && n < STALE_BATCH && more < 0)
		rc = more;
	db_rows_free(r);
	db_release(c);
	for (int i = 0; rc == DB_OK && i < n; i++)
		if ((rc = db_tx(db, stale_tx, &list[i])) == DB_OK)
			(*closed)++;
	return rc;
}

int store_intent_abandoned(struct db_conn *c, const char *ca_key_id, const char *serial, char closed_at[32])
{
	char up[48], *at = NULL;
	size_t i;
	int rc;

	/* stored as pki_serial_hex writes them: upper case without leading zeros */
	while (serial[0] == '0' && serial[1] != '\0')
		serial++;
	for (i = 0; serial[i] != '\0' && i + 1 < sizeof(up); i++)
		up[i] = (char)(serial[i] >= 'a' && serial[i] <= 'f' ? serial[i] - 32 : serial[i]);
	up[i] = '\0';
	rc = db_query_text(c,
			   "SELECT closed_at FROM issuance_intents WHERE serial = ? AND ca_key_id = ?"
			   " AND state = 'abandoned'",
			   DB_ARGS(DB_TEXT(up), DB_TEXT(ca_key_id)), &at);
	if (rc == DB_OK)
		str_copy(closed_at, at != NULL ? at : "", 32);
	free(at);
	return rc;
}

void store_intent_free(struct issuance_intent_rec *v)
{
	if (v == NULL)
		return;
	free(v->tbs_b64);
	free(v->sig_alg_b64);
	v->tbs_b64 = NULL;
	v->sig_alg_b64 = NULL;
}
