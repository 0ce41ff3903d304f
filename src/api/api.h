/* The JSON API of certdeskd: the route table, who may call each route, the per-request session,
 * and the handlers (one file per resource). */
#ifndef CERTDESK_API_H
#define CERTDESK_API_H
#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

struct config;

#include <pthread.h>

#include "core/workdays.h"

struct paysvc;

/* The mainland working-day calendar as a server holds it: data/holidays-cn with the years uploaded
 * in the console laid over it (calendar.c), reloaded when the uploads change. */
struct calendar_live {
	pthread_rwlock_t lock;
	struct workdays_calendar cal;
	char stamp[64]; /* store_calendar_stamp of the uploads loaded */
	const char *dir;
};

/* Loads the calendar of dir and the uploads. Returns 0, or -1 with the reason in err. */
int calendar_live_init(struct calendar_live *l, const char *dir, struct db *db, char *err, size_t errlen);
void calendar_live_free(struct calendar_live *l);
/* Returns the calendar, read-locked until calendar_live_release; reloads it first when the uploads
 * changed since it was loaded (on any server). */
const struct workdays_calendar *calendar_live_acquire(struct calendar_live *l, struct db *db);
void calendar_live_release(struct calendar_live *l);

struct app {
	const struct config *cfg;
	struct db *db;
	struct calendar_live *calendar; /* the mainland working-day calendar */
	struct paysvc *pay;             /* payments: WeChat Pay and Alipay (pay/payments.h) */
};

/* route.access: the kind of caller, optionally narrowed to staff roles with ACCESS_ROLE. */
enum access {
	ACCESS_PUBLIC = 0,  /* no session (health, meta, providers' callbacks) */
	ACCESS_SESSION = 1, /* any session, anonymous included; a GET creates one */
	ACCESS_ORG = 2,     /* a logged-in organisation */
	ACCESS_STAFF = 3,   /* logged-in staff; with role bits: staff holding one of them */
	ACCESS_DEV = 4,     /* development aids, only with [dev] expose_outbox = true */
};
#define ACCESS_KIND(a) ((a)&0xffu)
#define ACCESS_ROLE(r) (1u << (8 + (r)))

/* What the before hook learnt about the caller; handlers get it with api_session(). */
struct api_session {
	int valid; /* a live session was found or created */
	char id_hash[72];
	struct session_rec rec;
	unsigned roles; /* staff: role bits (1 << role) */
	char who[64];   /* audit id: USCC, staff id, or "anonymous" */
};

/* The route table of certdeskd (routes.c); docs/openapi.yaml describes each entry. */
extern const struct route api_routes[];
extern const int api_route_count;
/* The declarations of the route table's path parameters (routes.c). */
extern const struct http_param api_params[];
extern const int api_param_count;
/* The server's log line for a 5xx reply (http_server_opts.on_error): route, request id, what went
 * wrong and the database's last error on this thread. */
void api_log_error(struct http_req *r, const char *what);

/* Returns the program version, e.g. "0.1.0". */
const char *api_version(void);
/* The before hook (session.c): loads or creates the session, enforces CSRF on state-changing
 * methods and the route's access. Returns 0 to go on, or -1 after replying. */
int api_before(struct http_req *r, const struct route *rt);
/* Returns the caller's session (never NULL inside a routed handler). */
struct api_session *api_session(struct http_req *r);
/* Returns the audit actor of the caller. */
struct actor api_actor(struct http_req *r);
/* Replaces the caller's session by a new one of kind for subject_id (login: the id changes so a
 * planted id is worthless) and sets the cookie. Returns 0 or -1. */
int api_session_start(struct http_req *r, struct db_conn *c, const char *kind, int64_t subject_id);
/* Ends the caller's session and clears the cookie. */
int api_session_end(struct http_req *r, struct db_conn *c);
/* Replies 500 after logging what went wrong; returns 0. */
int api_internal(struct http_req *r, const char *what);
/* Checks the captcha answer against the one the session holds, using it up. Returns 0 when it
 * matches, otherwise records an error in f and returns -1. */
struct form;
int api_captcha_check(struct http_req *r, struct db_conn *c, struct form *f, const char *answer);
/* Generates a 6-digit SMS code for mobile and purpose, queues the message and records the code,
 * within the rate limits. Returns 0, or -1 with an error recorded in f. */
