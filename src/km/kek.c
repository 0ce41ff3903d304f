/* The key-encryption key: 32 random bytes in a file of their own ([km] kek_file), never in the
 * database, so that a copy of the database alone opens no encryption key. Its id (a fingerprint)
 * is stored with every key it seals, so that a KEK can be rotated (km rewrap) and a wrong one is
 * named instead of failing obscurely. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "km/km.h"
#include "util/fsutil.h"

/* Sets kek->id from kek->key. */
static void kek_fingerprint(struct km_kek *kek)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, "certdesk-kek", 12) == 1 &&
		 EVP_DigestUpdate(ctx, kek->key, KM_KEK_LEN) == 1 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;

	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 8; i++) {
		kek->id[2 * i] = ok ? hex[md[i] >> 4] : '0';
		kek->id[2 * i + 1] = ok ? hex[md[i] & 15] : '0';
	}
	kek->id[16] = '\0';
}

int km_kek_load(const char *path, struct km_kek *kek, char *why, size_t whylen)
{
	struct stat st;
	unsigned char extra;
	ssize_t n;
	int fd;

	memset(kek, 0, sizeof(*kek));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? KM_KEK_MISSING : KM_KEK_BAD;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(why, whylen, "%s: not a regular file of mode 0600 or 0400", path);
		return KM_KEK_BAD;
	}
	n = read(fd, kek->key, KM_KEK_LEN);
	if (n != KM_KEK_LEN || read(fd, &extra, 1) != 0) {
		close(fd);
		km_kek_wipe(kek);
		snprintf(why, whylen, "%s: not exactly %d bytes", path, KM_KEK_LEN);
		return KM_KEK_BAD;
	}
	close(fd);
	kek_fingerprint(kek);
	return KM_KEK_OK;
}

int km_kek_ensure(const char *path, int *created, char *why, size_t whylen)
{
	unsigned char key[KM_KEK_LEN];
	struct km_kek probe;
	int fd, ok;

	*created = 0;
	if (km_kek_load(path, &probe, why, whylen) == KM_KEK_OK) {
		km_kek_wipe(&probe);
		return 0;
	}
	if (access(path, F_OK) == 0)
		return -1; /* there, but unusable: never replaced (its keys would be lost) */
	if (fs_mkdir_parent(path, 0700) != 0 || RAND_priv_bytes(key, sizeof(key)) != 1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	ok = fd >= 0 && write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(path);
		return -1;
	}
	*created = 1;
	return 0;
}

void km_kek_wipe(struct km_kek *kek)
{
	OPENSSL_cleanse(kek, sizeof(*kek));
}
