/* Shared fixtures of the CA engine's unit tests: a CA of each algorithm and the Yingtan profile. */
#ifndef CERTDESK_TEST_PKI_FIXTURE_H
#define CERTDESK_TEST_PKI_FIXTURE_H
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "store/store.h"

#define FX_USCC "91360600MA35XXXX0A"
#define FX_ORG "鹰潭市阳光测试有限公司"

/* Makes a self-signed CA certificate (10 years) for key. */
static X509 *fx_ca(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	const char *exts[][2] = {{"basicConstraints", "critical,CA:TRUE"},
				 {"keyUsage", "critical,keyCertSign,cRLSign"},
				 {"subjectKeyIdentifier", "hash"}};

	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"CN", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"测试 Issuing CA", -1, -1, 0);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, key);
	ASN1_TIME_set(X509_getm_notBefore(x), time(NULL) - 3600);
	ASN1_TIME_set(X509_getm_notAfter(x), time(NULL) + 10L * 365 * 86400);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (int i = 0; i < 3; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_NAME_free(n);
	if (pki_x509_sign(x, key) != 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Fills p with the Yingtan organisation profile of alg under CA key id ca. */
static void fx_profile(struct cert_profile_rec *p, const char *alg, const char *ca)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->key_type, sizeof(p->key_type), "main");
	snprintf(p->algorithm, sizeof(p->algorithm), "%s", alg);
	p->months_per_year = 12;
	snprintf(p->subject_template, sizeof(p->subject_template),
		 "C=CN,ST=江西省,L=鹰潭市,O={org_name},CN={org_name},serialNumber={uscc}");
	snprintf(p->key_usage, sizeof(p->key_usage), "digitalSignature,nonRepudiation");
	snprintf(p->ext_key_usage, sizeof(p->ext_key_usage), "clientAuth");
	snprintf(p->policy_oid, sizeof(p->policy_oid), "2.999.1.1");
	snprintf(p->identity_oid, sizeof(p->identity_oid), "1.2.156.10260.4.1.4");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://ca.example/ca/%s.crl", ca);
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ca.example/ocsp");
	snprintf(p->ca_issuers_url, sizeof(p->ca_issuers_url), "http://ca.example/ca/%s.crt", ca);
	snprintf(p->issuing_key_id, sizeof(p->issuing_key_id), "%s", ca);
}

#endif
