/* libFuzzer driver for certdesk-agent's HTTP API in process: the agent's real server, before hook
 * (Host, Origin, session), path-parameter declarations and handlers run on a loopback port over a
 * fake token backend (one key "fake0:KEY" whose key pairs are P-256 keys in memory, so CSR and sign
 * run through), without SoftHSM or any SKF library. Each input picks a route of the contract, the
 * Origin (allowed, another, none), the Host (loopback, another, none), the session (valid, made up,
 * none), the Content-Type, the path parameters (any bytes, percent-encoded) and the body.
 * Invariants: no reply is a 500, every request gets a reply, a request with another Host never
 * reaches a handler (421, or the 400/413 the transport answers first), a reply to another Origin
 * never carries Access-Control-Allow-Origin. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "http/http.h"

#define ORIGIN "http://127.0.0.1:8080"
#define KEY "fake0:KEY"
#define MAX_PAIRS 4
#define MAX_DATA 4

/* --- the fake token: a few P-256 key pairs and data objects in memory --- */

struct fake {
	EVP_PKEY *pairs[MAX_PAIRS];
	char refs[MAX_PAIRS][TOK_REF_MAX];
	char names[MAX_DATA][40];
	unsigned char *data[MAX_DATA];
	size_t lens[MAX_DATA];
	int logged_in;
};
static struct fake fk;

/* Returns the slot of key pair ref, or -1. */
static int pair_of(const char *ref)
{
	for (int i = 0; i < MAX_PAIRS; i++)
		if (fk.pairs[i] != NULL && strcmp(fk.refs[i], ref) == 0)
			return i;
	return -1;
}

static void f_list(struct token_module *m, json_t *arr)
{
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:[s], s:[]}", "id", KEY, "kind",
					     "skf", "module", m->name, "label", "fake", "serial", "KEY",
					     "blank", 0, "algorithms", "ec-p256", "certificates"));
}

/* Returns TOK_NOT_FOUND for any key but KEY. */
static int known(const char *id)
{
	return strcmp(id, KEY) == 0 ? TOK_OK : TOK_NOT_FOUND;
}

static int f_init(struct token_module *m, const char *id, const char *so, const char *user, const char *label,
		  struct tok_result *res)
{
	(void)m, (void)so, (void)user, (void)label, (void)res;
	return known(id) != TOK_OK ? TOK_NOT_FOUND : TOK_NOT_BLANK;
}

static int f_login(struct token_module *m, const char *id, const char *pin, struct tok_result *res)
{
	(void)m;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	res->retries_left = 6;
	return strcmp(pin, "123456") == 0 ? TOK_OK : TOK_PIN_INCORRECT;
}

static void f_logout(struct token_module *m, const char *id)
{
	(void)m, (void)id;
}

static int f_logged_in(struct token_module *m, const char *id)
{
	(void)m;
	return known(id) == TOK_OK; /* the fake key is never pulled out */
}

static int f_keypair_new(struct token_module *m, const char *id, const char *alg, char ref[TOK_REF_MAX],
			 EVP_PKEY **pub, struct tok_result *res)
{
	static unsigned counter;
	int slot = (int)(counter % MAX_PAIRS);

	(void)m, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (strcmp(alg, "ec-p256") != 0)
		return TOK_UNSUPPORTED;
	EVP_PKEY_free(fk.pairs[slot]);
	fk.pairs[slot] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	snprintf(fk.refs[slot], TOK_REF_MAX, "%08x", counter++);
	snprintf(ref, TOK_REF_MAX, "%s", fk.refs[slot]);
	EVP_PKEY_up_ref(fk.pairs[slot]);
	*pub = fk.pairs[slot];
	return TOK_OK;
}

static json_t *f_keypairs(struct token_module *m, const char *id, int *err, struct tok_result *res)
{
	json_t *arr = json_array();

	(void)m, (void)res;
	if ((*err = known(id)) != TOK_OK) {
		json_decref(arr);
		return NULL;
	}
	for (int i = 0; i < MAX_PAIRS; i++)
		if (fk.pairs[i] != NULL) {
			char *spki = tok_spki_b64(fk.pairs[i]);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:[]}", "key_ref", fk.refs[i],
							     "algorithm", "ec-p256", "public_key", spki,
							     "certificates"));
			free(spki);
		}
	return arr;
}

static int f_pubkey(struct token_module *m, const char *id, const char *ref, EVP_PKEY **pub,
		    struct tok_result *res)
{
	int i = pair_of(ref);

	(void)m, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (i < 0)
		return TOK_REF_NOT_FOUND;
	EVP_PKEY_up_ref(fk.pairs[i]);
	*pub = fk.pairs[i];
	return TOK_OK;
}

static int f_sign(struct token_module *m, const char *id, const char *ref, const unsigned char *data,
		  size_t len, unsigned char **sig, size_t *siglen, struct tok_result *res)
{
	int i = pair_of(ref), ok;
	EVP_MD_CTX *ctx;

	(void)m, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (i < 0)
		return TOK_REF_NOT_FOUND;
	ctx = EVP_MD_CTX_new();
	*siglen = 80;
	*sig = malloc(80);
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, fk.pairs[i]) == 1 &&
	     EVP_DigestSign(ctx, *sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(*sig);
		*sig = NULL;
		return TOK_ERROR;
	}
	return TOK_OK;
}

