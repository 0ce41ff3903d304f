/* certdesk ca init | import | list: the key ceremony and the CA register (pki/ca_init.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "config/config.h"
#include "pki/ca_init.h"
#include <stdlib.h>

#include "pki/pki.h"
#include "pki/publish.h"
#include "pki/signer_client.h"
#include "store/store.h"

#define CA_ORG "certdesk 演示 CA"

/* Returns the value after flag name in argv, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Returns 1 when every argument after argv[0] is one of the known flags (each with a value). */
static int flags_known(int argc, char **argv, const char *const *known)
{
	for (int i = 1; i < argc; i += 2) {
		int ok = 0;
		for (int k = 0; known[k] != NULL; k++)
			ok |= strcmp(argv[i], known[k]) == 0;
		if (!ok || i + 1 >= argc)
			return 0;
	}
	return 1;
}

int cmd_ca_init(struct db *db, const struct config *cfg, const char *algs, const char *keys_dir)
{
	struct pki_ca_opts o = {keys_dir != NULL ? keys_dir : cfg->signer_keys_dir, 0, CA_ORG, time(NULL)};
	char err[512];
	int added;

	if (pki_parse_algs(algs != NULL ? algs : "rsa2048,p256,sm2", &o.algs) != 0) {
		fprintf(stderr, "certdesk: --algorithms takes rsa2048, rsa3072, p256, sm2 (comma-separated)\n");
		return 2;
	}
	printf("CA keys into %s (the signer loads them at start or on SIGHUP):\n", o.keys_dir);
	if (pki_ca_init(db, &o, &cli_actor, stdout, err, sizeof(err)) != 0) {
		fprintf(stderr, "certdesk: ca init: %s\n", err);
		return 1;
	}
	added = pki_profiles_seed(db, "yingtan", cfg->public_url, &cli_actor);
	if (added > 0)
		printf("certificate profiles of the Yingtan project: %d added\n", added);
	/* dual profiles need the key-encryption key of the key management */
	return cmd_km_ensure_kek(cfg);
}

/* ca import --key-id ID --cert FILE (--key FILE | --pkcs11-uri URI) [--role R] [--keys-dir DIR] */
static int ca_import(struct db *db, const struct config *cfg, int argc, char **argv)
{
	static const char *const known[] = {"--key-id", "--cert", "--key", "--pkcs11-uri", "--role", "--keys-dir", NULL};
	const char *id = opt(argc, argv, "--key-id"), *cert = opt(argc, argv, "--cert"), *key = opt(argc, argv, "--key");
	const char *uri = opt(argc, argv, "--pkcs11-uri"), *role = opt(argc, argv, "--role");
	const char *dir = opt(argc, argv, "--keys-dir");
	char err[512];

	role = role != NULL ? role : "issuing";
	if (!flags_known(argc, argv, known) || id == NULL || cert == NULL || (key == NULL) == (uri == NULL) ||
	    !signer_key_id_valid(id, strlen(id)) ||
	    (strcmp(role, "root") != 0 && strcmp(role, "issuing") != 0 && strcmp(role, "ocsp") != 0 &&
	     strcmp(role, "sealmaker") != 0)) {
		fprintf(stderr, "usage: certdesk ca import --key-id ID --cert FILE (--key FILE | --pkcs11-uri URI)\n"
				"                          [--role issuing|root|ocsp|sealmaker] [--keys-dir DIR]\n"
				"       key ids: [a-z0-9-]{1,40}\n");
		return 2;
	}
	if (pki_ca_import(db, dir != NULL ? dir : cfg->signer_keys_dir, id, role, cert, key, uri, &cli_actor, err,
			  sizeof(err)) != 0) {
		fprintf(stderr, "certdesk: ca import: %s\n", err);
		return 1;
	}
	printf("CA %s imported (%s); send the signer SIGHUP to load it\n", id, role);
	if (strcmp(role, "issuing") == 0 && pki_profiles_seed(db, "yingtan", cfg->public_url, &cli_actor) > 0)
		printf("certificate profiles of the Yingtan project added for it\n");
	return 0;
}

/* certdesk ca crl --ca KEY_ID [--out FILE] [--new]: writes the CA's newest CRL (DER) to FILE (or
 * standard output); with --new, or when there is none yet, has certdesk-signer make one first. */
static int ca_crl(struct db *db, const struct config *cfg, int argc, char **argv)
{
	static const char *const flags[] = {"--ca", "--out", "--new", NULL};
	const char *ca = opt(argc, argv, "--ca"), *out = opt(argc, argv, "--out");
	struct pki_publisher p = {db, cfg->signer_socket, cfg->ca_crl_interval_s, cfg->ca_ocsp_validity_s};
	struct crl_rec crl = {0};
	struct db_conn *c;
	unsigned char *der = NULL;
	size_t len = 0;
	char err[512];
	int rc, fresh = 0;
	FILE *f;

	for (int i = 1; i < argc; i++)
		fresh |= strcmp(argv[i], "--new") == 0;
	if (ca == NULL || !flags_known(argc, argv, flags)) {
		fprintf(stderr, "usage: certdesk ca crl --ca KEY_ID [--out FILE] [--new]\n");
		return 2;
	}
	c = db_acquire(db);
	rc = store_crl_latest(c, ca, &crl);
	db_release(c);
	if (fresh || rc == DB_NOTFOUND) {
		store_crl_free(&crl);
		if (pki_publish_crl(&p, ca, err, sizeof(err)) != 0) {
			fprintf(stderr, "certdesk: no CRL made for %s: %s\n", ca, err);
			return 1;
		}
		c = db_acquire(db);
		rc = store_crl_latest(c, ca, &crl);
		db_release(c);
	}
	if (rc != DB_OK || (der = pki_b64_decode(crl.der_b64, &len)) == NULL) {
		fprintf(stderr, "certdesk: no CRL of %s\n", ca);
		store_crl_free(&crl);
		return 1;
	}
	f = out != NULL ? fopen(out, "wb") : stdout;
	rc = f != NULL && fwrite(der, 1, len, f) == len ? 0 : 1;
	if (f != NULL && f != stdout && fclose(f) != 0)
		rc = 1;
	if (rc != 0)
		fprintf(stderr, "certdesk: cannot write %s\n", out != NULL ? out : "standard output");
	else if (out != NULL)
		printf("CRL %lld of %s (%d revoked, next update %s) written to %s\n", (long long)crl.number, ca,
		       crl.revoked_count, crl.next_update, out);
	free(der);
	store_crl_free(&crl);
	return rc;
}

int cmd_ca(struct db *db, const struct config *cfg, int argc, char **argv)
{
	static const char *const init_flags[] = {"--algorithms", "--keys-dir", NULL};

	if (argc >= 1 && strcmp(argv[0], "init") == 0 && flags_known(argc, argv, init_flags))
		return cmd_ca_init(db, cfg, opt(argc, argv, "--algorithms"), opt(argc, argv, "--keys-dir"));
	if (argc >= 1 && strcmp(argv[0], "import") == 0)
		return ca_import(db, cfg, argc, argv);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return pki_ca_list(db, stdout) == 0 ? 0 : 1;
	if (argc >= 1 && strcmp(argv[0], "crl") == 0)
		return ca_crl(db, cfg, argc, argv);
	fprintf(stderr, "usage: certdesk ca init [--algorithms rsa2048,p256,sm2] [--keys-dir DIR]\n"
			"       certdesk ca import --key-id ID --cert FILE (--key FILE | --pkcs11-uri URI)\n"
			"       certdesk ca list\n"
			"       certdesk ca crl --ca KEY_ID [--out FILE] [--new]\n");
	return 2;
}
