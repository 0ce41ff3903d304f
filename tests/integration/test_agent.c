/* Integration test of certdesk-agent: the real program on a free loopback port with a temporary
 * configuration, driven through its HTTP API with libcurl.
 *  - SoftHSM2: a token in a temporary directory; init, login, RSA-2048 and P-256 key pairs, CSRs
 *    (verified with `openssl req -verify`), certificates from a throwaway CA written and read back,
 *    a data object round trip, then pkcs11-tool lists key and certificate with the same ID and label.
 *  - the software SKF key, 32- and 64-bit ULONG builds: init, wrong PIN (retries decrease) and lock,
 *    SM2 key pair, CSR verified in C with the SM2 ID, certificate write and read back, the enc-key
 *    import of a blob made by src/km (and ulong_mismatch for the other width), removal mid-write
 *    (410 key_removed), pulled out and plugged back in while logged in (the certificates are listed
 *    again, the old session answers 401 session_required), wipe.
 *  - bad requests: another Origin (403, no ACAO), Host evil.example (421), the PNA preflight, an
 *    operation without session (401), an oversized body (413).
 * No database. Exits 77 when SoftHSM2 or the software key is missing. */
#define _GNU_SOURCE /* strcasestr, vasprintf */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/skfblob.h"
#include "km/km.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define ORIGIN "http://127.0.0.1:8080"
#define SO_PIN "87654321"
#define USER_PIN "123456"

static int failures, checks;
static char dir[256];
static int port;
static pid_t agent_pid;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		checks++;                                                                                    \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                      \
			fprintf(stderr, __VA_ARGS__);                                                        \
			fputc('\n', stderr);                                                                 \
			failures++;                                                                          \
		}                                                                                            \
	} while (0)

struct reply {
	long status;
	char *body;
	size_t len;
	char *headers;
	size_t hlen;
	json_t *json;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	char **buf = ud;
	size_t *len = (size_t *)(buf + 1), add = size * n;

	*buf = realloc(*buf, *len + add + 1);
	memcpy(*buf + *len, p, add);
	*len += add;
	(*buf)[*len] = '\0';
	return add;
}

/* Sends method path with body (may be NULL) and the extra headers (NULL-terminated list; "Origin:"
 * is added unless origin is NULL, the session when not NULL). Fills rp (free with reply_free). */
static void req(const char *method, const char *path, const char *body, size_t blen, const char *origin,
		const char *session, const char *const *extra, struct reply *rp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], line[512];
	struct {
		char *buf;
		size_t len;
	} b = {NULL, 0}, hd = {NULL, 0};

	memset(rp, 0, sizeof(*rp));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	if (origin != NULL) {
		snprintf(line, sizeof(line), "Origin: %s", origin);
		h = curl_slist_append(h, line);
	}
	if (session != NULL) {
		snprintf(line, sizeof(line), "X-Agent-Session: %s", session);
		h = curl_slist_append(h, line);
	}
	if (body != NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	for (int i = 0; extra != NULL && extra[i] != NULL; i++)
		h = curl_slist_append(h, extra[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rp->status);
	rp->body = b.buf;
	rp->len = b.len;
	rp->headers = hd.buf;
	rp->hlen = hd.len;
	rp->json = b.buf != NULL ? json_loads(b.buf, 0, NULL) : NULL;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void reply_free(struct reply *rp)
{
	free(rp->body);
	free(rp->headers);
	json_decref(rp->json);
}

/* Returns 1 when the reply has header "name: value" (case-insensitive name). */
static int has_header(const struct reply *rp, const char *name, const char *value)
{
	char want[256];

	snprintf(want, sizeof(want), "\r\n%s: %s\r\n", name, value);
	return rp->headers != NULL && strcasestr(rp->headers, want) != NULL;
}

/* Returns the error code of a reply, or "". */
static const char *err_code(const struct reply *rp)
{
	const char *c = json_string_value(json_object_get(json_object_get(rp->json, "error"), "code"));
	return c != NULL ? c : "";
}

/* An operation of the contract with an allowed Origin; returns the status, the parsed body in *out
 * (may be NULL; caller decrefs). */
__attribute__((format(printf, 5, 6))) static long op(const char *method, const char *path,
						     const char *session, json_t **out, const char *fmt, ...)
{
	struct reply rp;
	char *body = NULL;
	long st;

	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&body, fmt, ap) < 0)
			body = NULL;
		va_end(ap);
	}
	req(method, path, body, body != NULL ? strlen(body) : 0, ORIGIN, session, NULL, &rp);
	st = rp.status;
	if (out != NULL)
		*out = json_incref(rp.json);
	if (st >= 400 && out == NULL)
		fprintf(stderr, "  %s %s -> %ld %s\n", method, path, st, rp.body ? rp.body : "");
	reply_free(&rp);
	free(body);
	return st;
}

