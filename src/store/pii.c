/* Personal data at rest (pii.h): secretbox sealing, keyed hashes and masks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "store/pii.h"
#include "util/fsutil.h"
#include "util/strutil.h"

#define MAX_KEYS 8

struct pii_key {
	char kid[PII_KID_LEN + 1];
	unsigned char enc[crypto_secretbox_KEYBYTES];
	unsigned char mac[crypto_generichash_KEYBYTES];
};

/* The keyring is written at start and when a rotation's new key appears (another process may be
 * rotating while certdeskd runs): the lock keeps readers off a half-written entry. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pii_key keys[MAX_KEYS];
static int nkeys, current = -1;
static char key_path[4096];

const char *const pii_form_fields[] = {"legal_id_number", "legal_mobile",     "handler_id_number",
				       "handler_mobile",  "recipient_mobile", NULL};
/* A renewal's invoice data (api/renewal.c), inside the form's "invoice" object: a person's ID number
 * and the phone of either kind. */
static const char *const invoice_fields[] = {"id_number", "phone", NULL};

/* Reads exactly PII_KEY_LEN bytes of a 0600 file into master. */
static int read_key_file(const char *path, unsigned char master[PII_KEY_LEN], char *why, size_t whylen)
{
	struct stat st;
	unsigned char extra;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? PII_MISSING : PII_BAD;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(why, whylen, "%s: not a regular file of mode 0600 or 0400", path);
		return PII_BAD;
	}
	n = read(fd, master, PII_KEY_LEN);
	if (n != PII_KEY_LEN || read(fd, &extra, 1) != 0) {
		close(fd);
		sodium_memzero(master, PII_KEY_LEN);
		snprintf(why, whylen, "%s: not exactly %d bytes", path, PII_KEY_LEN);
		return PII_BAD;
	}
	close(fd);
	return PII_OK;
}

/* Adds the key derived from master (unless its id is there) and returns its index, or -1. The
 * sealing and hashing keys are derived apart, so that neither reveals the other. Locked. */
static int add_key(const unsigned char master[PII_KEY_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char id[16];
	struct pii_key k = {0};

	crypto_generichash(id, sizeof(id), (const unsigned char *)"certdesk-pii-key-id", 19, master,
			   PII_KEY_LEN);
	for (int i = 0; i < PII_KID_LEN / 2; i++) {
		k.kid[2 * i] = hex[id[i] >> 4];
		k.kid[2 * i + 1] = hex[id[i] & 15];
	}
	for (int i = 0; i < nkeys; i++)
		if (strcmp(keys[i].kid, k.kid) == 0)
			return i;
	if (nkeys == MAX_KEYS)
		return -1;
	crypto_kdf_derive_from_key(k.enc, sizeof(k.enc), 1, "certpii_", master);
	crypto_kdf_derive_from_key(k.mac, sizeof(k.mac), 2, "certpii_", master);
	keys[nkeys] = k;
	sodium_memzero(&k, sizeof(k));
	return nkeys++;
}

/* Loads path as an opening key when it is there. Locked. */
static void add_key_file(const char *path)
{
	unsigned char master[PII_KEY_LEN];
	char why[256];

	if (read_key_file(path, master, why, sizeof(why)) == PII_OK)
		add_key(master);
	sodium_memzero(master, sizeof(master));
}

/* Loads the rotation's other keys: path.new and path.old-* beside path. Locked. */
static void add_rotation_keys(void)
{
	char dir[4096], base[1024], p[5200];
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof(p), "%s.new", key_path);
	add_key_file(p);
	str_copy(dir, key_path, sizeof(dir));
	str_copy(base, key_path, sizeof(base));
	snprintf(p, sizeof(p), "%s.old-", basename(base));
	d = opendir(dirname(dir));
	while (d != NULL && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, p, strlen(p)) == 0) {
			char full[5200 + 256];
			snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
			add_key_file(full);
		}
	if (d != NULL)
		closedir(d);
}

