/* The simulated WeChat Pay's side of payment notifications: the transaction encrypted with the APIv3
 * key (AEAD_AES_256_GCM), the envelope signed with the platform key, POSTed to the order's notify_url;
 * in the background with retries, or on demand with a fault (a test control). */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "providers/rsasig.h"
#include "providers/wxpay.h"
#include "sim/wxpay.h"
#include "util/xalloc.h"

#define TRIES 5
#define ANSWER_S 5 /* WeChat Pay waits five seconds for an answer */
#define WRONG_MCHID "1900009999"
#define WRONG_SERIAL "PUB_KEY_ID_0000000000000000000000000000000000"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER; /* signalled on stop and when a thread ends */
static struct rsakey *platform;                      /* loaded on first use */
static int stopping, running;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* Initialises libcurl once per process. */
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void wxsim_random_alnum(char *out, size_t n)
{
	static const char set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	for (size_t i = 0; i < n; i++)
		out[i] = set[randombytes_uniform(62)];
	out[n] = '\0';
}

int wxsim_sign(const struct config *cfg, const char *body, size_t len, long long skew_s, int corrupt,
	       char ts[24], char nonce[40], char *sig)
{
	char err[256], *msg;
	struct rsakey *k;
	int rc;

	pthread_mutex_lock(&mu);
	if (platform == NULL)
		platform = rsakey_load(cfg->sim_wxpay_platform_key, 1, err, sizeof(err));
	k = platform;
	pthread_mutex_unlock(&mu);
	if (k == NULL)
		return -1;
	snprintf(ts, 24, "%lld", (long long)time(NULL) + skew_s);
	wxsim_random_alnum(nonce, 32);
	msg = xcalloc(strlen(ts) + strlen(nonce) + len + 8);
	sprintf(msg, "%s\n%s\n", ts, nonce);
	memcpy(msg + strlen(msg), body, len);
	/* corrupt: the signature of a message with one more byte, valid Base64 that does not check */
	strcat(msg + strlen(ts) + strlen(nonce) + 2 + len, corrupt ? "\n\n" : "\n");
	rc = rsasig_sign(k, msg, strlen(ts) + strlen(nonce) + len + (corrupt ? 4 : 3), sig, RSASIG_B64_MAX);
	free(msg);
	return rc;
}

/* Returns the notification body about the paid order, as variant shapes it. Caller frees. */
static char *envelope(const struct config *cfg, const json_t *order, const char *variant)
{
	json_t *t = wxsim_transaction(cfg, order), *amount = json_object_get(t, "amount");
	char nonce[13], id[37], when[32], *plain, *ct, *body;

	if (strcmp(variant, "wrong_mchid") == 0)
		json_object_set_new(t, "mchid", json_string(WRONG_MCHID));
	if (strcmp(variant, "wrong_amount") == 0) {
		json_int_t more = json_integer_value(json_object_get(amount, "total")) + 1;
		json_object_set_new(amount, "total", json_integer(more));
		json_object_set_new(amount, "payer_total", json_integer(more));
	}
	plain = json_dumps(t, JSON_COMPACT);
	json_decref(t);
	wxsim_random_alnum(nonce, 12);
	ct = wxpay_encrypt_resource(cfg->wxpay_apiv3_key, nonce, "transaction", plain, strlen(plain));
	free(plain);
	if (ct == NULL)
		return NULL;
	if (strcmp(variant, "bad_ciphertext") == 0)
		ct[4] = ct[4] == 'A' ? 'B' : 'A'; /* still Base64; the tag no longer checks */
	wxsim_random_alnum(id, 36);
	id[8] = id[13] = id[18] = id[23] = '-';
	json_t *n = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "id", id,
			      "create_time", wxpay_time_cn((long long)time(NULL), when), "resource_type",
			      "encrypt-resource", "event_type", "TRANSACTION.SUCCESS", "summary", "支付成功",
			      "resource", "original_type", "transaction", "algorithm", "AEAD_AES_256_GCM",
			      "ciphertext", ct, "associated_data", "transaction", "nonce", nonce);
	free(ct);
	body = json_dumps(n, JSON_COMPACT);
	json_decref(n);
	return body;
}

/* libcurl write callback: the answer's body does not matter, only its status. */
static size_t discard(char *data, size_t size, size_t n, void *user)
{
	(void)data, (void)user;
	return size * n;
}

/* Appends "name: value" to the list h; returns the list. */
static struct curl_slist *add(struct curl_slist *h, const char *name, const char *value)
{
	char line[RSASIG_B64_MAX + 64];

	snprintf(line, sizeof(line), "%s: %s", name, value);
	return curl_slist_append(h, line);
}

long wxsim_notify_send(const struct config *cfg, const json_t *order, const char *variant)
{
	const char *url = json_string_value(json_object_get(order, "notify_url"));
	char ts[24], nonce[40], sig[RSASIG_B64_MAX], *body = envelope(cfg, order, variant);
	struct curl_slist *h = NULL;
	long status = 0;
	CURL *c;

	if (body == NULL || url == NULL ||
	    wxsim_sign(cfg, body, strlen(body), strcmp(variant, "stale_timestamp") == 0 ? -3600 : 0,
		       strcmp(variant, "bad_signature") == 0, ts, nonce, sig) != 0 ||
	    (pthread_once(&curl_once, curl_init_once), c = curl_easy_init()) == NULL) {
		free(body);
		return 0;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: Mozilla/4.0");
	h = add(h, "Wechatpay-Timestamp", ts);
	h = add(h, "Wechatpay-Nonce", nonce);
	h = add(h, "Wechatpay-Signature", sig);
	h = add(h, "Wechatpay-Serial",
		strcmp(variant, "wrong_serial") == 0 ? WRONG_SERIAL : cfg->wxpay_platform_serial);
	h = add(h, "Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ANSWER_S);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(body);
	wxsim_order_notified(json_string_value(json_object_get(order, "out_trade_no")), status);
	return status;
}

/* A background delivery. */
struct delivery {
	const struct config *cfg;
	json_t *order;
};

/* Waits s seconds unless the simulator stops first; returns 1 when it stops. */
static int pause_s(int s)
{
	struct timespec until;
	int stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&mu);
	while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) == 0)
		;
	stop = stopping;
	pthread_mutex_unlock(&mu);
	return stop;
}

/* Thread body: sends the notification until it is answered 200 or 204, at most TRIES times. */
static void *deliver(void *arg)
{
	struct delivery *d = arg;
	static const int wait_s[TRIES] = {0, 1, 2, 4, 8};

	for (int i = 0; i < TRIES; i++) {
		if (pause_s(wait_s[i]))
			break;
		long st = wxsim_notify_send(d->cfg, d->order, "ok");
		if (st == 200 || st == 204)
			break;
	}
	json_decref(d->order);
	free(d);
	pthread_mutex_lock(&mu);
	running--;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

void wxsim_notify_background(const struct config *cfg, json_t *order)
{
	struct delivery *d = xcalloc(sizeof(*d));
	pthread_attr_t attr;
	pthread_t t;

	d->cfg = cfg;
	d->order = order;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&mu);
	if (stopping || pthread_create(&t, &attr, deliver, d) != 0) {
		json_decref(order);
		free(d);
	} else {
		running++;
	}
	pthread_mutex_unlock(&mu);
	pthread_attr_destroy(&attr);
}

void wxsim_notify_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cv);
	while (running > 0)
		pthread_cond_wait(&cv, &mu);
	rsakey_free(platform);
	platform = NULL;
	pthread_mutex_unlock(&mu);
}
