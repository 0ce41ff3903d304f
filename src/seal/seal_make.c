/* Making a v4 seal: the SES_SealInfo is signed by the seal maker's key in certdesk-signer (kind 4),
 * and the assembled seal is verified before anyone may write it to a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki/signer_client.h"
#include "seal/seal.h"

/* The seal_err of a signer_sign result. */
static int signer_err(int rc)
{
	if (rc == SIGNER_REFUSED || rc == SIGNER_NO_KEY)
		return SEAL_ERR_SIGNER_REFUSED;
	if (rc == -1 || rc == SIGNER_KEY_UNAVAILABLE || rc == SIGNER_INTERNAL)
		return SEAL_ERR_SIGNER_DOWN;
	return SEAL_ERR_INTERNAL;
}

/* Verifies the seal just made; a failure names the first failed check. Returns SEAL_OK or
 * SEAL_ERR_VERIFY. */
static int verify_made(const unsigned char *seal, size_t len, char *err, size_t errlen)
{
	struct seal_report *rep = malloc(sizeof(*rep));
	int rc = SEAL_ERR_VERIFY;

	if (rep == NULL) {
		snprintf(err, errlen, "内存不足");
		return SEAL_ERR_INTERNAL;
	}
	if (seal_verify(seal, len, time(NULL), rep) == 1) {
		rc = SEAL_OK;
	} else {
		for (int i = 0; i < SEAL_CHECK_COUNT; i++)
			if (rep->checks[i].result == SEAL_FAILED) {
				snprintf(err, errlen, "制成的印章未通过验证（%s）：%s", seal_check_name(i),
					 rep->checks[i].message);
				break;
			}
	}
	free(rep);
	return rc;
}

int seal_make(const struct seal_in *in, const char *signer_socket, const char *maker_key_id,
	      const unsigned char *maker_cert_der, size_t maker_len, unsigned char **out, size_t *outlen, char *err,
	      size_t errlen)
{
	unsigned char *info = NULL, *sig = NULL, *seal = NULL;
	size_t info_len = 0, sig_len = 0, seal_len = 0;
	char why[256] = "";
	int rc, src;

	*out = NULL;
	*outlen = 0;
	if (maker_cert_der == NULL || maker_len == 0) {
		snprintf(err, errlen, "缺少制章人证书");
		return SEAL_ERR_INPUT;
	}
	rc = seal_info_encode(in, &info, &info_len, err, errlen);
	if (rc != SEAL_OK)
		return rc;
	if (info_len > SIGNER_MAX_DATA) {
		snprintf(err, errlen, "印章信息 %zu 字节，超过签名服务的 %d 字节上限（图片过大）", info_len,
			 SIGNER_MAX_DATA);
		rc = SEAL_ERR_INPUT;
		goto out;
	}
	src = signer_sign(signer_socket, maker_key_id, SIGNER_KIND_SEAL, info, info_len, &sig, &sig_len, why,
			  sizeof(why));
	if (src != 0) {
		rc = signer_err(src);
		snprintf(err, errlen, "%s（%s）",
			 rc == SEAL_ERR_SIGNER_DOWN ? "签名服务暂不可用，请稍后重试" : "签名服务拒绝签署印章", why);
		goto out;
	}
	if (seal_encode_v4(info, info_len, maker_cert_der, maker_len, sig, sig_len, &seal, &seal_len) != 0) {
		snprintf(err, errlen, "内存不足");
		rc = SEAL_ERR_INTERNAL;
		goto out;
	}
	rc = verify_made(seal, seal_len, err, errlen);
	if (rc == SEAL_OK) {
		*out = seal;
		*outlen = seal_len;
		seal = NULL;
	}
out:
	free(info);
	free(sig);
	free(seal);
	return rc;
}
