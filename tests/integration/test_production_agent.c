/* Production onto a USB key end to end (issue 13): the real certdeskd and certdesk-signer
 * (harness_start_ca) and the real certdesk-agent on free loopback ports; the agent loads the 32-bit
 * software SKF key and SoftHSM2 (tokens in the test's directory) and answers certdeskd's origin. The
 * test runs the producer's page's steps (web/src/production.ts) in C over HTTP: POST production →
 * agent init → login → key pair → CSR → POST certificates → write sign → enc-key (dual) → write enc →
 * the main key's seals (made by certdeskd, written as data objects, read back) → read back → complete.
 *  1. an SM2 dual main key on the software SKF key: produced, `certdesk-agent list --json` shows both
 *     certificates, the read-back signing certificate verifies against the SM2 CA chain (ID set), the
 *     agent's challenge signature verifies with the certificate's key;
 *  2. a secondary key on SoftHSM (P-256): produced; pkcs11-tool lists private key and certificate
 *     with one ID and label; `openssl verify -x509_strict` of the read-back certificate;
 *  3. crash and resume: the agent killed (SIGKILL) between issuance and writing, the key pulled out
 *     mid-write (410, the order still producing), a different key after a half-made one (the first's
 *     certificates revoked as superseded, the first key wiped with previous_key.so_pin): each resumes
 *     or restarts to produced with exactly one signing certificate issued for the key;
 *  4. bad cases, nothing recorded as produced: a key in use by another order (key_in_use), a key with
 *     foreign content (key_not_blank), a wrong PIN (401 with retries_left), a token that refuses key
 *     generation, a certificate for another key (cert_key_mismatch) and a read-back that differs
 *     (readback_mismatch), another web origin (403). */
#define _GNU_SOURCE /* vasprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "pki_helpers.h"
#include "seal_png.h"
#include "store/store.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define TRANSPORT_SO_PIN "11223344" /* the SO PIN the "vendor's" SoftHSM token ships with */
#define TOOL BUILD_DIR "/src/softskf/certdesk-softskf-tool"

static struct srv S; /* certdeskd and the signer */
static struct srv A; /* the agent (only its base is used, by http_do) */
static pid_t agent_pid;
static char skfdir[300];
static struct config cfg;
static struct db *db;
static struct client org, org2, org3, producer;
static int skipped;
/* cmocka reports a failed group teardown but exits 0: main returns 1 then (certdeskd's or the agent's
 * leaks, a PIN in the agent's logs) */
static int teardown_failed;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* --- small helpers --- */

/* Returns the string field name of j, or "" (never NULL). */
static const char *jstr(json_t *j, const char *name)
{
	const char *s = json_string_value(json_object_get(j, name));
	return s != NULL ? s : "";
}

/* Runs a shell command; its output (stdout and stderr) goes to *out when not NULL (caller frees).
 * Returns the exit status. */
__attribute__((format(printf, 2, 3))) static int sh(char **out, const char *fmt, ...)
{
	char *cmd = NULL, buf[4096];
	size_t len = 0, n;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	assert_non_null(cmd);
	p = popen(cmd, "r");
	free(cmd);
	assert_non_null(p);
	if (out != NULL)
		*out = calloc(1, 1);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		if (out != NULL) {
			*out = realloc(*out, len + n + 1);
			memcpy(*out + len, buf, n);
			len += n;
			(*out)[len] = '\0';
		}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Returns the base64 DER of the PEM certificate pem (caller frees). */
static char *der_of_pem(const char *pem)
{
	const char *p = strstr(pem, "-----\n"), *e = strstr(pem, "-----END");
	char *out = calloc(1, strlen(pem) + 1), *o = out;

	assert_non_null(p);
	assert_non_null(e);
	for (p += 6; p < e; p++)
		if (*p != '\n' && *p != '\r')
			*o++ = *p;
	return out;
}

/* Returns the certificate of base64 DER b64 (caller frees). */
static X509 *cert_of_b64(const char *b64)
{
	size_t len = strlen(b64);
	unsigned char *der = malloc(len);
	const unsigned char *p = der;
	int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len);
	X509 *x;

	assert_true(n > 0);
	n -= (len >= 1 && b64[len - 1] == '=') + (len >= 2 && b64[len - 2] == '=');
	x = d2i_X509(NULL, &p, n);
	free(der);
	assert_non_null(x);
	return x;
}

/* --- the agent --- */

/* Sends method path to the agent with Origin orig (NULL: none), the session (NULL: none) and body
 * (NULL: none). Returns the status; the parsed reply in *out when out is not NULL (caller decrefs). */
static long agent_send(const char *orig, const char *method, const char *path, const char *session,
		       const char *body, json_t **out, struct resp *keep)
{
	char oh[160], sh_[80];
	const char *h[4] = {NULL};
	struct resp r;
	int n = 0;
	long st;

	if (orig != NULL) {
		snprintf(oh, sizeof(oh), "Origin: %s", orig);
		h[n++] = oh;
	}
	if (session != NULL) {
		snprintf(sh_, sizeof(sh_), "X-Agent-Session: %s", session);
		h[n++] = sh_;
	}
	if (body != NULL)
		h[n++] = "Content-Type: application/json";
	if (http_do(&A, method, path, body, body != NULL ? strlen(body) : 0, h, &r) != 0)
		return -1;
	st = r.status;
	if (out != NULL)
		*out = json_loads(r.body, 0, NULL);
	if (keep != NULL)
		*keep = r;
	else
		resp_free(&r);
	return st;
}

