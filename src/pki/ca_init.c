/* `certdesk ca init|import|list` and the profiles of the Yingtan project (see ca_init.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/ca_init.h"
#include "pki/pki.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "util/strutil.h"

/* Returns t plus years calendar years. */
static time_t plus_years(time_t t, long years)
{
	struct tm tm = {0};

	gmtime_r(&t, &tm);
	tm.tm_year += (int)years;
	return timegm(&tm);
}

/* One certificate of the ceremony. */
struct ca_spec {
	const char *role;       /* root, issuing, ocsp, sealmaker */
	const char *cn_suffix;  /* in the common name */
	long years;
	const char *exts[6][2]; /* extension name, value (OpenSSL config syntax) */
};

static const struct ca_spec specs[] = {
	{"root", "Root CA", 20,
	 {{"basicConstraints", "critical,CA:TRUE"},
	  {"keyUsage", "critical,keyCertSign,cRLSign"},
	  {"subjectKeyIdentifier", "hash"}}},
	{"issuing", "Issuing CA", 10,
	 {{"basicConstraints", "critical,CA:TRUE,pathlen:0"},
	  {"keyUsage", "critical,keyCertSign,cRLSign"},
	  {"subjectKeyIdentifier", "hash"},
	  {"authorityKeyIdentifier", "keyid:always"}}},
	{"ocsp", "OCSP Responder", 5,
	 {{"basicConstraints", "critical,CA:FALSE"},
	  {"keyUsage", "critical,digitalSignature"},
	  {"extendedKeyUsage", "OCSPSigning"},
	  {"noCheck", "ignored"}, /* id-pkix-ocsp-nocheck: relying parties do not ask about the responder */
	  {"subjectKeyIdentifier", "hash"},
	  {"authorityKeyIdentifier", "keyid:always"}}},
	{"sealmaker", "Seal Maker", 5,
	 {{"basicConstraints", "critical,CA:FALSE"},
	  {"keyUsage", "critical,digitalSignature,nonRepudiation"},
	  {"subjectKeyIdentifier", "hash"},
	  {"authorityKeyIdentifier", "keyid:always"}}},
};

int pki_parse_algs(const char *list, unsigned *algs)
{
	char *copy = strdup(list != NULL ? list : ""), *save = NULL;
	int ok = copy != NULL;

	*algs = 0;
	for (char *t = ok ? strtok_r(copy, ", ", &save) : NULL; t != NULL; t = strtok_r(NULL, ", ", &save)) {
		int a = pki_alg_from_name(t);
		if (a < 0)
			ok = 0;
		else
			*algs |= 1u << a;
	}
	free(copy);
	return ok && *algs != 0 ? 0 : -1;
}

/* Writes len bytes to path through a temporary file with mode, fsync'd and renamed. Returns 0/-1. */
static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4200];
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Writes the PEM of a key (private when priv) or certificate into path. Returns 0 or -1. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int rc = -1;

	if (b == NULL)
		return -1;
	if (key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1
			: PEM_write_bio_X509(b, cert) == 1) {
		n = BIO_get_mem_data(b, &p);
		rc = n > 0 ? write_file(path, p, (size_t)n, mode) : -1;
	}
	BIO_free_all(b); /* the memory BIO clears nothing: key PEM is short-lived in this process */
	return rc;
}

/* Builds and signs the certificate of spec for key (issued by issuer/issuer_key, or self-signed
 * when issuer is NULL). Returns it (caller frees) or NULL. */
static X509 *make_cert(const struct ca_spec *spec, int alg, const struct pki_ca_opts *o, EVP_PKEY *key,
		       X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char serial[PKI_SERIAL_LEN];
	BIGNUM *bn = NULL;
	char cn[160];
	X509V3_CTX ctx;
	int ok = x != NULL && name != NULL && pki_serial_new(serial) == 0;

	snprintf(cn, sizeof(cn), "%s %s %s", o->org, spec->cn_suffix, pki_alg_name(alg));
	ok = ok && X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"CN", -1, -1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)o->org, -1, -1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1;
	bn = ok ? BN_bin2bn(serial, sizeof(serial), NULL) : NULL;
	ok = ok && bn != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL && X509_set_subject_name(x, name) == 1 &&
	     X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) == 1 &&
	     X509_set_pubkey(x, key) == 1 && ASN1_TIME_set(X509_getm_notBefore(x), o->now) != NULL &&
	     ASN1_TIME_set(X509_getm_notAfter(x), plus_years(o->now, spec->years)) != NULL;
	/* a certificate never outlives its issuer */
	if (ok && issuer != NULL && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0)
		ok = X509_set1_notAfter(x, X509_get0_notAfter(issuer)) == 1;
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (int i = 0; ok && i < 6 && spec->exts[i][0] != NULL; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, spec->exts[i][0], spec->exts[i][1]);
		ok = e != NULL && X509_add_ext(x, e, -1) == 1;
		X509_EXTENSION_free(e);
	}
	ok = ok && pki_x509_sign(x, issuer_key != NULL ? issuer_key : key) == 0;
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Fills ca from cert for the cas table. Returns 0 or -1. */
static int ca_row(struct ca_rec *ca, const char *key_id, const char *role, int alg, const char *parent, X509 *cert,
		  const char *location)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);

	memset(ca, 0, sizeof(*ca));
	if (len <= 0)
		return -1;
	str_copy(ca->key_id, key_id, sizeof(ca->key_id));
	str_copy(ca->role, role, sizeof(ca->role));
	str_copy(ca->algorithm, pki_alg_name(alg), sizeof(ca->algorithm));
	str_copy(ca->parent_key_id, parent != NULL ? parent : "", sizeof(ca->parent_key_id));
	pki_name_text(X509_get_subject_name(cert), ca->subject, sizeof(ca->subject));
	pki_asn1_time_text(X509_get0_notBefore(cert), ca->not_before);
	pki_asn1_time_text(X509_get0_notAfter(cert), ca->not_after);
	str_copy(ca->key_location, location, sizeof(ca->key_location));
	ca->der_b64 = pki_b64_encode(der, (size_t)len);
	OPENSSL_free(der);
	return ca->der_b64 != NULL ? 0 : -1;
}

