/* store/pii.c: sealing and opening, a random nonce per value, keyed hashes, key files, the masks,
 * the order form's personal fields and a rotation's two keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/pii.h"

static char dir[] = "/tmp/pii-unit-XXXXXX";
static char key_path[300];

static int setup(void **state)
{
	char why[256];
	int created = 0;
	(void)state;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(key_path, sizeof(key_path), "%s/pii.key", dir);
	if (pii_key_create(key_path, &created, why, sizeof(why)) != 0 || !created)
		return -1;
	return pii_init(key_path, why, sizeof(why)) == PII_OK ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];
	(void)state;

	pii_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_seal_open(void **state)
{
	char a[PII_SEALED_MAX], b[PII_SEALED_MAX], out[PII_PLAIN_MAX + 1];
	(void)state;

	assert_int_equal(pii_seal("360426199101010071", a, sizeof(a)), 0);
	assert_int_equal(pii_seal("360426199101010071", b, sizeof(b)), 0);
	assert_true(pii_is_sealed(a) && pii_is_current(a));
	assert_memory_equal(a, "v1:", 3);
	assert_null(strstr(a, "360426"));
	assert_string_not_equal(a, b); /* a random nonce per value */
	assert_int_equal(pii_open(a, out, sizeof(out)), PII_OK);
	assert_string_equal(out, "360426199101010071");
	/* clear text from before is passed through; empty stays empty */
	assert_int_equal(pii_open("13800138000", out, sizeof(out)), PII_OK);
	assert_string_equal(out, "13800138000");
	assert_int_equal(pii_seal("", a, sizeof(a)), 0);
	assert_string_equal(a, "");
	/* a changed byte does not open */
	assert_int_equal(pii_seal("13800138000", a, sizeof(a)), 0);
	a[strlen(a) - 2] = a[strlen(a) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(pii_open(a, out, sizeof(out)), PII_BAD);
	assert_string_equal(out, "");
	/* an unknown key id */
	assert_int_equal(pii_open("v1:00000000:AAAA", out, sizeof(out)), PII_NOKEY);
}

static void test_hash(void **state)
{
	char h1[PII_HASH_LEN + 1], h2[PII_HASH_LEN + 1], h3[PII_HASH_LEN + 1];
	(void)state;

	assert_int_equal(pii_hash("13800138000", h1), 0);
	assert_int_equal(pii_hash("13800138000", h2), 0);
	assert_int_equal(pii_hash("13800138001", h3), 0);
	assert_int_equal(strlen(h1), PII_HASH_LEN);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, h3);
}

static void test_masks(void **state)
{
	char out[64];
	(void)state;

	pii_mask_id("36010219900101123X", out, sizeof(out));
	assert_string_equal(out, "3601**********123X");
	pii_mask_mobile("13812345678", out, sizeof(out));
	assert_string_equal(out, "138****5678");
	pii_mask_mobile("1234", out, sizeof(out)); /* too short to keep anything */
	assert_string_equal(out, "****");
	snprintf(out, sizeof(out), "13812345678");
	pii_mask_mobile(out, out, sizeof(out)); /* in place */
	assert_string_equal(out, "138****5678");
}

static void test_form(void **state)
{
	const char *form = "{\"handler_mobile\":\"13812345678\",\"legal_id_number\":\"36010219900101123X\","
			   "\"legal_name\":\"李四\",\"invoice\":{\"kind\":\"person\",\"id_number\":"
			   "\"36010219900101124X\",\"phone\":\"13912345678\"}}";
	char hash[PII_HASH_LEN + 1], want[PII_HASH_LEN + 1];
	char *sealed, *opened;
	json_t *j;
	(void)state;

	sealed = pii_form_seal(form, hash);
	assert_non_null(sealed);
	assert_null(strstr(sealed, "13812345678"));
	assert_null(strstr(sealed, "36010219900101123X"));
	assert_null(strstr(sealed, "36010219900101124X")); /* a renewal's invoice data */
	assert_null(strstr(sealed, "13912345678"));
	assert_non_null(strstr(sealed, "李四"));
	assert_true(pii_form_current(sealed));
	assert_false(pii_form_current(form));
	pii_hash("13812345678", want);
	assert_string_equal(hash, want);
	opened = pii_form_open(sealed);
	j = json_loads(opened, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "handler_mobile")), "13812345678");
	assert_string_equal(json_string_value(json_object_get(j, "legal_id_number")), "36010219900101123X");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "invoice"), "id_number")),
			    "36010219900101124X");
	pii_form_mask(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "invoice"), "phone")),
			    "139****5678");
	assert_string_equal(json_string_value(json_object_get(j, "handler_mobile")), "138****5678");
	assert_string_equal(json_string_value(json_object_get(j, "legal_id_number")), "3601**********123X");
	json_decref(j);
	free(sealed);
	free(opened);
}

