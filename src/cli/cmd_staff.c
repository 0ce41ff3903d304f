/* certdesk staff ...: staff accounts from the command line. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/password.h"
#include "cli/cli.h"
#include "core/roles.h"
#include "store/store.h"

/* Returns 1 when name is 3 to 32 of [a-z0-9._-]. */
static int username_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 3 || n > 32)
		return 0;
	for (const char *p = name; *p != '\0'; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-", *p) != NULL))
			return 0;
	return 1;
}

/* Reads one line from standard input into pw (len bytes) without its newline; returns 0 or -1. */
static int read_password(char *pw, size_t len)
{
	if (fgets(pw, (int)len, stdin) == NULL)
		return -1;
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

/* Writes a random 16-character password (letters and digits) into pw. */
static void random_password(char pw[17])
{
	static const char set[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

	for (int i = 0; i < 16; i++)
		pw[i] = set[randombytes_uniform(sizeof(set) - 1)];
	pw[16] = '\0';
	/* Guarantee two classes for the policy. */
	pw[0] = 'A' + (char)randombytes_uniform(26);
	pw[1] = '2' + (char)randombytes_uniform(8);
}

struct staff_args {
	const char *username, *name, *roles, *hash;
	int64_t id;
};

static int create_tx(struct db_conn *c, void *arg)
{
	struct staff_args *a = arg;
	return store_staff_create(c, a->username, a->name, a->hash, a->roles, &cli_actor, &a->id);
}

int cmd_staff(struct db *db, int argc, char **argv)
{
	struct staff_args a = {0};
	char pw[256] = "", hash[PASSWORD_HASH_LEN];
	const char *problem;
	int from_stdin = 0, rc;

	if (argc < 1 || strcmp(argv[0], "add") != 0)
		goto usage;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0)
			from_stdin = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--username") == 0)
			a.username = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
			a.name = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--roles") == 0)
			a.roles = argv[++i];
		else
			goto usage;
	}
	if (a.username == NULL || a.name == NULL || a.roles == NULL)
		goto usage;
	if (!username_ok(a.username)) {
		fprintf(stderr, "certdesk: username must be 3 to 32 of a-z 0-9 . _ -\n");
		return 2;
	}
	if (role_list_valid(a.roles) != 0) {
		fprintf(stderr, "certdesk: roles must be distinct, comma-separated names from: "
				"reviewer finance paper producer shipper admin\n");
		return 2;
	}
	if (from_stdin ? read_password(pw, sizeof(pw)) : (random_password(pw), 0)) {
		fprintf(stderr, "certdesk: no password on standard input\n");
		return 2;
	}
	if ((problem = password_policy_problem(pw)) != NULL) {
		fprintf(stderr, "certdesk: password refused: %s\n", problem);
		return 2;
	}
	if (password_hash(pw, hash) != 0)
		return 1;
	a.hash = hash;
	rc = db_tx(db, create_tx, &a);
	if (rc == DB_CONFLICT)
		fprintf(stderr, "certdesk: staff account '%s' exists already\n", a.username);
	else if (rc != DB_OK)
		fprintf(stderr, "certdesk: could not create the account\n");
	else if (from_stdin)
		printf("staff %s created (id %lld, roles %s)\n", a.username, (long long)a.id, a.roles);
	else
		printf("staff %s created (id %lld, roles %s), password: %s\n", a.username, (long long)a.id,
		       a.roles, pw);
	sodium_memzero(pw, sizeof(pw));
	return rc == DB_OK ? 0 : 1;
usage:
	fprintf(stderr,
		"usage: certdesk staff add --username U --name NAME --roles r1,r2 [--password-stdin]\n");
	return 2;
}
