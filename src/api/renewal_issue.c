/* Online renewal (issue 15): writing the renewed certificate onto the key (下载证书到USBKEY).
 * POST .../issue proves again that the key now plugged in is the one paid for (a fresh challenge),
 * then issues once per renewal and kind: recertify gives the same public keys new certificates
 * (signing: the old certificate's key; encryption: the old encryption certificate's), rekey certifies
 * a new signing key whose CSR the old key also signed. The validity continues from the old expiry.
 * POST .../complete takes the read-back from the key: byte-equal, the renewal is completed and only
 * then the old certificates are revoked (superseded), CRL and OCSP following. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "api/form.h"
#include "api/renewal.h"
#include "config/config.h"
#include "km/km.h"
#include "pki/issue.h"
#include "pki/pki.h"
#include "pki/publish.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"

/* Checks the fresh challenge of the body: signed by the key of the certificate renewed. Returns 0, or
 * -1 after replying (401 challenge_invalid, 409 key_changed). */
static int fresh_proof(struct http_req *r, struct db_conn *c, json_t *body, const struct renewal *rn)
{
	const char *cid = json_string_value(json_object_get(body, "challenge_id"));
	const char *sig = json_string_value(json_object_get(body, "signature"));
	char bound[48] = "";
	int rc = cid != NULL && sig != NULL ? renewal_check_challenge(c, cid, sig, NULL, bound) : 1;
	struct cert_rec v = {0};

	/* the certificate renewed, or the new signing certificate this renewal issued: a key pulled out
	 * after that was written (recertify replaced the old one) resumes with it */
	if (rc == 0 && strcmp(bound, rn->old.serial) != 0 &&
	    (store_cert_of_order(c, rn->o.id, "sign", &v) != DB_OK || strcmp(v.serial, bound) != 0))
		rc = 2;
	store_cert_free(&v);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return api_internal(r, "renewal: challenge"), -1;
	if (rc == 1)
		return http_reply_error(r, 401, "challenge_invalid",
					"验证失败或已过期，请重新插入证书（CA锁）并输入密码后重试", NULL),
		       -1;
	/* another certificate's challenge, or a signature of another key: paid for key A, key B is in */
	return http_reply_error(r, 409, "key_changed",
				"插入的证书（CA锁）不是缴费时的证书，请插入原证书后重试，切勿更换证书", NULL),
	       -1;
}

/* The rekey request: the new key's CSR (PEM) and the old key's signature over its DER. Returns the
 * CSR DER (caller frees) in *der, or -1 after replying 422. */
static int rekey_csr(struct http_req *r, json_t *body, const struct renewal *rn, unsigned char **der,
		     size_t *derlen)
{
	const char *pem = json_string_value(json_object_get(body, "csr"));
	const char *old_sig = json_string_value(json_object_get(body, "csr_old_signature"));
	X509_REQ *req = pem != NULL ? pki_csr_decode((const unsigned char *)pem, strlen(pem)) : NULL;
	X509 *old = pki_cert_from_b64(rn->old.der_b64);
	unsigned char *sig = NULL, *p = NULL;
	size_t siglen = 0;
	int len = req != NULL ? i2d_X509_REQ(req, &p) : -1, ok = 0;

	if (len > 0 && old_sig != NULL && (sig = pki_b64_decode(old_sig, &siglen)) != NULL && old != NULL)
		ok = renewal_sig_ok(X509_get0_pubkey(old), p, (size_t)len, sig, siglen);
	X509_REQ_free(req);
	X509_free(old);
	free(sig);
	if (len <= 0) {
		OPENSSL_free(p);
		return http_reply_error(r, 422, "csr_invalid", "证书请求无法读取，请重试", "csr"), -1;
	}
	if (!ok) {
		OPENSSL_free(p);
		return http_reply_error(r, 422, "csr_old_signature_invalid",
					"原证书对新证书请求的签名验证失败，请插入原证书（CA锁）后重试",
					"csr_old_signature"),
		       -1;
	}
	*der = malloc((size_t)len);
	memcpy(*der, p, (size_t)len);
	*derlen = (size_t)len;
	OPENSSL_free(p);
	return 0;
}