/* An agent request from certdeskd's origin with a JSON body made from fmt (NULL: no body). */
__attribute__((format(printf, 5, 6))) static long ag(const char *method, const char *path,
						     const char *session, json_t **out, const char *fmt, ...)
{
	char *body = NULL;
	long st;

	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&body, fmt, ap) < 0)
			body = NULL;
		va_end(ap);
		assert_non_null(body);
	}
	st = agent_send(S.base, method, path, session, body, out, NULL);
	free(body);
	return st;
}

/* Starts certdesk-agent on <S.dir>/agent.ini and polls GET /v1/status (bounded) until it answers. */
static int agent_start(void)
{
	char conf[300], logf[300];
	const char *bin = harness_bin("certdesk-agent");

	snprintf(conf, sizeof(conf), "%s/agent.ini", S.dir);
	snprintf(logf, sizeof(logf), "%s/agent.log", S.dir);
	agent_pid = fork();
	if (agent_pid == 0) {
		if (freopen(logf, "a", stderr) == NULL)
			_exit(126);
		execl(bin, "certdesk-agent", "--config", conf, "serve", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		int st = 0;
		if (agent_send(NULL, "GET", "/v1/status", NULL, NULL, NULL, NULL) == 200)
			return 0;
		if (waitpid(agent_pid, &st, WNOHANG) == agent_pid)
			break;
		usleep(25000);
	}
	sh(NULL, "cat %s >&2", logf);
	return -1;
}

/* Kills the agent with SIGKILL (a crash) and reaps it. */
static void agent_kill9(void)
{
	int st = 0;

	assert_int_equal(kill(agent_pid, SIGKILL), 0);
	assert_int_equal(waitpid(agent_pid, &st, 0), agent_pid);
	agent_pid = 0;
}

/* Stops the agent with SIGTERM; returns 0 when it exited 0 (so without leaks under ASan). */
static int agent_stop(void)
{
	int st = 0;

	if (agent_pid <= 0)
		return 0;
	kill(agent_pid, SIGTERM);
	waitpid(agent_pid, &st, 0);
	agent_pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "certdesk-agent exit status %d; its log:\n", st);
	sh(NULL, "cat %s/agent.log >&2", S.dir);
	return -1;
}

/* Returns the agent's key with serial (new reference) or NULL. */
static json_t *agent_key(const char *serial)
{
	json_t *j = NULL, *k, *found = NULL;
	size_t i;

	assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(jstr(k, "serial"), serial) == 0)
			found = json_incref(k);
	json_decref(j);
	return found;
}

/* Makes a blank software SKF key name (its serial too). */
static void softkey_create(const char *name)
{
	assert_int_equal(
		sh(NULL, "%s create %s %s --serial %s --label blank >/dev/null", TOOL, skfdir, name, name),
		0);
}

/* --- certdeskd --- */

/* Creates an order of oc of key_type put into production (payment and paper are other tests'). */
static void producing_order(struct client *oc, const char *key_type, char no[32])
{
	char body[2048];
	json_t *j = NULL;
	struct db_conn *dc;

	snprintf(body, sizeof(body),
		 "{\"project_code\":\"yingtan\",\"key_type\":\"%s\",\"form\":" FULL_FORM "}", key_type);
	assert_int_equal(client_do(oc, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", jstr(j, "order_no"));
	json_decref(j);
	dc = db_acquire(db);
	assert_int_equal(
		db_exec(dc,
			"UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no = ?",
			DB_ARGS(DB_TEXT(no)), NULL),
		DB_OK);
	db_release(dc);
}

/* Returns the order's state and its key's state ("" when none) as staff see them. */
static void order_states(const char *no, char state[32], char key_state[32])
{
	char path[128];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	snprintf(state, 32, "%s", jstr(j, "state"));
	snprintf(key_state, 32, "%s", jstr(json_object_get(j, "usb_key"), "state"));
	json_decref(j);
}

/* Asserts that order no is still producing with its key not written. */
static void still_producing(const char *no)
{
	char st[32], ks[32];

	order_states(no, st, ks);
	assert_string_equal(st, "producing");
	assert_string_not_equal(ks, "written");
}

/* Counts the order's certificates of kind (sign or enc) with status (NULL: any). */
static int certs_of_order(const char *no, const char *kind, const char *status)
{
	char path[160];
	json_t *j = NULL, *it;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	json_array_foreach (json_object_get(j, "items"), i, it)
		n += strcmp(jstr(it, "kind"), kind) == 0 &&
		     (status == NULL || strcmp(jstr(it, "status"), status) == 0);
	json_decref(j);
	return n;
}

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

static void prod_init(struct prod *p, const char *no, const char *serial)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->no, sizeof(p->no), "%s", no);
	snprintf(p->serial, sizeof(p->serial), "%s", serial);
}

static void prod_free(struct prod *p)
{
	json_decref(p->start);
	json_decref(p->pairs);
	json_decref(p->readback);
	json_decref(p->seals);
	json_decref(p->done);
	free(p->csr);
	free(p->der[0]);
	free(p->der[1]);
	memset(p, 0, sizeof(*p));
}

static int dual(const struct prod *p)
{
	return json_is_true(json_object_get(p->start, "dual"));
}

static int resumed(const struct prod *p)
{
	return json_is_true(json_object_get(p->start, "resumed"));
}

