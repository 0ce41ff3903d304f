/* The SMTP simulator: a mail server on [sim] smtp_port speaking enough of RFC 5321 for libcurl and
 * ordinary clients (EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT), one
 * connection at a time in its own thread, keeping every message in memory (the newest 200) for
 * tests to read back with their headers and decoded MIME parts. */
#ifndef CERTDESK_SIM_SMTP_H
#define CERTDESK_SIM_SMTP_H
#include <jansson.h>
#include <stddef.h>

struct http_req;

/* Starts listening on address:port (0: any free port) and serving in a thread. Returns the port
 * listened on, or -1 with a message in err (errlen bytes). */
int smtp_sim_start(const char *address, int port, char *err, size_t errlen);
/* Stops the thread and forgets the messages. Safe when not started. */
void smtp_sim_stop(void);

/* Returns the decoded view of a raw message (RFC 5322 text): {"headers":{name: value}, "subject"
 * (RFC 2047 decoded), "parts":[{content_type, filename?, size, sha256, text?}]}. Caller decrefs. */
json_t *smtp_sim_parse(const char *raw, size_t len);

/* GET /_sim/mail[?to=addr]: {"items":[{from, to:[...], received_at, size, subject, headers, parts}]}
 * of the messages received (for addr), oldest first. */
int smtp_sim_inbox(struct http_req *r);
/* DELETE /_sim/mail: forgets the messages. */
int smtp_sim_clear(struct http_req *r);

/* POST /_sim/mail/refuse {"to", "code" (4xx: try later, 5xx: refused), "count"}: the next count
 * RCPT TO:<to> get that reply. */
int smtp_sim_refuse(struct http_req *r);

#endif
