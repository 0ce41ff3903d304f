/* libFuzzer: the OCSP request parsing of the CA engine (pki/ocsp.c) on any bytes, as POST /ocsp and
 * GET /ocsp/<base64> hand them over: pki_ocsp_request_id (one request, RFC 5019), then
 * pki_ocsp_id_serial and pki_ocsp_id_issued_by (against a CA made at start) on what it accepts.
 * Checks: an accepted CertID re-encodes; a serial is 1..47 upper-case hex digits, NUL-terminated,
 * and names the same number as the CertID's serialNumber; issued_by answers 0 or 1. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "pki/status.h"

static X509 *ca;

/* A throwaway self-signed P-256 CA, so that the issuer comparison runs on every accepted input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	(void)argc;
	(void)argv;

	ca = X509_new();
	if (k == NULL || ca == NULL || X509_set_version(ca, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(ca), 1) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN", MBSTRING_UTF8,
				       (const unsigned char *)"fuzz_ocsp CA", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(ca, X509_get_subject_name(ca)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(ca), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(ca), 86400) == NULL || X509_set_pubkey(ca, k) != 1 ||
	    X509_sign(ca, k, EVP_sha256()) <= 0)
		abort();
	EVP_PKEY_free(k);
	return 0;
}

/* The serial written by pki_ocsp_id_serial must be the CertID's serialNumber in upper-case hex. */
static void check_serial(OCSP_CERTID *id, const char serial[48])
{
	ASN1_INTEGER *sn = NULL;
	BIGNUM *want, *got = NULL;
	size_t len = strnlen(serial, 48);

	if (len == 0 || len == 48 || strspn(serial, "0123456789ABCDEF") != len)
		abort();
	if (OCSP_id_get0_info(NULL, NULL, NULL, &sn, id) != 1 || sn == NULL)
		abort();
	want = ASN1_INTEGER_to_BN(sn, NULL);
	if (want == NULL || BN_hex2bn(&got, serial) != (int)len || BN_cmp(want, got) != 0)
		abort();
	BN_free(want);
	BN_free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	OCSP_CERTID *id = pki_ocsp_request_id(data, size);
	unsigned char *der = NULL;
	char serial[48];
	int issued;

	if (id == NULL)
		return 0;
	if (i2d_OCSP_CERTID(id, &der) <= 0)
		abort(); /* what decodes must encode */
	OPENSSL_free(der);
	memset(serial, 'x', sizeof(serial));
	if (pki_ocsp_id_serial(id, serial) == 0)
		check_serial(id, serial);
	issued = pki_ocsp_id_issued_by(id, ca);
	if (issued != 0 && issued != 1)
		abort();
	OCSP_CERTID_free(id);
	return 0;
}
