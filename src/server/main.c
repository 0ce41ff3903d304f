/* certdeskd: the platform server. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "config/config.h"
#include "jobs/leased.h"
#include "jobs/outbox.h"
#include "pay/payments.h"
#include "pki/issue.h"
#include "pki/publish.h"
#include "util/periodic.h"
#include "core/workdays.h"
#include "store/pii_store.h"
#include "store/store.h"
#include "util/fsutil.h"
#include "sandbox/decode_client.h"
#include "sandbox/privdrop.h"
#include "util/log.h"
#include "util/seccomp.h"
#include "util/memtune.h"

/* Opens the access log named by the configuration: "-" standard error, "" none. */
static FILE *open_access_log(const char *spec)
{
	if (spec[0] == '\0')
		return NULL;
	if (strcmp(spec, "-") == 0)
		return stderr;
	return fopen(spec, "a");
}

/* Blocks SIGTERM/SIGINT in every thread (the set is inherited) so that only sigwait sees them. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* How often the publishing job looks for CRLs and OCSP responses to make (seconds). */
#define PUBLISH_POLL_S 30
/* How long a server may hold a job's lease (longer than any pass: the signer's and the providers'
 * time-outs); one that dies mid-pass holds the others up this long at most. */
#define LEASE_S 600

/* Started as root: hands the files certdeskd writes (data_dir, the SQLite database, the access log)
 * to [server] user and becomes it, after the port is bound. Returns 0 or -1 (printed). */
static int drop_root(const struct config *cfg)
{
	char wal[4200], shm[4200], err[512];
	int sqlite = cfg->backend == DB_BACKEND_SQLITE;
	const char *trees[] = {cfg->data_dir, NULL};
	const char *files[] = {cfg->access_log, sqlite ? cfg->sqlite_path : NULL, wal, shm, NULL};

	snprintf(wal, sizeof(wal), "%s-wal", cfg->sqlite_path);
	snprintf(shm, sizeof(shm), "%s-shm", cfg->sqlite_path);
	if (privdrop_become(cfg->server_user, trees, files, err, sizeof(err)) != 0) {
		log_error("certdeskd", "%s", err);
		return -1;
	}
	return 0;
}