/* Runs a shell command, returning its exit status; its output goes to *out when not NULL. */
__attribute__((format(printf, 2, 3))) static int run(char **out, const char *fmt, ...)
{
	char cmd[2048], buf[4096];
	size_t len = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (out != NULL)
		*out = calloc(1, 1);
	while (fgets(buf, sizeof(buf), p) != NULL)
		if (out != NULL) {
			*out = realloc(*out, len + strlen(buf) + 1);
			memcpy(*out + len, buf, strlen(buf) + 1);
			len += strlen(buf);
		}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts certdesk-agent with dir/agent.ini and waits until /v1/status answers. */
static int agent_start(void)
{
	char cfg[300], bin[300];
	struct reply rp;

	snprintf(cfg, sizeof(cfg), "%s/agent.ini", dir);
	snprintf(bin, sizeof(bin), "%s/certdesk-agent", BUILD_DIR);
	agent_pid = fork();
	if (agent_pid == 0) {
		char logf[300];
		snprintf(logf, sizeof(logf), "%s/agent.log", dir);
		freopen(logf, "a", stderr);
		execl(bin, bin, "--config", cfg, "serve", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		usleep(100000);
		req("GET", "/v1/status", NULL, 0, NULL, NULL, NULL, &rp);
		long st = rp.status;
		reply_free(&rp);
		if (st == 200)
			return 0;
	}
	return -1;
}

/* Stops the agent with SIGTERM; it must exit 0 (so without leaks under ASan). */
static void agent_stop(void)
{
	int st = 0;

	kill(agent_pid, SIGTERM);
	waitpid(agent_pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit status %d (see %s/agent.log)", st, dir);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		run(NULL, "cat %s/agent.log >&2", dir);
}

/* Finds in GET /v1/keys the key whose id starts with prefix and has serial (or label) value. Returns a
 * new reference or NULL. */
static json_t *find_key(const char *prefix, const char *field, const char *value)
{
	json_t *j = NULL, *k, *found = NULL;
	size_t i;

	if (op("GET", "/v1/keys", NULL, &j, NULL) != 200)
		return NULL;
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strncmp(json_string_value(json_object_get(k, "id")), prefix, strlen(prefix)) == 0 &&
		    strcmp(json_string_value(json_object_get(k, field)), value) == 0)
			found = json_incref(k);
	json_decref(j);
	return found;
}

/* Logs in to key id with pin; returns the session (static) or NULL. */
static const char *login(const char *id, const char *pin)
{
	static char session[40];
	char path[200];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/login", id);
	st = op("POST", path, NULL, &j, "{\"pin\":\"%s\"}", pin);
	session[0] = '\0';
	if (st == 200)
		snprintf(session, sizeof(session), "%s", json_string_value(json_object_get(j, "session")));
	json_decref(j);
	return st == 200 ? session : NULL;
}

/* --- a throwaway CA --- */

static EVP_PKEY *ca_key;
static X509 *ca_cert;

/* Makes the CA (P-256, self-signed). */
static void ca_make(void)
{
	X509_NAME *n;

	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca_cert = X509_new();
	X509_set_version(ca_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(ca_cert), 1);
	n = X509_get_subject_name(ca_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"certdesk test CA", -1, -1,
				   0);
	X509_set_issuer_name(ca_cert, n);
	X509_gmtime_adj(X509_getm_notBefore(ca_cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(ca_cert), 86400);
	X509_set_pubkey(ca_cert, ca_key);
	X509_sign(ca_cert, ca_key, EVP_sha256());
}

/* Issues a certificate for pub with subject cn; returns base64 DER (caller frees). */
static char *ca_issue(EVP_PKEY *pub, const char *cn, long serial)
{
	X509 *x = X509_new();
	unsigned char *der = NULL;
	int n;
	char *b64;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8, (const unsigned char *)cn,
				   -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca_cert));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 365);
	X509_set_pubkey(x, pub);
	X509_sign(x, ca_key, EVP_sha256());
	n = i2d_X509(x, &der);
	b64 = calloc(1, (size_t)n * 2 + 4);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	OPENSSL_free(der);
	X509_free(x);
	return b64;
}

/* Decodes a PEM CSR. */
static X509_REQ *csr_parse(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);

	BIO_free(b);
	return r;
}

/* Decodes base64 SPKI. */
static EVP_PKEY *spki_parse(const char *b64)
{
	unsigned char der[2048];
	size_t len = strlen(b64);
	int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len);
	const unsigned char *p = der;

	if (n <= 0)
		return NULL;
	n -= (len >= 2 && b64[len - 2] == '=') ? 2 : (len >= 1 && b64[len - 1] == '=') ? 1 : 0; /* padding */
	return d2i_PUBKEY(NULL, &p, n);
}

/* POST sign of a server challenge: the DER signature verifies with the key pair's public key (SM2 with
 * the default ID over the data, RSA and EC with SHA-256). */
static void challenge_signed(const char *id, const char *session, const char *ref, EVP_PKEY *pub, int sm2)
{
	const char challenge[] = "certdesk challenge 2026-12-06";
	char path[200], b64[64];
	unsigned char sig[1024];
	json_t *j = NULL;
	const char *s;
	int n = 0;
	EVP_MD_CTX *vc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)challenge, (int)strlen(challenge));
	snprintf(path, sizeof(path), "/v1/keys/%s/sign", id);
	CHECK(op("POST", path, session, &j, "{\"key_ref\":\"%s\",\"data\":\"%s\"}", ref, b64) == 200, "sign");
	s = json_string_value(json_object_get(j, "signature"));
	if (s != NULL && (n = EVP_DecodeBlock(sig, (const unsigned char *)s, (int)strlen(s))) > 0)
		n -= (s[strlen(s) - 1] == '=') + (strlen(s) > 1 && s[strlen(s) - 2] == '=');
	if (sm2) {
		pctx = EVP_PKEY_CTX_new(pub, NULL);
		EVP_PKEY_CTX_set1_id(pctx, SKFB_SM2_ID, SKFB_SM2_ID_LEN);
		EVP_MD_CTX_set_pkey_ctx(vc, pctx);
	}
	CHECK(pub != NULL && n > 0 &&
		      EVP_DigestVerifyInit(vc, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, pub) == 1 &&
		      EVP_DigestVerify(vc, sig, (size_t)n, (const unsigned char *)challenge,
				       strlen(challenge)) == 1,
	      "signature of the challenge verifies (%s)", ref);
	EVP_MD_CTX_free(vc);
	EVP_PKEY_CTX_free(pctx);
	json_decref(j);
}

