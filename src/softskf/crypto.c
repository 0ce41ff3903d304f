/* SM2 on the software key: key generation in a container (the private key never leaves: no export
 * function exists), signatures of a digest e given by the caller (Z already applied), verification,
 * the public key blob, and ImportECCKeyPair of a GM/T 0016 ENVELOPEDKEYBLOB (the session key
 * SM2-decrypted with the container's signing key, the private key SM4-ECB-decrypted with it). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "softskf/softskf_int.h"

#define COORD 32
#define PAD (SKF_ECC_FIELD - COORD)

static const unsigned char zeros[SKF_ECC_FIELD];

/* Loads the private key object name ("sign.key", "enc.key") of c, or NULL. */
static EVP_PKEY *key_load(const struct sk_con *c, const char *name)
{
	char p[SOFTSKF_PATH_MAX];
	unsigned char *pem;
	size_t len = 0;
	BIO *b;
	EVP_PKEY *k = NULL;

	if (softskf_path(p, sizeof(p), c->path, name) != 0 || (pem = softskf_read_file(p, &len)) == NULL)
		return NULL;
	if ((b = BIO_new_mem_buf(pem, (int)len)) != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return k;
}

/* Stores k as the object name of c (PEM PKCS#8, written atomically). Returns SAR_OK or an error. */
static ULONG key_store(const struct sk_con *c, const char *name, EVP_PKEY *k)
{
	char p[SOFTSKF_PATH_MAX];
	BIO *b = BIO_new(BIO_s_secmem());
	BUF_MEM *m = NULL;
	ULONG r = SAR_WRITEFILEERR;

	if (b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    BIO_get_mem_ptr(b, &m) == 1 && softskf_path(p, sizeof(p), c->path, name) == 0 &&
	    softskf_write_file(p, m->data, m->length) == 0)
		r = SAR_OK;
	BIO_free(b);
	return r;
}

/* Writes the public key of k as ECCPUBLICKEYBLOB. Returns 0 or -1. */
static int pub_to_blob(EVP_PKEY *k, ECCPUBLICKEYBLOB *blob)
{
	BIGNUM *x = NULL, *y = NULL;
	int ok;

	memset(blob, 0, sizeof(*blob));
	blob->BitLen = 256;
	ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	     EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	     BN_bn2binpad(x, blob->XCoordinate + PAD, COORD) == COORD &&
	     BN_bn2binpad(y, blob->YCoordinate + PAD, COORD) == COORD;
	BN_free(x);
	BN_free(y);
	return ok ? 0 : -1;
}

/* Builds an SM2 key from the uncompressed point of blob and, when d is not NULL, the private value.
 * Returns the key (caller frees) or NULL when the blob is not a 256-bit right-aligned point. */
static EVP_PKEY *key_from(const ECCPUBLICKEYBLOB *blob, const BIGNUM *d)
{
	unsigned char pt[1 + 2 * COORD];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	EVP_PKEY *k = NULL;

	if (blob->BitLen != 256 || memcmp(blob->XCoordinate, zeros, PAD) != 0 ||
	    memcmp(blob->YCoordinate, zeros, PAD) != 0)
		goto out;
	pt[0] = 0x04;
	memcpy(pt + 1, blob->XCoordinate + PAD, COORD);
	memcpy(pt + 1 + COORD, blob->YCoordinate + PAD, COORD);
	if (bld == NULL || ctx == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) != 1 ||
	    (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static ULONG gen_ecc_key_pair(HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob)
{
	struct sk_con *c;
	EVP_PKEY *k;
	ULONG r = sk_con_get(hContainer, 1, &c);

	if (r != SAR_OK)
		return r;
	if (pBlob == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulAlgId != SGD_SM2_1)
		return SAR_NOTSUPPORTYETERR;
	if (!c->app->user_in)
		return SAR_USER_NOT_LOGGED_IN;
	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2")) == NULL)
		return SAR_FAIL;
	r = key_store(c, "sign.key", k);
	if (r == SAR_OK && pub_to_blob(k, pBlob) != 0)
		r = SAR_FAIL;
	EVP_PKEY_free(k);
	return r;
}

SKF_EXPORT ULONG SKF_GenECCKeyPair(HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob)
{
	SK_LOCKED(gen_ecc_key_pair(hContainer, ulAlgId, pBlob));
}

/* Signs the 32-byte e with k as given (OpenSSL 3's SM2 EVP_PKEY_sign does not hash: it computes the
 * raw SM2 signature of its input) into sig. Returns 0 or -1. */
static int sm2_sign_digest(EVP_PKEY *k, const unsigned char *e, ECCSIGNATUREBLOB *sig)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	unsigned char der[128];
	const unsigned char *q = der;
	size_t len = sizeof(der);
	ECDSA_SIG *s = NULL;
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, der, &len, e, COORD) == 1 &&
		 (s = d2i_ECDSA_SIG(NULL, &q, (long)len)) != NULL;

	memset(sig, 0, sizeof(*sig));
	ok = ok && BN_bn2binpad(ECDSA_SIG_get0_r(s), sig->r + PAD, COORD) == COORD &&
	     BN_bn2binpad(ECDSA_SIG_get0_s(s), sig->s + PAD, COORD) == COORD;
	ECDSA_SIG_free(s);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static ULONG ecc_sign_data(HCONTAINER hContainer, BYTE *pbDigest, ULONG ulDigestLen, ECCSIGNATUREBLOB *pSignature)
{
	struct sk_con *c;
	EVP_PKEY *k;
	ULONG r = sk_con_get(hContainer, 0, &c);

	if (r != SAR_OK)
		return r;
	if (pbDigest == NULL || pSignature == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulDigestLen != COORD)
		return SAR_INDATALENERR;
	if (!c->app->user_in)
		return SAR_USER_NOT_LOGGED_IN;
	if ((k = key_load(c, "sign.key")) == NULL)
		return SAR_KEYNOTFOUNTERR;
	r = sm2_sign_digest(k, pbDigest, pSignature) == 0 ? SAR_OK : SAR_FAIL;
	EVP_PKEY_free(k);
	return r;
}

SKF_EXPORT ULONG SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbDigest, ULONG ulDigestLen,
				 ECCSIGNATUREBLOB *pSignature)
{
	SK_LOCKED(ecc_sign_data(hContainer, pbDigest, ulDigestLen, pSignature));
}

/* DER SEQUENCE { r, s } of sig into der (at most 80 bytes). Returns its length or -1. */
static int sig_der(const ECCSIGNATUREBLOB *sig, unsigned char *der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig->r + PAD, COORD, NULL), *ss = BN_bin2bn(sig->s + PAD, COORD, NULL);
	unsigned char *p = der;
	int n = -1;

	if (s != NULL && r != NULL && ss != NULL && memcmp(sig->r, zeros, PAD) == 0 &&
	    memcmp(sig->s, zeros, PAD) == 0 && ECDSA_SIG_set0(s, r, ss) == 1) {
		r = ss = NULL;
		if (i2d_ECDSA_SIG(s, NULL) <= 80)
			n = i2d_ECDSA_SIG(s, &p);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return n;
}

/* A signature that does not verify answers SAR_FAIL (this header names no verification error). */
static ULONG ecc_verify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob, BYTE *pbData, ULONG ulDataLen,
			ECCSIGNATUREBLOB *pSignature)
{
	struct sk_dev *d;
	unsigned char der[80];
	EVP_PKEY *k;
	EVP_PKEY_CTX *ctx;
	int n;
	ULONG r = sk_dev_get(hDev, 0, &d);

	if (r != SAR_OK)
		return r;
	if (pECCPubKeyBlob == NULL || pbData == NULL || pSignature == NULL)
		return SAR_INVALIDPARAMERR;
	if (ulDataLen != COORD)
		return SAR_INDATALENERR;
	if ((k = key_from(pECCPubKeyBlob, NULL)) == NULL)
		return SAR_INVALIDPARAMERR;
	n = sig_der(pSignature, der);
	ctx = EVP_PKEY_CTX_new(k, NULL);
	r = n > 0 && ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
			    EVP_PKEY_verify(ctx, der, (size_t)n, pbData, COORD) == 1
		    ? SAR_OK
		    : SAR_FAIL;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	return r;
}

