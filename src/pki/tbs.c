/* The certificate of an order: serial, subject and extensions from the profile (never from the
 * CSR), encoded as the TBSCertificate the signer signs, then assembled with the signature. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "store/store.h"

int pki_serial_new(unsigned char out[PKI_SERIAL_LEN])
{
	for (int tries = 0; tries < 4; tries++) {
		if (RAND_bytes(out, PKI_SERIAL_LEN) != 1)
			return -1;
		out[0] &= 0x7f; /* positive as a DER INTEGER, at most 16 octets with its sign */
		for (int i = 0; i < PKI_SERIAL_LEN; i++)
			if (out[i] != 0)
				return 0;
	}
	return -1;
}

void pki_serial_hex(const unsigned char serial[PKI_SERIAL_LEN], char out[48])
{
	static const char hex[] = "0123456789ABCDEF";
	int i = 0, o = 0;

	while (i < PKI_SERIAL_LEN - 1 && serial[i] == 0)
		i++;
	for (; i < PKI_SERIAL_LEN; i++) {
		out[o++] = hex[serial[i] >> 4];
		out[o++] = hex[serial[i] & 15];
	}
	out[o] = '\0';
	if (out[0] == '0' && out[1] != '\0') /* no leading zero digit either */
		memmove(out, out + 1, (size_t)o);
}

/* Appends attribute field=value (value with {org_name} and {uscc} expanded) to name. Returns 0 or -1. */
static int add_rdn(X509_NAME *name, const char *field, const char *value, const char *org_name, const char *uscc)
{
	const char *v = value;
	int nid = OBJ_txt2nid(field);

	if (nid == NID_undef)
		return -1;
	if (strcmp(value, "{org_name}") == 0)
		v = org_name;
	else if (strcmp(value, "{uscc}") == 0)
		v = uscc;
	else if (strchr(value, '{') != NULL)
		return -1;
	if (v == NULL || v[0] == '\0')
		return -1;
	/* countryName and serialNumber are PrintableString; the rest UTF8String (Chinese names) */
	return X509_NAME_add_entry_by_NID(name, nid, nid == NID_countryName || nid == NID_serialNumber ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8,
					  (const unsigned char *)v, -1, -1, 0) == 1
		       ? 0
		       : -1;
}

X509_NAME *pki_subject_from_template(const char *tmpl, const char *org_name, const char *uscc)
{
	X509_NAME *name = X509_NAME_new();
	char *copy = strdup(tmpl != NULL ? tmpl : ""), *save = NULL, *tok;
	int ok = name != NULL && copy != NULL && copy[0] != '\0';

	for (tok = ok ? strtok_r(copy, ",", &save) : NULL; ok && tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			ok = 0;
			break;
		}
		*eq = '\0';
		ok = add_rdn(name, tok, eq + 1, org_name, uscc) == 0;
	}
	free(copy);
	if (!ok) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/* Adds certificatePolicies with the one policy oid (no qualifiers). Returns 0 or -1. */
static int add_policy(X509 *x, const char *oid)
{
	CERTIFICATEPOLICIES *pols = CERTIFICATEPOLICIES_new();
	POLICYINFO *pi = POLICYINFO_new();
	int ok = pols != NULL && pi != NULL && (pi->policyid = OBJ_txt2obj(oid, 1)) != NULL &&
		 sk_POLICYINFO_push(pols, pi) > 0;

	if (!ok)
		POLICYINFO_free(pi);
	ok = ok && X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, X509V3_ADD_APPEND) == 1;
	CERTIFICATEPOLICIES_free(pols);
	return ok ? 0 : -1;
}

/* Adds the extension nid built from the OpenSSL config text value. Returns 0 or -1. */
static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e != NULL && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

/* Adds the identity extension oid carrying the USCC as a PrintableString (non-critical). */
static int add_identity(X509 *x, const char *oid, const char *uscc)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_PRINTABLESTRING *s = ASN1_PRINTABLESTRING_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	unsigned char *der = NULL;
	int len, ok = 0;

	if (obj == NULL || s == NULL || os == NULL || ASN1_STRING_set(s, uscc, -1) != 1)
		goto out;
	len = i2d_ASN1_PRINTABLESTRING(s, &der);
	if (len <= 0 || ASN1_OCTET_STRING_set(os, der, len) != 1)
		goto out;
	e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	ok = e != NULL && X509_add_ext(x, e, -1) == 1;
