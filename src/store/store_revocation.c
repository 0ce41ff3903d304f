/* Revocation and what is published about it: the CRLs of each CA and the OCSP responses signed in
 * advance for every certificate (migration 016). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

int store_cert_revoke(struct db_conn *c, const char *serial, const char *reason, const struct actor *a,
		      struct cert_rec *v)
{
	char now[TIMEFMT_LEN], *order_no = NULL;
	int64_t changes = 0;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	rc = store_cert_by_serial(c, serial, v); /* the serial as stored (case, leading zeros) */
	if (rc != DB_OK)
		return rc;
	/* only a good certificate is revoked: the state is in the write */
	rc = db_exec(c, "UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?"
			" WHERE id = ? AND status = 'good'",
		     DB_ARGS(DB_TEXT(now), DB_TEXT(reason), DB_INT(v->id)), &changes);
	if (rc != DB_OK || changes == 0)
		return rc != DB_OK ? rc : DB_CONFLICT; /* revoked already */
	str_copy(v->status, "revoked", sizeof(v->status));
	str_copy(v->revoked_at, now, sizeof(v->revoked_at));
	str_copy(v->reason, reason, sizeof(v->reason));
	rc = db_query_text(c, "SELECT order_no FROM orders WHERE id = ?", DB_ARGS(DB_INT(v->order_id)), &order_no);
	if (rc == DB_OK)
		rc = store_audit_order(c, a, "cert.revoke", order_no,
				       json_pack("{s:s, s:s, s:s}", "serial", v->serial, "reason", reason, "ca",
						 v->ca_key_id));
	free(order_no);
	return rc;
}