/* The key as the agent lists it, then POST .../production with what it reports. */
static long step_start(struct prod *p, json_t **reply)
{
	json_t *k = agent_key(p->serial), *j = NULL;
	char path[128], body[512];
	long st;

	assert_non_null(k);
	snprintf(p->id, sizeof(p->id), "%s", jstr(k, "id"));
	p->blank = json_is_true(json_object_get(k, "blank"));
	snprintf(body, sizeof(body),
		 "{\"kind\":\"%s\",\"serial\":\"%s\",\"model\":\"%s\",\"manufacturer\":\"%s\"%s}",
		 jstr(k, "kind"), p->serial, jstr(k, "model"), jstr(k, "manufacturer"),
		 json_integer_value(json_object_get(k, "ulong_bits")) == 32 ? ",\"ulong_bits\":32" : "");
	json_decref(k);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production", p->no);
	st = client_do(&producer, "POST", path, body, &j);
	if (st == 200 || st == 201) {
		json_decref(p->start);
		p->start = json_incref(j);
		snprintf(p->label, sizeof(p->label), "%s", jstr(j, "label"));
	}
	if (reply != NULL)
		*reply = j;
	else
		json_decref(j);
	return st;
}

/* Init with certdeskd's PINs (a blank key; a resumed one is already initialised). A SoftHSM token
 * gets a new serial at init, so the key is found again by its new label. */
static long step_init(struct prod *p, json_t **reply)
{
	char path[200];
	json_t *k;
	long st;

	if (!p->blank && resumed(p))
		return 200;
	snprintf(path, sizeof(path), "/v1/keys/%s/init", p->id);
	st = ag("POST", path, NULL, reply, "{\"so_pin\":\"%s\",\"user_pin\":\"%s\",\"label\":\"%s\"}",
		jstr(p->start, "so_pin"), jstr(p->start, "user_pin"), p->label);
	if (st == 200 && strncmp(p->id, "p11-", 4) == 0) {
		json_t *j = NULL;
		size_t i;
		assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
		json_array_foreach (json_object_get(j, "keys"), i, k)
			if (strcmp(jstr(k, "label"), p->label) == 0)
				snprintf(p->id, sizeof(p->id), "%s", jstr(k, "id"));
		json_decref(j);
	}
	return st;
}

static long login_pin(struct prod *p, const char *pin, json_t **reply)
{
	char path[200];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/login", p->id);
	st = ag("POST", path, NULL, &j, "{\"pin\":\"%s\"}", pin);
	if (st == 200)
		snprintf(p->session, sizeof(p->session), "%s", jstr(j, "session"));
	if (reply != NULL)
		*reply = j;
	else
		json_decref(j);
	return st;
}

static long step_login(struct prod *p)
{
	return login_pin(p, jstr(p->start, "user_pin"), NULL);
}

/* Returns the certificate of usage certdeskd reported at a resume (NULL: none). */
static json_t *issued_of(const struct prod *p, const char *usage)
{
	json_t *c;
	size_t i;

	json_array_foreach (json_object_get(p->start, "certificates"), i, c)
		if (strcmp(jstr(c, "usage"), usage) == 0)
			return c;
	return NULL;
}

/* The key pair: at a resume the one whose public key is in the certificate issued (or a spare one
 * without certificates); else a new one. */
static long step_keypair(struct prod *p, json_t **reply)
{
	char path[200];
	json_t *sign = issued_of(p, "sign"), *kp, *j = NULL;
	size_t i;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", p->id);
	if (resumed(p)) {
		assert_int_equal(ag("GET", path, p->session, &j, NULL), 200);
		p->pairs = json_incref(json_object_get(j, "keypairs"));
		json_decref(j);
		json_array_foreach (p->pairs, i, kp)
			if ((sign != NULL && strcmp(jstr(kp, "public_key"), jstr(sign, "public_key")) == 0) ||
			    (sign == NULL && json_array_size(json_object_get(kp, "certificates")) == 0 &&
			     strcmp(jstr(kp, "algorithm"), jstr(p->start, "algorithm")) == 0))
				snprintf(p->key_ref, sizeof(p->key_ref), "%s", jstr(kp, "key_ref"));
		if (p->key_ref[0] != '\0' || sign != NULL)
			return p->key_ref[0] != '\0' ? 200 : 404;
	}
	st = ag("POST", path, p->session, &j, "{\"algorithm\":\"%s\"}", jstr(p->start, "algorithm"));
	snprintf(p->key_ref, sizeof(p->key_ref), "%s", jstr(j, "key_ref"));
	if (reply != NULL)
		*reply = j;
	else
		json_decref(j);
	return st;
}

static long step_csr(struct prod *p)
{
	char path[200];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/csr", p->id);
	st = ag("POST", path, p->session, &j, "{\"key_ref\":\"%s\"}", p->key_ref);
	free(p->csr);
	p->csr = strdup(jstr(j, "csr"));
	json_decref(j);
	return st;
}

