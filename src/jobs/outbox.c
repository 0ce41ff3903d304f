/* The outbox worker: claim a batch under a lease, renew the lease and send each message, record
 * the outcome only while holding the lease, back off on retryable failures, wake every few seconds,
 * stop on request. */
#include "jobs/outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/phone.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/periodic.h"
#include "util/xalloc.h"

#define TOKEN_MAX 128
#define ERR_MAX 400
#define MARK_TRIES 3 /* a delivery not recorded is sent again later: try hard to record it */

struct outbox_worker {
	struct db *db;
	struct outbox_opts o;
	struct periodic *job;
};

/* The SMS sender: providers/sms.c with the [sms] settings in ctx. */
static int send_sms(void *ctx, const struct outbox_msg *m, char *ref, size_t reflen, char *err, size_t errlen)
{
	int rc = sms_send(ctx, m->recipient, m->tmpl, m->params, m->dedupe_key, ref, reflen, err, errlen);

	return rc == SMS_SENT ? OUTBOX_SENT : rc == SMS_PERMANENT ? OUTBOX_GIVE_UP : OUTBOX_RETRY;
}

void outbox_opts_sms(struct outbox_opts *o, struct sms_config *sms, const struct config *cfg)
{
	sms_config_from(sms, cfg);
	o->channel = "sms";
	o->poll_interval_s = cfg->outbox_poll_interval_s;
	o->batch = cfg->outbox_batch;
	o->max_attempts = cfg->outbox_max_attempts;
	o->retry_base_s = cfg->outbox_retry_base_s;
	o->lease_s = cfg->outbox_lease_s;
	o->send = send_sms;
	o->ctx = sms;
}

int outbox_backoff_s(int base_s, int attempt)
{
	static const int factor[] = {1, 4, 20, 120, 720}; /* 30 s, 2 min, 10 min, 1 h, 6 h */
	int i = attempt < 1 ? 0 : attempt > 5 ? 4 : attempt - 1;

	return base_s * factor[i];
}

/* Writes a claim token naming this host and process (for whoever reads the table) and 64 random
 * bits (so that two claims never share one) into out (TOKEN_MAX bytes). */
static void new_token(char *out)
{
	char host[64] = "";
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)out;
	if (gethostname(host, sizeof(host) - 1) != 0)
		str_copy(host, "?", sizeof(host));
	snprintf(out, TOKEN_MAX, "%.63s/%ld/%016" PRIx64, host, (long)getpid(), r);
}

/* Writes a recipient fit for a log line into out (16 bytes): a masked mobile, or "***". */
static void masked(const char *recipient, char out[16])
{
	const char *at = recipient != NULL ? strchr(recipient, '@') : NULL;

	if (recipient != NULL && strlen(recipient) == MOBILE_LEN)
		phone_mask(recipient, out);
	else if (at != NULL && strlen(at) <= 12)
		snprintf(out, 16, "%.1s**%s", recipient, at);
	else
		str_copy(out, "***", 16);
}

/* Returns 1 when m is a verification code whose validity ended before now: sending it would only
 * confuse the person, who has asked for another by then. */
