/* The subcommands of the certdesk admin CLI. Each returns the process exit code. */
#ifndef CERTDESK_CLI_H
#define CERTDESK_CLI_H
#include "store/store.h"

struct db;

/* The actor the CLI's changes are audited as. */
extern const struct actor cli_actor;

/* certdesk staff add --username U --name N --roles r1,r2 [--password-stdin] */
int cmd_staff(struct db *db, int argc, char **argv);
/* Creates the Yingtan project; with demo set, one staff account per role and the demo CA too. */
struct config;
int cmd_init(struct db *db, const struct config *cfg, int demo);
/* certdesk ca init|import|list (cmd_ca.c). */
int cmd_ca(struct db *db, const struct config *cfg, int argc, char **argv);
/* Runs the CA key ceremony for algs ("rsa2048,p256,sm2" when NULL) into keys_dir ([signer]
 * keys_dir when NULL) and seeds the Yingtan profiles. Returns the exit code. */
int cmd_ca_init(struct db *db, const struct config *cfg, const char *algs, const char *keys_dir);

/* certdesk km init|recover|rewrap (cmd_km.c). */
int cmd_km(struct db *db, const struct config *cfg, int argc, char **argv);
/* Creates the KEK file ([km] kek_file) when missing and prints its id. Returns the exit code. */
int cmd_km_ensure_kek(const struct config *cfg);

/* certdesk keys init|migrate|rotate (cmd_keys.c): the personal-data key ([pii] key_file). */
int cmd_keys(struct db *db, const struct config *cfg, int argc, char **argv);
/* Creates the personal-data key file when missing, loads it and prints its id. Returns the exit code. */
int cmd_keys_ensure(const struct config *cfg);

/* certdesk backup DIR | restore DIR (cmd_backup.c): argv[0] is the subcommand. */
int cmd_backup(const struct config *cfg, int argc, char **argv);

/* certdesk certs import --csv FILE CERT... (cmd_certs.c): certificates issued before certdesk. */
int cmd_certs(struct db *db, int argc, char **argv);
/* certdesk seal verify FILE [--json] [--picture OUT] (cmd_seal.c): no configuration or database. */
int cmd_seal(int argc, char **argv);

#endif
