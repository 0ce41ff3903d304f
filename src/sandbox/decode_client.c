#define _GNU_SOURCE /* pipe2, SOCK_CLOEXEC */
#include "sandbox/decode_client.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "sandbox/decode_launcher.h"
#include "seal/extract.h"
#include "util/log.h"

static struct {
	char path[4096];
	char user[64];
	char timeout[16];
	int hooks, seccomp;
	int launcher; /* the launcher's control socket; -1: not started (every decode fails) */
} setup = {"", "nobody", "10", 0, 1, -1};

int decode_setup(const struct config *cfg, char *err, size_t errlen)
{
	char self[4000];
	ssize_t n;
	pid_t pid;

	if (cfg->security_decode_helper[0] != '\0') {
		snprintf(setup.path, sizeof(setup.path), "%s", cfg->security_decode_helper);
	} else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		*(slash != NULL ? slash : self) = '\0';
		snprintf(setup.path, sizeof(setup.path), "%.4000s/certdesk-decode", self);
	}
	if (access(setup.path, X_OK) != 0) {
		snprintf(err, errlen, "certdesk-decode %s: %s", setup.path, strerror(errno));
		return -1;
	}
	if (cfg->server_user[0] != '\0')
		snprintf(setup.user, sizeof(setup.user), "%s", cfg->server_user);
	snprintf(setup.timeout, sizeof(setup.timeout), "%d", cfg->security_decode_timeout_s);
	setup.hooks = cfg->dev_decode_test_hooks;
	setup.seccomp = cfg->security_seccomp;
	setup.launcher = decode_launcher_start(
		&(struct decode_spawn){setup.path, setup.user, setup.timeout, setup.hooks, setup.seccomp}, &pid,
		err, errlen);
	return setup.launcher >= 0 ? 0 : -1;
}

/* A running helper: the launcher's reply socket for it and our ends of its pipes. */
struct child {
	int sock, in, out;
};

#define NO_CHILD ((struct child){-1, -1, -1})

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Asks the launcher for a helper on two new pipes. Returns 0 or -1. */
static int start(struct child *c)
{
	int to[2] = {-1, -1}, from[2] = {-1, -1}, sv[2] = {-1, -1}, rc = -1;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} u;
	struct iovec iov = {"S", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};

	*c = NO_CHILD;
	if (setup.launcher < 0 || pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		goto out;
	memset(u.buf, 0, sizeof(u.buf));
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET, h->cmsg_type = SCM_RIGHTS, h->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(h), (int[3]){sv[1], to[0], from[1]}, 3 * sizeof(int));
	if (sendmsg(setup.launcher, &m, MSG_NOSIGNAL) != 1)
		goto out;
	*c = (struct child){sv[0], to[1], from[0]};
	sv[0] = to[1] = from[0] = -1;
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	rc = 0;
out: /* the launcher has its copies of the helper's ends */
	close_if_open(to[0]), close_if_open(to[1]), close_if_open(from[0]), close_if_open(from[1]);
	close_if_open(sv[0]), close_if_open(sv[1]);
	return rc;
}

/* Returns 1 when the launcher has already reported c's helper ended (a spare that died waiting). */
static int ended(const struct child *c)
{
	struct pollfd p = {.fd = c->sock, .events = POLLIN};
	return poll(&p, 1, 0) != 0;
}

/* Ends the helper (killed unless it has exited: the launcher does it) and waits for its status.
 * Returns 1 when it exited normally. */
