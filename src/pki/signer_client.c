/* Client of certdesk-signer and the protocol's encoding (see signer_proto.h). Nothing read from the
 * peer is trusted: lengths are checked against the protocol's limits before anything is allocated,
 * and the whole exchange has one deadline so a stalled signer cannot hold a caller. */
#include "pki/signer_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 3000 /* only a full listen backlog makes a UNIX connect wait */

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int signer_key_id_valid(const char *id, size_t len)
{
	if (id == NULL || len < 1 || len > SIGNER_MAX_KEY_ID)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

const char *signer_status_name(int status)
{
	static const char *const names[] = {"ok", "refused", "no_key", "key_unavailable", "internal"};
	if (status < 0 || status > SIGNER_STATUS_MAX)
		return "unknown";
	return names[status];
}

int signer_req_head_encode(unsigned char out[SIGNER_REQ_HEAD_LEN], int kind, size_t key_id_len,
			   size_t data_len)
{
	if (kind < SIGNER_KIND_MIN || kind > SIGNER_KIND_MAX || key_id_len < 1 ||
	    key_id_len > SIGNER_MAX_KEY_ID || data_len < 1 || data_len > SIGNER_MAX_DATA)
		return -1;
	memcpy(out, SIGNER_MAGIC, SIGNER_MAGIC_LEN);
	out[4] = (unsigned char)kind;
	out[5] = (unsigned char)key_id_len;
	put_u32(out + 6, (uint32_t)data_len);
	return 0;
}

int signer_req_head_decode(const unsigned char in[SIGNER_REQ_HEAD_LEN], struct signer_req_head *h,
			   const char **why)
{
	uint32_t n = get_u32(in + 6);

	*why = NULL;
	if (memcmp(in, SIGNER_MAGIC, SIGNER_MAGIC_LEN) != 0)
		*why = "bad request: magic";
	else if (in[4] < SIGNER_KIND_MIN || in[4] > SIGNER_KIND_MAX)
		*why = "bad request: unknown kind";
	else if (in[5] < 1 || in[5] > SIGNER_MAX_KEY_ID)
		*why = "bad request: key id length";
	else if (n < 1 || n > SIGNER_MAX_DATA)
		*why = "bad request: data length";
	if (*why != NULL)
		return -1;
	h->kind = in[4];
	h->key_id_len = in[5];
	h->data_len = n;
	return 0;
}

int signer_rep_head_encode(unsigned char out[SIGNER_REP_HEAD_LEN], int status, size_t len)
{
	if (status < 0 || status > SIGNER_STATUS_MAX || len > SIGNER_MAX_REPLY ||
	    (status == SIGNER_OK && len == 0))
		return -1;
	memcpy(out, SIGNER_MAGIC, SIGNER_MAGIC_LEN);
	out[4] = (unsigned char)status;
	put_u32(out + 5, (uint32_t)len);
	return 0;
}

int signer_rep_head_decode(const unsigned char in[SIGNER_REP_HEAD_LEN], struct signer_rep_head *h)
{
	uint32_t n = get_u32(in + 5);

	if (memcmp(in, SIGNER_MAGIC, SIGNER_MAGIC_LEN) != 0 || in[4] > SIGNER_STATUS_MAX ||
	    n > SIGNER_MAX_REPLY || (in[4] == SIGNER_OK && n == 0))
		return -1;
	h->status = in[4];
	h->len = n;
	return 0;
}

int64_t signer_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or deadline_ms passes; returns 0 when ready, -1 otherwise. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - signer_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int signer_read_full(int fd, void *buf, size_t len, int64_t deadline_ms)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		if (wait_fd(fd, POLLIN, deadline_ms) != 0)
			return -1;
		ssize_t n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int signer_write_full(int fd, const void *buf, size_t len, int64_t deadline_ms)
{
	const unsigned char *p = buf;
	size_t put = 0;

	while (put < len) {
		if (wait_fd(fd, POLLOUT, deadline_ms) != 0)
			return -1;
		ssize_t n = send(fd, p + put, len - put, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		put += (size_t)n;
	}
	return 0;
}

/* Connects a non-blocking stream socket to path; returns the fd or -1 with a message in err. */
static int connect_signer(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {0};
	int64_t deadline = signer_now_ms() + CONNECT_TIMEOUT_MS;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "signer socket path too long");
		return -1;
	}
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "signer: socket: %s", strerror(errno));
		return -1;
	}
	/* A UNIX connect either completes at once or, when the backlog is full, fails with EAGAIN. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if ((errno == EAGAIN || errno == EINTR) && signer_now_ms() < deadline) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		snprintf(err, errlen, "signer unreachable at %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Copies the peer's reason into err, keeping printable ASCII only. */
static void copy_reason(char *err, size_t errlen, int status, const unsigned char *b, size_t n)
{
	size_t o = (size_t)snprintf(err, errlen, "signer: %s: ", signer_status_name(status));
	for (size_t i = 0; i < n && o + 1 < errlen; i++)
		err[o++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	if (o < errlen)
		err[o] = '\0';
}

/* Sends the request on fd and reads the reply; returns as signer_sign does. */
static int exchange(int fd, const char *key_id, int kind, const unsigned char *data, size_t len,
		    unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	int64_t deadline = signer_now_ms() + SIGNER_IO_TIMEOUT_MS;
	unsigned char head[SIGNER_REQ_HEAD_LEN], rhead[SIGNER_REP_HEAD_LEN];
	struct signer_rep_head rh = {0};
	size_t idlen = strlen(key_id);

	signer_req_head_encode(head, kind, idlen, len);
	if (signer_write_full(fd, head, sizeof(head), deadline) != 0 ||
	    signer_write_full(fd, key_id, idlen, deadline) != 0 ||
	    signer_write_full(fd, data, len, deadline) != 0) {
		snprintf(err, errlen, "signer: cannot send the request");
		return -1;
	}
	if (signer_read_full(fd, rhead, sizeof(rhead), deadline) != 0) {
		snprintf(err, errlen, "signer: no reply (closed or timed out)");
		return -1;
	}
	if (signer_rep_head_decode(rhead, &rh) != 0) {
		snprintf(err, errlen, "signer: malformed reply");
		return -1;
	}
	unsigned char *body = malloc(rh.len + 1);
	if (body == NULL) {
		snprintf(err, errlen, "signer: out of memory");
		return -1;
	}
	if (signer_read_full(fd, body, rh.len, deadline) != 0) {
		free(body);
		snprintf(err, errlen, "signer: reply cut short");
		return -1;
	}
	if (rh.status != SIGNER_OK) {
		copy_reason(err, errlen, rh.status, body, rh.len);
		free(body);
		return rh.status;
	}
	*sig = body;
	*siglen = rh.len;
	return 0;
}

int signer_sign(const char *socket_path, const char *key_id, int kind, const unsigned char *data, size_t len,
		unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	unsigned char probe[SIGNER_REQ_HEAD_LEN];

	*sig = NULL;
	*siglen = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (key_id == NULL || !signer_key_id_valid(key_id, strlen(key_id)) || data == NULL ||
	    signer_req_head_encode(probe, kind, strlen(key_id), len) != 0) {
		snprintf(err, errlen, "signer: bad request (key id, kind or length out of limits)");
		return SIGNER_REFUSED;
	}
	int fd = connect_signer(socket_path, err, errlen);
	if (fd < 0)
		return -1;
	int rc = exchange(fd, key_id, kind, data, len, sig, siglen, err, errlen);
	close(fd);
	return rc;
}
