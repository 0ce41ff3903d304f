/* tcsim.h: the checks shared by the Tencent Cloud API simulators. */
#include "sim/tcsim.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "providers/tc3.h"
#include "util/strnum.h"

#define MAX_SKEW_S 300 /* Tencent refuses signatures older than five minutes */

const char *tcsim_check(struct http_req *r, const char *secret_id, const char *secret_key,
			const char *service, const char *version, const char *bad_version_code,
			const char *body, size_t len, const char **message)
{
	const char *auth = http_header(r, "Authorization"), *host = http_header(r, "Host");
	const char *ts = http_header(r, "X-TC-Timestamp"), *ver = http_header(r, "X-TC-Version");
	const char *ct = http_header(r, "Content-Type");
	char scope[64];
	int64_t t;
	int v;

	if (ts == NULL || strnum_parse(ts, 0, 253402300799LL, &t) != 0 || host == NULL || strlen(body) != len)
		return *message = "缺少或错误的 X-TC-Timestamp / Host", "MissingParameter";
	if (ct == NULL || strcmp(ct, TC3_CONTENT_TYPE) != 0)
		return *message = "Content-Type 须为 " TC3_CONTENT_TYPE "（签名覆盖它）",
		       "AuthFailure.SignatureFailure";
	v = tc3_verify(auth, secret_id, secret_key, host, body, (long long)t, (long long)time(NULL),
		       MAX_SKEW_S);
	snprintf(scope, sizeof(scope), "/%s/tc3_request", service);
	if (v == TC3_OK && strstr(auth, scope) == NULL)
		v = TC3_BAD_SIGNATURE;
	if (v == TC3_MALFORMED)
		return *message = "Authorization 格式错误", "AuthFailure.InvalidAuthorization";
	if (v == TC3_WRONG_ID)
		return *message = "SecretId 不存在", "AuthFailure.SecretIdNotFound";
	if (v == TC3_SKEW)
		return *message = "签名过期", "AuthFailure.SignatureExpire";
	if (v != TC3_OK)
		return *message = "签名错误", "AuthFailure.SignatureFailure";
	if (ver == NULL || strcmp(ver, version) != 0)
		return *message = "X-TC-Version 不是本接口的版本", bad_version_code;
	return NULL;
}
