/* libFuzzer driver for src/config/config.c: the input is an INI file given to config_load.
 * The file is a memfd reached through /proc/self/fd (a temp file in /tmp if that fails), one per
 * process, rewritten for each input. Checks that a loaded configuration keeps every bound. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"

extern char **environ;

static char path[64];
static int fd = -1;

/* Removes the temp file at exit (memfds go away by themselves). */
static void cleanup(void)
{
	if (strncmp(path, "/tmp/", 5) == 0)
		unlink(path);
}

/* Clears CERTDESK_* from the environment and opens the file the inputs are written to. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (char **e = environ; *e != NULL;) {
		if (strncmp(*e, "CERTDESK_", 9) == 0) {
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
			unsetenv(name);
			e = environ;
		} else {
			e++;
		}
	}
	fd = memfd_create("fuzz_config.ini", 0);
	if (fd >= 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	} else {
		snprintf(path, sizeof(path), "/tmp/certdesk-fuzz-config-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0) {
			perror("fuzz_config: mkstemp");
			abort();
		}
		atexit(cleanup);
	}
	return 0;
}

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz_config: %s failed\n", #cond);                                  \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* Checks that a successfully loaded configuration keeps the table's bounds. */
static void check_loaded(const struct config *c)
{
	const char *strs[] = {c->listen_address,    c->web_root,           c->public_url,
			      c->sqlite_path,       c->postgres_conninfo,  c->data_dir,
			      c->access_log,        c->sim_listen_address, c->sim_url,
			      c->dev_captcha_answer};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		CHECK(strs[i] != NULL && strlen(strs[i]) <= 4096);
	CHECK(c->listen_address[0] != '\0' && strlen(c->listen_address) <= 255);
	CHECK(c->sqlite_path[0] != '\0' && c->data_dir[0] != '\0');
	CHECK(c->port >= 0 && c->port <= 65535);
	CHECK(c->sim_port >= 0 && c->sim_port <= 65535);
	CHECK(c->threads >= 1 && c->threads <= 256);
	CHECK(c->max_body_bytes >= 1024 && c->max_body_bytes <= (64 << 20));
	CHECK(c->shutdown_timeout_s >= 1 && c->shutdown_timeout_s <= 600);
	CHECK(c->backend == DB_BACKEND_SQLITE || c->backend == DB_BACKEND_POSTGRES);
	CHECK(c->backend != DB_BACKEND_POSTGRES || c->postgres_conninfo[0] != '\0');
	CHECK(c->pool_size >= 1 && c->pool_size <= 256);
	CHECK(c->busy_timeout_ms >= 0 && c->busy_timeout_ms <= 600000);
	CHECK(c->idle_timeout_min >= 1 && c->idle_timeout_min <= 24 * 60);
	CHECK(c->absolute_timeout_h >= 1 && c->absolute_timeout_h <= 24 * 30);
	CHECK(c->sms_provider == SMS_PROVIDER_OUTBOX);
	CHECK(c->dev_expose_outbox == 0 || c->dev_expose_outbox == 1);
	CHECK(c->dev_captcha_answer != NULL && strlen(c->dev_captcha_answer) <= 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	int rc;

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	rc = config_load(&cfg, path, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		check_loaded(&cfg);
	} else {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(err[0] != '\0' && err[0] != 'x');
	}
	config_free(&cfg);
	CHECK(cfg.listen_address == NULL && cfg.postgres_conninfo == NULL);
	return 0;
}
