/* Invoice file checks: PDFs with header and trailer, OFD packages (ZIP archives built here) that
 * name OFD.xml, and the refusals: other types, missing OFD.xml, broken directories, size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "docs/invoice_file.h"

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, unsigned long v)
{
	put16(p, (unsigned)(v & 0xffff));
	put16(p + 2, (unsigned)(v >> 16));
}

/* Builds a stored ZIP of the NULL-terminated names (each holding "x") into buf; returns its size. */
static size_t zip_of(const char *const *names, unsigned char *buf)
{
	size_t p = 0, cd, offs[8], n = 0;

	for (; names[n] != NULL; n++) {
		size_t l = strlen(names[n]);
		offs[n] = p;
		memset(buf + p, 0, 30);
		memcpy(buf + p, "PK\x03\x04", 4);
		put32(buf + p + 18, 1);
		put32(buf + p + 22, 1);
		put16(buf + p + 26, (unsigned)l);
		memcpy(buf + p + 30, names[n], l);
		buf[p + 30 + l] = 'x';
		p += 31 + l;
	}
	cd = p;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		memset(buf + p, 0, 46);
		memcpy(buf + p, "PK\x01\x02", 4);
		put32(buf + p + 20, 1);
		put32(buf + p + 24, 1);
		put16(buf + p + 28, (unsigned)l);
		put32(buf + p + 42, offs[i]);
		memcpy(buf + p + 46, names[i], l);
		p += 46 + l;
	}
	memset(buf + p, 0, 22);
	memcpy(buf + p, "PK\x05\x06", 4);
	put16(buf + p + 8, (unsigned)n);
	put16(buf + p + 10, (unsigned)n);
	put32(buf + p + 12, p - cd);
	put32(buf + p + 16, cd);
	return p + 22;
}

/* Expects data to be refused with code. */
static void refused(const void *data, size_t len, const char *code)
{
	const char *c = NULL, *m = NULL;

	assert_int_equal(invoice_file_check(data, len, &c, &m), -1);
	assert_string_equal(c, code);
	assert_non_null(m);
}

static void test_pdf(void **state)
{
	static const char good[] = "%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\r\n  \n";
	const char *c, *m;
	(void)state;

	assert_int_equal(invoice_file_check((const unsigned char *)good, strlen(good), &c, &m), INVOICE_PDF);
	assert_string_equal(invoice_media_type(INVOICE_PDF), "application/pdf");
	refused("%PDF-2.0\n%%EOF", 14, "file_type");
	refused("%PDF-1.4\nno trailer here", 23, "file_type");
	refused("\x89PNG\r\n\x1a\n0000000000000", 21, "file_type");
	refused("", 0, "file_type");
	refused("%PDF-1.", 7, "file_type");
}

static void test_size(void **state)
{
	size_t len = INVOICE_MAX_BYTES + 1;
	unsigned char *big = calloc(1, len);
	(void)state;

	memcpy(big, "%PDF-1.4\n", 9);
	memcpy(big + len - 6, "%%EOF\n", 6);
	refused(big, len, "file_too_large");
	free(big);
}

static void test_ofd(void **state)
{
	static const char *const good[] = {"Doc_0/Document.xml", "OFD.xml", NULL};
	static const char *const bad[] = {"Doc_0/Document.xml", "ofd.xml", "OFD.xml.bak", NULL};
	unsigned char buf[1024];
	const char *c, *m;
	size_t n;
	(void)state;

	n = zip_of(good, buf);
	assert_int_equal(invoice_file_check(buf, n, &c, &m), INVOICE_OFD);
	assert_string_equal(invoice_media_type(INVOICE_OFD), "application/ofd");
	/* every truncation is refused without reading past the end */
	for (size_t l = 0; l < n; l++) {
		unsigned char *copy = malloc(l ? l : 1);
		memcpy(copy, buf, l);
		assert_int_not_equal(invoice_file_check(copy, l, &c, &m), INVOICE_OFD);
		free(copy);
	}
	n = zip_of(bad, buf);
	refused(buf, n, "file_type");
	/* a central directory offset pointing past the record */
	n = zip_of(good, buf);
	put32(buf + n - 6, 0xfffffff0ul);
	refused(buf, n, "file_corrupt");
	/* an entry count larger than the directory */
	n = zip_of(good, buf);
	put16(buf + n - 12, 40);
	refused(buf, n, "file_corrupt");
	/* a name length running past the directory */
	n = zip_of(good, buf);
	assert_int_equal(invoice_zip_has_entry(buf, n, "OFD.xml"), 1);
	buf[n - 22 - (46 + 7) + 28] = 0xff;
	refused(buf, n, "file_corrupt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pdf),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_ofd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
