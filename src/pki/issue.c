/* pki_issue: read the order, its organisation, profile and CA (then release the connection), check
 * the CSR, build the TBSCertificate and record it as an issuance intent (its own transaction), have
 * certdesk-signer sign it (no connection held), and store the certificate and close the intent in
 * one transaction guarded by the order's state, the intent's state and the (order, kind) constraint.
 * A retry that finds its intent still signing (a crash or failure between the signature and the
 * store) signs the same TBS again: no second serial is ever signed for one request. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "pki/issue.h"
#include "pki/lint.h"
#include "pki/pki.h"
#include "pki/signer_client.h"
#include "store/db.h"
#include "store/store_issuance.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define MAX_PROFILES 8
/* How long a request holds its intent: the signer's connect and exchange time-outs and the store,
 * with room to spare. Another request for the order with another key waits until then. */
#define INTENT_LEASE_S 20
#define WAIT_STEP_MS 200
/* prepare's answer when another live request holds the order's intent (not an enum pki_err) */
#define ISSUE_WAIT (-1)

/* What issuance reads from the database before the slow work. */
struct issue_ctx {
	const struct pki_issue_req *rq;
	struct order_rec order;
	struct org_rec org;
	struct cert_profile_rec profiles[MAX_PROFILES];
	int nprofiles;
	const struct cert_profile_rec *profile;
	struct ca_rec ca;
	X509_REQ *req;
	EVP_PKEY *key; /* the CSR's, owned by req */
	char spki[65];
	int years;
	struct cert_rec *out;
	int64_t usb_key_id; /* the order's key being produced */
	struct issuance_intent_rec intent; /* the TBS to sign (id 0: none yet) */
	int resumed;                       /* intent was found signing: this is a retry */
};

/* [dev] issue_store_fault: the store of every new intent's certificate fails once (after the
 * signature), as a crash there would; only the retry stores it. Tests only. */
static int store_fault;

void pki_issue_set_store_fault(int on)
{
	store_fault = on;
}

/* Returns the years paid for the order: the form's "years" (1..9), else 1. */
static int years_of(const struct order_rec *o)
{
	json_t *form = json_loads(o->form != NULL ? o->form : "{}", 0, NULL);
	json_int_t y = json_integer_value(json_object_get(form, "years"));

	json_decref(form);
	return y >= 1 && y <= 9 ? (int)y : 1;
}

const char *pki_enc_key_usage(int alg)
{
	if (alg == PKI_ALG_SM2)
		return "keyEncipherment,dataEncipherment,keyAgreement";
	return alg == PKI_ALG_P256 ? "keyAgreement" : "keyEncipherment,dataEncipherment";
}

/* Decodes and checks the CSR on its own (no database); an encryption certificate's key is ours
 * (rq->key) and has no CSR. Returns PKI_OK or an error. */
static int check_csr(struct issue_ctx *x, char *detail, size_t dl)
{
	if (x->rq->key != NULL) {
		x->key = x->rq->key;
		return pki_spki_sha256(x->key, x->spki) == 0 ? PKI_OK : PKI_INTERNAL;
	}
	x->req = pki_csr_decode(x->rq->csr, x->rq->csrlen);
	if (x->req == NULL)
		return snprintf(detail, dl, "CSR does not decode"), PKI_CSR_INVALID;
	x->key = X509_REQ_get0_pubkey(x->req);
	if (x->key == NULL)
		return snprintf(detail, dl, "CSR key does not decode"), PKI_CSR_INVALID;
	if (!pki_csr_verify(x->req))
		return snprintf(detail, dl, "CSR signature does not verify"), PKI_CSR_BAD_SIGNATURE;
	if (pki_key_check_weak(x->key, detail, dl) != 0)
		return PKI_KEY_WEAK;
	if (pki_spki_sha256(x->key, x->spki) != 0)
		return PKI_INTERNAL;
	return PKI_OK;
}

/* Picks the profile whose algorithm is the CSR key's. Returns PKI_OK or PKI_CSR_KEY_MISMATCH. */
static int pick_profile(struct issue_ctx *x, char *detail, size_t dl)
{
	char desc[64];
	int alg = pki_key_alg(x->key, desc, sizeof(desc));

	for (int i = 0; alg >= 0 && i < x->nprofiles; i++)
		if (strcmp(x->profiles[i].algorithm, pki_alg_name(alg)) == 0) {
			x->profile = &x->profiles[i];
			return PKI_OK;
		}
	snprintf(detail, dl, "CSR key %s matches no profile of the order's project and key type", desc);
	return PKI_CSR_KEY_MISMATCH;
}

