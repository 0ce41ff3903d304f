/* Dual issuance: the signing certificate from the USB key's CSR (pki_issue), then, when the
 * order's profile says dual, the encryption certificate for a key pair made here. The key is made
 * once per order and sealed into enc_keys BEFORE it is certified: a retry (or a racing request)
 * finds it and certifies that same key, and a certified encryption key is always recoverable. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "km/km.h"
#include "pki/issue.h"
#include "pki/pki.h"
#include "store/db.h"
#include "util/strutil.h"

#define MAX_PROFILES 8

/* What the encryption step reads before its slow work. */
struct enc_ctx {
	struct order_rec order;
	int alg;  /* the signing key's algorithm, which the encryption key shares */
	int dual; /* the profile of that algorithm says dual */
	struct enc_key_rec row;
	int have_row;
};

/* Reads the order, whether its profile is dual, and its encryption certificate or sealed key.
 * Returns PKI_OK (with *has_enc when the certificate exists) or an error. */
static int enc_read(struct db *db, const char *order_no, const struct cert_rec *sign, struct enc_ctx *e,
		    struct cert_rec *enc, int *has_enc)
{
	struct cert_profile_rec ps[MAX_PROFILES];
	struct db_conn *c = db_acquire(db);
	X509 *x = pki_cert_from_b64(sign->der_b64);
	int n = 0, rc = PKI_INTERNAL;

	e->alg = x != NULL ? pki_key_alg(X509_get0_pubkey(x), NULL, 0) : -1;
	X509_free(x);
	if (e->alg < 0 || store_order_get(c, order_no, &e->order) != DB_OK ||
	    store_profiles_of(c, e->order.project_id, e->order.key_type, ps, MAX_PROFILES, &n) != DB_OK)
		goto out;
	for (int i = 0; i < n; i++)
		if (strcmp(ps[i].algorithm, pki_alg_name(e->alg)) == 0)
			e->dual = ps[i].dual;
	rc = PKI_OK;
	if (!e->dual)
		goto out;
	if (store_cert_of_order(c, e->order.id, "enc", enc) == DB_OK) {
		*has_enc = 1;
		km_enc_key_link(c, e->order.id, enc->serial); /* a link lost to a crash is made now */
		goto out;
	}
	int k = km_enc_key_of_order(c, e->order.id, &e->row);
	e->have_row = k == DB_OK;
	rc = k == DB_OK || k == DB_NOTFOUND ? PKI_OK : PKI_INTERNAL;
out:
	db_release(c);
	return rc;
}

struct insert_arg {
	const struct enc_key_rec *row;
	const char *order_no;
	const struct actor *a;
};

static int insert_tx(struct db_conn *c, void *arg)
{
	struct insert_arg *s = arg;
	return km_enc_key_insert(c, s->row, s->order_no, s->a);
}

/* Generates and seals the order's key (no connection held), stores it once; when another request
 * stored one first, reads that one instead. Returns PKI_OK with e->row, or an error. */
static int enc_generate(struct db *db, const struct km_kek *kek, struct enc_ctx *e, const struct actor *a,
			char *detail, size_t dl)
{
	EVP_PKEY *pk = pki_key_generate(e->alg);
	struct insert_arg s = {&e->row, e->order.order_no, a};
	struct db_conn *c;
	int rc;

	memset(&e->row, 0, sizeof(e->row));
	e->row.order_id = e->order.id;
	str_copy(e->row.algorithm, pki_alg_name(e->alg), sizeof(e->row.algorithm));
	str_copy(e->row.kek_id, kek->id, sizeof(e->row.kek_id));
	if (pk == NULL || pki_spki_sha256(pk, e->row.spki_sha256) != 0 ||
	    (e->row.wrapped = km_key_seal(kek, pk, e->order.id, e->row.algorithm)) == NULL) {
		EVP_PKEY_free(pk);
		return snprintf(detail, dl, "generating the %s encryption key", e->row.algorithm),
		       PKI_INTERNAL;
	}
	EVP_PKEY_free(pk); /* what is certified is what opens from the table: one path for both cases */
	rc = db_tx(db, insert_tx, &s);
	km_enc_key_free(&e->row);
	if (rc != DB_OK && rc != DB_CONFLICT)
		return PKI_INTERNAL;
	c = db_acquire(db);
	rc = km_enc_key_of_order(c, e->order.id, &e->row);
	db_release(c);
	e->have_row = rc == DB_OK;
	return rc == DB_OK ? PKI_OK : PKI_INTERNAL;
}

/* Certifies the sealed key of e (kind enc) and links it to its serial. Returns PKI_OK or an error. */
static int enc_certify(struct db *db, const struct km_kek *kek, const struct pki_issue_req *rq,
		       struct enc_ctx *e, struct cert_rec *enc, char *detail, size_t dl)
{
	struct pki_issue_req er = *rq;
	EVP_PKEY *pk = km_key_open(kek, e->row.wrapped, e->order.id, e->row.algorithm);
	struct db_conn *c;
	char spki[65];
	int created = 0, rc;

	if (pk == NULL || strcmp(e->row.kek_id, kek->id) != 0)
		rc = KM_KEY_MISMATCH;
	else if (pki_spki_sha256(pk, spki) != 0 || strcmp(spki, e->row.spki_sha256) != 0)
		rc = KM_KEY_MISMATCH;
	else
		rc = PKI_OK;
	if (rc != PKI_OK) {
		EVP_PKEY_free(pk);
		return snprintf(detail, dl,
				"the encryption key of order %s does not open with KEK %s (sealed by %s)",
				e->order.order_no, kek->id, e->row.kek_id),
		       rc;
	}
	er.kind = "enc";
	er.key = pk;
	er.csr = NULL;
	er.csrlen = 0;
	rc = pki_issue(db, &er, enc, &created, detail, dl);
	EVP_PKEY_free(pk);
	if (rc == PKI_OK) {
		c = db_acquire(db);
		km_enc_key_link(c, e->order.id, enc->serial); /* retried by the next read if it fails */
		db_release(c);
	}
	return rc;
}

int km_issue(struct db *db, const char *kek_file, const struct pki_issue_req *rq, struct cert_rec *sign,
	     struct cert_rec *enc, int *created, int *has_enc, char *detail, size_t detaillen)
{
	struct enc_ctx e = {0};
	struct km_kek kek;
	int rc = pki_issue(db, rq, sign, created, detail, detaillen);

	*has_enc = 0;
	memset(enc, 0, sizeof(*enc));
	if (rc != PKI_OK)
		return rc;
	rc = enc_read(db, rq->order_no, sign, &e, enc, has_enc);
	if (rc != PKI_OK || !e.dual || *has_enc)
		goto out;
	if (km_kek_load(kek_file, &kek, detail, detaillen) != KM_KEK_OK) {
		rc = KM_UNAVAILABLE;
		goto out;
	}
	if (!e.have_row)
		rc = enc_generate(db, &kek, &e, rq->actor, detail, detaillen);
	if (rc == PKI_OK)
		rc = enc_certify(db, &kek, rq, &e, enc, detail, detaillen);
	km_kek_wipe(&kek);
	*has_enc = rc == PKI_OK;
out:
	store_order_free(&e.order);
	km_enc_key_free(&e.row);
	if (rc != PKI_OK) { /* a signing certificate already made is returned by the retry, with its pair */
		store_cert_free(enc);
		store_cert_free(sign);
	}
	return rc;
}