/* POST .../certificates with p->csr; keeps what was issued. */
static long step_issue(struct prod *p)
{
	char path[160], *text;
	json_t *body = json_pack("{s:s}", "csr", p->csr), *j = NULL;
	long st;

	text = json_dumps(body, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", p->no);
	st = client_do(&producer, "POST", path, text, &j);
	if (st == 200 || st == 201) {
		p->der[0] = der_of_pem(jstr(j, "pem"));
		if (dual(p))
			p->der[1] = der_of_pem(jstr(json_object_get(j, "enc_certificate"), "pem"));
	}
	free(text);
	json_decref(body);
	json_decref(j);
	return st;
}

/* Returns 1 when a resumed key pair already holds a certificate of usage. */
static int already(const struct prod *p, const char *usage)
{
	json_t *kp, *u;
	size_t i, k;

	json_array_foreach (p->pairs, i, kp)
		if (strcmp(jstr(kp, "key_ref"), p->key_ref) == 0)
			json_array_foreach (json_object_get(kp, "certificates"), k, u)
				if (strcmp(json_string_value(u), usage) == 0)
					return 1;
	return 0;
}

static long step_write(struct prod *p, int enc, json_t **reply)
{
	char path[200];

	if (already(p, enc ? "enc" : "sign"))
		return 200;
	assert_non_null(p->der[enc]);
	snprintf(path, sizeof(path), "/v1/keys/%s/certificates", p->id);
	return ag("PUT", path, p->session, reply, "{\"key_ref\":\"%s\",\"usage\":\"%s\",\"der\":\"%s\"}",
		  p->key_ref, enc ? "enc" : "sign", p->der[enc]);
}

/* GET enc-key?ulong=32 from certdeskd, POST it to the agent. */
static long step_enc_key(struct prod *p)
{
	char path[200], *w;
	json_t *j = NULL;
	long st;

	if (already(p, "enc"))
		return 200;
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates/enc-key?ulong=32", p->no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	w = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/keys/%s/enc-key", p->id);
	st = ag("POST", path, p->session, NULL, "{\"key_ref\":\"%s\",\"wrapped\":%s}", p->key_ref, w);
	free(w);
	return st;
}

/* GET /v1/keys: the certificates of the key pair, as [{usage, der}]. */
static long step_readback(struct prod *p)
{
	json_t *k = agent_key(p->serial), *c, *list = json_array();
	size_t i;

	if (k == NULL) { /* a SoftHSM token has a new serial since init: by its id */
		json_t *j = NULL, *x;
		assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
		json_array_foreach (json_object_get(j, "keys"), i, x)
			if (strcmp(jstr(x, "id"), p->id) == 0)
				k = json_incref(x);
		json_decref(j);
	}
	if (k == NULL) {
		json_decref(list);
		return 404;
	}
	json_array_foreach (json_object_get(k, "certificates"), i, c)
		if (strcmp(jstr(c, "key_ref"), p->key_ref) == 0)
			json_array_append_new(list, json_pack("{s:s, s:s}", "usage", jstr(c, "usage"), "der",
							      jstr(c, "der")));
	json_decref(k);
	json_decref(p->readback);
	p->readback = list;
	return 200;
}

/* A main key's seals (issue 14): staff's seal pictures, POST .../production/seals, each seal written
 * to the key as a data object and read back from it into p->seals. */
static void step_seals(struct prod *p)
{
	static const char *const names[] = {"org", "legal"};
	char path[200], *b64, *text;
	json_t *j = NULL, *s, *got = NULL, *body;
	size_t len, i;

	for (int k = 0; k < 2; k++) {
		unsigned char *png = test_seal_png(k, 240, &len);
		b64 = test_b64(png, len);
		body = json_pack("{s:s}", "png", b64);
		text = json_dumps(body, JSON_COMPACT);
		snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/seal-pictures/%s", p->no, names[k]);
		assert_int_equal(client_do(&producer, "PUT", path, text, NULL), 200);
		free(text);
		json_decref(body);
		free(b64);
		free(png);
	}
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", p->no);
	assert_in_range(client_do(&producer, "POST", path, NULL, &j), 200, 201);
	json_decref(p->seals);
	p->seals = json_array();
	json_array_foreach (json_object_get(j, "seals"), i, s) {
		snprintf(path, sizeof(path), "/v1/keys/%s/data/%s", p->id, jstr(s, "file"));
		assert_int_equal(ag("PUT", path, p->session, NULL, "{\"data\":\"%s\"}", jstr(s, "esl")), 200);
		assert_int_equal(ag("GET", path, p->session, &got, NULL), 200);
		json_array_append_new(
			p->seals, json_pack("{s:s, s:s}", "type", jstr(s, "type"), "esl", jstr(got, "data")));
		json_decref(got);
	}
	assert_int_equal(json_array_size(p->seals), 2);
	json_decref(j);
}

