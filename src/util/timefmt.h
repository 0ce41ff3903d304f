/* Time stamps as the API and the database store them: RFC 3339, UTC, with Z. */
#ifndef CERTDESK_TIMEFMT_H
#define CERTDESK_TIMEFMT_H
#include <stddef.h>
#include <time.h>

#define TIMEFMT_LEN 32

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into buf (TIMEFMT_LEN bytes); returns buf. */
char *timefmt_rfc3339(time_t t, char *buf);
/* Parses "YYYY-MM-DDTHH:MM:SSZ" (as timefmt_rfc3339 writes it) into *t. Returns 0, or -1 when text
 * is NULL or not exactly that. */
int timefmt_parse_rfc3339(const char *text, time_t *t);
/* Writes the current time with milliseconds ("...SS.mmmZ") into buf; returns buf. */
char *timefmt_now_ms(char *buf);

#endif
