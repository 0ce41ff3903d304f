/* Revocation (admins), and what relying parties fetch without an account: each CA's CRL and the
 * OCSP responder. Answers come from what the publishing job (pki/publish.c) signed in advance; only
 * a question about a serial the CA never issued, or one hashed with other than SHA-1, is signed
 * when asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "pki/pki.h"
#include "pki/publish.h"
#include "pki/signer_proto.h"
#include "pki/status.h"
#include "store/store_issuance.h"
#include "util/log.h"
#include "util/timefmt.h"

/* Returns the parsed certificate of CA key_id (a reference the caller frees), or NULL; the database
 * is read only the first time (pki_ca_cert keeps it). */
static X509 *ca_cert(struct db_conn *c, const char *key_id)
{
	struct ca_rec ca = {0};
	X509 *x = pki_ca_cert_cached(key_id);

	if (x == NULL && store_ca_get(c, key_id, &ca) == DB_OK)
		x = pki_ca_cert(key_id, ca.der_b64);
	store_ca_free(&ca);
	return x;
}

/* The publishing settings of this server. */
static struct pki_publisher publisher(struct http_req *r)
{
	const struct app *app = http_ctx(r);
	return (struct pki_publisher){app->db, app->cfg->signer_socket, app->cfg->ca_crl_interval_s,
				      app->cfg->ca_ocsp_validity_s};
}

struct revoke_tx {
	const char *serial, *reason;
	struct actor a;
	struct cert_rec v;
};

static int revoke_tx(struct db_conn *c, void *arg)
{
	struct revoke_tx *t = arg;

	store_cert_free(&t->v);
	return store_cert_revoke(c, t->serial, t->reason, &t->a, &t->v);
}

/* POST /api/v1/admin/certificates/{serial}/revoke {"reason": "keyCompromise", ...}: revokes for
 * good, then publishes the CA's CRL and the certificate's OCSP response at once (if the signer is
 * down, the publishing job does it when it is back: "published" says which). */
int api_cert_revoke(struct http_req *r)
{
	json_t *body = http_json_body(r);
	struct pki_publisher p = publisher(r);
	struct revoke_tx t = {.serial = http_param(r, "serial"), .a = api_actor(r)};
	char err[512];
	int rc, published;
	struct form f;

	if (body == NULL)
		return 0;
	form_init(&f, r, body);
	t.reason = form_text(&f, "reason", "吊销原因", 1, 32, 1);
	if (t.reason != NULL && pki_reason_code(t.reason) < 0)
		form_error(&f, 422, "reason", "reason_invalid",
			   "吊销原因应为 keyCompromise、affiliationChanged、superseded、cessationOfOperation、"
			   "privilegeWithdrawn 或 unspecified");
	if (form_failed(&f))
		return form_finish(&f, body, 200, NULL);
	rc = db_tx(p.db, revoke_tx, &t);
	form_free(&f);
	json_decref(body);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "未找到该证书", NULL);
	if (rc == DB_CONFLICT) {
		store_cert_free(&t.v);
		return http_reply_error(r, 409, "cert_already_revoked", "该证书已被吊销", NULL);
	}
	if (rc != DB_OK) {
		store_cert_free(&t.v);
		return api_internal(r, "certificate revoke");
	}
	published = pki_publish_crl(&p, t.v.ca_key_id, err, sizeof(err)) == 0;
	if (!published)
		log_error("pki", "CRL after revoking %s not published yet: %s", t.v.serial, err);
	if (pki_publish_ocsp(&p, t.v.serial, err, sizeof(err)) != 0) {
		published = 0;
		log_error("pki", "OCSP after revoking %s not published yet: %s", t.v.serial, err);
	}
	json_t *j = store_cert_json(&t.v);
	json_object_set_new(j, "published", json_boolean(published));
	store_cert_free(&t.v);
	return http_reply_json(r, 200, j);
}

/* GET /ca/{ca}.crl: the CA's newest CRL (DER), with an ETag of its number. */
int api_ca_crl(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *ca = http_param(r, "ca"), *inm = http_header(r, "If-None-Match");
	struct crl_rec crl = {0};
	struct db_conn *c = db_acquire(app->db);
	int rc = store_crl_latest(c, ca, &crl);
	unsigned char *der = NULL;
	size_t len = 0;
	char etag[80];

	db_release(c);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "未找到该 CA 的证书吊销列表", NULL);
	if (rc != DB_OK)
		return api_internal(r, "CRL");
	snprintf(etag, sizeof(etag), "\"%s-%lld\"", ca, (long long)crl.number);
	http_add_header(r, "ETag", etag);
	http_add_header(r, "Cache-Control", "public, max-age=300");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		store_crl_free(&crl);
		return http_reply_bytes(r, 304, "application/pkix-crl", "", 0);
	}
	der = pki_b64_decode(crl.der_b64, &len);
	store_crl_free(&crl);
	if (der == NULL)
		return api_internal(r, "CRL decode");
	rc = http_reply_bytes(r, 200, "application/pkix-crl", der, len);
	free(der);
	return rc;
}

