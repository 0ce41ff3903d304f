/* OCSP (RFC 6960, with RFC 5019's one-request profile): requests are parsed with OpenSSL; the
 * ResponseData is written here in DER (OpenSSL builds it only while signing with a private key it
 * holds, and the responder key lives in certdesk-signer), signed by the signer, then wrapped in a
 * BasicOCSPResponse with the responder's certificate and in an OCSPResponse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "pki/pki.h"
#include "pki/signer_client.h"
#include "pki/signer_proto.h"
#include "pki/status.h"

/* A growing DER buffer. */
struct der {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void put(struct der *d, const void *bytes, size_t n)
{
	if (d->failed || n == 0)
		return;
	if (d->len + n > d->cap) {
		size_t cap = (d->len + n) * 2 + 64;
		unsigned char *q = realloc(d->p, cap);
		if (q == NULL) {
			d->failed = 1;
			return;
		}
		d->p = q;
		d->cap = cap;
	}
	memcpy(d->p + d->len, bytes, n);
	d->len += n;
}

/* Appends tag, the DER length of n and the n content bytes. */
static void tlv(struct der *d, unsigned char tag, const void *content, size_t n)
{
	unsigned char h[6] = {tag};
	size_t hl = 2;

	if (n < 0x80) {
		h[1] = (unsigned char)n;
	} else {
		int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
		h[1] = (unsigned char)(0x80 | bytes);
		for (int i = 0; i < bytes; i++)
			h[2 + i] = (unsigned char)(n >> (8 * (bytes - 1 - i)));
		hl = 2 + (size_t)bytes;
	}
	put(d, h, hl);
	put(d, content, n);
}

/* Appends what a buffer holds as the content of tag, and frees it. */
static void wrap(struct der *out, unsigned char tag, struct der *in)
{
	if (in->failed)
		out->failed = 1;
	tlv(out, tag, in->p, in->len);
	free(in->p);
	memset(in, 0, sizeof(*in));
}

/* Appends a GeneralizedTime (RFC 5280: UTC, seconds, "Z"). */
static void gentime(struct der *d, time_t t)
{
	struct tm tm;
	char s[16];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
	tlv(d, 0x18, s, strlen(s));
}

/* Appends the DER of an OpenSSL value that i2d encoded: n bytes at *q, which is freed. (q is passed
 * by address so that it is read after the i2d call in the same argument list has set it.) */
static void put_i2d(struct der *d, unsigned char **q, int n)
{
	if (n <= 0)
		d->failed = 1;
	else
		put(d, *q, (size_t)n);
	OPENSSL_free(*q);
	*q = NULL;
}

OCSP_CERTID *pki_ocsp_request_id(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_REQUEST *rq = len > 0 && len <= 65536 ? d2i_OCSP_REQUEST(NULL, &p, (long)len) : NULL;
	OCSP_CERTID *id = NULL;

	if (rq != NULL && p == der + len && OCSP_request_onereq_count(rq) == 1)
		id = OCSP_CERTID_dup(OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, 0)));
	OCSP_REQUEST_free(rq);
	return id;
}