SKF_EXPORT ULONG SKF_ECCVerify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob, BYTE *pbData, ULONG ulDataLen,
			       ECCSIGNATUREBLOB *pSignature)
{
	SK_LOCKED(ecc_verify(hDev, pECCPubKeyBlob, pbData, ulDataLen, pSignature));
}

static ULONG export_public_key(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob, ULONG *pulBlobLen)
{
	struct sk_con *c;
	ECCPUBLICKEYBLOB blob;
	EVP_PKEY *k;
	ULONG r = sk_con_get(hContainer, 0, &c);

	if (r != SAR_OK)
		return r;
	if (pulBlobLen == NULL)
		return SAR_INVALIDPARAMERR;
	if ((k = key_load(c, bSignFlag ? "sign.key" : "enc.key")) == NULL)
		return SAR_KEYNOTFOUNTERR;
	r = pub_to_blob(k, &blob) == 0 ? sk_out(&blob, sizeof(blob), pbBlob, pulBlobLen) : SAR_FAIL;
	EVP_PKEY_free(k);
	return r;
}

SKF_EXPORT ULONG SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob, ULONG *pulBlobLen)
{
	SK_LOCKED(export_public_key(hContainer, bSignFlag, pbBlob, pulBlobLen));
}

/* Appends an ASN1_TYPE of type holding value v to sk. Returns 0 or -1 (v freed then). */
static int push_any(STACK_OF(ASN1_TYPE) *sk, int type, void *v)
{
	ASN1_TYPE *t = ASN1_TYPE_new();

	if (t == NULL || v == NULL) {
		ASN1_TYPE_free(t);
		if (type == V_ASN1_INTEGER)
			ASN1_INTEGER_free(v);
		else
			ASN1_OCTET_STRING_free(v);
		return -1;
	}
	ASN1_TYPE_set(t, type, v);
	if (sk_ASN1_TYPE_push(sk, t) <= 0) {
		ASN1_TYPE_free(t);
		return -1;
	}
	return 0;
}