int api_sms_send(struct http_req *r, struct db_conn *c, struct form *f, const char *mobile,
		 const char *purpose);
/* Checks an SMS code for mobile and purpose, using it up. Returns 0, or -1 with an error in f. */
int api_sms_check(struct http_req *r, struct db_conn *c, struct form *f, const char *field,
		  const char *mobile, const char *purpose, const char *code);
/* Validates the password fields name and confirm_name (policy, match); returns the password or NULL. */
const char *api_new_password(struct form *f, const char *name, const char *confirm_name);

/* Reads ?limit= (default 20, at most 100) and ?next= (a cursor) of a list; returns 0, or -1 after
 * replying 400. */
int api_page_args(struct http_req *r, int *limit, int64_t *before);

/* Wraps the limit + 1 rows of a list as {"items": first limit, "next": cursor when there are more}. */
json_t *api_page(json_t *items, int limit);
/* Loads the caller's own order of the {order_no} path parameter (404 otherwise, also for deleted
 * ones). Returns 0, or -1 after replying. */
struct order_facts;
int api_own_order(struct http_req *r, struct db_conn *c, struct order_rec *o);
/* Loads any order of the {order_no} path parameter, for staff (404 otherwise). Returns 0, or -1
 * after replying. */
int api_staff_order(struct http_req *r, struct db_conn *c, struct order_rec *o);
/* Loads the order of the path (the caller's own when own, else any for staff) and runs fn on it;
 * replies 404 when there is none. Returns 0. */
int api_on_order(struct http_req *r, int own,
		 int (*fn)(struct http_req *r, struct db_conn *c, const struct order_rec *o));
/* Gathers what the order state machine's guards need about o. */
void api_order_facts(struct db_conn *c, const struct order_rec *o, struct order_facts *f);
/* Returns the detail of o as the API shows it. Caller decrefs. */
json_t *api_order_json(struct db_conn *c, const struct order_rec *o);

/* Returns the order's current invoice as the organisation sees it ({uploaded_at, sent_at?,
 * file_name, email_to, media_type, size}), or JSON null when there is none. Caller decrefs. */
json_t *api_invoice_json(struct db_conn *c, const struct order_rec *o);

/* Writes the text of the QR code printed on the order's form kind ("application" or "seal") into out. */
void api_form_qr_text(const struct order_rec *o, const char *kind, char *out, size_t len);

/* Returns the document slots of o: {"common_rule", "slots": [{kind, label, rule, qr_checked, document?}]}. */
json_t *api_document_slots(struct db_conn *c, const struct order_rec *o);

/* Returns 1 when the legal person now in form passed a verification under the order's token. */
int api_order_verified(struct db_conn *c, const struct order_rec *o, json_t *form);
/* Asks the provider about the order's started verification, if any, and records its end. Call it
 * holding no pooled connection: FaceID may take [idv] timeout_s, and it takes one to read and write. */
void api_verification_refresh(struct http_req *r, const struct order_rec *o);
/* Returns the order's verification state for the pages: {state: none|started|passed|failed, message,
 * reason?}. */
json_t *api_verification_json(struct db_conn *c, const struct order_rec *o);

/* Loads the organisation named by the {uscc} path parameter; replies 404 and returns -1 if none. */
int api_path_org(struct http_req *r, struct db_conn *c, struct org_rec *o);

