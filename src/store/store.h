/* The store: every handler and command reads and writes the database through these functions,
 * which run the same SQL on SQLite and PostgreSQL (see db.h). Functions that take a db_conn run
 * inside the caller's transaction (db_tx); the others take a connection themselves. */
#ifndef CERTDESK_STORE_H
#define CERTDESK_STORE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/db.h"

/* --- schema (store_schema.c) --- */

/* Applies every migration newer than the database's version, in one exclusive transaction.
 * *applied (may be NULL) gets how many ran. Returns 0, or -1 with a message in err. */
int store_migrate(struct db *db, int *applied, char *err, size_t errlen);
/* Returns the database's schema version (0 before any migration), or < 0 on error. */
int store_schema_version(struct db *db);
/* Returns the newest schema version this program knows. */
int store_schema_latest(void);
/* Returns 0 when the database answers a trivial query, < 0 otherwise. */
int store_ping(struct db *db);

/* --- audit log (store_audit.c): hash-chained, append only --- */

/* Who acts: the audit log records it with every change. */
struct actor {
	const char *kind; /* system, staff, org, cli */
	const char *id;   /* staff id, organisation USCC, or the program's name */
	const char *ip;   /* client address; "" for the CLI and background jobs */
};

/* Appends an entry (action e.g. "staff.create" on object kind/id, detail a JSON object text or NULL)
 * to the audit chain inside the caller's transaction. Returns DB_OK or < 0. */
int store_audit_append(struct db_conn *c, const struct actor *a, const char *action, const char *object_kind,
		       const char *object_id, const char *detail);
/* Appends an entry about order order_no with detail (a JSON object, reference stolen; NULL: none). */
int store_audit_order(struct db_conn *c, const struct actor *a, const char *action, const char *order_no,
		      json_t *detail);
/* Recomputes the whole chain. Returns the number of entries checked, or -1 with *bad_seq set to
 * the first entry whose hash does not match, or < -1 on a database error. */
int64_t store_audit_verify(struct db *db, int64_t *bad_seq);
/* Sets the request id (NULL or "": none) that the audit entries this thread appends from now on record
 * and hash: certdeskd sets it as each request starts, so a request's entries carry its id. */
void store_audit_set_request_id(const char *id);

/* --- staff (store_staff.c) --- */

/* Creates a staff account with the given roles (comma-separated list of known roles) and audits
 * it; *id gets the new id. Returns DB_OK, DB_CONFLICT when the username exists, or < 0. */
int store_staff_create(struct db_conn *c, const char *username, const char *display_name,
		       const char *password_hash, const char *roles, const struct actor *a, int64_t *id);

struct staff_rec {
	int64_t id;
	char username[40];
	char display_name[164];
	char password_hash[128];
	int disabled;
	unsigned roles; /* bit (1 << enum role) per role held */
};

/* Loads the staff account username (or, with username NULL, id). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_staff_get(struct db_conn *c, const char *username, int64_t id, struct staff_rec *s);
/* *items gets every staff account (without password hashes, with locked_until when its logins were
 * locked) as a JSON array. */
int store_staff_list(struct db_conn *c, json_t **items);
/* Ends every lockout of staff id's logins, from every address, audited (run it in db_tx).
 * Returns DB_OK, DB_NOTFOUND or < 0. */
int store_staff_unlock(struct db_conn *c, int64_t id, const struct actor *a);

/* --- projects (store_project.c) --- */

struct key_type_def {
	const char *key_type; /* main, secondary */
	const char *name;
	int64_t price_fen;
	int has_seal;
	const char *documents;     /* comma-separated document kinds the order needs */
	const char *years_offered; /* e.g. "1,2,3" for renewals */
	int64_t renewal_fen_per_year;
};

/* Creates a project with its key types, or leaves an existing project with that code as it is.
 * Returns DB_OK (created), DB_CONFLICT (it existed) or < 0. */
int store_project_ensure(struct db_conn *c, const char *code, const char *name, const char *order_prefix,
			 const struct key_type_def *types, int ntypes, const struct actor *a);

/* --- sessions (store_session.c): the id never reaches the database, only its hash --- */

struct session_rec {
	char kind[8]; /* anon, org, staff */
	int64_t subject_id;
	char csrf[72];
	char last_seen_at[32];
	char expires_at[32];
};

/* Loads the session with id_hash into *s. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_session_get(struct db_conn *c, const char *id_hash, struct session_rec *s);
/* Creates a session (subject_id 0 for anonymous ones). Returns DB_OK or < 0. */
int store_session_create(struct db_conn *c, const char *id_hash, const char *kind, int64_t subject_id,
			 const char *csrf, const char *now, const char *expires_at, const char *ip);
/* Records use of the session at now. Returns DB_OK or < 0. */
int store_session_touch(struct db_conn *c, const char *id_hash, const char *now);
/* Deletes one session. Returns DB_OK or < 0. */
int store_session_delete(struct db_conn *c, const char *id_hash);
/* Deletes every session of a subject (after a password reset). Returns DB_OK or < 0. */
int store_session_delete_subject(struct db_conn *c, const char *kind, int64_t subject_id);
/* Deletes sessions that ended before now. Returns DB_OK or < 0. */
int store_session_purge(struct db_conn *c, const char *now, const char *idle_before);
/* Stores the hash of the session's current captcha answer and its expiry. */
int store_session_set_captcha(struct db_conn *c, const char *id_hash, const char *hash,
			      const char *expires_at);
/* Reads and clears the session's captcha (single use): hash and expires_at get "" when there is
 * none. Returns DB_OK or < 0. */
int store_session_take_captcha(struct db_conn *c, const char *id_hash, char hash[72], char expires_at[32]);

/* --- rate limits (store_rate.c): fixed windows shared by all servers --- */

/* Counts one hit on bucket in the window of window_s seconds that contains now; *hits gets the
 * count including this one. Returns DB_OK or < 0. */
int store_rate_hit(struct db_conn *c, const char *bucket, int window_s, int64_t *hits);
/* Returns the hits counted on bucket in its current window (0 when none) in *hits. */
int store_rate_peek(struct db_conn *c, const char *bucket, int window_s, int64_t *hits);
/* Forgets bucket (after a successful login, say). */
int store_rate_clear(struct db_conn *c, const char *bucket);

/* --- login attempts (store_rate.c): lockouts per account and address, and per account --- */

#define STORE_LOGIN_ACCOUNT_LEN 96
#define STORE_LOGIN_ALL "*"            /* the address of the counter of all addresses together */
#define STORE_LOGIN_KNOWN_S 7776000    /* an address stays known to an account for 90 days */

