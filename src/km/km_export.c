/* Handing out an encryption key: opened from enc_keys with the KEK, checked against its
 * certificate, and wrapped for the signing key only (the raw key never leaves this way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "km/km.h"
#include "pki/pki.h"

int km_load_key(struct db_conn *c, const char *kek_file, const struct cert_rec *enc_cert, EVP_PKEY **key,
		char *detail, size_t dl)
{
	struct enc_key_rec row = {0};
	struct km_kek kek;
	X509 *x = NULL;
	int rc = km_enc_key_of_order(c, enc_cert->order_id, &row);

	*key = NULL;
	if (rc == DB_NOTFOUND)
		return snprintf(detail, dl, "no stored key for order %lld", (long long)enc_cert->order_id),
		       KM_KEY_MISMATCH;
	if (rc != DB_OK)
		return PKI_INTERNAL;
	if (km_kek_load(kek_file, &kek, detail, dl) != KM_KEK_OK) {
		km_enc_key_free(&row);
		return KM_UNAVAILABLE;
	}
	if (strcmp(row.kek_id, kek.id) != 0) {
		snprintf(detail, dl, "key sealed by KEK %s, the KEK file is %s", row.kek_id, kek.id);
		rc = KM_KEY_MISMATCH;
	} else {
		*key = km_key_open(&kek, row.wrapped, row.order_id, row.algorithm);
		x = pki_cert_from_b64(enc_cert->der_b64);
		/* the key handed out is the certificate's, whatever the table says */
		rc = *key != NULL && x != NULL && X509_check_private_key(x, *key) == 1 ? PKI_OK
										       : KM_KEY_MISMATCH;
		if (rc != PKI_OK)
			snprintf(detail, dl, "the stored key of %s does not open or is not its certificate's",
				 enc_cert->serial);
	}
	if (rc != PKI_OK) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	X509_free(x);
	km_kek_wipe(&kek);
	km_enc_key_free(&row);
	return rc;
}

json_t *km_export_json(EVP_PKEY *enc, EVP_PKEY *sign_pub, int ulong_bytes)
{
	int alg = pki_key_alg(enc, NULL, 0);
	json_t *j;

	if (alg == PKI_ALG_SM2) {
		size_t len = 0;
		unsigned char *blob = km_envelope_sm2(enc, sign_pub, ulong_bytes, &len);
		char *b64 = blob != NULL ? pki_b64_encode(blob, len) : NULL;
		j = b64 != NULL ? json_pack("{s:s, s:s, s:i, s:i, s:s}", "format", "skf-envelopedkeyblob",
					    "algorithm", "sm2", "ulong_bytes", ulong_bytes, "length",
					    (int)len, "blob", b64)
				: NULL;
		free(blob);
		free(b64);
		return j;
	}
	j = km_wrap_p11(enc, sign_pub);
	if (j != NULL)
		json_object_set_new(j, "algorithm", json_string(pki_alg_name(alg)));
	return j;
}

const char *km_err_code(int e)
{
	switch (e) {
	case KM_UNAVAILABLE:
		return "km_unavailable";
	case KM_KEY_MISMATCH:
		return "km_key_mismatch";
	case KM_NO_ENC_CERT:
		return "no_enc_certificate";
	default:
		return NULL;
	}
}

const char *km_err_message(int e)
{
	switch (e) {
	case KM_UNAVAILABLE:
		return "密钥管理暂不可用（密钥加密密钥文件缺失或不可用），请联系运维人员";
	case KM_KEY_MISMATCH:
		return "加密密钥无法用当前的密钥加密密钥打开，或与加密证书不符，请联系运维人员";
	case KM_NO_ENC_CERT:
		return "该订单没有加密证书";
	default:
		return NULL;
	}
}

unsigned km_err_status(int e)
{
	switch (e) {
	case KM_UNAVAILABLE:
		return 503;
	case KM_KEY_MISMATCH:
		return 500;
	case KM_NO_ENC_CERT:
		return 404;
	default:
		return 0;
	}
}