int pii_init(const char *path, char *why, size_t whylen)
{
	unsigned char master[PII_KEY_LEN];
	int rc;

	if (sodium_init() < 0) {
		snprintf(why, whylen, "libsodium could not start");
		return PII_BAD;
	}
	rc = read_key_file(path, master, why, whylen);
	pthread_mutex_lock(&lock);
	sodium_memzero(keys, sizeof(keys));
	nkeys = 0;
	current = -1;
	str_copy(key_path, path, sizeof(key_path));
	if (rc == PII_OK) {
		current = add_key(master);
		add_rotation_keys();
	}
	pthread_mutex_unlock(&lock);
	sodium_memzero(master, sizeof(master));
	return rc;
}

int pii_use_next(void)
{
	unsigned char master[PII_KEY_LEN];
	char p[4200], why[256];
	int rc;

	snprintf(p, sizeof(p), "%s.new", key_path);
	rc = read_key_file(p, master, why, sizeof(why));
	pthread_mutex_lock(&lock);
	if (rc == PII_OK)
		current = add_key(master);
	rc = rc == PII_OK && current >= 0 ? 0 : -1;
	pthread_mutex_unlock(&lock);
	sodium_memzero(master, sizeof(master));
	return rc;
}

void pii_reset(void)
{
	pthread_mutex_lock(&lock);
	sodium_memzero(keys, sizeof(keys));
	nkeys = 0;
	current = -1;
	key_path[0] = '\0';
	pthread_mutex_unlock(&lock);
}

int pii_ready(void)
{
	return current >= 0;
}

const char *pii_current_kid(void)
{
	return current >= 0 ? keys[current].kid : "";
}

/* The index of the key of kid, or -1. Locked. */
static int find_key(const char *kid)
{
	for (int i = 0; i < nkeys; i++)
		if (strcmp(keys[i].kid, kid) == 0)
			return i;
	return -1;
}

int pii_has_kid(const char *kid)
{
	int i;

	pthread_mutex_lock(&lock);
	i = find_key(kid);
	pthread_mutex_unlock(&lock);
	return i >= 0;
}

int pii_key_create(const char *path, int *created, char *why, size_t whylen)
{
	unsigned char key[PII_KEY_LEN];
	int fd, ok, rc;

	*created = 0;
	if (sodium_init() < 0)
		return -1;
	rc = read_key_file(path, key, why, whylen);
	sodium_memzero(key, sizeof(key));
	if (rc == PII_OK)
		return 0;
	if (rc != PII_MISSING)
		return -1; /* there, but unusable: never replaced (what it sealed would be lost) */
	if (fs_mkdir_parent(path, 0700) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	ok = fd >= 0 && write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	sodium_memzero(key, sizeof(key));
	if (!ok) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(path);
		return -1;
	}
	*created = 1;
	return 0;
}

int pii_is_sealed(const char *text)
{
	return text != NULL && strncmp(text, "v1:", 3) == 0;
}

int pii_is_current(const char *text)
{
	return pii_is_sealed(text) && current >= 0 &&
	       strncmp(text + 3, keys[current].kid, PII_KID_LEN) == 0 && text[3 + PII_KID_LEN] == ':';
}

int pii_seal(const char *plain, char *out, size_t outlen)
{
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PII_PLAIN_MAX];
	size_t n = plain != NULL ? strlen(plain) : 0;
	int rc = -1;

	if (n == 0) {
		str_copy(out, plain != NULL ? plain : "", outlen);
		return 0;
	}
	if (n > PII_PLAIN_MAX || outlen < PII_SEALED_MAX)
		return -1;
	pthread_mutex_lock(&lock);
	if (current >= 0) {
		randombytes_buf(box, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, n, box,
				      keys[current].enc);
		snprintf(out, outlen, "v1:%s:", keys[current].kid);
		sodium_bin2base64(out + strlen(out), outlen - strlen(out), box,
				  crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n,
				  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int pii_store_value(const char *plain, char *out, size_t outlen, char hash[PII_HASH_LEN + 1])
{
	if (hash != NULL)
		hash[0] = '\0';
	if (!pii_ready()) {
		str_copy(out, plain != NULL ? plain : "", outlen);
		return 0;
	}
	if (hash != NULL && pii_hash(plain, hash) != 0)
		return -1;
	return pii_seal(plain, out, outlen);
}

/* Opens with the key of index k. Locked. */
static int open_with(int k, const char *b64, char *out, size_t outlen)
{
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PII_PLAIN_MAX];
	size_t n = 0;

	if (sodium_base642bin(box, sizeof(box), b64, strlen(b64), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
	    n < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
	    n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES >= outlen)
		return PII_BAD;
	n -= crypto_secretbox_NONCEBYTES;
	if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES, n, box,
				       keys[k].enc) != 0)
		return PII_BAD;
	out[n - crypto_secretbox_MACBYTES] = '\0';
	return PII_OK;
}