/* Generates a key pair of alg on key id, makes its CSR (checked with `openssl req -verify`), issues
 * and writes its certificate, and checks it is read back by GET /v1/keys. Returns the key ref (static). */
static const char *keypair_cert(const char *id, const char *session, const char *alg, long serial)
{
	static char ref[160];
	char path[200], csrf[300], *b64 = NULL, *out = NULL;
	json_t *j = NULL, *k, *c;
	EVP_PKEY *pub = NULL;
	X509_REQ *csr = NULL;
	FILE *f;
	size_t i;
	int found = 0;

	ref[0] = '\0';
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", id);
	CHECK(op("POST", path, session, &j, "{\"algorithm\":\"%s\"}", alg) == 201, "keypair %s", alg);
	snprintf(ref, sizeof(ref), "%s", json_string_value(json_object_get(j, "key_ref")) ?: "");
	pub = spki_parse(json_string_value(json_object_get(j, "public_key")) ?: "");
	CHECK(pub != NULL, "public key of %s", alg);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/keys/%s/csr", id);
	CHECK(op("POST", path, session, &j, "{\"key_ref\":\"%s\",\"subject\":\"CN=测试单位 %s,O=certdesk\"}",
		 ref, alg) == 200,
	      "csr %s", alg);
	csr = csr_parse(json_string_value(json_object_get(j, "csr")) ?: "");
	CHECK(csr != NULL && pub != NULL && EVP_PKEY_eq(X509_REQ_get0_pubkey(csr), pub) == 1, "CSR key %s",
	      alg);
	snprintf(csrf, sizeof(csrf), "%s/%s.csr", dir, alg);
	if ((f = fopen(csrf, "w")) != NULL) {
		fputs(json_string_value(json_object_get(j, "csr")) ?: "", f);
		fclose(f);
	}
	json_decref(j);
	if (strcmp(alg, "sm2") == 0) { /* in C, with the SM2 distinguishing ID (as src/pki/csr.c) */
		ASN1_OCTET_STRING *sid = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(sid, (const unsigned char *)SKFB_SM2_ID, SKFB_SM2_ID_LEN);
		X509_REQ_set0_distinguishing_id(csr, sid);
		CHECK(csr != NULL && X509_REQ_verify(csr, X509_REQ_get0_pubkey(csr)) == 1,
		      "SM2 CSR verifies");
	} else {
		CHECK(run(&out, "openssl req -in %s -verify -noout 2>&1", csrf) == 0,
		      "openssl req -verify %s: %s", alg, out);
		free(out);
	}
	/* a certificate for another key is refused */
	{
		EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		char *ob = ca_issue(other, "other", serial + 1000);
		snprintf(path, sizeof(path), "/v1/keys/%s/certificates", id);
		CHECK(op("PUT", path, session, &j, "{\"key_ref\":\"%s\",\"usage\":\"sign\",\"der\":\"%s\"}",
			 ref, ob) == 409,
		      "foreign certificate");
		CHECK(strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code")) ?: "",
			     "cert_key_mismatch") == 0,
		      "cert_key_mismatch");
		json_decref(j);
		free(ob);
		EVP_PKEY_free(other);
	}
	b64 = ca_issue(X509_REQ_get0_pubkey(csr), alg, serial);
	snprintf(path, sizeof(path), "/v1/keys/%s/certificates", id);
	CHECK(op("PUT", path, session, NULL, "{\"key_ref\":\"%s\",\"usage\":\"sign\",\"der\":\"%s\"}", ref,
		 b64) == 200,
	      "write certificate %s", alg);
	/* read back */
	CHECK(op("GET", "/v1/keys", NULL, &j, NULL) == 200, "keys");
	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(json_string_value(json_object_get(k, "id")), id) == 0) {
			size_t n;
			json_array_foreach (json_object_get(k, "certificates"), n, c)
				if (strcmp(json_string_value(json_object_get(c, "key_ref")), ref) == 0 &&
				    strcmp(json_string_value(json_object_get(c, "der")), b64) == 0 &&
				    strcmp(json_string_value(json_object_get(c, "usage")), "sign") == 0)
					found = 1;
		}
	CHECK(found, "certificate %s read back", alg);
	json_decref(j);
	free(b64);
	challenge_signed(id, session, ref, pub, strcmp(alg, "sm2") == 0);
	X509_REQ_free(csr);
	EVP_PKEY_free(pub);
	return ref;
}

/* Data object round trip: PUT, GET, DELETE, GET 404. */
static void data_round_trip(const char *id, const char *session)
{
	char path[200];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/v1/keys/%s/data/seal.ofd", id);
	CHECK(op("PUT", path, session, NULL, "{\"data\":\"5Y2w56ug5pWw5o2u\"}") == 200, "data put");
	CHECK(op("PUT", path, session, NULL, "{\"data\":\"c2VhbCB2Mg==\"}") == 200, "data replace");
	CHECK(op("GET", path, session, &j, NULL) == 200, "data get");
	CHECK(strcmp(json_string_value(json_object_get(j, "data")) ?: "", "c2VhbCB2Mg==") == 0,
	      "data read back");
	json_decref(j);
	CHECK(op("DELETE", path, session, NULL, NULL) == 200, "data delete");
	CHECK(op("GET", path, session, &j, NULL) == 404, "data gone");
	json_decref(j);
	CHECK(op("DELETE", path, session, &j, NULL) == 404, "data deleted twice");
	json_decref(j);
}

