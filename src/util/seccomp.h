/* seccomp allow-lists (libseccomp), installed after start-up once a process has opened what it
 * needs. Which action an unlisted system call gets:
 *   certdeskd, certdesk-signer: it fails with EPERM. They are multi-threaded servers: killing the
 *     process for a call on a rare library path (NSS, DNS, TLS, a PKCS#11 module) would end every
 *     request in flight; EPERM fails the one operation, and the call still does not happen.
 *   certdeskd's decode launcher: EPERM too, because each certdesk-decode it starts runs under its
 *     filter (plus its own) and must get as far as installing its own list.
 *   certdesk-decode: the process is killed (SCMP_ACT_KILL_PROCESS). It does one decode with
 *     nothing in flight; certdeskd answers 422. socket()/connect() alone return EACCES there so that a
 *     probe can tell.
 * Dangerous calls (ptrace, mount, bpf, kexec, module loading, keyctl, unshare/setns, ...) are in no
 * list. */
#ifndef CERTDESK_SECCOMP_H
#define CERTDESK_SECCOMP_H
#include <stddef.h>

enum seccomp_profile {
	SECCOMP_SERVER,  /* certdeskd: sockets, files, threads; no fork, no exec (the launcher starts helpers) */
	SECCOMP_SIGNER,  /* certdesk-signer: the same list */
	SECCOMP_DECODER, /* certdesk-decode: read/write on its pipes, memory, exit */
	SECCOMP_LAUNCHER /* certdeskd's decode launcher: spawn and reap certdesk-decode, no network */
};

/* Installs the profile's filter on every thread of the process (TSYNC). Returns 0, 1 when the
 * kernel has no seccomp (nothing installed: the caller warns), or -1 with a message. */
int seccomp_install(enum seccomp_profile p, char *err, size_t errlen);

#endif