int pii_open(const char *sealed, char *out, size_t outlen)
{
	char kid[PII_KID_LEN + 1];
	int k, rc;

	if (outlen > 0)
		out[0] = '\0';
	if (!pii_is_sealed(sealed)) {
		str_copy(out, sealed != NULL ? sealed : "", outlen);
		return PII_OK;
	}
	if (strlen(sealed) < 4 + PII_KID_LEN || sealed[3 + PII_KID_LEN] != ':')
		return PII_BAD;
	memcpy(kid, sealed + 3, PII_KID_LEN);
	kid[PII_KID_LEN] = '\0';
	pthread_mutex_lock(&lock);
	k = find_key(kid);
	if (k < 0 && key_path[0] != '\0') { /* a rotation elsewhere made a new key: look again */
		add_key_file(key_path);
		add_rotation_keys();
		k = find_key(kid);
	}
	rc = k < 0 ? PII_NOKEY : open_with(k, sealed + 4 + PII_KID_LEN, out, outlen);
	pthread_mutex_unlock(&lock);
	if (rc != PII_OK && outlen > 0)
		out[0] = '\0';
	return rc;
}

int pii_hash(const char *plain, char out[PII_HASH_LEN + 1])
{
	unsigned char h[PII_HASH_LEN / 2];
	int rc = -1;

	out[0] = '\0';
	if (plain == NULL || plain[0] == '\0')
		return 0;
	pthread_mutex_lock(&lock);
	if (current >= 0) {
		crypto_generichash(h, sizeof(h), (const unsigned char *)plain, strlen(plain),
				   keys[current].mac, sizeof(keys[current].mac));
		sodium_bin2hex(out, PII_HASH_LEN + 1, h, sizeof(h));
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

/* Copies in to out with the characters from keep_head to len - keep_tail starred. */
static void mask(const char *in, size_t keep_head, size_t keep_tail, char *out, size_t outlen)
{
	size_t n = in != NULL ? strlen(in) : 0;

	if (out != in)
		str_copy(out, in != NULL ? in : "", outlen);
	if (n <= keep_head + keep_tail) { /* too short to keep anything */
		for (size_t i = 0; i < n && i + 1 < outlen; i++)
			out[i] = '*';
		return;
	}
	for (size_t i = keep_head; i < n - keep_tail && i + 1 < outlen; i++)
		out[i] = '*';
}

void pii_mask_id(const char *in, char *out, size_t outlen)
{
	mask(in, 4, 4, out, outlen);
}

void pii_mask_mobile(const char *in, char *out, size_t outlen)
{
	mask(in, 3, 4, out, outlen);
}

/* Applies f to the string fields of obj named in fields; returns -1 when f fails for one (that
 * field is then removed). */
static int fields_each(json_t *obj, const char *const *fields,
		       int (*f)(const char *in, char *out, size_t outlen))
{
	char out[PII_SEALED_MAX];

	for (int i = 0; fields[i] != NULL; i++) {
		const char *v = json_string_value(json_object_get(obj, fields[i]));
		if (v == NULL)
			continue;
		if (f(v, out, sizeof(out)) != 0) {
			json_object_del(obj, fields[i]);
			return -1;
		}
		json_object_set_new(obj, fields[i], json_string(out));
	}
	return 0;
}

/* Applies f to every personal string field of form, the renewal's invoice data included. */
static int form_each(json_t *form, int (*f)(const char *in, char *out, size_t outlen))
{
	int rc = fields_each(form, pii_form_fields, f);

	return fields_each(json_object_get(form, "invoice"), invoice_fields, f) != 0 ? -1 : rc;
}

/* pii_seal without sealing twice. */
static int seal_once(const char *in, char *out, size_t outlen)
{
	if (pii_is_current(in)) {
		str_copy(out, in, outlen);
		return 0;
	}
	if (pii_is_sealed(in)) { /* under an older key: open, then seal under the current one */
		char plain[PII_PLAIN_MAX + 1];
		int rc = pii_open(in, plain, sizeof(plain)) == PII_OK ? pii_seal(plain, out, outlen) : -1;
		sodium_memzero(plain, sizeof(plain));
		return rc;
	}
	return pii_seal(in, out, outlen);
}

char *pii_form_seal(const char *form, char hash[PII_HASH_LEN + 1])
{
	json_t *j = form != NULL ? json_loads(form, 0, NULL) : NULL;
	char *out = NULL;

	if (hash != NULL)
		hash[0] = '\0';
	if (j == NULL || !pii_ready()) { /* not JSON, or no key (sealed on the next start) */
		json_decref(j);
		return form != NULL ? strdup(form) : NULL;
	}
	if (hash != NULL) {
		char plain[PII_PLAIN_MAX + 1];
		const char *m = json_string_value(json_object_get(j, "handler_mobile"));
		if (m != NULL && pii_open(m, plain, sizeof(plain)) == PII_OK)
			pii_hash(plain, hash);
	}
	if (form_each(j, seal_once) == 0)
		out = json_dumps(j, JSON_COMPACT); /* keys in the writer's order */
	json_decref(j);
	return out;
}

/* pii_open with the status folded into 0 / -1. */
static int open_field(const char *in, char *out, size_t outlen)
{
	return pii_open(in, out, outlen) == PII_OK ? 0 : -1;
}

char *pii_form_open(const char *form)
{
	json_t *j = form != NULL ? json_loads(form, 0, NULL) : NULL;
	char *out;

	if (j == NULL)
		return form != NULL ? strdup(form) : NULL;
	while (form_each(j, open_field) != 0) /* a field that fails is dropped, the rest go on */
		;
	out = json_dumps(j, JSON_COMPACT); /* keys in the writer's order */
	json_decref(j);
	return out;
}

int pii_form_current(const char *form)
{
	json_t *j = form != NULL ? json_loads(form, 0, NULL) : NULL;
	int ok = 1;

	for (int i = 0; j != NULL && pii_form_fields[i] != NULL; i++) {
		const char *v = json_string_value(json_object_get(j, pii_form_fields[i]));
		if (v != NULL && v[0] != '\0' && !pii_is_current(v))
			ok = 0;
	}
	for (int i = 0; j != NULL && invoice_fields[i] != NULL; i++) {
		const char *v =
			json_string_value(json_object_get(json_object_get(j, "invoice"), invoice_fields[i]));
		if (v != NULL && v[0] != '\0' && !pii_is_current(v))
			ok = 0;
	}
	json_decref(j);
	return ok;
}

/* Replaces the fields of obj named in fields by their masks: an ID number's or a mobile's. */
static void fields_mask(json_t *obj, const char *const *fields)
{
	char out[PII_SEALED_MAX];

	for (int i = 0; fields[i] != NULL; i++) {
		const char *v = json_string_value(json_object_get(obj, fields[i]));
		if (v == NULL)
			continue;
		if (strstr(fields[i], "id_number") != NULL)
			pii_mask_id(v, out, sizeof(out));
		else
			pii_mask_mobile(v, out, sizeof(out));
		json_object_set_new(obj, fields[i], json_string(out));
	}
}

void pii_form_mask(json_t *form)
{
	fields_mask(form, pii_form_fields);
	fields_mask(json_object_get(form, "invoice"), invoice_fields);
}