/* SoftHSM2: production of an RSA-2048 and a P-256 key pair onto a token. */
static void test_softhsm(void)
{
	char *out = NULL, path[200], id[128];
	const char *session, *rsa_ref;
	char rsa[160], ec[160];
	json_t *k, *j = NULL;

	k = find_key("p11-", "label", "blank");
	CHECK(k != NULL && json_is_true(json_object_get(k, "blank")), "blank SoftHSM token listed");
	snprintf(id, sizeof(id), "%s", k ? json_string_value(json_object_get(k, "id")) : "none");
	json_decref(k);
	snprintf(path, sizeof(path), "/v1/keys/%s/init", id);
	CHECK(op("POST", path, NULL, NULL,
		 "{\"so_pin\":\"%s\",\"user_pin\":\"%s\",\"label\":\"certdesk-p11\"}", SO_PIN,
		 USER_PIN) == 200,
	      "init");
	k = find_key("p11-", "label", "certdesk-p11");
	CHECK(k != NULL, "token relabelled");
	snprintf(id, sizeof(id), "%s", k ? json_string_value(json_object_get(k, "id")) : "none");
	json_decref(k);
	session = login(id, USER_PIN);
	CHECK(session != NULL, "login");
	char sess[40];
	snprintf(sess, sizeof(sess), "%s", session ? session : "");
	rsa_ref = keypair_cert(id, sess, "rsa-2048", 11);
	snprintf(rsa, sizeof(rsa), "%s", rsa_ref);
	snprintf(ec, sizeof(ec), "%s", keypair_cert(id, sess, "ec-p256", 12));
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", id);
	CHECK(op("GET", path, sess, &j, NULL) == 200 && json_array_size(json_object_get(j, "keypairs")) == 2,
	      "two key pairs listed");
	json_decref(j);
	/* a non-blank key is not initialised again */
	snprintf(path, sizeof(path), "/v1/keys/%s/init", id);
	CHECK(op("POST", path, NULL, &j, "{\"so_pin\":\"%s\",\"user_pin\":\"%s\"}", SO_PIN, USER_PIN) == 409,
	      "key_not_blank");
	json_decref(j);
	data_round_trip(id, sess);
	/* a third pair, deleted again with its certificate */
	{
		char extra[160], dpath[400];
		snprintf(extra, sizeof(extra), "%s", keypair_cert(id, sess, "ec-p256", 13));
		snprintf(dpath, sizeof(dpath), "/v1/keys/%s/keypairs/%s", id, extra);
		CHECK(op("DELETE", dpath, sess, NULL, NULL) == 200, "delete key pair");
		CHECK(op("DELETE", dpath, sess, &j, NULL) == 404, "deleted key pair is gone");
		json_decref(j);
		snprintf(dpath, sizeof(dpath), "/v1/keys/%s/keypairs", id);
		CHECK(op("GET", dpath, sess, &j, NULL) == 200 &&
			      json_array_size(json_object_get(j, "keypairs")) == 2,
		      "two key pairs left");
		json_decref(j);
	}
	/* other middleware reads the pairs: certificate and private key share CKA_ID and CKA_LABEL */
	CHECK(run(&out, "pkcs11-tool --module %s --token-label certdesk-p11 --login --pin %s -O 2>&1",
		  SOFTHSM, USER_PIN) == 0,
	      "pkcs11-tool");
	for (int i = 0; i < 2 && out != NULL; i++) {
		const char *ref = i == 0 ? rsa : ec;
		char want_id[200], want_label[64];
		int ids = 0, labels = 0;
		snprintf(want_id, sizeof(want_id), "ID:         %s", ref);
		snprintf(want_label, sizeof(want_label), "label:      certdesk-%.8s", ref);
		for (const char *p = out; (p = strstr(p, want_id)) != NULL; p++)
			ids++;
		for (const char *p = out; (p = strstr(p, want_label)) != NULL; p++)
			labels++;
		CHECK(ids == 3 && labels == 3,
		      "pkcs11-tool shows private key, public key and certificate of %s with one ID "
		      "and label (ids %d labels %d):\n%s",
		      ref, ids, labels, out);
	}
	CHECK(out != NULL && strstr(out, "Certificate Object") != NULL, "certificate object listed");
	free(out);
	/* and GnuTLS's p11tool: one URL per object, id and object (label) the same for the three */
	out = NULL;
	CHECK(run(&out,
		  "p11tool --provider %s --list-all --login --set-pin %s 'pkcs11:token=certdesk-p11' 2>&1",
		  SOFTHSM, USER_PIN) == 0,
	      "p11tool");
	for (int i = 0; i < 2 && out != NULL; i++) {
		const char *ref = i == 0 ? rsa : ec;
		char want[300];
		int n = 0, o = snprintf(want, sizeof(want), "id=");
		for (size_t b = 0; ref[b] != '\0' && ref[b + 1] != '\0'; b += 2)
			o += snprintf(want + o, sizeof(want) - (size_t)o, "%%%c%c", ref[b], ref[b + 1]);
		snprintf(want + o, sizeof(want) - (size_t)o, ";object=certdesk-%.8s;type=", ref);
		for (const char *p = out; (p = strcasestr(p, want)) != NULL; p++)
			n++;
		CHECK(n == 3, "p11tool lists private key, public key and certificate of %s (%d):\n%s", ref, n,
		      out);
	}
	CHECK(out != NULL && strstr(out, "type=cert") != NULL, "p11tool lists a certificate");
	free(out);
	/* logout ends the session */
	snprintf(path, sizeof(path), "/v1/keys/%s/logout", id);
	CHECK(op("POST", path, sess, NULL, NULL) == 200, "logout");
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", id);
	CHECK(op("GET", path, sess, &j, NULL) == 401, "session ended");
	json_decref(j);
	/* wipe: wrong SO PIN refused, then the token is blank again */
	session = login(id, USER_PIN);
	snprintf(sess, sizeof(sess), "%s", session ? session : "");
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", id);
	CHECK(op("POST", path, sess, &j, "{\"so_pin\":\"00000000\"}") == 403, "wrong SO PIN");
	json_decref(j);
	CHECK(op("POST", path, sess, NULL, "{\"so_pin\":\"%s\"}", SO_PIN) == 200, "wipe");
	k = find_key("p11-", "label", "certdesk-p11");
	CHECK(k != NULL && json_is_true(json_object_get(k, "blank")) &&
		      json_array_size(json_object_get(k, "certificates")) == 0,
	      "wiped token is blank");
	json_decref(k);
}

