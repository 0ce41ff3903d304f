/* WeChat Pay API v3, Native payment: signed requests over libcurl, replies believed only once their
 * Wechatpay-* signature checks, error codes sorted into retry or give up, notifications read. */
#include "providers/wxpay.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config/config.h"
#include "providers/httpc.h"
#include "providers/rsasig.h"
#include "util/strnum.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define REPLY_MAX (64 * 1024)
#define NOTIFY_SKEW_S 300
#define AMOUNT_MAX 2147483647LL /* amount.total is an int */
#define USER_AGENT "certdesk/" CERTDESK_VERSION " (libcurl)"
#define ALNUM "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

struct wxpay {
	const struct config *cfg;
	struct rsakey *merchant; /* private: signs requests */
	struct rsakey *platform; /* public: checks replies and notifications */
	char base[1024];         /* the endpoint without a trailing slash */
};

/* A reply: its body (up to REPLY_MAX) and the Wechatpay-* headers of the final response. */
struct reply {
	struct httpc_reply r;
	char ts[32], nonce[80], sig[RSASIG_B64_MAX], serial[80];
};

/* Returns 1 when s is 1 to max characters, each in set. */
static int all_of(const char *s, size_t max, const char *set)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n > 0 && n <= max && strspn(s, set) == n;
}

/* Checks the settings the adapter relies on; returns 0, or -1 with err. */
static int check_settings(const struct config *cfg, char *err, size_t errlen)
{
	const char *e = cfg->wxpay_endpoint;

	if (e == NULL || (strncmp(e, "https://", 8) != 0 && strncmp(e, "http://", 7) != 0) ||
	    strpbrk(e, "?#@ ") != NULL || strlen(e) >= 1000)
		snprintf(err, errlen, "wxpay.endpoint is not an http(s) URL without query");
	else if (!all_of(cfg->wxpay_mchid, 32, "0123456789"))
		snprintf(err, errlen, "wxpay.mchid is not digits");
	else if (!all_of(cfg->wxpay_appid, 32, ALNUM "_"))
		snprintf(err, errlen, "wxpay.appid is not [0-9A-Za-z_]");
	else if (!all_of(cfg->wxpay_merchant_serial, 64, ALNUM "_") ||
		 !all_of(cfg->wxpay_platform_serial, 64, ALNUM "_"))
		snprintf(err, errlen, "wxpay.merchant_serial or wxpay.platform_serial is not [0-9A-Za-z_]");
	else if (cfg->wxpay_apiv3_key == NULL || strlen(cfg->wxpay_apiv3_key) != 32)
		snprintf(err, errlen, "wxpay.apiv3_key is not 32 bytes");
	else if (cfg->wxpay_timeout_s < 1)
		snprintf(err, errlen, "wxpay.timeout_s is not positive");
	else
		return 0;
	return -1;
}

struct wxpay *wxpay_new(const struct config *cfg, char *err, size_t errlen)
{
	struct wxpay *w;
	char why[256];

