/* Invoice files (发票) as finance uploads them: a PDF (%PDF-1.x ... %%EOF) or an OFD (GB/T 33190, a
 * ZIP package whose central directory names OFD.xml), at most INVOICE_MAX_BYTES. Only the
 * container is checked, not the content. Pure code, no I/O; safe on any input. */
#ifndef CERTDESK_DOCS_INVOICE_FILE_H
#define CERTDESK_DOCS_INVOICE_FILE_H
#include <stddef.h>

#define INVOICE_MAX_BYTES (5u << 20)

enum invoice_kind { INVOICE_PDF = 1, INVOICE_OFD = 2 };

/* Checks len bytes of data. Returns INVOICE_PDF or INVOICE_OFD, or -1 with *code ("file_too_large",
 * "file_type", "file_corrupt") and *message (Chinese, for the user) set to static strings. */
int invoice_file_check(const unsigned char *data, size_t len, const char **code, const char **message);
/* Returns the media type of kind ("application/pdf", "application/ofd"), or NULL. */
const char *invoice_media_type(int kind);
/* Returns 1 when the ZIP archive of len bytes names entry (exact, case-sensitive) in its central
 * directory, 0 when not, -1 when the archive's directory is malformed. */
int invoice_zip_has_entry(const unsigned char *data, size_t len, const char *entry);

#endif