#define SKF_SO_PIN "12345678"

/* The enc-key import of an SM2 envelope made by src/km for key pair ref (public key sign_pub). */
static long enc_import(const char *id, const char *session, const char *ref, EVP_PKEY *enc,
		       EVP_PKEY *sign_pub, int ulong_bytes, json_t **out)
{
	size_t len = 0;
	unsigned char *blob = km_envelope_sm2(enc, sign_pub, ulong_bytes, &len);
	char *b64 = calloc(1, len * 2 + 4), path[200];
	long st;

	EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
	snprintf(path, sizeof(path), "/v1/keys/%s/enc-key", id);
	st = op("POST", path, session, out,
		"{\"key_ref\":\"%s\",\"wrapped\":{\"format\":\"skf-envelopedkeyblob\",\"algorithm\":\"sm2\","
		"\"ulong_bytes\":%d,\"length\":%zu,\"blob\":\"%s\"}}",
		ref, ulong_bytes, len, b64);
	free(blob);
	free(b64);
	return st;
}

/* Returns the public key of key pair ref from GET keypairs (caller frees). */
static EVP_PKEY *keypair_pub(const char *id, const char *session, const char *ref, json_t **certs)
{
	char path[200];
	json_t *j = NULL, *kp;
	EVP_PKEY *pk = NULL;
	size_t i;

	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", id);
	if (op("GET", path, session, &j, NULL) == 200)
		json_array_foreach (json_object_get(j, "keypairs"), i, kp)
			if (strcmp(json_string_value(json_object_get(kp, "key_ref")), ref) == 0) {
				pk = spki_parse(json_string_value(json_object_get(kp, "public_key")));
				if (certs != NULL)
					*certs = json_incref(json_object_get(kp, "certificates"));
			}
	json_decref(j);
	return pk;
}

/* Returns the number of certificates of usage for ref on key id in GET /v1/keys. */
static int certs_on_key(const char *id, const char *ref, const char *usage)
{
	json_t *j = NULL, *k, *c;
	size_t i, n;
	int count = 0;

	if (op("GET", "/v1/keys", NULL, &j, NULL) == 200)
		json_array_foreach (json_object_get(j, "keys"), i, k)
			if (strcmp(json_string_value(json_object_get(k, "id")), id) == 0)
				json_array_foreach (json_object_get(k, "certificates"), n, c)
					count += strcmp(json_string_value(json_object_get(c, "key_ref")),
							ref) == 0 &&
						 strcmp(json_string_value(json_object_get(c, "usage")),
							usage) == 0;
	json_decref(j);
	return count;
}

/* A login with a wrong PIN: checks 401 pin_incorrect with retries_left == want (or 423 when want < 0). */
static void wrong_pin(const char *id, int want)
{
	char path[200];
	json_t *j = NULL;
	long st;

	snprintf(path, sizeof(path), "/v1/keys/%s/login", id);
	st = op("POST", path, NULL, &j, "{\"pin\":\"999999\"}");
	if (want < 0) {
		CHECK(st == 423, "locked: %ld", st);
	} else {
		CHECK(st == 401 && json_integer_value(json_object_get(json_object_get(j, "error"),
								      "retries_left")) == want,
		      "wrong PIN: %ld, want %d left", st, want);
	}
	json_decref(j);
}

/* Pulls key id out and plugs it back in while session sess is logged in (the agent keeps that login's
 * handles). GET /v1/keys must list the key's certificates again (read through fresh handles, not the
 * dead ones), and the old session must answer 401 session_required (or 410 key_removed first), so the
 * page logs in again. With list_first, the key is listed (absent) while it is out. */
static void replug(const char *id, const char *name, const char *sess, const char *ref, int list_first)
{
	char path[200];
	json_t *j = NULL, *k;
	long st;

	CHECK(run(NULL, "%s/src/softskf/certdesk-softskf-tool remove %s/skf %s", BUILD_DIR, dir, name) == 0,
	      "remove");
	if (list_first) {
		k = find_key(id, "serial", name);
		CHECK(k == NULL, "pulled-out key not listed");
		json_decref(k);
	}
	CHECK(run(NULL, "%s/src/softskf/certdesk-softskf-tool insert %s/skf %s", BUILD_DIR, dir, name) == 0,
	      "insert");
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", id);
	if (!list_first) { /* an operation first: the dead handles answer */
		st = op("GET", path, sess, &j, NULL);
		CHECK(st == 401 || st == 410, "old session after re-insertion: %ld", st);
		json_decref(j);
		j = NULL;
	}
	CHECK(certs_on_key(id, ref, "sign") == 1 && certs_on_key(id, ref, "enc") == 1,
	      "re-inserted key (%s) lists its certificates again", list_first ? "listed while out" : "not");
	k = find_key(id, "serial", name);
	CHECK(k != NULL && json_integer_value(json_object_get(json_object_get(k, "pin"), "max_retries")) > 0,
	      "re-inserted key has its PIN information");
	json_decref(k);
	st = op("GET", path, sess, &j, NULL);
	CHECK(st == 401 &&
		      strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code")) ?: "",
			     "session_required") == 0,
	      "old session ended: %ld", st);
	json_decref(j);
}