/* Sets x->usb_key_id to the order's key being produced: a certificate is issued for one key.
 * Returns PKI_OK, PKI_PRODUCTION_NOT_STARTED or PKI_INTERNAL. */
static int live_key(struct db_conn *c, struct issue_ctx *x, char *detail, size_t dl)
{
	struct usbkey_rec k = {0};
	int rc = store_usbkey_live_of_order(c, x->order.id, &k);

	x->usb_key_id = k.id;
	store_usbkey_free(&k);
	if (rc == DB_NOTFOUND || (rc == DB_OK && strcmp(k.state, "producing") != 0))
		return snprintf(detail, dl, "no USB key being produced"), PKI_PRODUCTION_NOT_STARTED;
	return rc == DB_OK ? PKI_OK : PKI_INTERNAL;
}

/* The state the order must be in for rq's issuance. */
static const char *issue_state(const struct pki_issue_req *rq)
{
	return rq->order_state != NULL ? rq->order_state : PKI_ISSUE_STATE;
}

/* Reads the order; *existing is set when it already has its certificate (loaded into x->out).
 * Returns PKI_OK or an error. */
static int load_order(struct db_conn *c, struct issue_ctx *x, int *existing, char *detail, size_t dl)
{
	int rc = store_order_get(c, x->rq->order_no, &x->order);

	if (rc == DB_NOTFOUND)
		return PKI_ORDER_NOT_FOUND;
	if (rc != DB_OK)
		return PKI_INTERNAL;
	if (store_cert_of_order(c, x->order.id, x->rq->kind, x->out) == DB_OK)
		return *existing = 1, PKI_OK;
	if (strcmp(x->order.state, issue_state(x->rq)) != 0)
		return snprintf(detail, dl, "order in state %s", x->order.state), PKI_ORDER_STATE;
	return x->rq->without_key ? PKI_OK : live_key(c, x, detail, dl);
}

/* Reads what the certificate needs (organisation, profile, CA) and checks the key is not another
 * organisation's. Returns PKI_OK or an error. */
static int load_rest(struct db_conn *c, struct issue_ctx *x, char *detail, size_t dl)
{
	int found = 0, rc;

	if (store_org_get_id(c, x->order.org_id, &x->org) != DB_OK)
		return PKI_INTERNAL;
	if (store_profiles_of(c, x->order.project_id, x->order.key_type, x->profiles, MAX_PROFILES, &x->nprofiles) !=
	    DB_OK)
		return PKI_INTERNAL;
	if (x->nprofiles == 0)
		return snprintf(detail, dl, "no profile for %s", x->order.key_type), PKI_NO_PROFILE;
	if ((rc = pick_profile(x, detail, dl)) != PKI_OK)
		return rc;
	if (store_ca_get(c, x->profile->issuing_key_id, &x->ca) != DB_OK)
		return snprintf(detail, dl, "CA %s not recorded", x->profile->issuing_key_id), PKI_CA_MISSING;
	if (store_cert_key_elsewhere(c, x->spki, x->order.org_id, &found) != DB_OK)
		return PKI_INTERNAL;
	if (found)
		return snprintf(detail, dl, "key %s certified for another organisation", x->spki), PKI_KEY_REUSED;
	x->years = years_of(&x->order);
	return PKI_OK;
}

/* Maps signer_sign's result to an enum pki_err. */
static int signer_err(int rc)
{
	switch (rc) {
	case SIGNER_REFUSED:
		return PKI_SIGNER_REFUSED;
	case SIGNER_NO_KEY:
	case SIGNER_KEY_UNAVAILABLE:
		return PKI_CA_KEY_UNAVAILABLE;
	default: /* -1: unreachable; SIGNER_INTERNAL: failed or busy. Either may work on a retry. */
		return PKI_SIGNER_UNAVAILABLE;
	}
}