struct login_rule {
	int max_attempts; /* attempts in a period that lock */
	int period_s;     /* how long a count lives after the last attempt, and a lock after the last counted */
};

struct login_claim {
	int64_t attempts; /* counted in the current period, this one included */
	char until[32];   /* when the period ends: the end of the lock once attempts > max_attempts */
	char ok_at[32];   /* the last right password from this address ("" when none) */
};

/* Writes the name of a login counter, "kind:name" (kind org, staff, password:org), into out. */
const char *store_login_account(char out[STORE_LOGIN_ACCOUNT_LEN], const char *kind, const char *name);
/* Counts one attempt on (account, ip) before its password is checked, atomically: *out gets the
 * count with this one; more than rule->max_attempts means locked until out->until. DB_OK or < 0. */
int store_login_claim(struct db_conn *c, const char *account, const char *ip, const struct login_rule *rule,
		      struct login_claim *out);
/* After a right password from ip: forgets its count, remembers the address as known (ok_at) and
 * takes the attempt back from the count of all addresses. DB_OK or < 0. */
int store_login_passed(struct db_conn *c, const char *account, const char *ip);
/* Forgets every count and lock of account, all addresses (password reset, admin unlock). */
int store_login_clear(struct db_conn *c, const char *account);
/* Deletes counts that ended a day ago, unless they keep a known address. DB_OK or < 0. */
int store_login_purge(struct db_conn *c);

/* --- organisations (store_org.c) --- */

struct org_rec {
	int64_t id;
	char uscc[20];
	char name[404]; /* up to 100 characters of UTF-8 */
	char handler_name[164];
	char handler_mobile[16];
	char password_hash[128];
	char uscc_status[16]; /* valid, pending_review, confirmed */
	char locked_until[32]; /* end of the latest lockout (any address); "" when none, may be past */
	char created_at[32];
};

/* Creates an organisation from o (id ignored) and audits it; *id gets the new id.
 * Returns DB_OK, DB_CONFLICT when the USCC is registered, or < 0. */
int store_org_create(struct db_conn *c, const struct org_rec *o, const struct actor *a, int64_t *id);
/* Loads the organisation with this (normalised) USCC. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_org_get(struct db_conn *c, const char *uscc, struct org_rec *o);
/* Loads the organisation with this id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_org_get_id(struct db_conn *c, int64_t id, struct org_rec *o);
/* Sets a new password hash (which also ends every lockout of the account), audited as action. */
int store_org_set_password(struct db_conn *c, int64_t id, const char *hash, const char *action,
			   const struct actor *a);
/* Sets the handler's name and mobile, audited as action with the old and new values. */
int store_org_set_handler(struct db_conn *c, int64_t id, const char *name, const char *mobile,
			  const char *action, const struct actor *a);
/* Corrects the unit name (staff only), audited with the old and new names. */
int store_org_rename(struct db_conn *c, int64_t id, const char *name, const struct actor *a);
/* Marks a USCC that fails its check character as confirmed by staff, audited. */
int store_org_confirm_uscc(struct db_conn *c, int64_t id, const struct actor *a);
/* Clears every lockout of the organisation (login from any address, password change), audited. */
int store_org_unlock(struct db_conn *c, int64_t id, const struct actor *a);
/* Lists organisations whose USCC, name or handler mobile contains q (NULL: all), newest first, at
 * most limit, with id below before (0: from the newest). *items gets a JSON array. */
int store_org_search(struct db_conn *c, const char *q, int limit, int64_t before, json_t **items);
/* Returns "%q%" with LIKE's wildcards in q escaped for ESCAPE '\\', or NULL for an empty q.
 * Caller frees. */
char *store_like_pattern(const char *q);
/* Converts o to its JSON form for the API (no password hash). Caller decrefs. */
json_t *store_org_json(const struct org_rec *o);

/* --- SMS codes (store_sms.c) --- */

enum sms_check { SMS_CODE_OK, SMS_CODE_WRONG, SMS_CODE_NONE, SMS_CODE_LOCKED };

/* *n gets how many codes were sent to mobile since the time since, asked from ip (NULL: from any). */
int store_sms_count_since(struct db_conn *c, const char *mobile, const char *ip, const char *since, int64_t *n);
/* Records a code (its hash only) for mobile and purpose. */
int store_sms_insert(struct db_conn *c, const char *mobile, const char *purpose, const char *code_hash,
		     const char *ip, const char *now, const char *expires_at);
/* Checks code_hash against the newest live code of mobile and purpose; a match uses it up, a miss
 * counts an attempt (max_attempts locks the code). *result gets an enum sms_check. */
int store_sms_consume(struct db_conn *c, const char *mobile, const char *purpose, const char *code_hash,
		      const char *now, int max_attempts, int *result);

/* --- outbox (store_outbox.c) --- */

/* Queues a message in the caller's transaction; a second message with the same dedupe_key is
 * ignored. state: pending (a worker delivers it) or dev (kept for developers). */
int store_outbox_add(struct db_conn *c, const char *channel, const char *recipient, const char *tmpl,
		     const char *params_json, const char *dedupe_key, const char *state);
/* *items gets the newest messages (to recipient, or all when NULL), at most limit, as JSON. */
int store_outbox_list(struct db_conn *c, const char *recipient, int limit, json_t **items);

/* A message claimed for delivery; the strings are owned by the array (store_outbox_msgs_free). */
struct outbox_msg {
	int64_t id;
	int attempts; /* claims so far, this one included */
	char *channel, *recipient, *tmpl, *params, *dedupe_key, *created_at;
};

/* Claims up to max due messages of channel (pending, next_attempt_at <= now, no lease running at
 * now) for this worker: sets their lease to lease_until under token and counts an attempt, in one
 * transaction, safe against other servers (PostgreSQL: FOR UPDATE SKIP LOCKED). *msgs gets the
 * array (free with store_outbox_msgs_free; NULL when none) and *n its length. Returns DB_OK or < 0. */
int store_outbox_claim(struct db_conn *c, const char *channel, const char *now, const char *lease_until,
		       const char *token, int max, struct outbox_msg **msgs, int *n);