out:
	OPENSSL_free(der);
	X509_EXTENSION_free(e);
	ASN1_OBJECT_free(obj);
	ASN1_PRINTABLESTRING_free(s);
	ASN1_OCTET_STRING_free(os);
	return ok ? 0 : -1;
}

/* Adds the profile's extensions to x (issued by ca). Returns 0 or -1 with the failing one in err. */
static int add_extensions(X509 *x, X509 *ca, const struct cert_profile_rec *p, const char *uscc, char *err,
			  size_t errlen)
{
	X509V3_CTX ctx;
	char buf[1024];

	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	snprintf(buf, sizeof(buf), "critical,%s", p->key_usage);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(x, &ctx, NID_key_usage, buf) != 0)
		return snprintf(err, errlen, "basicConstraints or keyUsage (%s)", p->key_usage), -1;
	if (p->ext_key_usage[0] != '\0' && add_ext(x, &ctx, NID_ext_key_usage, p->ext_key_usage) != 0)
		return snprintf(err, errlen, "extendedKeyUsage (%s)", p->ext_key_usage), -1;
	if (add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0)
		return snprintf(err, errlen, "key identifiers"), -1;
	if (p->policy_oid[0] != '\0' && add_policy(x, p->policy_oid) != 0)
		return snprintf(err, errlen, "certificatePolicies (%s)", p->policy_oid), -1;
	snprintf(buf, sizeof(buf), "URI:%s", p->crl_url);
	if (p->crl_url[0] != '\0' && add_ext(x, &ctx, NID_crl_distribution_points, buf) != 0)
		return snprintf(err, errlen, "crlDistributionPoints"), -1;
	if (p->ocsp_url[0] != '\0' || p->ca_issuers_url[0] != '\0') {
		snprintf(buf, sizeof(buf), "%s%s%s%s%s", p->ocsp_url[0] ? "OCSP;URI:" : "", p->ocsp_url,
			 p->ocsp_url[0] && p->ca_issuers_url[0] ? "," : "", p->ca_issuers_url[0] ? "caIssuers;URI:" : "",
			 p->ca_issuers_url);
		if (add_ext(x, &ctx, NID_info_access, buf) != 0)
			return snprintf(err, errlen, "authorityInfoAccess"), -1;
	}
	if (p->identity_oid[0] != '\0' && add_identity(x, p->identity_oid, uscc) != 0)
		return snprintf(err, errlen, "identity extension %s", p->identity_oid), -1;
	return 0;
}

/* Sets notBefore = now and notAfter = now + years * months_per_year months - 1 s (or not_after when
 * set: a renewal continues from the old expiry), within the CA's validity. Returns 0 or -1. */
static int set_validity(X509 *x, X509 *ca, time_t now, int years, int months_per_year, time_t not_after)
{
	struct tm tm = {0};
	time_t end;

	gmtime_r(&now, &tm);
	tm.tm_mon += years * months_per_year;
	end = not_after > now ? not_after : timegm(&tm) - 1;
	if (ASN1_TIME_compare(X509_get0_notAfter(ca), X509_get0_notBefore(ca)) <= 0)
		return -1;
	/* ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 4.1.2.5) */
	if (ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL || ASN1_TIME_set(X509_getm_notAfter(x), end) == NULL)
		return -1;
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca)) != 1)
		return -1;
	return 0;
}

static pthread_mutex_t throwaway_lock = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY *throwaway[PKI_ALG_COUNT];

EVP_PKEY *pki_throwaway_key(int alg)
{
	EVP_PKEY *k;

	if (alg < 0 || alg >= PKI_ALG_COUNT)
		return NULL;
	pthread_mutex_lock(&throwaway_lock);
	if (throwaway[alg] == NULL)
		throwaway[alg] = pki_key_generate(alg);
	k = throwaway[alg];
	pthread_mutex_unlock(&throwaway_lock);
	return k;
}

