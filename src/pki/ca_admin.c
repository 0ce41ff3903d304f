/* `certdesk ca import` and `ca list`, and the certificate profiles of a project (see ca_init.h). */
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

/* The extension that carries the USCC besides the subject's serialNumber: 1.2.156.10260.4.1.4,
 * the organisation-code identity extension Chinese CAs' certificates carry and relying parties'
 * integration code reads (several CAs put the USCC there; the USCC embeds the organisation code).
 * GM/T 0015-2023 adds a USCC extension whose OID we could not verify (one list says
 * 1.2.156.10260.4.4): the OID is a profile column, so it changes without a code change. */
#define YINGTAN_IDENTITY_OID "1.2.156.10260.4.1.4"
#define YINGTAN_SUBJECT "C=CN,ST=江西省,L=鹰潭市,O={org_name},CN={org_name},serialNumber={uscc}"

/* Reads a certificate in PEM or DER from path. Returns it (caller frees) or NULL. */
static X509 *read_cert(const char *path)
{
	BIO *b = BIO_new_file(path, "rb");
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	if (x == NULL && b != NULL && BIO_reset(b) == 0)
		x = d2i_X509_bio(b, NULL);
	BIO_free(b);
	return x;
}

/* Writes text to path (mode 0600) through a temporary name. Returns 0 or -1. */
static int put_text(const char *path, const char *text, size_t len, mode_t mode)
{
	char tmp[4200];
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Writes the PEM of key or cert to path with mode. Returns 0 or -1. */
static int put_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int rc = -1;

	if (b != NULL && (key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
				      : PEM_write_bio_X509(b, cert)) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		rc = put_text(path, p, (size_t)n, mode);
	BIO_free(b);
	return rc;
}

/* Copies a PKCS#11 URI without its pin-value attribute (kept out of the database) into out. */
static void uri_without_pin(const char *uri, char *out, size_t len)
{
	const char *p = uri;
	size_t o = 0;

	while (*p != '\0') {
		const char *start = p;
		size_t n;
		if (*p == ';' || *p == '?' || *p == '&')
			p++;
		n = strcspn(p, ";?&");
		if (strncmp(p, "pin-value=", 10) != 0 && o + (size_t)(p + n - start) < len) {
			memcpy(out + o, start, (size_t)(p + n - start));
			o += (size_t)(p + n - start);
		}
		p += n;
	}
	out[o] = '\0';
}

/* Writes where the key is: a copy of key_file (that must match cert) or the PKCS#11 URI. */
static int place_key(const char *dir, const char *id, X509 *cert, const char *key_file, const char *p11_uri,
		     char *location, size_t loclen, char *err, size_t errlen)
{
	char path[4200];
	int n;

	if (key_file != NULL) {
		BIO *b = BIO_new_file(key_file, "rb");
		EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		int ok = k != NULL && X509_check_private_key(cert, k) == 1;
		BIO_free(b);
		snprintf(path, sizeof(path), "%s/%s.pem", dir, id);
		if (ok)
			ok = put_pem(path, k, NULL, 0600) == 0;
		EVP_PKEY_free(k);
		if (!ok)
			return snprintf(err, errlen, "%s: not a PEM private key of the certificate, or not writable",
					key_file), -1;
		n = snprintf(location, loclen, "file:%s", path);
		return n > 0 && (size_t)n < loclen ? 0 : (snprintf(err, errlen, "%s: path too long", path), -1);
	}
	snprintf(path, sizeof(path), "%s/%s.p11", dir, id);
	char line[4200];
	n = snprintf(line, sizeof(line), "%s\n", p11_uri);
	if (strncmp(p11_uri, "pkcs11:", 7) != 0 || n >= (int)sizeof(line) || put_text(path, line, (size_t)n, 0600) != 0)
		return snprintf(err, errlen, "%s: not a pkcs11: URI, or %s not writable", p11_uri, path), -1;
	uri_without_pin(p11_uri, location, loclen);
	return 0;
}

static int import_tx(struct db_conn *c, void *arg)
{
	const void **a = arg;
	return store_ca_insert(c, a[0], a[1]);
}

int pki_ca_import(struct db *db, const char *keys_dir, const char *key_id, const char *role, const char *cert_file,
		  const char *key_file, const char *p11_uri, const struct actor *a, char *err, size_t errlen)
{
	X509 *cert = read_cert(cert_file);
	struct ca_rec ca = {0};
	unsigned char *der = NULL;
	int alg, len, rc = -1;

	if (cert == NULL)
		return snprintf(err, errlen, "%s: not a certificate (PEM or DER)", cert_file), -1;
	alg = pki_key_alg(X509_get0_pubkey(cert), NULL, 0);
	if (alg < 0) {
		snprintf(err, errlen, "%s: key is not RSA-2048/3072, P-256 or SM2", cert_file);
		goto out;
	}
	if (fs_mkdir_p(keys_dir, 0700) != 0 ||
	    place_key(keys_dir, key_id, cert, key_file, p11_uri, ca.key_location, sizeof(ca.key_location), err, errlen) != 0)
		goto out;
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s.crt", keys_dir, key_id);
	len = i2d_X509(cert, &der);
	if (len <= 0 || put_pem(path, NULL, cert, 0644) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	str_copy(ca.key_id, key_id, sizeof(ca.key_id));
	str_copy(ca.role, role, sizeof(ca.role));
	str_copy(ca.algorithm, pki_alg_name(alg), sizeof(ca.algorithm));
	pki_name_text(X509_get_subject_name(cert), ca.subject, sizeof(ca.subject));
	pki_asn1_time_text(X509_get0_notBefore(cert), ca.not_before);
	pki_asn1_time_text(X509_get0_notAfter(cert), ca.not_after);
	ca.der_b64 = pki_b64_encode(der, (size_t)len);
	const void *args[2] = {&ca, a};
	rc = db_tx(db, import_tx, args);
	if (rc != DB_OK)
		snprintf(err, errlen, rc == DB_CONFLICT ? "key id %s is recorded already" : "could not record %s", key_id);
	rc = rc == DB_OK ? 0 : -1;
out:
	OPENSSL_free(der);
	store_ca_free(&ca);
	X509_free(cert);
	return rc;
}

int pki_ca_list(struct db *db, FILE *out)
{
	struct db_conn *c = db_acquire(db);
	json_t *items = NULL, *it;
	size_t i;
	int rc = store_ca_list_json(c, 0, &items);

	db_release(c);
	if (rc != DB_OK) {
		json_decref(items);
		return -1;
	}
	fprintf(out, "%-22s %-9s %-8s %-20s  %-20s  %s\n", "KEY ID", "ROLE", "ALG", "NOT BEFORE", "NOT AFTER", "KEY");
	json_array_foreach(items, i, it)
	{
		fprintf(out, "%-22s %-9s %-8s %-20s  %-20s  %s\n    %s\n", json_string_value(json_object_get(it, "key_id")),
			json_string_value(json_object_get(it, "role")), json_string_value(json_object_get(it, "algorithm")),
			json_string_value(json_object_get(it, "not_before")),
			json_string_value(json_object_get(it, "not_after")),
			json_string_value(json_object_get(it, "key_location")),
			json_string_value(json_object_get(it, "subject")));
	}
	if (json_array_size(items) == 0)
		fprintf(out, "(no CA yet: run certdesk ca init)\n");
	json_decref(items);
	return 0;
}

struct seed_arg {
	const char *project_code, *public_url;
	const struct actor *a;
	int added;
};

/* Fills p with the Yingtan organisation profile for key_type under CA ca (of algorithm alg). */
static void yingtan_profile(struct cert_profile_rec *p, int64_t project_id, const char *key_type, const char *alg,
			    const char *ca, const char *public_url)
{
	memset(p, 0, sizeof(*p));
	p->project_id = project_id;
	str_copy(p->key_type, key_type, sizeof(p->key_type));
	str_copy(p->algorithm, alg, sizeof(p->algorithm));
	p->months_per_year = 12;
	str_copy(p->subject_template, YINGTAN_SUBJECT, sizeof(p->subject_template));
	str_copy(p->key_usage, "digitalSignature,nonRepudiation", sizeof(p->key_usage));
	str_copy(p->identity_oid, YINGTAN_IDENTITY_OID, sizeof(p->identity_oid));
	snprintf(p->crl_url, sizeof(p->crl_url), "%s/ca/%s.crl", public_url, ca);
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "%s/ocsp", public_url);
	snprintf(p->ca_issuers_url, sizeof(p->ca_issuers_url), "%s/ca/%s.crt", public_url, ca);
	str_copy(p->issuing_key_id, ca, sizeof(p->issuing_key_id));
	/* the main key's SM2 certificate comes in a pair (signing + encryption, GM/T 0015 practice:
	 * e-procurement platforms encrypt bids to the encryption certificate); the others are single */
	p->dual = strcmp(key_type, "main") == 0 && strcmp(alg, "sm2") == 0;
}

static int seed_tx(struct db_conn *c, void *arg)
{
	struct seed_arg *s = arg;
	struct project_rec pr = {0};
	struct db_rows *r = NULL;
	char url[300];
	int rc = store_project_get(c, s->project_code, &pr);

	s->added = 0;
	if (rc != DB_OK)
		return rc;
	str_copy(url, s->public_url, sizeof(url));
	while (url[0] != '\0' && url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	/* each issuing CA's algorithm that a key type has no profile for yet */
	rc = db_query(c,
		      "SELECT k.key_type, a.algorithm, MIN(a.key_id) FROM project_key_types k, cas a"
		      " WHERE k.project_id = ? AND a.role = 'issuing' AND NOT EXISTS (SELECT 1 FROM cert_profiles p"
		      " WHERE p.project_id = k.project_id AND p.key_type = k.key_type AND p.algorithm = a.algorithm)"
		      " GROUP BY k.key_type, a.algorithm ORDER BY k.key_type, a.algorithm",
		      DB_ARGS(DB_INT(pr.id)), &r);
	struct cert_profile_rec ps[32];
	int n = 0;
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		if (n < 32)
			yingtan_profile(&ps[n++], pr.id, db_rows_text(r, 0), db_rows_text(r, 1), db_rows_text(r, 2), url);
		rc = DB_OK;
	}
	db_rows_free(r);
	for (int i = 0; rc == DB_OK && i < n; i++)
		rc = store_profile_put(c, &ps[i], s->a);
	s->added = n;
	return rc < 0 ? rc : DB_OK;
}

int pki_profiles_seed(struct db *db, const char *project_code, const char *public_url, const struct actor *a)
{
	struct seed_arg s = {project_code, public_url, a, 0};
	int rc = db_tx(db, seed_tx, &s);

	return rc == DB_OK ? s.added : -1;
}
