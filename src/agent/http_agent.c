/* The agent's HTTP API (/work/briefs/agent-contract.md; README.md "certdesk-agent"): every request
 * passes the Host check (DNS rebinding) and the Origin check (CORS) in the before hook, then the
 * session check for key operations; handlers parse, call the token under the agent's lock, reply. */
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"
#include "http/http.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/xalloc.h"

enum access { ACC_OPEN, ACC_ORIGIN, ACC_SESSION };

struct actx {
	struct agent *a;
	int port;
};

#define A(r) (((struct actx *)http_ctx(r))->a)

/* Replies {"error":{"code","message"} + extra's members}; extra (may be NULL) is stolen. */
static int reply_err(struct http_req *r, unsigned status, const char *code, const char *msg, json_t *extra)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);

	if (extra != NULL) {
		json_object_update(e, extra);
		json_decref(extra);
	}
	return http_reply_json(r, status, json_pack("{s:o}", "error", e));
}

/* Answers a token error with its status and code. */
static int reply_tok(struct http_req *r, int err, const struct tok_result *res)
{
	char msg[160], detail[96];

	switch (err) {
	case TOK_NOT_FOUND:
		return reply_err(r, 404, "key_not_found", "未找到该 USB key，请确认已插入", NULL);
	case TOK_REMOVED:
		return reply_err(r, 410, "key_removed", "操作过程中 USB key 被拔出，请重新插入后重试", NULL);
	case TOK_PIN_INCORRECT:
		if (res->retries_left >= 0)
			snprintf(msg, sizeof(msg), "PIN 码错误，还可重试 %d 次", res->retries_left);
		else
			snprintf(msg, sizeof(msg), "PIN 码错误");
		return reply_err(r, 401, "pin_incorrect", msg,
				 json_pack("{s:i}", "retries_left", res->retries_left));
	case TOK_PIN_LOCKED:
		return reply_err(r, 423, "pin_locked", "PIN 码已锁定，请联系管理员解锁", NULL);
	case TOK_NOT_BLANK:
		return reply_err(r, 409, "key_not_blank", "该 USB key 不是空白 key，请先清除或换一个空白 key",
				 NULL);
	case TOK_BLANK:
		return reply_err(r, 409, "key_blank", "该 USB key 尚未初始化", NULL);
	case TOK_SO_PIN_INCORRECT:
		return reply_err(r, 403, "so_pin_incorrect", "管理员 PIN 码错误", NULL);
	case TOK_BAD:
		return reply_err(r, 422, "bad_request", "请求内容不正确", NULL);
	case TOK_ULONG_MISMATCH:
		return reply_err(r, 409, "ulong_mismatch",
				 "加密密钥的格式与该 USB key 的驱动不匹配（ULONG 宽度不同）", NULL);
	case TOK_CERT_MISMATCH:
		return reply_err(r, 409, "cert_key_mismatch", "证书的公钥与该密钥对不符", NULL);
	case TOK_UNSUPPORTED:
		return reply_err(r, 422, "not_supported", "该 USB key 不支持此操作", NULL);
	case TOK_NOT_LOGGED_IN:
		return reply_err(r, 401, "session_required", "请先输入 PIN 码登录 USB key", NULL);
	case TOK_REF_NOT_FOUND:
		return reply_err(r, 404, "object_not_found", "USB key 上没有该对象", NULL);
	default:
		snprintf(detail, sizeof(detail), "%s: 0x%08lx", res->what[0] ? res->what : "token",
			 res->code);
		return reply_err(r, 502, "token_error", "USB key 操作失败，请重试或更换 USB key",
				 json_pack("{s:s}", "detail", detail));
	}
}

/* The request body as a JSON object, or NULL after a 422. */
static json_t *body_json(struct http_req *r)
{
	size_t len = 0;
	const char *b = http_body(r, &len);
	json_t *j = len > 0 ? json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL) : NULL;

	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		reply_err(r, 422, "bad_request", "请求内容不是有效的 JSON 对象", NULL);
		return NULL;
	}
	return j;
}

