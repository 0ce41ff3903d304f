/* What the simulators received, kept in memory for tests to read (GET /_sim/requests). */
#ifndef CERTDESK_SIM_RECORDER_H
#define CERTDESK_SIM_RECORDER_H
#include <jansson.h>
#include <stddef.h>

/* Records one request; body need not be NUL-terminated. The oldest entries go beyond 1,000. */
void recorder_add(const char *method, const char *path, const char *content_type, const char *body,
		  size_t len);
/* Returns {"items":[...]} of the recorded requests whose path starts with prefix (NULL: all),
 * oldest first. Caller decrefs. */
json_t *recorder_list(const char *prefix);
/* Forgets everything recorded. */
void recorder_clear(void);

#endif
