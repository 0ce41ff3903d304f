#include "store/filestore.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
	if (stat(final, &st) == 0 && (size_t)st.st_size == len)
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
