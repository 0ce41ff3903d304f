/* memtune: blocks the size of an upload body are mapped on their own (and so unmapped when freed),
 * and memory freed in the middle of the heap goes back to the system when memtune_trim runs. Checked
 * through /proc/self/status; skipped under AddressSanitizer, whose allocator replaces glibc's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/memtune.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Returns the process's resident anonymous memory in KiB. */
static long rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_large_blocks_and_trim(void **state)
{
	enum { N = 40000, SMALL = 400 };
	static char *small[N];
	struct mallinfo2 mi;
	long before, after;
	char *big;
	(void)state;

#ifdef UNDER_ASAN
	skip();
#endif
	assert_int_equal(memtune_start(), 0);
	/* a block the size of an upload body is a mapping of its own, also after a larger one was freed
	 * (which makes glibc raise its threshold unless it is fixed): the heap does not keep it */
	free(memset(malloc(2 << 20), 1, 2 << 20));
	mi = mallinfo2();
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 1, 1 << 20);
	assert_true(mallinfo2().hblkhd >= mi.hblkhd + (1 << 20));
	free(big);
	/* 16 MB of small blocks, then all freed but one in a hundred: the heap's top is not free */
	for (int i = 0; i < N; i++) {
		small[i] = malloc(SMALL);
		memset(small[i], 1, SMALL);
	}
	for (int i = 0; i < N; i++)
		if (i % 100 != 0) {
			free(small[i]);
			small[i] = NULL;
		}
	before = rss_anon_kb();
	assert_int_equal(memtune_trim(), 1);
	after = rss_anon_kb();
	assert_true(after < before - 8 * 1024);
	assert_true(memtune_trims() >= 1);
	assert_int_equal(memtune_trim(), 0); /* nothing left worth giving back */
	for (int i = 0; i < N; i += 100)
		free(small[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_blocks_and_trim),
	};
	return cmocka_run_group_tests_name("memtune", tests, NULL, NULL);
}