/* The software SKF key of one ULONG width: production of an SM2 dual-certificate key, removal, wipe, lock. */
static void test_skf(int bits, int index, const char *name)
{
	char id[64], path[200], ref[160], sess[40], *b64;
	const char *s;
	json_t *k, *j = NULL, *certs = NULL;
	EVP_PKEY *sign_pub, *enc;

	CHECK(run(NULL, "%s/src/softskf/certdesk-softskf-tool create %s/skf %s --serial %s --label blank",
		  BUILD_DIR, dir, name, name) == 0,
	      "create soft key");
	snprintf(id, sizeof(id), "skf%d:%s", index, name);
	k = find_key(id, "serial", name);
	CHECK(k != NULL && json_is_true(json_object_get(k, "blank")) &&
		      json_integer_value(json_object_get(k, "ulong_bits")) == bits,
	      "blank soft key %d listed", bits);
	json_decref(k);
	snprintf(path, sizeof(path), "/v1/keys/%s/init", id);
	CHECK(op("POST", path, NULL, NULL, "{\"so_pin\":\"%s\",\"user_pin\":\"%s\",\"label\":\"certdesk\"}",
		 SKF_SO_PIN, USER_PIN) == 200,
	      "skf init");
	CHECK(op("POST", path, NULL, &j, "{\"so_pin\":\"%s\",\"user_pin\":\"%s\"}", SKF_SO_PIN, USER_PIN) ==
		      409,
	      "skf key_not_blank");
	json_decref(j);
	wrong_pin(id, 5);
	wrong_pin(id, 4);
	s = login(id, USER_PIN);
	CHECK(s != NULL, "skf login");
	snprintf(sess, sizeof(sess), "%s", s ? s : "");
	snprintf(ref, sizeof(ref), "%s", keypair_cert(id, sess, "sm2", 20 + bits));
	CHECK(strncmp(ref, "certdesk-", 9) == 0 && strlen(ref) == 17, "container name %s", ref);
	/* the encryption key pair from certdeskd's key management, for this width only */
	sign_pub = keypair_pub(id, sess, ref, NULL);
	enc = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	CHECK(enc_import(id, sess, ref, enc, sign_pub, bits == 32 ? 8 : 4, &j) == 409 &&
		      strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code")) ?: "",
			     "ulong_mismatch") == 0,
	      "ulong_mismatch");
	json_decref(j);
	CHECK(enc_import(id, sess, ref, enc, sign_pub, bits / 8, NULL) == 200, "enc-key import");
	b64 = ca_issue(enc, "enc", 40 + bits);
	snprintf(path, sizeof(path), "/v1/keys/%s/certificates", id);
	CHECK(op("PUT", path, sess, NULL, "{\"key_ref\":\"%s\",\"usage\":\"enc\",\"der\":\"%s\"}", ref,
		 b64) == 200,
	      "write enc certificate");
	free(b64);
	CHECK(certs_on_key(id, ref, "sign") == 1 && certs_on_key(id, ref, "enc") == 1,
	      "sign and enc read back");
	EVP_PKEY_free(keypair_pub(id, sess, ref, &certs));
	CHECK(json_array_size(certs) == 2, "keypairs lists both certificates");
	json_decref(certs);
	data_round_trip(id, sess);
	/* a second container, deleted again */
	{
		char dpath[400], ref2[160] = "";
		snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", id);
		CHECK(op("POST", path, sess, &j, "{\"algorithm\":\"sm2\"}") == 201, "second SM2 pair");
		snprintf(ref2, sizeof(ref2), "%s", json_string_value(json_object_get(j, "key_ref")) ?: "x");
		json_decref(j);
		CHECK(op("POST", path, sess, &j, "{\"algorithm\":\"rsa-2048\"}") == 422,
		      "RSA on SKF: not_supported");
		json_decref(j);
		snprintf(dpath, sizeof(dpath), "/v1/keys/%s/keypairs/%s", id, ref2);
		CHECK(op("DELETE", dpath, sess, NULL, NULL) == 200, "delete container");
		CHECK(op("DELETE", dpath, sess, &j, NULL) == 404, "deleted container is gone");
		json_decref(j);
		snprintf(path, sizeof(path), "/v1/keys/%s/certificates", id);
	}
	/* pulled out during the next write */
	CHECK(run(NULL, "%s/src/softskf/certdesk-softskf-tool remove-after %s/skf %s 0", BUILD_DIR, dir,
		  name) == 0,
	      "remove-after");
	b64 = ca_issue(sign_pub, "again", 60 + bits);
	CHECK(op("PUT", path, sess, &j, "{\"key_ref\":\"%s\",\"usage\":\"sign\",\"der\":\"%s\"}", ref, b64) ==
			      410 &&
		      strcmp(json_string_value(json_object_get(json_object_get(j, "error"), "code")) ?: "",
			     "key_removed") == 0,
	      "key_removed");
	json_decref(j);
	free(b64);
	k = find_key(id, "serial", name);
	CHECK(k == NULL, "removed key not listed");
	json_decref(k);
	CHECK(run(NULL, "%s/src/softskf/certdesk-softskf-tool insert %s/skf %s", BUILD_DIR, dir, name) == 0,
	      "insert");
	s = login(id, USER_PIN);
	CHECK(s != NULL, "login after re-insertion");
	snprintf(sess, sizeof(sess), "%s", s ? s : "");
	CHECK(certs_on_key(id, ref, "sign") == 1, "what was written before the removal is still there");
	/* pulled out and plugged back in while logged in: fresh handles, the old login ended */
	replug(id, name, sess, ref, 0);
	s = login(id, USER_PIN);
	CHECK(s != NULL, "login after replug");
	snprintf(sess, sizeof(sess), "%s", s ? s : "");
	replug(id, name, sess, ref, 1);
	s = login(id, USER_PIN);
	CHECK(s != NULL, "login after the second replug");
	snprintf(sess, sizeof(sess), "%s", s ? s : "");
	/* wipe: wrong SO PIN refused; then blank */
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", id);
	CHECK(op("POST", path, sess, &j, "{\"so_pin\":\"00000000\"}") == 403, "skf wrong SO PIN");
	json_decref(j);
	CHECK(op("POST", path, sess, NULL, "{\"so_pin\":\"%s\"}", SKF_SO_PIN) == 200, "skf wipe");
	k = find_key(id, "serial", name);
	CHECK(k != NULL && json_is_true(json_object_get(k, "blank")), "wiped soft key is blank");
	json_decref(k);
	/* lock the user PIN; the SO PIN still wipes the key (no session can exist then) */
	snprintf(path, sizeof(path), "/v1/keys/%s/init", id);
	CHECK(op("POST", path, NULL, NULL, "{\"so_pin\":\"%s\",\"user_pin\":\"%s\"}", SKF_SO_PIN, USER_PIN) ==
		      200,
	      "skf init again");
	for (int left = 5; left >= 1; left--)
		wrong_pin(id, left);
	wrong_pin(id, -1);
	CHECK(login(id, USER_PIN) == NULL, "locked PIN refuses the right PIN too");
	k = find_key(id, "serial", name);
	CHECK(k != NULL && json_is_true(json_object_get(json_object_get(k, "pin"), "locked")),
	      "listed as locked");
	json_decref(k);
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", id);
	CHECK(op("POST", path, NULL, NULL, "{\"so_pin\":\"%s\"}", SKF_SO_PIN) == 200, "wipe a locked key");
	EVP_PKEY_free(enc);
	EVP_PKEY_free(sign_pub);
}

