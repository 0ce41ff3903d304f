/* certdesk-signer's parsers of what it is asked: checks_request (strict DER walk, OpenSSL d2i of each
 * kind, the per-kind checks) for RSA, P-256 and SM2 CA keys, and the PKCS#11 URI parser. The first
 * byte chooses: 0xff a URI, otherwise key (byte % 3) and kind (1 + (byte >> 2) % 4). Checks: a refusal
 * has a reason; whatever is accepted is exactly one strict DER value. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "signer/signer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct signer_key *keys[3];

/* Returns a self-signed CA certificate of key, "C=CN, CN=Fuzz CA" (the corpus' issuer). */
static X509 *ca_cert(EVP_PKEY *key, const char *md)
{
	X509 *x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "C", MBSTRING_UTF8, (const unsigned char *)"CN",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"Fuzz CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_get_digestbyname(md));
	return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	X509 *c[3] = {ca_cert(rsa, "SHA256"), ca_cert(p256, "SHA256"), ca_cert(sm2, "SM3")};
	keys[0] = keystore_key_from_evp("rsa-ca", rsa, c[0]);
	keys[1] = keystore_key_from_evp("p256-ca", p256, c[1]);
	keys[2] = keystore_key_from_evp("sm2-ca", sm2, c[2]);
	for (int i = 0; i < 3; i++)
		X509_free(c[i]); /* the keys hold their own reference */
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct check_info info;
	char why[256];

	if (size < 1)
		return 0;
	if (data[0] == 0xff) {
		char *s = malloc(size);
		struct p11_uri u;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		if (p11_uri_parse(s, &u, why, sizeof(why)) == 0)
			p11_uri_free(&u);
		free(s);
		return 0;
	}
	why[0] = '\0';
	unsigned char tag = 0;
	int rc = checks_request(keys[data[0] % 3], 1 + (data[0] >> 2) % 4, data + 1, size - 1, &info, why,
				sizeof(why));
	if (rc != 0 && why[0] == '\0')
		abort(); /* a refusal always says why (it goes to the log and to certdeskd) */
	if (rc == 0 && !der_is_one_value(data + 1, size - 1, &tag))
		abort(); /* nothing but one strict DER value is ever signed */
	return 0;
}