	if (check_settings(cfg, err, errlen) != 0)
		return NULL;
	w = xcalloc(sizeof(*w));
	w->cfg = cfg;
	str_copy(w->base, cfg->wxpay_endpoint, sizeof(w->base));
	while (w->base[0] != '\0' && w->base[strlen(w->base) - 1] == '/')
		w->base[strlen(w->base) - 1] = '\0';
	if ((w->merchant = rsakey_load(cfg->wxpay_merchant_key, 1, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "wxpay.merchant_key: %s", why);
		goto fail;
	}
	if ((w->platform = rsakey_load(cfg->wxpay_platform_key, 0, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "wxpay.platform_key: %s", why);
		goto fail;
	}
	return w;
fail:
	wxpay_free(w);
	return NULL;
}

void wxpay_free(struct wxpay *w)
{
	if (w == NULL)
		return;
	rsakey_free(w->merchant);
	rsakey_free(w->platform);
	free(w);
}

int wxpay_authorization(const struct wxpay *w, const char *method, const char *path, long long timestamp,
			const char *nonce, const char *body, char *out, size_t outlen)
{
	char sig[RSASIG_B64_MAX], *msg;
	int rc, n;

	if (!all_of(nonce, 32, ALNUM))
		return -1;
	msg = wxpay_request_message(method, path, timestamp, nonce, body);
	rc = rsasig_sign(w->merchant, msg, strlen(msg), sig, sizeof(sig));
	free(msg);
	if (rc != 0)
		return -1;
	n = snprintf(out, outlen,
		     "WECHATPAY2-SHA256-RSA2048 mchid=\"%s\",nonce_str=\"%s\",signature=\"%s\","
		     "timestamp=\"%lld\",serial_no=\"%s\"",
		     w->cfg->wxpay_mchid, nonce, sig, timestamp, w->cfg->wxpay_merchant_serial);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int wxpay_verify_signature(const struct wxpay *w, const char *timestamp, const char *nonce, const char *body,
			   size_t len, const char *sig_b64)
{
	size_t tl, nl;
	char *msg;
	int ok;

	if (timestamp == NULL || nonce == NULL || sig_b64 == NULL || body == NULL)
		return 0;
	tl = strlen(timestamp);
	nl = strlen(nonce);
	msg = xcalloc(tl + nl + len + 4);
	memcpy(msg, timestamp, tl);
	msg[tl] = '\n';
	memcpy(msg + tl + 1, nonce, nl);
	msg[tl + 1 + nl] = '\n';
	memcpy(msg + tl + nl + 2, body, len);
	msg[tl + nl + 2 + len] = '\n';
	ok = rsasig_verify(w->platform, msg, tl + nl + len + 3, sig_b64);
	free(msg);
	return ok;
}

/* Builds the request headers for method path body; returns the list (caller frees), or NULL. */
static struct curl_slist *request_headers(const struct wxpay *w, const char *method, const char *path,
					  const char *body)
{
	char auth[WXPAY_AUTH_MAX], line[WXPAY_AUTH_MAX + 32], nonce[33];
	unsigned char rnd[32];
	struct curl_slist *h = NULL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++)
		nonce[i] = ALNUM[rnd[i] % 62];
	nonce[32] = '\0';
	if (wxpay_authorization(w, method, path, (long long)time(NULL), nonce, body, auth, sizeof(auth)) != 0)
		return NULL;
	snprintf(line, sizeof(line), "Authorization: %s", auth);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: " USER_AGENT);
	h = curl_slist_append(h, "Expect:");
	return h;
}

/* Fills err from a refused request (status and the body's code and message) and copies the code
 * into code (64 bytes). */
static void refusal(const struct reply *b, long status, char code[64], char *err, size_t errlen)
{
	json_t *j = json_loadb(b->r.body, b->r.len, 0, NULL);
	const char *c = json_string_value(json_object_get(j, "code"));
	const char *m = json_string_value(json_object_get(j, "message"));

	if (c == NULL || strlen(c) >= 64 || !all_of(c, 63, ALNUM "_"))
		c = "";
	str_copy(code, c, 64);
	if (m == NULL || str_has_control(m) || utf8_chars(m) < 0)
		m = "";
	/* %.120s may cut a UTF-8 character in two; err is for logs, not for display */
	snprintf(err, errlen, "HTTP %ld %s: %.120s", status, code, m);
	json_decref(j);
}

/* Sends method path (from /v3/) with body (NULL for GET) and waits. Returns PAY_OK with *status 2xx
 * and *out (the reply as JSON; NULL when empty) once its signature checks; 1 with *status and code
 * for a refusal (non-2xx; err filled); PAY_RETRY (no answer) or PAY_FORGED with err. */
static int call(const struct wxpay *w, const char *method, const char *path, const char *body, long *status,
		json_t **out, char code[64], char *err, size_t errlen)
{
	struct reply b;
	struct httpc_capture cap[] = {{"Wechatpay-Timestamp", b.ts, sizeof(b.ts)},
				      {"Wechatpay-Nonce", b.nonce, sizeof(b.nonce)},
				      {"Wechatpay-Signature", b.sig, sizeof(b.sig)},
				      {"Wechatpay-Serial", b.serial, sizeof(b.serial)}};
	struct curl_slist *hl = NULL;
	char *url = xasprintf("%s%s", w->base, path);
	int rc = PAY_RETRY;

	memset(&b, 0, sizeof(b));
	*out = NULL;
	*status = 0;
	str_copy(code, "", 64);
	if ((hl = request_headers(w, method, path, body)) == NULL) {
		snprintf(err, errlen, "request cannot be signed");
		rc = PAY_PERMANENT;
		goto out;
	}
	if (httpc_send(method, url, hl, body, w->cfg->wxpay_timeout_s, REPLY_MAX, cap, 4, &b.r, err,
		       errlen) != 0)
		goto out;
	*status = b.r.status;
	if (*status < 200 || *status > 299) {
		refusal(&b, *status, code, err, errlen);
		rc = 1;
	} else if (strcmp(b.serial, w->cfg->wxpay_platform_serial) != 0 ||
		   !wxpay_verify_signature(w, b.ts, b.nonce, b.r.body, b.r.len, b.sig)) {
		snprintf(err, errlen, "reply signature or Wechatpay-Serial does not check (HTTP %ld)",
			 *status);
		rc = PAY_FORGED;
	} else if (b.r.len > 0 && (*out = json_loadb(b.r.body, b.r.len, JSON_REJECT_DUPLICATES, NULL),
				   !json_is_object(*out))) {
		json_decref(*out); /* json_is_object evaluates its argument twice: never call inside it */
		*out = NULL;
		snprintf(err, errlen, "signed reply is not a JSON object (HTTP %ld)", *status);
	} else {
		rc = PAY_OK;
	}
out:
	curl_slist_free_all(hl);
	free(url);
	free(b.r.body);
	return rc;
}

/* Sorts a refusal: WeChat Pay's faults and limits are worth retrying, anything else stands. Sources:
 * the error code tables of the Native API pages (SYSTEM_ERROR, FREQUENCY_LIMITED, BANK_ERROR are
 * "retry later"; NOT_ENOUGH: the merchant's balance may be topped up). */
static int classify(long status, const char *code)
{
	static const char *const retry[] = {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "NOT_ENOUGH"};

	if (status >= 500 || status == 429)
		return PAY_RETRY;
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (strcmp(code, retry[i]) == 0)
			return PAY_RETRY;
	return PAY_PERMANENT;
}

/* Returns 1 when s is a fit out_trade_no: 1 to 32 of [0-9A-Za-z_-*]. */
static int trade_no_ok(const char *s)
{
	return all_of(s, 32, ALNUM "_-*");
}

/* Checks the arguments of wxpay_create; returns 0, or -1 with err. */
static int check_create(const char *out_trade_no, long long amount_fen, const char *description,
			const char *notify_url, long long expire_at, char *err, size_t errlen)
{
	if (!trade_no_ok(out_trade_no))
		snprintf(err, errlen, "out_trade_no is not 1-32 of [0-9A-Za-z_-*]");
	else if (amount_fen <= 0 || amount_fen > AMOUNT_MAX)
		snprintf(err, errlen, "amount is not a positive number of fen");
	else if (description == NULL || description[0] == '\0' || strlen(description) > 127 ||
		 str_has_control(description) || utf8_chars(description) < 0)
		snprintf(err, errlen, "description is not 1-127 bytes of text");
	else if (notify_url == NULL || strlen(notify_url) > 255 ||
		 (strncmp(notify_url, "https://", 8) != 0 && strncmp(notify_url, "http://", 7) != 0) ||
		 strpbrk(notify_url, "?#\" ") != NULL || str_has_control(notify_url))
		snprintf(err, errlen, "notify_url is not an http(s) URL without query");
	else if (expire_at <= 0 || expire_at > 253402300799LL)
		snprintf(err, errlen, "expire_at is not a time");
	else
		return 0;
	return -1;
}

int wxpay_create(const struct wxpay *w, const char *out_trade_no, long long amount_fen,
		 const char *description, const char *notify_url, long long expire_at, char *code_url,
		 size_t codelen, char *err, size_t errlen)
{
	char when[32], code[64], *body;
	json_t *req, *reply = NULL;
	const char *url;
	long status;
	int rc;

	str_copy(code_url, "", codelen);
	str_copy(err, "", errlen);
	if (check_create(out_trade_no, amount_fen, description, notify_url, expire_at, err, errlen) != 0)
		return PAY_PERMANENT;
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:I, s:s}}", "appid", w->cfg->wxpay_appid, "mchid",
			w->cfg->wxpay_mchid, "description", description, "out_trade_no", out_trade_no,
			"time_expire", wxpay_time_cn(expire_at, when), "notify_url", notify_url, "amount",
			"total", (json_int_t)amount_fen, "currency", "CNY");
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	rc = call(w, "POST", "/v3/pay/transactions/native", body, &status, &reply, code, err, errlen);
	free(body);
	if (rc == 1)
		rc = classify(status, code);
	if (rc != PAY_OK)
		goto out;
	url = json_string_value(json_object_get(reply, "code_url"));
	if (url == NULL || url[0] == '\0' || strlen(url) >= codelen || str_has_control(url)) {
		snprintf(err, errlen, "reply without a fit code_url");
		rc = PAY_RETRY;
		goto out;
	}
	str_copy(code_url, url, codelen);
