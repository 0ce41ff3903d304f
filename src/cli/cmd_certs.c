/* certdesk certs import --csv FILE CERT... (issue 15): certificates this CA's issuing CA issued before
 * certdesk (PEM or DER files), so that their holders can renew online. The CSV (UTF-8, a header line)
 * gives each certificate's organisation: serial,uscc,name,project_code,key_type,mobile,email — a row
 * applies to the certificate with that serial, or (serial empty) to those whose subject names that
 * USCC. A certificate must verify under an issuing CA certdesk holds; one imported before is skipped
 * (idempotent). Organisations are created when unknown (no password: they reset it by SMS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"
#include "core/phone.h"
#include "core/uscc.h"
#include "pki/pki.h"
#include "store/db.h"
#include "util/strutil.h"

#define CSV_MAX_ROWS 4096
#define CSV_FIELDS 7

struct csv_row {
	char f[CSV_FIELDS][404]; /* serial, uscc, name, project_code, key_type, mobile, email */
};

/* Splits line (no quotes: the fields hold none) into row's fields. Returns 0, or -1 when it has
 * another number of fields. */
static int csv_split(char *line, struct csv_row *row)
{
	char *p = line, *comma;
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < CSV_FIELDS) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		str_copy(row->f[n++], p, sizeof(row->f[0]));
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n == CSV_FIELDS && comma == NULL ? 0 : -1;
}

/* Reads the CSV file into rows; returns how many, or -1. */
static int csv_read(const char *path, struct csv_row *rows, int max)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0, lineno = 0;

	if (f == NULL)
		return perror(path), -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (lineno++ == 0 || line[0] == '\n' || line[0] == '\r')
			continue; /* the header */
		if (n == max || csv_split(line, &rows[n]) != 0) {
			fprintf(stderr, "certdesk: %s:%d: expected %d comma-separated fields\n", path, lineno, CSV_FIELDS);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* Reads a certificate file, PEM or DER. Returns it (caller frees) or NULL. */
static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "rb");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (x == NULL) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	fclose(f);
	return x;
}

/* Finds the issuing CA certdesk holds under which x verifies; ca_key_id gets its key id. Returns 0,
 * 1 when no CA named as its issuer is ours, 2 when the signature does not verify. */
static int find_issuer(struct db_conn *c, X509 *x, char ca_key_id[48])
{
	json_t *cas = NULL, *ca;
	size_t i;
	int named = 0;

	if (store_ca_list_json(c, 1, &cas) != DB_OK)
		return 1;
	json_array_foreach (cas, i, ca) {
		const char *role = json_string_value(json_object_get(ca, "role"));
		X509 *cx = pki_cert_from_b64(json_string_value(json_object_get(ca, "der")));
		if (cx != NULL && role != NULL && strcmp(role, "issuing") == 0 &&
		    X509_NAME_cmp(X509_get_subject_name(cx), X509_get_issuer_name(x)) == 0) {
			named = 1;
			if (pki_x509_verify(x, X509_get0_pubkey(cx))) {
				str_copy(ca_key_id, json_string_value(json_object_get(ca, "key_id")), 48);
				X509_free(cx);
				json_decref(cas);
				return 0;
			}
		}
		X509_free(cx);
	}
	json_decref(cas);
	return named ? 2 : 1;
}

/* Writes x's serial as certdesk stores it (upper-case hex, no leading zeros). */
static void serial_of(X509 *x, char out[48])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	str_copy(out, hex != NULL ? hex : "", 48);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The CSV row for certificate serial with subject text subject, or NULL. */
static const struct csv_row *row_for(const struct csv_row *rows, int n, const char *serial, const char *subject)
{
	for (int i = 0; i < n; i++) {
		const char *s = rows[i].f[0];
		while (s[0] == '0' && s[1] != '\0')
			s++;
		if (s[0] != '\0' && strcasecmp(s, serial) == 0)
			return &rows[i];
	}
	for (int i = 0; i < n; i++)
		if (rows[i].f[0][0] == '\0' && rows[i].f[1][0] != '\0' && strstr(subject, rows[i].f[1]) != NULL)
			return &rows[i];
	return NULL;
}

/* Fills im from x and its CSV row. Returns 0, or -1 with a message printed. */
static int fill_import(struct db_conn *c, const char *path, X509 *x, const struct csv_row *row,
		       struct store_import *im)
{
	struct project_rec p = {0};
	char mobile[MOBILE_LEN + 1];
	unsigned char *der = NULL;
	int len, r = uscc_check(row->f[1], im->org.uscc);
	json_t *form;