/* Replies with an OCSPResponse (DER); max_age > 0 lets caches keep it that long. */
static int ocsp_reply(struct http_req *r, const unsigned char *der, size_t len, long max_age)
{
	char cc[64];

	if (max_age > 0)
		snprintf(cc, sizeof(cc), "public, max-age=%ld", max_age);
	http_add_header(r, "Cache-Control", max_age > 0 ? cc : "no-store");
	return http_reply_bytes(r, 200, "application/ocsp-response", der, len);
}

/* Replies with an unsuccessful OCSPResponse of status. */
static int ocsp_fail(struct http_req *r, int status)
{
	unsigned char out[5];
	return ocsp_reply(r, out, pki_ocsp_error(status, out), 0);
}

/* Finds the issuing CA whose name and key hash id names; fills ca (store_ca_free). Returns 0 or -1. */
static int issuer_of(struct db_conn *c, const OCSP_CERTID *id, struct ca_rec *ca, X509 **x)
{
	json_t *items = NULL, *it;
	size_t i;
	int found = -1;

	if (store_ca_list_json(c, 0, &items) != DB_OK)
		goto out;
	json_array_foreach (items, i, it) {
		const char *role = json_string_value(json_object_get(it, "role"));
		const char *key_id = json_string_value(json_object_get(it, "key_id"));
		if (role == NULL || key_id == NULL || strcmp(role, "issuing") != 0)
			continue;
		*x = ca_cert(c, key_id);
		if (*x != NULL && pki_ocsp_id_issued_by(id, *x)) {
			snprintf(ca->key_id, sizeof(ca->key_id), "%s", key_id);
			found = 0;
			break;
		}
		X509_free(*x);
		*x = NULL;
	}
out:
	json_decref(items);
	return found;
}

/* Signs the answer to id now (a serial we never issued, or a CertID not hashed with SHA-1). */
static int ocsp_on_demand(struct http_req *r, struct db_conn *c, const OCSP_CERTID *id, const struct cert_rec *v,
			  const char *issuer_key_id)
{
	const struct app *app = http_ctx(r);
	struct ca_rec resp = {0};
	X509 *rx = NULL;
	struct pki_ocsp_answer a = {.id = id, .status = PKI_OCSP_UNKNOWN, .reason = -1};
	unsigned char *der = NULL;
	size_t len = 0;
	char err[512];
	int rc = store_ocsp_responder(c, issuer_key_id, &resp);
	time_t now = time(NULL);

	db_release(c); /* no pooled connection while the signer works */
	if (rc != DB_OK || (rx = pki_cert_from_b64(resp.der_b64)) == NULL) {
		store_ca_free(&resp);
		return ocsp_fail(r, 6); /* unauthorized: we answer for no such CA */
	}
	if (v != NULL) {
		a.status = strcmp(v->status, "revoked") == 0 ? PKI_OCSP_REVOKED : PKI_OCSP_GOOD;
		a.reason = pki_reason_code(v->reason[0] ? v->reason : "unspecified");
		if (timefmt_parse_rfc3339(v->revoked_at, &a.revoked_at) != 0)
			a.revoked_at = now;
	}
	a.this_update = now;
	a.next_update = now + app->cfg->ca_ocsp_validity_s;
	rc = pki_ocsp_sign(&a, rx, app->cfg->signer_socket, resp.key_id, &der, &len, err, sizeof(err));
	X509_free(rx);
	store_ca_free(&resp);
	if (rc != 0) {
		log_error("pki", "OCSP answer not signed: %s", err);
		return ocsp_fail(r, 3); /* tryLater */
	}
	rc = ocsp_reply(r, der, len, 0);
	free(der);
	return rc;
}

/* A serial of an abandoned issuance intent (store/store_issuance.h) is revoked, as on the CRL: the
 * signer may have signed it. Returns v filled so (status revoked, reason, time) or NULL. */
static const struct cert_rec *abandoned(struct db_conn *c, const char *ca_key_id, const char *serial,
					struct cert_rec *v)
{
	store_cert_free(v);
	memset(v, 0, sizeof(*v));
	if (store_intent_abandoned(c, ca_key_id, serial, v->revoked_at) != DB_OK)
		return NULL;
	snprintf(v->status, sizeof(v->status), "revoked");
	snprintf(v->reason, sizeof(v->reason), "%s", ISSUANCE_ABANDON_REASON);
	return v;
}