/* Frees what store_outbox_claim returned. */
void store_outbox_msgs_free(struct outbox_msg *msgs, int n);
/* The lease holder's updates of a claimed message; each returns DB_OK, DB_NOTFOUND when token no
 * longer holds it (another worker claimed it after the lease ran out), or < 0.
 * renew: extends the lease to lease_until; sent: records delivery with the provider's reference;
 * retry: gives the lease up until next_attempt_at, keeping error; failed: gives up for good;
 * release: gives the lease and the attempt back, unsent (at shutdown). sent and failed replace the
 * parameters with params unless it is NULL (to drop an SMS code once it is no longer needed). */
int store_outbox_renew(struct db_conn *c, int64_t id, const char *token, const char *lease_until);
int store_outbox_sent(struct db_conn *c, int64_t id, const char *token, const char *now,
		      const char *provider_ref, const char *params);
int store_outbox_retry(struct db_conn *c, int64_t id, const char *token, const char *next_attempt_at,
		       const char *error);
int store_outbox_failed(struct db_conn *c, int64_t id, const char *token, const char *error,
			const char *params);
int store_outbox_release(struct db_conn *c, int64_t id, const char *token);

/* --- handler-mobile change requests (store_mobile_req.c) --- */

struct mobile_req {
	int64_t id, org_id;
	char new_handler_name[164];
	char new_mobile[16];
	char letter_sha256[72];
	char letter_media_type[24];
	char state[12];
};

/* Files a request for organisation org_id, audited. Returns DB_OK, DB_CONFLICT when one is pending
 * already, or < 0; *id gets the new id. */
int store_mobile_req_create(struct db_conn *c, const struct mobile_req *m, const struct actor *a,
			    int64_t *id);
/* Loads request id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_mobile_req_get(struct db_conn *c, int64_t id, struct mobile_req *m);
/* *items gets requests (of org_id, or all when 0; in state, or all when NULL), newest first. */
int store_mobile_req_list(struct db_conn *c, int64_t org_id, const char *state, json_t **items);
/* Approves (setting the handler) or rejects a pending request, audited; all or nothing.
 * Returns DB_OK, DB_NOTFOUND (not pending) or < 0. */
int store_mobile_req_decide(struct db_conn *c, int64_t id, int approve, const char *reason, int64_t staff_id,
			    const struct actor *a);

/* --- catalogue and orders (store_order.c) --- */

struct project_rec {
	int64_t id;
	char code[32];
	char name[256];
	char order_prefix[8];
	int active;
};

struct key_type_rec {
	char key_type[12];
	char name[96];
	int64_t price_fen;
	int has_seal;
	char documents[256];
	char years_offered[32];
	int64_t renewal_fen_per_year;
};

/* Loads the project with code. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_project_get(struct db_conn *c, const char *code, struct project_rec *p);
/* Loads a key type of project_id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_key_type_get(struct db_conn *c, int64_t project_id, const char *key_type, struct key_type_rec *k);
/* Returns a JSON array of the comma-separated words of list (as integers when as_int). */
json_t *store_csv_json(const char *list, int as_int);
/* *items gets the catalogue: projects (active ones only unless all) with their key types. */
int store_catalogue_json(struct db_conn *c, int all, json_t **items);
/* Changes a key type's name, prices and years (admin), audited. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_key_type_update(struct db_conn *c, int64_t project_id, const struct key_type_rec *k,
			  const struct actor *a);

struct order_rec {
	int64_t id, org_id, project_id, price_fen, form_version;
	char order_no[32];
	char key_type[12];
	char state[24];
	char verify_token[64];
	char created_at[32], updated_at[32], submitted_at[32];
	char project_code[32], project_name[256];
	char *form; /* JSON object text, owned: store_order_free */
};

/* Creates an order (o: org_id, project_id, key_type, price_fen, form, verify_token) numbered with
 * prefix and the Beijing date of now, with its first history entry and an audit record; fills in
 * o->id, o->order_no, o->state. Returns DB_OK, DB_CONFLICT when the one-main-key rule refuses it
 * (a live main-key order, or a main key held from before), or < 0. */
int store_order_create(struct db_conn *c, struct order_rec *o, const char *prefix, const struct actor *a);
/* Loads an order by number (with its project's code and name). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_order_get(struct db_conn *c, const char *order_no, struct order_rec *o);
/* Loads the live (not deleted) order whose verification token is token. Returns DB_OK,
 * DB_NOTFOUND or < 0. */
int store_order_get_by_token(struct db_conn *c, const char *token, struct order_rec *o);
/* Frees what store_order_get allocated. */
void store_order_free(struct order_rec *o);
/* *items gets orders (of org_id, or all when 0; in state, or any when NULL; matching q in number,
 * USCC or unit name when q is not NULL), newest first, at most limit, ids below before (0: all). */
int store_order_list(struct db_conn *c, int64_t org_id, const char *state, const char *q, int limit,
		     int64_t before, json_t **items);
/* Replaces the order's form data while it is in state, bumping form_version; new_token (may be NULL)
 * replaces the verification token. Audited. Returns DB_OK, DB_NOTFOUND (state changed meanwhile) or < 0. */
int store_order_set_form(struct db_conn *c, int64_t id, const char *state, const char *form,
			 const char *new_token, const struct actor *a);
/* Moves the order from state from to state to because of event, with a history entry and an audit
 * record. Returns DB_OK, DB_NOTFOUND when the order was no longer in from (someone was quicker), or < 0. */
int store_order_transition(struct db_conn *c, int64_t id, const char *from, const char *to, const char *event,
			   const char *note, const struct actor *a);
/* *items gets the order's history, oldest first. */
int store_order_history(struct db_conn *c, int64_t id, json_t **items);
/* Records a main key the organisation holds from before (staff), audited. DB_CONFLICT if recorded. */
int store_held_main_key_add(struct db_conn *c, int64_t org_id, int64_t project_id, const char *note,
			    int64_t staff_id, const struct actor *a);
/* *items gets the main keys recorded for org_id. */
int store_held_main_key_list(struct db_conn *c, int64_t org_id, json_t **items);

/* --- documents (store_document.c) --- */

struct doc_rec {
	int64_t id, order_id, size;
	char kind[24];
	char sha256[72];
	char media_type[24];
	unsigned width, height, dpi_x, dpi_y;
	char qr_status[16];
	char review[12];
	char review_reason[256];
	char original_name[256];
	char uploaded_at[32];
	const char *checks; /* JSON object text (input only) */
};

/* Makes d the current document of its kind for order o (the one before stays, no longer current),
 * audited; *id gets the new id. Only while the order is still in o->state at o->form_version, as
 * read before the upload was checked (tested in the same transaction, holding the order's row):
 * DB_NOTFOUND when it was submitted, deleted or edited meanwhile. Returns DB_OK or < 0. */