/* Installs the seccomp allow-list ([security] seccomp) once every thread has started. */
static int confine(const struct config *cfg)
{
	char err[256];
	int rc;

	if (!cfg->security_seccomp)
		return log_warn("certdeskd", "[security] seccomp = off"), 0;
	rc = seccomp_install(SECCOMP_SERVER, err, sizeof(err));
	if (rc == 1)
		log_warn("certdeskd", "this kernel has no seccomp; running without the allow-list");
	else if (rc != 0)
		log_error("certdeskd", "%s", err);
	return rc < 0 ? -1 : 0;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: certdeskd [--config FILE]\n"
		   "  Serves the certdesk API and web UI. Settings come from FILE (INI) and\n"
		   "  CERTDESK_<SECTION>_<KEY> environment variables; see config/certdesk.conf.example.\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct app app = {0};
	struct calendar_live calendar;
	int calendar_ok = 0;
	struct http_server *srv = NULL;
	struct outbox_worker *outbox = NULL, *mailer = NULL;
	struct paysvc pay = {0};
	struct periodic *reconciler = NULL, *sweeper = NULL, *publishing = NULL;
	struct store_sweep_job sweep = {0};
	struct outbox_opts outbox_opts, mail_opts;
	struct pki_publisher publisher;
	/* several servers on one database: one of them at a time runs each of these passes */
	struct leased_job reconcile_job, publish_job;
	struct outbox_mail_ctx mail;
	struct sms_config sms;
	const char *path = NULL;
	char err[1024];
	sigset_t set;
	FILE *alog = NULL;
	int sig, rc = 1, applied = 0, listen_fd = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--version") == 0)
			return printf("certdeskd %s\n", api_version()) < 0;
		else
			return usage(strcmp(argv[i], "--help") == 0 ? stdout : stderr,
				     strcmp(argv[i], "--help") != 0);
	}
	log_setup("certdeskd", 1); /* one JSON object per line on standard error (util/log.h) */
	if (config_load(&cfg, path, err, sizeof(err)) != 0) {
		log_error("certdeskd", "configuration: %s", err);
		config_free(&cfg);
		return 2;
	}
	block_signals(&set);
	/* forks the decode launcher: before any thread, and before the filter that forbids fork/exec */
	if (decode_setup(&cfg, err, sizeof(err)) != 0) {
		log_error("certdeskd", "%s", err);
		goto out;
	}
	memtune_start(); /* malloc settings and a trimming thread (issue 17): after the fork above */
	if (fs_mkdir_p(cfg.data_dir, 0750) != 0) {
		log_error("certdeskd", "files.data_dir %s: %s", cfg.data_dir, strerror(errno));
		goto out;
	}
	if (cfg.backend == DB_BACKEND_SQLITE && fs_mkdir_parent(cfg.sqlite_path, 0750) != 0) {
		log_error("certdeskd", "database.sqlite_path %s: %s", cfg.sqlite_path, strerror(errno));
		goto out;
	}
	if ((alog = open_access_log(cfg.access_log)) == NULL && cfg.access_log[0] != '\0') {
		log_error("certdeskd", "log.access_log %s: %s", cfg.access_log, strerror(errno));
		goto out;
	}
	if (db_open(&app.db, &cfg, err, sizeof(err)) != 0 ||
	    store_migrate(app.db, &applied, err, sizeof(err)) != 0) {
		log_error("certdeskd", "database: %s", err);
		goto out;
	}
	/* ID numbers and mobiles are sealed at rest: no start without the key that opens them */
	if (pii_store_start(app.db, cfg.pii_key_file, err, sizeof(err)) != 0) {
		log_error("certdeskd", "[pii] key_file: %s", err);
		goto out;
	}
	app.cfg = &cfg;
	calendar_ok = 1; /* initialised (lock and calendar), whether or not it loads */
	if (calendar_live_init(&calendar, cfg.calendar_dir, app.db, err, sizeof(err)) != 0) {
		log_error("certdeskd", "calendar.data_dir: %s", err);
		goto out;
	}
	app.calendar = &calendar;
	if (paysvc_init(&pay, app.db, &cfg, err, sizeof(err)) != 0) {
		log_error("certdeskd", "payments: %s", err);
		goto out;
	}
	app.pay = &pay;
	if (cfg.dev_captcha_answer[0] != '\0' || cfg.dev_expose_outbox || cfg.dev_issue_store_fault)
		log_warn("certdeskd", "[dev] settings are on (fixed captcha, exposed SMS outbox or issuance "
				      "store fault): for development and tests only");
	pki_issue_set_store_fault(cfg.dev_issue_store_fault);
	/* bound as root (a port below 1024 needs it), served only after the drop: no request is
	 * answered as root */
	if ((listen_fd = http_listen(cfg.listen_address, cfg.port, err, sizeof(err))) < 0) {
		log_error("certdeskd", "%s", err);
		goto out;
	}
	if (drop_root(&cfg) != 0)
		goto out;
	srv = http_server_start(&(struct http_server_opts){.listen_address = cfg.listen_address,
							   .port = cfg.port,
							   .threads = cfg.threads,
							   .max_body_bytes = (size_t)cfg.max_body_bytes,
							   .web_root = cfg.web_root,
							   .access_log = alog,
							   .routes = api_routes,
							   .nroutes = api_route_count,
							   .ctx = &app,
							   .before = api_before,
							   .params = api_params,
							   .nparams = api_param_count,
							   .on_error = api_log_error,
							   .trusted_proxies = cfg.trusted_proxies,
							   .max_connections = (unsigned)cfg.max_connections,
							   .max_connections_per_ip =
								   (unsigned)cfg.max_connections_per_ip,
							   .head_timeout_s = (unsigned)cfg.head_timeout_s,
							   .listen_fd = listen_fd},
				err, sizeof(err));
	if (srv == NULL) {
		log_error("certdeskd", "%s", err);
		goto out;
	}
	/* Notifications are delivered by a worker only when a provider is configured. */
	if (cfg.sms_provider == SMS_PROVIDER_TENCENT) {
		outbox_opts_sms(&outbox_opts, &sms, &cfg);
		if ((outbox = outbox_worker_start(app.db, &outbox_opts, err, sizeof(err))) == NULL) {
			log_error("certdeskd", "%s", err);
			goto out;
		}
		log_info("outbox", "outbox worker delivering SMS through Tencent Cloud SMS at %s",
			 cfg.sms_endpoint);
	}
	if (cfg.mail_smtp_url[0] != '\0') {
		outbox_opts_mail(&mail_opts, &mail, &cfg, app.db);
		if ((mailer = outbox_worker_start(app.db, &mail_opts, err, sizeof(err))) == NULL) {
			log_error("certdeskd", "%s", err);
			goto out;
		}
		log_info("outbox", "outbox worker delivering e-mail through %s", cfg.mail_smtp_url);
	}
	leased_job_init(&reconcile_job, app.db, "payment_reconcile", LEASE_S, paysvc_reconcile_pass, &pay);
	if ((reconciler = periodic_start("payment reconciler", leased_job_pass, &reconcile_job,
					 cfg.payment_reconcile_interval_s, err, sizeof(err))) == NULL) {
		log_error("certdeskd", "%s", err);
		goto out;
	}
	sweep = (struct store_sweep_job){app.db, cfg.data_dir};
	if ((sweeper = periodic_start("orphan file sweep", store_files_sweep_pass, &sweep,
				      STORE_FILES_SWEEP_INTERVAL_S, err, sizeof(err))) == NULL) {
		log_error("certdeskd", "%s", err);
		goto out;
	}
	publisher = (struct pki_publisher){app.db, cfg.signer_socket, cfg.ca_crl_interval_s, cfg.ca_ocsp_validity_s};
	leased_job_init(&publish_job, app.db, "pki_publish", LEASE_S, pki_publish_pass, &publisher);
	if ((publishing = periodic_start("CRL and OCSP publishing", leased_job_pass, &publish_job, PUBLISH_POLL_S, err,
					 sizeof(err))) == NULL) {
		log_error("certdeskd", "%s", err);
		goto out;
	}
	if (confine(&cfg) != 0)
		goto out;
	/* on standard output, as before the lines were JSON: scripts wait for it there */
	log_write_fd(STDOUT_FILENO, LOG_LEVEL_INFO, "certdeskd", NULL,
		     "certdeskd %s listening on http://%s:%d (database %s, schema %d, %d migrations applied)",
		     api_version(), cfg.listen_address, http_server_port(srv), db_backend_name(app.db),
		     store_schema_latest(), applied);
	sigwait(&set, &sig);
	log_info("certdeskd", "%s received, finishing requests in flight", strsignal(sig));
	http_server_stop(srv, cfg.shutdown_timeout_s);
	srv = NULL;
	rc = 0;
out:
	if (srv != NULL)
		http_server_stop(srv, 1);
	/* after the last request (which may queue a message), before the database closes */
	outbox_worker_stop(outbox);
	outbox_worker_stop(mailer);
	periodic_stop(reconciler);
	periodic_stop(sweeper);
	periodic_stop(publishing);
	paysvc_free(&pay);
	db_close(app.db);
	if (calendar_ok)
		calendar_live_free(&calendar);
	if (alog != NULL && alog != stderr)
		fclose(alog);
	config_free(&cfg);
	if (rc == 0)
		log_info("certdeskd", "stopped");
	return rc;
}
