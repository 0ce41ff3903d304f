/* Electronic seals (issue 14): staff check a seal file (.esl) with the same checks as
 * `certdesk seal verify --json` (seal/seal.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "seal/seal.h"

/* Replies the verification report of len bytes of der. */
static int reply_report(struct http_req *r, const unsigned char *der, size_t len)
{
	struct seal_report *rep = malloc(sizeof(*rep));

	if (rep == NULL) {
		http_set_error_what(r, "seal verify: out of memory");
		return http_reply_error(r, 500, "internal", "服务器内部错误", NULL);
	}
	seal_verify(der, len, time(NULL), rep);
	http_reply_json(r, 200, seal_report_json(rep));
	free(rep);
	return 0;
}

/* POST /api/v1/seals/verify: the body is the seal file itself (application/octet-stream), or a
 * multipart/form-data part "file"; at most SEAL_MAX_LEN bytes. Answers 200 with the report, valid
 * or not. */
int api_seals_verify(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	struct http_upload u = {0};
	size_t len = 0;
	const char *body;
	int rc;

	if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		if (http_multipart(r, SEAL_MAX_LEN, &u) != 0) {
			http_upload_free(&u); /* the fields read before the part that failed */
			return 0;
		}
		rc = u.len == 0 ? http_reply_error(r, 400, "seal_missing", "请上传印章文件", "file")
				: reply_report(r, u.data, u.len);
		http_upload_free(&u);
		return rc;
	}
	if (ct == NULL || strncasecmp(ct, "application/octet-stream", 24) != 0)
		return http_reply_error(r, 415, "unsupported_media_type",
					"请以 application/octet-stream 或 multipart/form-data 上传印章文件", NULL);
	body = http_body(r, &len);
	if (len == 0)
		return http_reply_error(r, 400, "seal_missing", "请上传印章文件", NULL);
	if (len > SEAL_MAX_LEN)
		return http_reply_error(r, 413, "seal_too_large", "印章文件不能超过 1 MiB", NULL);
	return reply_report(r, (const unsigned char *)body, len);
}