static int finish(struct child *c, int kill_it)
{
	int status = -1, waited = 0;
	struct pollfd p = {.fd = c->sock, .events = POLLIN};

	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	if (kill_it)
		(void)send(c->sock, "K", 1, MSG_NOSIGNAL);
	/* a helper that closed its output is exiting; one that takes longer than the limit is killed */
	while (poll(&p, 1, 1000 * atoi(setup.timeout)) == 0 && !waited++)
		(void)send(c->sock, "K", 1, MSG_NOSIGNAL);
	if (recv(c->sock, &status, sizeof(status), MSG_DONTWAIT) != (ssize_t)sizeof(status))
		status = -1;
	close(c->sock);
	*c = NO_CHILD;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* One helper is started ahead of need: loading the decoders' libraries takes longer than a small
 * decode, and an upload should not wait for it. It is still one process per upload: the spare has
 * read nothing yet when a request takes it. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct child spare = {-1, -1, -1};

/* Takes the spare (when it is still alive) or starts a helper, then starts the next spare.
 * Returns 0 or -1. */
static int take_helper(struct child *c)
{
	struct child next = NO_CHILD;
	int rc = 0;

	pthread_mutex_lock(&spare_lock);
	*c = spare;
	spare = NO_CHILD;
	pthread_mutex_unlock(&spare_lock);
	if (c->sock >= 0 && ended(c)) /* it died waiting */
		finish(c, 1);
	if (c->sock < 0)
		rc = start(c);
	if (start(&next) == 0) {
		pthread_mutex_lock(&spare_lock);
		if (spare.sock < 0)
			spare = next, next = NO_CHILD;
		pthread_mutex_unlock(&spare_lock);
		if (next.sock >= 0) /* another request made one meanwhile: this one reads EOF and exits */
			finish(&next, 0);
	}
	return rc;
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A growing buffer for the reply. */
struct buf {
	unsigned char *p;
	size_t len, cap, max;
};

/* Reads what is there into b. Returns 1 at EOF, 0 for more later, -1 on error or too much. */
static int take(int fd, struct buf *b)
{
	for (;;) {
		if (b->len == b->cap) {
			size_t cap = b->cap == 0 ? 65536 : b->cap * 2;
			if (cap > b->max + 1)
				cap = b->max + 1; /* one byte more than allowed: a longer reply is refused */
			unsigned char *p = b->len >= b->max + 1 ? NULL : realloc(b->p, cap);
			if (p == NULL)
				return -1;
			b->p = p, b->cap = cap;
		}
		ssize_t n = read(fd, b->p + b->len, b->cap - b->len);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		b->len += (size_t)n;
	}
}

/* Sends req (header and data) and collects the reply until EOF or the deadline. Returns 0 or -1. */
static int exchange(struct child *c, const unsigned char *hdr, const unsigned char *d, size_t len, struct buf *b)
{
	long long deadline = now_ms() + 1000LL * atoi(setup.timeout);
	size_t sent = 0, total = 8 + len;

	for (;;) {
		struct pollfd p[2] = {{.fd = c->out, .events = POLLIN}, {.fd = c->in, .events = POLLOUT}};
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1; /* the time limit */
		int np = c->in >= 0 ? 2 : 1;
		if (poll(p, (nfds_t)np, (int)left) < 0 && errno != EINTR)
			return -1;
		if (np == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
			const unsigned char *from = sent < 8 ? hdr + sent : d + (sent - 8);
			size_t chunk = sent < 8 ? 8 - sent : total - sent;
			ssize_t n = write(c->in, from, chunk);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -1; /* it died before reading everything */
			sent += n > 0 ? (size_t)n : 0;
			if (sent == total) {
				close(c->in);
				c->in = -1;
			}
		}
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			int rc = take(c->out, b);
			if (rc != 0)
				return rc > 0 && c->in < 0 ? 0 : -1;
		}
	}
}

/* Media types as static strings (image_info's are). */
static void set_type(struct image_info *info, const char *mt)
{
	static const char *const types[][2] = {{"image/jpeg", "jpg"}, {"image/png", "png"}, {"image/bmp", "bmp"}};

	for (size_t i = 0; mt != NULL && i < 3; i++)
		if (strcmp(mt, types[i][0]) == 0)
			info->media_type = types[i][0], info->ext = types[i][1];
}

static enum decode_status failed(struct decode_facts *f, const char *why)
{
	log_error("decode", "certdesk-decode: %s", why);
	snprintf(f->code, sizeof(f->code), "decode_failed");
	snprintf(f->message, sizeof(f->message), "%s",
		 "图片无法解析（文件异常或解析超时），请重新扫描保存为 jpeg 或 png 后上传");
	return DECODE_FAILED;
}

/* Fills f from the reply's JSON. */
static enum decode_status read_facts(json_t *j, struct decode_facts *f)
{
	json_t *qr = json_object_get(j, "qr"), *it;
	size_t i;

	if (!json_is_true(json_object_get(j, "ok"))) {
		const char *code = json_string_value(json_object_get(j, "code"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		if (code == NULL || msg == NULL)
			return failed(f, "malformed refusal");
		snprintf(f->code, sizeof(f->code), "%s", code);
		snprintf(f->message, sizeof(f->message), "%s", msg);
		return DECODE_REFUSED;
	}
	set_type(&f->info, json_string_value(json_object_get(j, "media_type")));
	f->info.width = (unsigned)json_integer_value(json_object_get(j, "width"));
	f->info.height = (unsigned)json_integer_value(json_object_get(j, "height"));
	f->info.dpi_x = (unsigned)json_integer_value(json_object_get(j, "dpi_x"));
	f->info.dpi_y = (unsigned)json_integer_value(json_object_get(j, "dpi_y"));
	f->photo = json_is_true(json_object_get(j, "photo"));
	json_array_foreach (qr, i, it) {
		if (f->nqr < DECODE_MAX_QR && json_is_string(it))
			snprintf(f->qr[f->nqr++], DECODE_MAX_QR_TEXT, "%s", json_string_value(it));
	}
	return f->info.media_type != NULL ? DECODE_OK : failed(f, "malformed facts");
}

/* Runs one request; on DECODE_OK with pixels wanted, moves them into *px (w*h*bpp bytes, bpp 3 for
 * RGB, 4 for RGBA). */
static enum decode_status run(int op, unsigned flags, const unsigned char *d, size_t len, struct decode_facts *f,
			      unsigned char **px)
{
	size_t bpp = op == DECODE_OP_RGBA ? 4 : 3;
	unsigned char hdr[8] = {'C', 'D', (unsigned char)op, (unsigned char)flags, (unsigned char)len,
				(unsigned char)(len >> 8), (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
	struct child c = NO_CHILD;
	struct buf b = {NULL, 0, 0, DECODE_MAX_JSON + 4 + (size_t)IMAGE_MAX_PIXELS * bpp};
	enum decode_status st;
	json_t *j = NULL;
	size_t jlen = 0;
	int ok;

	memset(f, 0, sizeof(*f));
	if (len > IMAGE_MAX_BYTES) { /* refused on its size alone, before any decoding: no helper needed */
		const char *code = "file_too_large", *msg = "";
		image_inspect(d, len, &f->info, &code, &msg);
		snprintf(f->code, sizeof(f->code), "%s", code);
		snprintf(f->message, sizeof(f->message), "%s", msg);
		return DECODE_REFUSED;
	}
	if (take_helper(&c) != 0)
		return failed(f, "cannot start the helper");
	ok = exchange(&c, hdr, d, len, &b) == 0;
	ok = finish(&c, !ok) && ok;
	if (ok && b.len >= 4)
		jlen = (size_t)b.p[0] | (size_t)b.p[1] << 8 | (size_t)b.p[2] << 16 | (size_t)b.p[3] << 24;
	if (ok && jlen > 0 && jlen <= DECODE_MAX_JSON && jlen <= b.len - 4)
		j = json_loadb((const char *)b.p + 4, jlen, 0, NULL);
	if (j == NULL) {
		free(b.p);
		return failed(f, ok ? "malformed reply" : "crashed, killed or timed out");
	}
	st = read_facts(j, f);
	size_t npx = (size_t)json_integer_value(json_object_get(j, "pixels"));
	json_decref(j);
	if (st == DECODE_OK && px != NULL) {
		if (npx != (size_t)f->info.width * f->info.height * bpp || npx == 0 || b.len - 4 - jlen != npx)
			st = failed(f, "pixels missing");
		else { /* the reply's buffer becomes the picture */
			memmove(b.p, b.p + 4 + jlen, npx);
			*px = b.p;
			b.p = NULL;
		}
	}
	free(b.p);
	return st;
}

enum decode_status decode_inspect(const unsigned char *data, size_t len, int want_qr, struct decode_facts *f)
{
	return run(DECODE_OP_INSPECT, want_qr ? DECODE_F_QR : 0, data, len, f, NULL);
}

enum decode_status decode_rgb(const unsigned char *data, size_t len, struct seal_rgb *img, struct decode_facts *f)
{
	enum decode_status st;

	memset(img, 0, sizeof(*img));
	st = run(DECODE_OP_RGB, 0, data, len, f, &img->px);
	if (st == DECODE_OK)
		img->w = f->info.width, img->h = f->info.height;
	return st;
}

enum decode_status decode_rgba(const unsigned char *data, size_t len, unsigned char **rgba, unsigned *w, unsigned *h,
			       struct decode_facts *f)
{
	enum decode_status st;

	*rgba = NULL, *w = *h = 0;
	st = run(DECODE_OP_RGBA, 0, data, len, f, rgba);
	if (st == DECODE_OK)
		*w = f->info.width, *h = f->info.height;
	return st;
}
