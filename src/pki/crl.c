/* CRLs: the revoked certificates of one CA, numbered, built here and signed by certdesk-signer.
 * A throwaway key of the CA's algorithm signs the CRL once so that OpenSSL writes the real signature
 * AlgorithmIdentifier into the TBSCertList; the signer then signs those bytes with the CA's key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "pki/signer_client.h"
#include "pki/signer_proto.h"
#include "pki/status.h"

static const struct {
	const char *name, *label;
	int code;
} reasons[] = {
	{"unspecified", "未说明", 0},
	{"keyCompromise", "密钥泄露", 1},
	{"affiliationChanged", "单位信息变更", 3},
	{"superseded", "证书已更换", 4},
	{"cessationOfOperation", "停止使用", 5},
	{"privilegeWithdrawn", "权限撤销", 9},
};

int pki_reason_code(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].code;
	return -1;
}

const char *pki_reason_label(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].label;
	return name;
}

/* Prepares ctx to sign or verify with pk: SHA-256, or SM3 with the SM2 ID. Returns 1 or 0. */
static int digest_init(EVP_MD_CTX *ctx, EVP_PKEY *pk, int sign)
{
	int sm2 = EVP_PKEY_is_a(pk, "SM2");
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pk, NULL);

	if (pctx == NULL || (sm2 && EVP_PKEY_CTX_set1_id(pctx, PKI_SM2_ID, PKI_SM2_ID_LEN) <= 0)) {
		EVP_PKEY_CTX_free(pctx);
		return 0;
	}
	EVP_MD_CTX_set_pkey_ctx(ctx, pctx); /* ctx does not own pctx: freed by the caller */
	if ((sign ? EVP_DigestSignInit(ctx, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, pk)
		  : EVP_DigestVerifyInit(ctx, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, pk)) != 1) {
		EVP_MD_CTX_set_pkey_ctx(ctx, NULL);
		EVP_PKEY_CTX_free(pctx);
		return 0;
	}
	return 1;
}

int pki_tbs_verify(EVP_PKEY *pk, const unsigned char *tbs, size_t tbslen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx;
	int ok = 0;

	if (ctx != NULL && digest_init(ctx, pk, 0)) {
		pctx = EVP_MD_CTX_get_pkey_ctx(ctx);
		ok = EVP_DigestVerify(ctx, sig, siglen, tbs, tbslen) == 1;
		EVP_MD_CTX_set_pkey_ctx(ctx, NULL);
		EVP_PKEY_CTX_free(pctx);
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Signs crl with key (the throwaway of the CA's algorithm). Returns 1 or 0. */
static int crl_sign_with(X509_CRL *crl, EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx;
	int ok = 0;

	if (ctx != NULL && digest_init(ctx, key, 1)) {
		pctx = EVP_MD_CTX_get_pkey_ctx(ctx);
		ok = X509_CRL_sign_ctx(crl, ctx) > 0;
		EVP_MD_CTX_set_pkey_ctx(ctx, NULL);
		EVP_PKEY_CTX_free(pctx);
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* Adds one revoked entry to crl. Returns 0 or -1. */
static int add_revoked(X509_CRL *crl, const struct pki_revoked *r)
{
	X509_REVOKED *rv = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = ASN1_TIME_set(NULL, r->when);
	ASN1_ENUMERATED *reason = NULL;
	int ok = rv != NULL && when != NULL && BN_hex2bn(&bn, r->serial_hex) > 0 &&
		 (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_REVOKED_set_serialNumber(rv, serial) &&
		 X509_REVOKED_set_revocationDate(rv, when);

	/* RFC 5280 5.3.1: the reason code is absent rather than unspecified */
	if (ok && r->reason > 0)
		ok = (reason = ASN1_ENUMERATED_new()) != NULL && ASN1_ENUMERATED_set(reason, r->reason) &&
		     X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, reason, 0, 0) == 1;
	if (ok && X509_CRL_add0_revoked(crl, rv) == 1)
		rv = NULL;
	else
		ok = 0;
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	BN_free(bn);
	X509_REVOKED_free(rv);
	return ok ? 0 : -1;
}

X509_CRL *pki_crl_build(X509 *ca, long number, time_t this_update, time_t next_update,
			const struct pki_revoked *revoked, size_t n, char *err, size_t errlen)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, this_update), *next = ASN1_TIME_set(NULL, next_update);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX v3;
	EVP_PKEY *dummy = pki_throwaway_key(pki_key_alg(X509_get0_pubkey(ca), NULL, 0));
	const char *what = NULL;

	if (crl == NULL || last == NULL || next == NULL || num == NULL || dummy == NULL)
		what = "out of memory or unknown CA algorithm";
	else if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
		 !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) || !X509_CRL_set1_lastUpdate(crl, last) ||
		 !X509_CRL_set1_nextUpdate(crl, next))
		what = "CRL header";
	for (size_t i = 0; what == NULL && i < n; i++)
		if (add_revoked(crl, &revoked[i]) != 0)
			what = "a revoked entry";
	if (what == NULL) {
		X509V3_set_ctx(&v3, ca, NULL, NULL, crl, 0);
		aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
		if (!ASN1_INTEGER_set(num, number) || X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
		    aki == NULL || X509_CRL_add_ext(crl, aki, -1) != 1)
			what = "CRL extensions";
	}
	if (what == NULL && (!X509_CRL_sort(crl) || !crl_sign_with(crl, dummy)))
		what = "throwaway signature";
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	if (what != NULL) {
		snprintf(err, errlen, "building the CRL: %s", what);
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

int pki_crl_sign(X509_CRL *crl, X509 *ca, const char *socket_path, const char *key_id, unsigned char **der,
		 size_t *derlen, char *err, size_t errlen)
{
	unsigned char *tbs = NULL, *alg = NULL, *sig = NULL;
	const X509_ALGOR *a = NULL;
	int tl = i2d_re_X509_CRL_tbs(crl, &tbs), al, rc;
	size_t siglen = 0;

	X509_CRL_get0_signature(crl, NULL, &a);
	al = a != NULL ? i2d_X509_ALGOR(a, &alg) : -1;
	*der = NULL;
	if (tl <= 0 || al <= 0) {
		snprintf(err, errlen, "encoding the TBSCertList");
		rc = SIGNER_INTERNAL;
	} else if ((rc = signer_sign(socket_path, key_id, SIGNER_KIND_TBS_CRL, tbs, (size_t)tl, &sig, &siglen, err,
				     errlen)) == 0) {
		if (!pki_tbs_verify(X509_get0_pubkey(ca), tbs, (size_t)tl, sig, siglen)) {
			snprintf(err, errlen, "the signer's CRL signature does not verify with the CA certificate");
			rc = SIGNER_INTERNAL;
		} else if (pki_cert_assemble(tbs, (size_t)tl, alg, (size_t)al, sig, siglen, der, derlen) != 0) {
			snprintf(err, errlen, "assembling the CRL");
			rc = SIGNER_INTERNAL;
		}
	}
	OPENSSL_free(tbs);
	OPENSSL_free(alg);
	free(sig);
	return rc;
}