/* Requests the agent refuses. */
static void test_bad_requests(const char *any_id)
{
	struct reply rp;
	char host[64], path[200], *big;
	const char *pna[] = {"Access-Control-Request-Method: POST",
			     "Access-Control-Request-Private-Network: true",
			     "Access-Control-Request-Headers: content-type, x-agent-session", NULL};
	const char *evil_host[] = {host, NULL};
	const char *s;

	req("GET", "/v1/keys", NULL, 0, "http://evil.example", NULL, NULL, &rp);
	CHECK(rp.status == 403 && strcmp(err_code(&rp), "origin_forbidden") == 0, "other origin: %ld",
	      rp.status);
	CHECK(rp.headers != NULL && strcasestr(rp.headers, "Access-Control-Allow-Origin") == NULL, "no ACAO");
	reply_free(&rp);
	req("GET", "/v1/keys", NULL, 0, ORIGIN, NULL, NULL, &rp);
	CHECK(rp.status == 200 && has_header(&rp, "Access-Control-Allow-Origin", ORIGIN) &&
		      has_header(&rp, "Vary", "Origin"),
	      "allowed origin gets ACAO");
	reply_free(&rp);
	snprintf(host, sizeof(host), "Host: evil.example:%d", port);
	req("GET", "/v1/status", NULL, 0, NULL, NULL, evil_host, &rp);
	CHECK(rp.status == 421 && strcmp(err_code(&rp), "host_forbidden") == 0, "DNS rebinding: %ld",
	      rp.status);
	reply_free(&rp);
	snprintf(host, sizeof(host), "Host: localhost:%d", port);
	req("GET", "/v1/status", NULL, 0, NULL, NULL, evil_host, &rp);
	CHECK(rp.status == 200, "localhost Host");
	reply_free(&rp);
	snprintf(path, sizeof(path), "/v1/keys/%s/login", any_id);
	req("OPTIONS", path, NULL, 0, ORIGIN, NULL, pna, &rp);
	CHECK(rp.status == 204 && has_header(&rp, "Access-Control-Allow-Private-Network", "true") &&
		      has_header(&rp, "Access-Control-Allow-Origin", ORIGIN) &&
		      has_header(&rp, "Access-Control-Allow-Headers", "Content-Type, X-Agent-Session") &&
		      has_header(&rp, "Access-Control-Max-Age", "600"),
	      "PNA preflight: %ld\n%s", rp.status, rp.headers);
	reply_free(&rp);
	req("OPTIONS", path, NULL, 0, "http://evil.example", NULL, pna, &rp);
	CHECK(rp.status == 403 && strcasestr(rp.headers ?: "", "Access-Control-Allow") == NULL,
	      "evil preflight");
	reply_free(&rp);
	req("POST", path, "{\"pin\":\"123456\"}", 16, NULL, NULL, NULL, &rp);
	CHECK(rp.status == 403, "login without Origin: %ld", rp.status);
	reply_free(&rp);
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", any_id);
	req("POST", path, "{\"algorithm\":\"sm2\"}", 19, ORIGIN, NULL, NULL, &rp);
	CHECK(rp.status == 401 && strcmp(err_code(&rp), "session_required") == 0, "no session: %ld",
	      rp.status);
	reply_free(&rp);
	req("POST", path, "{\"algorithm\":\"sm2\"}", 19, ORIGIN, "0123456789abcdef0123456789abcdef", NULL,
	    &rp);
	CHECK(rp.status == 401, "made-up session: %ld", rp.status);
	reply_free(&rp);
	/* a session is bound to its Origin */
	snprintf(path, sizeof(path), "/v1/keys/%s/init", any_id);
	op("POST", path, NULL, NULL, "{\"so_pin\":\"%s\",\"user_pin\":\"%s\"}", SKF_SO_PIN, USER_PIN);
	s = login(any_id, USER_PIN);
	CHECK(s != NULL, "login for the origin check");
	snprintf(path, sizeof(path), "/v1/keys/%s/keypairs", any_id);
	req("GET", path, NULL, 0, "http://localhost:8080", s, NULL, &rp);
	CHECK(rp.status == 401, "session used from another allowed origin: %ld", rp.status);
	reply_free(&rp);
	big = malloc(300 * 1024 + 1);
	memset(big, 'a', 300 * 1024);
	big[300 * 1024] = '\0';
	snprintf(path, sizeof(path), "/v1/keys/%s/login", any_id);
	req("POST", path, big, 300 * 1024, ORIGIN, NULL, NULL, &rp);
	CHECK(rp.status == 413, "oversized body: %ld", rp.status);
	reply_free(&rp);
	free(big);
	req("POST", path, "{not json", 9, ORIGIN, NULL, NULL, &rp);
	CHECK(rp.status == 422 && strcmp(err_code(&rp), "bad_request") == 0, "malformed body: %ld",
	      rp.status);
	reply_free(&rp);
	req("GET", "/v1/keys/skf9:NOPE/keypairs", NULL, 0, ORIGIN, NULL, NULL, &rp);
	CHECK(rp.status == 401, "unknown key without session: %ld", rp.status);
	reply_free(&rp);
	req("POST", "/v1/keys/skf9:NOPE/login", "{\"pin\":\"123456\"}", 16, ORIGIN, NULL, NULL, &rp);
	CHECK(rp.status == 404 && strcmp(err_code(&rp), "key_not_found") == 0, "unknown key: %ld", rp.status);
	reply_free(&rp);
}

