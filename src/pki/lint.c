/* The pre-issuance lints: RFC 5280 encoding rules, the profile's own rules, GM/T 0015 for SM2. */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pki/lint.h"
#include "pki/pki.h"
#include "store/store.h"

#define FAIL(...) return snprintf(why, whylen, __VA_ARGS__), 1

/* RFC 5280 4.1.2.2: a positive serial of at most 20 octets (and we make 64+ random bits). */
static int serial_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(in->cert);
	BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
	int bits = bn != NULL ? BN_num_bits(bn) : 0, neg = bn != NULL && BN_is_negative(bn);

	BN_free(bn);
	if (neg || bits == 0)
		FAIL("serial is not positive");
	if (s->length > 20)
		FAIL("serial of %d octets (at most 20)", s->length);
	if (bits < 64)
		FAIL("serial of %d bits (at least 64 random bits)", bits);
	return 0;
}

/* Returns 1 when t is encoded as RFC 5280 4.1.2.5 wants for its year. */
static int time_form_ok(const ASN1_TIME *t)
{
	struct tm tm = {0};

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	if (tm.tm_year + 1900 < 2050)
		return t->type == V_ASN1_UTCTIME && t->length == 13 && t->data[12] == 'Z';
	return t->type == V_ASN1_GENERALIZEDTIME && t->length == 15 && t->data[14] == 'Z';
}

/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, Zulu with seconds; the
 * validity in order and within the issuing CA's. */
static int validity_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	const ASN1_TIME *nb = X509_get0_notBefore(in->cert), *na = X509_get0_notAfter(in->cert);

	if (!time_form_ok(nb) || !time_form_ok(na))
		FAIL("validity time not encoded as RFC 5280 requires");
	if (ASN1_TIME_compare(nb, na) >= 0)
		FAIL("notBefore is not before notAfter");
	if (ASN1_TIME_compare(nb, X509_get0_notBefore(in->ca)) < 0 ||
	    ASN1_TIME_compare(na, X509_get0_notAfter(in->ca)) > 0)
		FAIL("validity outside the issuing CA's");
	return 0;
}

/* The issuer is the CA's subject, byte for byte. */
static int issuer_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	if (X509_NAME_cmp(X509_get_issuer_name(in->cert), X509_get_subject_name(in->ca)) != 0)
		FAIL("issuer differs from the CA's subject");
	return 0;
}

/* End-entity: basicConstraints, if present, is cA FALSE; never keyCertSign or cRLSign. */
static int end_entity(const struct pki_lint_in *in, char *why, size_t whylen)
{
	uint32_t ku = X509_get_key_usage(in->cert);
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(in->cert, NID_basic_constraints, NULL, NULL);
	int ca = bc != NULL && bc->ca;

	BASIC_CONSTRAINTS_free(bc);
	/* cA TRUE alone makes a CA for some relying parties, whatever keyUsage says */
	if (ca || X509_check_ca(in->cert) != 0)
		FAIL("certificate would be a CA");
	if (ku != UINT32_MAX && (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0)
		FAIL("end-entity certificate with keyCertSign or cRLSign");
	return 0;
}

/* keyUsage present and critical (GM/T 0015, RFC 5280 4.2.1.3 "SHOULD"). */
static int key_usage_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	int crit = -1;
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(in->cert, NID_key_usage, &crit, NULL);

	ASN1_BIT_STRING_free(ku);
	if (ku == NULL)
		FAIL("keyUsage missing");
	if (crit != 1)
		FAIL("keyUsage not critical");
	return 0;
}

/* Key identifiers: authorityKeyIdentifier equal to the CA's subjectKeyIdentifier, SKI present. */
static int key_ids_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(in->cert), *ca_ski = X509_get0_subject_key_id(in->ca);

	if (X509_get0_subject_key_id(in->cert) == NULL)
		FAIL("subjectKeyIdentifier missing");
	if (aki == NULL)
		FAIL("authorityKeyIdentifier missing");
	if (ca_ski != NULL && ASN1_OCTET_STRING_cmp(aki, ca_ski) != 0)
		FAIL("authorityKeyIdentifier is not the CA's key identifier");
	return 0;
}

/* The profile's rule: the subject's serialNumber carries the USCC when the template asks for it, and
 * so does the identity extension. */
static int uscc_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	X509_NAME *n = X509_get_subject_name(in->cert);
	int i = X509_NAME_get_index_by_NID(n, NID_serialNumber, -1);

	if (strstr(in->profile->subject_template, "{uscc}") != NULL) {
		const ASN1_STRING *v = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)) : NULL;
		if (v == NULL || (size_t)v->length != strlen(in->uscc) || memcmp(v->data, in->uscc, (size_t)v->length) != 0)
			FAIL("subject serialNumber is not the USCC");
	}
	if (in->profile->identity_oid[0] != '\0') {
		ASN1_OBJECT *o = OBJ_txt2obj(in->profile->identity_oid, 1);
		int at = o != NULL ? X509_get_ext_by_OBJ(in->cert, o, -1) : -1;
		ASN1_OBJECT_free(o);
		if (at < 0)
			FAIL("identity extension %s missing", in->profile->identity_oid);
	}
	return 0;
}