/* --- handlers, by resource --- */
int api_meta_get(struct http_req *r);                /* meta.c */
int api_healthz_get(struct http_req *r);             /* meta.c */
int api_readyz_get(struct http_req *r);              /* metrics.c: 200 when this node can serve */
int api_metrics_get(struct http_req *r);             /* metrics.c: Prometheus text format */
int api_session_get(struct http_req *r);             /* session.c */
int api_captcha_get(struct http_req *r);             /* captcha.c */
int api_sms_codes_post(struct http_req *r);          /* sms.c */
int api_dev_outbox_get(struct http_req *r);          /* sms.c */
int api_org_register(struct http_req *r);            /* auth.c */
int api_login(struct http_req *r);                   /* auth.c */
int api_logout(struct http_req *r);                  /* auth.c */
int api_password_reset(struct http_req *r);          /* auth.c */
int api_staff_login(struct http_req *r);             /* auth_staff.c */
int api_account_get(struct http_req *r);             /* account.c */
int api_account_password(struct http_req *r);        /* account.c */
int api_account_mobile(struct http_req *r);          /* account.c */
int api_admin_orgs_list(struct http_req *r);         /* admin_orgs.c */
int api_admin_org_patch(struct http_req *r);         /* admin_orgs.c */
int api_admin_org_unlock(struct http_req *r);        /* admin_orgs.c */
int api_admin_org_confirm_uscc(struct http_req *r);  /* admin_orgs.c */
int api_admin_staff_list(struct http_req *r);        /* admin_staff.c */
int api_admin_staff_create(struct http_req *r);      /* admin_staff.c */
int api_admin_staff_unlock(struct http_req *r);      /* admin_staff.c */
int api_mobile_req_create(struct http_req *r);       /* mobile_req.c */
int api_mobile_req_list_own(struct http_req *r);     /* mobile_req.c */
int api_admin_mobile_req_list(struct http_req *r);   /* mobile_req.c */
int api_admin_mobile_req_letter(struct http_req *r); /* mobile_req.c */
int api_admin_mobile_req_decide(struct http_req *r); /* mobile_req.c */
int api_orders_create(struct http_req *r);           /* orders.c */
int api_orders_list(struct http_req *r);             /* orders.c */
int api_orders_get(struct http_req *r);              /* orders.c */
int api_orders_update(struct http_req *r);           /* orders.c */
int api_orders_delete(struct http_req *r);           /* orders.c */
int api_orders_submit(struct http_req *r);           /* orders.c */
int api_orders_form_pdf(struct http_req *r);         /* order_forms.c */
int api_documents_put(struct http_req *r);           /* documents.c */
int api_documents_list(struct http_req *r);          /* documents.c */
int api_documents_get(struct http_req *r);           /* documents.c */
int api_admin_documents_get(struct http_req *r);     /* documents.c */
int api_verify_get(struct http_req *r);              /* verify.c */
int api_verify_start(struct http_req *r);            /* verify.c */
int api_verify_result(struct http_req *r);           /* verify.c */
int api_review_queue(struct http_req *r);            /* review.c */
int api_review_claim(struct http_req *r);            /* review.c */
int api_review_decide(struct http_req *r);           /* review.c */
int api_review_reasons_list(struct http_req *r);     /* review.c */
int api_review_reasons_add(struct http_req *r);      /* review.c */
int api_review_reasons_retire(struct http_req *r);   /* review.c */
int api_orders_courier(struct http_req *r);          /* backoffice.c */
int api_queue_get(struct http_req *r);               /* backoffice.c */
int api_paper_check(struct http_req *r);             /* backoffice.c */
int api_ship(struct http_req *r);                    /* backoffice.c */
int api_dashboard(struct http_req *r);               /* dashboard.c */
int api_projects_list(struct http_req *r);           /* catalogue.c */
int api_admin_projects_list(struct http_req *r);     /* catalogue.c */
int api_admin_key_type_patch(struct http_req *r);    /* catalogue.c */
int api_admin_held_keys_list(struct http_req *r);    /* catalogue.c */
int api_admin_held_keys_add(struct http_req *r);     /* catalogue.c */
int api_admin_orders_list(struct http_req *r);       /* admin_orders.c */
int api_admin_orders_get(struct http_req *r);        /* admin_orders.c */
int api_invoice_queue(struct http_req *r);           /* invoices.c */
int api_invoice_put(struct http_req *r);             /* invoices.c */
int api_invoice_get(struct http_req *r);             /* invoices.c */
int api_admin_invoice_get(struct http_req *r);       /* invoices.c */

/* calendar.c */
int api_calendar_get(struct http_req *r);
int api_calendar_put(struct http_req *r);
/* courier.c */
int api_route_get(struct http_req *r);
int api_admin_route_get(struct http_req *r);
/* payments.c */
int api_payment_get(struct http_req *r);
int api_payment_post(struct http_req *r);
int api_payment_qr(struct http_req *r);
int api_wxpay_notify(struct http_req *r);
int api_alipay_notify(struct http_req *r);
int api_order_cancel(struct http_req *r);
int api_refund_retry(struct http_req *r);
/* ledger.c */
int api_payments_ledger(struct http_req *r);
/* certificates.c */
int api_certificates_issue(struct http_req *r);
int api_certificates_list(struct http_req *r);
int api_certificate_get(struct http_req *r);
/* GET .../certificates/enc-key: the encryption private key wrapped for the signing key (km.h). */
int api_certificates_enc_key(struct http_req *r);
int api_ca_list(struct http_req *r);
int api_ca_file(struct http_req *r);
/* Returns the certificates of o as the order pages show them (JSON array). Caller decrefs. */
json_t *api_order_certificates(struct db_conn *c, const struct order_rec *o);