/* A rotation: path.new becomes the current key; values of the old key still open. */
static void test_rotation_keys(void **state)
{
	char next[320], old_value[PII_SEALED_MAX], new_value[PII_SEALED_MAX], out[PII_PLAIN_MAX + 1],
		why[256];
	char old_kid[PII_KID_LEN + 1];
	int created = 0;
	(void)state;

	assert_int_equal(pii_seal("13812345678", old_value, sizeof(old_value)), 0);
	snprintf(old_kid, sizeof(old_kid), "%s", pii_current_kid());
	snprintf(next, sizeof(next), "%s.new", key_path);
	assert_int_equal(pii_key_create(next, &created, why, sizeof(why)), 0);
	assert_int_equal(pii_init(key_path, why, sizeof(why)), PII_OK);
	assert_string_equal(pii_current_kid(), old_kid);
	assert_int_equal(pii_use_next(), 0);
	assert_string_not_equal(pii_current_kid(), old_kid);
	assert_false(pii_is_current(old_value));
	assert_int_equal(pii_seal("13812345678", new_value, sizeof(new_value)), 0);
	assert_true(pii_is_current(new_value));
	assert_int_equal(pii_open(old_value, out, sizeof(out)), PII_OK);
	assert_string_equal(out, "13812345678");
	/* without the old key, its values are named as such */
	pii_reset();
	assert_int_equal(pii_init(next, why, sizeof(why)), PII_OK);
	assert_int_equal(pii_open(old_value, out, sizeof(out)), PII_NOKEY);
	assert_int_equal(pii_open(new_value, out, sizeof(out)), PII_OK);
	assert_int_equal(unlink(next), 0);
	assert_int_equal(pii_init(key_path, why, sizeof(why)), PII_OK);
}

static void test_key_files(void **state)
{
	char path[320], why[256];
	int created = 0, fd;
	(void)state;

	/* an existing key is kept */
	assert_int_equal(pii_key_create(key_path, &created, why, sizeof(why)), 0);
	assert_false(created);
	/* missing, wrong size, open to others: refused with the reason */
	snprintf(path, sizeof(path), "%s/none.key", dir);
	assert_int_equal(pii_init(path, why, sizeof(why)), PII_MISSING);
	assert_false(pii_ready());
	snprintf(path, sizeof(path), "%s/short.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_int_equal(write(fd, "short", 5), 5);
	close(fd);
	assert_int_equal(pii_init(path, why, sizeof(why)), PII_BAD);
	assert_non_null(strstr(why, "not exactly 32 bytes"));
	assert_int_equal(pii_key_create(path, &created, why, sizeof(why)), -1); /* never replaced */
	assert_int_equal(chmod(key_path, 0644), 0);
	assert_int_equal(pii_init(key_path, why, sizeof(why)), PII_BAD);
	assert_non_null(strstr(why, "mode 0600"));
	assert_int_equal(chmod(key_path, 0600), 0);
	assert_int_equal(pii_init(key_path, why, sizeof(why)), PII_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open),     cmocka_unit_test(test_hash),
		cmocka_unit_test(test_masks),         cmocka_unit_test(test_form),
		cmocka_unit_test(test_rotation_keys), cmocka_unit_test(test_key_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