/* Subject attributes within the X.520 upper bounds (RFC 5280 appendix A): CN and O at most 64
 * characters, C exactly 2, serialNumber at most 64. */
static int subject_bounds(const struct pki_lint_in *in, char *why, size_t whylen)
{
	X509_NAME *n = X509_get_subject_name(in->cert);

	if (X509_NAME_entry_count(n) == 0)
		FAIL("empty subject");
	for (int i = 0; i < X509_NAME_entry_count(n); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		unsigned char *u = NULL;
		int chars = 0, len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
		for (int k = 0; k < len; k++)
			chars += (u[k] & 0xc0) != 0x80;
		OPENSSL_free(u);
		if (len < 0)
			FAIL("subject attribute not decodable");
		if (nid == NID_countryName && chars != 2)
			FAIL("countryName of %d characters", chars);
		if ((nid == NID_commonName || nid == NID_organizationName || nid == NID_serialNumber) && chars > 64)
			FAIL("%s of %d characters (at most 64)", OBJ_nid2sn(nid), chars);
		if (chars == 0)
			FAIL("empty %s", OBJ_nid2sn(nid));
	}
	return 0;
}

/* The signature algorithm suits the key: sha256WithRSAEncryption with NULL parameters, ecdsa-with-
 * SHA256 or SM2-with-SM3 (GM/T 0015: 1.2.156.10197.1.501) without parameters; and the inner and
 * outer AlgorithmIdentifiers agree. */
static int sigalg_ok(const struct pki_lint_in *in, char *why, size_t whylen)
{
	const X509_ALGOR *outer = NULL, *inner = X509_get0_tbs_sigalg(in->cert);
	const ASN1_OBJECT *oid = NULL;
	int ptype = 0, nid, alg = pki_key_alg(X509_get0_pubkey(in->ca), NULL, 0);

	X509_get0_signature(NULL, &outer, in->cert);
	if (outer == NULL || X509_ALGOR_cmp(outer, inner) != 0)
		FAIL("inner and outer signature algorithms differ");
	X509_ALGOR_get0(&oid, &ptype, NULL, inner);
	nid = OBJ_obj2nid(oid);
	if ((alg == PKI_ALG_RSA2048 || alg == PKI_ALG_RSA3072) && (nid != NID_sha256WithRSAEncryption || ptype != V_ASN1_NULL))
		FAIL("RSA CA needs sha256WithRSAEncryption with NULL parameters");
	if (alg == PKI_ALG_P256 && (nid != NID_ecdsa_with_SHA256 || ptype != V_ASN1_UNDEF))
		FAIL("P-256 CA needs ecdsa-with-SHA256 without parameters");
	if (alg == PKI_ALG_SM2 && (nid != NID_SM2_with_SM3 || ptype != V_ASN1_UNDEF))
		FAIL("SM2 CA needs SM2-with-SM3 (1.2.156.10197.1.501) without parameters");
	return 0;
}

/* The distribution point and AIA URLs of the profile are absolute http(s) URLs without spaces
 * (RFC 5280 4.2.1.13 / 4.2.2.1; http:// is what relying parties fetch best). */
static int urls_http(const struct pki_lint_in *in, char *why, size_t whylen)
{
	const char *urls[] = {in->profile->crl_url, in->profile->ocsp_url, in->profile->ca_issuers_url};

	for (int i = 0; i < 3; i++)
		if (urls[i][0] != '\0' && ((strncmp(urls[i], "http://", 7) != 0 && strncmp(urls[i], "https://", 8) != 0) ||
					   strpbrk(urls[i], " \t\r\n") != NULL))
			FAIL("URL %s is not an absolute http(s) URL", urls[i]);
	return 0;
}

const struct pki_lint pki_lints[] = {
	{"e_serial_positive_64bit", serial_ok},     {"e_validity_encoding", validity_ok},
	{"e_issuer_is_ca_subject", issuer_ok},      {"e_end_entity_only", end_entity},
	{"e_key_usage_critical", key_usage_ok},     {"e_key_identifiers", key_ids_ok},
	{"e_profile_uscc", uscc_ok},                {"e_subject_bounds", subject_bounds},
	{"e_signature_algorithm", sigalg_ok},       {"e_urls_http", urls_http},
};
const int pki_lint_count = (int)(sizeof(pki_lints) / sizeof(pki_lints[0]));

int pki_lint_run(X509 *cert, X509 *ca, const struct cert_profile_rec *profile, const char *uscc, char *err,
		 size_t errlen)
{
	struct pki_lint_in in = {cert, ca, profile, uscc};
	char why[256];

	for (int i = 0; i < pki_lint_count; i++) {
		why[0] = '\0';
		if (pki_lints[i].check(&in, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", pki_lints[i].name, why);
			return -1;
		}
	}
	return 0;
}

const struct pki_lint *pki_lint_find(const char *name)
{
	for (int i = 0; i < pki_lint_count; i++)
		if (strcmp(pki_lints[i].name, name) == 0)
			return &pki_lints[i];
	return NULL;
}