struct insert_arg {
	struct ca_rec *rows;
	int n;
	const struct actor *a;
};

static int insert_tx(struct db_conn *c, void *arg)
{
	struct insert_arg *ia = arg;
	int rc = DB_OK;

	for (int i = 0; rc == DB_OK && i < ia->n; i++)
		rc = store_ca_insert(c, &ia->rows[i], ia->a);
	return rc;
}

/* Writes <dir>/<id>.pem (key, 0600) and <dir>/<id>.crt; location gets "file:<path>". Returns 0/-1. */
static int write_key_files(const char *dir, const char *id, EVP_PKEY *key, X509 *cert, char *location, size_t loclen)
{
	char path[4200];
	int n;

	snprintf(path, sizeof(path), "%s/%s.crt", dir, id);
	if (write_pem(path, NULL, cert, 0644) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.pem", dir, id);
	if (write_pem(path, key, NULL, 0600) != 0)
		return -1;
	n = snprintf(location, loclen, "file:%s", path);
	return n > 0 && (size_t)n < loclen ? 0 : -1;
}

/* Runs the ceremony for one algorithm: four keys and certificates, then four rows. Returns 0/-1. */
static int init_alg(struct db *db, const struct pki_ca_opts *o, int alg, const struct actor *a, FILE *out, char *err,
		    size_t errlen)
{
	EVP_PKEY *keys[4] = {0};
	X509 *certs[4] = {0};
	struct ca_rec rows[4];
	char ids[4][48], loc[4200];
	int rc = -1, n = 0;

	memset(rows, 0, sizeof(rows));
	for (int i = 0; i < 4; i++) {
		int parent = i == 0 ? -1 : i == 1 ? 0 : 1; /* root <- issuing <- ocsp, sealmaker */
		snprintf(ids[i], sizeof(ids[i]), "%s-%s-1", pki_alg_name(alg), specs[i].role);
		keys[i] = pki_key_generate(alg);
		certs[i] = keys[i] != NULL ? make_cert(&specs[i], alg, o, keys[i], parent < 0 ? NULL : certs[parent],
						       parent < 0 ? NULL : keys[parent])
					   : NULL;
		if (certs[i] == NULL) {
			snprintf(err, errlen, "%s: could not make the key or certificate", ids[i]);
			goto out;
		}
		if (write_key_files(o->keys_dir, ids[i], keys[i], certs[i], loc, sizeof(loc)) != 0) {
			snprintf(err, errlen, "%s/%s: %s", o->keys_dir, ids[i], strerror(errno));
			goto out;
		}
		if (ca_row(&rows[i], ids[i], specs[i].role, alg, parent < 0 ? NULL : ids[parent], certs[i], loc) != 0)
			goto out;
		n++;
	}
	struct insert_arg ia = {rows, 4, a};
	if (db_tx(db, insert_tx, &ia) != DB_OK) {
		snprintf(err, errlen, "%s: could not record the CAs", pki_alg_name(alg));
		goto out;
	}
	for (int i = 0; i < 4; i++)
		fprintf(out, "  %-22s %-9s until %s  key %s\n", ids[i], specs[i].role, rows[i].not_after,
			rows[i].key_location);
	rc = 0;
out:
	for (int i = 0; i < 4; i++) {
		EVP_PKEY_free(keys[i]);
		X509_free(certs[i]);
		if (i < n)
			store_ca_free(&rows[i]);
	}
	return rc;
}

int pki_ca_init(struct db *db, const struct pki_ca_opts *o, const struct actor *a, FILE *out, char *err,
		size_t errlen)
{
	if (fs_mkdir_p(o->keys_dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", o->keys_dir, strerror(errno));
		return -1;
	}
	for (int alg = 0; alg < PKI_ALG_COUNT; alg++) {
		struct ca_rec ca = {0};
		char root[48];
		struct db_conn *c;
		int rc;

		if (!(o->algs & (1u << alg)))
			continue;
		snprintf(root, sizeof(root), "%s-root-1", pki_alg_name(alg));
		c = db_acquire(db);
		rc = store_ca_get(c, root, &ca);
		db_release(c);
		store_ca_free(&ca);
		if (rc == DB_OK) {
			fprintf(out, "%s: CA exists (%s), left as it is\n", pki_alg_name(alg), root);
			continue;
		}
		fprintf(out, "%s:\n", pki_alg_name(alg));
		if (init_alg(db, o, alg, a, out, err, errlen) != 0)
			return -1;
	}
	return 0;
}
