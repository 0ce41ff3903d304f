#define _GNU_SOURCE /* close_range, dup3, MSG_CMSG_CLOEXEC */
/* certdeskd's decode launcher (see decode_launcher.h): one thread, one poll loop over its control
 * socket, a signalfd for SIGCHLD and the reply socket of each helper it runs. */
#include "sandbox/decode_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/seccomp.h"
#include "util/log.h"

extern char **environ;

/* Helpers alive at once: one per upload being decoded, plus the spare. More are refused (-1). */
#define MAX_HELPERS 256
#define CTL_FD 3

struct helper {
	pid_t pid;
	int sock; /* the reply socket; -1 once certdeskd closed it */
};

static struct {
	const char *path;
	char *argv[9], *envp[4];
	struct helper h[MAX_HELPERS];
	int n;
} L;

/* The helper's command line and its clean environment (the sanitizers' settings pass). */
static void build_command(const struct decode_spawn *sp)
{
	int a = 0, e = 0;

	L.path = sp->path;
	L.argv[a++] = "certdesk-decode", L.argv[a++] = "--user", L.argv[a++] = (char *)sp->user;
	L.argv[a++] = "--timeout", L.argv[a++] = (char *)sp->timeout;
	if (sp->hooks)
		L.argv[a++] = "--test-hooks";
	if (!sp->seccomp)
		L.argv[a++] = "--no-seccomp";
	L.argv[a] = NULL;
	for (char **v = environ; *v != NULL && e < 3; v++)
		if (strncmp(*v, "ASAN_OPTIONS=", 13) == 0 || strncmp(*v, "UBSAN_OPTIONS=", 14) == 0 ||
		    strncmp(*v, "LSAN_OPTIONS=", 13) == 0)
			L.envp[e++] = *v;
	L.envp[e] = NULL;
}

/* Sends the wait status on sock (st -1: not started). */
static void tell(int sock, int st)
{
	if (sock >= 0)
		(void)send(sock, &st, sizeof(st), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Starts a helper on the pipe ends in and out (closed here) with default signals; remembers it
 * with its reply socket, or answers -1 there. */
static void spawn_one(int sock, int in, int out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	pid_t pid = 0;
	int rc = EAGAIN;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&dfl);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (L.n < MAX_HELPERS)
		rc = posix_spawn(&pid, L.path, &fa, &at, L.argv, L.envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in);
	close(out);
	if (rc != 0) {
		log_error("decode", "decode launcher: cannot start %s: %s", L.path, strerror(rc));
		tell(sock, -1);
		close(sock);
		return;
	}
	L.h[L.n++] = (struct helper){pid, sock};
}

/* Reads one request from the control socket. Returns 0, or -1 when certdeskd has gone. */
static int receive(int ctl)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} u;
	char op = 0;
	struct iovec iov = {&op, 1};
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	int fds[3], nfd = 0;
	ssize_t n = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h != NULL; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			if (nfd < 3)
				fds[nfd++] = fd;
			else
				close(fd);
		}
	}
	if (op == 'S' && nfd == 3 && (m.msg_flags & MSG_CTRUNC) == 0)
		spawn_one(fds[0], fds[1], fds[2]);
	else /* not a request we know: nothing is started */
		for (int i = 0; i < nfd; i++)
			close(fds[i]);
	return 0;
}

/* A message or a hang-up on helper i's reply socket: either way the helper is killed (certdeskd
 * gave up on it); after a hang-up the socket is closed. */
static void on_reply_socket(int i)
{
	char op;
	ssize_t n = recv(L.h[i].sock, &op, 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	kill(L.h[i].pid, SIGKILL);
	if (n <= 0) {
		close(L.h[i].sock);
		L.h[i].sock = -1;
	}
}

/* Reaps the helpers that ended and tells certdeskd their status. */
static void reap(int sfd)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < L.n; i++) {
			if (L.h[i].pid != pid)
				continue;
			tell(L.h[i].sock, st);
			if (L.h[i].sock >= 0)
				close(L.h[i].sock);
			L.h[i] = L.h[--L.n];
			break;
		}
	}
}

/* The loop: until certdeskd's control socket closes. */
static void serve(int sfd)
{
	static struct pollfd p[2 + MAX_HELPERS];
	static int which[2 + MAX_HELPERS];

	for (;;) {
		nfds_t np = 2;
		p[0] = (struct pollfd){.fd = CTL_FD, .events = POLLIN};
		p[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (int i = 0; i < L.n; i++)
			if (L.h[i].sock >= 0)
				which[np] = i, p[np++] = (struct pollfd){.fd = L.h[i].sock, .events = POLLIN};
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (nfds_t k = 2; k < np; k++) /* before reaping: reaping moves the entries */
			if (p[k].revents != 0)
				on_reply_socket(which[k]);
		if (p[1].revents != 0)
			reap(sfd);
		if (p[0].revents != 0 && receive(CTL_FD) != 0)
			return;
	}
}

/* Keeps standard error and the control socket (as CTL_FD); standard input and output become
 * /dev/null (certdeskd's output is its own). */
static int own_descriptors(int ctl)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (ctl != CTL_FD && dup3(ctl, CTL_FD, O_CLOEXEC) != CTL_FD)
		return -1;
	if (null < 0 || dup2(null, 0) != 0 || dup2(null, 1) != 1)
		return -1;
	close_range(CTL_FD + 1, ~0u, 0);
	return 0;
}

/* The launcher process: never returns. */
static void launcher_main(int ctl, const struct decode_spawn *sp, pid_t parent)
{
	sigset_t chld;
	char err[256];
	int sfd;

	prctl(PR_SET_NAME, "certdesk-launch", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent || own_descriptors(ctl) != 0)
		_exit(1);
	build_command(sp);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		_exit(1);
	if (sp->seccomp && seccomp_install(SECCOMP_LAUNCHER, err, sizeof(err)) < 0) {
		log_error("decode", "decode launcher: %s", err);
		_exit(1);
	}
	serve(sfd);
	for (int i = 0; i < L.n; i++)
		kill(L.h[i].pid, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	/* _exit: no exit-time work (a sanitizer's leak scan of certdeskd's memory, copied at fork) */
	_exit(0);
}

int decode_launcher_start(const struct decode_spawn *sp, pid_t *pid, char *err, size_t errlen)
{
	pid_t parent = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "decode launcher: socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((*pid = fork()) < 0) {
		snprintf(err, errlen, "decode launcher: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		close(sv[0]);
		launcher_main(sv[1], sp, parent);
	}
	close(sv[1]);
	return sv[0];
}