/* Issues (or finds) the renewal's certificate of kind for key (or the CSR). Returns PKI_OK with *out. */
static int issue_one(struct http_req *r, const struct renewal *rn, const char *kind, EVP_PKEY *key,
		     const unsigned char *csr, size_t csrlen, time_t not_after, struct cert_rec *out, char *detail,
		     size_t dl)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	int created = 0;
	struct pki_issue_req rq = {.order_no = rn->o.order_no,
				   .csr = csr,
				   .csrlen = csrlen,
				   .kind = kind,
				   .signer_socket = app->cfg->signer_socket,
				   .actor = &a,
				   .key = key,
				   .order_state = "paid",
				   .without_key = 1,
				   .not_after = not_after};

	return pki_issue(app->db, &rq, out, &created, detail, dl);
}

/* The public key of the certificate v (caller frees), or NULL. */
static EVP_PKEY *key_of(const struct cert_rec *v)
{
	X509 *x = pki_cert_from_b64(v->der_b64);
	EVP_PKEY *k = x != NULL ? X509_get_pubkey(x) : NULL;

	X509_free(x);
	return k;
}

struct issue_job {
	struct renewal rn;
	struct cert_rec enc_old; /* recertify of a dual profile: the old encryption certificate */
	int dual, rekey;
	unsigned char *csr;
	size_t csrlen;
	struct cert_rec sign, enc;
	json_t *enc_key;                    /* rekey of a dual profile: the new encryption key, wrapped */
	json_t *old_made;                   /* imported: seals made from those read from the key */
	int seals;                          /* a main key's seals are renewed too */
	struct seal_rec made[RENEWAL_SEALS]; /* the new seals */
	int nmade;
};

/* Rekey of a dual profile: the new signing certificate and, through key management, a NEW
 * encryption key pair (sealed under the KEK, once per renewal) and its certificate. */
static int issue_rekey_dual(struct http_req *r, struct issue_job *j, time_t na, char *detail, size_t dl)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	int created = 0, has_enc = 0, rc;
	struct pki_issue_req rq = {.order_no = j->rn.o.order_no,
				   .csr = j->csr,
				   .csrlen = j->csrlen,
				   .kind = "sign",
				   .signer_socket = app->cfg->signer_socket,
				   .actor = &a,
				   .order_state = "paid",
				   .without_key = 1,
				   .not_after = na};

	rc = km_issue(app->db, app->cfg->km_kek_file, &rq, &j->sign, &j->enc, &created, &has_enc, detail, dl);
	return rc == PKI_OK && !has_enc ? KM_NO_ENC_CERT : rc;
}

/* The new encryption key of a rekeyed dual renewal wrapped for the new signing key (as GET
 * .../certificates/enc-key hands it out, ?ulong= 32 or 64), audited. Returns 0, or -1 after replying. */
static int wrap_enc_key(struct http_req *r, struct issue_job *j)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	const char *ul = http_query(r, "ulong");
	int ulong_bytes = ul != NULL && strcmp(ul, "64") == 0 ? 8 : 4, rc;
	char detail[512] = "";
	EVP_PKEY *key = NULL;
	X509 *sx = pki_cert_from_b64(j->sign.der_b64);
	struct db_conn *c = db_acquire(app->db);

	rc = km_load_key(c, app->cfg->km_kek_file, &j->enc, &key, detail, sizeof(detail));
	if (rc == PKI_OK && sx != NULL)
		j->enc_key = km_export_json(key, X509_get0_pubkey(sx), ulong_bytes);
	if (j->enc_key != NULL) { /* the shape of GET .../certificates/enc-key, audited the same way */
		rc = store_audit_order(c, &a, "km.enc_key_export", j->rn.o.order_no,
				       json_pack("{s:s, s:s, s:s}", "enc_serial", j->enc.serial, "sign_serial",
						 j->sign.serial, "format",
						 json_string_value(json_object_get(j->enc_key, "format"))));
		json_object_set_new(j->enc_key, "enc_serial", json_string(j->enc.serial));
		json_object_set_new(j->enc_key, "sign_serial", json_string(j->sign.serial));
	}
	db_release(c);
	EVP_PKEY_free(key);
	X509_free(sx);
	if (j->enc_key != NULL && rc == DB_OK)
		return 0;
	log_error("renewal", "renewal %s encryption key: %s", j->rn.o.order_no, detail);
	if (km_err_code(rc) != NULL)
		return http_reply_error(r, km_err_status(rc), km_err_code(rc), km_err_message(rc), NULL), -1;
	return api_internal(r, "renewal: encryption key"), -1;
}