/* Answers the OCSPRequest der: the pre-signed response when there is one, else one signed now. */
static int ocsp_answer(struct http_req *r, const unsigned char *der, size_t len)
{
	struct app *app = http_ctx(r);
	OCSP_CERTID *id = pki_ocsp_request_id(der, len);
	ASN1_OBJECT *md = NULL;
	struct cert_rec v = {0};
	struct ca_rec ca = {0};
	X509 *cax = NULL;
	char serial[48], next[32] = "", *b64 = NULL, now[32];
	struct db_conn *c;
	int rc;

	if (id == NULL || pki_ocsp_id_serial(id, serial) != 0) {
		OCSP_CERTID_free(id);
		return ocsp_fail(r, 1); /* malformedRequest */
	}
	OCSP_id_get0_info(NULL, &md, NULL, NULL, id);
	c = db_acquire(app->db);
	rc = store_cert_by_serial(c, serial, &v);
	if (rc == DB_OK && (cax = ca_cert(c, v.ca_key_id)) != NULL && pki_ocsp_id_issued_by(id, cax)) {
		if (OBJ_obj2nid(md) == NID_sha1 && store_ocsp_get(c, serial, &b64, next) == DB_OK &&
		    strcmp(next, timefmt_rfc3339(time(NULL), now)) > 0) {
			size_t n = 0;
			unsigned char *resp = pki_b64_decode(b64, &n);
			time_t until = 0;
			db_release(c);
			timefmt_parse_rfc3339(next, &until);
			rc = resp != NULL ? ocsp_reply(r, resp, n, (long)(until - time(NULL)))
					  : api_internal(r, "OCSP response decode");
			free(resp);
		} else {
			rc = ocsp_on_demand(r, c, id, &v, v.ca_key_id); /* releases c */
		}
	} else {
		/* a serial this CA never issued: "unknown" from the issuer it names, if it is ours */
		store_ca_free(&ca);
		X509_free(cax);
		cax = NULL;
		if (issuer_of(c, id, &ca, &cax) == 0)
			rc = ocsp_on_demand(r, c, id, abandoned(c, ca.key_id, serial, &v), ca.key_id); /* releases c */
		else
			db_release(c), rc = ocsp_fail(r, 6);
	}
	free(b64);
	X509_free(cax);
	store_ca_free(&ca);
	store_cert_free(&v);
	OCSP_CERTID_free(id);
	return rc;
}

/* POST /ocsp (application/ocsp-request). */
int api_ocsp_post(struct http_req *r)
{
	size_t len = 0;
	const char *body = http_body(r, &len);

	return ocsp_answer(r, (const unsigned char *)body, len);
}

/* GET /ocsp/{base64 of the DER request} (RFC 6960 A.1). */
int api_ocsp_get(struct http_req *r)
{
	const char *b64 = http_path(r) + strlen("/ocsp/");
	size_t len = 0;
	unsigned char *der = pki_b64_decode(b64, &len);
	int rc;

	if (der == NULL)
		return ocsp_fail(r, 1);
	rc = ocsp_answer(r, der, len);
	free(der);
	return rc;
}

/* GET /api/v1/admin/certificates?q=&status=good|revoked: staff search certificates by serial, USCC,
 * organisation name or order number. */
int api_cert_search(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *q = http_query(r, "q"), *status = http_query(r, "status");
	json_t *items = NULL;
	struct db_conn *c;
	int64_t before;
	int limit, rc;

	if (api_page_args(r, &limit, &before) != 0)
		return 0;
	if (status != NULL && status[0] == '\0')
		status = NULL;
	if (status != NULL && strcmp(status, "good") != 0 && strcmp(status, "revoked") != 0)
		return http_reply_error(r, 400, "bad_query", "状态应为 good 或 revoked", "status");
	if (q != NULL && strlen(q) > 100)
		return http_reply_error(r, 400, "bad_query", "查询内容不能超过 100 个字符", "q");
	c = db_acquire(app->db);
	rc = store_cert_search(c, q != NULL && q[0] != '\0' ? q : NULL, status, limit + 1, before, &items);
	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "certificate search");
	}
	return http_reply_json(r, 200, api_page(items, limit));
}

/* GET /api/v1/admin/cert-profiles: what each project's certificates contain (read-only). */
int api_cert_profiles(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *items = NULL;
	struct db_conn *c = db_acquire(app->db);
	int rc = store_profiles_json(c, 0, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "certificate profiles");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}