static int code_expired(const struct outbox_msg *m, time_t now)
{
	json_t *p;
	struct tm tm = {0};
	int64_t minutes = 0;
	int expired = 0;

	if (strcmp(m->tmpl, "verify_code") != 0 || m->created_at == NULL ||
	    sscanf(m->created_at, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = json_loads(m->params, 0, NULL);
	if (json_is_integer(json_object_get(p, "minutes")))
		minutes = json_integer_value(json_object_get(p, "minutes"));
	if (minutes > 0 && minutes < 24 * 60)
		expired = now > timegm(&tm) + (time_t)minutes * 60;
	json_decref(p);
	return expired;
}

/* Runs one lease holder's update; a database error is tried again (MARK_TRIES in all), since an
 * outcome not recorded means a message sent twice or tried once more. Returns the last status. */
static int record(struct db *db, int (*fn)(struct db_conn *, void *), void *arg)
{
	int rc = DB_ERROR;

	for (int i = 0; i < MARK_TRIES; i++) {
		struct db_conn *c = db_acquire(db);
		rc = fn(c, arg);
		db_release(c);
		if (rc == DB_OK || rc == DB_NOTFOUND)
			break;
		sleep(1);
	}
	return rc;
}

struct outcome {
	const struct outbox_msg *m;
	const char *token;
	int result;       /* enum outbox_result, or 1 to renew the lease */
	const char *text; /* provider reference when sent, the error otherwise */
	time_t now, next; /* next: retry time; lease end when renewing */
	char *params;     /* the parameters to keep once settled; NULL: unchanged */
};

/* Returns m's parameters with a "code" member (an SMS verification code) masked, for keeping
 * once the message is settled: the database holds only a hash of the code otherwise. NULL when
 * there is none. Caller frees. */
static char *redacted_params(const struct outbox_msg *m)
{
	json_t *p = json_loads(m->params, 0, NULL);
	char *out = NULL;

	if (json_is_string(json_object_get(p, "code"))) {
		json_object_set_new(p, "code", json_string("******"));
		out = json_dumps(p, JSON_COMPACT);
	}
	json_decref(p);
	return out;
}

/* Records a delivered invoice e-mail and the invoice's sent_at together. */
static int invoice_sent_tx(struct db_conn *c, void *arg)
{
	struct outcome *x = arg;
	char now[TIMEFMT_LEN];
	int rc = store_outbox_sent(c, x->m->id, x->token, timefmt_rfc3339(x->now, now), x->text, x->params);

	return rc == DB_OK ? store_invoice_mark_sent(c, outbox_invoice_id(x->m), now) : rc;
}

/* Applies an outcome to the row. */
static int apply(struct db_conn *c, void *arg)
{
	struct outcome *x = arg;
	char now[TIMEFMT_LEN], next[TIMEFMT_LEN];

	timefmt_rfc3339(x->now, now);
	timefmt_rfc3339(x->next, next);
	if (x->result == 1)
		return store_outbox_renew(c, x->m->id, x->token, next);
	if (x->result == OUTBOX_SENT && strcmp(x->m->channel, "email") == 0 &&
	    strcmp(x->m->tmpl, "invoice") == 0)
		return db_tx_conn(c, invoice_sent_tx, x);
	if (x->result == OUTBOX_SENT)
		return store_outbox_sent(c, x->m->id, x->token, now, x->text, x->params);
	if (x->result == OUTBOX_RETRY)
		return store_outbox_retry(c, x->m->id, x->token, next, x->text);
	return store_outbox_failed(c, x->m->id, x->token, x->text, x->params);
}

/* Logs what became of m. Never the parameters: an SMS code is among them. */
static void log_outcome(const struct outbox_opts *o, const struct outbox_msg *m, const struct outcome *x,
			int rc)
{
	char to[16], id[24], attempt[16];
	const char *what = x->result == OUTBOX_SENT    ? "sent"
			   : x->result == OUTBOX_RETRY ? "retry later"
						       : "failed";

	masked(m->recipient, to);
	snprintf(id, sizeof(id), "%" PRId64, m->id);
	snprintf(attempt, sizeof(attempt), "%d", m->attempts);
	log_write(x->result == OUTBOX_SENT ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "outbox",
		  LOG_FIELDS("channel", o->channel, "outbox_id", id, "template", m->tmpl, "attempt", attempt,
			     "result", what),
		  "%s #%" PRId64 " %s to %s, attempt %d: %s (%s)%s", o->channel, m->id, m->tmpl, to,
		  m->attempts, what, x->text[0] != '\0' ? x->text : "-",
		  rc == DB_NOTFOUND ? "; lease lost, not recorded"
		  : rc != DB_OK     ? "; database error, not recorded"
				    : "");
}

/* Delivers one claimed message and records the outcome. */
static void deliver(struct db *db, const struct outbox_opts *o, const struct outbox_msg *m, const char *token)
{
	char ref[SMS_SERIAL_MAX] = "", err[ERR_MAX] = "";
	struct outcome x = {m, token, 1, "", time(NULL), 0, NULL};
	int rc;

	if (m->attempts > o->max_attempts) {
		/* claimed more often than allowed: earlier senders died mid-send (lease ran out) */
		x.result = OUTBOX_GIVE_UP;
		snprintf(err, sizeof(err), "gave up after %d interrupted attempts", m->attempts - 1);
	} else if (code_expired(m, x.now)) {
		x.result = OUTBOX_GIVE_UP;
		str_copy(err, "verification code expired before it could be delivered", sizeof(err));
	} else {
		/* A fresh lease covers the whole call to the provider (lease_s > its time limit). */
		x.next = x.now + o->lease_s;
		if ((rc = record(db, apply, &x)) != DB_OK) {
			/* no longer ours, or no database: whoever holds it next sends it */
			log_warn("outbox", "%s #%" PRId64 " not sent: %s", o->channel, m->id,
				 rc == DB_NOTFOUND ? "lease lost to another worker"
						   : "database error renewing the lease");
			return;
		}
		x.result = o->send(o->ctx, m, ref, sizeof(ref), err, sizeof(err));
		x.now = time(NULL);
		if (x.result == OUTBOX_RETRY && m->attempts >= o->max_attempts)
			x.result = OUTBOX_GIVE_UP;
		x.next = x.now + outbox_backoff_s(o->retry_base_s, m->attempts);
	}
	x.text = x.result == OUTBOX_SENT ? ref : err;
	x.params = x.result == OUTBOX_RETRY ? NULL : redacted_params(m);
	rc = record(db, apply, &x);
	log_outcome(o, m, &x, rc);
	free(x.params);
}

/* Hands a claimed message back untried. */
static int give_back(struct db_conn *c, void *arg)
{
	struct outcome *x = arg;
	return store_outbox_release(c, x->m->id, x->token);
}

int outbox_run_once(struct db *db, const struct outbox_opts *o, const atomic_int *stop)
{
	char token[TOKEN_MAX], now[TIMEFMT_LEN], lease[TIMEFMT_LEN];
	struct outbox_msg *msgs = NULL;
	time_t t = time(NULL);
	struct db_conn *c;
	int n = 0, rc;

	new_token(token);
	c = db_acquire(db);
	rc = store_outbox_claim(c, o->channel, timefmt_rfc3339(t, now),
				timefmt_rfc3339(t + o->lease_s, lease), token, o->batch, &msgs, &n);
	if (rc != DB_OK)
		log_error("outbox", "claiming %s messages: %s", o->channel, db_conn_error(c));
	db_release(c);
	if (rc != DB_OK)
		return rc;
	for (int i = 0; i < n; i++) {
		if (stop != NULL && atomic_load(stop)) {
			struct outcome x = {&msgs[i], token, 0, "", t, 0, NULL};
			record(db, give_back, &x);
		} else {
			deliver(db, o, &msgs[i], token);
		}
	}
	store_outbox_msgs_free(msgs, n);
	return n;
}

/* The thread: a look, then a wait of poll_interval_s unless the batch was full or stop is asked. */
/* One pass of the worker (util/periodic.h): a batch; more may be due when it was full. */
static int worker_pass(void *arg, const atomic_int *stop)
{
	struct outbox_worker *w = arg;

	return outbox_run_once(w->db, &w->o, stop) >= w->o.batch;
}

struct outbox_worker *outbox_worker_start(struct db *db, const struct outbox_opts *o, char *err,
					  size_t errlen)
{
	struct outbox_worker *w = xcalloc(sizeof(*w));

	w->db = db;
	w->o = *o;
	if ((w->job = periodic_start("outbox worker", worker_pass, w, o->poll_interval_s, err, errlen)) ==
	    NULL) {
		free(w);
		return NULL;
	}
	return w;
}

void outbox_worker_stop(struct outbox_worker *w)
{
	if (w == NULL)
		return;
	periodic_stop(w->job);
	free(w);
}