/* Issues what the renewal needs, holding no pooled connection (the signer works). Returns 0, or -1
 * after replying. */
static int issue_all(struct http_req *r, struct issue_job *j)
{
	char detail[512] = "";
	EVP_PKEY *k = j->rekey ? NULL : key_of(&j->rn.old);
	time_t na = renewal_new_not_after(&j->rn, renewal_years(&j->rn), time(NULL));
	int rc;

	if (j->rekey && j->dual) {
		rc = issue_rekey_dual(r, j, na, detail, sizeof(detail));
		if (rc == PKI_OK)
			return wrap_enc_key(r, j);
		log_error("renewal", "renewal %s not issued: %s", j->rn.o.order_no, detail);
		if (km_err_code(rc) != NULL)
			return http_reply_error(r, km_err_status(rc), km_err_code(rc), km_err_message(rc), NULL), -1;
		return http_reply_error(r, pki_err_status(rc), pki_err_code(rc), pki_err_message(rc), NULL), -1;
	}
	rc = issue_one(r, &j->rn, "sign", k, j->csr, j->csrlen, na, &j->sign, detail, sizeof(detail));
	EVP_PKEY_free(k);
	if (rc == PKI_OK && j->dual) {
		k = key_of(&j->enc_old);
		rc = k != NULL ? issue_one(r, &j->rn, "enc", k, NULL, 0, na, &j->enc, detail, sizeof(detail))
			       : PKI_INTERNAL;
		EVP_PKEY_free(k);
	}
	if (rc == PKI_OK)
		return 0;
	log_error("renewal", "renewal %s not issued: %s", j->rn.o.order_no, detail);
	http_reply_error(r, pki_err_status(rc), pki_err_code(rc), pki_err_message(rc), NULL);
	return -1;
}

/* The issue reply: the certificates and their validity. */
static json_t *issue_reply(const struct issue_job *j)
{
	json_t *certs = json_array();

	json_array_append_new(certs, json_pack("{s:s, s:s, s:s}", "usage", "sign", "serial", j->sign.serial, "der",
					       j->sign.der_b64));
	if (j->dual)
		json_array_append_new(certs, json_pack("{s:s, s:s, s:s}", "usage", "enc", "serial", j->enc.serial,
						       "der", j->enc.der_b64));
	json_t *out = json_pack("{s:s, s:o, s:s, s:s, s:s}", "renewal_no", j->rn.o.order_no, "certificates", certs,
				"not_before", j->sign.not_before, "not_after", j->sign.not_after, "state", "issued");

	if (j->seals)
		json_object_set_new(out, "seals", renewal_seals_json(j->made, j->nmade));
	if (j->enc_key != NULL)
		json_object_set_new(out, "enc_key", json_incref(j->enc_key));
	if (j->old_made != NULL)
		json_object_set_new(out, "seals", json_incref(j->old_made));
	return out;
}

static void job_free(struct issue_job *j)
{
	json_decref(j->old_made);
	json_decref(j->enc_key);
	renewal_seals_free(j->made, j->nmade);
	renewal_free(&j->rn);
	store_cert_free(&j->enc_old);
	store_cert_free(&j->sign);
	store_cert_free(&j->enc);
	free(j->csr);
}

/* The seals made for an imported certificate's renewal, as kept in its data ([{type, file, esl}]), or
 * NULL. Caller decrefs. */
static json_t *kept_seals(const struct order_rec *o)
{
	json_t *form = json_loads(o->form != NULL ? o->form : "{}", 0, NULL);
	json_t *s = json_incref(json_object_get(form, "new_seals"));

	json_decref(form);
	return s;
}

/* An imported main key (no seals stored at production): makes the seals anew from old_seals (read
 * from the key) once, keeping them in the renewal's data. Returns 0, or -1 after replying. */
