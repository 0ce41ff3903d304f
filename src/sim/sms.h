/* The SMS simulator: Tencent Cloud SMS's SendSms (API 2021-01-11, TC3-HMAC-SHA256 under the [sms]
 * test keys, the [sms] SdkAppId, signature and template ids), the phones' inboxes for tests and
 * browser tests to read, and test hooks that make the next sends fail or answer slowly. Messages
 * live in memory (the newest 1,000). */
#ifndef CERTDESK_SIM_SMS_H
#define CERTDESK_SIM_SMS_H

struct http_req;

/* POST /sms and /sms/: the API (X-TC-Action SendSms). The server's context is the struct config. */
int sms_api(struct http_req *r);
/* GET /_sim/sms[?phone=138...|+86138...]: {"items":[...]} the messages delivered (to phone),
 * oldest first: phone, template, template_id, params, text, session_context, serial_no, time. */
int sms_sim_inbox(struct http_req *r);
/* DELETE /_sim/sms: forgets the messages and any armed failure or delay. */
int sms_sim_clear(struct http_req *r);
/* POST /_sim/sms/fail-next {"code":"LimitExceeded.PhoneNumberDailyLimit", "message":..., "count":n}:
 * the next n sends (default 1) fail with code: per number in SendStatusSet for codes about a number
 * or a limit (LimitExceeded.*, *PhoneNumber*), as Response.Error otherwise. */
int sms_sim_fail_next(struct http_req *r);
/* POST /_sim/sms/delay-next {"seconds":n}: the next send is delivered, but answered n (1-60)
 * seconds late, so a test can stop the sender while the provider holds its message. */
int sms_sim_delay_next(struct http_req *r);
/* Forgets everything (at exit). */
void sms_clear(void);

#endif
