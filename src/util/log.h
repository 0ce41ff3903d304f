/* Log lines of the services (certdeskd, certdesk-signer, certdesk-decode): one JSON object per line
 * on standard error, so that journald, Loki or `jq` read them like the access log:
 *
 *   {"ts":"2026-12-06T22:40:01.123Z","level":"warn","component":"outbox","msg":"sms #12 ... failed",
 *    "request_id":"9f0c...","channel":"sms","id":"12"}
 *
 * ts is RFC 3339 UTC with milliseconds; level one of debug, info, warn, error; component the part of
 * the program that speaks; msg a readable sentence (operators grep it); request_id the id of the HTTP
 * request the calling thread is answering (X-Request-Id, the audit entries' request_id), when there is
 * one; then the caller's fields. Every string is escaped; bytes that are not UTF-8 become U+FFFD, so a
 * line always parses.
 *
 * The command-line tool (certdesk) does not call log_setup: it keeps plain "certdesk: msg" lines,
 * which is what a person at a terminal reads. */
#ifndef CERTDESK_LOG_H
#define CERTDESK_LOG_H
#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Sets the program's name (for plain lines; a static string, not copied) and whether lines are JSON.
 * Call it once at start, before any thread. */
void log_setup(const char *program, int json);
/* Sets the request id of the calling thread's log lines (NULL or "": none), until the next call. */
void log_set_request_id(const char *id);
/* Returns the calling thread's request id ("" when none). */
const char *log_request_id(void);

/* Writes one line to standard error at level, from component. fields is NULL or a NULL-terminated
 * list of name, value pairs (LOG_FIELDS); a pair with a NULL value is left out. msg is printf's fmt. */
void log_write(enum log_level level, const char *component, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* As log_write, to the file descriptor fd (certdeskd's start-up line goes to standard output). */
void log_write_fd(int fd, enum log_level level, const char *component, const char *const *fields,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Formats one JSON line with its newline into out (outlen bytes) from its parts (request_id and
 * fields may be NULL). Returns the length, or the length it needs (as snprintf) when it does not fit. */
size_t log_format_json(char *out, size_t outlen, const char *ts, enum log_level level, const char *component,
		       const char *request_id, const char *const *fields, const char *msg);

/* A NULL-terminated list of name, value pairs for log_write. */
#define LOG_FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define log_info(component, ...) log_write(LOG_LEVEL_INFO, component, NULL, __VA_ARGS__)
#define log_warn(component, ...) log_write(LOG_LEVEL_WARN, component, NULL, __VA_ARGS__)
#define log_error(component, ...) log_write(LOG_LEVEL_ERROR, component, NULL, __VA_ARGS__)

#endif
