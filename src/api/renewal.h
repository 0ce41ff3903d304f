/* Online renewal (issue 15): what renewal.c (challenge, proof, the renewal order, payment) and
 * renewal_issue.c (issuance onto the key, completion) share. The USB key is the credential: a proof
 * of possession gives a renewal token (header X-Renewal-Token) bound to the certificate. */
#ifndef CERTDESK_API_RENEWAL_H
#define CERTDESK_API_RENEWAL_H
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "api/api.h"

#define RENEWAL_CHALLENGE_S 300  /* a challenge lives 5 minutes */
#define RENEWAL_TOKEN_S 86400    /* a token 24 hours */
#define RENEWAL_CHALLENGE_LEN 32 /* random bytes signed by the key */

/* A renewal and what it is about, read from the database. */
struct renewal {
	struct order_rec o;      /* the renewal order (empty when none yet) */
	struct cert_rec old;     /* the certificate renewed (signing) */
	struct order_rec orig;   /* the order that certificate was issued on */
	struct org_rec org;
	struct key_type_rec kt;
	struct renewal_settings set;
	struct cert_profile_rec profile; /* of the old key's algorithm */
	int have_profile;
	char issuer[600];
};

/* Loads the certificate serial and what its renewal needs into rn (not the renewal order).
 * Returns DB_OK, DB_NOTFOUND (not a certificate of this CA) or < 0. */
int renewal_load_cert(struct db_conn *c, const char *serial, struct renewal *rn);
/* Loads the renewal of the path ({renewal_no}) for the caller's token into rn; replies 401 / 404
 * and returns -1 when the token is missing or not this certificate's. */
int renewal_load(struct http_req *r, struct db_conn *c, struct renewal *rn);
void renewal_free(struct renewal *rn);
/* The Renewal as the API shows it. Caller decrefs. */
json_t *renewal_json(struct db_conn *c, const struct renewal *rn);
/* The end of the renewed validity: years (of months_per_year months) from the old expiry, or from
 * now when it has passed. */
time_t renewal_new_not_after(const struct renewal *rn, int years, time_t now);
/* 1 when the renewal re-keys (the mode it was made under), 0 when it re-certifies. */
int renewal_rekey(const struct renewal *rn);
/* The years paid for the renewal (its form's "years"). */
int renewal_years(const struct renewal *rn);
/* 1 when sig (DER) is pk's signature over data: SM2 with SM3 and the GM/T default ID, RSA PKCS#1
 * v1.5 or ECDSA with SHA-256. */
int renewal_sig_ok(EVP_PKEY *pk, const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen);
/* Uses up challenge challenge_id and checks sig_b64 over it with the key of the certificate
 * serial. Returns 0 when it verifies, 1 when the challenge is unknown/used/expired, 2 when it is
 * another certificate's (*bound gets its serial), 3 when the signature does not verify, -1 on error. */
int renewal_check_challenge(struct db_conn *c, const char *challenge_id, const char *sig_b64, const char *serial,
			    char bound[48]);

/* --- a main key's seals (renewal_seals.c) --- */
#define RENEWAL_SEALS 2 /* org (单位公章), legal (法人章) */
/* 1 when the renewal makes new seals (a main key whose old signing certificate has seals), 0 when
 * not, < 0 on error. */
int renewal_seals_needed(struct db_conn *c, const struct renewal *rn);
/* Loads the seals made for the signing certificate serial into s (RENEWAL_SEALS entries); *n. */
int renewal_seals_of(struct db_conn *c, const struct renewal *rn, const char *serial, struct seal_rec *s, int *n);
void renewal_seals_free(struct seal_rec *s, int n);
/* Makes (once) the seals of the renewed signing certificate sign with the original pictures. Holds
 * no pooled connection while the signer works. Returns 0, or -1 after replying. */
int renewal_seals_make(struct http_req *r, const struct renewal *rn, const struct cert_rec *sign);
/* An imported certificate without stored seals: makes new seals for sign from the seals read from the
 * key (old_seals, base64 .esl: verified, bound to the old certificate, PNG pictures reused); *out gets
 * [{type, file, esl}]. Holds no pooled connection while the signer works. Returns 0, or -1 after
 * replying (422 old_seal_invalid). */
int renewal_seals_from_old(struct http_req *r, const struct renewal *rn, const struct cert_rec *sign,
			   json_t *old_seals, json_t **out);
/* [{type, file, esl}] of the seals. Caller decrefs. */
json_t *renewal_seals_json(const struct seal_rec *s, int n);
/* 1 when list ([{type, esl}]) holds exactly the seals s, byte-equal. */
int renewal_seals_readback_ok(json_t *list, const struct seal_rec *s, int n);

#endif