static int imported_seals(struct http_req *r, struct issue_job *j, json_t *old_seals, const struct actor *a)
{
	struct app *app = http_ctx(r);
	struct db_conn *c;
	json_t *form;
	char *text;
	int rc;

	if (!j->rn.kt.has_seal || j->rn.old.usb_key_id != 0)
		return 0;
	if ((j->old_made = kept_seals(&j->rn.o)) != NULL)
		return 0; /* a retry: the same seals */
	if (!json_is_array(old_seals) || json_array_size(old_seals) == 0)
		return 0; /* none on the key: the renewal goes without */
	if (json_array_size(old_seals) > RENEWAL_SEALS)
		return http_reply_error(r, 422, "old_seal_invalid", "原电子签章过多", "old_seals"), -1;
	if (renewal_seals_from_old(r, &j->rn, &j->sign, old_seals, &j->old_made) != 0)
		return -1;
	form = json_loads(j->rn.o.form != NULL ? j->rn.o.form : "{}", 0, NULL);
	json_object_set(form, "new_seals", j->old_made);
	text = json_dumps(form, JSON_COMPACT);
	json_decref(form);
	c = db_acquire(app->db);
	rc = text != NULL ? store_order_set_form(c, j->rn.o.id, "paid", text, NULL, a) : DB_ERROR;
	db_release(c);
	free(text);
	if (rc == DB_NOTFOUND) { /* a racing request issued first: answer its seals */
		c = db_acquire(app->db);
		store_order_free(&j->rn.o);
		rc = store_order_get(c, http_param(r, "renewal_no"), &j->rn.o);
		db_release(c);
		json_decref(j->old_made);
		j->old_made = rc == DB_OK ? kept_seals(&j->rn.o) : NULL;
	}
	return rc == DB_OK ? 0 : (api_internal(r, "renewal: seals kept"), -1);
}

/* POST /api/v1/renewals/{renewal_no}/issue (token) {challenge_id, signature, csr?, csr_old_signature?}:
 * the renewed certificates, issued once (a retry gets the same ones). */
int api_renewal_issue(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r);
	struct issue_job j = {0};
	struct actor a = api_actor(r);
	struct db_conn *c;
	int ok = -1, rc, issued;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (renewal_load(r, c, &j.rn) != 0)
		goto out;
	if (strcmp(j.rn.o.state, "paid") != 0 && strcmp(j.rn.o.state, "issued") != 0) {
		http_reply_error(r, 409, "state_conflict",
				 strcmp(j.rn.o.state, "awaiting_payment") == 0 ? "请先完成缴费" : "该更新业务已完成",
				 NULL);
		goto out;
	}
	if (fresh_proof(r, c, body, &j.rn) != 0)
		goto out;
	j.dual = j.rn.have_profile && j.rn.profile.dual;
	j.rekey = renewal_rekey(&j.rn);
	if (j.dual && !j.rekey && store_cert_sibling(c, &j.rn.old, "enc", &j.enc_old) != DB_OK) {
		http_reply_error(r, 409, "enc_certificate_missing", "未找到原加密证书，请联系客服", NULL);
		goto out;
	}
	/* already issued: the same certificates, whatever the body says (no second issuance) */
	issued = store_cert_of_order(c, j.rn.o.id, "sign", &j.sign) == DB_OK;
	store_cert_free(&j.sign);
	memset(&j.sign, 0, sizeof(j.sign));
	if (j.rekey && !issued && rekey_csr(r, body, &j.rn, &j.csr, &j.csrlen) != 0)
		goto out;
	if ((j.seals = renewal_seals_needed(c, &j.rn)) < 0) {
		api_internal(r, "renewal: seals");
		goto out;
	}
	db_release(c);
	c = NULL;
	if (issue_all(r, &j) != 0)
		goto out;
	/* a main key: new seals bound to the new signing certificate, before the renewal counts as issued */
	if (j.seals && renewal_seals_make(r, &j.rn, &j.sign) != 0)
		goto out;
	/* an imported main key: the seals read from the key, made anew (kept in the renewal's data) */
	if (!j.seals && imported_seals(r, &j, json_object_get(body, "old_seals"), &a) != 0)
		goto out;
	c = db_acquire(app->db);
	if (j.seals && renewal_seals_of(c, &j.rn, j.sign.serial, j.made, &j.nmade) != DB_OK) {
		api_internal(r, "renewal: seals read");
		goto out;
	}
	rc = store_order_transition(c, j.rn.o.id, "paid", "issued", "issue", j.sign.serial, &a);
	if (rc != DB_OK && rc != DB_NOTFOUND) {
		api_internal(r, "renewal: issued");
		goto out;
	}
	ok = 0;
