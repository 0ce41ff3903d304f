/* Password hashing with Argon2id (libsodium) and the password policy. */
#ifndef CERTDESK_PASSWORD_H
#define CERTDESK_PASSWORD_H
#include <stddef.h>

#define PASSWORD_HASH_LEN 128 /* crypto_pwhash_STRBYTES */

/* Hashes pw with Argon2id and a random salt into out ("$argon2id$..."). Returns 0 or -1. */
int password_hash(const char *pw, char out[PASSWORD_HASH_LEN]);
/* Returns 0 when pw matches the stored hash (constant time), -1 otherwise. */
int password_verify(const char *hash, const char *pw);
/* Spends the time of a password_verify on a fixed hash and forgets the result: for names with no
 * account, so that they cannot be told from existing ones by the time the answer takes. */
void password_verify_dummy(const char *pw);
/* The hash password_verify_dummy checks against (for the test that it costs what a real one does). */
const char *password_dummy_hash(void);
/* Checks the policy: 8 to 128 bytes and at least two of lower case, upper case, digits and
 * other characters. Returns NULL when pw is fine, otherwise a Chinese message saying why. */
const char *password_policy_problem(const char *pw);

#endif