/* POST .../production/complete with the key's serial and list. */
static long complete_with(struct prod *p, json_t *list, json_t **reply)
{
	char path[160], *text;
	json_t *body = json_pack("{s:s, s:O}", "serial", p->serial, "certificates", list);
	long st;

	if (p->seals != NULL)
		json_object_set(body, "seals", p->seals);

	text = json_dumps(body, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/complete", p->no);
	st = client_do(&producer, "POST", path, text, reply);
	free(text);
	json_decref(body);
	return st;
}

/* Runs the page's steps from the start up to and including last, each one asserted successful. */
static void produce(struct prod *p, enum step last)
{
	int skip_issue;

	assert_in_range(step_start(p, NULL), 200, 201);
	if (last == ST_START)
		return;
	assert_int_equal(step_init(p, NULL), 200);
	if (last == ST_INIT)
		return;
	assert_int_equal(step_login(p), 200);
	if (last == ST_LOGIN)
		return;
	assert_in_range(step_keypair(p, NULL), 200, 201);
	skip_issue = issued_of(p, "sign") != NULL;
	if (skip_issue) { /* resumed after issuance: the certificates already issued are written */
		p->der[0] = strdup(jstr(issued_of(p, "sign"), "der"));
		if (dual(p))
			p->der[1] = strdup(jstr(issued_of(p, "enc"), "der"));
	}
	if (last == ST_KEYPAIR)
		return;
	if (!skip_issue)
		assert_int_equal(step_csr(p), 200);
	if (last == ST_CSR)
		return;
	if (!skip_issue)
		assert_int_equal(step_issue(p), 201);
	if (last == ST_ISSUE)
		return;
	assert_int_equal(step_write(p, 0, NULL), 200);
	if (last == ST_WRITE_SIGN)
		return;
	if (dual(p)) {
		assert_int_equal(step_enc_key(p), 200);
		if (last == ST_ENC_KEY)
			return;
		assert_int_equal(step_write(p, 1, NULL), 200);
	}
	if (last == ST_ENC_KEY || last == ST_WRITE_ENC)
		return;
	if (dual(p)) /* the SM2 dual profile is the main key's, which carries the seals */
		step_seals(p);
	if (last == ST_SEALS)
		return;
	assert_int_equal(step_readback(p), 200);
	assert_int_equal(json_array_size(p->readback), dual(p) ? 2 : 1);
	if (last == ST_READBACK)
		return;
	assert_int_equal(complete_with(p, p->readback, &p->done), 200);
	assert_string_equal(jstr(p->done, "state"), "produced");
	assert_string_equal(jstr(json_object_get(p->done, "usb_key"), "state"), "written");
}

/* Returns the read-back certificate of usage (base64 DER). */
static const char *readback_of(const struct prod *p, const char *usage)
{
	json_t *c;
	size_t i;

	json_array_foreach (p->readback, i, c)
		if (strcmp(jstr(c, "usage"), usage) == 0)
			return jstr(c, "der");
	fail_msg("no %s certificate read back", usage);
	return "";
}

/* --- setup --- */

/* Writes the agent's configuration and SoftHSM2's, in S.dir. */
static void agent_config(void)
{
	char path[400];
	FILE *f;

	snprintf(skfdir, sizeof(skfdir), "%s/skf", S.dir);
	mkdir(skfdir, 0700);
	setenv("CERTDESK_SOFTSKF_DIR", skfdir, 1);
	snprintf(path, sizeof(path), "%s/tokens", S.dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", S.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
		S.dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	A.port = harness_free_port();
	snprintf(A.base, sizeof(A.base), "http://127.0.0.1:%d", A.port);
	snprintf(path, sizeof(path), "%s/agent.ini", S.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[agent]\nport = %d\norigins = %s\naccess_log = %s/agent-access.log\n", A.port, S.base,
		S.dir);
	if (access(SOFTHSM, R_OK) == 0)
		fprintf(f, "[pkcs11]\nmodules = %s\ntransport_so_pin = %s\n", SOFTHSM, TRANSPORT_SO_PIN);
	fprintf(f,
		"[skf]\nlibraries = %s/src/softskf/libcertdesk-softskf.so:32\ndevauth_key = "
		"1234567812345678\n",
		BUILD_DIR);
	fclose(f);
}

static int setup(void **state)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	int rc;
	(void)state;

	if (harness_start(&S) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	rc = harness_start_ca(&S);
	if (rc == 77 || access(harness_bin("certdesk-agent"), X_OK) != 0 || access(TOOL, X_OK) != 0) {
		fprintf(stderr, "SKIP: certdesk-signer, certdesk-agent or the software SKF key not built\n");
		skipped = 1;
		return 0;
	}
	if (rc != 0 || config_load(&cfg, NULL, err, sizeof(err)) != 0 ||
	    db_open(&db, &cfg, err, sizeof(err)) != 0)
		return -1;
	agent_config();
	if (agent_start() != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&org2, &S, "org2");
	client_init(&org3, &S, "org3");
	client_init(&producer, &S, "producer");
	if (client_register_login(&org, "鹰潭制证联调有限公司", "91310115MA1K3BTP2B", "13800138061") != 0 ||
	    client_register_login(&org2, "鹰潭制证联调第二有限公司", "91110000600037341L", "13800138062") !=
		    0 ||
	    client_register_login(&org3, "鹰潭制证联调第三有限公司", "9144030071526726XG", "13800138063") !=
		    0 ||
	    client_staff_login(&producer, "producer") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	int status, agent;
	(void)state;

	agent = agent_stop();
	if (db != NULL)
		db_close(db);
	config_free(&cfg);
	status = harness_stop(&S);
	if (agent == 0 &&
	    sh(NULL, "grep -q -e '\"so_pin\"' -e '\"user_pin\"' %s/agent.log %s/agent-access.log 2>/dev/null",
	       S.dir, S.dir) == 0) {
		fprintf(stderr, "a PIN in the agent's logs\n");
		agent = -1;
	}
	if (status != 0) {
		fprintf(stderr, "certdeskd stopped with status %d; its output:\n", status);
		sh(NULL,
		   "sed -n '/LeakSanitizer/,$p' %s/server.out | grep -v -e libsanitizer -e libjansson | head "
		   "-80 >&2",
		   S.dir);
	}
	harness_cleanup(&S);
	teardown_failed = status != 0 || agent != 0;
	return teardown_failed ? -1 : 0;
}

/* --- 1. SM2 dual on the software SKF key --- */

/* The agent's signature of a challenge verifies with the certificate's key (SM2 with the ID, SM3). */
static void challenge_verifies(struct prod *p, X509 *cert)
{
	const char challenge[] = "certdesk production challenge";
	char path[200], b64[64];
	unsigned char sig[256];
	json_t *j = NULL;
	const char *s;
	int n;
	EVP_MD_CTX *vc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(X509_get0_pubkey(cert), NULL);

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)challenge, (int)strlen(challenge));
	snprintf(path, sizeof(path), "/v1/keys/%s/sign", p->id);
	assert_int_equal(
		ag("POST", path, p->session, &j, "{\"key_ref\":\"%s\",\"data\":\"%s\"}", p->key_ref, b64),
		200);
	s = jstr(j, "signature");
	n = EVP_DecodeBlock(sig, (const unsigned char *)s, (int)strlen(s));
	assert_true(n > 0);
	n -= (s[strlen(s) - 1] == '=') + (strlen(s) > 1 && s[strlen(s) - 2] == '=');
	assert_true(EVP_PKEY_CTX_set1_id(pctx, IT_SM2_ID, 16) > 0);
	EVP_MD_CTX_set_pkey_ctx(vc, pctx);
	assert_int_equal(EVP_DigestVerifyInit(vc, NULL, EVP_sm3(), NULL, X509_get0_pubkey(cert)), 1);
	assert_int_equal(
		EVP_DigestVerify(vc, sig, (size_t)n, (const unsigned char *)challenge, strlen(challenge)), 1);
	EVP_MD_CTX_free(vc);
	EVP_PKEY_CTX_free(pctx);
	json_decref(j);
}

/* `certdesk-agent list --json` shows the key's sign and enc certificates with their validity. */
static void list_json_shows(const char *serial, int want)
{
	char *out = NULL;
	json_t *j, *k, *c;
	size_t i, n;
	int found = 0;

	assert_int_equal(sh(&out, "%s --config %s/agent.ini list --json 2>/dev/null",
			    harness_bin("certdesk-agent"), S.dir),
			 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(jstr(k, "serial"), serial) == 0)
			json_array_foreach (json_object_get(k, "certificates"), n, c) {
				assert_true(strlen(jstr(c, "not_before")) >= 19);
				assert_true(strlen(jstr(c, "not_after")) >= 19);
				assert_true(strcmp(jstr(c, "not_after"), jstr(c, "not_before")) > 0);
				found += strcmp(jstr(c, "usage"), "sign") == 0  ? 1
					 : strcmp(jstr(c, "usage"), "enc") == 0 ? 2
										: 0;
			}
	assert_int_equal(found, want);
	json_decref(j);
	free(out);
}

static void test_sm2_dual_skf(void **state)
{
	struct prod p;
	char no[32];
	X509 *sign, *issuing, *root;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, "main", no);
	softkey_create("PAKEY01");
	prod_init(&p, no, "PAKEY01");
	produce(&p, ST_COMPLETE);
	assert_false(resumed(&p));
	assert_true(dual(&p));
	assert_string_equal(jstr(p.start, "algorithm"), "sm2");
	assert_string_equal(readback_of(&p, "sign"), p.der[0]);
	assert_string_equal(readback_of(&p, "enc"), p.der[1]);
	list_json_shows("PAKEY01", 3);
	/* the read-back signing certificate verifies against the SM2 chain, with the SM2 ID */
	sign = cert_of_b64(readback_of(&p, "sign"));
	issuing = it_ca_cert(&S, "sm2-issuing-1");
	root = it_ca_cert(&S, "sm2-root-1");
	assert_true(it_sm2_verify(sign, issuing));
	assert_true(it_sm2_verify(issuing, root));
	assert_true(it_sm2_verify(root, root));
	challenge_verifies(&p, sign);
	assert_int_equal(certs_of_order(no, "sign", NULL), 1);
	assert_int_equal(certs_of_order(no, "enc", NULL), 1);
	X509_free(sign);
	X509_free(issuing);
	X509_free(root);
	prod_free(&p);
}

