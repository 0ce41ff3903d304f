/* The publishing job: read what is due, release the connection, have it signed, write it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pki/pki.h"
#include "pki/publish.h"
#include "pki/signer_proto.h"
#include "pki/status.h"
#include "store/store.h"
#include "store/store_issuance.h"
#include "util/log.h"
#include "util/timefmt.h"

#define OCSP_BATCH 50

/* Loads CA key_id's certificate (caller frees) and record. Returns 0 or -1 with err. */
static X509 *load_ca(struct db_conn *c, const char *key_id, struct ca_rec *ca, char *err, size_t errlen)
{
	X509 *x = NULL;

	if (store_ca_get(c, key_id, ca) == DB_OK)
		x = pki_ca_cert(ca->key_id, ca->der_b64);
	if (x == NULL)
		snprintf(err, errlen, "CA %s is not recorded or its certificate does not parse", key_id);
	return x;
}

struct crl_write {
	struct crl_rec crl;
};

static int crl_write_tx(struct db_conn *c, void *arg)
{
	return store_crl_insert(c, &((struct crl_write *)arg)->crl);
}

int pki_publish_crl(const struct pki_publisher *p, const char *ca_key_id, char *err, size_t errlen)
{
	struct db_conn *c = db_acquire(p->db);
	struct ca_rec ca = {0};
	struct crl_rec last = {0};
	struct crl_write w = {0};
	json_t *items = NULL, *it;
	X509 *cax = load_ca(c, ca_key_id, &ca, err, errlen);
	X509_CRL *crl = NULL;
	struct pki_revoked *rv = NULL;
	unsigned char *der = NULL;
	size_t n = 0, i, derlen = 0;
	time_t now = time(NULL);
	int rc = -1, last_rc = cax != NULL ? store_crl_latest(c, ca_key_id, &last) : DB_ERROR;

	if (cax != NULL && (last_rc == DB_OK || last_rc == DB_NOTFOUND) &&
	    store_revoked_of_ca(c, ca_key_id, &items) == DB_OK) {
		rv = calloc(json_array_size(items) + 1, sizeof(*rv));
		json_array_foreach (items, i, it) {
			rv[n].serial_hex = json_string_value(json_object_get(it, "serial"));
			rv[n].reason = pki_reason_code(json_string_value(json_object_get(it, "reason")));
			if (timefmt_parse_rfc3339(json_string_value(json_object_get(it, "revoked_at")),
						  &rv[n].when) == 0)
				n++;
		}
		rc = 0;
	} else if (cax != NULL) {
		snprintf(err, errlen, "reading the revoked certificates of %s", ca_key_id);
	}
	db_release(c); /* the signer works with no pooled connection held */
	if (rc == 0) {
		crl = pki_crl_build(cax, (long)last.number + 1, now, now + 2 * (time_t)p->crl_interval_s, rv,
				    n, err, errlen);
		rc = crl == NULL ? SIGNER_INTERNAL
				 : pki_crl_sign(crl, cax, p->signer_socket, ca_key_id, &der, &derlen, err,
						errlen);
	}
	if (rc == 0) {
		snprintf(w.crl.ca_key_id, sizeof(w.crl.ca_key_id), "%s", ca_key_id);
		w.crl.number = last.number + 1;
		timefmt_rfc3339(now, w.crl.this_update);
		timefmt_rfc3339(now + 2 * (time_t)p->crl_interval_s, w.crl.next_update);
		w.crl.revoked_count = (int)n;
		w.crl.der_b64 = pki_b64_encode(der, derlen);
		rc = db_tx(p->db, crl_write_tx, &w);
		if (rc == DB_CONFLICT)
			rc = 0; /* another server published this number meanwhile */
		else if (rc != DB_OK)
			snprintf(err, errlen, "recording the CRL of %s", ca_key_id), rc = -1;
		free(w.crl.der_b64);
	}
	free(der);
	free(rv);
	X509_CRL_free(crl);
	X509_free(cax);
	json_decref(items);
	store_crl_free(&last);
	store_ca_free(&ca);
	return rc;
}

struct ocsp_write {
	const char *serial, *status;
	char this_update[TIMEFMT_LEN], next_update[TIMEFMT_LEN];
	char *der_b64;
};

static int ocsp_write_tx(struct db_conn *c, void *arg)
{
	struct ocsp_write *w = arg;
	return store_ocsp_put(c, w->serial, w->status, w->this_update, w->next_update, w->der_b64);
}

