/* The CA engine's tables: CA certificates (their keys live in the signer), certificate profiles and
 * issued certificates. DER is stored as base64 text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define CA_COLS                                                                                              \
	"id, key_id, role, algorithm, parent_key_id, subject, not_before, not_after, key_location,"          \
	" created_at, der"

/* Copies the current row (CA_COLS) into ca. */
static void ca_from_row(struct db_rows *r, struct ca_rec *ca)
{
	memset(ca, 0, sizeof(*ca));
	ca->id = db_rows_int(r, 0);
	str_copy(ca->key_id, db_rows_text(r, 1), sizeof(ca->key_id));
	str_copy(ca->role, db_rows_text(r, 2), sizeof(ca->role));
	str_copy(ca->algorithm, db_rows_text(r, 3), sizeof(ca->algorithm));
	if (db_rows_text(r, 4) != NULL)
		str_copy(ca->parent_key_id, db_rows_text(r, 4), sizeof(ca->parent_key_id));
	str_copy(ca->subject, db_rows_text(r, 5), sizeof(ca->subject));
	str_copy(ca->not_before, db_rows_text(r, 6), sizeof(ca->not_before));
	str_copy(ca->not_after, db_rows_text(r, 7), sizeof(ca->not_after));
	str_copy(ca->key_location, db_rows_text(r, 8), sizeof(ca->key_location));
	str_copy(ca->created_at, db_rows_text(r, 9), sizeof(ca->created_at));
	ca->der_b64 = xstrdup(db_rows_text(r, 10) != NULL ? db_rows_text(r, 10) : "");
}

int store_ca_insert(struct db_conn *c, const struct ca_rec *ca, const struct actor *a)
{
	char now[TIMEFMT_LEN];
	json_t *d;
	char *text;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	rc = db_exec(c,
		     "INSERT INTO cas (key_id, role, algorithm, parent_key_id, subject, not_before, not_after,"
		     " der, key_location, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     DB_ARGS(DB_TEXT(ca->key_id), DB_TEXT(ca->role), DB_TEXT(ca->algorithm),
			     DB_TEXT(ca->parent_key_id[0] != '\0' ? ca->parent_key_id : NULL), DB_TEXT(ca->subject),
			     DB_TEXT(ca->not_before), DB_TEXT(ca->not_after), DB_TEXT(ca->der_b64),
			     DB_TEXT(ca->key_location), DB_TEXT(now)),
		     NULL);
	if (rc != DB_OK)
		return rc;
	d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "role", ca->role, "algorithm", ca->algorithm, "subject",
		      ca->subject, "not_after", ca->not_after, "key_location", ca->key_location);
	text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	rc = store_audit_append(c, a, "ca.add", "ca", ca->key_id, text);
	free(text);
	return rc;
}

int store_ca_get(struct db_conn *c, const char *key_id, struct ca_rec *ca)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT " CA_COLS " FROM cas WHERE key_id = ?", DB_ARGS(DB_TEXT(key_id)), &r);

	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1)
			ca_from_row(r, ca);
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

/* Returns ca as JSON (with its DER when with_der). */
static json_t *ca_json(const struct ca_rec *ca, int with_der)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "key_id", ca->key_id, "role", ca->role,
			      "algorithm", ca->algorithm, "subject", ca->subject, "not_before", ca->not_before,
			      "not_after", ca->not_after, "key_location", ca->key_location);
	if (ca->parent_key_id[0] != '\0')
		json_object_set_new(j, "parent_key_id", json_string(ca->parent_key_id));
	if (with_der)
		json_object_set_new(j, "der", json_string(ca->der_b64));
	return j;
}

