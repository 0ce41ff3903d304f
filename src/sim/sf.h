/* The SF Express simulator: the open platform's /std/service gateway for EXP_RECE_SEARCH_ROUTES
 * (partnerID and msgDigest checked with the [courier] settings, SF's envelope with apiResultData as
 * a JSON string), a plausible mock route for any SF waybill number as SF's sandbox gives, routes a
 * test sets, and test hooks for an outage or a slow answer. State lives in memory. */
#ifndef CERTDESK_SIM_SF_H
#define CERTDESK_SIM_SF_H

struct http_req;

/* POST /sf/std/service: the API (form-encoded). The server's context is the struct config. An
 * unknown partnerID or serviceCode gives apiResultCode A1004, a wrong msgDigest A1006, a missing
 * field A1001. */
int sf_api(struct http_req *r);
/* GET /_sim/sf: {"items":[...]} the queries received, oldest first: partnerID, requestID,
 * timestamp, msgData (parsed, or the text when it is not JSON), apiResultCode, time. */
int sf_sim_queries(struct http_req *r);
/* DELETE /_sim/sf: forgets the queries, the routes set, the mock routes' start times and any armed
 * failure. */
int sf_sim_clear(struct http_req *r);
/* POST /_sim/sf/routes {"mailNo":"SF...", "routes":[{"acceptTime","acceptAddress","remark",
 * "opCode"}...], "checkPhoneNo":"1234"}: the routes the waybill has from now on, sent back as given
 * (an empty list: none yet); with checkPhoneNo, a query with other digits gets no routes. */
int sf_sim_set_routes(struct http_req *r);
/* POST /_sim/sf/fail-next {"status":500} or {"delay_ms":3000} (both may be given), "count":n
 * (default 1): the next n queries are answered late by delay_ms (1-60000), and with that HTTP
 * status (400-599) and no envelope when status is given. */
int sf_sim_fail_next(struct http_req *r);
/* Forgets everything (at exit). */
void sf_clear(void);

#endif