int store_document_put(struct db_conn *c, const struct doc_rec *d, const struct order_rec *o,
		       const struct actor *a, int64_t *id);
/* Writes into out (size >= 64 bytes) the name to show for an upload the browser called given
 * (NULL: none): well-formed UTF-8 (stray bytes as U+FFFD, a character cut at the end dropped),
 * without controls or direction marks or a client path, at most 100 characters, shortened at a
 * character boundary with "…" keeping the extension (the media type's when there is none). */
void store_document_display_name(const char *given, const char *media_type, char *out, size_t size);
/* Loads the current document of kind for the order. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_document_current(struct db_conn *c, int64_t order_id, const char *kind, struct doc_rec *d);
/* *items gets the order's current documents as JSON objects (kind, media_type, size, width, height,
 * dpi, qr_status, checks, review, review_reason, uploaded_at, sha256). */
int store_documents_json(struct db_conn *c, int64_t order_id, json_t **items);
/* *ok gets 1 when every kind of the comma-separated list has a current document not rejected,
 * judged on store_documents_json's list: what the page shows is what submission counts. */
int store_documents_complete(struct db_conn *c, int64_t order_id, const char *kinds, int *ok);
/* Returns 1 when a row (document, invoice, handler-change letter) names the stored file sha, 0 when
 * none does, < 0 on a database error. */
int store_file_in_use(struct db_conn *c, const char *sha);
/* How old an unnamed stored file must be before the sweep removes it: far longer than any upload
 * takes between writing its file and its row. */
#define STORE_FILES_GRACE_S 3600
/* How often certdeskd sweeps. */
#define STORE_FILES_SWEEP_INTERVAL_S 3600
/* Removes the files under dir (the file store) that no row names and older than grace_s seconds
 * (filestore_sweep); *removed gets how many. Returns 0 or -1. */
int store_files_sweep(struct db *db, const char *dir, long grace_s, int *removed);
/* The orphan sweep as a periodic job (util/periodic.h) of a struct store_sweep_job. */
struct store_sweep_job {
	struct db *db;
	const char *dir;
};
int store_files_sweep_pass(void *arg, const atomic_int *stop);

/* --- legal-person verifications (store_verification.c) --- */

struct verif_rec {
	int64_t id, order_id;
	char verify_token[64];
	char biz_token[128];
	char legal_name[164];
	char legal_id_number[24];
	char state[12]; /* started, passed, failed */
	char reason[256];
	char created_at[32], finished_at[32];
};

/* Records a started verification, audited, while the order still has v->verify_token and is not
 * deleted. Returns DB_OK, DB_NOTFOUND (deleted or new legal person meanwhile) or < 0. */
int store_verification_start(struct db_conn *c, const struct verif_rec *v, const char *order_no,
			     const char *provider, const struct actor *a);
/* Loads the newest verification of the order under verify_token. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_verification_latest(struct db_conn *c, int64_t order_id, const char *verify_token,
			      struct verif_rec *v);
/* Ends the started verification with biz_token as passed or failed (with reason), audited.
 * Returns DB_OK, DB_NOTFOUND (not started, or ended already) or < 0. */
int store_verification_finish(struct db_conn *c, const char *biz_token, int passed, const char *reason,
			      const char *order_no, const struct actor *a);

/* --- pre-review (store_review.c) --- */

#define REVIEW_CLAIM_S 900 /* a claim lasts 15 minutes unless renewed */

/* Claims order id for staff_id until now + REVIEW_CLAIM_S, unless another reviewer holds a live
 * claim: then *holder gets that reviewer's display name and DB_CONFLICT is returned. */
int store_review_claim(struct db_conn *c, int64_t id, int64_t staff_id, char holder[164]);
/* Returns 1 when staff_id holds a live claim on order id. */
int store_review_holds(struct db_conn *c, int64_t id, int64_t staff_id);
/* *items gets the submitted orders, oldest submission first, with their claim and the number of
 * documents flagged for the reviewer. */
int store_review_queue(struct db_conn *c, json_t **items);
/* Records a decision (pass or reject; detail is the JSON text of the per-document reasons) by
 * staff_id on order id and clears the claim; *review_id gets its id. Returns DB_OK or < 0. */
int store_review_record(struct db_conn *c, int64_t id, int64_t staff_id, const char *decision,
			const char *detail, int64_t *review_id);
/* Marks every current document of the order accepted (clearing earlier reasons). */
int store_documents_accept_all(struct db_conn *c, int64_t order_id);
/* Sets the review of the current document of kind (accepted or rejected, with a reason text).
 * Returns DB_OK, DB_NOTFOUND when the order has no current document of kind, or < 0. */
int store_document_review(struct db_conn *c, int64_t order_id, const char *kind, const char *review,
			  const char *reason);
/* *items gets the standard rejection reasons (active ones unless all). */
int store_review_reasons(struct db_conn *c, int all, json_t **items);
/* Adds a standard reason, audited. DB_CONFLICT when it exists. */
int store_review_reason_add(struct db_conn *c, const char *text, const struct actor *a);
/* Retires a standard reason, audited. DB_NOTFOUND when there is none with id. */
int store_review_reason_retire(struct db_conn *c, int64_t id, const struct actor *a);

/* --- parcels and the paper queue (store_shipment.c) --- */

/* Records a parcel of the order (inbound paper or outbound key). Returns DB_OK or < 0. */
int store_shipment_add(struct db_conn *c, int64_t order_id, const char *direction, const char *carrier,
		       const char *tracking_no);
/* Marks the newest inbound parcel of the order received now. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_shipment_received(struct db_conn *c, int64_t order_id);
/* *items gets the order's parcels, oldest first. */
int store_shipments_json(struct db_conn *c, int64_t order_id, json_t **items);
/* Records a phone call about the order's paper documents. */
int store_paper_contact_add(struct db_conn *c, int64_t order_id, int64_t staff_id, const char *called_at,
			    const char *answered_by, const char *asked);
/* *items gets the order's paper contact log, oldest first. */
int store_paper_contacts_json(struct db_conn *c, int64_t order_id, json_t **items);
/* *items gets the orders in state, longest waiting first (by the time they entered it), with the
 * newest inbound parcel. */
int store_state_queue(struct db_conn *c, const char *state, json_t **items);