/* An OCTET STRING of n bytes of p, or NULL. */
static ASN1_OCTET_STRING *octets(const unsigned char *p, int n)
{
	ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
	if (o != NULL && ASN1_OCTET_STRING_set(o, p, n) != 1) {
		ASN1_OCTET_STRING_free(o);
		o = NULL;
	}
	return o;
}

/* The ECCCIPHERBLOB cb (its Cipher of len bytes) as OpenSSL's SM2 ciphertext DER SEQUENCE { x, y,
 * C3, C2 } (caller frees), *derlen its length; NULL when malformed. */
static unsigned char *cipher_der(const ECCCIPHERBLOB *cb, const unsigned char *cipher, int len, int *derlen)
{
	STACK_OF(ASN1_TYPE) *sk = sk_ASN1_TYPE_new_null();
	BIGNUM *x = BN_bin2bn(cb->XCoordinate + PAD, COORD, NULL), *y = BN_bin2bn(cb->YCoordinate + PAD, COORD, NULL);
	unsigned char *der = NULL;
	int ok = sk != NULL && x != NULL && y != NULL && memcmp(cb->XCoordinate, zeros, PAD) == 0 &&
		 memcmp(cb->YCoordinate, zeros, PAD) == 0 &&
		 push_any(sk, V_ASN1_INTEGER, BN_to_ASN1_INTEGER(x, NULL)) == 0 &&
		 push_any(sk, V_ASN1_INTEGER, BN_to_ASN1_INTEGER(y, NULL)) == 0 &&
		 push_any(sk, V_ASN1_OCTET_STRING, octets(cb->HASH, 32)) == 0 &&
		 push_any(sk, V_ASN1_OCTET_STRING, octets(cipher, len)) == 0;

	if (ok && (*derlen = i2d_ASN1_SEQUENCE_ANY(sk, &der)) <= 0)
		der = NULL;
	sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
	BN_free(x);
	BN_free(y);
	return der;
}

