/* certdesk keys init|migrate|rotate: the key that seals personal data at rest ([pii] key_file,
 * store/pii.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "store/pii.h"
#include "store/pii_store.h"

int cmd_keys_ensure(const struct config *cfg)
{
	char why[512];
	int created = 0;

	if (pii_key_create(cfg->pii_key_file, &created, why, sizeof(why)) != 0 ||
	    pii_init(cfg->pii_key_file, why, sizeof(why)) != PII_OK) {
		fprintf(stderr, "certdesk: personal-data key: %s\n", why);
		return 1;
	}
	printf("personal-data key %s: %s (id %s)\n", created ? "created" : "present", cfg->pii_key_file,
	       pii_current_kid());
	return 0;
}

/* Loads the key and checks that it opens the database's values. */
static int load_checked(struct db *db, const struct config *cfg)
{
	char why[512];
	int sealed = 0;

	if (pii_init(cfg->pii_key_file, why, sizeof(why)) != PII_OK) {
		fprintf(stderr, "certdesk: personal-data key: %s\n", why);
		return -1;
	}
	if (pii_store_check(db, &sealed, why, sizeof(why)) != 0) {
		fprintf(stderr, "certdesk: personal-data key %s: %s\n", cfg->pii_key_file, why);
		return -1;
	}
	return 0;
}

/* Re-seals until a pass finds nothing left (certdeskd may write under the old key meanwhile). */
static int reseal_all(struct db *db, int *total)
{
	int changed = 0, failed = 0, pass = 0;

	*total = 0;
	do {
		if (pii_store_reseal(db, &changed, &failed) != 0) {
			fprintf(stderr, "certdesk: sealing personal data: database error\n");
			return -1;
		}
		*total += changed;
	} while (changed > 0 && ++pass < 10);
	if (failed > 0) {
		fprintf(stderr, "certdesk: %d value(s) could not be opened with the loaded keys\n", failed);
		return -1;
	}
	return 0;
}

/* keys migrate: seals what a database from before holds in clear. */
static int keys_migrate(struct db *db, const struct config *cfg)
{
	int n = 0;

	if (load_checked(db, cfg) != 0 || reseal_all(db, &n) != 0)
		return 1;
	printf("personal data: %d value(s) sealed under key %s\n", n, pii_current_kid());
	return 0;
}

/* Syncs the directory holding path, so that a rename survives a crash. */
static void sync_dir(const char *path)
{
	char dir[4096];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The last step of a rotation: the old key is kept beside (path.old-<id>), the new one takes its
 * place. Before the first rename path.new is all there is of the new key; after it path is. */
static int keys_swap(const char *path, const char *next, const char *old_kid)
{
	char old[4200];

	snprintf(old, sizeof(old), "%s.old-%s", path, old_kid);
	if ((access(path, F_OK) == 0 && rename(path, old) != 0) || rename(next, path) != 0) {
		fprintf(stderr, "certdesk: %s: %s\n", path, strerror(errno));
		return -1;
	}
	sync_dir(path);
	printf("old key kept as %s: remove it once every certdeskd has restarted and a backup holds "
	       "the new key\n",
	       old);
	return 0;
}

/* keys rotate: a new key (path.new, reused when an interrupted rotation left one), every value
 * re-sealed under it, then the files swapped. Safe to run again after any interruption. */
static int keys_rotate(struct db *db, const struct config *cfg)
{
	char next[4200], old_kid[PII_KID_LEN + 1], why[512];
	int created = 0, n = 0;

	snprintf(next, sizeof(next), "%s.new", cfg->pii_key_file);
	if (access(cfg->pii_key_file, F_OK) != 0 && access(next, F_OK) == 0) {
		/* interrupted between the two renames: only the second is left */
		if (rename(next, cfg->pii_key_file) != 0) {
			fprintf(stderr, "certdesk: %s: %s\n", next, strerror(errno));
			return 1;
		}
		printf("rotation finished: %s is the key\n", cfg->pii_key_file);
		return 0;
	}
	if (load_checked(db, cfg) != 0)
		return 1;
	snprintf(old_kid, sizeof(old_kid), "%s", pii_current_kid());
	if (pii_key_create(next, &created, why, sizeof(why)) != 0 ||
	    pii_init(cfg->pii_key_file, why, sizeof(why)) != PII_OK || pii_use_next() != 0) {
		fprintf(stderr, "certdesk: new personal-data key: %s\n", why);
		return 1;
	}
	printf("new personal-data key %s (%s)\n", pii_current_kid(), created ? "created" : "resumed");
	if (strcmp(old_kid, pii_current_kid()) == 0) {
		fprintf(stderr, "certdesk: %s holds the current key already\n", next);
		return 1;
	}
	if (reseal_all(db, &n) != 0)
		return 1; /* path.new stays: running the command again resumes */
	printf("personal data: %d value(s) re-sealed under key %s\n", n, pii_current_kid());
	return keys_swap(cfg->pii_key_file, next, old_kid) == 0 ? 0 : 1;
}

int cmd_keys(struct db *db, const struct config *cfg, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "init") == 0)
		return cmd_keys_ensure(cfg);
	if (argc == 1 && strcmp(argv[0], "migrate") == 0)
		return keys_migrate(db, cfg);
	if (argc == 1 && strcmp(argv[0], "rotate") == 0)
		return keys_rotate(db, cfg);
	fprintf(stderr, "certdesk: keys init | keys migrate | keys rotate\n");
	return 2;
}
