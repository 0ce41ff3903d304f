/* Issuance intents (migration 024, issue 16): every TBSCertificate is recorded, state 'signing',
 * before certdesk-signer signs it, so that every serial the CA key signed is accounted for: stored
 * as a certificate (intent 'issued', same transaction), signed again from the same TBS by the
 * retry, or closed 'abandoned' and published as revoked on the CRL. */
#ifndef CERTDESK_STORE_ISSUANCE_H
#define CERTDESK_STORE_ISSUANCE_H
#include <stdint.h>

#include "store/store.h"

/* The CRL reason of an abandoned intent: the request it was built for was replaced by another
 * (another CSR, key or CA) before its certificate was stored; the new one supersedes it. */
#define ISSUANCE_ABANDON_REASON "superseded"

struct issuance_intent_rec {
	int64_t id;
	int64_t order_id;
	char kind[8];       /* sign, enc */
	int64_t usb_key_id; /* 0: none */
	char ca_key_id[64];
	char serial[48]; /* upper-case hex without leading zeros (pki_serial_hex) */
	char spki_sha256[65];
	char *tbs_b64;     /* owned: store_intent_free */
	char *sig_alg_b64; /* owned */
	char state[12];    /* signing, issued, abandoned */
	char created_at[32];
	char lease_until[32]; /* RFC 3339; "" when no request holds it */
};

/* Records v (state signing, held until v->lease_until) and sets v->id. Returns DB_OK, DB_CONFLICT when the
 * order and kind already have an intent being signed, or < 0. */
int store_intent_insert(struct db_conn *c, struct issuance_intent_rec *v);
/* Loads the intent of order_id and kind still being signed into v. Returns DB_OK, DB_NOTFOUND or
 * < 0. */
int store_intent_signing(struct db_conn *c, int64_t order_id, const char *kind,
			 struct issuance_intent_rec *v);
/* Sets the lease of intent id (until "" releases it) while it is still signing. Returns DB_OK,
 * DB_NOTFOUND or < 0. */
int store_intent_lease(struct db_conn *c, int64_t id, const char *until);
/* Marks intent id issued, only while it is still signing. Returns DB_OK, DB_NOTFOUND (closed
 * meanwhile: abandoned by another request) or < 0. */
int store_intent_issued(struct db_conn *c, int64_t id);
/* Closes intent v abandoned (reason ISSUANCE_ABANDON_REASON) while it is still signing, audited as
 * cert.abandon on order order_no with why. Returns DB_OK, DB_NOTFOUND (closed meanwhile) or < 0. */
int store_intent_abandon(struct db_conn *c, const struct issuance_intent_rec *v, const char *order_no,
			 const char *why, const struct actor *a);
/* Finds the abandoned intent of CA ca_key_id with serial (any case, leading zeros or not) and writes
 * when it was abandoned (its revocation time) into closed_at. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_intent_abandoned(struct db_conn *c, const char *ca_key_id, const char *serial, char closed_at[32]);
/* Closes abandoned (audited as a's cert.abandon, revoked on the next CRL) the intents still being
 * signed that were created before created_before and that no request holds at now: a request nobody
 * retried (the order went on another way, or never came back), so that no signed serial stays
 * unaccounted for. Up to 32 per call; *closed gets how many. Holds no connection across the
 * transactions. Returns DB_OK or < 0. */
int store_intents_abandon_stale(struct db *db, const char *now, const char *created_before, const struct actor *a,
				int *closed);
void store_intent_free(struct issuance_intent_rec *v);

#endif