int pki_publish_ocsp(const struct pki_publisher *p, const char *serial, char *err, size_t errlen)
{
	struct db_conn *c = db_acquire(p->db);
	struct cert_rec v = {0};
	struct ca_rec ca = {0}, resp = {0};
	X509 *cax = NULL, *rx = NULL;
	OCSP_CERTID *id = NULL;
	struct pki_ocsp_answer a = {0};
	struct ocsp_write w = {.serial = serial};
	unsigned char *der = NULL;
	size_t derlen = 0;
	time_t now = time(NULL);
	int rc = -1;

	if (store_cert_by_serial(c, serial, &v) != DB_OK)
		snprintf(err, errlen, "no certificate %s", serial);
	else if ((cax = load_ca(c, v.ca_key_id, &ca, err, errlen)) == NULL)
		;
	else if (store_ocsp_responder(c, v.ca_key_id, &resp) != DB_OK ||
		 (rx = pki_cert_from_b64(resp.der_b64)) == NULL)
		snprintf(err, errlen, "CA %s has no OCSP responder", v.ca_key_id);
	else
		rc = 0;
	db_release(c);
	if (rc == 0 && (id = pki_ocsp_id(cax, v.serial, EVP_sha1())) == NULL)
		snprintf(err, errlen, "CertID of %s", serial), rc = SIGNER_INTERNAL;
	if (rc == 0) {
		a.id = id;
		a.status = strcmp(v.status, "revoked") == 0 ? PKI_OCSP_REVOKED : PKI_OCSP_GOOD;
		a.reason = pki_reason_code(v.reason[0] ? v.reason : "unspecified");
		if (a.status == PKI_OCSP_REVOKED && timefmt_parse_rfc3339(v.revoked_at, &a.revoked_at) != 0)
			a.revoked_at = now;
		a.this_update = now;
		a.next_update = now + p->ocsp_validity_s;
		rc = pki_ocsp_sign(&a, rx, p->signer_socket, resp.key_id, &der, &derlen, err, errlen);
	}
	if (rc == 0) {
		w.status = v.status;
		timefmt_rfc3339(a.this_update, w.this_update);
		timefmt_rfc3339(a.next_update, w.next_update);
		w.der_b64 = pki_b64_encode(der, derlen);
		if (db_tx(p->db, ocsp_write_tx, &w) != DB_OK)
			snprintf(err, errlen, "recording the OCSP response of %s", serial), rc = -1;
		free(w.der_b64);
	}
	free(der);
	OCSP_CERTID_free(id);
	X509_free(rx);
	X509_free(cax);
	store_ca_free(&resp);
	store_ca_free(&ca);
	store_cert_free(&v);
	return rc;
}

/* Closes abandoned the issuance intents nobody came back for within INTENT_STALE_S, before the CRLs
 * due are computed: their serials (the signer may have signed them before a crash) go on this pass's
 * CRL as revoked, and no serial stays unaccounted for however an order ended. */
static void close_stale_intents(struct db *db, time_t t)
{
	char now[TIMEFMT_LEN], before[TIMEFMT_LEN];
	int closed = 0;

	timefmt_rfc3339(t, now);
	timefmt_rfc3339(t - INTENT_STALE_S, before);
	if (store_intents_abandon_stale(db, now, before,
					&(struct actor){.kind = "system", .id = "certdeskd", .ip = ""},
					&closed) != DB_OK)
		log_error("pki", "issuance intents nobody retried: not closed (database)");
	else if (closed > 0)
		log_info("pki",
			 "%d issuance intents nobody retried for a day closed abandoned (revoked on the CRL)",
			 closed);
}

int pki_publish_pass(void *arg, const atomic_int *stop)
{
	const struct pki_publisher *p = arg;
	char now[TIMEFMT_LEN], crl_before[TIMEFMT_LEN], ocsp_before[TIMEFMT_LEN], err[512];
	time_t t = time(NULL);
	json_t *crls = NULL, *ocsp = NULL, *it;
	struct db_conn *c;
	size_t i;
	int more = 0, rc;

	timefmt_rfc3339(t, now);
	close_stale_intents(p->db, t); /* before this pass takes its connection: it needs its own */
	c = db_acquire(p->db);
	timefmt_rfc3339(t + (time_t)p->crl_interval_s, crl_before); /* made again after one interval */
	timefmt_rfc3339(t + (time_t)p->ocsp_validity_s / 2, ocsp_before);
	rc = store_crls_due(c, now, crl_before, &crls);
	if (rc == DB_OK)
		rc = store_ocsp_due(c, now, ocsp_before, OCSP_BATCH, &ocsp);
	db_release(c);
	json_array_foreach (crls, i, it) {
		if (atomic_load(stop))
			break;
		if (pki_publish_crl(p, json_string_value(json_object_get(it, "ca")), err, sizeof(err)) != 0)
			log_error("pki", "CRL not published: %s", err);
	}
	json_array_foreach (ocsp, i, it) {
		if (atomic_load(stop))
			break;
		if (pki_publish_ocsp(p, json_string_value(json_object_get(it, "serial")), err, sizeof(err)) !=
		    0) {
			log_error("pki", "OCSP response not signed: %s", err);
			break; /* the signer is likely down: try again at the next pass */
		}
		more = json_array_size(ocsp) == OCSP_BATCH;
	}
	json_decref(crls);
	json_decref(ocsp);
	return rc == DB_OK && more;
}