/* Fills x->out from the signed certificate cert (DER). Returns PKI_OK or an error. */
static int fill_out(struct issue_ctx *x, X509 *cert, const unsigned char *der, size_t derlen, const char *serial)
{
	struct cert_rec *v = x->out;

	memset(v, 0, sizeof(*v));
	v->order_id = x->order.id;
	v->org_id = x->order.org_id;
	v->usb_key_id = x->usb_key_id;
	str_copy(v->serial, serial, sizeof(v->serial));
	str_copy(v->ca_key_id, x->ca.key_id, sizeof(v->ca_key_id));
	str_copy(v->kind, x->rq->kind, sizeof(v->kind));
	pki_name_text(X509_get_subject_name(cert), v->subject, sizeof(v->subject));
	str_copy(v->spki_sha256, x->spki, sizeof(v->spki_sha256));
	if (pki_asn1_time_text(X509_get0_notBefore(cert), v->not_before) != 0 ||
	    pki_asn1_time_text(X509_get0_notAfter(cert), v->not_after) != 0)
		return PKI_INTERNAL;
	v->der_b64 = pki_b64_encode(der, derlen);
	return v->der_b64 != NULL ? PKI_OK : PKI_INTERNAL;
}

/* Has the signer sign the intent's TBS and assembles the certificate; checks it against the CA's
 * key. Returns PKI_OK with x->out filled, or an error. */
static int sign(struct issue_ctx *x, X509 *ca, char *detail, size_t dl)
{
	unsigned char *tbs = NULL, *alg = NULL, *sig = NULL, *der = NULL;
	size_t tbslen = 0, alglen = 0, siglen = 0, derlen = 0;
	const unsigned char *p;
	X509 *cert = NULL;
	int rc = PKI_INTERNAL, s;

	tbs = pki_b64_decode(x->intent.tbs_b64, &tbslen);
	alg = pki_b64_decode(x->intent.sig_alg_b64, &alglen);
	if (tbs == NULL || alg == NULL)
		goto out;
	s = signer_sign(x->rq->signer_socket, x->ca.key_id, SIGNER_KIND_TBS_CERT, tbs, tbslen, &sig, &siglen, detail,
			dl);
	if (s != 0) {
		rc = signer_err(s);
		goto out;
	}
	if (pki_cert_assemble(tbs, tbslen, alg, alglen, sig, siglen, &der, &derlen) != 0)
		goto out;
	p = der;
	cert = d2i_X509(NULL, &p, (long)derlen);
	/* a signature that does not verify with the CA's key (wrong key behind the id) is never stored */
	if (cert == NULL || p != der + derlen || !pki_x509_verify(cert, X509_get0_pubkey(ca))) {
		snprintf(detail, dl, "the signer's signature does not verify with %s", x->ca.key_id);
		rc = PKI_SIGNER_REFUSED;
		goto out;
	}
	rc = fill_out(x, cert, der, derlen, x->intent.serial);
out:
	free(tbs);
	free(alg);
	free(sig);
	free(der);
	X509_free(cert);
	return rc;
}

/* Fills x->intent (not yet recorded) from the linted draft. Returns PKI_OK or PKI_INTERNAL. */
static int intent_of(struct issue_ctx *x, X509 *draft, const char *serial_hex)
{
	struct issuance_intent_rec *v = &x->intent;
	unsigned char *tbs = NULL, *alg = NULL;
	size_t tbslen = 0, alglen = 0;

	if (pki_tbs_encode(draft, &tbs, &tbslen, &alg, &alglen) != 0)
		return PKI_INTERNAL;
	v->order_id = x->order.id;
	str_copy(v->kind, x->rq->kind, sizeof(v->kind));
	v->usb_key_id = x->usb_key_id;
	str_copy(v->ca_key_id, x->ca.key_id, sizeof(v->ca_key_id));
	str_copy(v->serial, serial_hex, sizeof(v->serial));
	str_copy(v->spki_sha256, x->spki, sizeof(v->spki_sha256));
	v->tbs_b64 = pki_b64_encode(tbs, tbslen);
	v->sig_alg_b64 = pki_b64_encode(alg, alglen);
	free(tbs);
	free(alg);
	return v->tbs_b64 != NULL && v->sig_alg_b64 != NULL ? PKI_OK : PKI_INTERNAL;
}

