/* Integration-test harness: starts the real certdeskd on a free loopback port with a temporary
 * database (SQLite file, or a fresh PostgreSQL database when CERTDESK_TEST_BACKEND=postgres and
 * CERTDESK_TEST_PG_CONNINFO points at a server), and talks HTTP to it with libcurl. */
#ifndef CERTDESK_TEST_HARNESS_H
#define CERTDESK_TEST_HARNESS_H
#include <stddef.h>
#include <jansson.h>
#include <sys/types.h>
#include <stdlib.h>

#include "store/pii.h"

struct config;

struct srv {
	pid_t pid;
	int port;
	char dir[256];   /* temporary directory: database, files, logs */
	char base[64];   /* http://127.0.0.1:PORT */
	char dbname[64]; /* PostgreSQL database created for this server */
	char pg_conninfo[1024];
	char web_root[300]; /* a small web root with index.html and one asset */
	pid_t sim_pid;      /* certdesk-sim, when started with harness_start_sim */
	char sim_base[64];
	int sim_smtp_port; /* its SMTP receiver; certdeskd's [mail] smtp_url points there */
	pid_t signer_pid;  /* certdesk-signer, when started with harness_start_ca */
};

struct resp {
	long status;
	char *body;
	size_t len;
	char *headers; /* raw response headers */
};

/* Returns "sqlite" or "postgres" from CERTDESK_TEST_BACKEND. */
const char *harness_backend(void);
/* Prepares s: temp dir, web root, database (not started). Returns 0 or -1. */
int harness_prepare(struct srv *s);
/* Sets the CERTDESK_* variables for s in this process's environment (for spawned programs and for
 * config_load in the test itself). */
void harness_env(const struct srv *s);
/* Prepares s and starts certdeskd, waiting until /healthz answers. Returns 0 or -1. */
int harness_start(struct srv *s);
/* Starts certdesk-sim alone (no certdeskd, no database) on s's port, after harness_prepare's
 * choices: the test key pairs and every provider endpoint of the configuration point at it, its mail
 * server on a free port; waits until it answers (s->pid is the simulator). Returns 0 or -1. */
int harness_sim_alone(struct srv *s);
/* Stops a simulator started with harness_sim_alone (SIGTERM; it must exit 0, so without leaks under
 * ASan), shows its output when it did not, removes the directory. Returns 0 or -1. */
int harness_sim_alone_stop(struct srv *s);
/* Kills certdeskd with SIGKILL (no clean stop: a crash) and waits for it. Returns 0 or -1. */
int harness_kill(struct srv *s);
/* Starts certdeskd again after harness_kill, same settings and database; waits until healthy. */
int harness_restart(struct srv *s);
/* Like harness_start, with certdesk-sim on another free port first and certdeskd's providers
 * pointed at it. harness_cleanup stops both. */
int harness_start_sim(struct srv *s);
/* Runs `certdesk ca init` into s's keys directory ([signer] keys_dir = <dir>/ca-keys; a no-op for
 * the algorithms done already, e.g. by init --demo) and starts certdesk-signer on <dir>/signer.sock,
 * waiting until it answers. Returns 0, 77 when certdesk-signer is not built, or -1. */
int harness_start_ca(struct srv *s);
/* Kills certdesk-signer with SIGKILL (it is "down") and waits for it. Returns 0 or -1. */
int harness_signer_kill(struct srv *s);
/* Sends SIGTERM and waits; returns the exit status (or 128+signal), or -1 on a time-out. */
int harness_stop(struct srv *s);
/* Removes the temporary directory and database of s. */
void harness_cleanup(struct srv *s);
/* Runs a program (NULL-terminated argv) with the current environment; stdout/stderr of the
 * child are captured into out (may be NULL, caller frees). Returns the exit status. */
int harness_run(char *const argv[], const char *stdin_text, char **out);
/* Returns a free loopback TCP port. */
int harness_free_port(void);
/* Path of a built program (certdeskd, certdesk, certdesk-sim). */
const char *harness_bin(const char *name);

/* Performs a request; headers is a NULL-terminated list of "Name: value" (may be NULL).
 * Returns 0 with *r filled (free with resp_free), or -1 on a transport error. */
int http_do(const struct srv *s, const char *method, const char *path, const char *body, size_t len,
	    const char *const *headers, struct resp *r);
/* Returns the value of response header name (case-insensitive) in a static buffer, or NULL. */
const char *resp_header(const struct resp *r, const char *name);
void resp_free(struct resp *r);
/* Sends a request with an optional JSON body to the certdesk-sim started with s (harness_start_sim);
 * returns the HTTP status (-1 on a transport error) and, when json is not NULL, the parsed reply
 * (NULL when it is not JSON; caller decrefs). */
long sim_do(const struct srv *s, const char *method, const char *path, const char *body, json_t **json);

/* A browser-like client: a cookie jar, the CSRF token of its session, JSON bodies. */
struct client {
	const struct srv *s;
	char jar[320];
	char csrf[80];
	char source[48]; /* local address to connect from, e.g. "127.0.0.2" ("": the default) */
};

/* Starts a client with an empty jar and fetches its session (GET /api/v1/session). */
void client_init(struct client *c, const struct srv *s, const char *name);
/* Like client_init, for a client connecting from the local address source (127.0.0.x: another
 * client address for the server, on the same machine). */
void client_init_from(struct client *c, const struct srv *s, const char *name, const char *source);
/* Sends method path with a JSON body (may be NULL), the cookies and the CSRF token; returns the
 * status (or -1) and parses the reply into *json when json is not NULL (caller decrefs). A reply
 * carrying "csrf_token" updates the client's token. */
long client_do(struct client *c, const char *method, const char *path, const char *body, json_t **json);
/* Sends multipart/form-data with method (POST or PUT): text fields as NULL-terminated name, value pairs, and
 * a part "file" of len bytes named filename (data NULL: no file part). Returns the status; *json as
 * client_do. */
long client_upload(struct client *c, const char *method, const char *path, const char *const *fields,
		   const char *filename, const void *data, size_t len, json_t **json);
/* Fetches a new captcha for the client's session (the test server's answer is always ABCDE). */
void client_captcha(struct client *c);
/* Returns the newest SMS code sent to mobile, from the development outbox (static buffer). */
const char *client_sms_code(struct client *c, const char *mobile);
/* Returns the value of the session cookie in the jar (static buffer), or "". */
const char *client_cookie(const struct client *c);
/* Registers an organisation (unit name, USCC, handler mobile, password Secret-2026) through the API
 * and logs the client in as it. Returns 0 or -1. */
int client_register_login(struct client *c, const char *name, const char *uscc, const char *mobile);
/* Logs the client in as staff username (password Demo-2026). Returns 0 or -1. */
int client_staff_login(struct client *c, const char *username);
/* Returns a w x h PNG (a scan-like page with a few lines) in a malloc'd buffer; *len gets its size. */
unsigned char *harness_png(int w, int h, size_t *len);
/* Returns the error code of a reply ("" when none). */
const char *error_code(json_t *j);

/* The keyed hash the database holds in place of a mobile (sms_codes.mobile, outbox.recipient_hash:
 * personal data at rest, store/pii.h), under the key of the test's server ([pii] key_file from the
 * environment, see harness_env). Static buffer. */
static inline const char *harness_pii_hash(const char *mobile)
{
	static char hash[PII_HASH_LEN + 1];
	char why[256];

	if (pii_init(getenv("CERTDESK_PII_KEY_FILE"), why, sizeof(why)) != PII_OK || pii_hash(mobile, hash) != 0)
		hash[0] = '\0';
	return hash;
}

#endif
