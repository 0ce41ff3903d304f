/* certdesk-agent machinery shared by the integration tests that drive the real agent (agent_helpers.h):
 * moved here from test_production_agent.c so that test_renewal_agent.c uses the same steps. */
#define _GNU_SOURCE /* vasprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_helpers.h"
#include "seal_png.h"
#include "store/store.h"

struct srv agent_srv;
char agent_skfdir[300];
int agent_with_pkcs11 = 1;
static pid_t agent_pid_;
static struct srv *srv_;      /* certdeskd */
static struct client *staff_; /* the producer */

void agent_helpers_init(struct srv *server, struct client *producer)
{
	srv_ = server;
	staff_ = producer;
}

/* Returns the string field name of j, or "" (never NULL). */
const char *jstr(json_t *j, const char *name)
{
	const char *s = json_string_value(json_object_get(j, name));
	return s != NULL ? s : "";
}

/* Runs a shell command; its output (stdout and stderr) goes to *out when not NULL (caller frees).
 * Returns the exit status. */
__attribute__((format(printf, 2, 3))) int sh(char **out, const char *fmt, ...)
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
char *der_of_pem(const char *pem)
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
X509 *cert_of_b64(const char *b64)
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
long agent_send(const char *orig, const char *method, const char *path, const char *session, const char *body,
		json_t **out, struct resp *keep)
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
	if (http_do(&agent_srv, method, path, body, body != NULL ? strlen(body) : 0, h, &r) != 0)
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
__attribute__((format(printf, 5, 6))) long ag(const char *method, const char *path, const char *session,
					      json_t **out, const char *fmt, ...)
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
	st = agent_send(srv_->base, method, path, session, body, out, NULL);
	free(body);
	return st;
}

/* Starts certdesk-agent on <srv_->dir>/agent.ini and polls GET /v1/status (bounded) until it answers. */
int agent_start(void)
{
	char conf[300], logf[300];
	const char *bin = harness_bin("certdesk-agent");

	snprintf(conf, sizeof(conf), "%s/agent.ini", srv_->dir);
	snprintf(logf, sizeof(logf), "%s/agent.log", srv_->dir);
	agent_pid_ = fork();
	if (agent_pid_ == 0) {
		if (freopen(logf, "a", stderr) == NULL)
			_exit(126);
		execl(bin, "certdesk-agent", "--config", conf, "serve", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		int st = 0;
		if (agent_send(NULL, "GET", "/v1/status", NULL, NULL, NULL, NULL) == 200)
			return 0;
		if (waitpid(agent_pid_, &st, WNOHANG) == agent_pid_)
			break;
		usleep(25000);
	}
	sh(NULL, "cat %s >&2", logf);
	return -1;
}

/* Kills the agent with SIGKILL (a crash) and reaps it. */
void agent_kill9(void)
{
	int st = 0;

	assert_int_equal(kill(agent_pid_, SIGKILL), 0);
	assert_int_equal(waitpid(agent_pid_, &st, 0), agent_pid_);
	agent_pid_ = 0;
}

/* Stops the agent with SIGTERM; returns 0 when it exited 0 (so without leaks under ASan). */
int agent_stop(void)
{
	int st = 0;

	if (agent_pid_ <= 0)
		return 0;
	kill(agent_pid_, SIGTERM);
	waitpid(agent_pid_, &st, 0);
	agent_pid_ = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "certdesk-agent exit status %d; its log:\n", st);
	sh(NULL, "cat %s/agent.log >&2", srv_->dir);
	return -1;
}

/* Returns the agent's key with serial (new reference) or NULL. */
json_t *agent_key(const char *serial)
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
void softkey_create(const char *name)
{
	assert_int_equal(sh(NULL, "%s create %s %s --serial %s --label blank >/dev/null", SOFTSKF_TOOL,
			    agent_skfdir, name, name),
			 0);
}

/* Returns the number of keys the agent lists. */
size_t agent_key_count(void)
{
	json_t *j = NULL;
	size_t n;

	assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
	n = json_array_size(json_object_get(j, "keys"));
	json_decref(j);
	return n;
}

