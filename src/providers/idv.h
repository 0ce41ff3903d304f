/* Legal-person identity verification (人脸核身): the provider interface and its adapter for Tencent
 * Cloud FaceID H5 (慧眼, API 2018-03-01): DetectAuth starts a verification and gives the URL of the
 * provider's H5 page for the phone; GetDetectInfoEnhanced fetches the result server to server.
 * Requests are signed with TC3-HMAC-SHA256 (providers/tc3.h). certdesk-sim speaks the same API.
 * Nothing here logs; the secret key never leaves the signature. Thread-safe (one curl handle per
 * call; curl_global_init runs once, on first use). */
#ifndef CERTDESK_PROVIDERS_IDV_H
#define CERTDESK_PROVIDERS_IDV_H
#include <stddef.h>

struct config;

struct idv_config {
	const char *endpoint; /* https://faceid.tencentcloudapi.com, or the simulator's http://.../faceid */
	const char *host;     /* Host header sent and signed; NULL or "": the endpoint's host[:port] */
	const char *secret_id, *secret_key, *rule_id;
	const char *region; /* X-TC-Region; NULL or "": not sent */
	int timeout_s;      /* for the whole call, connection included */
};

/* Sizes that hold what the provider returns (the adapter refuses longer values). */
#define IDV_URL_MAX 1024
#define IDV_TOKEN_MAX 129
#define IDV_MSG_MAX 256

/* Fills c from the [idv] section of cfg; the strings point into cfg, which must outlive c. */
void idv_config_from(struct idv_config *c, const struct config *cfg);

/* Starts a verification of the person name (UTF-8) with the resident ID number id_number
 * (18 characters); after it the phone opens url, and the provider sends it back to redirect_url
 * (NULL: none) with BizToken=... appended; extra (NULL: none, up to 1,000 bytes) is echoed back by
 * the provider. Returns 0 with url (urllen bytes, IDV_URL_MAX is enough) and biz_token (toklen,
 * IDV_TOKEN_MAX) filled; or -1 with a short Chinese reason for the user in err (errlen,
 * IDV_MSG_MAX), naming the provider's error code in brackets when there is one. */
int idv_start(const struct idv_config *c, const char *name, const char *id_number, const char *redirect_url,
	      const char *extra, char *url, size_t urllen, char *biz_token, size_t toklen, char *err,
	      size_t errlen);

enum idv_outcome { IDV_PASSED, IDV_FAILED, IDV_PENDING };

/* Asks the provider for the result of biz_token. Returns 0 with *outcome: IDV_PENDING while the
 * person has not finished (reason says so), IDV_FAILED with a Chinese reason (and the provider's
 * code in brackets), or IDV_PASSED (reason ""). A pass whose verified name or ID number (when the
 * provider returns them) differs from expect_name / expect_id (NULL: not checked) is IDV_FAILED.
 * Returns -1 on a transport or provider error (an expired or unknown token included), with a
 * Chinese message in err; the caller may ask again later. Buffers: IDV_MSG_MAX is enough. */
int idv_result(const struct idv_config *c, const char *biz_token, const char *expect_name,
	       const char *expect_id, enum idv_outcome *outcome, char *reason, size_t reasonlen, char *err,
	       size_t errlen);

#endif
