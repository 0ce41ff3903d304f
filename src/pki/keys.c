/* Key algorithms of the CA engine: names, recognising a public key, generating keys, signing and
 * verifying certificates with the SM2 distinguishing ID set, and small encoders. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pki/pki.h"

static const char *const alg_names[PKI_ALG_COUNT] = {"rsa2048", "rsa3072", "p256", "sm2"};

const char *pki_alg_name(int alg)
{
	return alg >= 0 && alg < PKI_ALG_COUNT ? alg_names[alg] : "?";
}

int pki_alg_from_name(const char *name)
{
	for (int i = 0; name != NULL && i < PKI_ALG_COUNT; i++)
		if (strcmp(name, alg_names[i]) == 0)
			return i;
	return -1;
}

/* Returns the curve name of an EC or SM2 key into buf ("" when none). */
static const char *curve_of(const EVP_PKEY *pk, char *buf, size_t len)
{
	size_t got = 0;

	buf[0] = '\0';
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, buf, len, &got) != 1)
		buf[0] = '\0';
	return buf;
}

int pki_key_alg(const EVP_PKEY *pk, char *desc, size_t desclen)
{
	char curve[64], tmp[80];
	int alg = -1;

	if (pk == NULL)
		return -1;
	if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);
		alg = bits == 2048 ? PKI_ALG_RSA2048 : bits == 3072 ? PKI_ALG_RSA3072 : -1;
		snprintf(tmp, sizeof(tmp), "RSA-%d", bits);
	} else if (EVP_PKEY_is_a(pk, "SM2")) {
		alg = PKI_ALG_SM2;
		snprintf(tmp, sizeof(tmp), "SM2");
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		curve_of(pk, curve, sizeof(curve));
		if (strcmp(curve, "prime256v1") == 0)
			alg = PKI_ALG_P256;
		else if (strcmp(curve, "SM2") == 0)
			alg = PKI_ALG_SM2;
		snprintf(tmp, sizeof(tmp), "EC %s", curve[0] ? curve : "(explicit curve)");
	} else {
		snprintf(tmp, sizeof(tmp), "%s", EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "?");
	}
	if (desc != NULL && desclen > 0)
		snprintf(desc, desclen, "%s", tmp);
	return alg;
}

EVP_PKEY *pki_key_generate(int alg)
{
	switch (alg) {
	case PKI_ALG_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case PKI_ALG_RSA3072:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	case PKI_ALG_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	case PKI_ALG_SM2:
		return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	default:
		return NULL;
	}
}

/* Returns 1 when pk is an SM2 key (native, or EC on the SM2 curve). */
static int is_sm2(const EVP_PKEY *pk)
{
	return pki_key_alg(pk, NULL, 0) == PKI_ALG_SM2;
}

int pki_x509_sign(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int sm2 = is_sm2(key), ok = 0;

	if (mctx == NULL)
		return -1;
	/* the ID must be on the context before any data goes in: Z = SM3(ENTL||ID||...) comes first */
	if (sm2) {
		pctx = EVP_PKEY_CTX_new(key, NULL);
		if (pctx == NULL || EVP_PKEY_CTX_set1_id(pctx, PKI_SM2_ID, PKI_SM2_ID_LEN) <= 0)
			goto out;
		EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	}
	if (EVP_DigestSignInit(mctx, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, key) != 1)
		goto out;
	ok = X509_sign_ctx(x, mctx) > 0;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	return ok ? 0 : -1;
}

int pki_x509_verify(X509 *x, EVP_PKEY *issuer_key)
{
	if (is_sm2(issuer_key)) {
		ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
		if (id == NULL || ASN1_OCTET_STRING_set(id, (const unsigned char *)PKI_SM2_ID, PKI_SM2_ID_LEN) != 1) {
			ASN1_OCTET_STRING_free(id);
			return 0;
		}
		X509_set0_distinguishing_id(x, id); /* takes id */
	}
	return X509_verify(x, issuer_key) == 1;
}