int store_revoked_of_ca(struct db_conn *c, const char *ca_key_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT serial, revoked_at, reason FROM certificates WHERE ca_key_id = ? AND status = 'revoked'"
			  /* abandoned issuance intents (migration 024): the signer may have signed them */
			  " UNION ALL SELECT serial, closed_at, reason FROM issuance_intents WHERE ca_key_id = ?"
			  " AND state = 'abandoned' ORDER BY 2, 1",
			  DB_ARGS(DB_TEXT(ca_key_id), DB_TEXT(ca_key_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(*items, json_pack("{s:s, s:s, s:s}", "serial", db_rows_text(r, 0), "revoked_at",
							db_rows_text(r, 1), "reason",
							db_rows_text(r, 2) ? db_rows_text(r, 2) : "unspecified"));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_crl_latest(struct db_conn *c, const char *ca_key_id, struct crl_rec *out)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT number, this_update, next_update, revoked_count, der FROM crls WHERE ca_key_id = ?"
			  " ORDER BY number DESC LIMIT 1",
			  DB_ARGS(DB_TEXT(ca_key_id)), &r);

	memset(out, 0, sizeof(*out));
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1) {
			str_copy(out->ca_key_id, ca_key_id, sizeof(out->ca_key_id));
			out->number = db_rows_int(r, 0);
			str_copy(out->this_update, db_rows_text(r, 1), sizeof(out->this_update));
			str_copy(out->next_update, db_rows_text(r, 2), sizeof(out->next_update));
			out->revoked_count = (int)db_rows_int(r, 3);
			out->der_b64 = xstrdup(db_rows_text(r, 4));
		}
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_crl_insert(struct db_conn *c, const struct crl_rec *crl)
{
	char now[TIMEFMT_LEN];

	timefmt_rfc3339(time(NULL), now);
	return db_exec(c,
		       "INSERT INTO crls (ca_key_id, number, this_update, next_update, revoked_count, der, created_at)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?)",
		       DB_ARGS(DB_TEXT(crl->ca_key_id), DB_INT(crl->number), DB_TEXT(crl->this_update),
			       DB_TEXT(crl->next_update), DB_INT(crl->revoked_count), DB_TEXT(crl->der_b64),
			       DB_TEXT(now)),
		       NULL);
}

void store_crl_free(struct crl_rec *crl)
{
	free(crl->der_b64);
	crl->der_b64 = NULL;
}

int store_crls_due(struct db_conn *c, const char *now, const char *renew_before, json_t **items)
{
	struct db_rows *r = NULL;
	/* a CA that signs certificates and has no CRL yet, one that expires soon, or revocations since
	 * its newest CRL */
	int rc = db_query(
		c,
		"SELECT a.key_id, COALESCE((SELECT MAX(number) FROM crls k WHERE k.ca_key_id = a.key_id), 0)"
		" FROM cas a WHERE a.role IN ('root', 'issuing') AND a.not_after > ? AND ("
		" NOT EXISTS (SELECT 1 FROM crls k WHERE k.ca_key_id = a.key_id)"
		" OR (SELECT MAX(next_update) FROM crls k WHERE k.ca_key_id = a.key_id) < ?"
		" OR EXISTS (SELECT 1 FROM certificates v WHERE v.ca_key_id = a.key_id AND v.status = 'revoked'"
		"   AND v.revoked_at > (SELECT MAX(this_update) FROM crls k WHERE k.ca_key_id = a.key_id))"
		" OR EXISTS (SELECT 1 FROM issuance_intents v WHERE v.ca_key_id = a.key_id AND v.state = 'abandoned'"
		"   AND v.closed_at > (SELECT MAX(this_update) FROM crls k WHERE k.ca_key_id = a.key_id)))"
		" ORDER BY a.key_id",
		DB_ARGS(DB_TEXT(now), DB_TEXT(renew_before)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(*items, json_pack("{s:s, s:I}", "ca", db_rows_text(r, 0), "last",
							(json_int_t)db_rows_int(r, 1)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_ocsp_get(struct db_conn *c, const char *serial, char **der_b64, char next_update[32])
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT der, next_update FROM ocsp_responses WHERE serial = ?", DB_ARGS(DB_TEXT(serial)),
			  &r);

	*der_b64 = NULL;
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1) {
			*der_b64 = xstrdup(db_rows_text(r, 0));
			str_copy(next_update, db_rows_text(r, 1), 32);
		}
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_ocsp_put(struct db_conn *c, const char *serial, const char *status, const char *this_update,
		   const char *next_update, const char *der_b64)
{
	return db_exec(c,
		       "INSERT INTO ocsp_responses (serial, status, this_update, next_update, der) VALUES (?, ?, ?, ?, ?)"
		       " ON CONFLICT (serial) DO UPDATE SET status = excluded.status, this_update = excluded.this_update,"
		       " next_update = excluded.next_update, der = excluded.der",
		       DB_ARGS(DB_TEXT(serial), DB_TEXT(status), DB_TEXT(this_update), DB_TEXT(next_update),
			       DB_TEXT(der_b64)),
		       NULL);
}

int store_ocsp_due(struct db_conn *c, const char *now, const char *renew_before, int limit, json_t **items)
{
	struct db_rows *r = NULL;
	/* certificates still valid without a response, with one about to expire, or one that says
	 * another status than the certificate has now (a revocation) */
	int rc = db_query(c,
			  "SELECT v.serial, v.ca_key_id, v.status, COALESCE(v.revoked_at, ''), COALESCE(v.reason, '')"
			  " FROM certificates v LEFT JOIN ocsp_responses o ON o.serial = v.serial"
			  " WHERE v.not_after > ? AND (o.serial IS NULL OR o.next_update < ? OR o.status <> v.status)"
			  " ORDER BY v.id LIMIT ?",
			  DB_ARGS(DB_TEXT(now), DB_TEXT(renew_before), DB_INT(limit)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(*items, json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", db_rows_text(r, 0), "ca",
							db_rows_text(r, 1), "status", db_rows_text(r, 2), "revoked_at",
							db_rows_text(r, 3), "reason", db_rows_text(r, 4)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_ocsp_responder(struct db_conn *c, const char *issuing_key_id, struct ca_rec *out)
{
	char *key_id = NULL;
	int rc = db_query_text(c, "SELECT key_id FROM cas WHERE role = 'ocsp' AND parent_key_id = ? ORDER BY id DESC LIMIT 1",
			       DB_ARGS(DB_TEXT(issuing_key_id)), &key_id);

	if (rc == DB_OK)
		rc = store_ca_get(c, key_id, out);
	free(key_id);
	return rc;
}

int store_cert_search(struct db_conn *c, const char *q, const char *status, int limit, int64_t before,
		      json_t **items)
{
	struct db_rows *r = NULL;
	char *like = store_like_pattern(q);
	int rc = db_query(
		c,
		"SELECT v.id, v.serial, v.kind, v.ca_key_id, v.subject, v.not_before, v.not_after, v.status,"
		" v.revoked_at, v.reason, v.created_at, o.order_no, g.uscc, g.name"
		" FROM certificates v JOIN orders o ON o.id = v.order_id JOIN organisations g ON g.id = v.org_id"
		" WHERE (CAST(? AS TEXT) IS NULL OR v.status = ?)"
		" AND (CAST(? AS TEXT) IS NULL OR UPPER(v.serial) LIKE UPPER(?) ESCAPE '\\'"
		" OR g.uscc LIKE UPPER(?) ESCAPE '\\' OR g.name LIKE ? ESCAPE '\\' OR o.order_no LIKE ? ESCAPE '\\')"
		" AND (? = 0 OR v.id < ?) ORDER BY v.id DESC LIMIT ?",
		DB_ARGS(DB_TEXT(status), DB_TEXT(status), DB_TEXT(like), DB_TEXT(like), DB_TEXT(like), DB_TEXT(like),
			DB_TEXT(like), DB_INT(before), DB_INT(before), DB_INT(limit)),
		&r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
				      (json_int_t)db_rows_int(r, 0), "serial", db_rows_text(r, 1), "kind",
				      db_rows_text(r, 2), "ca", db_rows_text(r, 3), "subject", db_rows_text(r, 4),
				      "not_before", db_rows_text(r, 5), "not_after", db_rows_text(r, 6), "status",
				      db_rows_text(r, 7), "created_at", db_rows_text(r, 10), "order_no",
				      db_rows_text(r, 11), "uscc", db_rows_text(r, 12), "unit_name", db_rows_text(r, 13));
		if (db_rows_text(r, 8) != NULL)
			json_object_set_new(j, "revoked_at", json_string(db_rows_text(r, 8)));
		if (db_rows_text(r, 9) != NULL)
			json_object_set_new(j, "reason", json_string(db_rows_text(r, 9)));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	free(like);
	return rc < 0 ? rc : DB_OK;
}