/* The order's newest outbound parcel: its id, carrier and tracking number (carrier cl, tracking tl
 * bytes). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_shipment_outbound(struct db_conn *c, int64_t order_id, int64_t *id, char *carrier, size_t cl,
			    char *tracking_no, size_t tl);
/* The route kept for parcel shipment_id: *routes (a JSON array text, caller frees) and fetched_at
 * (TIMEFMT_LEN bytes). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_route_get(struct db_conn *c, int64_t shipment_id, char **routes, char *fetched_at);
/* Keeps routes (a JSON array text) as parcel shipment_id's route, fetched now. */
int store_route_put(struct db_conn *c, int64_t shipment_id, const char *routes);

/* *items gets, for the orders now in state_a or state_b (and, with without_invoice, no invoice yet),
 * the time of their newest history entry of event: [{order_no, unit_name, state, at}]. */
int store_orders_since_event(struct db_conn *c, const char *state_a, const char *state_b, const char *event,
			     int without_invoice, json_t **items);

/* --- invoices (store_invoice.c) --- */

struct invoice_rec {
	int64_t id, order_id, size, uploaded_by, outbox_id;
	char sha256[72];
	char media_type[24];
	char file_name[256];
	char uploaded_at[32];
	char email_to[256];
	char sent_at[32]; /* "" until the mail server accepted the e-mail */
};

/* Records invoice v (order_id, sha256, media_type, size, file_name, uploaded_by, email_to) of order
 * order_no, queues its e-mail (channel email, template invoice, key "invoice:<id>") in state
 * outbox_state and audits it, in the caller's transaction; fills v->id and v->uploaded_at.
 * Returns DB_OK or < 0. */
int store_invoice_create(struct db_conn *c, struct invoice_rec *v, const char *order_no,
			 const char *outbox_state, const struct actor *a);
/* Loads the order's current (newest) invoice. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_invoice_current(struct db_conn *c, int64_t order_id, struct invoice_rec *v);
/* Loads invoice id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_invoice_get(struct db_conn *c, int64_t id, struct invoice_rec *v);
/* Records that the invoice's e-mail was accepted by the mail server at now (first time only). */
int store_invoice_mark_sent(struct db_conn *c, int64_t id, const char *now);
/* *items gets the paid orders without an invoice, longest waiting first (at most 500). */
int store_invoice_queue(struct db_conn *c, json_t **items);

/* --- calendar years uploaded in the console (store_calendar.c) --- */

struct calendar_text;
/* *years gets every uploaded year (year, text; free with store_calendar_years_free) and *n their
 * number; stamp (64 bytes) a value that changes whenever the table does. */
int store_calendar_years(struct db_conn *c, struct calendar_text **years, int *n, char *stamp);
void store_calendar_years_free(struct calendar_text *years, int n);
/* Writes into stamp (64 bytes) the value store_calendar_years would give, without the texts. */
int store_calendar_stamp(struct db_conn *c, char *stamp);
/* Stores text as year's calendar (checked by the caller: calendar_check_year), replacing an upload of
 * the same year, audited. */
int store_calendar_put(struct db_conn *c, int year, const char *text, int off_days, int work_days,
		       const struct actor *a);
/* *items gets the uploaded years: [{year, off_days, work_days, uploaded_by, uploaded_at}]. */
int store_calendar_json(struct db_conn *c, json_t **items);

/* --- payments (store_payment.c): attempts, what the providers reported, refunds --- */

struct payment_rec {
	int64_t id, order_id, amount_fen;
	int credited;
	char provider[8];
	char out_trade_no[72];
	char state[12]; /* creating, open, paid, closed, failed */
	char qr_code[512];
	char trade_no[72];
	char created_at[32], expires_at[32], paid_at[32], checked_at[32];
	char order_no[32];
};

/* Records a new attempt p (order_id, provider, out_trade_no, amount_fen, expires_at) in state
 * 'creating', audited; fills p->id, p->state, p->created_at. DB_CONFLICT when out_trade_no exists or
 * the order already has a live ('creating' or 'open') attempt with that provider (migration 014). */
int store_payment_create(struct db_conn *c, struct payment_rec *p, const char *order_no,
			 const struct actor *a);
/* creating -> open with the provider's QR code text, or -> failed with error when qr_code is NULL.
 * Returns DB_OK, or DB_NOTFOUND when the attempt was no longer 'creating'. */
int store_payment_opened(struct db_conn *c, int64_t id, const char *qr_code, const char *error);
/* Loads the attempt out_trade_no (with its order's number). DB_OK, DB_NOTFOUND or < 0. */
int store_payment_get(struct db_conn *c, const char *out_trade_no, struct payment_rec *p);
/* Loads the order's newest attempt that is not 'failed'. DB_OK, DB_NOTFOUND or < 0. */
int store_payment_latest(struct db_conn *c, int64_t order_id, struct payment_rec *p);
/* Loads up to max attempts of order_id in state (or "live": 'creating' or 'open'; or, with state
 * "due", those of any order made before created_before and not checked since checked_before that
 * are 'creating', 'open', or 'closed' but not yet expired at checked_before), oldest first, into ps;
 * *n gets how many. */
int store_payments_list(struct db_conn *c, const char *state, const char *created_before,
			const char *checked_before, int64_t order_id, struct payment_rec *ps, int max,
			int *n);
/* Marks the attempt paid (from creating, open or closed: the provider's word wins over our own
 * closing). Returns DB_OK when this call made the change, DB_NOTFOUND when it was already paid. */
int store_payment_mark_paid(struct db_conn *c, int64_t id, const char *trade_no, const char *paid_at,
			    int credited);
/* creating/open -> closed. DB_OK, or DB_NOTFOUND when it was not open (paid meanwhile). */
int store_payment_close(struct db_conn *c, int64_t id, const char *why);
/* creating/open -> closed for every attempt of order_id but except_id (the order is paid). The
 * reconciliation job still asks the provider about them until they expire, and closes them there. */
int store_payments_close_others(struct db_conn *c, int64_t order_id, int64_t except_id, const char *why);
/* *n gets how many attempts the order has had since since. */
int store_payment_recent(struct db_conn *c, int64_t order_id, const char *since, int64_t *n);
/* Notes that the provider was asked about the attempt now. */
int store_payment_checked(struct db_conn *c, int64_t id);
/* Records what a notification or query said (payment_id 0 when no attempt matched). */
int store_payment_event(struct db_conn *c, int64_t payment_id, const char *provider, const char *source,
			const char *event_id, const char *verdict, const char *detail, const char *ip);