out:
	json_decref(reply);
	return rc;
}

int wxpay_query(const struct wxpay *w, const char *out_trade_no, struct pay_status *st, char *err,
		size_t errlen)
{
	char path[160], code[64], *text;
	json_t *reply = NULL;
	long status;
	int rc;

	memset(st, 0, sizeof(*st));
	st->amount_fen = -1;
	str_copy(err, "", errlen);
	if (!trade_no_ok(out_trade_no)) {
		snprintf(err, errlen, "out_trade_no is not 1-32 of [0-9A-Za-z_-*]");
		return PAY_PERMANENT;
	}
	snprintf(path, sizeof(path), "/v3/pay/transactions/out-trade-no/%s?mchid=%s", out_trade_no,
		 w->cfg->wxpay_mchid);
	rc = call(w, "GET", path, NULL, &status, &reply, code, err, errlen);
	if (rc == 1 && status == 404 && strcmp(code, "ORDER_NOT_EXIST") == 0) {
		str_copy(st->out_trade_no, out_trade_no, sizeof(st->out_trade_no));
		st->state = PAY_ST_UNKNOWN;
		return PAY_OK;
	}
	if (rc == 1)
		return classify(status, code);
	if (rc != PAY_OK)
		return rc;
	text = json_dumps(reply, JSON_COMPACT);
	rc = text != NULL ? wxpay_parse_transaction(text, strlen(text), w->cfg->wxpay_appid,
						    w->cfg->wxpay_mchid, st, err, errlen)
			  : PAY_RETRY;
	free(text);
	json_decref(reply);
	if (rc == PAY_OK && strcmp(st->out_trade_no, out_trade_no) != 0) {
		snprintf(err, errlen, "reply is about another out_trade_no");
		rc = PAY_FORGED;
	}
	return rc;
}

