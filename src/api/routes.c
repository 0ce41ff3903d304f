#include "api/api.h"
#include "core/roles.h"

#define ADMIN (ACCESS_STAFF | ACCESS_ROLE(ROLE_ADMIN))
#define REVIEWER (ACCESS_STAFF | ACCESS_ROLE(ROLE_REVIEWER))
#define FINANCE (ACCESS_STAFF | ACCESS_ROLE(ROLE_FINANCE))
#define SEAL_STAFF (ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER) | ACCESS_ROLE(ROLE_REVIEWER))

#define DIGITS "0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"

/* Every path parameter of the route table, declared once: a value that does not fit is answered 404
 * before any handler runs (http/router.c), so handlers never see an over-long or odd value. */
const struct http_param api_params[] = {
	{"order_no", 1, 31, UPPER DIGITS "-", NULL, NULL},         /* YT20261125-000001 */
	{"kind", 1, 23, LOWER "_", NULL, NULL},                    /* a document or form kind */
	{"uscc", 18, 18, UPPER LOWER DIGITS, NULL, NULL},          /* GB 32100 characters, any case */
	{"id", 1, 18, DIGITS, NULL, NULL},                         /* a row id */
	{"code", 1, 31, UPPER LOWER DIGITS "_-", NULL, NULL},      /* a project code */
	{"key_type", 1, 11, LOWER "_", NULL, NULL},                /* main, secondary */
	{"queue", 1, 31, LOWER "_", NULL, NULL},                   /* a back-office queue */
	{"year", 4, 4, DIGITS, NULL, NULL},                        /* a calendar year */
	{"serial", 1, 40, DIGITS "ABCDEFabcdef", NULL, NULL},      /* a certificate serial, hex */
	{"ca", 1, 47, LOWER DIGITS "-", NULL, NULL},               /* a CA key id */
	{"key_serial", 1, 64, UPPER LOWER DIGITS "._:-", NULL, NULL},  /* a USB key's serial number */
	{"seal", 1, 8, LOWER, NULL, NULL},                          /* an electronic seal: org, legal */
	{"renewal_no", 1, 31, UPPER DIGITS "-", NULL, NULL},       /* a renewal (its order's number) */
	{"token", 43, 43, UPPER LOWER DIGITS "-_",     /* base64url of 256 random bits */
	 "verify_link_invalid", "二维码无效或已失效，请重新下载授权委托书后扫码"},
};
const int api_param_count = (int)(sizeof(api_params) / sizeof(api_params[0]));

