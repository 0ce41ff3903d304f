/* The container checks of invoice files: PDF header and trailer; OFD's ZIP end-of-central-directory
 * record and central directory, walked with every offset and length checked against the buffer. */
#include "docs/invoice_file.h"

#include <stdint.h>
#include <string.h>

#define EOCD_SIZE 22
#define EOCD_MAX_COMMENT 0xffff
#define CDH_SIZE 46
#define CDH_MAX_ENTRIES 10000

/* Reads a little-endian 16-bit value at p. */
static unsigned rd16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Reads a little-endian 32-bit value at p. */
static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Returns 1 when data is a PDF: "%PDF-1." and a digit first, "%%EOF" last but for whitespace. */
static int is_pdf(const unsigned char *data, size_t len)
{
	size_t end = len;

	if (len < 8 + 5 || memcmp(data, "%PDF-1.", 7) != 0 || data[7] < '0' || data[7] > '9')
		return 0;
	while (end > 0 && (data[end - 1] == ' ' || data[end - 1] == '\r' || data[end - 1] == '\n' ||
			   data[end - 1] == '\t' || data[end - 1] == '\f' || data[end - 1] == '\0'))
		end--;
	return end >= 13 && memcmp(data + end - 5, "%%EOF", 5) == 0;
}

/* Finds the end-of-central-directory record (searching back over a comment); returns its offset or -1. */
static long find_eocd(const unsigned char *data, size_t len)
{
	size_t lowest;

	if (len < EOCD_SIZE)
		return -1;
	lowest = len - EOCD_SIZE > EOCD_MAX_COMMENT ? len - EOCD_SIZE - EOCD_MAX_COMMENT : 0;
	for (size_t i = len - EOCD_SIZE + 1; i-- > lowest;)
		if (memcmp(data + i, "PK\x05\x06", 4) == 0 && i + EOCD_SIZE + rd16(data + i + 20) == len)
			return (long)i;
	return -1;
}

int invoice_zip_has_entry(const unsigned char *data, size_t len, const char *entry)
{
	long eocd = find_eocd(data, len);
	size_t want = strlen(entry), off, size, n, found = 0;

	if (eocd < 0)
		return -1;
	n = rd16(data + eocd + 10);
	size = rd32(data + eocd + 12);
	off = rd32(data + eocd + 16);
	if (n > CDH_MAX_ENTRIES || off > (size_t)eocd || size > (size_t)eocd - off)
		return -1;
	for (size_t i = 0, p = off; i < n; i++) {
		size_t name_len, extra_len, comment_len, rec;

		if (size - (p - off) < CDH_SIZE || memcmp(data + p, "PK\x01\x02", 4) != 0)
			return -1;
		name_len = rd16(data + p + 28);
		extra_len = rd16(data + p + 30);
		comment_len = rd16(data + p + 32);
		rec = CDH_SIZE + name_len + extra_len + comment_len;
		if (size - (p - off) < rec)
			return -1;
		if (name_len == want && memcmp(data + p + CDH_SIZE, entry, want) == 0)
			found = 1;
		p += rec;
	}
	return found ? 1 : 0;
}

int invoice_file_check(const unsigned char *data, size_t len, const char **code, const char **message)
{
	if (len > INVOICE_MAX_BYTES) {
		*code = "file_too_large";
		*message = "发票文件不能超过 5 MB";
		return -1;
	}
	if (data != NULL && is_pdf(data, len))
		return INVOICE_PDF;
	if (data != NULL && len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0) {
		int rc = invoice_zip_has_entry(data, len, "OFD.xml");
		if (rc == 1)
			return INVOICE_OFD;
		*code = rc == 0 ? "file_type" : "file_corrupt";
		*message = rc == 0 ? "OFD 文件缺少 OFD.xml，不是有效的 OFD 发票" : "OFD 文件已损坏";
		return -1;
	}
	*code = "file_type";
	*message = "发票文件应为 PDF 或 OFD 格式";
	return -1;
}

const char *invoice_media_type(int kind)
{
	return kind == INVOICE_PDF ? "application/pdf" : kind == INVOICE_OFD ? "application/ofd" : NULL;
}
