/* Each connection gets a slot holding a duplicate of its socket: the guard can shut the socket
 * down from its own thread (libmicrohttpd then sees end-of-file and closes the connection in its
 * thread), and because the duplicate is ours until the connection's "closed" notification, the
 * number can never name another connection's socket meanwhile. */
#include "http/conn_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

struct slot {
	struct conn_guard *g;
	int fd; /* our duplicate, -1 when it could not be made */
	char ip[64];
	int waiting; /* waiting for a request head */
	time_t since;
	struct slot *prev, *next;
};

struct conn_guard {
	const struct proxy_list *trusted;
	unsigned per_ip, head_timeout_s;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	int stop;
	pthread_t watcher;
	struct slot *slots;
};

static time_t now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* Shuts the slot's socket down (both ways); the caller holds the lock. */
static void cut(struct slot *s)
{
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_RDWR);
	s->waiting = 0;
}

/* Once a second, cuts the connections whose request head is overdue. */
static void *watch(void *arg)
{
	struct conn_guard *g = arg;

	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		struct timespec until;
		time_t t = now_s();
		for (struct slot *s = g->slots; s != NULL; s = s->next)
			if (s->waiting && t - s->since >= (time_t)g->head_timeout_s)
				cut(s);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&g->wake, &g->mu, &until);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

struct conn_guard *conn_guard_new(const struct proxy_list *trusted, unsigned per_ip, unsigned head_timeout_s)
{
	struct conn_guard *g = xcalloc(sizeof(*g));

	g->trusted = trusted;
	g->per_ip = per_ip;
	g->head_timeout_s = head_timeout_s;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->wake, NULL);
	pthread_create(&g->watcher, NULL, watch, g);
	return g;
}

void conn_guard_free(struct conn_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->watcher, NULL);
	while (g->slots != NULL) { /* none after MHD_stop_daemon; kept safe anyway */
		struct slot *s = g->slots;
		g->slots = s->next;
		if (s->fd >= 0)
			close(s->fd);
		free(s);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

/* A new connection: its slot, and a cut when its address already holds per_ip connections. */
static void opened(struct conn_guard *g, struct MHD_Connection *c, void **ctx)
{
	const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ai != NULL ? ai->client_addr : NULL;
	struct slot *s = xcalloc(sizeof(*s));
	unsigned same = 0;

	s->g = g;
	s->fd = fi != NULL ? dup(fi->connect_fd) : -1;
	strcpy(s->ip, "-");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, s->ip, sizeof(s->ip));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, s->ip, sizeof(s->ip));
	s->waiting = 1;
	s->since = now_s();
	pthread_mutex_lock(&g->mu);
	for (struct slot *o = g->slots; o != NULL; o = o->next)
		same += strcmp(o->ip, s->ip) == 0;
	s->next = g->slots;
	if (g->slots != NULL)
		g->slots->prev = s;
	g->slots = s;
	if (g->per_ip > 0 && same >= g->per_ip && !proxy_trusted(g->trusted, s->ip))
		cut(s);
	pthread_mutex_unlock(&g->mu);
	*ctx = s;
}

static void closed(struct slot *s)
{
	struct conn_guard *g = s->g;

	pthread_mutex_lock(&g->mu);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		g->slots = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&g->mu);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

void conn_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		opened(cls, c, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
		closed(*socket_context);
		*socket_context = NULL;
	}
}

/* Sets the slot of c to waiting (or not) for a head from now. */
static void set_waiting(struct MHD_Connection *c, int waiting)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct slot *s = ci != NULL ? ci->socket_context : NULL;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->g->mu);
	s->waiting = waiting;
	s->since = now_s();
	pthread_mutex_unlock(&s->g->mu);
}

void conn_guard_head_done(struct MHD_Connection *c)
{
	set_waiting(c, 0);
}

void conn_guard_head_wait(struct MHD_Connection *c)
{
	set_waiting(c, 1);
}
