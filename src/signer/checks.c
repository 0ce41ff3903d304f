/* What the signer agrees to sign (pki-contract.md, "What the signer checks before signing"). Each TBS
 * is wrapped into its signed container with an empty signature so OpenSSL's own d2i parses it; the
 * wrapper's d2i must consume everything, and the TBS itself must be strict DER (der.c). */
#include "signer/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "seal/seal.h"

static const unsigned char empty_bits[] = {0x03, 0x01, 0x00}; /* BIT STRING, no bits */

const char *checks_kind_name(int kind)
{
	static const char *const names[] = {"tbs_certificate", "tbs_cert_list", "ocsp_response_data", "seal"};
	if (kind < SIGNER_KIND_MIN || kind > SIGNER_KIND_MAX)
		return "unknown";
	return names[kind - 1];
}

int checks_key_alg(const EVP_PKEY *pk)
{
	char group[64] = "";

	if (pk == NULL)
		return 0;
	if (EVP_PKEY_is_a(pk, "RSA"))
		return EVP_PKEY_get_bits(pk) >= 2048 ? KEY_ALG_RSA : 0;
	if (EVP_PKEY_is_a(pk, "SM2"))
		return KEY_ALG_SM2;
	if (EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) == 1) {
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			return KEY_ALG_P256;
		if (strcmp(group, "SM2") == 0)
			return KEY_ALG_SM2;
	}
	return 0;
}

/* Returns 1 when names a and b have the same DER encoding. */
static int name_same(const X509_NAME *a, const X509_NAME *b)
{
	const unsigned char *pa = NULL, *pb = NULL;
	size_t la = 0, lb = 0;

	if (a == NULL || b == NULL || X509_NAME_get0_der((X509_NAME *)a, &pa, &la) != 1 ||
	    X509_NAME_get0_der((X509_NAME *)b, &pb, &lb) != 1)
		return 0;
	return la == lb && memcmp(pa, pb, la) == 0;
}

/* Returns the i-th child TLV of the SEQUENCE p (n bytes) in c and cl; 0, or -1 when there is none. */
static int child(const unsigned char *p, size_t n, int i, const unsigned char **c, size_t *cl)
{
	size_t off[8], len[8];
	int count = der_children(p, n, off, len, 8);

	if (count < 0 || i >= count || i >= 8)
		return -1;
	*c = p + off[i];
	*cl = len[i];
	return 0;
}

/* Finds the signature AlgorithmIdentifier inside a TBSCertificate (skip [0] version and serial) or
 * a TBSCertList (skip an optional version). */
static int tbs_alg(int kind, const unsigned char *p, size_t n, const unsigned char **alg, size_t *alen)
{
	const unsigned char *c;
	size_t cl;
	int i = 0;

	if (child(p, n, i, &c, &cl) != 0)
		return -1;
	if (kind == SIGNER_KIND_TBS_CERT) {
		if (c[0] == 0xa0 && child(p, n, ++i, &c, &cl) != 0)
			return -1;
		if (c[0] != 0x02 || child(p, n, ++i, &c, &cl) != 0) /* serialNumber */
			return -1;
	} else if (c[0] == 0x02 && child(p, n, ++i, &c, &cl) != 0) {
		return -1;
	}
	if (c[0] != 0x30)
		return -1;
	*alg = c;
	*alen = cl;
	return 0;
}

/* Writes the serial number of x in hex into out. */
static void serial_hex(const X509 *x, char *out, size_t outlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(out, outlen, "%s", h != NULL ? h : "");
	OPENSSL_free(h);
	BN_free(bn);
}

