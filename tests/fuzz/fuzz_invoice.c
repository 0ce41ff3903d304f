/* libFuzzer driver for the invoice file checks (docs/invoice_file.c): any bytes, PDF or ZIP/OFD,
 * must be classified without reading out of bounds, and an accepted file must agree with itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docs/invoice_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *code = NULL, *msg = NULL;
	int kind = invoice_file_check(data, size, &code, &msg);

	if (kind == -1 && (code == NULL || msg == NULL))
		abort();
	if (kind == INVOICE_OFD && invoice_zip_has_entry(data, size, "OFD.xml") != 1)
		abort();
	if (kind == INVOICE_PDF && (size < 13 || memcmp(data, "%PDF-1.", 7) != 0))
		abort();
	if (kind != -1 && invoice_media_type(kind) == NULL)
		abort();
	return 0;
}