/* Builds and lints the certificate into x->intent (not yet recorded; no connection held).
 * Returns PKI_OK or an error. */
static int build(struct issue_ctx *x, char *detail, size_t dl)
{
	unsigned char serial[PKI_SERIAL_LEN];
	char serial_hex[48];
	X509 *ca = pki_ca_cert(x->ca.key_id, x->ca.der_b64), *draft = NULL;
	struct pki_tbs_in in = {0};
	struct cert_profile_rec enc = {0};
	int rc = PKI_INTERNAL;

	if (ca == NULL || pki_serial_new(serial) != 0)
		goto out;
	pki_serial_hex(serial, serial_hex);
	in.profile = x->profile;
	if (strcmp(x->rq->kind, "enc") == 0) { /* same subject and extensions, the encryption key usage */
		enc = *x->profile;
		snprintf(enc.key_usage, sizeof(enc.key_usage), "%s", pki_enc_key_usage(pki_key_alg(x->key, NULL, 0)));
		enc.ext_key_usage[0] = '\0';
		in.profile = &enc;
	}
	in.ca = ca;
	in.subject_key = x->key;
	in.org_name = x->org.name;
	in.uscc = x->org.uscc;
	in.years = x->years;
	in.now = time(NULL);
	in.not_after = x->rq->not_after;
	in.serial = serial;
	draft = pki_tbs_build(&in, detail, dl);
	if (draft == NULL)
		goto out;
	if (pki_lint_run(draft, ca, in.profile, x->org.uscc, detail, dl) != 0) {
		rc = PKI_LINT;
		goto out;
	}
	rc = intent_of(x, draft, serial_hex);
out:
	X509_free(ca);
	X509_free(draft);
	return rc;
}

/* Returns 1 when the intent found signing was made for this very request: the same kind, USB key,
 * public key and CA key. Its TBS is then what this request would sign, but for the serial and the
 * validity's start, which must stay those the signer may already have signed. */
static int intent_matches(const struct issue_ctx *x)
{
	const struct issuance_intent_rec *v = &x->intent;

	return strcmp(v->kind, x->rq->kind) == 0 && v->usb_key_id == x->usb_key_id &&
	       strcmp(v->spki_sha256, x->spki) == 0 && strcmp(v->ca_key_id, x->ca.key_id) == 0;
}

struct abandon_arg {
	struct issue_ctx *x;
	const char *why;
};

static int abandon_tx(struct db_conn *c, void *arg)
{
	struct abandon_arg *a = arg;
	int rc = store_intent_abandon(c, &a->x->intent, a->x->order.order_no, a->why, a->x->rq->actor);

	return rc == DB_NOTFOUND ? DB_OK : rc; /* closed meanwhile by another request: nothing to do */
}

/* Closes x->intent abandoned (its serial goes on the CRL as revoked: the signer may have signed
 * it) and forgets it. Returns PKI_OK or PKI_INTERNAL. */
static int abandon(struct db *db, struct issue_ctx *x, const char *why)
{
	int rc = db_tx(db, abandon_tx, &(struct abandon_arg){x, why});

	store_intent_free(&x->intent);
	memset(&x->intent, 0, sizeof(x->intent));
	return rc == DB_OK ? PKI_OK : PKI_INTERNAL;
}

static int intent_tx(struct db_conn *c, void *arg)
{
	return store_intent_insert(c, arg);
}

/* Writes now + INTENT_LEASE_S into until. */
static void lease_end(char until[TIMEFMT_LEN])
{
	timefmt_rfc3339(time(NULL) + INTENT_LEASE_S, until);
}

/* Returns 1 when a request (in this process or another) may still be working on intent v. */
static int lease_live(const struct issuance_intent_rec *v)
{
	char now[TIMEFMT_LEN];

	timefmt_rfc3339(time(NULL), now);
	return v->lease_until[0] != '\0' && strcmp(v->lease_until, now) > 0;
}

struct lease_arg {
	int64_t id;
	const char *until;
};

