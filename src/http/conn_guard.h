/* Connection guard: at most N connections per client address (trusted proxies excepted), and a
 * time limit on receiving each request's head, so that slow or numerous connections from one
 * address cannot take every slot of the server (slowloris). */
#ifndef CERTDESK_HTTP_CONN_GUARD_H
#define CERTDESK_HTTP_CONN_GUARD_H
#include <microhttpd.h>

#include "http/proxy.h"

struct conn_guard;

/* Starts a guard (and its watch thread); per_ip 0: no per-address limit. */
struct conn_guard *conn_guard_new(const struct proxy_list *trusted, unsigned per_ip, unsigned head_timeout_s);
/* Stops the watch thread and frees g (after the daemon stopped). */
void conn_guard_free(struct conn_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard). */
void conn_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);
/* The connection's request head has arrived: no time limit while the request runs. */
void conn_guard_head_done(struct MHD_Connection *c);
/* The request ended: the next head (keep-alive) must arrive within the limit from now. */
void conn_guard_head_wait(struct MHD_Connection *c);

#endif
