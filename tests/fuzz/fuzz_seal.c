/* libFuzzer: the seal decoder and verifier (seal/seal_der.c, seal/seal_verify.c) on any bytes:
 * seal_verify at a fixed time and the JSON report. Checks: what the decoder points at lies inside
 * the input, a report without a decoded seal is never valid, the JSON always serialises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal/seal.h"

/* Aborts unless b lies inside [data, data + size). */
static void inside(const struct seal_bytes *b, const uint8_t *data, size_t size)
{
	if (b->len > 0 && (b->p < data || b->p + b->len > data + size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seal_report rep;
	json_t *j;
	char *text;

	(void)seal_verify(data, size, 1780000000, &rep);
	if (rep.valid && !rep.decoded)
		abort();
	if (rep.decoded) {
		inside(&rep.seal.seal_info, data, size);
		inside(&rep.seal.maker_cert, data, size);
		inside(&rep.seal.signature, data, size);
		inside(&rep.seal.picture, data, size);
		for (int i = 0; i < rep.seal.ncerts; i++)
			inside(&rep.seal.certs[i], data, size);
	}
	j = seal_report_json(&rep);
	text = json_dumps(j, 0);
	if (text == NULL)
		abort();
	free(text);
	json_decref(j);
	return 0;
}