static int f_cert_put(struct token_module *m, const char *id, const char *ref, int enc,
		      const unsigned char *der, size_t len, struct tok_result *res)
{
	(void)m, (void)enc, (void)der, (void)len, (void)res;
	return known(id) != TOK_OK ? TOK_NOT_FOUND : pair_of(ref) < 0 ? TOK_REF_NOT_FOUND : TOK_OK;
}

static int f_enc_import(struct token_module *m, const char *id, const char *ref, json_t *wrapped,
			struct tok_result *res)
{
	(void)m, (void)ref, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	return json_integer_value(json_object_get(wrapped, "ulong_bytes")) == 4 ? TOK_OK : TOK_ULONG_MISMATCH;
}

/* Returns the data slot of name, or a free one when create, or -1. */
static int data_of(const char *name, int create)
{
	for (int i = 0; i < MAX_DATA; i++)
		if (fk.data[i] != NULL && strcmp(fk.names[i], name) == 0)
			return i;
	for (int i = 0; create && i < MAX_DATA; i++)
		if (fk.data[i] == NULL)
			return i;
	return -1;
}

static int f_data_put(struct token_module *m, const char *id, const char *name, const unsigned char *data,
		      size_t len, struct tok_result *res)
{
	int i = data_of(name, 1);

	(void)m;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (i < 0) {
		res->code = SIZE_MAX & 0x0A000030;
		return TOK_ERROR; /* full: the token's "no room" */
	}
	free(fk.data[i]);
	fk.data[i] = malloc(len + 1);
	memcpy(fk.data[i], data, len);
	fk.lens[i] = len;
	snprintf(fk.names[i], sizeof(fk.names[i]), "%s", name);
	return TOK_OK;
}

static int f_data_get(struct token_module *m, const char *id, const char *name, unsigned char **out,
		      size_t *len, struct tok_result *res)
{
	int i = data_of(name, 0);

	(void)m, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (i < 0)
		return TOK_REF_NOT_FOUND;
	*out = malloc(fk.lens[i] + 1);
	memcpy(*out, fk.data[i], fk.lens[i]);
	*len = fk.lens[i];
	return TOK_OK;
}

static int f_data_del(struct token_module *m, const char *id, const char *name, struct tok_result *res)
{
	int i = data_of(name, 0);

	(void)m, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (i < 0)
		return TOK_REF_NOT_FOUND;
	free(fk.data[i]);
	fk.data[i] = NULL;
	return TOK_OK;
}

static int f_keypair_del(struct token_module *m, const char *id, const char *ref, struct tok_result *res)
{
	int i = pair_of(ref);

	(void)m, (void)res;
	if (known(id) != TOK_OK)
		return TOK_NOT_FOUND;
	if (i < 0)
		return TOK_REF_NOT_FOUND;
	EVP_PKEY_free(fk.pairs[i]);
	fk.pairs[i] = NULL;
	return TOK_OK;
}

static int f_wipe(struct token_module *m, const char *id, const char *so, struct tok_result *res)
{
	(void)m, (void)so, (void)res;
	return known(id) != TOK_OK ? TOK_NOT_FOUND : TOK_SO_PIN_INCORRECT; /* the key stays as it is */
}

static void f_unload(struct token_module *m)
{
	free(m);
}

static const struct token_ops fake_ops = {
	.list_keys = f_list,
	.init = f_init,
	.login = f_login,
	.logout = f_logout,
	.logged_in = f_logged_in,
	.keypair_new = f_keypair_new,
	.keypairs = f_keypairs,
	.pubkey = f_pubkey,
	.sign = f_sign,
	.cert_put = f_cert_put,
	.enc_import = f_enc_import,
	.data_put = f_data_put,
	.data_get = f_data_get,
	.data_del = f_data_del,
	.keypair_del = f_keypair_del,
	.wipe = f_wipe,
	.unload = f_unload,
};

/* --- the driver --- */

static struct agent *agent;
static struct token_module *fake;
static int port;

