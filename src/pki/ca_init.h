/* The key ceremony, run by the CLI (`certdesk ca init|import|list`): the only code outside
 * certdesk-signer that ever touches a CA private key, to create it and write it where the signer
 * loads it (<keys_dir>/<key_id>.pem, mode 0600, with <key_id>.crt). certdeskd never links this. */
#ifndef CERTDESK_PKI_CA_INIT_H
#define CERTDESK_PKI_CA_INIT_H
#include <stdio.h>
#include <time.h>

struct db;
struct actor;

struct pki_ca_opts {
	const char *keys_dir;
	unsigned algs;          /* one bit (1u << enum pki_alg) per algorithm */
	const char *org;        /* the CA's organisation name in its certificates */
	time_t now;
};

/* Parses "rsa2048,p256,sm2" into a bit set. Returns 0 or -1 (unknown or empty name). */
int pki_parse_algs(const char *list, unsigned *algs);
/* Creates, per algorithm whose root is not recorded yet, a root CA (self-signed, 20 years), an
 * issuing CA (10 years, signed by the root), a delegated OCSP responder and a seal-maker (制章人)
 * certificate (5 years, signed by the issuing CA); writes each key and certificate into keys_dir and
 * records the CAs, audited. Prints what it did to out. Returns 0, or -1 with the reason in err. */
int pki_ca_init(struct db *db, const struct pki_ca_opts *o, const struct actor *a, FILE *out, char *err,
		size_t errlen);
/* Records an operator's CA certificate (PEM or DER file) as key_id with role (issuing, ocsp,
 * sealmaker, root) and writes where its key is for the signer: key_file (a PEM private key that must
 * match the certificate, copied to <id>.pem 0600) or p11_uri (written to <id>.p11). Returns 0, or -1
 * with the reason in err. */
int pki_ca_import(struct db *db, const char *keys_dir, const char *key_id, const char *role, const char *cert_file,
		  const char *key_file, const char *p11_uri, const struct actor *a, char *err, size_t errlen);
/* Prints the CAs: key id, role, algorithm, validity, where the key lives. Returns 0 or -1. */
int pki_ca_list(struct db *db, FILE *out);
/* Gives project_code's key types (main, secondary) a certificate profile for every issuing CA's
 * algorithm they have none for, the Yingtan organisation profile (pki/README: subject, USCC, KU,
 * CRL and AIA URLs under public_url). Returns how many were added, or -1. */
int pki_profiles_seed(struct db *db, const char *project_code, const char *public_url, const struct actor *a);

#endif