/* Returns 1 when path exists. */
static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Writes the configuration and the SoftHSM2 token directory. */
static void setup(int with_p11, int with_skf)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tokens", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/skf", dir);
	mkdir(path, 0700);
	setenv("CERTDESK_SOFTSKF_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(path, sizeof(path), "%s/agent.ini", dir);
	f = fopen(path, "w");
	fprintf(f, "[agent]\nport = %d\norigins = %s, http://localhost:8080\naccess_log = %s/access.log\n",
		port, ORIGIN, dir);
	if (with_p11)
		fprintf(f, "[pkcs11]\nmodules = %s\n", SOFTHSM);
	if (with_skf)
		fprintf(f,
			"[skf]\nlibraries = %s/src/softskf/libcertdesk-softskf.so:32, "
			"%s/src/softskf/libcertdesk-softskf64.so:64\ndevauth_key = 1234567812345678\n",
			BUILD_DIR, BUILD_DIR);
	fclose(f);
}

/* Returns a free loopback port. */
static int free_port(void)
{
	char *out = NULL;
	int p = 0;

	if (run(&out, "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); "
		      "print(s.getsockname()[1])'") == 0)
		p = atoi(out);
	free(out);
	return p;
}

int main(void)
{
	char lib[400];
	int with_p11 = exists(SOFTHSM), with_skf;

	snprintf(lib, sizeof(lib), "%s/src/softskf/libcertdesk-softskf64.so", BUILD_DIR);
	with_skf = exists(lib);
	if (!with_p11 && !with_skf) {
		fprintf(stderr, "SKIP: neither SoftHSM2 nor the software SKF key is available\n");
		return 77;
	}
	snprintf(dir, sizeof(dir), "/tmp/certdesk-agent-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	port = free_port();
	setup(with_p11, with_skf);
	ca_make();
	if (with_p11)
		CHECK(run(NULL,
			  "softhsm2-util --init-token --free --label blank --so-pin %s --pin %s >/dev/null",
			  SO_PIN, USER_PIN) == 0,
		      "softhsm2-util");
	if (agent_start() != 0) {
		fprintf(stderr, "FAIL: certdesk-agent did not start\n");
		run(NULL, "cat %s/agent.log >&2", dir);
		return 1;
	}
	if (with_p11)
		test_softhsm();
	else
		fprintf(stderr, "note: SoftHSM2 missing, PKCS#11 part skipped\n");
	if (with_skf) {
		test_skf(32, 0, "SOFTKEY32");
		test_skf(64, 1, "SOFTKEY64");
		CHECK(run(NULL, "%s/src/softskf/certdesk-softskf-tool create %s/skf BAD --serial BAD",
			  BUILD_DIR, dir) == 0,
		      "create");
		test_bad_requests("skf0:BAD");
	} else {
		fprintf(stderr, "note: software SKF key not built, SKF part skipped\n");
	}
	agent_stop();
	CHECK(run(NULL, "grep -q -e %s -e %s -e %s %s/agent.log %s/access.log", USER_PIN, SO_PIN, SKF_SO_PIN,
		  dir, dir) == 1,
	      "no PIN in the agent's logs");
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	curl_global_cleanup();
	fprintf(stderr, "%d checks, %d failed\n", checks, failures);
	if (failures == 0)
		run(NULL, "rm -rf %s", dir);
	else
		fprintf(stderr, "%d failure(s); files kept in %s\n", failures, dir);
	return failures == 0 ? 0 : 1;
}