/* --- 2. a secondary key on SoftHSM --- */

static void test_secondary_softhsm(void **state)
{
	struct prod p;
	char no[32], *out = NULL, path[400], want[200];
	X509 *x;
	FILE *f;
	int ids = 0, labels = 0;
	(void)state;
	if (skipped || access(SOFTHSM, R_OK) != 0)
		skip();
	/* a token as it comes from the vendor (SoftHSM2 reads its tokens when the agent starts) */
	assert_int_equal(sh(NULL, "softhsm2-util --init-token --free --label blank --so-pin " TRANSPORT_SO_PIN
				  " --pin 556677 "
				  ">/dev/null 2>&1"),
			 0);
	assert_int_equal(agent_stop(), 0);
	assert_int_equal(agent_start(), 0);
	json_t *k = NULL, *j = NULL;
	size_t i;
	assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(jstr(k, "label"), "blank") == 0)
			prod_init(&p, "", jstr(k, "serial"));
	json_decref(j);
	assert_true(p.serial[0] != '\0');
	producing_order(&org, "secondary", no);
	snprintf(p.no, sizeof(p.no), "%s", no);
	produce(&p, ST_COMPLETE);
	assert_false(dual(&p));
	assert_string_equal(jstr(p.start, "algorithm"), "ec-p256");
	k = agent_key(p.serial); /* the serial certdeskd recorded is still the token's */
	assert_non_null(k);
	assert_string_equal(jstr(k, "label"), p.no);
	json_decref(k);
	assert_string_equal(readback_of(&p, "sign"), p.der[0]);
	/* other middleware reads the pair: private key and certificate under one ID and label */
	assert_int_equal(sh(&out, "pkcs11-tool --module %s --token-label %s -O --login --pin %s 2>&1",
			    SOFTHSM, p.label, jstr(p.start, "user_pin")),
			 0);
	snprintf(want, sizeof(want), "ID:         %s", p.key_ref);
	for (const char *s = out; (s = strstr(s, want)) != NULL; s++)
		ids++;
	snprintf(want, sizeof(want), "label:      certdesk-%.8s", p.key_ref);
	for (const char *s = out; (s = strstr(s, want)) != NULL; s++)
		labels++;
	if (ids < 2 || labels < 2 || strstr(out, "Private Key Object") == NULL ||
	    strstr(out, "Certificate Object") == NULL)
		fail_msg("pkcs11-tool does not show key and certificate under %s:\n%s", p.key_ref, out);
	free(out);
	/* openssl verify -x509_strict of the read-back certificate against the P-256 chain */
	x = cert_of_b64(readback_of(&p, "sign"));
	snprintf(path, sizeof(path), "%s/readback-p256.pem", S.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	if (sh(&out,
	       "openssl verify -x509_strict -CAfile %s/ca-keys/p256-root-1.crt -untrusted "
	       "%s/ca-keys/p256-issuing-1.crt %s 2>&1",
	       S.dir, S.dir, path) != 0)
		fail_msg("openssl verify: %s", out);
	free(out);
	/* wiped with its SO PIN the token is blank as it came: another production can initialise it */
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", p.id);
	assert_int_equal(ag("POST", path, NULL, NULL, "{\"so_pin\":\"%s\"}", jstr(p.start, "so_pin")), 200);
	snprintf(path, sizeof(path), "/v1/keys/%s/init", p.id);
	assert_int_equal(
		ag("POST", path, NULL, NULL, "{\"so_pin\":\"A1b2C3d4E5f6G7h8\",\"user_pin\":\"24681357\"}"),
		200);
	prod_free(&p);
}

