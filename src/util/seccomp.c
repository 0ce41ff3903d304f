#define _GNU_SOURCE
#include "util/seccomp.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

/* What any of the three needs: memory, its pipes or sockets once open, time, exit. */
static const char *const base_calls[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "lseek", "fstat", "newfstatat",
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect", "exit", "exit_group", "rt_sigreturn",
	"rt_sigprocmask", "futex", "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "sched_yield", "sigaltstack",
	"restart_syscall", "getrandom",
	"sysinfo", /* glibc's qsort sizes its buffer by the machine's memory */
	NULL};

/* The servers: files, sockets, polling, threads, signals, identity look-ups. */
static const char *const server_calls[] = {
	"openat", "open", "creat", "stat", "lstat", "statx", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getcwd", "getdents64", "getdents", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "link", "linkat", "symlink", "chmod", "fchmod", "fchmodat", "fchown",
	"ftruncate", "fsync", "fdatasync", "sync_file_range", "fallocate", "flock", "fcntl", "ioctl",
	"dup", "dup2", "dup3", "pipe", "pipe2", "statfs", "fstatfs", "utimensat", "umask", "fadvise64",
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
	"getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "shutdown", "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
	"timerfd_settime", "timerfd_gettime", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "rt_sigaction", "rt_sigtimedwait", "rt_sigpending", "rt_sigsuspend", "tgkill",
	"tkill", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler",
	"getrlimit", "prlimit64", "getrusage", "times", "uname", "sysinfo", "clock_getres",
	"getppid", "getpgrp", "getresuid", "getresgid", "getgroups", "membarrier", "mlock", "munlock",
	"mlock2", "msync", "mincore", "prctl", "arch_prctl", "alarm", "getitimer", "setitimer",
	"sendfile", "splice", "copy_file_range", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "getxattr", "fgetxattr", "lgetxattr", "close_range", "timer_create",
	"timer_settime", "timer_delete", "timer_gettime", "setrlimit", NULL};

/* The decode launcher (decode_launcher.c): it starts certdesk-decode on certdeskd's request and reaps
 * it; it needs what the dynamic loader and the helper need before the helper's own, narrower filter
 * (files read, memory, identity drop), and nothing of the network: no socket, bind, connect. */
static const char *const launcher_calls[] = {
	"execve", "wait4", "waitid", "kill", "recvmsg", "sendmsg", "recvfrom", "sendto", "poll", "ppoll",
	"signalfd4", "signalfd",
	"rt_sigaction", "openat", "open", "stat", "lstat", "statx", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getdents64", "fcntl", "dup", "dup2", "dup3", "close_range", "ioctl",
	"set_robust_list", "get_robust_list", "rseq", "set_tid_address", "arch_prctl", "prctl", "prlimit64",
	"getrlimit", "setrlimit", "uname", "sched_getaffinity", "getppid", "getresuid", "getresgid",
	"getgroups", "setgroups", "setgid", "setuid", "setresuid", "setresgid", "seccomp", "sysinfo",
	"statfs", "fstatfs", "fadvise64", "tgkill", "mincore", "personality", "getcwd", NULL};

#ifdef SANITIZED
/* LeakSanitizer stops the world at exit from a cloned tracer: tests only. No execve: a sanitizer
 * report under the filter is not symbolised by an external program (gcc's is in-process). */
static const char *const sanitizer_calls[] = {"ptrace", "wait4", "waitid", "kill", "personality", NULL};
#endif

/* Adds an allow rule for each name known on this architecture. Returns 0 or -1. */
static int allow_all(scmp_filter_ctx ctx, const char *const *names)
{
	for (; *names != NULL; names++) {
		int nr = seccomp_syscall_resolve_name(*names);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture (e.g. open on arm64) */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return -1;
	}
	return 0;
}

/* The servers' clone: threads only (no fork, so no new process to exec in either). clone3 hides its
 * flags in memory a filter cannot read, so it answers ENOSYS and glibc falls back to clone. */
static int threads_only_clone(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
		return -1;
#ifdef SANITIZED
	/* LeakSanitizer's tracer is cloned CLONE_UNTRACED (glibc's fork never is) */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED)) != 0)
		return -1;
#endif
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
}

/* The launcher: posix_spawn's clone (a process, not a thread); clone3 falls back to it. socket and
 * connect say EACCES (getpwnam in a starting helper asks nscd first, then reads /etc/passwd). */
static int launcher_rules(scmp_filter_ctx ctx)
{
	if (allow_all(ctx, launcher_calls) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0) != 0)
		return -1;
	return 0;
}

/* The decoder: no network. socket and connect say EACCES (the probe checks it); anything unlisted kills. */
static int decoder_rules(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0) != 0)
		return -1;
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, enum seccomp_profile p)
{
	if (allow_all(ctx, base_calls) != 0)
		return -1;
	if (p == SECCOMP_DECODER)
		return decoder_rules(ctx);
	if (p == SECCOMP_LAUNCHER)
		return launcher_rules(ctx);
	if (allow_all(ctx, server_calls) != 0)
		return -1;
#ifdef SANITIZED
	if (allow_all(ctx, sanitizer_calls) != 0)
		return -1;
#endif
	/* certdeskd and the signer alike: neither starts a program (certdeskd asks the launcher) */
	return threads_only_clone(ctx);
}

int seccomp_install(enum seccomp_profile p, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		return 1; /* a kernel built without seccomp */
	ctx = seccomp_init(p == SECCOMP_DECODER ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* every thread already started gets the same filter */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = add_rules(ctx, p) != 0 ? -EINVAL : 0;
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
