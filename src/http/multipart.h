/* multipart/form-data (RFC 7578) over a body that is already buffered whole: one file part named
 * "file" and a few small text fields. Pure (no I/O, no libmicrohttpd), so that the unit tests and
 * the fuzz target drive it directly; http_multipart (http.h) wraps it and replies. */
#ifndef CERTDESK_MULTIPART_H
#define CERTDESK_MULTIPART_H
#include <stddef.h>

#include "http/http.h"

#define MP_FIELD_MAX 4096    /* bytes of one text field */
#define MP_FILENAME_MAX 1024 /* bytes of the file's name; longer is not a name but an attack */
#define MP_NAME_MAX 64       /* bytes of a part's name */
#define MP_PARTS_MAX 32

enum mp_result {
	MP_OK = 0,
	MP_NOT_MULTIPART,     /* the Content-Type is not multipart/form-data */
	MP_MALFORMED,         /* no boundary, or parts or their headers not well-formed */
	MP_INCOMPLETE,        /* the body ends before the closing boundary: cut short */
	MP_SEVERAL_FILES,     /* a second file part, or a file part not named "file" */
	MP_FILENAME_TOO_LONG, /* over MP_FILENAME_MAX bytes */
	MP_FILENAME_INVALID,  /* a NUL in the file name */
	MP_FIELD_TOO_LONG,    /* a text part over MP_FIELD_MAX bytes */
	MP_FIELD_INVALID,     /* a text part that is not UTF-8 or holds a NUL */
	MP_FIELD_DUPLICATE,   /* two text parts of one name */
	MP_TOO_MANY_PARTS,    /* over MP_PARTS_MAX parts */
	MP_FILE_TOO_LARGE,    /* the file part is over the caller's maximum */
	MP_NO_FILE,           /* well-formed, but without a file part */
};

/* Parses body (len bytes) sent with content_type (may be NULL) into *u, zeroed first and to be
 * freed with http_upload_free whatever the result; the file part may hold at most max bytes. On
 * MP_OK u->filename is never NULL. When a result concerns one part, its name (printable ASCII of
 * at most MP_NAME_MAX bytes, else "") is copied into part (MP_NAME_MAX + 1 bytes). Returns an
 * enum mp_result. */
int multipart_parse(const char *content_type, const char *body, size_t len, size_t max,
		    struct http_upload *u, char part[MP_NAME_MAX + 1]);

#endif
