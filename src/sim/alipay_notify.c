/* The Alipay simulator's asynchronous notifications: the form Alipay posts to notify_url (signed
 * with the gateway key, rule V1), variants for tests, and one background thread that delivers them,
 * trying again 1 s, 2 s, 4 s and 8 s later (five tries at most, the same notify_id each time) while
 * the answer is not exactly "success". */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "providers/alipay.h"
#include "providers/rsasig.h"
#include "sim/alipay_int.h"
#include "util/urlform.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define MAX_TRIES 5
#define ANSWER_MAX 4096
#define POST_TIMEOUT_S 5

/* One notification waiting to be (re)delivered. */
struct job {
	char *url, *body;
	char out_trade_no[PAY_ID_MAX];
	int tries;
	long long due_ms;
	struct job *next;
};

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcv = PTHREAD_COND_INITIALIZER;
static struct job *queue;
static pthread_t worker;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* Initialises libcurl once per process. */
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}
static int running, stopping;

/* Adds name=value to f unless value is empty. */
static void add(struct urlform *f, const char *name, const char *value)
{
	if (value != NULL && value[0] != '\0')
		urlform_add(f, name, value);
}

/* Adds the amounts and times of t to f as variant wants them. */
static void add_money(struct urlform *f, const struct ali_trade *t, const char *variant)
{
	char yuan[32], now[20];
	int paid = t->gmt_payment[0] != '\0';
	long long total = t->total_fen + (strcmp(variant, "wrong_amount") == 0 ? 1 : 0);

	add(f, "total_amount", alipay_fen_to_yuan(total, yuan));
	if (paid) {
		add(f, "receipt_amount", yuan);
		add(f, "buyer_pay_amount", yuan);
		add(f, "invoice_amount", yuan);
	}
	add(f, "gmt_create", t->gmt_create);
	add(f, "gmt_payment", t->gmt_payment);
	if (t->nrefunds > 0) {
		add(f, "refund_fee", alipay_fen_to_yuan(t->refunded_fen, yuan));
		add(f, "gmt_refund", t->refunds[t->nrefunds - 1].gmt);
	}
	if (strcmp(variant, "trade_closed") == 0 || t->status == ALI_CLOSED)
		add(f, "gmt_close",
		    t->gmt_close[0] != '\0' ? t->gmt_close : alipay_time_format((long long)time(NULL), now));
}

char *ali_notification(const struct config *cfg, const struct ali_trade *t, const char *variant,
		       const char *notify_id)
{
	static const char *const variants[] = {"ok",           "bad_signature", "wrong_app_id",
					       "wrong_seller", "wrong_amount",  "trade_closed"};
	const struct rsakey *k = ali_gateway_key(cfg);
	struct urlform f = {0};
	char now[20], sig[RSASIG_B64_MAX], *content, *body = NULL;
	const char *status = t->status == ALI_PRECREATED ? "WAIT_BUYER_PAY" : ali_status_name(t);
	size_t i;

	for (i = 0; i < sizeof(variants) / sizeof(variants[0]) && strcmp(variant, variants[i]) != 0; i++)
		;
	if (i == sizeof(variants) / sizeof(variants[0]) || k == NULL)
		return NULL;
	add(&f, "notify_time", alipay_time_format((long long)time(NULL), now));
	add(&f, "notify_type", "trade_status_sync");
	add(&f, "notify_id", notify_id);
	add(&f, "app_id", strcmp(variant, "wrong_app_id") == 0 ? "2021009999999999" : cfg->alipay_app_id);
	add(&f, "charset", "utf-8");
	add(&f, "version", "1.0");
	add(&f, "sign_type", "RSA2");
	add(&f, "trade_no", t->trade_no);
	add(&f, "out_trade_no", t->out_trade_no);
	add(&f, "buyer_id", t->buyer_id);
	add(&f, "buyer_logon_id", t->buyer_logon_id);
	add(&f, "seller_id",
	    strcmp(variant, "wrong_seller") == 0 ? "2088009999999999" : cfg->alipay_seller_id);
	add(&f, "trade_status", strcmp(variant, "trade_closed") == 0 ? "TRADE_CLOSED" : status);
	add_money(&f, t, variant);
	add(&f, "subject", t->subject);
	content = alipay_sign_content(&f, 1);
	if (strcmp(variant, "bad_signature") == 0) {
		char *other = xasprintf("%s&extra=1", content);
		free(content);
		content = other;
	}
	if (rsasig_sign(k, content, strlen(content), sig, sizeof(sig)) == 0) {
		urlform_add(&f, "sign", sig);
		body = urlform_encode(&f);
	}
	free(content);
	urlform_free(&f);
	return body;
}