/* The routes of the contract (method, pattern), OPTIONS and an unknown path last. */
static const char *const routes[][2] = {
	{"GET", "/v1/status"},
	{"GET", "/v1/keys"},
	{"POST", "/v1/keys/{id}/init"},
	{"POST", "/v1/keys/{id}/login"},
	{"POST", "/v1/keys/{id}/logout"},
	{"POST", "/v1/keys/{id}/keypairs"},
	{"GET", "/v1/keys/{id}/keypairs"},
	{"DELETE", "/v1/keys/{id}/keypairs/{ref}"},
	{"POST", "/v1/keys/{id}/csr"},
	{"POST", "/v1/keys/{id}/sign"},
	{"PUT", "/v1/keys/{id}/certificates"},
	{"POST", "/v1/keys/{id}/enc-key"},
	{"PUT", "/v1/keys/{id}/data/{name}"},
	{"GET", "/v1/keys/{id}/data/{name}"},
	{"DELETE", "/v1/keys/{id}/data/{name}"},
	{"POST", "/v1/keys/{id}/wipe"},
	{"OPTIONS", "/v1/keys/{id}/login"},
	{"PATCH", "/v1/{id}"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct agent_config cfg;
	char err[256];

	(void)argc;
	(void)argv;
	agent_config_defaults(&cfg);
	agent = agent_new(&cfg); /* no modules configured: only the fake */
	fake = calloc(1, sizeof(*fake));
	fake->ops = &fake_ops;
	fake->kind = "skf";
	fake->index = 0;
	fake->ok = 1;
	snprintf(fake->name, sizeof(fake->name), "fake");
	agent_add_module(agent, fake);
	if (agent_http_start(agent, 0, &port, err, sizeof(err)) == NULL) {
		fprintf(stderr, "fuzz_agent: %s\n", err);
		abort();
	}
	return 0; /* the server runs until the process ends */
}

/* Sends req (len bytes); returns the status (-1: no reply) and whether the head has ACAO. */
static int exchange(const char *req, size_t len, int *acao)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	for (size_t off = 0; off < len; off += (size_t)n)
		if ((n = send(fd, req + off, len - off, MSG_NOSIGNAL)) <= 0)
			break;
	for (;;) {
		char rest[4096];
		int keep = got < sizeof(buf) - 1;
		n = recv(fd, keep ? buf + got : rest, keep ? sizeof(buf) - 1 - got : sizeof(rest), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (keep)
			got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*acao = strstr(buf, "Access-Control-Allow-Origin") != NULL;
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	return status;
}

/* Appends the bytes of p percent-encoded to out at *o. */
static void put_value(char *out, size_t cap, size_t *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && *o + 4 < cap; i++)
		*o += (size_t)snprintf(out + *o, cap - *o, "%%%02X", p[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[1 << 17];
	char path[4096], session[33] = "";
	const uint8_t *sep, *vals, *body;
	size_t nvals, nbody, o = 0, r;
	int route, origin, host, sess, ctype, status, acao;

	if (size < 3)
		return 0;
	route = data[0] % NROUTES;
	origin = data[1] % 3;     /* allowed, another, none */
	host = (data[1] / 3) % 3; /* loopback, another, none */
	sess = (data[1] / 9) % 3; /* valid, made up, none */
	ctype = (data[1] / 27) % 2;
	data += 2;
	size -= 2;
	sep = memchr(data, 0xff, size);
	vals = data;
	nvals = sep != NULL ? (size_t)(sep - data) : size;
	body = sep != NULL ? sep + 1 : data + size;
	nbody = sep != NULL ? size - nvals - 1 : 0;
	if (nbody > sizeof(req) / 2)
		nbody = sizeof(req) / 2;
	/* {id}: "fake0:KEY" when the first chunk is empty, else the chunk; other params: the chunks */
	for (const char *p = routes[route][1]; *p != '\0' && o + 8 < sizeof(path);) {
		if (*p == '{') {
			const uint8_t *end = memchr(vals, ',', nvals);
			size_t len = end != NULL ? (size_t)(end - vals) : nvals;
			if (len == 0 && strncmp(p, "{id}", 4) == 0)
				o += (size_t)snprintf(path + o, sizeof(path) - o, "%s", KEY);
			else
				put_value(path, sizeof(path), &o, vals, len);
			vals += len + (end != NULL);
			nvals -= len + (end != NULL);
			p = strchr(p, '}') + 1;
		} else {
			path[o++] = *p++;
		}
	}
	path[o] = '\0';
	if (sess == 0) {
		agent_lock(agent);
		agent_session_new(agent, fake, KEY, ORIGIN, session);
		agent_unlock(agent);
	}
	r = (size_t)snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nConnection: close\r\n", routes[route][0],
			     path);
	if (host != 2)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "Host: %s:%d\r\n",
				      host == 0 ? "127.0.0.1" : "evil.example", port);
	if (origin != 2)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "Origin: %s\r\n",
				      origin == 0 ? ORIGIN : "http://evil.example");
	if (sess != 2)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "X-Agent-Session: %s\r\n",
				      sess == 0 ? session : "00000000000000000000000000000000");
	if (strcmp(routes[route][0], "OPTIONS") == 0)
		r += (size_t)snprintf(req + r, sizeof(req) - r,
				      "Access-Control-Request-Private-Network: true\r\n");
	if (ctype == 0)
		r += (size_t)snprintf(req + r, sizeof(req) - r, "Content-Type: application/json\r\n");
	r += (size_t)snprintf(req + r, sizeof(req) - r, "Content-Length: %zu\r\n\r\n", nbody);
	memcpy(req + r, body, nbody);
	status = exchange(req, r + nbody, &acao);
	if (status == 500 || status < 0 || (host != 0 && status != 421 && status != 400 && status != 413) ||
	    (origin == 1 && acao)) {
		fprintf(stderr, "fuzz_agent: %s %s (origin %d host %d session %d) answered %d, ACAO %d\n",
			routes[route][0], path, origin, host, sess, status, acao);
		abort();
	}
	return 0;
}