int wxpay_close(const struct wxpay *w, const char *out_trade_no, char *err, size_t errlen)
{
	char path[160], code[64], *body;
	json_t *reply = NULL;
	long status;
	int rc;

	str_copy(err, "", errlen);
	if (!trade_no_ok(out_trade_no)) {
		snprintf(err, errlen, "out_trade_no is not 1-32 of [0-9A-Za-z_-*]");
		return PAY_PERMANENT;
	}
	snprintf(path, sizeof(path), "/v3/pay/transactions/out-trade-no/%s/close", out_trade_no);
	body = xasprintf("{\"mchid\":\"%s\"}", w->cfg->wxpay_mchid); /* digits only: no escaping */
	rc = call(w, "POST", path, body, &status, &reply, code, err, errlen);
	free(body);
	json_decref(reply);
	if (rc == 1 && strcmp(code, "ORDERCLOSED") == 0)
		return PAY_OK;
	if (rc == 1)
		return strcmp(code, "ORDERPAID") == 0 ? PAY_PERMANENT : classify(status, code);
	return rc;
}

/* Reads a refund reply: *done and refund_id from status and refund_id; returns PAY_OK, or
 * PAY_PERMANENT for CLOSED / ABNORMAL, PAY_RETRY for a reply without them. */
static int refund_reply(json_t *reply, const char *out_refund_no, int *done, char *refund_id, char *err,
			size_t errlen)
{
	const char *s = json_string_value(json_object_get(reply, "status"));
	const char *id = json_string_value(json_object_get(reply, "refund_id"));
	const char *no = json_string_value(json_object_get(reply, "out_refund_no"));

	if (s == NULL || id == NULL || id[0] == '\0' || strlen(id) >= PAY_ID_MAX || str_has_control(id)) {
		snprintf(err, errlen, "refund reply without status or a fit refund_id");
		return PAY_RETRY;
	}
	if (no == NULL || strcmp(no, out_refund_no) != 0) {
		snprintf(err, errlen, "refund reply is about another out_refund_no");
		return PAY_FORGED;
	}
	if (refund_id != NULL)
		str_copy(refund_id, id, PAY_ID_MAX);
	if (strcmp(s, "SUCCESS") == 0 || strcmp(s, "PROCESSING") == 0) {
		*done = strcmp(s, "SUCCESS") == 0;
		return PAY_OK;
	}
	snprintf(err, errlen, "refund status %.20s", s);
	return strcmp(s, "CLOSED") == 0 || strcmp(s, "ABNORMAL") == 0 ? PAY_PERMANENT : PAY_RETRY;
}