OCSP_CERTID *pki_ocsp_id(X509 *ca, const char *serial_hex, const EVP_MD *md)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	OCSP_CERTID *id = NULL;

	if (BN_hex2bn(&bn, serial_hex) > 0 && (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL)
		id = OCSP_cert_id_new(md, X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return id;
}

int pki_ocsp_id_serial(const OCSP_CERTID *id, char out[48])
{
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn;
	char *hex;
	int rc = -1;

	if (OCSP_id_get0_info(NULL, NULL, NULL, &serial, (OCSP_CERTID *)id) != 1 || serial == NULL)
		return -1;
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	hex = bn != NULL && !BN_is_negative(bn) ? BN_bn2hex(bn) : NULL;
	if (hex != NULL && strlen(hex) < 48) {
		snprintf(out, 48, "%s", hex);
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int pki_ocsp_id_issued_by(const OCSP_CERTID *id, X509 *ca)
{
	ASN1_OBJECT *md_oid = NULL;
	const EVP_MD *md;
	OCSP_CERTID *ours;
	int same;

	if (OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, (OCSP_CERTID *)id) != 1 ||
	    (md = EVP_get_digestbyobj(md_oid)) == NULL)
		return 0;
	ours = pki_ocsp_id(ca, "1", md);
	same = ours != NULL && OCSP_id_issuer_cmp(ours, id) == 0;
	OCSP_CERTID_free(ours);
	return same;
}

size_t pki_ocsp_error(int status, unsigned char out[5])
{
	/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } */
	out[0] = 0x30, out[1] = 3, out[2] = 0x0a, out[3] = 1, out[4] = (unsigned char)status;
	return 5;
}

/* Writes ResponseData for a, answered by responder (by key hash). */
static void response_data(struct der *d, const struct pki_ocsp_answer *a, X509 *responder, time_t now)
{
	unsigned char kh[EVP_MAX_MD_SIZE], *q = NULL;
	unsigned int khl = 0;
	struct der rid = {0}, single = {0}, st = {0}, list = {0}, body = {0}, nu = {0};

	/* responderID byKey: [2] EXPLICIT KeyHash (SHA-1 of the responder's public key bits) */
	if (X509_pubkey_digest(responder, EVP_sha1(), kh, &khl) != 1)
		d->failed = 1;
	tlv(&rid, 0x04, kh, khl);
	wrap(&body, 0xa2, &rid);
	gentime(&body, now);
	/* SingleResponse */
	put_i2d(&single, &q, i2d_OCSP_CERTID((OCSP_CERTID *)a->id, &q));
	if (a->status == PKI_OCSP_GOOD) {
		tlv(&single, 0x80, "", 0);
	} else if (a->status == PKI_OCSP_UNKNOWN) {
		tlv(&single, 0x82, "", 0);
	} else {
		gentime(&st, a->revoked_at);
		if (a->reason > 0) {
			unsigned char e[3] = {0x0a, 1, (unsigned char)a->reason};
			tlv(&st, 0xa0, e, sizeof(e));
		}
		wrap(&single, 0xa1, &st);
	}
	gentime(&single, a->this_update);
	gentime(&nu, a->next_update);
	wrap(&single, 0xa0, &nu);
	wrap(&list, 0x30, &single);
	wrap(&body, 0x30, &list);
	wrap(d, 0x30, &body);
}

/* Writes the responder key's signature AlgorithmIdentifier. */
static void sig_alg(struct der *d, EVP_PKEY *pk)
{
	X509_ALGOR *a = X509_ALGOR_new();
	unsigned char *q = NULL;
	int alg = pki_key_alg(pk, NULL, 0), nid = alg == PKI_ALG_SM2 ? NID_SM2_with_SM3
						 : alg == PKI_ALG_P256 ? NID_ecdsa_with_SHA256
								       : NID_sha256WithRSAEncryption;

	if (a == NULL || alg < 0 ||
	    !X509_ALGOR_set0(a, OBJ_nid2obj(nid), nid == NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF,
			     NULL))
		d->failed = 1;
	else
		put_i2d(d, &q, i2d_X509_ALGOR(a, &q));
	X509_ALGOR_free(a);
}

int pki_ocsp_sign(const struct pki_ocsp_answer *a, X509 *responder, const char *socket_path, const char *key_id,
		  unsigned char **der, size_t *derlen, char *err, size_t errlen)
{
	static const unsigned char basic_oid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};
	struct der tbs = {0}, basic = {0}, bits = {0}, certs = {0}, seq = {0}, rb = {0}, bytes = {0}, out = {0};
	unsigned char *sig = NULL, *q = NULL, zero = 0, ok_status[3] = {0x0a, 1, 0};
	size_t siglen = 0;
	int rc;

	*der = NULL;
	response_data(&tbs, a, responder, time(NULL));
	if (tbs.failed) {
		free(tbs.p);
		snprintf(err, errlen, "encoding the OCSP ResponseData");
		return SIGNER_INTERNAL;
	}
	rc = signer_sign(socket_path, key_id, SIGNER_KIND_OCSP, tbs.p, tbs.len, &sig, &siglen, err, errlen);
	if (rc == 0 && !pki_tbs_verify(X509_get0_pubkey(responder), tbs.p, tbs.len, sig, siglen)) {
		snprintf(err, errlen, "the signer's OCSP signature does not verify with the responder certificate");
		rc = SIGNER_INTERNAL;
	}
	if (rc == 0) {
		/* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature,
		 *                                  certs [0] EXPLICIT SEQUENCE OF Certificate } */
		put(&basic, tbs.p, tbs.len);
		sig_alg(&basic, X509_get0_pubkey(responder));
		put(&bits, &zero, 1);
		put(&bits, sig, siglen);
		wrap(&basic, 0x03, &bits);
		put_i2d(&certs, &q, i2d_X509(responder, &q));
		wrap(&seq, 0x30, &certs);
		wrap(&basic, 0xa0, &seq);
		/* OCSPResponse ::= SEQUENCE { successful, [0] EXPLICIT ResponseBytes { id-pkix-ocsp-basic,
		 *                             OCTET STRING BasicOCSPResponse } } */
		wrap(&bytes, 0x30, &basic); /* BasicOCSPResponse */
		tlv(&rb, 0x06, basic_oid, sizeof(basic_oid));
		wrap(&rb, 0x04, &bytes);
		wrap(&bytes, 0x30, &rb);
		put(&seq, ok_status, sizeof(ok_status));
		wrap(&seq, 0xa0, &bytes);
		wrap(&out, 0x30, &seq);
		if (out.failed) {
			free(out.p);
			snprintf(err, errlen, "encoding the OCSPResponse");
			rc = SIGNER_INTERNAL;
		} else {
			*der = out.p;
			*derlen = out.len;
		}
	}
	free(tbs.p);
	free(sig);
	return rc;
}
