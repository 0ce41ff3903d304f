/* What the Tencent Cloud API 3.0 simulators (FaceID, SMS) check of every request, as the real
 * services do: X-TC-Timestamp and Host, the Content-Type the signature covers, the TC3-HMAC-SHA256
 * signature under the test keys for the service within five minutes, and X-TC-Version. */
#ifndef CERTDESK_SIM_TCSIM_H
#define CERTDESK_SIM_TCSIM_H
#include <stddef.h>

struct http_req;

/* Checks request r with body (len bytes) for service ("faceid", "sms") of API version, signed with
 * secret_id / secret_key. Returns NULL when it passes; otherwise Tencent's error code with a
 * Chinese *message; a wrong version gets bad_version_code (the services differ). */
const char *tcsim_check(struct http_req *r, const char *secret_id, const char *secret_key,
			const char *service, const char *version, const char *bad_version_code,
			const char *body, size_t len, const char **message);

#endif