json_t *agent_list_json(void)
{
	char *out = NULL;
	json_t *j;

	assert_int_equal(sh(&out, "%s --config %s/agent.ini list --json 2>/dev/null",
			    harness_bin("certdesk-agent"), srv_->dir),
			 0);
	j = json_loads(out, 0, NULL);
	if (j == NULL)
		fail_msg("certdesk-agent list --json: %s", out);
	free(out);
	return j;
}

/* 1 when a PIN member appears in the agent's logs. */
int agent_logs_hold_pin(void)
{
	return sh(NULL,
		  "grep -q -e '\"so_pin\"' -e '\"user_pin\"' -e '\"pin\"' %s/agent.log %s/agent-access.log "
		  "2>/dev/null",
		  srv_->dir, srv_->dir) == 0;
}

const char *softhsm_token(const char *label)
{
	static char serial[64];
	json_t *j = NULL, *k;
	size_t i;

	serial[0] = '\0';
	assert_int_equal(sh(NULL,
			    "softhsm2-util --init-token --free --label %s --so-pin " TRANSPORT_SO_PIN
			    " --pin 556677 >/dev/null 2>&1",
			    label),
			 0);
	assert_int_equal(agent_stop(), 0);
	assert_int_equal(agent_start(), 0);
	assert_int_equal(ag("GET", "/v1/keys", NULL, &j, NULL), 200);
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(jstr(k, "label"), label) == 0)
			snprintf(serial, sizeof(serial), "%s", jstr(k, "serial"));
	json_decref(j);
	return serial;
}

const char *serial_of_b64(const char *b64)
{
	static char out[80];
	X509 *x = cert_of_b64(b64);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	snprintf(out, sizeof(out), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return out;
}

/* --- certdeskd --- */

/* Creates an order of oc of key_type put into production (payment and paper are other tests'). */
void producing_order(struct db *db, struct client *oc, const char *key_type, char no[32])
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

/* --- the producer's page's steps (web/src/production.ts) --- */

void prod_init(struct prod *p, const char *no, const char *serial)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->no, sizeof(p->no), "%s", no);
	snprintf(p->serial, sizeof(p->serial), "%s", serial);
}

void prod_free(struct prod *p)
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

int prod_dual(const struct prod *p)
{
	return json_is_true(json_object_get(p->start, "dual"));
}

int prod_resumed(const struct prod *p)
{
	return json_is_true(json_object_get(p->start, "resumed"));
}

