/* Personal data at rest: the legal person's and handler's ID numbers and mobiles are stored sealed
 * (libsodium secretbox, a random nonce per value) under a key that lives in a file of its own
 * ([pii] key_file), never in the database, with a keyed hash beside the values that are looked up
 * by equality. A sealed value reads "v1:<key id>:<base64 of nonce and box>"; the key id names the
 * key that sealed it, so that a rotation (certdesk keys rotate) can run while old values remain.
 *
 * The keys are process-wide: certdeskd and the CLI load them once at start (pii_init); the store
 * seals on write and opens on read, so the API sees clear text. */
#ifndef CERTDESK_PII_H
#define CERTDESK_PII_H
#include <stddef.h>

#include <jansson.h>

#define PII_KEY_LEN 32
#define PII_KID_LEN 8      /* hex characters of a key id */
#define PII_HASH_LEN 64    /* hex characters of a keyed hash */
#define PII_SEALED_MAX 400 /* a sealed value of at most PII_PLAIN_MAX bytes, with its NUL */
#define PII_PLAIN_MAX 254  /* an e-mail address at most */

enum { PII_OK = 0, PII_MISSING = -1, PII_BAD = -2, PII_NOKEY = -3 };

/* Loads the key of path as the current key, and path.new / path.old-* (a rotation's other keys)
 * for opening only. Returns PII_OK, PII_MISSING (no file) or PII_BAD (unreadable, wrong mode or
 * size), with why set. */
int pii_init(const char *path, char *why, size_t whylen);
/* Makes the key of path.new the current key (a rotation in progress); 0 or -1. */
int pii_use_next(void);
/* Forgets every key (tests, and before loading another). */
void pii_reset(void);
/* 1 when a current key is loaded. */
int pii_ready(void);
/* The current key's id (PII_KID_LEN + 1 bytes), "" without a key. */
const char *pii_current_kid(void);
/* 1 when a key of this id is loaded. */
int pii_has_kid(const char *kid);

/* Creates a key file of 32 random bytes (mode 0600) at path when it does not exist; *created
 * says whether it did. Returns 0, or -1 with why set (an existing unusable file is never replaced). */
int pii_key_create(const char *path, int *created, char *why, size_t whylen);

/* 1 when text is a sealed value ("v1:"). */
int pii_is_sealed(const char *text);
/* 1 when text is sealed under the current key. */
int pii_is_current(const char *text);
/* Seals plain into out (PII_SEALED_MAX bytes). NULL or "" are kept as they are. Returns 0, or -1
 * without a key or for a value too long. */
int pii_seal(const char *plain, char *out, size_t outlen);
/* For the store's writes: seals plain into out (PII_SEALED_MAX bytes) and, when hash is not NULL,
 * writes its keyed hash. Without a key (a CLI run without [pii] key_file) the value is kept clear
 * and the hash empty: certdeskd seals it on its next start. Returns 0, or -1 for a value too long. */
int pii_store_value(const char *plain, char *out, size_t outlen, char hash[PII_HASH_LEN + 1]);
/* Opens sealed into out; clear text (not "v1:") is copied as it is (a database from before).
 * Returns 0, PII_NOKEY when the value's key is not loaded, or PII_BAD when it does not open. */
int pii_open(const char *sealed, char *out, size_t outlen);
/* Writes the keyed hash of plain (hex, PII_HASH_LEN + 1 bytes) for equality lookups; "" for NULL
 * or "". Returns 0, or -1 without a key. */
int pii_hash(const char *plain, char out[PII_HASH_LEN + 1]);

/* Masks for lists, logs and the audit log: an ID number keeps its first 4 and last 4 characters
 * (3601**********123X), a mobile its first 3 and last 4 (138****5678). out: len(in) + 1 bytes. */
void pii_mask_id(const char *in, char *out, size_t outlen);
void pii_mask_mobile(const char *in, char *out, size_t outlen);

/* The order form's personal fields (legal_id_number, legal_mobile, handler_id_number,
 * handler_mobile, recipient_mobile; a renewal's invoice.id_number and invoice.phone too). */
extern const char *const pii_form_fields[];
/* Returns a copy of the form JSON text with those fields sealed (malloc'd; NULL for NULL or on
 * error). When hash is not NULL it receives the keyed hash of handler_mobile ("" when none). */
char *pii_form_seal(const char *form, char hash[PII_HASH_LEN + 1]);
/* Returns a copy of the form JSON text with those fields opened (malloc'd). A field that does not
 * open is left out. */
char *pii_form_open(const char *form);
/* 1 when every personal field of the form is sealed under the current key. */
int pii_form_current(const char *form);
/* Replaces the personal fields of a form object by their masks (lists and the audit log). */
void pii_form_mask(json_t *form);

#endif
