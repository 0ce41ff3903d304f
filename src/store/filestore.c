#include "store/filestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"

/* Writes all of len bytes to fd; returns 0 or -1. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fsyncs the directory path so a rename in it is durable. */
static int sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Checks that sha is 64 lower-case hex digits (it becomes part of a path). */
static int sha_ok(const char *sha)
{
	return strlen(sha) == 64 && strspn(sha, "0123456789abcdef") == 64;
}

int filestore_put(const char *dir, const void *data, size_t len, char sha[SHA256_HEX])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char sub[4096], final[4200], tmp[4300];
	struct stat st;
	int fd, rc = -1;

	crypto_hash_sha256(md, data, len);
	sodium_bin2hex(sha, SHA256_HEX, md, sizeof(md));
	snprintf(sub, sizeof(sub), "%s/%.2s", dir, sha);
	snprintf(final, sizeof(final), "%s/%s", sub, sha);
	/* Stored already: its time is refreshed so that the orphan sweep, which spares young files,
	 * cannot take it before the row that is about to name it is written. A file the sweep has
	 * just moved aside (ENOENT) is written again. */
	if (stat(final, &st) == 0 && (size_t)st.st_size == len && utimensat(AT_FDCWD, final, NULL, 0) == 0)
		return 0;
	if (fs_mkdir_p(sub, 0750) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%08x", sub, sha, randombytes_random());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) == 0 && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, final) == 0 && sync_dir(sub) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

int filestore_open(const char *dir, const char *sha)
{
	char path[4200];

	if (!sha_ok(sha))
		return -1;
	snprintf(path, sizeof(path), "%s/%.2s/%s", dir, sha, sha);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Puts the file moved aside at from back under its name to (a row names it after all); replacing a
 * copy stored meanwhile is harmless, the bytes are the same. On failure the next pass retries. */
static void restore(const char *from, const char *to)
{
	(void)rename(from, to);
}

/* Decides about one stored file sub/name: removes it when it is older than cutoff and no row names
 * it. The file is first moved aside, then its age and use are asked again: an upload that touched
 * it before the move is seen in its time, one after the move finds it missing and writes it anew.
 * Returns 1 when removed, 0 otherwise. */
static int sweep_one(const char *sub, const char *name, time_t cutoff, filestore_in_use_fn in_use, void *arg)
{
	char final[4400], aside[4500];
	const char *sha = strncmp(name, ".orphan-", 8) == 0 ? name + 8 : name;
	struct stat st;

	snprintf(final, sizeof(final), "%s/%s", sub, sha);
	snprintf(aside, sizeof(aside), "%s/.orphan-%s", sub, sha);
	if (sha != name) { /* left aside by a pass that was interrupted */
		if (in_use(sha, arg) != 0) {
			restore(aside, final);
			return 0;
		}
		return unlink(aside) == 0;
	}
	if (lstat(final, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime > cutoff || in_use(sha, arg) != 0)
		return 0;
	if (rename(final, aside) != 0)
		return 0;
	if (lstat(aside, &st) != 0 || st.st_mtime > cutoff || in_use(sha, arg) != 0) {
		restore(aside, final);
		return 0;
	}
	return unlink(aside) == 0;
}

/* Sweeps one two-hex-digit directory; adds what it removed to *removed. */
static void sweep_dir(const char *sub, time_t cutoff, filestore_in_use_fn in_use, void *arg, int *removed)
{
	DIR *d = opendir(sub);
	struct dirent *e;
	struct stat st;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[4500];
		if (sha_ok(e->d_name) || (strncmp(e->d_name, ".orphan-", 8) == 0 && sha_ok(e->d_name + 8))) {
			*removed += sweep_one(sub, e->d_name, cutoff, in_use, arg);
		} else if (strncmp(e->d_name, ".tmp-", 5) == 0) {
			/* the half-written file of a crashed upload: never renamed, never named by a row */
			snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
			if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime <= cutoff &&
			    unlink(path) == 0)
				(*removed)++;
		}
	}
	closedir(d);
}

int filestore_sweep(const char *dir, long grace_s, filestore_in_use_fn in_use, void *arg, int *removed)
{
	time_t cutoff = time(NULL) - grace_s;
	DIR *d = opendir(dir);
	struct dirent *e;

	*removed = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1; /* nothing stored yet */
	while ((e = readdir(d)) != NULL) {
		char sub[4200];
		if (strlen(e->d_name) != 2 || strspn(e->d_name, "0123456789abcdef") != 2)
			continue; /* only the store's own directories */
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		sweep_dir(sub, cutoff, in_use, arg, removed);
	}
	closedir(d);
	return 0;
}
