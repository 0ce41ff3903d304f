/* certdesk backup DIR / certdesk restore DIR: the database (SQLite through its online backup API,
 * PostgreSQL through pg_dump's custom format and pg_restore), the stored files ([files] data_dir)
 * and the CA certificates of [signer] keys_dir (*.crt only). Private keys are never copied: the CA
 * key files (*.pem, *.p11) and the KEK ([km] kek_file) are backed up by the operator apart
 * (docs/operations.md). DIR/MANIFEST.json, written last, lists every file with its SHA-256; restore
 * checks them all before it changes anything, and restores only into an empty database and an
 * empty files directory. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <sodium.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "store/db.h"
#include "util/fsutil.h"
#include "util/timefmt.h"

extern char **environ;

#define BACKUP_FORMAT 1
#define SHA_HEX (crypto_hash_sha256_BYTES * 2 + 1)
#define PATH_LEN 4200

/* Copies the file src to dst (created, mode), hashing the bytes into sha. Written to a temporary
 * name, fsynced and renamed. Returns 0, or -1 with errno set. */
static int copy_file(const char *src, const char *dst, mode_t mode, char sha[SHA_HEX], long long *size)
{
	char tmp[PATH_LEN + 16], buf[65536];
	crypto_hash_sha256_state st;
	unsigned char md[crypto_hash_sha256_BYTES];
	int in = -1, out = -1, rc = -1;
	ssize_t n;

	*size = 0;
	snprintf(tmp, sizeof(tmp), "%s.part", dst);
	if (fs_mkdir_parent(dst, 0750) != 0 || (in = open(src, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		goto out;
	crypto_hash_sha256_init(&st);
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		crypto_hash_sha256_update(&st, (unsigned char *)buf, (unsigned long long)n);
		if (write(out, buf, (size_t)n) != n)
			goto out;
		*size += n;
	}
	if (n < 0 || fsync(out) != 0)
		goto out;
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(sha, SHA_HEX, md, sizeof(md));
	rc = close(out) == 0 && rename(tmp, dst) == 0 ? 0 : -1;
	out = -1;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* Returns the hex SHA-256 of the file at path into sha; 0, or -1 when it cannot be read. */
static int hash_file(const char *path, char sha[SHA_HEX])
{
	crypto_hash_sha256_state st;
	unsigned char md[crypto_hash_sha256_BYTES], buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
	close(fd);
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(sha, SHA_HEX, md, sizeof(md));
	return n < 0 ? -1 : 0;
}

/* Runs argv (a program found on PATH) and returns its exit status, or -1 when it cannot start. */
static int run_program(char *const argv[])
{
	pid_t pid;
	int status = 0;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
		fprintf(stderr, "certdesk: cannot run %s: %s\n", argv[0], strerror(errno));
		return -1;
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Copies the SQLite database from to the file to with the online backup API (a consistent
 * snapshot while certdeskd keeps writing). Returns 0 or -1. */
static int sqlite_copy(const char *from, const char *to, int from_readonly)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int rc = SQLITE_ERROR;

	if (sqlite3_open_v2(from, &src, from_readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "certdesk: %s: %s\n", from, sqlite3_errmsg(src != NULL ? src : dst));
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	sqlite3_busy_timeout(dst, 5000);
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		fprintf(stderr, "certdesk: backup of %s: %s\n", from, sqlite3_errmsg(dst));
		goto out;
	}
	/* 256 pages a step: writers are locked out only for a step's time, not the whole copy */
	while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(rc == SQLITE_OK ? 0 : 50);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		fprintf(stderr, "certdesk: backup of %s: %s\n", from, sqlite3_errstr(rc));
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The walk of a directory tree into the manifest (nftw has no argument pointer). */
static struct {
	const char *from, *to; /* the tree copied, and where to */
	json_t *list;          /* [{path, size, sha256}] */
	int failed;
} walk;

/* Copies one regular file of the walk (temporary files of the file store, ".tmp-*", are skipped). */
static int walk_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	char dst[PATH_LEN * 2], sha[SHA_HEX];
	const char *rel = path + strlen(walk.from) + 1;
	long long size = 0;

	(void)sb;
	if (type != FTW_F || path[ftw->base] == '.')
		return 0;
	snprintf(dst, sizeof(dst), "%s/%s", walk.to, rel);
	if (copy_file(path, dst, 0640, sha, &size) != 0) {
		fprintf(stderr, "certdesk: %s: %s\n", path, strerror(errno));
		walk.failed = 1;
		return 1;
	}
	json_array_append_new(walk.list, json_pack("{s:s, s:I, s:s}", "path", rel, "size", (json_int_t)size,
						   "sha256", sha));
	return 0;
}

/* Copies the regular files under from to to; returns their list, or NULL on a failure. An absent
 * from is an empty list. */
static json_t *copy_tree(const char *from, const char *to)
{
	struct stat st;

	walk.from = from;
	walk.to = to;
	walk.list = json_array();
	walk.failed = 0;
	if (stat(from, &st) == 0 && nftw(from, walk_one, 16, FTW_PHYS) != 0)
		walk.failed = 1;
	if (walk.failed) {
		json_decref(walk.list);
		return NULL;
	}
	return walk.list;
}

/* Copies the CA certificates (*.crt) of keys_dir into to; returns their list, or NULL on a failure.
 * Keys (*.pem, *.p11 and anything else) stay where they are. */
static json_t *copy_ca_certs(const char *keys_dir, const char *to)
{
	DIR *d = opendir(keys_dir);
	struct dirent *e;
	json_t *list = json_array();

	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char src[PATH_LEN * 2], dst[PATH_LEN * 2], sha[SHA_HEX];
		long long size = 0;
		if (n < 5 || e->d_name[0] == '.' || strcmp(e->d_name + n - 4, ".crt") != 0)
			continue;
		snprintf(src, sizeof(src), "%s/%s", keys_dir, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
		if (copy_file(src, dst, 0644, sha, &size) != 0) {
			fprintf(stderr, "certdesk: %s: %s\n", src, strerror(errno));
			json_decref(list);
			list = NULL;
			break;
		}
		json_array_append_new(list, json_pack("{s:s, s:I, s:s}", "path", e->d_name, "size",
						      (json_int_t)size, "sha256", sha));
	}
	if (d != NULL)
		closedir(d);
	return list;
}

/* Writes the database's copy into dir; *name gets its file name. Returns 0 or -1. */
static int backup_database(const struct config *cfg, const char *dir, const char **name)
{
	char out[PATH_LEN];

	*name = cfg->backend == DB_BACKEND_SQLITE ? "database.sqlite" : "database.pgdump";
	snprintf(out, sizeof(out), "%s/%s", dir, *name);
	if (cfg->backend == DB_BACKEND_SQLITE)
		return sqlite_copy(cfg->sqlite_path, out, 1);
	/* pg_dump's custom format: one consistent snapshot, restored by pg_restore */
	char *argv[] = {"pg_dump",  "--format=custom",      "--no-owner", "--no-privileges", "--file", out,
			"--dbname", cfg->postgres_conninfo, NULL};
	return run_program(argv) == 0 ? 0 : -1;
}

/* Writes j as dir/MANIFEST.json (temporary name, fsync, rename). Returns 0 or -1. */
static int write_manifest(const char *dir, json_t *j)
{
	char path[PATH_LEN], tmp[PATH_LEN + 8];
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/MANIFEST.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		return -1;
	if (json_dumpfd(j, fd, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0)
		return -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* Returns the schema version of the database cfg names, 0 when it has none (empty), -1 on error. */
static int schema_version(const struct config *cfg)
{
	struct db *db = NULL;
	struct db_conn *c;
	int64_t v = 0;
	char err[512];
	int rc;

	if (db_open(&db, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "certdesk: database: %s\n", err);
		return -1;
	}
	c = db_acquire(db);
	rc = db_query_int(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", DB_NOARGS, &v);
	db_release(c);
	db_close(db);
	return rc == DB_OK ? (int)v : 0; /* no table: nothing migrated there yet */
}

/* certdesk backup DIR. */
static int do_backup(const struct config *cfg, const char *dir)
{
	char sub[PATH_LEN], at[TIMEFMT_LEN];
	const char *dbfile = NULL;
	json_t *files = NULL, *certs = NULL, *m;
	int schema = schema_version(cfg), rc;

	if (schema <= 0) {
		fprintf(stderr, "certdesk: backup: the database has no schema (nothing to back up)\n");
		return 1;
	}
	if (mkdir(dir, 0700) != 0) {
		fprintf(stderr, "certdesk: backup: %s: %s (give a new directory)\n", dir, strerror(errno));
		return 1;
	}
	/* The database first: files are never changed once stored and a row is written after its
	 * file, so every file the snapshot names is already there when the files are copied. */
	if (backup_database(cfg, dir, &dbfile) != 0) {
		fprintf(stderr, "certdesk: backup: the database copy failed\n");
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/files", dir);
	files = copy_tree(cfg->data_dir, sub);
	snprintf(sub, sizeof(sub), "%s/ca", dir);
	certs = files != NULL ? copy_ca_certs(cfg->signer_keys_dir, sub) : NULL;
	if (files == NULL || certs == NULL) {
		json_decref(files);
		fprintf(stderr, "certdesk: backup: copying the files failed\n");
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/%s", dir, dbfile);
	char dbsha[SHA_HEX];
	if (hash_file(sub, dbsha) != 0)
		return json_decref(files), json_decref(certs), 1;
	m = json_pack("{s:i, s:s, s:s, s:i, s:s, s:{s:s, s:s}, s:o, s:o}", "format", BACKUP_FORMAT,
		      "created_at", timefmt_rfc3339(time(NULL), at), "backend",
		      config_backend_name(cfg->backend), "schema", schema, "program", CERTDESK_VERSION,
		      "database", "path", dbfile, "sha256", dbsha, "files", files, "ca_certificates", certs);
	rc = write_manifest(dir, m);
	printf("backup %s: %s database (schema %d), %zu file(s), %zu CA certificate(s); private keys and the "
	       "KEK "
	       "are not included\n",
	       dir, config_backend_name(cfg->backend), schema, json_array_size(files),
	       json_array_size(certs));
	json_decref(m);
	return rc == 0 ? 0 : 1;
}

/* Checks that every file the list names (under base) has its size and SHA-256. Returns 0 or -1. */
static int check_list(const char *base, json_t *list)
{
	size_t i;
	json_t *e;

	json_array_foreach (list, i, e) {
		const char *rel = json_string_value(json_object_get(e, "path"));
		char path[PATH_LEN * 2], sha[SHA_HEX];
		if (rel == NULL || strstr(rel, "..") != NULL || rel[0] == '/') {
			fprintf(stderr, "certdesk: restore: bad path in the manifest\n");
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s", base, rel);
		if (hash_file(path, sha) != 0 ||
		    strcmp(sha, json_string_value(json_object_get(e, "sha256")) ?: "") != 0) {
			fprintf(stderr, "certdesk: restore: %s is missing or damaged\n", path);
			return -1;
		}
	}
	return 0;
}

/* Copies the listed files from base to to, leaving any already there with the same content.
 * Returns 0 or -1. */
static int restore_list(const char *base, json_t *list, const char *to, mode_t mode)
{
	size_t i;
	json_t *e;

	json_array_foreach (list, i, e) {
		const char *rel = json_string_value(json_object_get(e, "path"));
		char src[PATH_LEN * 2], dst[PATH_LEN * 2], sha[SHA_HEX];
		long long size = 0;
		snprintf(src, sizeof(src), "%s/%s", base, rel);
		snprintf(dst, sizeof(dst), "%s/%s", to, rel);
		if (hash_file(dst, sha) == 0) {
			if (strcmp(sha, json_string_value(json_object_get(e, "sha256"))) == 0)
				continue;
			fprintf(stderr, "certdesk: restore: %s exists with other content: left as it is\n",
				dst);
			return -1;
		}
		if (copy_file(src, dst, mode, sha, &size) != 0) {
			fprintf(stderr, "certdesk: restore: %s: %s\n", dst, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Stops the walk at the first regular file (nftw has no argument pointer). */
static int probe_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)sb;
	(void)ftw;
	return type == FTW_F;
}

/* Returns 1 when directory path is absent or holds no regular file. */
static int tree_empty(const char *path)
{
	return access(path, F_OK) != 0 || nftw(path, probe_file, 16, FTW_PHYS) == 0;
}

/* Loads and checks dir/MANIFEST.json against the configuration; returns it, or NULL. */
static json_t *load_manifest(const struct config *cfg, const char *dir)
{
	char path[PATH_LEN];
	json_error_t je;
	json_t *m;
	const char *backend;

	snprintf(path, sizeof(path), "%s/MANIFEST.json", dir);
	if ((m = json_load_file(path, 0, &je)) == NULL) {
		fprintf(stderr, "certdesk: restore: %s: %s (an incomplete backup has none)\n", path, je.text);
		return NULL;
	}
	backend = json_string_value(json_object_get(m, "backend"));
	if (json_integer_value(json_object_get(m, "format")) != BACKUP_FORMAT || backend == NULL ||
	    strcmp(backend, config_backend_name(cfg->backend)) != 0) {
		fprintf(stderr,
			"certdesk: restore: the backup is of a %s database, the configuration names %s\n",
			backend ? backend : "unknown", config_backend_name(cfg->backend));
		json_decref(m);
		return NULL;
	}
	return m;
}

/* Loads the database copy of the backup into the (empty) configured database. Returns 0 or -1. */
static int restore_database(const struct config *cfg, const char *file)
{
	if (cfg->backend == DB_BACKEND_SQLITE) {
		if (fs_mkdir_parent(cfg->sqlite_path, 0750) != 0)
			return -1;
		return sqlite_copy(file, cfg->sqlite_path, 1);
	}
	char *argv[] = {"pg_restore",           "--no-owner",           "--no-privileges",
			"--exit-on-error",      "--single-transaction", "--dbname",
			cfg->postgres_conninfo, (char *)file,           NULL};
	return run_program(argv) == 0 ? 0 : -1;
}

/* certdesk restore DIR: checks everything first, then the database, the files, the certificates. */
static int do_restore(const struct config *cfg, const char *dir)
{
	json_t *m = load_manifest(cfg, dir), *db = json_object_get(m, "database");
	char path[PATH_LEN], files[PATH_LEN], certs[PATH_LEN], sha[SHA_HEX];
	const char *dbfile = json_string_value(json_object_get(db, "path"));
	int have;

	if (m == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", dir,
		 dbfile != NULL && strchr(dbfile, '/') == NULL ? dbfile : "-");
	snprintf(files, sizeof(files), "%s/files", dir);
	snprintf(certs, sizeof(certs), "%s/ca", dir);
	if (json_integer_value(json_object_get(m, "schema")) > store_schema_latest()) {
		fprintf(stderr,
			"certdesk: restore: the backup's schema %lld is newer than this program's %d: "
			"restore with the release that made it\n",
			(long long)json_integer_value(json_object_get(m, "schema")), store_schema_latest());
		goto fail;
	}
	if (hash_file(path, sha) != 0 ||
	    strcmp(sha, json_string_value(json_object_get(db, "sha256")) ?: "") != 0 ||
	    check_list(files, json_object_get(m, "files")) != 0 ||
	    check_list(certs, json_object_get(m, "ca_certificates")) != 0) {
		fprintf(stderr, "certdesk: restore: the backup in %s is damaged (%s): nothing changed\n", dir,
			path);
		goto fail;
	}
	/* Only into an empty place: a restore never mixes with live data. */
	if ((have = schema_version(cfg)) != 0 || !tree_empty(cfg->data_dir)) {
		fprintf(stderr,
			"certdesk: restore: the configured database (schema %d) or %s is not empty: "
			"restore into a new database and files directory\n",
			have, cfg->data_dir);
		goto fail;
	}
	if (restore_database(cfg, path) != 0) {
		fprintf(stderr, "certdesk: restore: loading the database failed\n");
		goto fail;
	}
	if (fs_mkdir_p(cfg->data_dir, 0750) != 0 ||
	    restore_list(files, json_object_get(m, "files"), cfg->data_dir, 0640) != 0 ||
	    fs_mkdir_p(cfg->signer_keys_dir, 0700) != 0 ||
	    restore_list(certs, json_object_get(m, "ca_certificates"), cfg->signer_keys_dir, 0644) != 0) {
		fprintf(stderr, "certdesk: restore: copying the files failed\n");
		goto fail;
	}
	printf("restored %s: %s database (schema %lld), %zu file(s), %zu CA certificate(s); put back the CA "
	       "keys "
	       "and the KEK, then run certdesk migrate and certdesk audit verify\n",
	       dir, config_backend_name(cfg->backend),
	       (long long)json_integer_value(json_object_get(m, "schema")),
	       json_array_size(json_object_get(m, "files")),
	       json_array_size(json_object_get(m, "ca_certificates")));
	json_decref(m);
	return 0;
fail:
	json_decref(m);
	return 1;
}

int cmd_backup(const struct config *cfg, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "usage: certdesk %s DIR\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	return strcmp(argv[0], "backup") == 0 ? do_backup(cfg, argv[1]) : do_restore(cfg, argv[1]);
}
