/* The subcommands of the certdesk admin CLI. Each returns the process exit code. */
#ifndef CERTDESK_CLI_H
#define CERTDESK_CLI_H
#include "store/store.h"

struct db;

/* The actor the CLI's changes are audited as. */
extern const struct actor cli_actor;

/* certdesk staff add --username U --name N --roles r1,r2 [--password-stdin] */
int cmd_staff(struct db *db, int argc, char **argv);
/* Creates the Yingtan project; with demo set, one staff account per role too. */
int cmd_init(struct db *db, int demo);

#endif