/* Returns 1 when s is a fit out_refund_no: 1 to 64 of [0-9A-Za-z_-|*@]. */
static int refund_no_ok(const char *s)
{
	return all_of(s, 64, ALNUM "_-|*@");
}

int wxpay_refund(const struct wxpay *w, const char *out_trade_no, const char *out_refund_no,
		 long long refund_fen, long long total_fen, const char *reason, int *done, char *refund_id,
		 char *err, size_t errlen)
{
	char code[64], *body;
	json_t *req, *reply = NULL;
	long status;
	int rc;

	*done = 0;
	str_copy(refund_id, "", PAY_ID_MAX);
	str_copy(err, "", errlen);
	if (!trade_no_ok(out_trade_no) || !refund_no_ok(out_refund_no) || total_fen <= 0 ||
	    total_fen > AMOUNT_MAX || refund_fen <= 0 || refund_fen > total_fen || reason == NULL ||
	    strlen(reason) > 80 || str_has_control(reason) || utf8_chars(reason) < 0) {
		snprintf(err, errlen,
			 "refund arguments unfit (numbers, amounts 0 < refund <= total, reason)");
		return PAY_PERMANENT;
	}
	req = json_pack("{s:s, s:s, s:{s:I, s:I, s:s}}", "out_trade_no", out_trade_no, "out_refund_no",
			out_refund_no, "amount", "refund", (json_int_t)refund_fen, "total",
			(json_int_t)total_fen, "currency", "CNY");
	if (reason[0] != '\0')
		json_object_set_new(req, "reason", json_string(reason));
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	rc = call(w, "POST", "/v3/refund/domestic/refunds", body, &status, &reply, code, err, errlen);
	free(body);
	if (rc == 1)
		rc = classify(status, code);
	else if (rc == PAY_OK)
		rc = refund_reply(reply, out_refund_no, done, refund_id, err, errlen);
	json_decref(reply);
	return rc;
}

int wxpay_refund_query(const struct wxpay *w, const char *out_refund_no, int *done, char *err, size_t errlen)
{
	char path[160], code[64];
	json_t *reply = NULL;
	long status;
	int rc;

	*done = 0;
	str_copy(err, "", errlen);
	if (!refund_no_ok(out_refund_no)) {
		snprintf(err, errlen, "out_refund_no is not 1-64 of [0-9A-Za-z_-|*@]");
		return PAY_PERMANENT;
	}
	snprintf(path, sizeof(path), "/v3/refund/domestic/refunds/%s", out_refund_no);
	rc = call(w, "GET", path, NULL, &status, &reply, code, err, errlen);
	if (rc == 1)
		rc = classify(status, code); /* RESOURCE_NOT_EXISTS (404): permanent */
	else if (rc == PAY_OK)
		rc = refund_reply(reply, out_refund_no, done, NULL, err, errlen);
	json_decref(reply);
	return rc;
}