/* production.c: production onto a USB key (issue 13) */
/* POST .../production {kind, serial, model, manufacturer, ulong_bits?}: starts (201) or resumes (200). */
int api_production_start(struct http_req *r);
/* POST .../production/complete {serial, certificates}: the read-back checked, the order produced. */
int api_production_complete(struct http_req *r);
/* GET .../production/pin-slip.pdf: the PIN slip (证书密码信封) of the order's key. */
int api_production_pin_slip(struct http_req *r);
/* GET /api/v1/admin/usb-keys/{key_serial}/so-pin: the key's SO PIN (admins, audited). */
int api_usbkey_so_pin(struct http_req *r);

/* revocation.c */
int api_cert_revoke(struct http_req *r);
int api_ca_crl(struct http_req *r);
int api_ocsp_get(struct http_req *r);
int api_ocsp_post(struct http_req *r);
int api_cert_search(struct http_req *r);
int api_cert_profiles(struct http_req *r);

/* seals.c: POST /api/v1/seals/verify, the report of seal/seal.h's seal_verify (issue 14) */
int api_seals_verify(struct http_req *r);

/* seal_crops.c: seal pictures from the scanned seal form, for staff (issue 14) */
/* GET .../seal-crops: the boxes located from the form's QR code, each with its quality verdict. */
int api_seal_crops_get(struct http_req *r);
/* POST .../seal-crops/extract {boxes: [{slot, x, y, w, h}], allow_signature?}: the pictures. */
int api_seal_crops_extract(struct http_req *r);
/* POST .../seal-crops/check-png (multipart: file, slot, width_mm?): the same checks on staff's PNG. */
int api_seal_crops_check_png(struct http_req *r);

/* renewal.c, renewal_issue.c: online renewal (issue 15), public, the key is the credential */
int api_renewal_challenge(struct http_req *r);   /* POST /renewals/challenge {certificate} */
int api_renewal_prove(struct http_req *r);       /* POST /renewals/prove {challenge_id, signature} */
int api_renewal_create(struct http_req *r);      /* POST /renewals {years, invoice} */
int api_renewal_get(struct http_req *r);         /* GET /renewals/{renewal_no} */
int api_renewal_pay(struct http_req *r);         /* POST .../payments {provider} */
int api_renewal_payment_get(struct http_req *r); /* GET .../payments/current */
int api_renewal_payment_qr(struct http_req *r);  /* GET .../payments/current/qr.png */
int api_renewal_cancel(struct http_req *r);      /* POST .../cancel: an unpaid one given up */
int api_renewal_issue(struct http_req *r);       /* POST .../issue {challenge_id, signature, csr?, ...} */
int api_renewal_complete(struct http_req *r);    /* POST .../complete {certificates, seals?} */

/* seal_pictures.c: the seal pictures chosen for a main-key order (issue 14) */
/* GET .../seal-pictures: {order_no, org: picture|null, legal: picture|null}. */
int api_seal_pictures_get(struct http_req *r);
/* PUT .../seal-pictures/{seal} {slot, box} | {png}: a picture cut out of the scan, or staff's own. */
int api_seal_pictures_put(struct http_req *r);
/* production_seals.c: the seals of a main key (issue 14) */
/* POST .../production/seals: makes the key's two seals (201), or returns those made (200). */
int api_production_seals_make(struct http_req *r);
/* GET /admin/orders/{no}/seals and .../seals/{seal}.esl: staff. */
int api_admin_seals_list(struct http_req *r);
int api_admin_seal_file(struct http_req *r);
/* GET /orders/{no}/seals and .../seals/{seal}.esl: the organisation, once produced. */
int api_seals_list(struct http_req *r);
int api_seal_file(struct http_req *r);
#endif