/* Kind 1: an end-entity TBSCertificate of the key's CA. */
static int check_cert(const struct signer_key *k, X509 *x, struct check_info *info, char *why, size_t whylen)
{
	const char *r = NULL;
	int crit = 0;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	uint32_t flags = X509_get_extension_flags(x); /* also parses every extension OpenSSL knows */

	serial_hex(x, info->serial, sizeof(info->serial));
	if (flags & EXFLAG_INVALID)
		r = "malformed or duplicate extension";
	else if (bc == NULL && crit != -1)
		r = "malformed basicConstraints";
	else if (bc != NULL && bc->ca)
		r = "basicConstraints cA TRUE: CA certificates are made only by certdesk ca init";
	else if (X509_get_key_usage(x) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
		r = "keyCertSign or cRLSign in an end-entity certificate";
	else if (!name_same(X509_get_issuer_name(x), X509_get_subject_name(k->cert)))
		r = "issuer is not the subject of the key's CA certificate";
	else if (ASN1_STRING_type(X509_get0_serialNumber(x)) == V_ASN1_NEG_INTEGER)
		r = "negative serial number";
	else if (ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notBefore(k->cert)) < 0 ||
		 ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(k->cert)) > 0)
		r = "validity not within the CA certificate's";
	else if (ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notAfter(x)) > 0)
		r = "notBefore after notAfter";
	BASIC_CONSTRAINTS_free(bc);
	if (r != NULL)
		snprintf(why, whylen, "%s", r);
	return r != NULL ? -1 : 0;
}

/* Kind 3: the responder id names the key's certificate, by name or by key hash. */
static int check_ocsp(const struct signer_key *k, OCSP_BASICRESP *bs, char *why, size_t whylen)
{
	const ASN1_OCTET_STRING *kid = NULL;
	const X509_NAME *name = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (OCSP_resp_get0_id(bs, &kid, &name) != 1) {
		snprintf(why, whylen, "no responder id");
		return -1;
	}
	if (name != NULL && name_same(name, X509_get_subject_name(k->cert)))
		return 0;
	if (kid != NULL && X509_pubkey_digest(k->cert, EVP_sha1(), md, &mdlen) == 1 &&
	    (unsigned int)ASN1_STRING_length(kid) == mdlen &&
	    memcmp(ASN1_STRING_get0_data(kid), md, mdlen) == 0)
		return 0;
	snprintf(why, whylen, "responder id is not the key's certificate");
	return -1;
}

/* Parses the i-th certificate of the seal's certList; NULL when it is not exactly one certificate. */
static X509 *seal_cert(const struct seal *s, int i)
{
	const unsigned char *q = s->certs[i].p;
	X509 *x = d2i_X509(NULL, &q, (long)s->certs[i].len);

	if (x != NULL && q != s->certs[i].p + s->certs[i].len) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Decodes a seal maker's TBS: a v4 SES_SealInfo (GB/T 38540, decoded whole by seal_der.c) whose
 * certList holds certificates (type 1: digests would bind nothing the signer can check), each one
 * X.509 certificate. Returns the decoded seal (caller frees), or NULL with why. */
static struct seal *seal_tbs(const unsigned char *p, size_t n, char *why, size_t whylen)
{
	struct seal *s = calloc(1, sizeof(*s));
	char err[256];

	if (s == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (seal_info_decode(p, n, s, err, sizeof(err)) != 0) {
		snprintf(why, whylen, "not a GB/T 38540 v4 SES_SealInfo");
		goto fail;
	}
	if (s->cert_list_type != 1 || s->ncerts < 1) {
		snprintf(why, whylen, "the seal's certList holds no certificate");
		goto fail;
	}
	for (int i = 0; i < s->ncerts; i++) {
		X509 *x = seal_cert(s, i);
		X509_free(x);
		if (x == NULL) {
			snprintf(why, whylen, "certList entry %d is not one X.509 certificate", i + 1);
			goto fail;
		}
	}
	return s;
fail:
	free(s);
	return NULL;
}

/* Kind 4: what a seal maker signs, and only that: a v4 SES_SealInfo with certificates (seal_tbs),
 * signed with an SM2 key. An electronic signature's TBS_Sign is signed by its signer's own key, never
 * by a CA's: refused. Which CA issued the certificates is checked by checks_seal_issuers. */
static int check_seal(const struct signer_key *k, const unsigned char *p, size_t n, char *why, size_t whylen)
{
	struct seal *s;

	if (k->alg != KEY_ALG_SM2) {
		snprintf(why, whylen, "seals are signed with SM2 keys only");
		return -1;
	}
	if ((s = seal_tbs(p, n, why, whylen)) == NULL)
		return -1;
	free(s);
	return 0;
}

/* Returns 1 when ca issued x: its subject is x's issuer and its key verifies x's signature (an SM2
 * key with the ID 1234567812345678, as the signer signs). */
static int issued_by(X509 *x, X509 *ca)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca);

	if (!name_same(X509_get_issuer_name(x), X509_get_subject_name(ca)))
		return 0;
	if (checks_key_alg(pub) == KEY_ALG_SM2) {
		ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
		if (id == NULL ||
		    ASN1_OCTET_STRING_set(id, (const unsigned char *)SIGNER_SM2_ID, SIGNER_SM2_ID_LEN) != 1) {
			ASN1_OCTET_STRING_free(id);
			return 0;
		}
		X509_set0_distinguishing_id(x, id); /* takes id */
	}
	return X509_verify(x, pub) == 1;
}