/* SM2-decrypts the 16-byte session key of cb with the signing key k into key. Returns 0 or -1. */
static int open_session_key(EVP_PKEY *k, const ECCCIPHERBLOB *cb, unsigned char key[16])
{
	unsigned char out[64];
	size_t outlen = sizeof(out);
	int derlen = 0;
	unsigned char *der = cipher_der(cb, (const unsigned char *)cb + offsetof(ECCCIPHERBLOB, Cipher), 16, &derlen);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	int ok = der != NULL && ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1 &&
		 EVP_PKEY_decrypt(ctx, out, &outlen, der, (size_t)derlen) == 1 && outlen == 16;

	if (ok)
		memcpy(key, out, 16);
	OPENSSL_cleanse(out, sizeof(out));
	OPENSSL_free(der);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* SM4-ECB-decrypts the 32 bytes in under key into out (no padding). Returns 0 or -1. */
static int sm4_ecb_decrypt32(const unsigned char key[16], const unsigned char *in, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *sm4 = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
	int n = 0, fin = 0;
	int ok = ctx != NULL && sm4 != NULL && EVP_DecryptInit_ex(ctx, sm4, NULL, key, NULL) == 1 &&
		 EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_DecryptUpdate(ctx, out, &n, in, COORD) == 1 &&
		 EVP_DecryptFinal_ex(ctx, out + n, &fin) == 1 && n + fin == COORD;

	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(sm4);
	return ok ? 0 : -1;
}

/* Whether d·G is the point of pub (d within [1, n-1]). */
static int d_matches(const BIGNUM *d, const ECCPUBLICKEYBLOB *pub)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	EC_POINT *p = g != NULL ? EC_POINT_new(g) : NULL;
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *x = BN_new(), *y = BN_new();
	unsigned char bx[COORD], by[COORD];
	int ok = p != NULL && bn != NULL && x != NULL && y != NULL && !BN_is_zero(d) && !BN_is_negative(d) &&
		 BN_cmp(d, EC_GROUP_get0_order(g)) < 0 && EC_POINT_mul(g, p, d, NULL, NULL, bn) == 1 &&
		 EC_POINT_get_affine_coordinates(g, p, x, y, bn) == 1 && BN_bn2binpad(x, bx, COORD) == COORD &&
		 BN_bn2binpad(y, by, COORD) == COORD && memcmp(bx, pub->XCoordinate + PAD, COORD) == 0 &&
		 memcmp(by, pub->YCoordinate + PAD, COORD) == 0;

	BN_free(x);
	BN_free(y);
	BN_CTX_free(bn);
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return ok;
}

/* Opens the envelope b with the signing key k. Returns the encryption key pair (caller frees) or
 * NULL when it does not open or its private key is not the one of b->PubKey. */
static EVP_PKEY *envelope_open(EVP_PKEY *k, const ENVELOPEDKEYBLOB *b)
{
	unsigned char key[16], dbin[COORD];
	BIGNUM *d = NULL;
	EVP_PKEY *enc = NULL;

	if (open_session_key(k, &b->ECCCipherBlob, key) == 0 &&
	    sm4_ecb_decrypt32(key, b->cbEncryptedPriKey + PAD, dbin) == 0 &&
	    (d = BN_secure_new()) != NULL && BN_bin2bn(dbin, COORD, d) != NULL && d_matches(d, &b->PubKey))
		enc = key_from(&b->PubKey, d);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(dbin, sizeof(dbin));
	BN_clear_free(d);
	return enc;
}

/* An envelope that does not open, or whose private key does not match its PubKey, answers
 * SAR_INDATAERR. */
static ULONG import_ecc_key_pair(HCONTAINER hContainer, ENVELOPEDKEYBLOB *pEnvelopedKeyBlob)
{
	struct sk_con *c;
	EVP_PKEY *k, *enc;
	ULONG r = sk_con_get(hContainer, 1, &c);

	if (r != SAR_OK)
		return r;
	if (pEnvelopedKeyBlob == NULL)
		return SAR_INVALIDPARAMERR;
	if (pEnvelopedKeyBlob->ulSymmAlgID != SGD_SM4_ECB)
		return SAR_NOTSUPPORTYETERR;
	if (pEnvelopedKeyBlob->ulBits != 256 || pEnvelopedKeyBlob->ECCCipherBlob.CipherLen != 16)
		return SAR_INDATALENERR;
	if (!c->app->user_in)
		return SAR_USER_NOT_LOGGED_IN;
	if ((k = key_load(c, "sign.key")) == NULL)
		return SAR_KEYNOTFOUNTERR;
	enc = envelope_open(k, pEnvelopedKeyBlob);
	r = enc != NULL ? key_store(c, "enc.key", enc) : SAR_INDATAERR;
	EVP_PKEY_free(enc);
	EVP_PKEY_free(k);
	return r;
}

SKF_EXPORT ULONG SKF_ImportECCKeyPair(HCONTAINER hContainer, ENVELOPEDKEYBLOB *pEnvelopedKeyBlob)
{
	SK_LOCKED(import_ecc_key_pair(hContainer, pEnvelopedKeyBlob));
}