/* The key as the agent lists it, then POST .../production with what it reports. */
long step_start(struct prod *p, json_t **reply)
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
	st = client_do(staff_, "POST", path, body, &j);
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
long step_init(struct prod *p, json_t **reply)
{
	char path[200];
	json_t *k;
	long st;

	if (!p->blank && prod_resumed(p))
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

long login_pin(struct prod *p, const char *pin, json_t **reply)
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

long step_login(struct prod *p)
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
long step_keypair(struct prod *p, json_t **reply)
{
	char path[200];
	json_t *sign = issued_of(p, "sign"), *kp, *j = NULL;
	size_t i;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", p->id);
	if (prod_resumed(p)) {
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

long step_csr(struct prod *p)
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
long step_issue(struct prod *p)
{
	char path[160], *text;
	json_t *body = json_pack("{s:s}", "csr", p->csr), *j = NULL;
	long st;

	text = json_dumps(body, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", p->no);
	st = client_do(staff_, "POST", path, text, &j);
	if (st == 200 || st == 201) {
		p->der[0] = der_of_pem(jstr(j, "pem"));
		if (prod_dual(p))
			p->der[1] = der_of_pem(jstr(json_object_get(j, "enc_certificate"), "pem"));
	}
	free(text);
	json_decref(body);
	json_decref(j);
	return st;
}

/* Returns 1 when a resumed key pair already holds a certificate of usage. */
static int prod_already(const struct prod *p, const char *usage)
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

long step_write(struct prod *p, int enc, json_t **reply)
{
	char path[200];

	if (prod_already(p, enc ? "enc" : "sign"))
		return 200;
	assert_non_null(p->der[enc]);
	snprintf(path, sizeof(path), "/v1/keys/%s/certificates", p->id);
	return ag("PUT", path, p->session, reply, "{\"key_ref\":\"%s\",\"usage\":\"%s\",\"der\":\"%s\"}",
		  p->key_ref, enc ? "enc" : "sign", p->der[enc]);
}

/* GET enc-key?ulong=32 from certdeskd, POST it to the agent. */
long step_enc_key(struct prod *p)
{
	char path[200], *w;
	json_t *j = NULL;
	long st;

	if (prod_already(p, "enc"))
		return 200;
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates/enc-key?ulong=32", p->no);
	assert_int_equal(client_do(staff_, "GET", path, NULL, &j), 200);
	w = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/keys/%s/enc-key", p->id);
	st = ag("POST", path, p->session, NULL, "{\"key_ref\":\"%s\",\"wrapped\":%s}", p->key_ref, w);
	free(w);
	return st;
}

/* GET /v1/keys: the certificates of the key pair, as [{usage, der}]. */
long step_readback(struct prod *p)
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
void step_seals(struct prod *p)
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
		assert_int_equal(client_do(staff_, "PUT", path, text, NULL), 200);
		free(text);
		json_decref(body);
		free(b64);
		free(png);
	}
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/seals", p->no);
	assert_in_range(client_do(staff_, "POST", path, NULL, &j), 200, 201);
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
long complete_with(struct prod *p, json_t *list, json_t **reply)
{
	char path[160], *text;
	json_t *body = json_pack("{s:s, s:O}", "serial", p->serial, "certificates", list);
	long st;

	if (p->seals != NULL)
		json_object_set(body, "seals", p->seals);

	text = json_dumps(body, JSON_COMPACT);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/production/complete", p->no);
	st = client_do(staff_, "POST", path, text, reply);
	free(text);
	json_decref(body);
	return st;
}

/* Runs the page's steps from the start up to and including last, each one asserted successful. */
void produce(struct prod *p, enum step last)
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
		if (prod_dual(p))
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
	if (prod_dual(p)) {
		assert_int_equal(step_enc_key(p), 200);
		if (last == ST_ENC_KEY)
			return;
		assert_int_equal(step_write(p, 1, NULL), 200);
	}
	if (last == ST_ENC_KEY || last == ST_WRITE_ENC)
		return;
	if (prod_dual(p)) /* the SM2 dual profile is the main key's, which carries the seals */
		step_seals(p);
	if (last == ST_SEALS)
		return;
	assert_int_equal(step_readback(p), 200);
	assert_int_equal(json_array_size(p->readback), prod_dual(p) ? 2 : 1);
	if (last == ST_READBACK)
		return;
	assert_int_equal(complete_with(p, p->readback, &p->done), 200);
	assert_string_equal(jstr(p->done, "state"), "produced");
	assert_string_equal(jstr(json_object_get(p->done, "usb_key"), "state"), "written");
}

/* Returns the read-back certificate of usage (base64 DER). */
const char *readback_of(const struct prod *p, const char *usage)
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

/* Writes the agent's configuration and SoftHSM2's, in srv_->dir. */
void agent_config(void)
{
	char path[400];
	FILE *f;

	snprintf(agent_skfdir, sizeof(agent_skfdir), "%s/skf", srv_->dir);
	mkdir(agent_skfdir, 0700);
	setenv("CERTDESK_SOFTSKF_DIR", agent_skfdir, 1);
	snprintf(path, sizeof(path), "%s/tokens", srv_->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", srv_->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
		srv_->dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	agent_srv.port = harness_free_port();
	snprintf(agent_srv.base, sizeof(agent_srv.base), "http://127.0.0.1:%d", agent_srv.port);
	snprintf(path, sizeof(path), "%s/agent.ini", srv_->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "[agent]\nport = %d\norigins = %s\naccess_log = %s/agent-access.log\n", agent_srv.port,
		srv_->base, srv_->dir);
	if (agent_with_pkcs11 && access(SOFTHSM, R_OK) == 0)
		fprintf(f, "[pkcs11]\nmodules = %s\ntransport_so_pin = %s\n", SOFTHSM, TRANSPORT_SO_PIN);
	fprintf(f,
		"[skf]\nlibraries = %s/src/softskf/libcertdesk-softskf.so:32\ndevauth_key = "
		"1234567812345678\n",
		BUILD_DIR);
	fclose(f);
}
