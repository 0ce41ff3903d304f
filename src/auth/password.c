#include "auth/password.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

_Static_assert(PASSWORD_HASH_LEN == crypto_pwhash_STRBYTES, "hash buffer matches libsodium");

int password_hash(const char *pw, char out[PASSWORD_HASH_LEN])
{
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str_alg(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				     crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) == 0
		       ? 0
		       : -1;
}

int password_verify(const char *hash, const char *pw)
{
	if (sodium_init() < 0 || hash == NULL || strncmp(hash, "$argon2id$", 10) != 0)
		return -1;
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : -1;
}

/* An Argon2id hash of a password nobody types, made with password_hash's parameters (Argon2id,
 * OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE): checking against it costs what checking a real
 * account's password costs. */
static const char dummy_hash[PASSWORD_HASH_LEN] =
	"$argon2id$v=19$m=65536,t=2,p=1$tANrKMesG6v+xHbnGIiW1A$RyqwbIOXeO+OI29aAJ2YAbJuFDsTi8YfPYfgcOMb6U0";

const char *password_dummy_hash(void)
{
	return dummy_hash;
}

void password_verify_dummy(const char *pw)
{
	/* The one password that matches the hash opens nothing: the result is not used. */
	if (sodium_init() < 0 || pw == NULL || crypto_pwhash_str_verify(dummy_hash, pw, strlen(pw)) == 0)
		return;
}

const char *password_policy_problem(const char *pw)
{
	int lower = 0, upper = 0, digit = 0, other = 0;
	size_t len = strlen(pw);

	if (len < 8)
		return "密码至少 8 位";
	if (len > 128)
		return "密码不能超过 128 位";
	for (const unsigned char *p = (const unsigned char *)pw; *p != '\0'; p++) {
		if (islower(*p))
			lower = 1;
		else if (isupper(*p))
			upper = 1;
		else if (isdigit(*p))
			digit = 1;
		else
			other = 1;
	}
	if (lower + upper + digit + other < 2)
		return "密码须包含字母、数字、符号中的至少两类";
	return NULL;
}
