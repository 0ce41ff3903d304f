/* certdesk km init | recover | rewrap: the key-encryption key and lawful recovery of encryption
 * keys (km/km.h). Operators only: the CLI runs where the KEK file and the database are. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli/cli.h"
#include "config/config.h"
#include "km/km.h"
#include "pki/pki.h"

int cmd_km_ensure_kek(const struct config *cfg)
{
	struct km_kek kek;
	char why[600];
	int created = 0;

	if (km_kek_ensure(cfg->km_kek_file, &created, why, sizeof(why)) != 0 ||
	    km_kek_load(cfg->km_kek_file, &kek, why, sizeof(why)) != KM_KEK_OK) {
		fprintf(stderr, "certdesk: km: %s\n", why);
		return 1;
	}
	printf("key-encryption key %s: %s (id %s)\n", created ? "created" : "present", cfg->km_kek_file,
	       kek.id);
	km_kek_wipe(&kek);
	return 0;
}

/* Writes pk as an unencrypted PKCS#8 PEM to a new file path (mode 0600, never over an existing
 * file). Returns 0 or -1. */
static int write_key(const char *path, EVP_PKEY *pk)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok = f != NULL && PEM_write_PKCS8PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1;

	ok = f != NULL && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	if (f != NULL)
		ok = fclose(f) == 0 && ok;
	else if (fd >= 0)
		close(fd);
	if (!ok && fd >= 0)
		unlink(path);
	return ok ? 0 : -1;
}

struct recover_audit {
	const struct cert_rec *v;
	const char *out;
};

static int recover_audit_tx(struct db_conn *c, void *arg)
{
	struct recover_audit *x = arg;
	char *no = NULL;
	int rc = db_query_text(c, "SELECT order_no FROM orders WHERE id = ?", DB_ARGS(DB_INT(x->v->order_id)),
			       &no);

	if (rc == DB_OK && no != NULL)
		rc = store_audit_order(c, &cli_actor, "km.recover", no,
				       json_pack("{s:s, s:s}", "enc_serial", x->v->serial, "out", x->out));
	free(no);
	return rc == DB_OK ? DB_OK : DB_ERROR;
}

/* km recover --serial S --out FILE */
static int km_recover(struct db *db, const struct config *cfg, const char *serial, const char *out)
{
	struct cert_rec v = {0};
	struct recover_audit x = {&v, out};
	struct db_conn *c = db_acquire(db);
	EVP_PKEY *pk = NULL;
	char detail[600] = "";
	int rc;

	if (access(out, F_OK) == 0) { /* checked before the audit too: a refused recovery recovers nothing */
		db_release(c);
		fprintf(stderr, "certdesk: km recover: %s exists (an existing file is never overwritten)\n",
			out);
		return 1;
	}
	rc = store_cert_by_serial(c, serial, &v);
	if (rc == DB_OK && strcmp(v.kind, "enc") != 0)
		rc = DB_NOTFOUND;
	if (rc == DB_OK)
		rc = km_load_key(c, cfg->km_kek_file, &v, &pk, detail, sizeof(detail));
	db_release(c);
	if (rc == DB_NOTFOUND) {
		fprintf(stderr, "certdesk: km recover: no encryption certificate with serial %s\n", serial);
		rc = 1;
	} else if (rc != PKI_OK) {
		fprintf(stderr, "certdesk: km recover: %s (%s)\n", detail,
			km_err_code(rc) ? km_err_code(rc) : "internal");
		rc = 1;
	} else if (db_tx(db, recover_audit_tx, &x) != DB_OK) { /* audited before the key is written */
		fprintf(stderr, "certdesk: km recover: could not audit the recovery; nothing written\n");
		rc = 1;
	} else if (write_key(out, pk) != 0) {
		fprintf(stderr, "certdesk: km recover: %s: %s (an existing file is never overwritten)\n", out,
			strerror(errno));
		rc = 1;
	} else {
		printf("encryption key of certificate %s written to %s (mode 0600)\n", v.serial, out);
		rc = 0;
	}
	EVP_PKEY_free(pk);
	store_cert_free(&v);
	return rc;
}

