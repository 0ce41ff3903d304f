/* Certificates (issue 12): producers issue an order's certificate from the CSR of its USB key;
 * staff list and download them; anyone downloads the CA certificates (GET /api/v1/ca, /ca/<id>.crt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "config/config.h"
#include "km/km.h"
#include "pki/issue.h"
#include "pki/pki.h"
#include "util/log.h"

#define CSR_MAX_LEN 65536

/* Returns the PEM text of a certificate stored as base64 DER (caller frees). */
static char *pem_of(const char *b64)
{
	size_t n = strlen(b64), lines = n / 64 + 1;
	char *out = malloc(n + lines + 64), *p = out;

	if (out == NULL)
		return NULL;
	p += sprintf(p, "-----BEGIN CERTIFICATE-----\n");
	for (size_t i = 0; i < n; i += 64)
		p += sprintf(p, "%.*s\n", (int)(n - i < 64 ? n - i : 64), b64 + i);
	sprintf(p, "-----END CERTIFICATE-----\n");
	return out;
}

/* Returns the certificate's JSON with its PEM. */
static json_t *cert_json_pem(const struct cert_rec *v)
{
	json_t *j = store_cert_json(v);
	char *pem = pem_of(v->der_b64);

	json_object_set_new(j, "pem", json_string(pem != NULL ? pem : ""));
	free(pem);
	return j;
}

/* Replies with a key-management error (km.h), logged with its detail. */
static int km_error(struct http_req *r, int e, const char *detail)
{
	log_error("certificates", "order %s encryption key, request %s: %s: %s", http_param(r, "order_no"),
		  http_request_id(r), km_err_code(e), detail);
	if (km_err_status(e) >= 500)
		http_set_error_what(r, km_err_code(e));
	return http_reply_error(r, km_err_status(e), km_err_code(e), km_err_message(e), NULL);
}

/* Replies with the error of a failed issuance; 5xx ones are logged with the detail. */
static int issue_error(struct http_req *r, int e, const char *detail)
{
	char msg[600];

	if (km_err_code(e) != NULL)
		return km_error(r, e, detail);

	if (pki_err_status(e) >= 500) {
		log_error("certificates", "certificate %s request %s: %s: %s", http_param(r, "order_no"),
			  http_request_id(r), pki_err_code(e), detail);
		http_set_error_what(r, pki_err_code(e));
	}
	/* staff see why a key or a lint failed: it tells them what to do with the USB key */
	if ((e == PKI_KEY_WEAK || e == PKI_CSR_KEY_MISMATCH || e == PKI_LINT) && detail[0] != '\0')
		snprintf(msg, sizeof(msg), "%s（%s）", pki_err_message(e), detail);
	else
		snprintf(msg, sizeof(msg), "%s", pki_err_message(e));
	return http_reply_error(r, pki_err_status(e), pki_err_code(e), msg,
				pki_err_status(e) == 422 ? "csr" : NULL);
}

int api_certificates_issue(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *j;
	struct actor a = api_actor(r);
	struct cert_rec cert = {0}, enc = {0};
	char detail[512];
	const char *csr;
	int created = 0, has_enc = 0, rc;

	if (body == NULL)
		return 0;
	csr = json_string_value(json_object_get(body, "csr"));
	if (csr == NULL || csr[0] == '\0' || strlen(csr) > CSR_MAX_LEN) {
		/* the code before the body goes: csr points into it */
		const char *code = csr == NULL || csr[0] == '\0' ? "field_required" : "csr_invalid";
		json_decref(body);
		return http_reply_error(r, 422, code, "请提供 PEM 格式的证书请求（CSR，不超过 64 KB）", "csr");
	}
	struct pki_issue_req rq = {http_param(r, "order_no"), (const unsigned char *)csr, strlen(csr), "sign",
				   app->cfg->signer_socket, &a, NULL, NULL, 0, 0};
	/* the signing certificate, and the encryption certificate too when the profile is dual */
	rc = km_issue(app->db, app->cfg->km_kek_file, &rq, &cert, &enc, &created, &has_enc, detail, sizeof(detail));
	json_decref(body);
	if (rc != PKI_OK)
		return issue_error(r, rc, detail);
	j = cert_json_pem(&cert);
	if (has_enc)
		json_object_set_new(j, "enc_certificate", cert_json_pem(&enc));
	store_cert_free(&cert);
	store_cert_free(&enc);
	return http_reply_json(r, created ? 201 : 200, j);
}