/* --- 3. crash and resume --- */

/* The agent killed after issuance, before the write: restarted, the same key resumes. */
static void test_agent_killed_resume(void **state)
{
	struct prod p, q;
	char no[32];
	(void)state;
	if (skipped)
		skip();
	producing_order(&org2, "main", no);
	softkey_create("PAKEY02");
	prod_init(&p, no, "PAKEY02");
	produce(&p, ST_ISSUE);
	agent_kill9();
	assert_int_equal(agent_start(), 0);
	still_producing(no);
	prod_init(&q, no, "PAKEY02");
	produce(&q, ST_COMPLETE);
	assert_true(resumed(&q));
	assert_string_equal(jstr(q.start, "so_pin"), jstr(p.start, "so_pin"));
	assert_string_equal(jstr(q.start, "user_pin"), jstr(p.start, "user_pin"));
	assert_int_equal(json_array_size(json_object_get(q.start, "certificates")), 2);
	assert_string_equal(q.key_ref, p.key_ref); /* the pair whose public key is in the certificate */
	assert_string_equal(readback_of(&q, "sign"), p.der[0]);
	assert_string_equal(readback_of(&q, "enc"), p.der[1]);
	assert_int_equal(certs_of_order(no, "sign", NULL), 1);
	assert_int_equal(certs_of_order(no, "enc", NULL), 1);
	list_json_shows("PAKEY02", 3);
	prod_free(&p);
	prod_free(&q);
}

/* The key pulled out during the certificate's write: 410, the order still producing; plugged in
 * again, the production resumes to produced. */
static void test_key_pulled_mid_write(void **state)
{
	struct prod p, q;
	char no[32];
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, "secondary", no);
	softkey_create("PAKEY03");
	prod_init(&p, no, "PAKEY03");
	produce(&p, ST_ISSUE);
	assert_int_equal(sh(NULL, "%s remove-after %s PAKEY03 0", TOOL, skfdir), 0);
	assert_int_equal(step_write(&p, 0, &j), 410);
	assert_string_equal(error_code(j), "key_removed");
	json_decref(j);
	assert_null(agent_key("PAKEY03"));
	still_producing(no);
	assert_int_equal(sh(NULL, "%s insert %s PAKEY03", TOOL, skfdir), 0);
	prod_init(&q, no, "PAKEY03");
	produce(&q, ST_COMPLETE);
	assert_true(resumed(&q));
	assert_string_equal(readback_of(&q, "sign"), p.der[0]);
	assert_int_equal(certs_of_order(no, "sign", NULL), 1);
	prod_free(&p);
	prod_free(&q);
}

/* A different key after a half-made one: the first key's certificates are revoked (superseded), the
 * first key is wiped through the agent with previous_key.so_pin, the second is produced. */
static void test_other_key_after_half_made(void **state)
{
	struct prod p, q;
	char no[32], sign1[48], enc1[48], path[200];
	json_t *j = NULL, *prev, *k;
	X509 *x;
	ASN1_INTEGER *sn;
	BIGNUM *bn;
	char *hex;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org3, "main", no);
	softkey_create("PAKEY04");
	softkey_create("PAKEY05");
	prod_init(&p, no, "PAKEY04");
	produce(&p, ST_WRITE_SIGN);
	for (int u = 0; u < 2; u++) { /* the serials of what was issued for the first key */
		x = cert_of_b64(p.der[u]);
		sn = X509_get_serialNumber(x);
		bn = ASN1_INTEGER_to_BN(sn, NULL);
		hex = BN_bn2hex(bn);
		snprintf(u == 0 ? sign1 : enc1, 48, "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
		X509_free(x);
	}
	prod_init(&q, no, "PAKEY05");
	assert_int_equal(step_start(&q, &j), 201);
	assert_false(resumed(&q));
	prev = json_object_get(j, "previous_key");
	assert_string_equal(jstr(prev, "serial"), "PAKEY04");
	assert_true(strlen(jstr(prev, "so_pin")) > 0);
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", p.id);
	assert_int_equal(ag("POST", path, NULL, NULL, "{\"so_pin\":\"%s\"}", jstr(prev, "so_pin")), 200);
	json_decref(j);
	k = agent_key("PAKEY04");
	assert_non_null(k);
	assert_true(json_is_true(json_object_get(k, "blank")));
	assert_int_equal(json_array_size(json_object_get(k, "certificates")), 0);
	json_decref(k);
	for (int u = 0; u < 2; u++) {
		snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", u == 0 ? sign1 : enc1);
		assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
		assert_string_equal(jstr(j, "status"), "revoked");
		assert_string_equal(jstr(j, "reason"), "superseded");
		json_decref(j);
	}
	produce(&q, ST_COMPLETE);
	assert_string_not_equal(q.der[0], p.der[0]);
	assert_int_equal(certs_of_order(no, "sign", "good"), 1);
	assert_int_equal(certs_of_order(no, "sign", "revoked"), 1);
	list_json_shows("PAKEY05", 3);
	prod_free(&p);
	prod_free(&q);
}

