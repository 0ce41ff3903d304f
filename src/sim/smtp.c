/* The SMTP simulator's server: one listening socket, a thread that serves one connection at a
 * time (with a read time-out so a silent client cannot hold it), and the store of messages. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "sim/smtp.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define KEEP 200                  /* messages kept */
#define MSG_MAX (24u << 20)       /* bytes of one message */
#define LINE_MAX_BYTES (1u << 20) /* bytes of one line */
#define RCPT_MAX 50

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *messages; /* array of {from, to, received_at, size, raw} */
static json_t *refusals; /* address -> {"code": 4xx/5xx, "count": times left} (POST /_sim/mail/refuse) */
static pthread_t thread;
static int listen_fd = -1, started;

struct conn {
	int fd;
	char buf[8192];
	size_t have, pos;
};

/* Writes the reply line s. */
static void say(struct conn *c, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one line (CRLF or LF stripped) into a growing buffer *line; returns its length or -1. */
static long read_line(struct conn *c, char **line, size_t *cap)
{
	size_t n = 0;

	for (;;) {
		if (c->pos == c->have) {
			ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			c->have = (size_t)r;
			c->pos = 0;
		}
		char ch = c->buf[c->pos++];
		if (ch == '\n')
			break;
		if (n + 2 > *cap) {
			if (*cap >= LINE_MAX_BYTES)
				return -1;
			*cap = *cap ? *cap * 2 : 1024;
			*line = xrealloc(*line, *cap);
		}
		(*line)[n++] = ch;
	}
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	if (*cap == 0) {
		*cap = 1024;
		*line = xrealloc(*line, *cap);
	}
	(*line)[n] = '\0';
	return (long)n;
}

/* Returns the address inside <...> after prefix (e.g. "MAIL FROM:"), or NULL when malformed. */
static char *address_after(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *lt, *gt;

	if (strncasecmp(line, prefix, n) != 0)
		return NULL;
	lt = strchr(line + n, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt == NULL || gt == NULL)
		return NULL;
	return strndup(lt + 1, (size_t)(gt - lt - 1));
}

/* Receives the DATA of one message (dot-unstuffed) and stores it; replies. */
static int receive_data(struct conn *c, char **line, size_t *cap, const char *from, json_t *rcpts)
{
	char *raw = NULL, now[TIMEFMT_LEN], reply[80];
	size_t len = 0, rawcap = 0;
	int too_big = 0;
	long n;

	say(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	while ((n = read_line(c, line, cap)) >= 0) {
		const char *s = *line;
		if (n == 1 && s[0] == '.')
			break;
		if (s[0] == '.') /* RFC 5321 4.5.2: a leading dot was doubled */
			s++, n--;
		if (len + (size_t)n + 2 > MSG_MAX) {
			too_big = 1;
			continue;
		}
		if (len + (size_t)n + 3 > rawcap) {
			rawcap = (len + (size_t)n + 3) * 2;
			raw = xrealloc(raw, rawcap);
		}
		memcpy(raw + len, s, (size_t)n);
		len += (size_t)n;
		memcpy(raw + len, "\r\n", 2);
		len += 2;
	}
	if (n < 0) {
		free(raw);
		return -1;
	}
	if (too_big) {
		free(raw);
		say(c, "552 Message too big\r\n");
		return 0;
	}
	pthread_mutex_lock(&mu);
	if (json_array_size(messages) >= KEEP)
		json_array_remove(messages, 0);
	json_t *m = json_pack("{s:s, s:o, s:s, s:I}", "from", from, "to", json_deep_copy(rcpts),
			      "received_at", timefmt_rfc3339(time(NULL), now), "size", (json_int_t)len);
	json_object_set_new(m, "raw", json_stringn_nocheck(raw ? raw : "", len));
	json_array_append_new(messages, m);
	snprintf(reply, sizeof(reply), "250 OK queued as %zu\r\n", json_array_size(messages));
	pthread_mutex_unlock(&mu);
	free(raw);
	say(c, reply);
	return 0;
}

/* Answers RCPT TO:<addr> with the refusal a test armed for addr, if any; returns 1 when it did. */
static int refuse_rcpt(struct conn *c, const char *addr)
{
	char reply[96] = "";
	json_t *r;

	pthread_mutex_lock(&mu);
	r = refusals != NULL ? json_object_get(refusals, addr) : NULL;
	if (r != NULL) {
		long long code = json_integer_value(json_object_get(r, "code"));
		long long left = json_integer_value(json_object_get(r, "count")) - 1;
		snprintf(reply, sizeof(reply), "%lld %s\r\n", code,
			 code >= 500 ? "5.1.1 Mailbox unavailable (refused by test)"
				     : "4.3.0 Try again later (refused by test)");
		if (left > 0)
			json_object_set_new(r, "count", json_integer(left));
		else
			json_object_del(refusals, addr);
	}
	pthread_mutex_unlock(&mu);
	if (reply[0] == '\0')
		return 0;
	say(c, reply);
	return 1;
}

/* Serves one connection until QUIT, an error or a time-out. */
static void serve(int fd)
{
	struct conn c = {.fd = fd};
	struct timeval tv = {10, 0};
	char *line = NULL, *from = NULL, *addr;
	json_t *rcpts = json_array();
	size_t cap = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	say(&c, "220 certdesk-sim ESMTP ready\r\n");
	while (read_line(&c, &line, &cap) >= 0) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			say(&c, "250-certdesk-sim\r\n250-8BITMIME\r\n250-SIZE 25165824\r\n250 HELP\r\n");
		} else if (strncasecmp(line, "HELO", 4) == 0 || strncasecmp(line, "NOOP", 4) == 0) {
			say(&c, "250 OK\r\n");
		} else if (strncasecmp(line, "RSET", 4) == 0) {
			free(from);
			from = NULL;
			json_array_clear(rcpts);
			say(&c, "250 OK\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			say(&c, "221 Bye\r\n");
			break;
		} else if (strncasecmp(line, "MAIL", 4) == 0) {
			if ((addr = address_after(line, "MAIL FROM:")) == NULL) {
				say(&c, "501 Syntax: MAIL FROM:<address>\r\n");
				continue;
			}
			free(from);
			from = addr;
			json_array_clear(rcpts);
			say(&c, "250 OK\r\n");
		} else if (strncasecmp(line, "RCPT", 4) == 0) {
			if (from == NULL) {
				say(&c, "503 MAIL first\r\n");
			} else if ((addr = address_after(line, "RCPT TO:")) == NULL || addr[0] == '\0') {
				free(addr);
				say(&c, "501 Syntax: RCPT TO:<address>\r\n");
			} else if (refuse_rcpt(&c, addr)) {
				free(addr);
			} else if (json_array_size(rcpts) >= RCPT_MAX) {
				free(addr);
				say(&c, "452 Too many recipients\r\n");
			} else {
				json_array_append_new(rcpts, json_string(addr));
				free(addr);
				say(&c, "250 OK\r\n");
			}
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			if (from == NULL || json_array_size(rcpts) == 0) {
				say(&c, "503 RCPT first\r\n");
				continue;
			}
			if (receive_data(&c, &line, &cap, from, rcpts) != 0)
				break;
			free(from);
			from = NULL;
			json_array_clear(rcpts);
		} else if (strncasecmp(line, "VRFY", 4) == 0) {
			say(&c, "252 Cannot verify\r\n");
		} else { /* RFC 5321 4.2.4: a verb the server does not know */
			say(&c, "500 5.5.2 Syntax error, command unrecognized\r\n");
		}
	}
	free(line);
	free(from);
	json_decref(rcpts);
	close(fd);
}

static void *accept_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* the socket was shut down */
		}
		serve(fd);
	}
}