/* Reads the order's signing and encryption certificates and opens the encryption key (KEK from
 * kek_file); the connection is released before the caller wraps it. Returns PKI_OK or an error. */
static int enc_key_load(struct db *db, const char *kek_file, const char *order_no, struct cert_rec *sign,
			struct cert_rec *enc, EVP_PKEY **key, char *detail, size_t dl)
{
	struct order_rec o = {0};
	struct db_conn *c = db_acquire(db);
	int rc = store_order_get(c, order_no, &o);

	if (rc == DB_NOTFOUND)
		rc = PKI_ORDER_NOT_FOUND;
	else if (rc != DB_OK)
		rc = PKI_INTERNAL;
	else if (store_cert_of_order(c, o.id, "enc", enc) != DB_OK || store_cert_of_order(c, o.id, "sign", sign) != DB_OK)
		rc = KM_NO_ENC_CERT;
	else
		rc = km_load_key(c, kek_file, enc, key, detail, dl);
	db_release(c);
	store_order_free(&o);
	return rc;
}

struct export_audit {
	const struct actor *a;
	const char *order_no;
	const struct cert_rec *sign, *enc;
	const char *format;
};

static int export_audit_tx(struct db_conn *c, void *arg)
{
	const struct export_audit *x = arg;
	return store_audit_order(c, x->a, "km.enc_key_export", x->order_no,
				 json_pack("{s:s, s:s, s:s}", "enc_serial", x->enc->serial, "sign_serial",
					   x->sign->serial, "format", x->format));
}

/* Replies with the wrapped key j after auditing the hand-out (nothing is handed out unaudited). */
static int enc_key_reply(struct http_req *r, const struct cert_rec *sign, const struct cert_rec *enc, json_t *j)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct export_audit x = {&a, http_param(r, "order_no"), sign, enc,
				 json_string_value(json_object_get(j, "format"))};

	if (db_tx(app->db, export_audit_tx, &x) != DB_OK) {
		json_decref(j);
		return api_internal(r, "encryption key audit");
	}
	json_object_set_new(j, "enc_serial", json_string(enc->serial));
	json_object_set_new(j, "sign_serial", json_string(sign->serial));
	http_add_header(r, "Cache-Control", "no-store");
	return http_reply_json(r, 200, j);
}

int api_certificates_enc_key(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *ul = http_query(r, "ulong");
	struct cert_rec sign = {0}, enc = {0};
	EVP_PKEY *key = NULL;
	X509 *sx = NULL;
	json_t *j = NULL;
	char detail[512] = "";
	int rc, ulong_bytes = ul == NULL || strcmp(ul, "32") == 0 ? 4 : strcmp(ul, "64") == 0 ? 8 : 0;

	if (ulong_bytes == 0)
		return http_reply_error(r, 400, "bad_ulong", "ulong 只能是 32 或 64（SKF ULONG 的位数）", "ulong");
	rc = enc_key_load(app->db, app->cfg->km_kek_file, http_param(r, "order_no"), &sign, &enc, &key, detail,
			  sizeof(detail));
	if (rc == PKI_OK) {
		/* wrapped for the USB key's signing key: the only key that can open it */
		sx = pki_cert_from_b64(sign.der_b64);
		j = sx != NULL ? km_export_json(key, X509_get0_pubkey(sx), ulong_bytes) : NULL;
		rc = j != NULL ? PKI_OK : PKI_INTERNAL;
	}
	EVP_PKEY_free(key);
	X509_free(sx);
	if (rc == PKI_OK)
		rc = enc_key_reply(r, &sign, &enc, j);
	else if (km_err_code(rc) != NULL)
		rc = km_error(r, rc, detail);
	else if (rc == PKI_ORDER_NOT_FOUND)
		rc = http_reply_error(r, 404, "not_found", "未找到该订单", NULL);
	else
		rc = api_internal(r, "encryption key");
	store_cert_free(&sign);
	store_cert_free(&enc);
	return rc;
}