out:
	if (c != NULL)
		db_release(c);
	if (ok == 0 && j.enc_key != NULL)
		http_add_header(r, "Cache-Control", "no-store"); /* a private key, wrapped */
	if (ok == 0)
		http_reply_json(r, 200, issue_reply(&j));
	job_free(&j);
	json_decref(body);
	return 0;
}

/* --- completion --- */

/* 1 when the read-back list holds exactly the certificate v for usage (and nothing else for it). */
static int read_back_has(json_t *certs, const char *usage, const struct cert_rec *v)
{
	json_t *e;
	size_t i;
	int n = 0, same = 0;

	json_array_foreach (certs, i, e) {
		const char *u = json_string_value(json_object_get(e, "usage"));
		const char *der = json_string_value(json_object_get(e, "der"));
		if (u == NULL || strcmp(u, usage) != 0)
			continue;
		n++;
		same = der != NULL && strcmp(der, v->der_b64) == 0;
	}
	return n == 1 && same;
}

/* 1 when list ([{type, esl}]) holds exactly the kept seals ([{type, file, esl}]), byte-equal. */
static int kept_readback_ok(json_t *list, json_t *kept)
{
	json_t *k, *e;
	size_t i, n;

	if (!json_is_array(list) || json_array_size(list) != json_array_size(kept))
		return 0;
	json_array_foreach (kept, i, k) {
		int found = 0;
		json_array_foreach (list, n, e)
			found += json_equal(json_object_get(e, "type"), json_object_get(k, "type")) &&
				 json_equal(json_object_get(e, "esl"), json_object_get(k, "esl"));
		if (found != 1)
			return 0;
	}
	return 1;
}

struct complete_tx {
	struct renewal *rn;
	const struct actor *a;
	const char *enc_old_serial; /* "" when none */
	const char *sign_serial;    /* the new signing certificate */
	int seals;                  /* its seals were read back: mark them written */
	json_t *revoked;            /* serials revoked */
};

/* completed, then the old certificates revoked (superseded), in one transaction. */
static int complete_tx(struct db_conn *c, void *arg)
{
	struct complete_tx *t = arg;
	struct cert_rec v = {0};
	int rc = store_order_transition(c, t->rn->o.id, "issued", "completed", "confirm", NULL, t->a);

	if (rc == DB_OK && t->seals)
		rc = store_seals_mark_written(c, t->rn->old.usb_key_id, t->sign_serial);

	json_array_clear(t->revoked);
	if (rc == DB_OK) {
		rc = store_cert_revoke(c, t->rn->old.serial, "superseded", t->a, &v);
		store_cert_free(&v);
		if (rc == DB_OK)
			json_array_append_new(t->revoked, json_string(t->rn->old.serial));
		else if (rc == DB_CONFLICT)
			rc = DB_OK; /* revoked already (by staff): nothing to supersede */
	}
	if (rc == DB_OK && t->enc_old_serial[0] != '\0') {
		memset(&v, 0, sizeof(v));
		rc = store_cert_revoke(c, t->enc_old_serial, "superseded", t->a, &v);
		store_cert_free(&v);
		if (rc == DB_OK)
			json_array_append_new(t->revoked, json_string(t->enc_old_serial));
		else if (rc == DB_CONFLICT)
			rc = DB_OK;
	}
	if (rc == DB_OK)
		rc = store_audit_order(c, t->a, "renewal.complete", t->rn->o.order_no,
				       json_pack("{s:s, s:O}", "renews_serial", t->rn->old.serial, "revoked", t->revoked));
	return rc;
}

/* Publishes the CRL and OCSP responses of the certificates revoked (the publishing job does it later
 * when the signer is down). */
static void publish(struct http_req *r, const char *ca_key_id, json_t *revoked)
{
	struct app *app = http_ctx(r);
	struct pki_publisher p = {app->db, app->cfg->signer_socket, app->cfg->ca_crl_interval_s,
				  app->cfg->ca_ocsp_validity_s};
	char err[512];
	json_t *sv;
	size_t i;

	if (json_array_size(revoked) == 0)
		return;
	if (pki_publish_crl(&p, ca_key_id, err, sizeof(err)) != 0)
		log_error("renewal", "CRL after a renewal not published yet: %s", err);
	json_array_foreach (revoked, i, sv)
		if (pki_publish_ocsp(&p, json_string_value(sv), err, sizeof(err)) != 0)
			log_error("renewal", "OCSP of %s not published yet: %s", json_string_value(sv), err);
}

