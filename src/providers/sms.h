/* SMS delivery: the provider interface and its adapter for Tencent Cloud SMS (SendSms, API
 * 2021-01-11, signed with TC3-HMAC-SHA256 over providers/tcapi.c). One message to one mainland
 * mobile from one of the platform's templates; the result says whether it went, or whether trying
 * again later can help. certdesk-sim speaks the same API. Nothing here logs; the secret key never
 * leaves the signature; the message's parameters (an SMS code among them) never reach err.
 * Thread-safe. */
#ifndef CERTDESK_PROVIDERS_SMS_H
#define CERTDESK_PROVIDERS_SMS_H
#include <jansson.h>
#include <stddef.h>

struct config;

/* The message templates the platform sends, as the outbox names them. */
enum sms_template {
	SMS_TPL_VERIFY_CODE,   /* verify_code: {code, minutes} */
	SMS_TPL_REVIEW_PASS,   /* review_pass: {order_no} */
	SMS_TPL_REVIEW_REJECT, /* review_reject: {order_no} */
	SMS_TPL_PAPER_PROBLEM, /* paper_problem: {order_no} (the reasons are too long for an SMS) */
	SMS_TPL_SHIPPED,       /* shipped: {order_no, detail} (detail: the tracking number) */
	SMS_TPL_COUNT
};

struct sms_config {
	const char *endpoint; /* https://sms.tencentcloudapi.com, or the simulator's http://.../sms */
	const char *host;     /* Host header sent and signed; NULL or "": the endpoint's host[:port] */
	const char *secret_id, *secret_key;
	const char *region; /* X-TC-Region; NULL or "": not sent */
	const char *sdk_app_id, *sign_name;
	const char *template_ids[SMS_TPL_COUNT]; /* Tencent's TemplateId of each enum sms_template */
	int timeout_s;                           /* for the whole call, connection included */
};

/* What became of one message. */
enum sms_result {
	SMS_SENT = 0,       /* the provider accepted it */
	SMS_RETRY = -1,     /* not sent; may go through later (transport, rate limit, provider fault) */
	SMS_PERMANENT = -2, /* not sent and never will be as it stands (number, template, parameters) */
};

/* Sizes that hold what the adapter writes. */
#define SMS_SERIAL_MAX 128
#define SMS_ERR_MAX 320
/* The largest SessionContext Tencent takes ("less than 512 bytes"). */
#define SMS_CONTEXT_MAX 511

/* Fills c from the [sms] section of cfg; the strings point into cfg, which must outlive c. */
void sms_config_from(struct sms_config *c, const struct config *cfg);

/* Returns the enum sms_template named name ("verify_code", ...), or -1 for an unknown name. */
int sms_template_from_name(const char *name);
/* Returns the name of tmpl ("verify_code", ...), or "" for an unknown tmpl. */
const char *sms_template_name(int tmpl);
/* Returns the parameter names of tmpl in the order the template's {1}, {2}, ... take them,
 * NULL-terminated (a static table), or NULL for an unknown tmpl. */
const char *const *sms_template_params(int tmpl);

/* Builds the SendSms request body for one message: to mobile (11 digits, or +86 / 86 and 11
 * digits), template tmpl (its name), params_json (a JSON object with the template's parameters,
 * strings or integers), session_context (echoed back by the provider; 1 to SMS_CONTEXT_MAX bytes).
 * Returns 0 with *body (a JSON text, caller frees), or SMS_PERMANENT with a reason in err
 * (errlen bytes) when the message cannot be sent as it stands. */
int sms_request_body(const struct sms_config *c, const char *mobile, const char *tmpl,
		     const char *params_json, const char *session_context, char **body, char *err,
		     size_t errlen);

/* Reads the Response object of a SendSms call for one number. Returns SMS_SENT with the
 * provider's SerialNo in serial (seriallen bytes, SMS_SERIAL_MAX is enough); or SMS_RETRY /
 * SMS_PERMANENT with "Code: Message" in err. */
int sms_parse_reply(json_t *response, char *serial, size_t seriallen, char *err, size_t errlen);

/* Returns SMS_RETRY or SMS_PERMANENT for a Tencent error code (of Response.Error or of a
 * SendStatusSet entry): rate limits, provider faults, authentication (a clock or a key that may be
 * fixed) and unknown codes are worth retrying; bad numbers, templates, parameters, signatures and
 * disabled applications are not. */
int sms_classify(const char *code);

/* Sends one message (arguments as sms_request_body). Returns SMS_SENT with serial filled, or
 * SMS_RETRY / SMS_PERMANENT with a short technical reason in err for logs and the outbox row:
 * the provider's code and message, or the transport's error. Never includes the parameters. */
int sms_send(const struct sms_config *c, const char *mobile, const char *tmpl, const char *params_json,
	     const char *session_context, char *serial, size_t seriallen, char *err, size_t errlen);

#endif