/* --- 4. bad cases --- */

static void test_bad_cases(void **state)
{
	struct prod p;
	char no[32], written[32], *csr, *app = NULL, path[300];
	json_t *j = NULL, *list;
	struct resp r;
	EVP_PKEY *other;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, "secondary", no);
	/* a key another order's production wrote: key_in_use at certdeskd */
	prod_init(&p, no, "PAKEY01");
	assert_int_equal(step_start(&p, &j), 409);
	assert_string_equal(error_code(j), "key_in_use");
	json_decref(j);
	prod_free(&p);
	/* a key with foreign content: the agent refuses to initialise it */
	softkey_create("PAKEY06");
	prod_init(&p, no, "PAKEY06");
	assert_int_equal(ag("POST", "/v1/keys/skf0:PAKEY06/init", NULL, NULL,
			    "{\"so_pin\":\"99887766\",\"user_pin\":\"445566\",\"label\":\"foreign\"}"),
			 200);
	assert_int_equal(step_start(&p, NULL), 201);
	p.blank = 1; /* as if the page had not looked */
	assert_int_equal(step_init(&p, &j), 409);
	assert_string_equal(error_code(j), "key_not_blank");
	json_decref(j);
	still_producing(no);
	prod_free(&p);
	/* a wrong PIN: 401 with the retries left; the right one still works */
	softkey_create("PAKEY07");
	prod_init(&p, no, "PAKEY07");
	produce(&p, ST_INIT);
	assert_int_equal(login_pin(&p, "000000", &j), 401);
	assert_string_equal(error_code(j), "pin_incorrect");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "retries_left")), 5);
	json_decref(j);
	assert_int_equal(step_login(&p), 200);
	/* a token that refuses key generation (its container store cannot take another container) */
	assert_int_equal(sh(&app, "find %s/PAKEY07 -type d -name containers | head -1 | tr -d '\\n'", skfdir),
			 0);
	assert_true(strlen(app) > 0);
	assert_int_equal(sh(NULL, "rm -rf '%s' && touch '%s'", app, app), 0);
	assert_int_equal(step_keypair(&p, &j), 502);
	assert_string_equal(error_code(j), "token_error");
	assert_non_null(strstr(jstr(json_object_get(j, "error"), "detail"), "SKF_CreateContainer"));
	json_decref(j);
	assert_int_equal(sh(NULL, "rm -f '%s' && mkdir '%s'", app, app), 0);
	free(app);
	still_producing(no);
	/* a CSR for another key: certdeskd issues for that key, the agent refuses to write it */
	assert_int_equal(step_keypair(&p, NULL), 201);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	csr = it_make_csr(other, "another key");
	p.csr = csr;
	assert_int_equal(step_issue(&p), 201);
	assert_int_equal(step_write(&p, 0, &j), 409);
	assert_string_equal(error_code(j), "cert_key_mismatch");
	json_decref(j);
	EVP_PKEY_free(other);
	assert_int_equal(step_readback(&p), 200);
	assert_int_equal(json_array_size(p.readback), 0);
	/* a read-back that differs from what was issued (here another order's certificate): refused */
	snprintf(written, sizeof(written), "PAKEY01");
	{
		json_t *k = agent_key(written), *c;
		size_t i;
		list = json_array();
		json_array_foreach (json_object_get(k, "certificates"), i, c)
			if (strcmp(jstr(c, "usage"), "sign") == 0)
				json_array_append_new(list, json_pack("{s:s, s:s}", "usage", "sign", "der",
								      jstr(c, "der")));
		json_decref(k);
	}
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(complete_with(&p, list, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	json_decref(list);
	still_producing(no);
	/* a request from another web origin: 403, no CORS header, and no session is made */
	assert_int_equal(agent_send("http://evil.example", "GET", "/v1/keys", NULL, NULL, &j, &r), 403);
	assert_string_equal(error_code(j), "origin_forbidden");
	assert_null(resp_header(&r, "Access-Control-Allow-Origin"));
	resp_free(&r);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/keys/%s/login", p.id);
	assert_int_equal(
		agent_send("http://evil.example", "POST", path, NULL, "{\"pin\":\"000000\"}", &j, NULL), 403);
	json_decref(j);
	assert_int_equal(agent_send(S.base, "GET", "/v1/keys", NULL, NULL, NULL, &r), 200);
	assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin"), S.base);
	resp_free(&r);
	still_producing(no);
	prod_free(&p);
}

int main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sm2_dual_skf),
		cmocka_unit_test(test_secondary_softhsm),
		cmocka_unit_test(test_agent_killed_resume),
		cmocka_unit_test(test_key_pulled_mid_write),
		cmocka_unit_test(test_other_key_after_half_made),
		cmocka_unit_test(test_bad_cases),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	return rc != 0 || teardown_failed ? 1 : 0;
}