int store_ca_list_json(struct db_conn *c, int with_der, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT " CA_COLS " FROM cas ORDER BY CASE role WHEN 'root' THEN 0 WHEN 'issuing' THEN 1"
			  " ELSE 2 END, key_id",
			  DB_NOARGS, &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		struct ca_rec ca = {0};
		ca_from_row(r, &ca);
		json_array_append_new(*items, ca_json(&ca, with_der));
		store_ca_free(&ca);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

void store_ca_free(struct ca_rec *ca)
{
	if (ca == NULL)
		return;
	free(ca->der_b64);
	ca->der_b64 = NULL;
}

#define PROFILE_COLS                                                                                         \
	"id, project_id, key_type, algorithm, months_per_year, subject_template, key_usage, ext_key_usage,"  \
	" policy_oid, identity_oid, crl_url, ocsp_url, ca_issuers_url, issuing_key_id, dual"

/* Copies the current row (PROFILE_COLS) into p. */
static void profile_from_row(struct db_rows *r, struct cert_profile_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->id = db_rows_int(r, 0);
	p->project_id = db_rows_int(r, 1);
	str_copy(p->key_type, db_rows_text(r, 2), sizeof(p->key_type));
	str_copy(p->algorithm, db_rows_text(r, 3), sizeof(p->algorithm));
	p->months_per_year = (int)db_rows_int(r, 4);
	str_copy(p->subject_template, db_rows_text(r, 5), sizeof(p->subject_template));
	str_copy(p->key_usage, db_rows_text(r, 6), sizeof(p->key_usage));
	str_copy(p->ext_key_usage, db_rows_text(r, 7), sizeof(p->ext_key_usage));
	str_copy(p->policy_oid, db_rows_text(r, 8), sizeof(p->policy_oid));
	str_copy(p->identity_oid, db_rows_text(r, 9), sizeof(p->identity_oid));
	str_copy(p->crl_url, db_rows_text(r, 10), sizeof(p->crl_url));
	str_copy(p->ocsp_url, db_rows_text(r, 11), sizeof(p->ocsp_url));
	str_copy(p->ca_issuers_url, db_rows_text(r, 12), sizeof(p->ca_issuers_url));
	str_copy(p->issuing_key_id, db_rows_text(r, 13), sizeof(p->issuing_key_id));
	p->dual = (int)db_rows_int(r, 14);
}

int store_profile_put(struct db_conn *c, const struct cert_profile_rec *p, const struct actor *a)
{
	char now[TIMEFMT_LEN], obj[96];
	json_t *d;
	char *text;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	rc = db_exec(c,
		     "INSERT INTO cert_profiles (project_id, key_type, algorithm, months_per_year, subject_template,"
		     " key_usage, ext_key_usage, policy_oid, identity_oid, crl_url, ocsp_url, ca_issuers_url,"
		     " issuing_key_id, dual, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		     " ON CONFLICT (project_id, key_type, algorithm) DO UPDATE SET"
		     " months_per_year = excluded.months_per_year, subject_template = excluded.subject_template,"
		     " key_usage = excluded.key_usage, ext_key_usage = excluded.ext_key_usage,"
		     " policy_oid = excluded.policy_oid, identity_oid = excluded.identity_oid,"
		     " crl_url = excluded.crl_url, ocsp_url = excluded.ocsp_url,"
		     " ca_issuers_url = excluded.ca_issuers_url, issuing_key_id = excluded.issuing_key_id,"
		     " dual = excluded.dual",
		     DB_ARGS(DB_INT(p->project_id), DB_TEXT(p->key_type), DB_TEXT(p->algorithm),
			     DB_INT(p->months_per_year), DB_TEXT(p->subject_template), DB_TEXT(p->key_usage),
			     DB_TEXT(p->ext_key_usage), DB_TEXT(p->policy_oid), DB_TEXT(p->identity_oid),
			     DB_TEXT(p->crl_url), DB_TEXT(p->ocsp_url), DB_TEXT(p->ca_issuers_url),
			     DB_TEXT(p->issuing_key_id), DB_INT(p->dual), DB_TEXT(now)),
		     NULL);
	if (rc != DB_OK)
		return rc;
	snprintf(obj, sizeof(obj), "%lld:%s:%s", (long long)p->project_id, p->key_type, p->algorithm);
	d = json_pack("{s:s, s:s}", "subject_template", p->subject_template, "issuing_key_id", p->issuing_key_id);
	text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	rc = store_audit_append(c, a, "profile.put", "cert_profile", obj, text);
	free(text);
	return rc;
}

int store_profiles_of(struct db_conn *c, int64_t project_id, const char *key_type, struct cert_profile_rec *ps,
		      int max, int *n)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT " PROFILE_COLS " FROM cert_profiles WHERE project_id = ? AND key_type = ?"
			  " ORDER BY algorithm",
			  DB_ARGS(DB_INT(project_id), DB_TEXT(key_type)), &r);

	*n = 0;
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		if (*n < max)
			profile_from_row(r, &ps[(*n)++]);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_profiles_json(struct db_conn *c, int64_t project_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT " PROFILE_COLS ", (SELECT code FROM projects j WHERE j.id = cert_profiles.project_id),"
			  " (SELECT name FROM projects j WHERE j.id = cert_profiles.project_id)"
			  " FROM cert_profiles WHERE ? = 0 OR project_id = ? ORDER BY project_id, key_type, algorithm",
			  DB_ARGS(DB_INT(project_id), DB_INT(project_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		struct cert_profile_rec p = {0};
		profile_from_row(r, &p);
		json_array_append_new(
			*items,
			json_pack("{s:I, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "project_id",
				  (json_int_t)p.project_id, "key_type", p.key_type, "algorithm", p.algorithm,
				  "months_per_year", p.months_per_year, "subject_template", p.subject_template,
				  "key_usage", p.key_usage, "ext_key_usage", p.ext_key_usage, "policy_oid",
				  p.policy_oid, "identity_oid", p.identity_oid, "crl_url", p.crl_url, "ocsp_url",
				  p.ocsp_url, "ca_issuers_url", p.ca_issuers_url, "issuing_key_id",
				  p.issuing_key_id, "dual", p.dual));
		json_object_set_new(json_array_get(*items, json_array_size(*items) - 1), "project_code",
				    json_string(db_rows_text(r, 15) ? db_rows_text(r, 15) : ""));
		json_object_set_new(json_array_get(*items, json_array_size(*items) - 1), "project_name",
				    json_string(db_rows_text(r, 16) ? db_rows_text(r, 16) : ""));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

#define CERT_COLS                                                                                            \
	"id, order_id, org_id, serial, ca_key_id, kind, subject, not_before, not_after, spki_sha256, status,"\
	" revoked_at, reason, created_at, der, usb_key_id"

/* Copies the current row (CERT_COLS) into v. */
static void cert_from_row(struct db_rows *r, struct cert_rec *v)
{
	memset(v, 0, sizeof(*v));
	v->id = db_rows_int(r, 0);
	v->order_id = db_rows_int(r, 1);
	v->org_id = db_rows_int(r, 2);
	str_copy(v->serial, db_rows_text(r, 3), sizeof(v->serial));
	str_copy(v->ca_key_id, db_rows_text(r, 4), sizeof(v->ca_key_id));
	str_copy(v->kind, db_rows_text(r, 5), sizeof(v->kind));
	str_copy(v->subject, db_rows_text(r, 6), sizeof(v->subject));
	str_copy(v->not_before, db_rows_text(r, 7), sizeof(v->not_before));
	str_copy(v->not_after, db_rows_text(r, 8), sizeof(v->not_after));
	str_copy(v->spki_sha256, db_rows_text(r, 9), sizeof(v->spki_sha256));
	str_copy(v->status, db_rows_text(r, 10), sizeof(v->status));
	if (db_rows_text(r, 11) != NULL)
		str_copy(v->revoked_at, db_rows_text(r, 11), sizeof(v->revoked_at));
	if (db_rows_text(r, 12) != NULL)
		str_copy(v->reason, db_rows_text(r, 12), sizeof(v->reason));
	str_copy(v->created_at, db_rows_text(r, 13), sizeof(v->created_at));
	v->der_b64 = xstrdup(db_rows_text(r, 14) != NULL ? db_rows_text(r, 14) : "");
	v->usb_key_id = db_rows_int(r, 15);
}

/* Runs a query for one certificate with two text arguments into v. */
static int cert_one(struct db_conn *c, const char *sql, const struct db_val *args, int nargs, struct cert_rec *v)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, sql, args, nargs, &r);

	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1)
			cert_from_row(r, v);
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_cert_insert(struct db_conn *c, struct cert_rec *v, const char *order_no, const char *order_state,
		      const struct actor *a)
{
	char now[TIMEFMT_LEN];
	int rc;

	timefmt_rfc3339(time(NULL), now);
	str_copy(v->created_at, now, sizeof(v->created_at));
	str_copy(v->status, "good", sizeof(v->status));
	/* written only while the order is still in the state the issuance was decided in, and its key
	 * still the one being produced (a key switched meanwhile gets no certificate) */
	rc = db_query_int(c,
			  "INSERT INTO certificates (serial, order_id, org_id, ca_key_id, kind, subject, not_before,"
			  " not_after, der, spki_sha256, status, created_at, usb_key_id)"
			  " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'good', ?, ?"
			  " WHERE EXISTS (SELECT 1 FROM orders WHERE id = ? AND state = ?)"
			  " AND (? = 0 OR EXISTS (SELECT 1 FROM usb_keys WHERE id = ? AND order_id = ?"
			  " AND state = 'producing')) RETURNING id",
			  DB_ARGS(DB_TEXT(v->serial), DB_INT(v->order_id), DB_INT(v->org_id), DB_TEXT(v->ca_key_id),
				  DB_TEXT(v->kind), DB_TEXT(v->subject), DB_TEXT(v->not_before),
				  DB_TEXT(v->not_after), DB_TEXT(v->der_b64), DB_TEXT(v->spki_sha256), DB_TEXT(now),
				  v->usb_key_id != 0 ? DB_INT(v->usb_key_id) : DB_NULLV, DB_INT(v->order_id),
				  DB_TEXT(order_state), DB_INT(v->usb_key_id), DB_INT(v->usb_key_id),
				  DB_INT(v->order_id)),
			  &v->id);
	if (rc != DB_OK)
		return rc;
	return store_audit_order(c, a, "cert.issue", order_no,
				 json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", v->serial, "kind", v->kind,
					   "ca", v->ca_key_id, "subject", v->subject, "not_after", v->not_after));
}

