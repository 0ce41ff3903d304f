/* The file store's orphan sweep (on a temporary directory, with a stand-in for the database's
 * answer) and the display names of uploads (store_document_display_name). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/filestore.h"
#include "store/store.h"
#include "util/strutil.h"

static char dir[64];

/* The stand-in for the database: only the file of the test's "named" sha is named by a row. */
static const char *named;

static int in_use(const char *sha, void *arg)
{
	(void)arg;
	return strcmp(sha, named) == 0;
}

/* Sets the time of path to age seconds ago. */
static void age(const char *path, long seconds)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= seconds;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

/* Returns the path of sha's file in the store (static buffer). */
static const char *path_of(const char *sha)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%.2s/%s", dir, sha, sha);
	return path;
}

static void test_sweep(void **state)
{
	char orphan[SHA256_HEX], kept[SHA256_HEX], fresh[SHA256_HEX], tmp[300];
	int removed = -1;
	FILE *f;
	(void)state;

	snprintf(dir, sizeof(dir), "/tmp/certdesk-filestore-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(filestore_put(dir, "orphan", 6, orphan), 0);
	assert_int_equal(filestore_put(dir, "named by a row", 14, kept), 0);
	assert_int_equal(filestore_put(dir, "just written", 12, fresh), 0);
	named = kept;
	age(path_of(orphan), 7200);
	age(path_of(kept), 7200);
	snprintf(tmp, sizeof(tmp), "%s/%.2s/.tmp-%s-00000001", dir, orphan, orphan);
	f = fopen(tmp, "w");
	fclose(f);
	age(tmp, 7200);

	assert_int_equal(filestore_sweep(dir, 3600, in_use, NULL, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_not_equal(access(path_of(orphan), F_OK), 0);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(access(path_of(kept), F_OK), 0);
	assert_int_equal(access(path_of(fresh), F_OK), 0);

	/* storing bytes already there makes the file young again: an upload about to write its row
	 * keeps its file even when the same bytes lay there unnamed for hours */
	age(path_of(fresh), 7200);
	assert_int_equal(filestore_put(dir, "just written", 12, fresh), 0);
	assert_int_equal(filestore_sweep(dir, 3600, in_use, NULL, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(access(path_of(fresh), F_OK), 0);

	/* a file moved aside by a pass that was cut short: put back when named, removed when not */
	char aside[300];
	snprintf(aside, sizeof(aside), "%s/%.2s/.orphan-%s", dir, kept, kept);
	assert_int_equal(rename(path_of(kept), aside), 0);
	assert_int_equal(filestore_sweep(dir, 3600, in_use, NULL, &removed), 0);
	assert_int_equal(access(path_of(kept), F_OK), 0);
	assert_int_not_equal(access(aside, F_OK), 0);

	/* a missing store is empty, not an error */
	char none[128];
	snprintf(none, sizeof(none), "%s/none", dir);
	assert_int_equal(filestore_sweep(none, 3600, in_use, NULL, &removed), 0);
	assert_int_equal(removed, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Returns the display name of given (static buffer of the size documents use). */
static const char *shown(const char *given, const char *media_type)
{
	static char out[256];

	store_document_display_name(given, media_type, out, sizeof(out));
	assert_true(utf8_chars(out) >= 0);
	assert_false(str_has_control(out));
	return out;
}

static void test_display_names(void **state)
{
	char long_name[1024] = "", expect[1024] = "";
	(void)state;

	assert_string_equal(shown("营业执照.png", "image/png"), "营业执照.png");
	assert_string_equal(shown("C:\\Users\\张三\\扫描.JPG", "image/jpeg"), "扫描.JPG");
	assert_string_equal(shown("../../etc/passwd", "image/png"), "passwd.png");
	assert_string_equal(shown("", "image/bmp"), "scan.bmp");
	assert_string_equal(shown(NULL, "image/png"), "scan.png");
	assert_string_equal(shown(".png", "image/png"), ".png.png");
	/* stray bytes replaced, a character cut at the end dropped, hidden marks removed */
	assert_string_equal(shown("\xff扫描.png", "image/png"), "\xef\xbf\xbd扫描.png");
	assert_string_equal(shown("扫描\xe4\xbb", "image/png"), "扫描.png");
	assert_string_equal(shown("\xc0\xaf.png", "image/png"), "\xef\xbf\xbd\xef\xbf\xbd.png");
	assert_string_equal(shown("a\x01" "b\x7f\xc2\x85.png", "image/png"), "ab.png");
	assert_string_equal(shown("invoice\xe2\x80\xaegnp.exe", "image/png"), "invoicegnp.exe");
	assert_string_equal(shown("zero\xe2\x80\x8bwidth.png", "image/png"), "zerowidth.png");
	/* 76 Chinese characters and the extension: kept whole */
	for (int i = 0; i < 76; i++)
		strcat(long_name, "章");
	strcat(long_name, ".png");
	assert_string_equal(shown(long_name, "image/png"), long_name);
	/* 150: shortened at a character boundary within 255 bytes, "…" and the extension kept */
	long_name[0] = '\0';
	for (int i = 0; i < 150; i++)
		strcat(long_name, "章");
	strcat(long_name, ".jpeg");
	for (int i = 0; i < 82; i++)
		strcat(expect, "章");
	strcat(expect, "….jpeg");
	assert_string_equal(shown(long_name, "image/jpeg"), expect);
	/* 150 ASCII letters: the 100-character limit */
	memset(long_name, 'x', 150);
	strcpy(long_name + 150, ".png");
	const char *s = shown(long_name, "image/png");
	assert_int_equal(utf8_chars(s), 100);
	assert_string_equal(s + strlen(s) - 8, "x….png");
	/* a name cut mid-character after its dot: what is left of the extension is the extension */
	assert_string_equal(shown("扫描.p\xe6", "image/png"), "扫描.p");
	/* the cleaned name of a cleaned name is itself */
	assert_string_equal(shown("\xef\xbf\xbd扫描.png", "image/png"), "\xef\xbf\xbd扫描.png");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_display_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
