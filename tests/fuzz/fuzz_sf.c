/* libFuzzer driver for the SF Express reply parser (providers/sf_reply.c): any bytes must be read
 * or refused without reading out of bounds, and what is accepted must keep the header's promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/sf.h"

/* Aborts unless s is NUL-terminated within size bytes. */
static void check_text(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_route *r = (struct sf_route *)&size;
	char err[SF_ERR_MAX];
	size_t n = 99;
	int rc = sf_parse_reply((const char *)data, size, "SF1234567890123", &r, &n, err, sizeof(err));

	check_text(err, sizeof(err));
	if (rc != SF_OK) {
		if ((rc != SF_RETRY && rc != SF_PERMANENT) || r != NULL || n != 0 || err[0] == '\0')
			abort();
		return 0;
	}
	if (n > SF_ROUTES_MAX || (n == 0) != (r == NULL) || err[0] != '\0')
		abort();
	for (size_t i = 0; i < n; i++) {
		check_text(r[i].address, sizeof(r[i].address));
		check_text(r[i].remark, sizeof(r[i].remark));
		check_text(r[i].op_code, sizeof(r[i].op_code));
		if (strlen(r[i].time) != SF_TIME_LEN - 1 || r[i].time[4] != '-' || r[i].time[10] != ' ')
			abort();
		if (i > 0 && strcmp(r[i - 1].time, r[i].time) > 0)
			abort(); /* oldest first */
		(void)sf_op_label(r[i].op_code);
	}
	sf_routes_free(r);
	return 0;
}
