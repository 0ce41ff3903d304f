/* Unit tests for src/auth/password.c: Argon2id hashing and the password policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "auth/password.h"

static void test_hash_verify(void **state)
{
	char h[PASSWORD_HASH_LEN];

	(void)state;
	assert_int_equal(password_hash("Correct horse 1", h), 0);
	assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
	assert_true(strlen(h) < PASSWORD_HASH_LEN);
	assert_int_equal(password_verify(h, "Correct horse 1"), 0);
	assert_int_equal(password_verify(h, "Correct horse 2"), -1);
	assert_int_equal(password_verify(h, "correct horse 1"), -1);
	assert_int_equal(password_verify(h, ""), -1);
	assert_int_equal(password_verify(h, "Correct horse 1 "), -1);
}

static void test_salted(void **state)
{
	char h1[PASSWORD_HASH_LEN], h2[PASSWORD_HASH_LEN];

	(void)state;
	assert_int_equal(password_hash("same-password-1", h1), 0);
	assert_int_equal(password_hash("same-password-1", h2), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(password_verify(h1, "same-password-1"), 0);
	assert_int_equal(password_verify(h2, "same-password-1"), 0);
}

static void test_verify_refuses_bad_hashes(void **state)
{
	char h[PASSWORD_HASH_LEN];

	(void)state;
	assert_int_equal(password_verify(NULL, "x"), -1);
	assert_int_equal(password_verify("", "x"), -1);
	assert_int_equal(password_verify("plain-text", "plain-text"), -1);
	assert_int_equal(password_verify("$argon2id$", ""), -1);
	/* A valid Argon2i (not id) hash that libsodium itself would accept is refused. */
	assert_int_equal(sodium_init() >= 0, 1);
	assert_int_equal(crypto_pwhash_str_alg(h, "Argon2i 1", 9, crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE,
					       crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE,
					       crypto_pwhash_ALG_ARGON2I13),
			 0);
	assert_int_equal(strncmp(h, "$argon2i$", 9), 0);
	assert_int_equal(crypto_pwhash_str_verify(h, "Argon2i 1", 9), 0);
	assert_int_equal(password_verify(h, "Argon2i 1"), -1);
	/* A truncated hash fails closed. */
	assert_int_equal(password_hash("Tampered 1", h), 0);
	h[strlen(h) / 2] = '\0';
	assert_int_equal(password_verify(h, "Tampered 1"), -1);
	/* A damaged hash fails closed. */
	assert_int_equal(password_hash("Tampered 1", h), 0);
	h[strlen(h) - 3] = h[strlen(h) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(password_verify(h, "Tampered 1"), -1);
}

static void test_non_ascii_password(void **state)
{
	char h[PASSWORD_HASH_LEN];

	(void)state;
	assert_int_equal(password_hash("密码ABC123", h), 0);
	assert_int_equal(password_verify(h, "密码ABC123"), 0);
	assert_int_equal(password_verify(h, "密码ABC124"), -1);
}

/* The dummy hash an unknown account is checked against costs what a real one does: the same
 * algorithm and parameters as password_hash (so no timing is needed to know it). */
static void test_dummy_costs_like_a_real_hash(void **state)
{
	char real[PASSWORD_HASH_LEN];
	const char *dummy = password_dummy_hash();
	(void)state;

	assert_int_equal(password_hash("Secret-2026", real), 0);
	assert_int_equal(strncmp(dummy, "$argon2id$", 10), 0);
	assert_int_equal(crypto_pwhash_str_needs_rehash(dummy, crypto_pwhash_OPSLIMIT_INTERACTIVE,
							crypto_pwhash_MEMLIMIT_INTERACTIVE),
			 0);
	assert_int_equal(crypto_pwhash_str_needs_rehash(real, crypto_pwhash_OPSLIMIT_INTERACTIVE,
							crypto_pwhash_MEMLIMIT_INTERACTIVE),
			 0);
	/* the same parameter section ("$argon2id$v=19$m=65536,t=2,p=1$") */
	assert_int_equal(strncmp(dummy, real, (size_t)(strchr(dummy + 30, '$') - dummy)), 0);
}

static void test_policy(void **state)
{
	char s129[130], s128[129];

	(void)state;
	assert_non_null(password_policy_problem(""));
	assert_non_null(password_policy_problem("short1"));
	assert_non_null(password_policy_problem("abc1234")); /* 7 */
	assert_non_null(password_policy_problem("abcdefgh"));
	assert_non_null(password_policy_problem("ABCDEFGH"));
	assert_non_null(password_policy_problem("12345678"));
	assert_non_null(password_policy_problem("!@#$%^&*"));
	assert_null(password_policy_problem("abcdefg1"));
	assert_null(password_policy_problem("abcdefgH"));
	assert_null(password_policy_problem("abcdefg!"));
	assert_null(password_policy_problem("1234567!"));
	/* Messages are Chinese for the user. */
	assert_non_null(strstr(password_policy_problem("short1"), "8"));

	memset(s129, 'a', 129);
	s129[0] = '1';
	s129[129] = '\0';
	assert_non_null(password_policy_problem(s129));
	memcpy(s128, s129, 128);
	s128[128] = '\0';
	assert_null(password_policy_problem(s128));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_salted),
		cmocka_unit_test(test_verify_refuses_bad_hashes),
		cmocka_unit_test(test_non_ascii_password),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_dummy_costs_like_a_real_hash),
	};

	return cmocka_run_group_tests_name("password", tests, NULL, NULL);
}
