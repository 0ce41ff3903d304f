/* The outbox worker: a thread inside certdeskd that delivers the 'pending' rows of the outbox
 * (store_outbox_*) through a provider (SMS: providers/sms.h), with leases so that several servers
 * sharing one database never send a row while another holds it, retries with back-off, and a
 * clean stop. Delivery is at least once; see src/jobs/README.md for why not exactly once. */
#ifndef CERTDESK_JOBS_OUTBOX_H
#define CERTDESK_JOBS_OUTBOX_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/mail.h"
#include "providers/sms.h"

struct config;
struct db;
struct outbox_msg;
struct outbox_worker;

/* What a sender made of one message (the values of enum sms_result). */
enum outbox_result {
	OUTBOX_SENT = 0,
	OUTBOX_RETRY = -1,   /* try again after the back-off */
	OUTBOX_GIVE_UP = -2, /* a permanent refusal: the row ends 'failed' */
};

/* Delivers m; returns an enum outbox_result, the provider's reference in ref (reflen bytes) when
 * sent, a short reason in err (errlen bytes) otherwise. Called from the worker thread only. */
typedef int (*outbox_send_fn)(void *ctx, const struct outbox_msg *m, char *ref, size_t reflen, char *err,
			      size_t errlen);

struct outbox_opts {
	const char *channel; /* the outbox channel this worker delivers ("sms") */
	int poll_interval_s; /* seconds between looks when nothing was due */
	int batch;           /* messages claimed per look */
	int max_attempts;    /* then 'failed' */
	int retry_base_s;    /* first back-off; then x4, x20, x120, x720 */
	int lease_s;         /* a claim's life; renewed before each send */
	outbox_send_fn send;
	void *ctx;
};

/* Fills o from [outbox] of cfg for the SMS channel, with sms (filled from [sms]) as the sender's
 * settings; cfg and sms must outlive the worker. */
void outbox_opts_sms(struct outbox_opts *o, struct sms_config *sms, const struct config *cfg);

/* The e-mail sender's settings (outbox_mail.c): [mail], and the database and filestore the
 * invoices are read from. */
struct outbox_mail_ctx {
	struct mail_config mail;
	struct db *db;
	const char *data_dir;
};

/* Fills o from [outbox] of cfg for the e-mail channel, with x (filled from [mail], db and [files])
 * as the sender's settings; cfg, x and db must outlive the worker. */
void outbox_opts_mail(struct outbox_opts *o, struct outbox_mail_ctx *x, const struct config *cfg,
		      struct db *db);
/* Returns the invoice id in the parameters of an 'invoice' e-mail, or 0. */
int64_t outbox_invoice_id(const struct outbox_msg *m);

/* Returns the delay before the next try after the attempt-th failed attempt (1-based). */
int outbox_backoff_s(int base_s, int attempt);

/* One look: claims up to o->batch due messages and delivers them one by one; when *stop turns
 * non-zero (NULL: never) the messages not yet tried are handed back unsent. Returns how many were claimed, or
 * a negative enum db_status when the claim failed. */
int outbox_run_once(struct db *db, const struct outbox_opts *o, const atomic_int *stop);

/* Starts the worker thread on db with a copy of o. Returns the worker, or NULL with a message in
 * err (errlen bytes). */
struct outbox_worker *outbox_worker_start(struct db *db, const struct outbox_opts *o, char *err,
					  size_t errlen);
/* Stops the worker: wakes it, lets the send in progress finish (at most the provider's time
 * limit), hands unsent claims back, joins the thread and frees w. NULL is fine. Call before the
 * database closes. */
void outbox_worker_stop(struct outbox_worker *w);

#endif
