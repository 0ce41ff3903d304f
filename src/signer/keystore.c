/* The keys of keys_dir: "<id>.pem" (file backend) or "<id>.p11" (PKCS#11 backend), each with its
 * certificate "<id>.crt". Loaded whole at start and on SIGHUP; a key that fails to load is skipped
 * with a line on stderr (the signer then answers NO_KEY for it) so one bad file cannot stop the
 * others from being served. */
#include "signer/signer.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "pki/signer_client.h"
#include "util/log.h"

#define MAX_KEYS 256

struct keystore {
	struct signer_key *keys[MAX_KEYS];
	int n;
};

static const char *alg_name(int alg)
{
	return alg == KEY_ALG_RSA ? "RSA" : alg == KEY_ALG_P256 ? "ECDSA P-256" : "SM2";
}

/* Reads the PEM certificate at path; returns it or NULL. */
static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	return x;
}

void keystore_key_free(struct signer_key *k)
{
	if (k == NULL)
		return;
	if (k->be != NULL)
		k->be->free(k->state);
	X509_free(k->cert);
	free(k);
}

/* Loads key id of dir whose private part is file name (ext ".pem" or ".p11"); returns it or NULL. */
static struct signer_key *load_key(const char *dir, const char *id, const char *ext)
{
	char path[4200], why[256] = "";
	struct signer_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(path, sizeof(path), "%s/%s.crt", dir, id);
	if ((k->cert = read_cert(path)) == NULL) {
		snprintf(why, sizeof(why), "no certificate %s.crt", id);
		goto fail;
	}
	EVP_PKEY *pub = X509_get0_pubkey(k->cert);
	if ((k->alg = checks_key_alg(pub)) == 0) {
		snprintf(why, sizeof(why), "unsupported key type (RSA >= 2048, P-256 or SM2)");
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/%s%s", dir, id, ext);
	if (strcmp(ext, ".pem") == 0) {
		k->be = &keys_file_backend;
		if (keys_file_load(path, pub, &k->state, why, sizeof(why)) != 0)
			goto fail_nobe;
	} else {
		if (k->alg == KEY_ALG_SM2) {
			snprintf(why, sizeof(why), "SM2 keys are file-backed only");
			goto fail;
		}
		k->be = &keys_pkcs11_backend;
		if (keys_pkcs11_load(id, path, pub, &k->state, why, sizeof(why)) != 0)
			goto fail_nobe;
	}
	log_info("signer", "key %s: %s, %s", id, k->be->name, alg_name(k->alg));
	return k;
fail_nobe:
	k->be = NULL;
fail:
	log_warn("signer", "key %s%s skipped: %s", id, ext, why);
	keystore_key_free(k);
	return NULL;
}

/* Returns 1 when name is "<valid id><ext>" and copies the id into id. */
static int key_file_name(const char *name, const char *ext, char id[SIGNER_MAX_KEY_ID + 1])
{
	size_t n = strlen(name), e = strlen(ext);

	if (n <= e || strcmp(name + n - e, ext) != 0 || !signer_key_id_valid(name, n - e))
		return 0;
	memcpy(id, name, n - e);
	id[n - e] = '\0';
	return 1;
}

struct keystore *keystore_load(const char *dir)
{
	struct keystore *ks = calloc(1, sizeof(*ks));
	DIR *d = opendir(dir);
	struct dirent *de;
	char id[SIGNER_MAX_KEY_ID + 1];

	if (ks == NULL)
		abort();
	if (d == NULL) {
		log_error("signer", "keys_dir %s: %s", dir, strerror(errno));
		free(ks);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		const char *ext = key_file_name(de->d_name, ".pem", id)   ? ".pem"
				  : key_file_name(de->d_name, ".p11", id) ? ".p11"
									  : NULL;
		if (ext == NULL)
			continue;
		if (keystore_find(ks, id) != NULL || ks->n == MAX_KEYS) {
			log_warn("signer", "key %s%s skipped: a key %s already, or too many keys", id, ext,
				 id);
			continue;
		}
		struct signer_key *k = load_key(dir, id, ext);
		if (k != NULL)
			ks->keys[ks->n++] = k;
	}
	closedir(d);
	return ks;
}

int keystore_count(const struct keystore *ks)
{
	return ks->n;
}

const struct signer_key *keystore_find(const struct keystore *ks, const char *id)
{
	if (ks == NULL) /* after shutdown */
		return NULL;
	for (int i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i]->id, id) == 0)
			return ks->keys[i];
	return NULL;
}

int keystore_seal_issuers(const struct keystore *ks, const unsigned char *data, size_t len, char *why,
			  size_t whylen)
{
	X509 *cas[MAX_KEYS];
	int n = 0;

	for (int i = 0; ks != NULL && i < ks->n; i++)
		cas[n++] = ks->keys[i]->cert;
	return checks_seal_issuers(data, len, cas, n, why, whylen);
}

void keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	for (int i = 0; i < ks->n; i++)
		keystore_key_free(ks->keys[i]);
	free(ks);
}

struct signer_key *keystore_key_from_evp(const char *id, EVP_PKEY *pkey, X509 *cert)
{
	struct signer_key *k = calloc(1, sizeof(*k));

	if (k == NULL || X509_up_ref(cert) != 1)
		abort();
	snprintf(k->id, sizeof(k->id), "%s", id);
	k->cert = cert;
	k->alg = checks_key_alg(X509_get0_pubkey(cert));
	k->be = &keys_file_backend;
	k->state = pkey;
	return k;
}