/* POST /api/v1/renewals/{renewal_no}/complete (token) {certificates: [{usage, der}], seals?}: the
 * read-back from the key; byte-equal, the renewal is completed and the old certificates superseded. */
int api_renewal_complete(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *certs, *reply = NULL;
	struct renewal rn = {0};
	struct cert_rec sign = {0}, enc = {0}, enc_old = {0};
	struct actor a = api_actor(r);
	struct complete_tx t = {&rn, &a, "", "", 0, json_array()};
	struct seal_rec seals[RENEWAL_SEALS];
	struct db_conn *c;
	json_t *kept = NULL;
	int dual, rc, nseals = 0;

	if (body == NULL) {
		json_decref(t.revoked);
		return 0;
	}
	c = db_acquire(app->db);
	if (renewal_load(r, c, &rn) != 0)
		goto out;
	dual = rn.have_profile && rn.profile.dual;
	if (strcmp(rn.o.state, "issued") != 0 && strcmp(rn.o.state, "completed") != 0) {
		http_reply_error(r, 409, "state_conflict", "新证书尚未签发，请先点击“下载证书到USBKEY”", NULL);
		goto out;
	}
	certs = json_object_get(body, "certificates");
	if (store_cert_of_order(c, rn.o.id, "sign", &sign) != DB_OK ||
	    (dual && store_cert_of_order(c, rn.o.id, "enc", &enc) != DB_OK)) {
		api_internal(r, "renewal: issued certificates");
		goto out;
	}
	if (!json_is_array(certs) || !read_back_has(certs, "sign", &sign) ||
	    (dual && !read_back_has(certs, "enc", &enc))) {
		http_reply_error(r, 409, "readback_mismatch",
				 dual ? "从证书（CA锁）读回的签名证书或加密证书与签发的不一致，请重新下载证书到USBKEY"
				      : "从证书（CA锁）读回的证书与签发的不一致，请重新下载证书到USBKEY",
				 "certificates");
		goto out;
	}
	if ((t.seals = renewal_seals_needed(c, &rn)) < 0 ||
	    renewal_seals_of(c, &rn, sign.serial, seals, &nseals) != DB_OK) {
		api_internal(r, "renewal: seals");
		goto out;
	}
	if (t.seals && (nseals != RENEWAL_SEALS ||
			!renewal_seals_readback_ok(json_object_get(body, "seals"), seals, nseals))) {
		http_reply_error(r, 409, "readback_mismatch",
				 "从证书（CA锁）读回的电子签章与制作的不一致，请重新下载证书到USBKEY", "seals");
		goto out;
	}
	kept = kept_seals(&rn.o);
	if (kept != NULL && !kept_readback_ok(json_object_get(body, "seals"), kept)) {
		http_reply_error(r, 409, "readback_mismatch",
				 "从证书（CA锁）读回的电子签章与制作的不一致，请重新下载证书到USBKEY", "seals");
		goto out;
	}
	t.sign_serial = sign.serial;
	if (strcmp(rn.o.state, "issued") == 0) {
		if (dual && store_cert_sibling(c, &rn.old, "enc", &enc_old) == DB_OK)
			t.enc_old_serial = enc_old.serial;
		db_release(c);
		c = NULL;
		rc = db_tx(app->db, complete_tx, &t);
		if (rc != DB_OK && rc != DB_NOTFOUND) {
			api_internal(r, "renewal: complete");
			goto out;
		}
		publish(r, rn.old.ca_key_id, t.revoked);
		c = db_acquire(app->db);
		store_order_free(&rn.o);
		if (store_order_get(c, http_param(r, "renewal_no"), &rn.o) != DB_OK) {
			api_internal(r, "renewal: reload");
			goto out;
		}
	}
	reply = renewal_json(c, &rn);
	http_reply_json(r, 200, reply);
out:
	if (c != NULL)
		db_release(c);
	json_decref(t.revoked);
	json_decref(kept);
	renewal_seals_free(seals, nseals);
	store_cert_free(&sign);
	store_cert_free(&enc);
	store_cert_free(&enc_old);
	renewal_free(&rn);
	json_decref(body);
	return 0;
}