struct rewrap_arg {
	const struct km_kek *old, *cur;
	int done, failed;
};

/* Re-seals every key sealed under old with cur, one row at a time. */
static int rewrap_rows(struct db *db, struct rewrap_arg *w)
{
	struct db_conn *c = db_acquire(db);
	struct db_rows *r = NULL;
	int64_t ids[256];
	int n = 0, rc = db_query(c, "SELECT order_id FROM enc_keys WHERE kek_id = ? ORDER BY id",
				 DB_ARGS(DB_TEXT(w->old->id)), &r);

	while (rc == DB_OK && n < 256 && db_rows_next(r) == 1)
		ids[n++] = db_rows_int(r, 0);
	db_rows_free(r);
	for (int i = 0; rc == DB_OK && i < n; i++) {
		struct enc_key_rec k = {0};
		EVP_PKEY *pk = NULL;
		char *sealed = NULL;
		if (km_enc_key_of_order(c, ids[i], &k) == DB_OK &&
		    (pk = km_key_open(w->old, k.wrapped, k.order_id, k.algorithm)) != NULL &&
		    (sealed = km_key_seal(w->cur, pk, k.order_id, k.algorithm)) != NULL &&
		    km_enc_key_rewrap(c, k.id, w->old->id, sealed, w->cur->id) == DB_OK)
			w->done++;
		else
			w->failed++;
		EVP_PKEY_free(pk);
		free(sealed);
		km_enc_key_free(&k);
	}
	db_release(c);
	return rc == DB_OK && n == 256 && w->failed == 0 ? 1 : rc; /* 1: more rows to do */
}

/* km rewrap --old-kek FILE: rotation, after the current [km] kek_file was replaced. */
static int km_rewrap(struct db *db, const struct config *cfg, const char *old_path)
{
	struct km_kek old, cur;
	struct rewrap_arg w = {&old, &cur, 0, 0};
	char why[600];
	int rc;

	if (km_kek_load(old_path, &old, why, sizeof(why)) != KM_KEK_OK ||
	    km_kek_load(cfg->km_kek_file, &cur, why, sizeof(why)) != KM_KEK_OK) {
		fprintf(stderr, "certdesk: km rewrap: %s\n", why);
		return 1;
	}
	if (strcmp(old.id, cur.id) == 0) {
		fprintf(stderr, "certdesk: km rewrap: the old KEK is the current one (%s)\n", cur.id);
		rc = 2;
	} else {
		while ((rc = rewrap_rows(db, &w)) == 1)
			;
		printf("keys re-sealed from KEK %s to %s: %d (%d failed)\n", old.id, cur.id, w.done,
		       w.failed);
		rc = rc == DB_OK && w.failed == 0 ? 0 : 1;
	}
	km_kek_wipe(&old);
	km_kek_wipe(&cur);
	return rc;
}

int cmd_km(struct db *db, const struct config *cfg, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "init") == 0)
		return cmd_km_ensure_kek(cfg);
	if (argc == 5 && strcmp(argv[0], "recover") == 0 && strcmp(argv[1], "--serial") == 0 &&
	    strcmp(argv[3], "--out") == 0)
		return km_recover(db, cfg, argv[2], argv[4]);
	if (argc == 5 && strcmp(argv[0], "recover") == 0 && strcmp(argv[1], "--out") == 0 &&
	    strcmp(argv[3], "--serial") == 0)
		return km_recover(db, cfg, argv[4], argv[2]);
	if (argc == 3 && strcmp(argv[0], "rewrap") == 0 && strcmp(argv[1], "--old-kek") == 0)
		return km_rewrap(db, cfg, argv[2]);
	fprintf(stderr, "usage: certdesk km init\n"
			"       certdesk km recover --serial SERIAL --out FILE\n"
			"       certdesk km rewrap --old-kek FILE\n");
	return 2;
}