int pki_spki_sha256(const EVP_PKEY *pk, char out[65])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len = i2d_PUBKEY(pk, &der);

	if (len <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int pki_asn1_time_text(const ASN1_TIME *t, char out[32])
{
	struct tm tm = {0};

	out[0] = '\0';
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0 ? 0 : -1;
}

void pki_name_text(const X509_NAME *name, char *out, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	out[0] = '\0';
	if (b == NULL)
		return;
	/* RFC 2253 escaping, but UTF-8 kept as is and the usual order (C first) */
	X509_NAME_print_ex(b, name, 0, (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_DN_REV) | ASN1_STRFLGS_UTF8_CONVERT);
	n = BIO_get_mem_data(b, &p);
	if (n > 0)
		snprintf(out, len, "%.*s", (int)n, p);
	BIO_free(b);
}

char *pki_b64_encode(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

unsigned char *pki_b64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	unsigned char *out;
	int got;

	if (n == 0 || n % 4 != 0 || n > 1u << 24)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as data */
	if (text[n - 1] == '=')
		got--;
	if (text[n - 2] == '=')
		got--;
	*len = (size_t)got;
	return out;
}

X509 *pki_cert_from_b64(const char *b64)
{
	size_t len = 0;
	unsigned char *der = b64 != NULL ? pki_b64_decode(b64, &len) : NULL;
	const unsigned char *p = der;
	X509 *x = der != NULL ? d2i_X509(NULL, &p, (long)len) : NULL;

	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	free(der);
	return x;
}

static const struct {
	const char *code, *message;
	unsigned status;
} errs[] = {
	[PKI_OK] = {"ok", "", 200},
	[PKI_CSR_INVALID] = {"csr_invalid", "证书请求（CSR）无法解析，应为 PEM 或 DER 格式的 PKCS#10 请求", 422},
	[PKI_CSR_BAD_SIGNATURE] = {"csr_bad_signature", "证书请求（CSR）的签名验证失败", 422},
	[PKI_CSR_KEY_MISMATCH] = {"csr_key_mismatch", "证书请求的密钥类型或长度不符合本项目的证书要求", 422},
	[PKI_KEY_WEAK] = {"key_weak", "证书请求的密钥强度不足或存在已知缺陷，请在 USB Key 中重新生成密钥", 422},
	[PKI_KEY_REUSED] = {"key_reused", "该公钥已用于其他单位的证书，请重新生成密钥", 422},
	[PKI_ORDER_NOT_FOUND] = {"not_found", "订单不存在", 404},
	[PKI_ORDER_STATE] = {"state_conflict", "订单不在制作中，不能签发证书", 409},
	[PKI_NO_PROFILE] = {"profile_missing", "本项目尚未配置该类型证书的模板", 409},
	[PKI_CA_MISSING] = {"ca_missing", "证书模板所指的签发 CA 不存在，请先运行 certdesk ca init", 409},
	[PKI_LINT] = {"cert_lint_failed", "证书签发前检查未通过，未签发", 422},
	[PKI_SIGNER_UNAVAILABLE] = {"signer_unavailable", "签名服务暂时不可用，请稍后重试", 503},
	[PKI_SIGNER_REFUSED] = {"signer_refused", "签名服务拒绝签发该证书", 502},
	[PKI_CA_KEY_UNAVAILABLE] = {"ca_key_unavailable", "签发 CA 的私钥当前不可用（密钥缺失或硬件令牌未连接），请稍后重试", 503},
	[PKI_PRODUCTION_NOT_STARTED] = {"production_not_started", "该订单尚未开始制证（未登记 USB Key），请先选择 USB Key 开始制证", 409},
	[PKI_INTERNAL] = {"internal", "服务器内部错误，请稍后重试", 500},
};

const char *pki_err_code(int e)
{
	return e >= 0 && e <= PKI_INTERNAL ? errs[e].code : "internal";
}

const char *pki_err_message(int e)
{
	return e >= 0 && e <= PKI_INTERNAL ? errs[e].message : errs[PKI_INTERNAL].message;
}

unsigned pki_err_status(int e)
{
	return e >= 0 && e <= PKI_INTERNAL ? errs[e].status : 500;
}
