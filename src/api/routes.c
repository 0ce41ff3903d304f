#include "api/api.h"
#include "core/roles.h"

#define ADMIN (ACCESS_STAFF | ACCESS_ROLE(ROLE_ADMIN))

/* Every route of certdeskd. tests/unit/test_openapi.c fails when this and docs/openapi.yaml differ. */
const struct route api_routes[] = {
	{"GET", "/healthz", api_healthz_get, ACCESS_PUBLIC},
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
	{"GET", "/api/v1/projects", api_projects_list, ACCESS_SESSION},
	{"POST", "/api/v1/orders", api_orders_create, ACCESS_ORG},
	{"GET", "/api/v1/orders", api_orders_list, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}", api_orders_get, ACCESS_ORG},
	{"PUT", "/api/v1/orders/{order_no}", api_orders_update, ACCESS_ORG},
	{"DELETE", "/api/v1/orders/{order_no}", api_orders_delete, ACCESS_ORG},
	{"POST", "/api/v1/orders/{order_no}/submit", api_orders_submit, ACCESS_ORG},
	{"GET", "/api/v1/orders/{order_no}/forms/{kind}", api_orders_form_pdf, ACCESS_ORG},
	{"GET", "/api/v1/admin/orders", api_admin_orders_list, ACCESS_STAFF},
	{"GET", "/api/v1/admin/orders/{order_no}", api_admin_orders_get, ACCESS_STAFF},
	{"GET", "/api/v1/admin/projects", api_admin_projects_list, ADMIN},
	{"PATCH", "/api/v1/admin/projects/{code}/key-types/{key_type}", api_admin_key_type_patch, ADMIN},
	{"GET", "/api/v1/admin/organisations/{uscc}/held-main-keys", api_admin_held_keys_list, ACCESS_STAFF},
	{"POST", "/api/v1/admin/organisations/{uscc}/held-main-keys", api_admin_held_keys_add, ADMIN},
	{"GET", "/api/v1/dev/outbox", api_dev_outbox_get, ACCESS_DEV},
};

const int api_route_count = (int)(sizeof(api_routes) / sizeof(api_routes[0]));