/* Sets version, serial, issuer, subject and public key of x. Returns 0 or -1 with err. */
static int set_names(X509 *x, const struct pki_tbs_in *in, char *err, size_t errlen)
{
	BIGNUM *bn = BN_bin2bn(in->serial, PKI_SERIAL_LEN, NULL);
	ASN1_INTEGER *serial = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	X509_NAME *subject = pki_subject_from_template(in->profile->subject_template, in->org_name, in->uscc);
	int ok = serial != NULL && X509_set_version(x, X509_VERSION_3) == 1 && X509_set_serialNumber(x, serial) == 1 &&
		 X509_set_issuer_name(x, X509_get_subject_name(in->ca)) == 1;

	if (ok && subject == NULL)
		snprintf(err, errlen, "subject template %s", in->profile->subject_template);
	ok = ok && subject != NULL && X509_set_subject_name(x, subject) == 1 && X509_set_pubkey(x, in->subject_key) == 1;
	BN_free(bn);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(subject);
	return ok ? 0 : -1;
}

X509 *pki_tbs_build(const struct pki_tbs_in *in, char *err, size_t errlen)
{
	X509 *x = X509_new();
	int ca_alg = pki_key_alg(X509_get0_pubkey(in->ca), NULL, 0);
	EVP_PKEY *dummy = pki_throwaway_key(ca_alg);

	snprintf(err, errlen, "building the certificate");
	if (x == NULL || dummy == NULL || in->years < 1 || in->years > 9)
		goto fail;
	if (set_names(x, in, err, errlen) != 0)
		goto fail;
	if (set_validity(x, in->ca, in->now, in->years, in->profile->months_per_year, in->not_after) != 0) {
		snprintf(err, errlen, "validity");
		goto fail;
	}
	if (add_extensions(x, in->ca, in->profile, in->uscc, err, errlen) != 0)
		goto fail;
	/* the throwaway signature writes the real AlgorithmIdentifier into the TBS; it is replaced */
	if (pki_x509_sign(x, dummy) != 0) {
		snprintf(err, errlen, "signing with the throwaway key");
		goto fail;
	}
	err[0] = '\0';
	return x;
fail:
	X509_free(x);
	return NULL;
}

int pki_tbs_encode(X509 *x, unsigned char **tbs, size_t *tbslen, unsigned char **alg, size_t *alglen)
{
	const X509_ALGOR *a = NULL;
	unsigned char *t = NULL, *g = NULL;
	int tl = i2d_re_X509_tbs(x, &t), gl;

	X509_get0_signature(NULL, &a, x);
	gl = a != NULL ? i2d_X509_ALGOR(a, &g) : -1;
	if (tl <= 0 || gl <= 0) {
		OPENSSL_free(t);
		OPENSSL_free(g);
		return -1;
	}
	*tbs = malloc((size_t)tl);
	*alg = malloc((size_t)gl);
	if (*tbs == NULL || *alg == NULL) {
		free(*tbs);
		free(*alg);
		OPENSSL_free(t);
		OPENSSL_free(g);
		return -1;
	}
	memcpy(*tbs, t, (size_t)tl);
	memcpy(*alg, g, (size_t)gl);
	*tbslen = (size_t)tl;
	*alglen = (size_t)gl;
	OPENSSL_free(t);
	OPENSSL_free(g);
	return 0;
}

/* Writes a DER length into out (at most 5 bytes); returns how many bytes. */
static size_t der_len(unsigned char *out, size_t len)
{
	size_t n = 0;

	if (len < 128) {
		out[0] = (unsigned char)len;
		return 1;
	}
	for (size_t l = len; l > 0; l >>= 8)
		n++;
	out[0] = (unsigned char)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return n + 1;
}

int pki_cert_assemble(const unsigned char *tbs, size_t tbslen, const unsigned char *alg, size_t alglen,
		      const unsigned char *sig, size_t siglen, unsigned char **der, size_t *derlen)
{
	unsigned char bl[8], sl[8];
	size_t bln = der_len(bl, siglen + 1), body = tbslen + alglen + 1 + bln + 1 + siglen, sln = der_len(sl, body);
	unsigned char *o, *p;

	if (siglen == 0 || siglen > 65536 || tbslen > (1u << 20))
		return -1;
	o = malloc(1 + sln + body);
	if (o == NULL)
		return -1;
	p = o;
	*p++ = 0x30;
	memcpy(p, sl, sln), p += sln;
	memcpy(p, tbs, tbslen), p += tbslen;
	memcpy(p, alg, alglen), p += alglen;
	*p++ = 0x03;
	memcpy(p, bl, bln), p += bln;
	*p++ = 0x00; /* no unused bits */
	memcpy(p, sig, siglen);
	*der = o;
	*derlen = 1 + sln + body;
	return 0;
}
