/* Key backend: a PEM private key file in keys_dir (demo, tests, SM2 keys: SoftHSM has no SM2). */
#include "signer/signer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

int keys_evp_sign(EVP_PKEY *pkey, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
		  size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *buf = NULL;
	size_t n = (size_t)EVP_PKEY_get_size(pkey);
	int rc = -1;

	if (m == NULL || n == 0 || (buf = OPENSSL_malloc(n)) == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(m, &pctx, alg == KEY_ALG_SM2 ? "SM3" : "SHA256", NULL, NULL, pkey, NULL) !=
	    1)
		goto out;
	/* OpenSSL 3.0 signs SM2 with an empty ID unless told: set the GM/T one before any data. */
	if (alg == KEY_ALG_SM2 && EVP_PKEY_CTX_set1_id(pctx, SIGNER_SM2_ID, SIGNER_SM2_ID_LEN) != 1)
		goto out;
	if (alg == KEY_ALG_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	if (EVP_DigestSign(m, buf, &n, tbs, len) != 1)
		goto out;
	*sig = buf;
	*siglen = n;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	EVP_MD_CTX_free(m);
	return rc;
}

static int file_sign(void *state, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
		     size_t *siglen, char *why, size_t whylen)
{
	if (keys_evp_sign(state, alg, tbs, len, sig, siglen) != 0) {
		snprintf(why, whylen, "signing failed");
		return SIGNER_INTERNAL;
	}
	return 0;
}

static void file_free(void *state)
{
	EVP_PKEY_free(state);
}

const struct key_backend keys_file_backend = {"file", file_sign, file_free};

int keys_file_load(const char *path, EVP_PKEY *pub, void **state, char *why, size_t whylen)
{
	struct stat st;
	EVP_PKEY *pkey = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		snprintf(why, whylen, "not a regular file of mode 0600 or 0400 (mode %03o)",
			 (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		goto fail;
	}
	fd = -1;
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		snprintf(why, whylen, "not a PEM private key (or encrypted)");
		goto fail;
	}
	if (EVP_PKEY_eq(pkey, pub) != 1) {
		snprintf(why, whylen, "private key does not match the certificate");
		EVP_PKEY_free(pkey);
		goto fail;
	}
	*state = pkey;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}