/* libcurl write callback: keeps the first ANSWER_MAX bytes of the answer. */
static size_t on_data(char *data, size_t size, size_t n, void *user)
{
	char **p = user;
	size_t have = strlen(*p), add_len = size * n, keep = add_len;

	if (have + keep > ANSWER_MAX)
		keep = ANSWER_MAX - have;
	*p = xrealloc(*p, have + keep + 1);
	memcpy(*p + have, data, keep);
	(*p)[have + keep] = '\0';
	return add_len;
}

long ali_notify_post(const char *url, const char *body, char **answer)
{
	struct curl_slist *h =
		curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	CURL *c;
	long status = 0;

	pthread_once(&curl_once, curl_init_once);
	c = curl_easy_init();
	*answer = xcalloc(1);
	if (c == NULL) {
		curl_slist_free_all(h);
		return 0;
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)POST_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* Returns the monotonic clock in milliseconds. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Frees one job. */
static void job_free(struct job *j)
{
	free(j->url);
	free(j->body);
	free(j);
}

/* Takes the earliest due job off the queue, waiting for it; NULL when stopping. Call with qmu held. */
static struct job *take(void)
{
	for (;;) {
		struct job **best = NULL;
		if (stopping)
			return NULL;
		for (struct job **p = &queue; *p != NULL; p = &(*p)->next)
			if (best == NULL || (*p)->due_ms < (*best)->due_ms)
				best = p;
		if (best != NULL && (*best)->due_ms <= now_ms()) {
			struct job *j = *best;
			*best = j->next;
			return j;
		}
		if (best == NULL) {
			pthread_cond_wait(&qcv, &qmu);
		} else {
			long long due = (*best)->due_ms - now_ms();
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(due / 1000);
			ts.tv_nsec += (long)(due % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&qcv, &qmu, &ts);
		}
	}
}

/* Notes attempt's outcome on the trade. */
static void note(const char *out_trade_no, long status, const char *answer, int ok)
{
	struct ali_trade *t;

	pthread_mutex_lock(&ali_mu);
	if ((t = ali_find(out_trade_no)) != NULL) {
		t->deliveries++;
		t->delivered |= ok;
		snprintf(t->last_answer, sizeof(t->last_answer), "HTTP %ld: %.40s", status, answer);
		for (char *p = t->last_answer; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	pthread_mutex_unlock(&ali_mu);
}

/* The sender: delivers due jobs and requeues the ones not answered "success". */
static void *run(void *arg)
{
	struct job *j;
	(void)arg;

	pthread_mutex_lock(&qmu);
	while ((j = take()) != NULL) {
		char *answer = NULL;
		long status;
		int ok;
		pthread_mutex_unlock(&qmu);
		status = ali_notify_post(j->url, j->body, &answer);
		ok = status == 200 && strcmp(answer, "success") == 0;
		note(j->out_trade_no, status, answer, ok);
		free(answer);
		pthread_mutex_lock(&qmu);
		if (ok || ++j->tries >= MAX_TRIES) {
			job_free(j);
		} else {
			j->due_ms = now_ms() + 1000LL * (1LL << (j->tries - 1));
			j->next = queue;
			queue = j;
		}
	}
	pthread_mutex_unlock(&qmu);
	return NULL;
}

void ali_notify_enqueue(const char *url, char *body, const char *out_trade_no)
{
	struct job *j = xcalloc(sizeof(*j));

	j->url = xstrdup(url);
	j->body = body;
	str_copy(j->out_trade_no, out_trade_no, sizeof(j->out_trade_no));
	j->due_ms = now_ms();
	pthread_mutex_lock(&qmu);
	if (!running && !stopping && pthread_create(&worker, NULL, run, NULL) == 0)
		running = 1;
	if (stopping || !running) {
		job_free(j);
	} else {
		j->next = queue;
		queue = j;
		pthread_cond_signal(&qcv);
	}
	pthread_mutex_unlock(&qmu);
}

void ali_notify_clear(void)
{
	pthread_mutex_lock(&qmu);
	while (queue != NULL) {
		struct job *j = queue;
		queue = j->next;
		job_free(j);
	}
	pthread_mutex_unlock(&qmu);
}

void ali_notify_stop(void)
{
	int was_running;

	pthread_mutex_lock(&qmu);
	stopping = 1;
	was_running = running;
	pthread_cond_broadcast(&qcv);
	pthread_mutex_unlock(&qmu);
	if (was_running)
		pthread_join(worker, NULL);
	ali_notify_clear();
}
