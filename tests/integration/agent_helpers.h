/* certdesk-agent machinery of the integration tests that drive the real agent (test_production_agent,
 * test_renewal_agent): its configuration (the 32-bit software SKF key and SoftHSM2, tokens in the
 * test's directory), start / SIGKILL / stop, HTTP calls to it from certdeskd's origin, the software
 * key's tool, and the producer's page's steps (web/src/production.ts) that produce an order onto a key.
 * Failures are cmocka failures. Call agent_helpers_init first. */
#ifndef CERTDESK_TEST_AGENT_HELPERS_H
#define CERTDESK_TEST_AGENT_HELPERS_H
#include <jansson.h>
#include <openssl/x509.h>
#include <sys/types.h>

#include "harness.h"

struct db;

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define TRANSPORT_SO_PIN "11223344" /* the SO PIN the "vendor's" SoftHSM token ships with */
#define SOFTSKF_TOOL BUILD_DIR "/src/softskf/certdesk-softskf-tool"

/* A complete order form of the Yingtan project (JSON text). */
#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\",\"handler_email\":\"zhang@example.com\",\"invoice_email\":"                             \
	"\"fp@example.com\",\"recipient_name\":\"王五\",\"recipient_mobile\":\"13700137000\","                        \
	"\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

extern struct srv agent_srv;   /* the agent (only its base and port are used, by http_do) */
extern char agent_skfdir[300]; /* the software SKF keys' directory (CERTDESK_SOFTSKF_DIR) */
/* agent_config loads SoftHSM2 too (default 1; SoftHSM2 always lists a free, uninitialised token) */
extern int agent_with_pkcs11;

/* --- small helpers --- */
/* Returns the string field name of j, or "" (never NULL). */
const char *jstr(json_t *j, const char *name);
/* Runs a shell command; its output (stdout and stderr) goes to *out when not NULL (caller frees).
 * Returns the exit status. */
__attribute__((format(printf, 2, 3))) int sh(char **out, const char *fmt, ...);
/* Returns the base64 DER of the PEM certificate pem (caller frees). */
char *der_of_pem(const char *pem);
/* Returns the certificate of base64 DER b64 (caller frees). */
X509 *cert_of_b64(const char *b64);
/* Returns the upper-case hex serial of the certificate of base64 DER b64 (static buffer). */
const char *serial_of_b64(const char *b64);

/* --- the agent --- */
/* Remembers certdeskd (its base is the agent's allowed origin, its dir holds the agent's files) and the
 * producer's client (the production steps' staff). */
void agent_helpers_init(struct srv *server, struct client *producer);
/* Writes the agent's configuration and SoftHSM2's in the server's directory. */
void agent_config(void);
/* Starts certdesk-agent and polls GET /v1/status (bounded) until it answers. Returns 0 or -1. */
int agent_start(void);
/* Kills the agent with SIGKILL (a crash) and reaps it. */
void agent_kill9(void);
/* Stops the agent with SIGTERM; returns 0 when it exited 0 (so without leaks under ASan). */
int agent_stop(void);
/* 1 when a PIN member appears in the agent's logs (they must never hold one). */
int agent_logs_hold_pin(void);
/* Sends method path to the agent with Origin orig (NULL: none), the session (NULL: none) and body
 * (NULL: none). Returns the status; the parsed reply in *out when out is not NULL (caller decrefs);
 * the raw reply in *keep when keep is not NULL (caller frees). */
long agent_send(const char *orig, const char *method, const char *path, const char *session, const char *body,
		json_t **out, struct resp *keep);
/* An agent request from certdeskd's origin with a JSON body made from fmt (NULL: no body). */
__attribute__((format(printf, 5, 6))) long ag(const char *method, const char *path, const char *session,
					      json_t **out, const char *fmt, ...);
/* Returns the agent's key with serial (new reference) or NULL. */
json_t *agent_key(const char *serial);
/* Returns the number of keys the agent lists. */
size_t agent_key_count(void);
/* `certdesk-agent list --json` (new reference). */
json_t *agent_list_json(void);
/* Makes a blank software SKF key name (its serial too). */
void softkey_create(const char *name);
/* Makes a SoftHSM2 token labelled label as a vendor ships it (SO PIN TRANSPORT_SO_PIN, user PIN
 * 556677) and restarts the agent (SoftHSM2 reads its tokens when loaded). Returns its serial as the agent
 * lists it (static buffer), "" when not listed. */
const char *softhsm_token(const char *label);

/* --- certdeskd --- */
/* Creates an order of oc of key_type put into production (payment and paper are other tests'). */
void producing_order(struct db *db, struct client *oc, const char *key_type, char no[32]);

/* --- the producer's page's steps (web/src/production.ts), one function each --- */
enum step {
	ST_START,
	ST_INIT,
	ST_LOGIN,
	ST_KEYPAIR,
	ST_CSR,
	ST_ISSUE,
	ST_WRITE_SIGN,
	ST_ENC_KEY,
	ST_WRITE_ENC,
	ST_SEALS,
	ST_READBACK,
	ST_COMPLETE
};

struct prod {
	char no[32];     /* the order */
	char serial[64]; /* the key's serial as certdeskd recorded it */
	char id[128];    /* the agent's key id */
	char label[40];  /* the token label certdeskd chose (the order number) */
	int blank;       /* the key was blank when picked */
	json_t *start;   /* certdeskd's Production reply (PINs) */
	char session[40];
	char key_ref[64];
	json_t *pairs; /* a resumed production: the key pairs on the key */
	char *csr;
	char *der[2];     /* issued sign, enc (base64 DER) */
	json_t *readback; /* [{usage, der}] */
	json_t *seals;    /* a main key: the seals read back, [{type, esl}] */
	json_t *done;     /* the complete reply */
};

void prod_init(struct prod *p, const char *no, const char *serial);
void prod_free(struct prod *p);
/* The order's profile is dual (sign + enc); the production resumed a key already started. */
int prod_dual(const struct prod *p);
int prod_resumed(const struct prod *p);
/* The key as the agent lists it, then POST .../production with what it reports. */
long step_start(struct prod *p, json_t **reply);
/* Init with certdeskd's PINs (a blank key; a resumed one is already initialised). */
long step_init(struct prod *p, json_t **reply);
/* Logs in with pin; the session in p->session. */
long login_pin(struct prod *p, const char *pin, json_t **reply);
long step_login(struct prod *p);
/* The key pair: at a resume the one whose public key is in the certificate issued; else a new one. */
long step_keypair(struct prod *p, json_t **reply);
long step_csr(struct prod *p);
/* POST .../certificates with p->csr; keeps what was issued. */
long step_issue(struct prod *p);
/* PUT the sign (enc = 0) or enc certificate issued. */
long step_write(struct prod *p, int enc, json_t **reply);
/* GET enc-key?ulong=32 from certdeskd, POST it to the agent. */
long step_enc_key(struct prod *p);
/* GET /v1/keys: the certificates of the key pair, as [{usage, der}] in p->readback. */
long step_readback(struct prod *p);
/* A main key's seals: staff's pictures, made by certdeskd, written as data objects, read back. */
void step_seals(struct prod *p);
/* POST .../production/complete with the key's serial and list. */
long complete_with(struct prod *p, json_t *list, json_t **reply);
/* Runs the page's steps from the start up to and including last, each one asserted successful. */
void produce(struct prod *p, enum step last);
/* Returns the read-back certificate of usage (base64 DER). */
const char *readback_of(const struct prod *p, const char *usage);

#endif
