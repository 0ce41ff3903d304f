/* libFuzzer driver for the multipart/form-data parser of uploads (http/multipart.c): the first
 * line of the input is the Content-Type, the rest the body. Checks that it stays in bounds and
 * keeps its promises: on success a file name of at most MP_FILENAME_MAX bytes without NUL, a file
 * within the maximum, text fields within MP_FIELD_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

/* multipart.c also holds http_multipart, which replies through the server: never called here. */
const char *http_header(const struct http_req *r, const char *name)
{
	(void)r, (void)name;
	return NULL;
}

int http_reply_error(struct http_req *r, unsigned status, const char *code, const char *message,
		     const char *field)
{
	(void)r, (void)status, (void)code, (void)message, (void)field;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ctlen = nl != NULL ? (size_t)(nl - data) : size;
	char *ct = malloc(ctlen + 1), part[MP_NAME_MAX + 1];
	const char *body = nl != NULL ? (const char *)nl + 1 : "";
	size_t blen = nl != NULL ? size - ctlen - 1 : 0;
	struct http_upload u;
	const char *key;
	json_t *v;

	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	if (multipart_parse(ct, body, blen, 4096, &u, part) == MP_OK) {
		if (u.filename == NULL || strlen(u.filename) > MP_FILENAME_MAX || u.len > 4096 || !u.seen_file)
			abort();
		json_object_foreach(u.fields, key, v)
			if (json_string_length(v) > MP_FIELD_MAX || strlen(key) > MP_NAME_MAX)
				abort();
	}
	if (strlen(part) > MP_NAME_MAX)
		abort();
	http_upload_free(&u);
	free(ct);
	return 0;
}
