/* Unit tests for db_sql_to_dollar (src/store/db.c): '?' placeholders become $1, $2, ... for
 * PostgreSQL, except inside quoted literals and identifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_driver.h"

#define CANARY 0x5a
#define SLACK 64

/* Converts sql with an outlen-byte buffer; asserts the output equals want, the count equals
 * nwant, and nothing past outlen was written. */
static void check_len(const char *sql, size_t outlen, const char *want, int nwant)
{
	char *out = malloc(outlen + SLACK), problem[512] = "";
	int n;

	assert_non_null(out);
	memset(out, CANARY, outlen + SLACK);
	n = db_sql_to_dollar(sql, out, outlen);
	for (size_t i = outlen; i < outlen + SLACK && problem[0] == '\0'; i++)
		if ((unsigned char)out[i] != CANARY)
			snprintf(problem, sizeof(problem), "\"%.80s\": byte %zu written past outlen %zu", sql,
				 i, outlen);
	if (problem[0] == '\0' && memchr(out, '\0', outlen) == NULL)
		snprintf(problem, sizeof(problem), "\"%.80s\": output not NUL-terminated within %zu bytes",
			 sql, outlen);
	if (problem[0] == '\0' && strcmp(out, want) != 0)
		snprintf(problem, sizeof(problem), "\"%.80s\" (outlen %zu) gave \"%.160s\", want \"%.160s\"",
			 sql, outlen, out, want);
	if (problem[0] == '\0' && n != nwant)
		snprintf(problem, sizeof(problem), "\"%.80s\": %d placeholders counted, want %d", sql, n,
			 nwant);
	free(out); /* before failing: a failure jumps out of this function */
	if (problem[0] != '\0')
		fail_msg("%s", problem);
}

/* Like check_len with the buffer db_pg.c allocates: strlen(sql) * 4 + 16. */
static void check(const char *sql, const char *want, int nwant)
{
	check_len(sql, strlen(sql) * 4 + 16, want, nwant);
}

static void test_basic(void **state)
{
	(void)state;
	check("SELECT ? , ?", "SELECT $1 , $2", 2);
	check("SELECT 1", "SELECT 1", 0);
	check("", "", 0);
	check("?", "$1", 1);
	check("??", "$1$2", 2);
	check("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)", 3);
	check("UPDATE staff SET roles = ? WHERE id = ?", "UPDATE staff SET roles = $1 WHERE id = $2", 2);
}

static void test_quoted_untouched(void **state)
{
	(void)state;
	check("SELECT '?'", "SELECT '?'", 0);
	check("SELECT * FROM t WHERE a = '?' AND b = ?", "SELECT * FROM t WHERE a = '?' AND b = $1", 1);
	check("SELECT '?"
	      "?', ?, '?'",
	      "SELECT '?"
	      "?', $1, '?'",
	      1); /* split: no trigraph */
	check("SELECT \"odd?col\" FROM t WHERE x = ?", "SELECT \"odd?col\" FROM t WHERE x = $1", 1);
	/* A doubled quote inside a literal is an escaped quote, not an end and a start. */
	check("SELECT 'it''s ?' = ?", "SELECT 'it''s ?' = $1", 1);
	/* A double quote inside a single-quoted literal does not open an identifier. */
	check("SELECT '\"' = ?, ?", "SELECT '\"' = $1, $2", 2);
	check("SELECT \"a'b\" = ?", "SELECT \"a'b\" = $1", 1);
	/* Multi-byte text passes through. */
	check("SELECT '证书?' || ?", "SELECT '证书?' || $1", 1);
}

static void test_many_placeholders(void **state)
{
	char sql[512], want[2048];
	size_t s = 0, w = 0;

	(void)state;
	for (int i = 1; i <= 120; i++) {
		s += (size_t)snprintf(sql + s, sizeof(sql) - s, "%s?", i > 1 ? "," : "");
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s$%d", i > 1 ? "," : "", i);
	}
	check(sql, want, 120);
	/* The worst case for the caller's 4x+16 buffer below $1000: no separators at all. */
	memset(sql, '?', 300);
	sql[300] = '\0';
	w = 0;
	for (int i = 1; i <= 300; i++)
		w += (size_t)snprintf(want + w, sizeof(want) - w, "$%d", i);
	check(sql, want, 300);
}

static void test_small_buffer_stays_in_bounds(void **state)
{
	const char *sql = "SELECT a FROM t WHERE b = ? AND c = ?";
	char out[64 + SLACK];

	(void)state;
	for (size_t outlen = 1; outlen <= 64; outlen++) {
		memset(out, CANARY, sizeof(out));
		(void)db_sql_to_dollar(sql, out, outlen);
		if (memchr(out, '\0', outlen) == NULL)
			fail_msg("outlen %zu: not terminated", outlen);
		for (size_t i = outlen; i < sizeof(out); i++)
			if ((unsigned char)out[i] != CANARY)
				fail_msg("outlen %zu: byte %zu written", outlen, i);
		/* Whatever is there is a prefix of the full answer. */
		assert_int_equal(strncmp(out, "SELECT a FROM t WHERE b = $1 AND c = $2", strlen(out)), 0);
	}
}

/* db_driver.h promises the conversion works with "at least strlen(sql) * 2 + 1 bytes", but the
 * loop stops 12 bytes before the end of the buffer, so short SQL is cut silently. */
static void test_documented_buffer_size(void **state)
{
	(void)state;
	check_len("SELECT 1", strlen("SELECT 1") * 2 + 1, "SELECT 1", 0);
	check_len("DELETE FROM t WHERE id = ?", strlen("DELETE FROM t WHERE id = ?") * 2 + 1,
		  "DELETE FROM t WHERE id = $1", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_quoted_untouched),
		cmocka_unit_test(test_many_placeholders),
		cmocka_unit_test(test_small_buffer_stays_in_bounds),
		cmocka_unit_test(test_documented_buffer_size),
	};
	return cmocka_run_group_tests_name("db_sql", tests, NULL, NULL);
}