int checks_seal_issuers(const unsigned char *data, size_t len, X509 *const *cas, int ncas, char *why,
			size_t whylen)
{
	struct seal *s = seal_tbs(data, len, why, whylen);
	int rc = 0;

	for (int i = 0; s != NULL && i < s->ncerts && rc == 0; i++) {
		X509 *x = seal_cert(s, i);
		int found = 0;
		for (int j = 0; x != NULL && j < ncas && !found; j++)
			found = cas[j] != NULL && issued_by(x, cas[j]);
		X509_free(x);
		if (!found) {
			snprintf(why, whylen, "certList certificate %d was not issued by a CA of this signer", i + 1);
			rc = -1;
		}
	}
	if (s == NULL)
		return -1;
	free(s);
	return rc;
}

/* Parses the wrapped TBS with OpenSSL and runs the checks of kind; returns 0 or -1 with why. */
static int check_parsed(const struct signer_key *k, int kind, const unsigned char *w, size_t wl,
			struct check_info *info, char *why, size_t whylen)
{
	const unsigned char *q = w;
	int rc = -1;

	if (kind == SIGNER_KIND_TBS_CERT) {
		X509 *x = d2i_X509(NULL, &q, (long)wl);
		if (x != NULL && q == w + wl)
			rc = check_cert(k, x, info, why, whylen);
		else
			snprintf(why, whylen, "not a TBSCertificate");
		X509_free(x);
	} else if (kind == SIGNER_KIND_TBS_CRL) {
		X509_CRL *c = d2i_X509_CRL(NULL, &q, (long)wl);
		if (c == NULL || q != w + wl)
			snprintf(why, whylen, "not a TBSCertList");
		else if (!name_same(X509_CRL_get_issuer(c), X509_get_subject_name(k->cert)))
			snprintf(why, whylen, "CRL issuer is not the subject of the key's CA certificate");
		else
			rc = 0;
		X509_CRL_free(c);
	} else {
		OCSP_BASICRESP *bs = d2i_OCSP_BASICRESP(NULL, &q, (long)wl);
		if (bs != NULL && q == w + wl)
			rc = check_ocsp(k, bs, why, whylen);
		else
			snprintf(why, whylen, "not an OCSP ResponseData");
		OCSP_BASICRESP_free(bs);
	}
	return rc;
}

int checks_request(const struct signer_key *k, int kind, const unsigned char *data, size_t len,
		   struct check_info *info, char *why, size_t whylen)
{
	const unsigned char *alg = NULL;
	unsigned char tag = 0;
	size_t alen = 0, wl = 0;

	memset(info, 0, sizeof(*info));
	if (!der_is_one_value(data, len, &tag) || tag != 0x30) {
		snprintf(why, whylen, "not exactly one DER SEQUENCE (BER, trailing or missing bytes)");
		return -1;
	}
	if (kind == SIGNER_KIND_SEAL)
		return check_seal(k, data, len, why, whylen);
	if (kind == SIGNER_KIND_TBS_CERT || kind == SIGNER_KIND_TBS_CRL) {
		if (tbs_alg(kind, data, len, &alg, &alen) != 0) {
			snprintf(why, whylen, "no signature AlgorithmIdentifier where the TBS has it");
			return -1;
		}
		if (!der_alg_id_matches(k->alg, alg, alen)) {
			snprintf(why, whylen, "signature algorithm does not match the key");
			return -1;
		}
	} else {
		alg = der_alg_id(k->alg, &alen); /* ResponseData names no algorithm */
	}
	unsigned char *w = der_wrap3(data, len, alg, alen, empty_bits, sizeof(empty_bits), &wl);
	if (w == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	int rc = check_parsed(k, kind, w, wl, info, why, whylen);
	free(w);
	return rc;
}