static int lease_tx(struct db_conn *c, void *arg)
{
	struct lease_arg *l = arg;
	int rc = store_intent_lease(c, l->id, l->until);

	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/* Takes (until: a time) or releases (until "") x->intent's lease. Best effort: a lease not taken
 * only lets another request abandon the intent sooner, one not released runs out by itself. */
static void lease_set(struct db *db, struct issue_ctx *x, const char *until)
{
	if (x->intent.id != 0)
		(void)db_tx(db, lease_tx, &(struct lease_arg){x->intent.id, until});
}

/* The intent found is this request's: sign its TBS again. */
static int resume(struct db *db, struct issue_ctx *x)
{
	char until[TIMEFMT_LEN];

	lease_end(until);
	lease_set(db, x, until);
	x->resumed = 1;
	return PKI_OK;
}

/* Sets x->intent to the TBS to sign: the one a failed earlier attempt of the same request left
 * signing (x->resumed), or a new one built and recorded (committed) before the signer is asked.
 * An intent of another request (another key) is waited for while a request holds it (ISSUE_WAIT),
 * abandoned once none does. Returns PKI_OK, ISSUE_WAIT or an error. */
static int prepare(struct db *db, struct issue_ctx *x, char *detail, size_t dl)
{
	struct db_conn *c;
	int rc;

	if (x->intent.id != 0 && intent_matches(x))
		return resume(db, x);
	if (x->intent.id != 0 && lease_live(&x->intent))
		return ISSUE_WAIT;
	if (x->intent.id != 0 && abandon(db, x, "the request changed (another key, USB key or CA key)") != PKI_OK)
		return PKI_INTERNAL;
	if ((rc = build(x, detail, dl)) != PKI_OK)
		return rc;
	lease_end(x->intent.lease_until);
	rc = db_tx(db, intent_tx, &x->intent);
	if (rc == DB_OK)
		return PKI_OK;
	if (rc != DB_CONFLICT)
		return PKI_INTERNAL;
	/* a concurrent request recorded its intent first: sign that one if it is this request's */
	store_intent_free(&x->intent);
	memset(&x->intent, 0, sizeof(x->intent));
	c = db_acquire(db);
	rc = store_intent_signing(c, x->order.id, x->rq->kind, &x->intent);
	db_release(c);
	if (rc == DB_OK && intent_matches(x))
		return resume(db, x);
	if (rc == DB_OK && lease_live(&x->intent))
		return ISSUE_WAIT;
	return snprintf(detail, dl, "another issuance of the order is in progress"), PKI_SIGNER_UNAVAILABLE;
}

/* Waits (no connection held between looks) for the request holding the order's intent to store
 * its certificate, until its lease runs out: a concurrent request gets the first certificate, as
 * a retry does. Returns PKI_OK with x->out filled, or PKI_SIGNER_UNAVAILABLE (retry later). */
static int wait_other(struct db *db, struct issue_ctx *x, char *detail, size_t dl)
{
	const struct timespec step = {0, WAIT_STEP_MS * 1000000L};

	for (int i = 0; i <= (INTENT_LEASE_S + 1) * 1000 / WAIT_STEP_MS; i++) {
		struct db_conn *c = db_acquire(db);
		int rc = store_cert_of_order(c, x->order.id, x->rq->kind, x->out);
		db_release(c);
		if (rc == DB_OK)
			return PKI_OK;
		if (!lease_live(&x->intent))
			break;
		nanosleep(&step, NULL);
	}
	snprintf(detail, dl, "another issuance of the order (serial %s) is in progress", x->intent.serial);
	return PKI_SIGNER_UNAVAILABLE;
}

struct store_arg {
	struct issue_ctx *x;
	int rc;        /* DB result of the insert */
	int abandoned; /* the intent was closed meanwhile (abandoned by another request) */
};

/* The write: the certificate while the order is still in production, and its intent issued while
 * it is still signing. */
static int store_tx(struct db_conn *c, void *arg)
{
	struct store_arg *s = arg;
	int rc;

	if (store_fault && !s->x->resumed)
		return s->rc = DB_ERROR; /* [dev] issue_store_fault: as a crash after the signature */
	s->rc = store_cert_insert(c, s->x->out, s->x->order.order_no, issue_state(s->x->rq), s->x->rq->actor);
	if (s->rc != DB_OK)
		return s->rc;
	rc = store_intent_issued(c, s->x->intent.id);
	s->abandoned = rc == DB_NOTFOUND;
	return rc;
}

/* After a failed store: the certificate stored for the order by a racing request, if any. When it is
 * not this intent's, the intent is abandoned. Returns PKI_OK (created 0) or an error. */
static int save_lost(struct db *db, struct issue_ctx *x, char *detail, size_t dl)
{
	struct db_conn *c;
	int rc;

	store_cert_free(x->out);
	c = db_acquire(db);
	rc = store_cert_of_order(c, x->order.id, x->rq->kind, x->out);
	db_release(c);
	if (rc != DB_OK)
		return snprintf(detail, dl, "serial collision"), PKI_INTERNAL;
	if (strcmp(x->out->serial, x->intent.serial) != 0 &&
	    abandon(db, x, "another certificate was stored for the order meanwhile") != PKI_OK)
		return PKI_INTERNAL;
	return PKI_OK;
}

/* Stores the new certificate; when a racing request stored one first, loads that one instead.
 * Returns PKI_OK (with *created) or an error. */
static int save(struct db *db, struct issue_ctx *x, int *created, char *detail, size_t dl)
{
	struct store_arg s = {x, DB_OK, 0};
	int rc = db_tx(db, store_tx, &s);

	if (rc == DB_OK)
		return *created = 1, PKI_OK;
	if (s.abandoned)
		return snprintf(detail, dl, "intent %s abandoned by another request", x->intent.serial),
		       PKI_SIGNER_UNAVAILABLE;
	if (s.rc == DB_NOTFOUND) {
		snprintf(detail, dl, "order left %s meanwhile", issue_state(x->rq));
		return abandon(db, x, "the order left production before the certificate was stored"),
		       PKI_ORDER_STATE;
	}
	if (s.rc != DB_CONFLICT)
		return PKI_INTERNAL;
	*created = 0;
	return save_lost(db, x, detail, dl);
}

/* Reads the intent of the order and kind left signing by an earlier attempt, if any. */
static int load_intent(struct db_conn *c, struct issue_ctx *x)
{
	int rc = store_intent_signing(c, x->order.id, x->rq->kind, &x->intent);

	return rc == DB_OK || rc == DB_NOTFOUND ? PKI_OK : PKI_INTERNAL;
}

/* Has the signer sign x->intent's TBS (no connection held). Returns PKI_OK or an error. */
static int make(struct issue_ctx *x, char *detail, size_t dl)
{
	X509 *ca = pki_ca_cert(x->ca.key_id, x->ca.der_b64);
	int rc = ca != NULL ? sign(x, ca, detail, dl) : PKI_INTERNAL;

	X509_free(ca);
	return rc;
}

int pki_issue(struct db *db, const struct pki_issue_req *rq, struct cert_rec *out, int *created, char *detail,
	      size_t detaillen)
{
	struct issue_ctx x = {.rq = rq, .out = out};
	struct db_conn *c;
	int existing = 0, rc;

	*created = 0;
	detail[0] = '\0';
	memset(out, 0, sizeof(*out));
	c = db_acquire(db);
	/* the order's own certificate comes first: a retry gets it whatever CSR it sends */
	rc = load_order(c, &x, &existing, detail, detaillen);
	if (rc == PKI_OK && !existing)
		rc = check_csr(&x, detail, detaillen); /* a millisecond of CPU: not slow work */
	if (rc == PKI_OK && !existing)
		rc = load_rest(c, &x, detail, detaillen);
	if (rc == PKI_OK && !existing)
		rc = load_intent(c, &x);
	db_release(c);
	if (rc == PKI_OK && !existing)
		rc = prepare(db, &x, detail, detaillen); /* the intent, committed before the signer signs */
	if (rc == ISSUE_WAIT) {
		existing = 1;
		rc = wait_other(db, &x, detail, detaillen);
	}
	if (rc == PKI_OK && !existing)
		rc = make(&x, detail, detaillen); /* the signer: no connection held */
	if (rc == PKI_OK && !existing)
		rc = save(db, &x, created, detail, detaillen);
	if (rc != PKI_OK && !existing)
		lease_set(db, &x, ""); /* failed: the intent waits for a retry, no one waits for us */
	store_order_free(&x.order);
	store_ca_free(&x.ca);
	store_intent_free(&x.intent);
	X509_REQ_free(x.req);
	if (rc != PKI_OK)
		store_cert_free(out);
	return rc;
}