/* Replies with the certificates of order o. */
static int list_of(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	json_t *items = NULL;

	if (store_certs_of_order_json(c, o->id, &items) != DB_OK) {
		json_decref(items);
		return api_internal(r, "certificates of order");
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int api_certificates_list(struct http_req *r)
{
	return api_on_order(r, 0, list_of);
}

json_t *api_order_certificates(struct db_conn *c, const struct order_rec *o)
{
	json_t *items = NULL;

	if (store_certs_of_order_json(c, o->id, &items) != DB_OK) {
		json_decref(items);
		return json_array();
	}
	return items;
}

/* Replies with the DER of a certificate (base64 b64) as application/pkix-cert named name. */
static int reply_der(struct http_req *r, const char *b64, const char *name)
{
	size_t len = 0;
	unsigned char *der = pki_b64_decode(b64, &len);
	char disp[160];
	int rc;

	if (der == NULL)
		return api_internal(r, "certificate DER");
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
	http_add_header(r, "Content-Disposition", disp);
	rc = http_reply_bytes(r, 200, "application/pkix-cert", der, len);
	free(der);
	return rc;
}

int api_certificate_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *format = http_query(r, "format");
	struct db_conn *c = db_acquire(app->db);
	struct cert_rec v = {0};
	char name[80], disp[160];
	int rc = store_cert_by_serial(c, http_param(r, "serial"), &v);

	db_release(c);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "未找到该序列号的证书", NULL);
	if (rc != DB_OK)
		return api_internal(r, "certificate by serial");
	if (format != NULL && strcmp(format, "der") == 0) {
		snprintf(name, sizeof(name), "%s.cer", v.serial);
		rc = reply_der(r, v.der_b64, name);
	} else if (format != NULL && strcmp(format, "pem") == 0) {
		char *pem = pem_of(v.der_b64);
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.pem\"", v.serial);
		http_add_header(r, "Content-Disposition", disp);
		rc = pem != NULL ? http_reply_bytes(r, 200, "application/x-pem-file", pem, strlen(pem))
				 : api_internal(r, "certificate PEM");
		free(pem);
	} else if (format == NULL || strcmp(format, "json") == 0) {
		rc = http_reply_json(r, 200, cert_json_pem(&v));
	} else {
		rc = http_reply_error(r, 400, "bad_format", "format 只能是 pem、der 或 json", "format");
	}
	store_cert_free(&v);
	return rc;
}

int api_ca_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	json_t *items = NULL, *it;
	size_t i;
	int rc = store_ca_list_json(c, 1, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return api_internal(r, "CA list");
	}
	json_array_foreach(items, i, it)
	{
		char *pem = pem_of(json_string_value(json_object_get(it, "der")));
		json_object_del(it, "key_location"); /* where the keys live is for operators only */
		json_object_del(it, "der");
		json_object_set_new(it, "pem", json_string(pem != NULL ? pem : ""));
		free(pem);
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int api_ca_file(struct http_req *r)
{
	struct app *app = http_ctx(r);
	const char *id = http_param(r, "ca"); /* /ca/{ca}.crt: the router takes the suffix off */
	struct ca_rec ca = {0};
	char file[64];
	struct db_conn *c;
	int rc;

	/* the CA certificate in DER, as RFC 5280 4.2.2.1 wants for caIssuers */
	snprintf(file, sizeof(file), "%s.crt", id);
	c = db_acquire(app->db);
	rc = store_ca_get(c, id, &ca);
	db_release(c);
	if (rc == DB_NOTFOUND)
		return http_reply_error(r, 404, "not_found", "未找到该 CA 证书", NULL);
	if (rc != DB_OK)
		return api_internal(r, "CA certificate");
	rc = reply_der(r, ca.der_b64, file);
	store_ca_free(&ca);
	return rc;
}