/* *items gets the attempts paid in [from, to) (RFC 3339 UTC), oldest first: [{order_no, unit_name,
 * uscc, provider, out_trade_no, trade_no, amount_fen, paid_at, credited, refund?: {kind, state,
 * amount_fen, done_at?}}] (finance's daily reconciliation with the providers' statements). */
int store_payments_ledger(struct db_conn *c, const char *from, const char *to, json_t **items);
/* failed -> requested, under a new request number, for the refund of the order's payment (finance
 * tries again); *id gets the refund. Returns DB_OK, DB_NOTFOUND (no failed refund) or < 0. Audited. */
int store_refund_retry(struct db_conn *c, int64_t order_id, const char *order_no, const struct actor *a,
		       int64_t *id);
/* *out gets what needs a person's attention, for the dashboard: {refunds_failed (refunds the
 * providers refused), payment_reports_suspect (forged or mismatched payment notifications since
 * since), messages_failed (SMS and e-mails given up since since)}. */
int store_alerts_json(struct db_conn *c, const char *since, json_t **out);
/* *items gets the order's attempts with their refunds and events, for staff. */
int store_payments_json(struct db_conn *c, int64_t order_id, json_t **items);

struct refund_rec {
	int64_t id, payment_id, amount_fen, attempts;
	char out_refund_no[80];
	char kind[12];  /* cancel, duplicate */
	char state[12]; /* requested, processing, done, failed */
	char reason[256];
	/* the payment's */
	char provider[8];
	char out_trade_no[72];
	int64_t order_id, total_fen;
	char order_no[32];
};

/* Records a refund of the whole payment payment_id (state 'requested'), audited on order_no.
 * DB_CONFLICT when the payment already has one. */
int store_refund_create(struct db_conn *c, int64_t payment_id, const char *order_no, const char *kind,
			const char *reason, const struct actor *a, int64_t *id);
/* Loads refund id, or (id 0) up to max refunds in 'requested' or 'processing', oldest first. */
int store_refunds_due(struct db_conn *c, int64_t id, struct refund_rec *rs, int max, int *n);
/* Moves refund id from state from to state to (processing, done, failed) with the provider's refund
 * id and error (either may be NULL); counts an attempt. DB_NOTFOUND when it was not in from. */
int store_refund_update(struct db_conn *c, int64_t id, const char *from, const char *to,
			const char *refund_id, const char *error);

/* --- the CA engine (store_pki.c): CAs, certificate profiles, certificates --- */

/* A CA certificate whose private key the signer holds (or an HSM). */
struct ca_rec {
	int64_t id;
	char key_id[48];
	char role[12];      /* root, issuing, ocsp, sealmaker */
	char algorithm[12]; /* rsa2048, rsa3072, p256, sm2 */
	char parent_key_id[48]; /* "" for a root */
	char subject[600];
	char not_before[32], not_after[32];
	char key_location[600]; /* "file:<path>" or a PKCS#11 URI (never a PIN) */
	char created_at[32];
	char *der_b64; /* the certificate, owned: store_ca_free */
};

/* Records a CA (id and created_at ignored), audited as ca.add. DB_CONFLICT when key_id exists. */
int store_ca_insert(struct db_conn *c, const struct ca_rec *ca, const struct actor *a);
/* Loads the CA with key_id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_ca_get(struct db_conn *c, const char *key_id, struct ca_rec *ca);
/* *items gets every CA (roots first, then by key id) as JSON; with_der adds "der" (base64). */
int store_ca_list_json(struct db_conn *c, int with_der, json_t **items);
/* Frees what store_ca_get allocated. */
void store_ca_free(struct ca_rec *ca);

/* What the certificates of one project, key type and key algorithm contain. */
struct cert_profile_rec {
	int64_t id, project_id;
	char key_type[12];
	char algorithm[12];
	int months_per_year; /* validity bought by one paid year */
	char subject_template[512];
	char key_usage[128];     /* digitalSignature,nonRepudiation,... */
	char ext_key_usage[128]; /* clientAuth,emailProtection,... or "" */
	char policy_oid[64];
	char identity_oid[64];
	char crl_url[300], ocsp_url[300], ca_issuers_url[300];
	char issuing_key_id[48];
	int dual;
};

/* Inserts p, or replaces the profile of its project, key type and algorithm; audited as
 * profile.put. */
int store_profile_put(struct db_conn *c, const struct cert_profile_rec *p, const struct actor *a);
/* Loads up to max profiles of project_id and key_type into ps; *n gets how many. */
int store_profiles_of(struct db_conn *c, int64_t project_id, const char *key_type, struct cert_profile_rec *ps,
		      int max, int *n);
/* *items gets the profiles of project_id (0: all projects) as JSON. */
int store_profiles_json(struct db_conn *c, int64_t project_id, json_t **items);

/* An issued certificate. */
struct cert_rec {
	int64_t id, order_id, org_id;
	char serial[48]; /* upper-case hex, no leading zeros */
	char ca_key_id[48];
	char kind[8]; /* sign, enc */
	char subject[600];
	char not_before[32], not_after[32];
	char spki_sha256[65];
	char status[12]; /* good, revoked */
	char revoked_at[32], reason[32];
	char created_at[32];
	int64_t usb_key_id; /* the USB key (usb_keys) it was issued for; 0 before keys were recorded */
	char *der_b64;      /* owned: store_cert_free */
};

/* Records an issued certificate (id, status, created_at ignored) while its order is in order_state
 * (and, with v->usb_key_id, while that key is still being produced), and audits it as cert.issue on
 * order_no. DB_CONFLICT when the order already has one of this kind for the key (or the serial
 * exists), DB_NOTFOUND when the order left order_state or the key was abandoned. */
int store_cert_insert(struct db_conn *c, struct cert_rec *v, const char *order_no, const char *order_state,
		      const struct actor *a);
/* Loads the current certificate of order_id and kind: the one of the order's live USB key (producing
 * or written), or, when the order has none, the one issued before keys were recorded (certificates of
 * an abandoned key never count). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_cert_of_order(struct db_conn *c, int64_t order_id, const char *kind, struct cert_rec *v);
/* Loads the certificate with serial (hex, any case). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_cert_by_serial(struct db_conn *c, const char *serial, struct cert_rec *v);
/* *found gets 1 when a certificate of another organisation than org_id certifies the public key
 * whose SubjectPublicKeyInfo hashes to spki_sha256 (hex), else 0. */
