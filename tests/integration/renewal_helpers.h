/* Helpers shared by the renewal tests (test_renewal signs in process, test_renewal_agent through
 * certdesk-agent): the public renewal API's calls, SQL set-up, dates. Failures are cmocka failures. */
#ifndef CERTDESK_TEST_RENEWAL_HELPERS_H
#define CERTDESK_TEST_RENEWAL_HELPERS_H
#include <jansson.h>

#include "harness.h"
#include "store/db.h"

/* Calls the renewal API of s without cookies: JSON body (or NULL), X-Renewal-Token when token is
 * neither NULL nor "". Returns the HTTP status, the parsed body in *j when j is not NULL. */
long it_renewal_call(const struct srv *s, const char *method, const char *path, const char *body,
		     const char *token, json_t **j);
/* Runs one statement on db with one text argument (or none when arg is NULL); it must succeed. */
void it_sql(struct db *db, const char *text, const char *arg);
/* RFC 3339 text (UTC, seconds) t plus months, into out. */
void it_plus_months(const char *t, int months, char out[32]);

#endif
