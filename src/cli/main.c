/* certdesk: the operators' command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "store/pii.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "util/strnum.h"

const struct actor cli_actor = {"cli", "certdesk", ""};

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: certdesk [--config FILE] COMMAND\n"
		   "commands:\n"
		   "  migrate                 apply pending schema migrations\n"
		   "  init [--demo]           migrate and create the Yingtan project; --demo adds one\n"
		   "                          staff account per role (demo passwords, printed) and\n"
		   "                          the demo CA (ca init)\n"
		   "  ca init [--algorithms rsa2048,p256,sm2] [--keys-dir DIR]\n"
		   "                          create root, issuing, OCSP and seal-maker CA keys and\n"
		   "                          certificates for certdesk-signer ([signer] keys_dir)\n"
		   "  ca import --key-id ID --cert FILE (--key FILE | --pkcs11-uri URI) [--role R]\n"
		   "                          record an operator's CA certificate and its key\n"
		   "  ca list                 the CAs, algorithms, validity and where each key lives\n"
		   "  km init                 create the key-encryption key ([km] kek_file) if missing\n"
		   "  km recover --serial S --out FILE\n"
		   "                          write the encryption private key of dual certificate S\n"
		   "                          (PKCS#8 PEM, mode 0600; lawful recovery, audited)\n"
		   "  km rewrap --old-kek FILE\n"
		   "                          re-seal the keys of an old KEK under [km] kek_file\n"
		   "  keys init               create the personal-data key ([pii] key_file) if missing\n"
		   "  keys migrate            seal the ID numbers and mobiles a database from before\n"
		   "                          holds in clear (certdeskd also does it when it starts)\n"
		   "  keys rotate             re-seal all personal data under a new key (resumable)\n"
		   "  staff add --username U --name NAME --roles r1,r2 [--password-stdin]\n"
		   "                          create a staff account (roles: reviewer finance paper\n"
		   "                          producer shipper admin); without --password-stdin a\n"
		   "                          random password is generated and printed once\n"
		   "  audit verify            recompute the audit log's hash chain\n"
		   "  backup DIR              copy the database, the stored files and the CA\n"
		   "                          certificates into the new directory DIR (no private\n"
		   "                          keys, no KEK: back those up apart)\n"
		   "  restore DIR             check the backup in DIR and load it into the empty\n"
		   "                          configured database and files directory\n"
		   "  files sweep [--grace-s N]\n"
		   "                          remove stored files no row names, older than N seconds\n"
		   "                          (default 3600; certdeskd also does it every hour)\n"
		   "  certs import --csv FILE CERT...\n"
		   "                          import certificates of this CA issued before certdesk\n"
		   "                          (PEM/DER; CSV: serial,uscc,name,project_code,key_type,\n"
		   "                          mobile,email) so that their holders can renew online\n"
		   "  seal verify FILE [--json] [--picture OUT]\n"
		   "                          check a GB/T 38540 / GM/T 0031 seal file (.esl): exit 0\n"
		   "                          valid, 1 invalid; --picture writes its image\n"
		   "  version                 print the version\n"
		   "Settings come from FILE and CERTDESK_<SECTION>_<KEY> variables, as for certdeskd.\n");
	return rc;
}

/* Runs `audit verify`. */
static int cmd_audit_verify(struct db *db)
{
	int64_t bad = 0, n = store_audit_verify(db, &bad);

	if (n == -1) {
		fprintf(stderr, "audit log: chain broken at entry %lld\n", (long long)bad);
		return 1;
	}
	if (n < 0) {
		fprintf(stderr, "audit log: database error\n");
		return 1;
	}
	printf("audit log: %lld entries, chain intact\n", (long long)n);
	return 0;
}

/* Runs `files sweep [--grace-s N]`. */
static int cmd_files_sweep(struct db *db, const struct config *cfg, int argc, char **argv)
{
	int64_t grace = STORE_FILES_GRACE_S;
	int removed = 0;

	if (argc == 2 || (argc == 3 && (strcmp(argv[1], "--grace-s") != 0 ||
					strnum_parse(argv[2], 0, 10L * 365 * 86400, &grace) != 0))) {
		fprintf(stderr, "certdesk: files sweep [--grace-s SECONDS]\n");
		return 2;
	}
	if (store_files_sweep(db, cfg->data_dir, (long)grace, &removed) != 0) {
		perror(cfg->data_dir);
		return 1;
	}
	printf("files: %d orphan file(s) removed\n", removed);
	return 0;
}

/* Runs a command that needs the migrated database. */
static int run(const struct config *cfg, int argc, char **argv)
{
	struct db *db = NULL;
	char err[1024];
	int applied = 0, rc = 1;

	if (cfg->backend == DB_BACKEND_SQLITE && fs_mkdir_parent(cfg->sqlite_path, 0750) != 0) {
		perror(cfg->sqlite_path);
		return 1;
	}
	if (db_open(&db, cfg, err, sizeof(err)) != 0 || store_migrate(db, &applied, err, sizeof(err)) != 0) {
		fprintf(stderr, "certdesk: database: %s\n", err);
		goto out;
	}
	/* without the key (not made yet) personal data is written clear and certdeskd seals it */
	pii_init(cfg->pii_key_file, err, sizeof(err));
	if (strcmp(argv[0], "migrate") == 0) {
		printf("schema version %d (%d migrations applied now)\n", store_schema_version(db), applied);
		rc = 0;
	} else if (strcmp(argv[0], "init") == 0) {
		rc = cmd_keys_ensure(cfg);
		if (rc == 0)
			rc = cmd_init(db, cfg, argc > 1 && strcmp(argv[1], "--demo") == 0);
	} else if (strcmp(argv[0], "ca") == 0) {
		rc = cmd_ca(db, cfg, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "keys") == 0) {
		rc = cmd_keys(db, cfg, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "km") == 0) {
		rc = cmd_km(db, cfg, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "certs") == 0) {
		rc = cmd_certs(db, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "staff") == 0) {
		rc = cmd_staff(db, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "audit") == 0 && argc > 1 && strcmp(argv[1], "verify") == 0) {
		rc = cmd_audit_verify(db);
	} else if (strcmp(argv[0], "files") == 0 && argc > 1 && argc <= 4 && strcmp(argv[1], "sweep") == 0) {
		rc = cmd_files_sweep(db, cfg, argc - 1, argv + 1);
	} else {
		rc = usage(stderr, 2);
	}
out:
	db_close(db);
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	const char *path = NULL;
	char err[1024];
	int i = 1, rc;

	if (argc > 2 && strcmp(argv[1], "--config") == 0) {
		path = argv[2];
		i = 3;
	}
	if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0)
		return usage(i >= argc ? stderr : stdout, i >= argc ? 2 : 0);
	if (strcmp(argv[i], "version") == 0) {
		printf("certdesk %s\n", CERTDESK_VERSION);
		return 0;
	}
	if (strcmp(argv[i], "seal") == 0) /* seal files only: no configuration, no database */
		return cmd_seal(argc - i - 1, argv + i + 1);
	if (config_load(&cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "certdesk: configuration: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	if (strcmp(argv[i], "backup") == 0 || strcmp(argv[i], "restore") == 0) /* no migration first */
		rc = cmd_backup(&cfg, argc - i, argv + i);
	else
		rc = run(&cfg, argc - i, argv + i);
	config_free(&cfg);
	return rc;
}