int smtp_sim_start(const char *address, int port, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t sl = sizeof(sa);
	int one = 1;

	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "smtp: %s is not an IPv4 address", address);
		return -1;
	}
	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(listen_fd, 16) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &sl) != 0) {
		snprintf(err, errlen, "smtp: cannot listen on %s:%d: %s", address, port, strerror(errno));
		if (listen_fd >= 0)
			close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	messages = json_array();
	if (pthread_create(&thread, NULL, accept_loop, NULL) != 0) {
		snprintf(err, errlen, "smtp: cannot start the thread");
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	started = 1;
	return ntohs(sa.sin_port);
}

void smtp_sim_stop(void)
{
	if (!started)
		return;
	shutdown(listen_fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	close(listen_fd);
	listen_fd = -1;
	started = 0;
	pthread_mutex_lock(&mu);
	json_decref(messages);
	messages = NULL;
	json_decref(refusals);
	refusals = NULL;
	pthread_mutex_unlock(&mu);
}

int smtp_sim_inbox(struct http_req *r)
{
	const char *to = http_query(r, "to");
	json_t *items = json_array(), *m, *addr;
	size_t i, j;

	pthread_mutex_lock(&mu);
	json_array_foreach (messages, i, m) {
		int match = to == NULL;
		json_array_foreach (json_object_get(m, "to"), j, addr)
			match |= to != NULL && strcasecmp(json_string_value(addr), to) == 0;
		if (!match)
			continue;
		json_t *raw = json_object_get(m, "raw"), *view;
		view = smtp_sim_parse(json_string_value(raw), json_string_length(raw));
		json_object_update(view, m);
		json_object_del(view, "raw");
		json_array_append_new(items, view);
	}
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int smtp_sim_refuse(struct http_req *r)
{
	json_t *in = http_json_body(r);
	const char *to;
	json_int_t code, count;

	if (in == NULL)
		return 0;
	to = json_string_value(json_object_get(in, "to"));
	code = json_integer_value(json_object_get(in, "code"));
	count = json_object_get(in, "count") != NULL ? json_integer_value(json_object_get(in, "count")) : 1;
	if (to == NULL || to[0] == '\0' || code < 400 || code > 599 || count < 1 || count > 100) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request", "需要 to、code（400-599）和 count（1-100）",
					NULL);
	}
	pthread_mutex_lock(&mu);
	if (refusals == NULL)
		refusals = json_object();
	json_object_set_new(refusals, to, json_pack("{s:I, s:I}", "code", code, "count", count));
	pthread_mutex_unlock(&mu);
	json_decref(in);
	return http_reply_json(r, 200, json_object());
}

int smtp_sim_clear(struct http_req *r)
{
	pthread_mutex_lock(&mu);
	json_array_clear(messages);
	if (refusals != NULL)
		json_object_clear(refusals);
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200, json_object());
}
