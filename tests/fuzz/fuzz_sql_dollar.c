/* libFuzzer driver for db_sql_to_dollar (src/store/db.c): the input is SQL text. With the buffer
 * db_pg.c allocates (strlen * 4 + 16; enough below 1,000 placeholders) the output must equal an
 * independent rewrite; with a small
 * buffer it must stay in bounds and report that it did not fit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_driver.h"

/* db.c refers to both drivers; the conversion needs neither. */
const struct db_driver db_driver_sqlite = {.name = "sqlite"};
const struct db_driver db_driver_pg = {.name = "postgres"};

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz_sql_dollar: %s failed\n", #cond);                              \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* Rewrites sql into out (large enough: 11 bytes per input byte + 1) and returns the count. */
static int reference(const char *sql, char *out)
{
	char quote = 0;
	int n = 0;

	for (const char *p = sql; *p != '\0'; p++) {
		if (quote == 0 && *p == '?') {
			out += sprintf(out, "$%d", ++n);
			continue;
		}
		if (quote == 0 && (*p == '\'' || *p == '"'))
			quote = *p;
		else if (quote != 0 && *p == quote)
			quote = 0;
		*out++ = *p;
	}
	*out = '\0';
	return n;
}

/* Converts sql with an exactly outlen-byte heap buffer (so ASan sees any overrun) and checks
 * the result against the reference want (nwant placeholders): the whole of it when it fits in
 * outlen bytes, otherwise -1 and an empty output. */
static void run(const char *sql, size_t outlen, const char *want, int nwant)
{
	char *out = malloc(outlen);
	int n;

	if (out == NULL)
		abort();
	n = db_sql_to_dollar(sql, out, outlen);
	CHECK(memchr(out, '\0', outlen) != NULL);
	if (strlen(want) + 1 <= outlen) {
		CHECK(n == nwant);
		CHECK(strcmp(out, want) == 0);
	} else {
		CHECK(n == -1);
		CHECK(out[0] == '\0');
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql, *want;
	size_t len;
	int nwant;

	if (size > 1 << 16)
		return 0;
	sql = malloc(size + 1);
	if (sql == NULL)
		abort();
	memcpy(sql, data, size);
	sql[size] = '\0';
	len = strlen(sql);
	want = malloc(len * 11 + 1);
	if (want == NULL)
		abort();
	nwant = reference(sql, want);
	run(sql, len * 4 + 16, want, nwant);
	run(sql, 1 + (size > 0 ? data[0] % 48 : 0), want, nwant);
	free(want);
	free(sql);
	return 0;
}
