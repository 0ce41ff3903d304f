#define _GNU_SOURCE /* accept4 */
/* certdesk-signer: the only process that loads CA private keys (issue 12, pki-contract.md). It opens
 * its log, keys and UNIX socket, drops privileges when started as root, then serves each connection
 * in its own thread. SIGHUP reloads keys_dir; SIGTERM/SIGINT finish the requests in flight and exit. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "pki/signer_client.h"
#include "signer/signer.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/seccomp.h"

#define MAX_ACTIVE 64 /* connections served at once; more are closed at once (the client sees -1) */

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static atomic_int active;
static atomic_int stopping;

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: certdesk-signer [--config FILE]\n"
		"  Holds the CA private keys of [signer] keys_dir and signs what certdeskd and the CLI\n"
		"  ask over the UNIX socket [signer] socket, after checking it. SIGHUP reloads the keys.\n");
	return rc;
}

/* Returns 1 when a live signer answers at path (then it must not be unlinked). */
static int socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int alive = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;

	if (fd >= 0)
		close(fd);
	return alive;
}

/* Creates the listening socket at path (mode 0660), removing a stale one; returns the fd or -1. */
static int open_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {0};
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || socket_alive(&sa)) {
			snprintf(err, errlen, "%s exists and is %s", path,
				 S_ISSOCK(st.st_mode) ? "served by another signer" : "not a socket");
			return -1;
		}
		unlink(path); /* left by a signer that died */
	}
	if (fs_mkdir_parent(path, 0750) != 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0117); /* no moment with a wider mode than 0660 */
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	umask(old);
	if (!ok || chmod(path, 0660) != 0 || listen(fd, 128) != 0) {
		snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* As root with [signer] user set: hands the socket and log to that user, then becomes it for good.
 * Returns 0, or -1 with a message. */
static int drop_privileges(const struct config *cfg, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0;
	if (cfg->signer_user[0] == '\0') {
		log_warn("signer", "running as root ([signer] user is empty)");
		return 0;
	}
	struct passwd *pw = getpwnam(cfg->signer_user);
	if (pw == NULL) {
		snprintf(err, errlen, "unknown user %s", cfg->signer_user);
		return -1;
	}
	if (chown(cfg->signer_socket, pw->pw_uid, pw->pw_gid) != 0 ||
	    chown(cfg->signer_log, pw->pw_uid, pw->pw_gid) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", cfg->signer_user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "still able to become root after dropping privileges");
		return -1;
	}
	return 0;
}

/* Installs the signer's seccomp allow-list ([security] seccomp): threads, files, its socket; no fork
 * or exec. Returns 0, or -1 with a message. */
static int confine(const struct config *cfg, char *err, size_t errlen)
{
	int rc;

	if (!cfg->security_seccomp) {
		log_warn("signer", "[security] seccomp = off");
		return 0;
	}
	rc = seccomp_install(SECCOMP_SIGNER, err, errlen);
	if (rc == 1)
		log_warn("signer", "this kernel has no seccomp");
	return rc < 0 ? -1 : 0;
}

static void *worker(void *arg)
{
	serve_connection((int)(intptr_t)arg);
	atomic_fetch_sub(&active, 1);
	return NULL;
}

/* Accepts connections until stopping is set; each is served by a detached thread. */
static void *acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!atomic_load(&stopping)) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
			continue;
		}
		pthread_t t;
		if (atomic_fetch_add(&active, 1) >= MAX_ACTIVE ||
		    pthread_create(&t, &attr, worker, (void *)(intptr_t)fd) != 0) {
			atomic_fetch_sub(&active, 1);
			close(fd);
		}
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

/* Loads keys_dir and makes it the current key store. A keys_dir that cannot be read (missing, or
 * not readable after the privilege drop) keeps the keys already loaded: a reload never empties the
 * signer by accident. */
static void load_keys(const char *dir, int first)
{
	struct keystore *ks = keystore_load(dir);

	if (ks == NULL && !first) {
		log_error("signer", "reload failed: keeping the keys loaded before");
		return;
	}
	log_info("signer", "%d key(s) loaded from %s", ks != NULL ? keystore_count(ks) : 0, dir);
	serve_keys_swap(ks);
}

/* Serves until SIGTERM/SIGINT, reloading keys on SIGHUP; then waits for requests in flight. */
static void run(const struct config *cfg, int lfd, sigset_t *set)
{
	pthread_t acc;
	int sig = 0;

	pthread_create(&acc, NULL, acceptor, (void *)(intptr_t)lfd);
	log_info("signer", "listening on %s", cfg->signer_socket);
	while (sigwait(set, &sig) == 0 && sig == SIGHUP)
		load_keys(cfg->signer_keys_dir, 0);
	atomic_store(&stopping, 1);
	pthread_join(acc, NULL);
	for (int i = 0; i < (SIGNER_IO_TIMEOUT_MS + 1000) / 50 && atomic_load(&active) > 0; i++)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
}

int main(int argc, char **argv)
{
	struct config cfg;
	const char *path = NULL;
	char err[1024] = "";
	sigset_t set;
	int rc = 1, lfd = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--version") == 0)
			return printf("certdesk-signer %s\n", CERTDESK_VERSION) < 0;
		else
			return usage(strcmp(argv[i], "--help") == 0 ? stdout : stderr,
				     strcmp(argv[i], "--help") != 0);
	}
	log_setup("certdesk-signer", 1); /* one JSON object per line on standard error (util/log.h) */
	if (config_load(&cfg, path, err, sizeof(err)) != 0) {
		log_error("signer", "configuration: %s", err);
		config_free(&cfg);
		return 2;
	}
	/* Every thread inherits the mask: only sigwait in run() sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
#ifndef SANITIZED
	prctl(PR_SET_DUMPABLE, 0); /* no core file or ptrace of the process holding the keys */
#endif
	if (fs_mkdir_parent(cfg.signer_log, 0750) != 0 ||
	    siglog_open(cfg.signer_log, err, sizeof(err)) != 0) {
		log_error("signer", "%s", err[0] != '\0' ? err : "cannot create the log's directory");
		goto out;
	}
	load_keys(cfg.signer_keys_dir, 1);
	if ((lfd = open_socket(cfg.signer_socket, err, sizeof(err))) < 0 ||
	    drop_privileges(&cfg, err, sizeof(err)) != 0 || confine(&cfg, err, sizeof(err)) != 0) {
		log_error("signer", "%s", err);
		goto out;
	}
	run(&cfg, lfd, &set);
	unlink(cfg.signer_socket);
	log_info("signer", "stopped");
	rc = 0;
out:
	if (lfd >= 0)
		close(lfd);
	serve_keys_swap(NULL);
	keys_pkcs11_shutdown();
	siglog_close();
	config_free(&cfg);
	return rc;
}