/* Every route of certdeskd. tests/unit/test_openapi.c fails when this and docs/openapi.yaml differ. */
const struct route api_routes[] = {
	{"GET", "/healthz", api_healthz_get, ACCESS_PUBLIC},
	/* operations (issue 18): /metrics checks [metrics] allow or a staff admin itself */
	{"GET", "/readyz", api_readyz_get, ACCESS_PUBLIC},
	{"GET", "/metrics", api_metrics_get, ACCESS_PUBLIC},
	{"GET", "/api/v1/meta", api_meta_get, ACCESS_PUBLIC},
	{"GET", "/api/v1/session", api_session_get, ACCESS_SESSION},
	{"GET", "/api/v1/captcha", api_captcha_get, ACCESS_SESSION},
	{"POST", "/api/v1/sms-codes", api_sms_codes_post, ACCESS_SESSION},
	{"POST", "/api/v1/organisations", api_org_register, ACCESS_SESSION},
	{"POST", "/api/v1/auth/login", api_login, ACCESS_SESSION},
	{"POST", "/api/v1/auth/logout", api_logout, ACCESS_SESSION},
	{"POST", "/api/v1/password-resets", api_password_reset, ACCESS_SESSION},
	{"GET", "/api/v1/account", api_account_get, ACCESS_ORG},
	{"POST", "/api/v1/account/password", api_account_password, ACCESS_ORG},
	{"POST", "/api/v1/account/mobile", api_account_mobile, ACCESS_ORG},
	{"POST", "/api/v1/account/mobile-requests", api_mobile_req_create, ACCESS_ORG},
	{"GET", "/api/v1/account/mobile-requests", api_mobile_req_list_own, ACCESS_ORG},
	{"POST", "/api/v1/admin/auth/login", api_staff_login, ACCESS_SESSION},
	{"GET", "/api/v1/admin/mobile-requests", api_admin_mobile_req_list, ADMIN},
	{"GET", "/api/v1/admin/mobile-requests/{id}/letter", api_admin_mobile_req_letter, ADMIN},
	{"POST", "/api/v1/admin/mobile-requests/{id}/decision", api_admin_mobile_req_decide, ADMIN},
	{"GET", "/api/v1/admin/organisations", api_admin_orgs_list, ACCESS_STAFF},
	{"PATCH", "/api/v1/admin/organisations/{uscc}", api_admin_org_patch, ADMIN},
	{"POST", "/api/v1/admin/organisations/{uscc}/unlock", api_admin_org_unlock, ADMIN},
	{"POST", "/api/v1/admin/organisations/{uscc}/confirm-uscc", api_admin_org_confirm_uscc, ADMIN},
	{"GET", "/api/v1/admin/staff", api_admin_staff_list, ADMIN},
	{"POST", "/api/v1/admin/staff", api_admin_staff_create, ADMIN},
	{"POST", "/api/v1/admin/staff/{id}/unlock", api_admin_staff_unlock, ADMIN},
	{"GET", "/api/v1/projects", api_projects_list, ACCESS_SESSION},
	{"POST", "/api/v1/orders", api_orders_create, ACCESS_ORG},
	{"GET", "/api/v1/orders", api_orders_list, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}", api_orders_get, ACCESS_ORG},
	{"PUT", "/api/v1/orders/{order_no}", api_orders_update, ACCESS_ORG},
	{"DELETE", "/api/v1/orders/{order_no}", api_orders_delete, ACCESS_ORG},
	{"POST", "/api/v1/orders/{order_no}/submit", api_orders_submit, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/forms/{kind}", api_orders_form_pdf, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/documents", api_documents_list, ACCESS_ORG},
	{"PUT", "/api/v1/orders/{order_no}/documents/{kind}", api_documents_put, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/documents/{kind}", api_documents_get, ACCESS_ORG},
	{"GET", "/api/v1/admin/orders/{order_no}/documents/{kind}", api_admin_documents_get, ACCESS_STAFF},
	{"GET", "/api/v1/admin/orders", api_admin_orders_list, ACCESS_STAFF},
	{"GET", "/api/v1/admin/orders/{order_no}", api_admin_orders_get, ACCESS_STAFF},
	{"GET", "/api/v1/admin/projects", api_admin_projects_list, ADMIN},
	{"PATCH", "/api/v1/admin/projects/{code}/key-types/{key_type}", api_admin_key_type_patch, ADMIN},
	{"GET", "/api/v1/admin/organisations/{uscc}/held-main-keys", api_admin_held_keys_list, ACCESS_STAFF},
	{"POST", "/api/v1/admin/organisations/{uscc}/held-main-keys", api_admin_held_keys_add, ADMIN},
	{"GET", "/api/v1/admin/review/queue", api_review_queue, REVIEWER},
	{"POST", "/api/v1/admin/orders/{order_no}/claim", api_review_claim, REVIEWER},
	{"POST", "/api/v1/admin/orders/{order_no}/review", api_review_decide, REVIEWER},
	{"GET", "/api/v1/admin/review-reasons", api_review_reasons_list, ACCESS_STAFF},
	{"POST", "/api/v1/admin/review-reasons", api_review_reasons_add, ADMIN},
	{"DELETE", "/api/v1/admin/review-reasons/{id}", api_review_reasons_retire, ADMIN},
	{"POST", "/api/v1/orders/{order_no}/courier", api_orders_courier, ACCESS_ORG},
	{"GET", "/api/v1/admin/queues/{queue}", api_queue_get, ACCESS_STAFF},
	{"GET", "/api/v1/admin/dashboard", api_dashboard, ACCESS_STAFF},
	{"GET", "/api/v1/admin/calendar", api_calendar_get, ACCESS_STAFF},
	{"PUT", "/api/v1/admin/calendar/{year}", api_calendar_put, ADMIN},
	{"POST", "/api/v1/admin/orders/{order_no}/paper-check", api_paper_check,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PAPER)},
	{"POST", "/api/v1/admin/orders/{order_no}/ship", api_ship, ACCESS_STAFF | ACCESS_ROLE(ROLE_SHIPPER)},
	{"GET", "/api/v1/admin/invoices/queue", api_invoice_queue, FINANCE},
	{"PUT", "/api/v1/admin/orders/{order_no}/invoice", api_invoice_put, FINANCE},
	{"GET", "/api/v1/admin/orders/{order_no}/invoice", api_admin_invoice_get, ACCESS_STAFF},
	{"GET", "/api/v1/orders/{order_no}/invoice", api_invoice_get, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/route", api_route_get, ACCESS_ORG},
	{"GET", "/api/v1/admin/orders/{order_no}/route", api_admin_route_get, ACCESS_STAFF},
	{"GET", "/api/v1/orders/{order_no}/payment", api_payment_get, ACCESS_ORG},
	{"POST", "/api/v1/orders/{order_no}/payment", api_payment_post, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/payment/qr.png", api_payment_qr, ACCESS_ORG},
	/* online renewal (issue 15): public, the USB key is the credential (X-Renewal-Token) */
	{"POST", "/api/v1/renewals/challenge", api_renewal_challenge, ACCESS_PUBLIC},
	{"POST", "/api/v1/renewals/prove", api_renewal_prove, ACCESS_PUBLIC},
	{"POST", "/api/v1/renewals", api_renewal_create, ACCESS_PUBLIC},
	{"GET", "/api/v1/renewals/{renewal_no}", api_renewal_get, ACCESS_PUBLIC},
	{"POST", "/api/v1/renewals/{renewal_no}/payments", api_renewal_pay, ACCESS_PUBLIC},
	{"GET", "/api/v1/renewals/{renewal_no}/payments/current", api_renewal_payment_get, ACCESS_PUBLIC},
	{"GET", "/api/v1/renewals/{renewal_no}/payments/current/qr.png", api_renewal_payment_qr,
	 ACCESS_PUBLIC},
	{"POST", "/api/v1/renewals/{renewal_no}/cancel", api_renewal_cancel, ACCESS_PUBLIC},
	{"POST", "/api/v1/renewals/{renewal_no}/issue", api_renewal_issue, ACCESS_PUBLIC},
	{"POST", "/api/v1/renewals/{renewal_no}/complete", api_renewal_complete, ACCESS_PUBLIC},
	{"POST", "/api/v1/payments/wxpay/notify", api_wxpay_notify, ACCESS_PUBLIC},
	{"POST", "/api/v1/payments/alipay/notify", api_alipay_notify, ACCESS_PUBLIC},
	{"POST", "/api/v1/admin/orders/{order_no}/cancel", api_order_cancel, FINANCE},
	{"POST", "/api/v1/admin/orders/{order_no}/refund-retry", api_refund_retry, FINANCE},
	{"GET", "/api/v1/admin/payments", api_payments_ledger, FINANCE},
	{"GET", "/api/v1/verify/{token}", api_verify_get, ACCESS_SESSION},
	{"POST", "/api/v1/verify/{token}/start", api_verify_start, ACCESS_SESSION},
	{"GET", "/api/v1/verify/{token}/result", api_verify_result, ACCESS_SESSION},
	{"POST", "/api/v1/admin/orders/{order_no}/certificates", api_certificates_issue,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER)},
	{"GET", "/api/v1/admin/orders/{order_no}/certificates", api_certificates_list, ACCESS_STAFF},
	/* the encryption key of a dual certificate, wrapped for the USB key: producers write it */
	{"GET", "/api/v1/admin/orders/{order_no}/certificates/enc-key", api_certificates_enc_key,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER)},
	/* production onto a USB key (issue 13): producers, and admins */
	{"POST", "/api/v1/admin/orders/{order_no}/production", api_production_start,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER) | ACCESS_ROLE(ROLE_ADMIN)},
	{"POST", "/api/v1/admin/orders/{order_no}/production/complete", api_production_complete,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER) | ACCESS_ROLE(ROLE_ADMIN)},
	{"GET", "/api/v1/admin/orders/{order_no}/production/pin-slip.pdf", api_production_pin_slip,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER) | ACCESS_ROLE(ROLE_ADMIN)},
	{"GET", "/api/v1/admin/usb-keys/{key_serial}/so-pin", api_usbkey_so_pin, ADMIN},
	/* seal pictures from the scanned seal form (issue 14): producers and reviewers */
	{"GET", "/api/v1/admin/orders/{order_no}/seal-crops", api_seal_crops_get, SEAL_STAFF},
	{"POST", "/api/v1/admin/orders/{order_no}/seal-crops/extract", api_seal_crops_extract, SEAL_STAFF},
	{"POST", "/api/v1/admin/orders/{order_no}/seal-crops/check-png", api_seal_crops_check_png, SEAL_STAFF},
	/* the seals of a main key (issue 14): pictures chosen, made at production, downloads */
	{"GET", "/api/v1/admin/orders/{order_no}/seal-pictures", api_seal_pictures_get, SEAL_STAFF},
	{"PUT", "/api/v1/admin/orders/{order_no}/seal-pictures/{seal}", api_seal_pictures_put, SEAL_STAFF},
	{"POST", "/api/v1/admin/orders/{order_no}/production/seals", api_production_seals_make,
	 ACCESS_STAFF | ACCESS_ROLE(ROLE_PRODUCER) | ACCESS_ROLE(ROLE_ADMIN)},
	{"GET", "/api/v1/admin/orders/{order_no}/seals", api_admin_seals_list, ACCESS_STAFF},
	{"GET", "/api/v1/admin/orders/{order_no}/seals/{seal}.esl", api_admin_seal_file, ACCESS_STAFF},
	{"GET", "/api/v1/orders/{order_no}/seals", api_seals_list, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/seals/{seal}.esl", api_seal_file, ACCESS_ORG},
	{"GET", "/api/v1/admin/certificates/{serial}", api_certificate_get, ACCESS_STAFF},
	{"GET", "/api/v1/ca", api_ca_list, ACCESS_PUBLIC},
	{"GET", "/ca/{ca}.crl", api_ca_crl, ACCESS_PUBLIC},
	{"GET", "/ca/{ca}.crt", api_ca_file, ACCESS_PUBLIC},
	{"POST", "/api/v1/admin/certificates/{serial}/revoke", api_cert_revoke, ADMIN},
	{"GET", "/api/v1/admin/certificates", api_cert_search, ACCESS_STAFF},
	{"GET", "/api/v1/admin/cert-profiles", api_cert_profiles, ACCESS_STAFF},
	{"GET", "/ocsp/*", api_ocsp_get, ACCESS_PUBLIC},
	{"POST", "/ocsp", api_ocsp_post, ACCESS_PUBLIC},
	/* electronic seals (issue 14): any staff member checks a seal file */
	{"POST", "/api/v1/seals/verify", api_seals_verify, ACCESS_STAFF},
	{"GET", "/api/v1/dev/outbox", api_dev_outbox_get, ACCESS_DEV},
};

const int api_route_count = (int)(sizeof(api_routes) / sizeof(api_routes[0]));
