/* Parsed CA certificates kept in memory. A CA certificate never changes under its key id (a new key
 * is a new id), yet every issuance and every OCSP request needs it parsed: decoding it again costs
 * more CPU than the rest of an OCSP answer (OpenSSL 3.0's decoder look-ups, bench/README.md). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pki/pki.h"

#define CA_CACHE 64

static struct {
	char key_id[48];
	char *der_b64;
	X509 *cert;
} cache[CA_CACHE];
static int cached;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Returns a new reference to the cached certificate of key_id whose text is der_b64 (any text when
 * der_b64 is NULL), or NULL. Called with the lock held. */
static X509 *find(const char *key_id, const char *der_b64)
{
	for (int i = 0; i < cached; i++)
		if (strcmp(cache[i].key_id, key_id) == 0 &&
		    (der_b64 == NULL || strcmp(cache[i].der_b64, der_b64) == 0) && X509_up_ref(cache[i].cert) == 1)
			return cache[i].cert;
	return NULL;
}

X509 *pki_ca_cert_cached(const char *key_id)
{
	X509 *x;

	pthread_mutex_lock(&lock);
	x = find(key_id, NULL);
	pthread_mutex_unlock(&lock);
	return x;
}

X509 *pki_ca_cert(const char *key_id, const char *der_b64)
{
	X509 *x;
	char *copy;

	pthread_mutex_lock(&lock);
	x = find(key_id, der_b64);
	pthread_mutex_unlock(&lock);
	if (x != NULL || (x = pki_cert_from_b64(der_b64)) == NULL)
		return x;
	/* a full cache or a changed text is not kept: the caller still gets its parsed copy */
	if (strlen(key_id) >= sizeof(cache[0].key_id) || (copy = strdup(der_b64)) == NULL)
		return x;
	pthread_mutex_lock(&lock);
	if (cached < CA_CACHE && X509_up_ref(x) == 1) {
		memcpy(cache[cached].key_id, key_id, strlen(key_id) + 1);
		cache[cached].der_b64 = copy;
		cache[cached++].cert = x;
		copy = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(copy);
	return x;
}