int store_cert_of_order(struct db_conn *c, int64_t order_id, const char *kind, struct cert_rec *v)
{
	/* NULL = NULL is not true: the unkeyed certificate is asked for apart */
	return cert_one(c,
			"SELECT " CERT_COLS " FROM certificates WHERE order_id = ? AND kind = ? AND"
			" (usb_key_id = (SELECT id FROM usb_keys k WHERE k.order_id = ? AND k.state IN"
			" ('producing', 'written')) OR (usb_key_id IS NULL AND NOT EXISTS (SELECT 1 FROM usb_keys k"
			" WHERE k.order_id = ? AND k.state IN ('producing', 'written'))))",
			DB_ARGS(DB_INT(order_id), DB_TEXT(kind), DB_INT(order_id), DB_INT(order_id)), v);
}

int store_cert_by_serial(struct db_conn *c, const char *serial, struct cert_rec *v)
{
	char up[48];
	size_t i;

	/* serials are stored in upper case without leading zeros */
	while (serial[0] == '0' && serial[1] != '\0')
		serial++;
	for (i = 0; serial[i] != '\0' && i + 1 < sizeof(up); i++)
		up[i] = (char)(serial[i] >= 'a' && serial[i] <= 'f' ? serial[i] - 32 : serial[i]);
	up[i] = '\0';
	return cert_one(c, "SELECT " CERT_COLS " FROM certificates WHERE serial = ?", DB_ARGS(DB_TEXT(up)), v);
}