/* Checks the notification's headers and signature; returns PAY_OK or PAY_FORGED with err. */
static int notification_genuine(const struct wxpay *w, const char *timestamp, const char *nonce,
				const char *signature, const char *serial, const char *body, size_t len,
				long long now, char *err, size_t errlen)
{
	int64_t ts;

	if (timestamp == NULL || nonce == NULL || signature == NULL || serial == NULL || body == NULL)
		snprintf(err, errlen, "notification without the Wechatpay-* headers");
	else if (strcmp(serial, w->cfg->wxpay_platform_serial) != 0)
		snprintf(err, errlen, "Wechatpay-Serial is not ours");
	else if (strnum_parse(timestamp, 0, 253402300799LL, &ts) != 0 || ts < now - NOTIFY_SKEW_S ||
		 ts > now + NOTIFY_SKEW_S)
		snprintf(err, errlen, "Wechatpay-Timestamp missing or more than %d s off", NOTIFY_SKEW_S);
	else if (strlen(nonce) > 64 || !wxpay_verify_signature(w, timestamp, nonce, body, len, signature))
		snprintf(err, errlen, "notification signature does not check");
	else
		return PAY_OK;
	return PAY_FORGED;
}

/* Returns 1 when s equals want (s may be NULL). */
static int is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

int wxpay_notification(const struct wxpay *w, const char *timestamp, const char *nonce, const char *signature,
		       const char *serial, const char *body, size_t len, long long now, struct pay_status *st,
		       char *err, size_t errlen)
{
	json_t *n = NULL, *res;
	const char *id, *ct, *rn, *aad;
	char *plain = NULL;
	size_t plen;
	int rc;

	memset(st, 0, sizeof(*st));
	st->amount_fen = -1;
	str_copy(err, "", errlen);
	if ((rc = notification_genuine(w, timestamp, nonce, signature, serial, body, len, now, err,
				       errlen)) != PAY_OK)
		return rc;
	rc = PAY_PERMANENT;
	n = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	res = json_object_get(n, "resource");
	id = json_string_value(json_object_get(n, "id"));
	ct = json_string_value(json_object_get(res, "ciphertext"));
	rn = json_string_value(json_object_get(res, "nonce"));
	aad = json_string_value(json_object_get(res, "associated_data"));
	if (id == NULL || id[0] == '\0' || strlen(id) >= PAY_ID_MAX || str_has_control(id) ||
	    !is(json_string_value(json_object_get(n, "event_type")), "TRANSACTION.SUCCESS") ||
	    !is(json_string_value(json_object_get(n, "resource_type")), "encrypt-resource") ||
	    !is(json_string_value(json_object_get(res, "algorithm")), "AEAD_AES_256_GCM") ||
	    !is(json_string_value(json_object_get(res, "original_type")), "transaction") || ct == NULL ||
	    rn == NULL || (aad == NULL && json_object_get(res, "associated_data") != NULL)) {
		snprintf(err, errlen, "not a TRANSACTION.SUCCESS notification with an encrypted transaction");
		goto out;
	}
	if ((plain = wxpay_decrypt_resource(w->cfg->wxpay_apiv3_key, rn, aad != NULL ? aad : "", ct,
					    &plen)) == NULL) {
		snprintf(err, errlen, "resource does not decrypt with the APIv3 key");
		rc = PAY_FORGED;
		goto out;
	}
	rc = wxpay_parse_transaction(plain, plen, w->cfg->wxpay_appid, w->cfg->wxpay_mchid, st, err, errlen);
	if (rc == PAY_OK)
		str_copy(st->event_id, id, sizeof(st->event_id));
out:
	if (plain != NULL) {
		OPENSSL_cleanse(plain, plen);
		free(plain);
	}
	json_decref(n);
	return rc;
}
