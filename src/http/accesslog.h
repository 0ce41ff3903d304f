/* The access log: one JSON line per finished request, written off the request threads.
 *
 * Each request thread appends its lines to a buffer of its own (its own mutex, which only the
 * writer thread ever contends for, a few times a second); a writer thread swaps the buffers out
 * and writes them to the file. So a request costs no write(2) and takes no lock shared with the
 * other request threads. accesslog_close writes whatever is left: no line is lost on a clean stop. */
#ifndef CERTDESK_ACCESSLOG_H
#define CERTDESK_ACCESSLOG_H
#include <stddef.h>
#include <stdio.h>

struct accesslog;

/* One finished request, as logged. Strings are escaped here; a path that is not UTF-8 is logged
 * as "(not UTF-8)". */
struct accesslog_entry {
	const char *remote;
	const char *method;
	const char *path;
	int status;
	long long in_bytes;
	double ms;
	int completed;
	const char *request_id;
};

/* Starts the writer thread for f (not closed here: the caller owns it). Returns NULL on failure. */
struct accesslog *accesslog_open(FILE *f);
/* Appends one line to the calling thread's buffer. Thread-safe; blocks only when this thread's
 * buffer is full and the writer has not emptied it yet (the file is slower than the requests). */
void accesslog_write(struct accesslog *l, const struct accesslog_entry *e);
/* Formats e as one JSON line with its newline into out (outlen bytes). Returns the length, or the
 * length it would have had (as snprintf) when it does not fit. */
size_t accesslog_format(const struct accesslog_entry *e, char *out, size_t outlen);
/* Stops the writer, writes every buffered line, flushes f and frees l (NULL: nothing). Call it
 * after the last request has finished. */
void accesslog_close(struct accesslog *l);

#endif
