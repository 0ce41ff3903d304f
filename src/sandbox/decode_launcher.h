/* certdeskd's decode launcher: a small process forked at start, before any thread and before any
 * seccomp filter, that starts certdesk-decode on request so that certdeskd itself never needs
 * fork or execve (its allow-list has neither; acme-client and Kore separate their parts the same
 * way). The launcher holds no database, no key, no listening socket: only its control socket.
 *
 * Protocol (SOCK_SEQPACKET socketpairs, one message each):
 *   certdeskd -> launcher, control socket: "S" with three descriptors (SCM_RIGHTS): a reply socket,
 *     then the helper's standard input and its standard output (pipe ends certdeskd made).
 *   launcher -> certdeskd, reply socket: the helper's wait status (an int) once it has ended (-1:
 *     it could not be started), then the socket is closed.
 *   certdeskd -> launcher, reply socket: "K" (or closing it) kills the helper.
 * When certdeskd ends (its control socket closes), the launcher kills its helpers and exits. */
#ifndef CERTDESK_DECODE_LAUNCHER_H
#define CERTDESK_DECODE_LAUNCHER_H
#include <stddef.h>
#include <sys/types.h>

/* How the launcher starts certdesk-decode. The strings are copied. */
struct decode_spawn {
	const char *path;    /* the certdesk-decode program */
	const char *user;    /* --user */
	const char *timeout; /* --timeout, seconds */
	int hooks;           /* --test-hooks */
	int seccomp;         /* 0: --no-seccomp, and the launcher installs no filter either */
};

/* Forks the launcher. Returns its control socket (close-on-exec) with *pid set, or -1 with a
 * message. Call it before starting any thread. */
int decode_launcher_start(const struct decode_spawn *sp, pid_t *pid, char *err, size_t errlen);

#endif