int store_cert_key_elsewhere(struct db_conn *c, const char *spki_sha256, int64_t org_id, int *found);
/* *items gets the certificates of order_id as JSON (store_cert_json each). */
int store_certs_of_order_json(struct db_conn *c, int64_t order_id, json_t **items);
/* Returns v as the API shows it (no DER). Caller decrefs. */
json_t *store_cert_json(const struct cert_rec *v);
/* Frees what the loaders allocated. */
void store_cert_free(struct cert_rec *v);

/* --- revocation, CRLs and OCSP responses (store_revocation.c) --- */

/* Revokes the good certificate serial with an RFC 5280 reason name, audited as cert.revoke on its
 * order; *v gets the certificate after (store_cert_free). Returns DB_OK, DB_NOTFOUND (no such
 * serial), DB_CONFLICT (revoked already) or < 0. */
int store_cert_revoke(struct db_conn *c, const char *serial, const char *reason, const struct actor *a,
		      struct cert_rec *v);
/* *items gets the revoked certificates of CA ca_key_id: [{serial, revoked_at, reason}]. */
int store_revoked_of_ca(struct db_conn *c, const char *ca_key_id, json_t **items);

/* A CRL as published. */
struct crl_rec {
	char ca_key_id[48];
	int64_t number;
	char this_update[32], next_update[32];
	int revoked_count;
	char *der_b64; /* owned: store_crl_free */
};
/* Loads the newest CRL of ca_key_id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_crl_latest(struct db_conn *c, const char *ca_key_id, struct crl_rec *out);
/* Records a CRL. DB_CONFLICT when its number exists (another server made it first). */
int store_crl_insert(struct db_conn *c, const struct crl_rec *crl);
void store_crl_free(struct crl_rec *crl);
/* *items gets the CAs (roots and issuing CAs still valid at now) whose CRL is missing, expires
 * before renew_before, or misses a revocation: [{ca, last (newest CRL number, 0 for none)}]. */
int store_crls_due(struct db_conn *c, const char *now, const char *renew_before, json_t **items);

/* Loads the pre-signed OCSP response of serial (*der_b64 caller frees) and when it expires. Returns
 * DB_OK, DB_NOTFOUND or < 0. */
int store_ocsp_get(struct db_conn *c, const char *serial, char **der_b64, char next_update[32]);
/* Records (or replaces) the OCSP response of serial, saying status. */
int store_ocsp_put(struct db_conn *c, const char *serial, const char *status, const char *this_update,
		   const char *next_update, const char *der_b64);
/* *items gets up to limit certificates valid at now whose OCSP response is missing, expires before
 * renew_before or says another status: [{serial, ca, status, revoked_at, reason}]. */
int store_ocsp_due(struct db_conn *c, const char *now, const char *renew_before, int limit, json_t **items);
/* *items gets up to limit certificates (newest first, ids below before; 0: all) whose serial,
 * organisation's USCC or name, or order number holds q (NULL: any), in status (NULL: any), each with
 * order_no, uscc and unit_name. */
int store_cert_search(struct db_conn *c, const char *q, const char *status, int limit, int64_t before,
		      json_t **items);
/* Loads the delegated OCSP responder of issuing CA issuing_key_id. DB_OK, DB_NOTFOUND or < 0. */
int store_ocsp_responder(struct db_conn *c, const char *issuing_key_id, struct ca_rec *out);

/* --- USB keys an order is produced onto (store_usbkey.c, migration 018) --- */

/* One key an order was produced onto, or started on. PINs are kept sealed under the KEK (km.h). */
struct usbkey_rec {
	int64_t id, order_id;
	char serial[72];
	char kind[8]; /* skf, pkcs11 */
	char model[72], manufacturer[72];
	int ulong_bits; /* SKF library's ULONG width, 0 when unknown or PKCS#11 */
	char state[12]; /* producing, written, abandoned */
	char *so_pin, *user_pin; /* sealed (km_pin_seal), owned: store_usbkey_free */
	int user_pin_default;    /* the user PIN is the project's documented default */
	char kek_id[17];
	char created_at[32], written_at[32];
};

/* Loads the live key (producing or written) of order_id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_usbkey_live_of_order(struct db_conn *c, int64_t order_id, struct usbkey_rec *k);
/* Loads the live key with serial, of any order. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_usbkey_live_by_serial(struct db_conn *c, const char *serial, struct usbkey_rec *k);
/* Loads the newest record of the key with serial, in any state. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_usbkey_latest_by_serial(struct db_conn *c, const char *serial, struct usbkey_rec *k);
/* Records k in state producing (k->id set) while its order is producing (else DB_NOTFOUND).
 * DB_CONFLICT when the serial or the order has a live key already. Returns DB_OK or < 0. */
int store_usbkey_insert(struct db_conn *c, struct usbkey_rec *k);
/* Moves key id from producing to state (written or abandoned), stamped now. Returns DB_OK,
 * DB_NOTFOUND when it is no longer producing, or < 0. */
int store_usbkey_finish(struct db_conn *c, int64_t id, const char *state);
/* *serials gets the serials of the good certificates issued for key id (a JSON array of strings). */
int store_usbkey_cert_serials(struct db_conn *c, int64_t id, json_t **serials);
/* Returns {"serial","model","state"} of k (caller decrefs). */
json_t *store_usbkey_json(const struct usbkey_rec *k);
/* Returns the JSON of order_id's live key, or when org_view only a written one; NULL when none. */
json_t *store_usbkey_of_order_json(struct db_conn *c, int64_t order_id, int org_view);
/* Adds "usb_key" {serial, model, state} to each item of items (objects with "order_no") whose order
 * has a live key: the production queue shows where each order's key stands. */
void store_usbkey_annotate(struct db_conn *c, json_t *items);
/* Wipes and frees the sealed PINs k holds. */
void store_usbkey_free(struct usbkey_rec *k);

/* --- electronic seals (store_seal.c, migration 019, issue 14) --- */

/* The picture staff chose for one seal of an order (org 单位公章, legal 法人章). */
struct seal_picture_rec {
	int64_t id, order_id;
	char seal[8];   /* org, legal */
	char *png_b64;  /* the PNG, base64; owned: store_seal_picture_free */
	char sha256[65];
	int width_px, height_px;
	int width_mm10, height_mm10; /* the real size, tenths of a millimetre */
	char source[8]; /* scan (cut out of the seal form's scan), upload (staff's own PNG) */
	char slot[12];  /* scan: unit_1, unit_2, legal_1, legal_2; "" for an upload */
	char *box;      /* scan: JSON {x,y,w,h} in scan pixels, owned; NULL for an upload */
	char verdict[16];
	char chosen_by[64], chosen_at[32];
};
/* Records p (chosen_by and chosen_at set) as the order's picture of p->seal, replacing any, audited
 * as seal.picture on order_no. Returns DB_OK or < 0. */
