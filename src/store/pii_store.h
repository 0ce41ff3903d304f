/* Personal data at rest in the database (pii.h): sealing in place and key checks. */
#ifndef CERTDESK_PII_STORE_H
#define CERTDESK_PII_STORE_H
#include <stddef.h>

struct db;

/* Seals every personal value not yet sealed under the current key (clear text from a database
 * made before, or values of an older key during a rotation) and fills the keyed hashes. Each row is
 * written on its own with its old value as guard, so it is resumable and safe beside a running
 * certdeskd. *changed counts the rows written, *failed those whose value did not open (their key
 * is not loaded). Returns DB_OK or a DB_ error. */
int pii_store_reseal(struct db *db, int *changed, int *failed);

/* Checks that the loaded keys open the database's sealed values: *sealed says whether it holds any.
 * Returns DB_OK, or DB_CONFLICT with why naming the key ids when a value's key is not loaded. */
int pii_store_check(struct db *db, int *sealed, char *why, size_t whylen);

/* certdeskd's start: loads [pii] key_file (creating it when it is missing and the database holds
 * nothing sealed), refuses a key that does not open the database's values, and seals in place what
 * is still clear (a database made before). Returns 0, or -1 with why set. */
int pii_store_start(struct db *db, const char *key_file, char *why, size_t whylen);

#endif
