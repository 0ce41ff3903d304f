/* certdesk-agent: the local program between the platform's web pages and USB keys (issue 13). Its
 * parts: config.c (the INI file), checks.c (Origin and Host checks), agent.c (the loaded modules and
 * the sessions), http_agent.c (the HTTP API of /work/briefs/agent-contract.md, docs in README.md
 * "certdesk-agent"), csr.c (PKCS#10 signed on the key), token_*.c (the backends, token.h), main.c. */
#ifndef CERTDESK_AGENT_AGENT_H
#define CERTDESK_AGENT_AGENT_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "agent/token.h"

#define AGENT_DEFAULT_PORT 21088
#define AGENT_MAX_BODY (256 * 1024)
#define AGENT_SESSION_IDLE_S 600
#define AGENT_MAX_MODULES 16

struct agent_config {
	int port;
	char origins[1024];       /* comma-separated, exact match */
	char p11_modules[2048];   /* comma-separated paths */
	int p11kit;               /* also load p11-kit's registered modules */
	char skf_libraries[2048]; /* comma-separated path:bits */
	unsigned char devauth_key[16];
	char p11_transport_so_pin[64]; /* the SO PIN PKCS#11 tokens ship with ("": none) */
	char access_log[512];          /* "" none, "-" stderr */
	int session_idle_s;            /* idle expiry of sessions, AGENT_SESSION_IDLE_S by default */
	char driver_dirs[1024];        /* where other CA vendors' drivers are looked for (drivers.h) */
};

/* Sets the defaults (port 21088, origin http://127.0.0.1:8080, devauth key 1234567812345678). */
void agent_config_defaults(struct agent_config *c);
/* Reads path over the defaults. Returns 0, or -1 with a message in err ("file:line: ..."). */
int agent_config_load(const char *path, struct agent_config *c, char *err, size_t errlen);

/* Returns 1 when origin is exactly one of the comma-separated origins. */
int agent_origin_allowed(const char *origins, const char *origin);
/* Returns 1 when host is 127.0.0.1:<port>, localhost:<port> or [::1]:<port> (DNS rebinding). */
int agent_host_allowed(const char *host, int port);
/* Returns 1 when id is a well-formed key id ([A-Za-z0-9._:-], 1..96). */
int agent_key_id_valid(const char *id);

struct agent;

/* Loads the modules of c. Never fails: a module that does not load is reported by status. */
struct agent *agent_new(const struct agent_config *c);
/* Adds a module (taken over); for tests and the fuzz driver's fake token. */
void agent_add_module(struct agent *a, struct token_module *m);
/* Logs out every session, unloads the modules and frees a. */
void agent_free(struct agent *a);
/* GET /v1/status's body (caller decrefs); its other_drivers are scanned at most once a minute. */
json_t *agent_status_json(struct agent *a);
/* The keys of every module (caller decrefs). */
json_t *agent_keys_json(struct agent *a);
/* Returns the module whose key ids start like id, or NULL. */
struct token_module *agent_module_of(struct agent *a, const char *id);
/* Writes the prefix of m's key ids ("p11-1-", "skf0:") into out (16 bytes). */
void agent_id_prefix(const struct token_module *m, char out[16]);

/* Sessions (random 32 hex, bound to a key and an Origin, session_idle_s idle expiry). */
/* Creates a session for key id of module m from origin into out (33 bytes). */
void agent_session_new(struct agent *a, struct token_module *m, const char *id, const char *origin,
		       char out[33]);
/* Returns 1 when session s is live for key id and origin (and refreshes it); 0 too when the key was
 * pulled out since the login (even when plugged back in): its sessions end, the page logs in again. */
int agent_session_check(struct agent *a, const char *s, const char *id, const char *origin);
/* Ends session s of key id (logging the key out when it was the last one). */
void agent_session_end(struct agent *a, const char *s, const char *id);
/* Ends every session of key id (after init, wipe). */
void agent_sessions_drop_key(struct agent *a, const char *id);
/* Takes and releases the agent's lock: one token operation at a time. */
void agent_lock(struct agent *a);
void agent_unlock(struct agent *a);
/* The configuration the agent was made with. */
const struct agent_config *agent_cfg(const struct agent *a);

struct http_server;
/* Starts the HTTP API on 127.0.0.1:port (0: any free port, *port_out gets it). Returns NULL with err. */
struct http_server *agent_http_start(struct agent *a, int port, int *port_out, char *err, size_t errlen);

/* Builds a PKCS#10 request for key pair ref of key id, signed on the key; subject as "CN=a,O=b" (NULL:
 * CN=certdesk). Returns 0 with *pem (caller frees) or a tok_err (TOK_BAD for a bad subject). */
int agent_csr(struct token_module *m, const char *id, const char *ref, const char *subject, char **pem,
	      struct tok_result *res);
/* Signs data with key pair ref; *sig DER (RSA: PKCS#1 v1.5 block). Returns 0 or a tok_err. */
int agent_sign(struct token_module *m, const char *id, const char *ref, const unsigned char *data, size_t len,
	       unsigned char **sig, size_t *siglen, struct tok_result *res);

/* `certdesk-agent list [--json]`: prints the keys to f. Returns the exit status. */
int agent_list(struct agent *a, int as_json, FILE *f);

#endif