/* Overwrites the PIN members of j and the request body, so PINs do not linger in freed memory. */
static void forget_pins(struct http_req *r, json_t *j)
{
	static const char *const names[] = {"pin", "so_pin", "user_pin"};
	size_t len = 0;
	char *body = (char *)http_body(r, &len); /* the request's own buffer ("" when empty: len 0) */

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = json_string_value(json_object_get(j, names[i]));
		if (v != NULL)
			OPENSSL_cleanse((void *)v, strlen(v));
	}
	if (len > 0)
		OPENSSL_cleanse(body, len);
}

/* Returns string member name of j of 1..max bytes without control characters, or NULL. */
static const char *field(json_t *j, const char *name, size_t max)
{
	const char *s = json_string_value(json_object_get(j, name));
	size_t n = s != NULL ? strlen(s) : 0;

	return n >= 1 && n <= max && !str_has_control(s) ? s : NULL;
}

/* Decodes base64 member name of j (at most AGENT_MAX_BODY bytes). Returns the bytes (caller frees) or NULL.
 */
static unsigned char *field_b64(json_t *j, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(j, name));
	unsigned char *out;

	if (s == NULL)
		return NULL;
	out = xcalloc(strlen(s) / 4 * 3 + 4);
	if (sodium_base642bin(out, strlen(s) / 4 * 3 + 4, s, strlen(s), NULL, len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Returns base64 of len bytes (caller frees). */
static char *b64(const unsigned char *p, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = xcalloc(n);

	sodium_bin2base64(s, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* The module of the request's key, or NULL after a 404. */
static struct token_module *key_module(struct http_req *r)
{
	struct token_module *m = agent_module_of(A(r), http_param(r, "id"));

	if (m == NULL)
		reply_err(r, 404, "key_not_found", "未找到该 USB key，请确认已插入", NULL);
	return m;
}

static int h_status(struct http_req *r)
{
	json_t *j;

	agent_lock(A(r));
	j = agent_status_json(A(r));
	agent_unlock(A(r));
	return http_reply_json(r, 200, j);
}

static int h_keys(struct http_req *r)
{
	json_t *j;

	agent_lock(A(r));
	j = agent_keys_json(A(r));
	agent_unlock(A(r));
	return http_reply_json(r, 200, j);
}

static int h_init(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *so, *user, *label;
	struct tok_result res = {.retries_left = -1};
	int rc;

	if (j == NULL)
		return 0;
	so = field(j, "so_pin", 64);
	user = field(j, "user_pin", 64);
	label = json_object_get(j, "label") != NULL ? field(j, "label", 32) : "certdesk";
	if (so == NULL || user == NULL || label == NULL) {
		forget_pins(r, j);
	json_decref(j);
		return reply_err(r, 422, "bad_request",
				 "请填写管理员 PIN、用户 PIN 和标签（标签最多 32 字节）", NULL);
	}
	agent_lock(A(r));
	rc = m->ops->init(m, http_param(r, "id"), so, user, label, &res);
	if (rc == TOK_OK) /* a key initialised anew has no login left */
		agent_sessions_drop_key(A(r), http_param(r, "id"));
	agent_unlock(A(r));
	forget_pins(r, j);
	json_decref(j);
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

static int h_login(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *pin;
	struct tok_result res = {.retries_left = -1};
	char session[33];
	int rc;

	if (j == NULL)
		return 0;
	if ((pin = field(j, "pin", 64)) == NULL) {
		forget_pins(r, j);
	json_decref(j);
		return reply_err(r, 422, "bad_request", "请输入 PIN 码", NULL);
	}
	agent_lock(A(r));
	rc = m->ops->login(m, http_param(r, "id"), pin, &res);
	if (rc == TOK_OK)
		agent_session_new(A(r), m, http_param(r, "id"), http_header(r, "Origin"), session);
	agent_unlock(A(r));
	forget_pins(r, j);
	json_decref(j);
	if (rc != TOK_OK)
		return reply_tok(r, rc, &res);
	rc = http_reply_json(r, 200,
			     json_pack("{s:s, s:i}", "session", session, "retries_left", res.retries_left));
	OPENSSL_cleanse(session, sizeof(session));
	return rc;
}

static int h_logout(struct http_req *r)
{
	const char *s = http_header(r, "X-Agent-Session");

	agent_lock(A(r));
	if (s != NULL)
		agent_session_end(A(r), s, http_param(r, "id"));
	agent_unlock(A(r));
	return http_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
}

static int h_keypair_new(struct http_req *r)
{
	static const char *const algs[] = {"sm2", "rsa-2048", "rsa-3072", "ec-p256"};
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *alg;
	struct tok_result res = {.retries_left = -1};
	char ref[TOK_REF_MAX], *spki;
	EVP_PKEY *pub = NULL;
	int rc, known = 0;

	if (j == NULL)
		return 0;
	alg = field(j, "algorithm", 16);
	for (size_t i = 0; alg != NULL && i < sizeof(algs) / sizeof(algs[0]); i++)
		known |= strcmp(alg, algs[i]) == 0;
	if (!known) {
		json_decref(j);
		return reply_err(r, 422, "bad_request", "algorithm 必须是 sm2、rsa-2048、rsa-3072 或 ec-p256",
				 NULL);
	}
	agent_lock(A(r));
	rc = m->ops->keypair_new(m, http_param(r, "id"), alg, ref, &pub, &res);
	agent_unlock(A(r));
	json_decref(j);
	if (rc != TOK_OK)
		return reply_tok(r, rc, &res);
	spki = tok_spki_b64(pub);
	EVP_PKEY_free(pub);
	rc = http_reply_json(r, 201, json_pack("{s:s, s:s?}", "key_ref", ref, "public_key", spki));
	free(spki);
	return rc;
}

static int h_keypairs(struct http_req *r)
{
	struct token_module *m = key_module(r);
	struct tok_result res = {.retries_left = -1};
	json_t *arr;
	int err = TOK_OK;

	if (m == NULL)
		return 0;
	agent_lock(A(r));
	arr = m->ops->keypairs(m, http_param(r, "id"), &err, &res);
	agent_unlock(A(r));
	return arr != NULL ? http_reply_json(r, 200, json_pack("{s:o}", "keypairs", arr))
			   : reply_tok(r, err, &res);
}

static int h_keypair_del(struct http_req *r)
{
	struct token_module *m = key_module(r);
	struct tok_result res = {.retries_left = -1};
	int rc;

	if (m == NULL)
		return 0;
	agent_lock(A(r));
	rc = m->ops->keypair_del(m, http_param(r, "id"), http_param(r, "ref"), &res);
	agent_unlock(A(r));
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

/* The key_ref member: the characters a ref may hold. */
static const char *ref_field(json_t *j)
{
	const char *ref = field(j, "key_ref", TOK_REF_MAX - 1);

	return ref != NULL && strspn(ref,
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
				       strlen(ref)
		       ? ref
		       : NULL;
}

static int h_csr(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *ref, *subject;
	struct tok_result res = {.retries_left = -1};
	char *pem = NULL;
	int rc;

	if (j == NULL)
		return 0;
	ref = ref_field(j);
	subject = json_object_get(j, "subject") != NULL ? field(j, "subject", 1024) : "CN=certdesk";
	if (ref == NULL || subject == NULL) {
		json_decref(j);
		return reply_err(r, 422, "bad_request", "请求需要 key_ref，subject 形如 CN=…,O=…", NULL);
	}
	agent_lock(A(r));
	rc = agent_csr(m, http_param(r, "id"), ref, subject, &pem, &res);
	agent_unlock(A(r));
	json_decref(j);
	if (rc != TOK_OK)
		return reply_tok(r, rc, &res);
	rc = http_reply_json(r, 200, json_pack("{s:s}", "csr", pem));
	free(pem);
	return rc;
}

static int h_sign(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *ref;
	unsigned char *data = NULL, *sig = NULL;
	size_t len = 0, siglen = 0;
	struct tok_result res = {.retries_left = -1};
	int rc;
	char *s;

	if (j == NULL)
		return 0;
	if ((ref = ref_field(j)) == NULL || (data = field_b64(j, "data", &len)) == NULL) {
		json_decref(j);
		return reply_err(r, 422, "bad_request", "请求需要 key_ref 和 base64 的 data", NULL);
	}
	agent_lock(A(r));
	rc = agent_sign(m, http_param(r, "id"), ref, data, len, &sig, &siglen, &res);
	agent_unlock(A(r));
	json_decref(j);
	free(data);
	if (rc != TOK_OK)
		return reply_tok(r, rc, &res);
	s = b64(sig, siglen);
	free(sig);
	rc = http_reply_json(r, 200, json_pack("{s:s}", "signature", s));
	free(s);
	return rc;
}

/* Checks a sign certificate against its key pair; returns TOK_OK or an error. */
static int cert_check(struct token_module *m, const char *id, const char *ref, int enc,
		      const unsigned char *der, size_t len, struct tok_result *res)
{
	EVP_PKEY *pub = NULL;
	int rc;

	if (enc) { /* its key pair arrives with the enc-key import: only its form is checked here */
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		rc = x != NULL && p == der + len ? TOK_OK : TOK_BAD;
		X509_free(x);
		return rc;
	}
	if ((rc = m->ops->pubkey(m, id, ref, &pub, res)) != TOK_OK)
		return rc;
	rc = tok_cert_matches(der, len, pub) ? TOK_OK : TOK_CERT_MISMATCH;
	EVP_PKEY_free(pub);
	return rc;
}

static int h_cert_put(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *ref, *usage;
	unsigned char *der = NULL;
	size_t len = 0;
	struct tok_result res = {.retries_left = -1};
	int rc, enc;

	if (j == NULL)
		return 0;
	ref = ref_field(j);
	usage = field(j, "usage", 8);
	der = field_b64(j, "der", &len);
	if (ref == NULL || usage == NULL || (strcmp(usage, "sign") != 0 && strcmp(usage, "enc") != 0) ||
	    der == NULL || len == 0) {
		json_decref(j);
		free(der);
		return reply_err(r, 422, "bad_request",
				 "请求需要 key_ref、usage（sign 或 enc）和 base64 的 der", NULL);
	}
	enc = strcmp(usage, "enc") == 0;
	agent_lock(A(r));
	rc = cert_check(m, http_param(r, "id"), ref, enc, der, len, &res);
	if (rc == TOK_OK)
		rc = m->ops->cert_put(m, http_param(r, "id"), ref, enc, der, len, &res);
	agent_unlock(A(r));
	json_decref(j);
	free(der);
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

static int h_enc_key(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *ref;
	struct tok_result res = {.retries_left = -1};
	int rc;

	if (j == NULL)
		return 0;
	if ((ref = ref_field(j)) == NULL || !json_is_object(json_object_get(j, "wrapped"))) {
		json_decref(j);
		return reply_err(r, 422, "bad_request", "请求需要 key_ref 和 wrapped（平台给出的加密密钥）",
				 NULL);
	}
	agent_lock(A(r));
	rc = m->ops->enc_import(m, http_param(r, "id"), ref, json_object_get(j, "wrapped"), &res);
	agent_unlock(A(r));
	json_decref(j);
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

static int h_data_put(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	unsigned char *data;
	size_t len = 0;
	struct tok_result res = {.retries_left = -1};
	int rc;

	if (j == NULL)
		return 0;
	if ((data = field_b64(j, "data", &len)) == NULL) {
		json_decref(j);
		return reply_err(r, 422, "bad_request", "请求需要 base64 的 data", NULL);
	}
	agent_lock(A(r));
	rc = m->ops->data_put(m, http_param(r, "id"), http_param(r, "name"), data, len, &res);
	agent_unlock(A(r));
	json_decref(j);
	free(data);
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

static int h_data_get(struct http_req *r)
{
	struct token_module *m = key_module(r);
	unsigned char *data = NULL;
	size_t len = 0;
	struct tok_result res = {.retries_left = -1};
	int rc;
	char *s;

	if (m == NULL)
		return 0;
	agent_lock(A(r));
	rc = m->ops->data_get(m, http_param(r, "id"), http_param(r, "name"), &data, &len, &res);
	agent_unlock(A(r));
	if (rc != TOK_OK)
		return reply_tok(r, rc, &res);
	s = b64(data, len);
	free(data);
	rc = http_reply_json(r, 200, json_pack("{s:s}", "data", s));
	free(s);
	return rc;
}

static int h_data_del(struct http_req *r)
{
	struct token_module *m = key_module(r);
	struct tok_result res = {.retries_left = -1};
	int rc;

	if (m == NULL)
		return 0;
	agent_lock(A(r));
	rc = m->ops->data_del(m, http_param(r, "id"), http_param(r, "name"), &res);
	agent_unlock(A(r));
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

static int h_wipe(struct http_req *r)
{
	struct token_module *m = key_module(r);
	json_t *j = m != NULL ? body_json(r) : NULL;
	const char *so;
	struct tok_result res = {.retries_left = -1};
	int rc;

	if (j == NULL)
		return 0;
	if ((so = field(j, "so_pin", 64)) == NULL) {
		forget_pins(r, j);
	json_decref(j);
		return reply_err(r, 422, "bad_request", "请输入管理员 PIN 码", NULL);
	}
	agent_lock(A(r));
	rc = m->ops->wipe(m, http_param(r, "id"), so, &res);
	agent_sessions_drop_key(A(r), http_param(r, "id")); /* the backend has logged the key out */
	agent_unlock(A(r));
	forget_pins(r, j);
	json_decref(j);
	return rc == TOK_OK ? http_reply_json(r, 200, json_pack("{s:b}", "ok", 1)) : reply_tok(r, rc, &res);
}

/* OPTIONS: the CORS preflight (the before hook has checked Host and Origin and added ACAO). */
static int h_preflight(struct http_req *r)
{
	const char *pna = http_header(r, "Access-Control-Request-Private-Network");

	http_add_header(r, "Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
	http_add_header(r, "Access-Control-Allow-Headers", "Content-Type, X-Agent-Session");
	http_add_header(r, "Access-Control-Max-Age", "600");
	if (pna != NULL && strcasecmp(pna, "true") == 0)
		http_add_header(r, "Access-Control-Allow-Private-Network", "true");
	return http_reply_bytes(r, 204, "text/plain", "", 0);
}

static int h_not_found(struct http_req *r)
{
	return reply_err(r, 404, "not_found", "未找到请求的资源", NULL);
}

static const struct route routes[] = {
	{"GET", "/v1/status", h_status, ACC_OPEN},
	{"GET", "/v1/keys", h_keys, ACC_OPEN},
	{"POST", "/v1/keys/{id}/init", h_init, ACC_ORIGIN},
	{"POST", "/v1/keys/{id}/login", h_login, ACC_ORIGIN},
	{"POST", "/v1/keys/{id}/logout", h_logout, ACC_ORIGIN},
	{"POST", "/v1/keys/{id}/keypairs", h_keypair_new, ACC_SESSION},
	{"GET", "/v1/keys/{id}/keypairs", h_keypairs, ACC_SESSION},
	{"DELETE", "/v1/keys/{id}/keypairs/{ref}", h_keypair_del, ACC_SESSION},
	{"POST", "/v1/keys/{id}/csr", h_csr, ACC_SESSION},
	{"POST", "/v1/keys/{id}/sign", h_sign, ACC_SESSION},
	{"PUT", "/v1/keys/{id}/certificates", h_cert_put, ACC_SESSION},
	{"POST", "/v1/keys/{id}/enc-key", h_enc_key, ACC_SESSION},
	{"PUT", "/v1/keys/{id}/data/{name}", h_data_put, ACC_SESSION},
	{"GET", "/v1/keys/{id}/data/{name}", h_data_get, ACC_SESSION},
	{"DELETE", "/v1/keys/{id}/data/{name}", h_data_del, ACC_SESSION},
	{"POST", "/v1/keys/{id}/wipe", h_wipe,
	 ACC_ORIGIN}, /* the SO PIN authorises: a locked key has no session */
	{"OPTIONS", "/*", h_preflight, ACC_ORIGIN},
	/* Anything else still passes the Host and Origin checks before its 404. */
	{"GET", "/*", h_not_found, ACC_ORIGIN},
	{"POST", "/*", h_not_found, ACC_ORIGIN},
	{"PUT", "/*", h_not_found, ACC_ORIGIN},
	{"DELETE", "/*", h_not_found, ACC_ORIGIN},
	{"PATCH", "/*", h_not_found, ACC_ORIGIN},
};

#define IDCHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
static const struct http_param params[] = {
	{"id", 1, 96, IDCHARS, "key_not_found", "未找到该 USB key，请确认已插入"},
	{"ref", 1, TOK_REF_MAX - 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
	 "object_not_found", "USB key 上没有该密钥对"},
	{"name", 1, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-",
	 "object_not_found", "数据对象名称不正确"},
};

/* Host, Origin and session checks of every routed request. Returns 0 to go on, or -1 after replying. */
static int before(struct http_req *r, const struct route *rt)
{
	struct actx *c = http_ctx(r);
	const char *origin = http_header(r, "Origin");

	if (!agent_host_allowed(http_header(r, "Host"), c->port))
		return reply_err(r, 421, "host_forbidden", "请求的主机名不是本机地址，已拒绝", NULL), -1;
	if (origin != NULL && !agent_origin_allowed(agent_cfg(c->a)->origins, origin))
		return reply_err(r, 403, "origin_forbidden", "该网页来源未被允许访问证书助手", NULL), -1;
	if (origin == NULL && rt->access != ACC_OPEN)
		return reply_err(r, 403, "origin_forbidden", "请求缺少来源（Origin），已拒绝", NULL), -1;
	if (origin != NULL) {
		http_add_header(r, "Access-Control-Allow-Origin", origin);
		http_add_header(r, "Vary", "Origin");
	}
	if (rt->access == ACC_SESSION) {
		const char *id = http_param(r, "id");
		int ok;
		agent_lock(c->a);
		ok = id != NULL && agent_session_check(c->a, http_header(r, "X-Agent-Session"), id, origin);
		agent_unlock(c->a);
		if (!ok)
			return reply_err(r, 401, "session_required", "请先输入 PIN 码登录 USB key", NULL), -1;
	}
	return 0;
}

static void on_error(struct http_req *r, const char *what)
{
	log_write(LOG_LEVEL_ERROR, "agent", LOG_FIELDS("method", http_method(r), "path", http_path(r)), "%s", what);
}

struct http_server *agent_http_start(struct agent *a, int port, int *port_out, char *err, size_t errlen)
{
	static struct actx ctx; /* one server per process */
	struct http_server_opts o = {0};
	struct http_server *s;
	const char *log = agent_cfg(a)->access_log;

	ctx.a = a;
	ctx.port = port;
	o.listen_address = "127.0.0.1"; /* never any other address: the API is for this PC's browser */
	o.port = port;
	o.threads = 2;
	o.max_body_bytes = AGENT_MAX_BODY;
	o.access_log = log[0] == '\0' ? NULL : strcmp(log, "-") == 0 ? stderr : fopen(log, "a");
	o.routes = routes;
	o.nroutes = (int)(sizeof(routes) / sizeof(routes[0]));
	o.ctx = &ctx;
	o.before = before;
	o.params = params;
	o.nparams = (int)(sizeof(params) / sizeof(params[0]));
	o.on_error = on_error;
	o.max_connections = 64;
	s = http_server_start(&o, err, errlen);
	if (s != NULL) {
		ctx.port = http_server_port(s);
		if (port_out != NULL)
			*port_out = ctx.port;
	}
	return s;
}