int store_seal_picture_put(struct db_conn *c, struct seal_picture_rec *p, const char *order_no,
			   const struct actor *a);
/* Loads the order's picture of seal. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_seal_picture_get(struct db_conn *c, int64_t order_id, const char *seal, struct seal_picture_rec *p);
void store_seal_picture_free(struct seal_picture_rec *p);

/* A GB/T 38540 seal made for a main key and its signing certificate. */
struct seal_rec {
	int64_t id, order_id, usb_key_id;
	char cert_serial[48];
	char type[8]; /* org, legal */
	char es_id[72];
	char *der_b64; /* the seal file, base64; owned: store_seal_free */
	char sha256[65];
	char valid_start[32], valid_end[32];
	char maker_key_id[48];
	char state[12]; /* made, written */
	char created_at[32], written_at[32];
};
/* Records seal s (state made, s->id set) while its key is producing. Returns DB_OK, DB_CONFLICT
 * when the key already has this type for the certificate, DB_NOTFOUND when the key is no longer
 * producing, or < 0. */
int store_seal_insert(struct db_conn *c, struct seal_rec *s);
/* Loads up to max seals of key usb_key_id (for cert_serial; NULL: any), org before legal for one
 * certificate; *n gets how many. Returns DB_OK or < 0. */
int store_seals_of_key(struct db_conn *c, int64_t usb_key_id, const char *cert_serial, struct seal_rec *out,
		       int max, int *n);
/* Marks the seals of key usb_key_id and cert_serial written (read back equal). Returns DB_OK or < 0. */
int store_seals_mark_written(struct db_conn *c, int64_t usb_key_id, const char *cert_serial);
void store_seal_free(struct seal_rec *s);
/* Finds the SM2 seal maker (cas role sealmaker) of issuing CA issuing_key_id, or any SM2 one:
 * key_id and its certificate (*der_b64, caller frees). Returns DB_OK, DB_NOTFOUND or < 0. */
int store_ca_sealmaker(struct db_conn *c, const char *issuing_key_id, char key_id[48], char **der_b64);

/* --- online renewal (store_renewal.c, migration 020; issue 15) --- */

/* A project's renewal settings. */
struct renewal_settings {
	int before_days, after_days; /* the window: from not_after - before_days to not_after + after_days */
	char mode[12];               /* recertify, rekey */
};

/* Loads the renewal settings of project_id. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_renewal_settings(struct db_conn *c, int64_t project_id, struct renewal_settings *s);
/* Records a one-time challenge (base64 of its bytes) for the certificate serial. */
int store_renewal_challenge_add(struct db_conn *c, const char *challenge_id, const char *serial,
				const char *challenge_b64, const char *ip, const char *expires_at);
/* Uses up the live challenge challenge_id: serial and challenge_b64 get what it was bound to.
 * Returns DB_OK, DB_NOTFOUND (unknown, used or expired) or < 0. */
int store_renewal_challenge_take(struct db_conn *c, const char *challenge_id, char serial[48],
				 char challenge_b64[64]);
/* Records a renewal token by its hash for the certificate serial (order_id 0: no renewal yet). */
int store_renewal_token_add(struct db_conn *c, const char *token_hash, const char *serial, int64_t order_id,
			    const char *expires_at);
/* Loads the certificate serial of the live token token_hash. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_renewal_token_get(struct db_conn *c, const char *token_hash, char serial[48]);
/* Binds the token to the renewal order_id. */
int store_renewal_token_bind(struct db_conn *c, const char *token_hash, int64_t order_id);
/* Writes the number of the live renewal of certificate serial into order_no. DB_OK, DB_NOTFOUND, < 0. */
int store_renewal_live(struct db_conn *c, const char *serial, char order_no[32]);
/* Writes the number of the completed renewal of certificate serial (the certificate it renewed, or
 * one it issued; the newest) into order_no. DB_OK, DB_NOTFOUND, < 0. */
int store_renewal_completed_of(struct db_conn *c, const char *serial, char order_no[32]);
/* Creates the renewal order o (org_id, project_id, key_type, price_fen, form, verify_token) of
 * certificate serial in state awaiting_payment, numbered with prefix, with its history entry and
 * audit record. Returns DB_OK, DB_CONFLICT when the certificate has a live renewal, or < 0. */
int store_renewal_create(struct db_conn *c, struct order_rec *o, const char *prefix, const char *serial,
			 const struct actor *a);
/* kind (new, renewal, imported) and renews_serial ("" when none) of order_id. */
int store_order_kind(struct db_conn *c, int64_t order_id, char kind[12], char renews_serial[48]);
/* Writes the number of order order_id into order_no. Returns DB_OK, DB_NOTFOUND or < 0. */
int store_order_no_of(struct db_conn *c, int64_t order_id, char order_no[32]);
/* Returns 1 when order_id is a renewal, 0 when not, < 0 on error. */
int store_order_is_renewal(struct db_conn *c, int64_t order_id);
/* Loads the certificate of kind issued with v (same order and key) into out. DB_OK, DB_NOTFOUND, < 0. */
int store_cert_sibling(struct db_conn *c, const struct cert_rec *v, const char *kind, struct cert_rec *out);

/* A certificate issued before certdesk (certdesk certs import), with the organisation it belongs to. */
struct store_import {
	struct org_rec org;  /* uscc, name, handler_name, handler_mobile (created when unknown) */
	int64_t project_id;
	char key_type[12];
	char prefix[8];      /* the project's order prefix */
	const char *form;    /* the order's data (JSON text: contact e-mail) */
	struct cert_rec cert; /* serial, ca_key_id, kind, subject, validity, der_b64, spki_sha256 */
	char order_no[32];   /* out: the order of kind imported it hangs on */
	int org_created;     /* out */
};
/* Stores im's certificate as imported (status good) on a new completed order of kind 'imported',
 * creating the organisation when unknown, audited as cert.import. Returns DB_OK, DB_CONFLICT when the
 * serial is there already (imported before), or < 0. */
int store_cert_import(struct db_conn *c, struct store_import *im, const struct actor *a);
/* Records a seal made for a renewal's new signing certificate (on the old key, written): nothing
 * when the renewal already has it. Returns DB_OK or < 0. */
int store_renewal_seal_insert(struct db_conn *c, struct seal_rec *s);

#endif