	if (r != USCC_OK && r != USCC_BAD_CHECK_CHAR)
		return fprintf(stderr, "certdesk: %s: USCC %s is malformed\n", path, row->f[1]), -1;
	str_copy(im->org.uscc_status, r == USCC_OK ? "valid" : "pending_review", sizeof(im->org.uscc_status));
	str_copy(im->org.name, row->f[2], sizeof(im->org.name));
	str_copy(im->org.handler_name, row->f[2], sizeof(im->org.handler_name));
	if (phone_mobile_normalise(row->f[5], mobile) != 0)
		return fprintf(stderr, "certdesk: %s: mobile %s is not a mainland mobile\n", path, row->f[5]), -1;
	str_copy(im->org.handler_mobile, mobile, sizeof(im->org.handler_mobile));
	str_copy(im->org.password_hash, "!", sizeof(im->org.password_hash)); /* no password until a reset */
	if (store_project_get(c, row->f[3], &p) != DB_OK)
		return fprintf(stderr, "certdesk: %s: no project %s\n", path, row->f[3]), -1;
	if (strcmp(row->f[4], "main") != 0 && strcmp(row->f[4], "secondary") != 0)
		return fprintf(stderr, "certdesk: %s: key type %s is not main or secondary\n", path, row->f[4]), -1;
	im->project_id = p.id;
	str_copy(im->prefix, p.order_prefix, sizeof(im->prefix));
	str_copy(im->key_type, row->f[4], sizeof(im->key_type));
	form = json_pack("{s:s, s:s}", "handler_email", row->f[6], "invoice_email", row->f[6]);
	im->form = json_dumps(form, JSON_COMPACT);
	json_decref(form);
	serial_of(x, im->cert.serial);
	/* a certificate without digitalSignature in its key usage is an encryption one */
	str_copy(im->cert.kind, (X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) != 0 ? "sign" : "enc",
		 sizeof(im->cert.kind));
	pki_name_text(X509_get_subject_name(x), im->cert.subject, sizeof(im->cert.subject));
	if (pki_asn1_time_text(X509_get0_notBefore(x), im->cert.not_before) != 0 ||
	    pki_asn1_time_text(X509_get0_notAfter(x), im->cert.not_after) != 0 ||
	    pki_spki_sha256(X509_get0_pubkey(x), im->cert.spki_sha256) != 0 || (len = i2d_X509(x, &der)) <= 0)
		return fprintf(stderr, "certdesk: %s: unreadable certificate fields\n", path), -1;
	im->cert.der_b64 = pki_b64_encode(der, (size_t)len);
	OPENSSL_free(der);
	return 0;
}

/* Imports one certificate file. Returns 0 (imported or there already) or 1. */
static int import_one(struct db *db, const char *path, const struct csv_row *rows, int nrows)
{
	struct store_import im = {0};
	struct db_conn *c = db_acquire(db);
	X509 *x = read_cert(path);
	const struct csv_row *row;
	char subject[600];
	int rc = 1, v;

	if (x == NULL) {
		fprintf(stderr, "certdesk: %s: not a certificate (PEM or DER)\n", path);
		goto out;
	}
	v = find_issuer(c, x, im.cert.ca_key_id);
	if (v != 0) {
		fprintf(stderr, "certdesk: %s: refused: %s\n", path,
			v == 1 ? "not issued by an issuing CA certdesk holds" : "its signature does not verify");
		goto out;
	}
	serial_of(x, im.cert.serial);
	pki_name_text(X509_get_subject_name(x), subject, sizeof(subject));
	row = row_for(rows, nrows, im.cert.serial, subject);
	if (row == NULL) {
		fprintf(stderr, "certdesk: %s: serial %s has no row in the CSV\n", path, im.cert.serial);
		goto out;
	}
	if (fill_import(c, path, x, row, &im) != 0)
		goto out;
	v = store_cert_import(c, &im, &cli_actor);
	if (v == DB_CONFLICT) {
		printf("%s: serial %s imported before\n", path, im.cert.serial);
		rc = 0;
	} else if (v != DB_OK) {
		fprintf(stderr, "certdesk: %s: database: %s\n", path, db_conn_error(c));
	} else {
		printf("%s: serial %s imported as order %s (%s%s)\n", path, im.cert.serial, im.order_no, im.org.uscc,
		       im.org_created ? ", organisation created" : "");
		rc = 0;
	}
out:
	db_release(c);
	X509_free(x);
	free((char *)im.form);
	free(im.cert.der_b64);
	return rc;
}

int cmd_certs(struct db *db, int argc, char **argv)
{
	struct csv_row *rows;
	int n, failed = 0;

	if (argc < 4 || strcmp(argv[0], "import") != 0 || strcmp(argv[1], "--csv") != 0) {
		fprintf(stderr, "usage: certdesk certs import --csv FILE CERT...\n");
		return 2;
	}
	rows = calloc(CSV_MAX_ROWS, sizeof(*rows));
	n = rows != NULL ? csv_read(argv[2], rows, CSV_MAX_ROWS) : -1;
	if (n < 0) {
		free(rows);
		return 1;
	}
	for (int i = 3; i < argc; i++)
		failed += import_one(db, argv[i], rows, n);
	free(rows);
	return failed > 0 ? 1 : 0;
}
