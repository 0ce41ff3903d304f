/* The seccomp profiles (src/util/seccomp.c), each tried in a child process: certdeskd's and the
 * signer's lists allow threads but neither fork nor execve (certdeskd asks its decode launcher for
 * helpers); the launcher's list starts a program but has no network. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/seccomp.h"

extern char **environ;

static void *nothing(void *arg)
{
	return arg;
}

/* In the child: the profile's filter, then the probes. Exit codes: 0 as expected, else which probe. */
static int confined(enum seccomp_profile p)
{
	char err[256];
	char *argv[] = {"true", NULL};
	pthread_t t;
	pid_t pid;
	int st = 0;

	if (seccomp_install(p, err, sizeof(err)) != 0)
		return 1;
	if (p == SECCOMP_LAUNCHER) {
		if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EACCES)
			return 2; /* no network */
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 3; /* starts a program and reaps it */
		return 0;
	}
	if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 4; /* threads are allowed */
	execve("/bin/true", argv, environ);
	if (errno != EPERM)
		return 5; /* execve refused (it returned at all: it failed) */
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		return 6; /* fork refused */
	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
		return 7; /* and so is spawning a program */
	return 0;
}

/* Runs confined(p) in a child and returns its exit code (-1: killed). */
static int try_profile(enum seccomp_profile p)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(confined(p)); /* _exit: no exit-time work under the filter */
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_server_cannot_exec_or_fork(void **state)
{
	(void)state;
	assert_int_equal(try_profile(SECCOMP_SERVER), 0);
}

static void test_signer_cannot_exec_or_fork(void **state)
{
	(void)state;
	assert_int_equal(try_profile(SECCOMP_SIGNER), 0);
}

static void test_launcher_spawns_without_network(void **state)
{
	(void)state;
	assert_int_equal(try_profile(SECCOMP_LAUNCHER), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_cannot_exec_or_fork),
		cmocka_unit_test(test_signer_cannot_exec_or_fork),
		cmocka_unit_test(test_launcher_spawns_without_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