int store_cert_key_elsewhere(struct db_conn *c, const char *spki_sha256, int64_t org_id, int *found)
{
	int64_t n = 0;
	int rc = db_query_int(c, "SELECT COUNT(*) FROM certificates WHERE spki_sha256 = ? AND org_id <> ?",
			      DB_ARGS(DB_TEXT(spki_sha256), DB_INT(org_id)), &n);

	*found = rc == DB_OK && n > 0;
	return rc;
}

json_t *store_cert_json(const struct cert_rec *v)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "serial", v->serial, "kind", v->kind,
			      "ca", v->ca_key_id, "subject", v->subject, "not_before", v->not_before, "not_after",
			      v->not_after, "status", v->status, "created_at", v->created_at);
	if (v->revoked_at[0] != '\0')
		json_object_set_new(j, "revoked_at", json_string(v->revoked_at));
	if (v->reason[0] != '\0')
		json_object_set_new(j, "reason", json_string(v->reason));
	return j;
}

int store_certs_of_order_json(struct db_conn *c, int64_t order_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT " CERT_COLS " FROM certificates WHERE order_id = ? ORDER BY id",
			  DB_ARGS(DB_INT(order_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		struct cert_rec v = {0};
		cert_from_row(r, &v);
		json_array_append_new(*items, store_cert_json(&v));
		store_cert_free(&v);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

void store_cert_free(struct cert_rec *v)
{
	if (v == NULL)
		return;
	free(v->der_b64);
	v->der_b64 = NULL;
}
