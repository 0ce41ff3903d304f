#include "config/config.h"

#include <ctype.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strnum.h"
#include "util/xalloc.h"

enum opt_type { OPT_STR, OPT_INT, OPT_ENUM };

#define LINE_MAX_BYTES 200 /* Debian's inih is built with INI_MAX_LINE 200 */

struct opt {
	const char *section;
	const char *key;
	enum opt_type type;
	size_t offset;
	int64_t min, max;           /* OPT_INT bounds; OPT_STR maximum length */
	const char *def;            /* default, parsed like any value */
	const char *const *choices; /* OPT_ENUM: NULL-terminated */
};

static const char *const backends[] = {"sqlite", "postgres", NULL};
static const char *const sms_providers[] = {"outbox", "tencent", NULL};
static const char *const booleans[] = {"false", "true", NULL};
static const char *const user_pin_modes[] = {"random", "default", NULL};
static const char *const on_off[] = {"off", "on", NULL};

#define F(field) offsetof(struct config, field)
static const struct opt opts[] = {
	{"server", "listen_address", OPT_STR, F(listen_address), 1, 255, "127.0.0.1", NULL},
	{"server", "port", OPT_INT, F(port), 0, 65535, "8080", NULL},
	{"server", "threads", OPT_INT, F(threads), 1, 256, "4", NULL},
	{"server", "max_body_bytes", OPT_INT, F(max_body_bytes), 1024, 64 << 20, "6291456", NULL},
	{"server", "shutdown_timeout_s", OPT_INT, F(shutdown_timeout_s), 1, 600, "15", NULL},
	{"server", "web_root", OPT_STR, F(web_root), 0, 4096, "web/dist", NULL},
	{"server", "public_url", OPT_STR, F(public_url), 0, 1024, "http://127.0.0.1:8080", NULL},
	{"server", "trusted_proxies", OPT_STR, F(trusted_proxies), 0, 2048, "", NULL},
	{"server", "max_connections", OPT_INT, F(max_connections), 16, 100000, "1000", NULL},
	{"server", "max_connections_per_ip", OPT_INT, F(max_connections_per_ip), 0, 100000, "64", NULL},
	{"server", "head_timeout_s", OPT_INT, F(head_timeout_s), 1, 600, "10", NULL},
	{"server", "user", OPT_STR, F(server_user), 0, 32, "", NULL},
	{"security", "seccomp", OPT_ENUM, F(security_seccomp), 0, 0, "on", on_off},
	{"security", "decode_helper", OPT_STR, F(security_decode_helper), 0, 4096, "", NULL},
	{"security", "decode_timeout_s", OPT_INT, F(security_decode_timeout_s), 1, 300, "10", NULL},
	{"database", "backend", OPT_ENUM, F(backend), 0, 0, "sqlite", backends},
	{"database", "sqlite_path", OPT_STR, F(sqlite_path), 1, 4096, "var/certdesk.db", NULL},
	{"database", "postgres_conninfo", OPT_STR, F(postgres_conninfo), 0, 4096, "", NULL},
	{"database", "pool_size", OPT_INT, F(pool_size), 1, 256, "8", NULL},
	{"database", "busy_timeout_ms", OPT_INT, F(busy_timeout_ms), 0, 600000, "5000", NULL},
	{"calendar", "data_dir", OPT_STR, F(calendar_dir), 1, 4096, "data/holidays-cn", NULL},
	{"files", "data_dir", OPT_STR, F(data_dir), 1, 4096, "var/files", NULL},
	{"log", "access_log", OPT_STR, F(access_log), 0, 4096, "-", NULL},
	{"session", "idle_timeout_min", OPT_INT, F(idle_timeout_min), 1, 24 * 60, "30", NULL},
	{"session", "absolute_timeout_h", OPT_INT, F(absolute_timeout_h), 1, 24 * 30, "12", NULL},
	{"sms", "provider", OPT_ENUM, F(sms_provider), 0, 0, "outbox", sms_providers},
	{"sms", "endpoint", OPT_STR, F(sms_endpoint), 8, 1024, "http://127.0.0.1:8090/sms", NULL},
	{"sms", "host", OPT_STR, F(sms_host), 0, 255, "sms.tencentcloudapi.com", NULL},
	{"sms", "secret_id", OPT_STR, F(sms_secret_id), 1, 128, "AKIDcertdeskSIMULATOR", NULL},
	{"sms", "secret_key", OPT_STR, F(sms_secret_key), 1, 128, "certdesk-simulator-key-not-secret", NULL},
	{"sms", "region", OPT_STR, F(sms_region), 0, 64, "ap-guangzhou", NULL},
	{"sms", "sdk_app_id", OPT_STR, F(sms_sdk_app_id), 1, 32, "1400000000", NULL},
	{"sms", "sign_name", OPT_STR, F(sms_sign_name), 1, 64, "江西CA", NULL},
	{"sms", "template_verify_code", OPT_STR, F(sms_template_verify_code), 1, 20, "2000001", NULL},
	{"sms", "template_review_pass", OPT_STR, F(sms_template_review_pass), 1, 20, "2000002", NULL},
	{"sms", "template_review_reject", OPT_STR, F(sms_template_review_reject), 1, 20, "2000003", NULL},
	{"sms", "template_paper_problem", OPT_STR, F(sms_template_paper_problem), 1, 20, "2000004", NULL},
	{"sms", "template_shipped", OPT_STR, F(sms_template_shipped), 1, 20, "2000005", NULL},
	{"sms", "timeout_s", OPT_INT, F(sms_timeout_s), 1, 60, "10", NULL},
	{"sms", "per_ip_hour", OPT_INT, F(sms_per_ip_hour), 1, 100000, "20", NULL},
	{"mail", "smtp_url", OPT_STR, F(mail_smtp_url), 0, 1024, "smtp://127.0.0.1:2525", NULL},
	{"mail", "from", OPT_STR, F(mail_from), 3, 254, "certdesk@localhost", NULL},
	{"mail", "username", OPT_STR, F(mail_username), 0, 254, "", NULL},
	{"mail", "password", OPT_STR, F(mail_password), 0, 254, "", NULL},
	{"mail", "timeout_s", OPT_INT, F(mail_timeout_s), 1, 300, "30", NULL},
	{"outbox", "poll_interval_s", OPT_INT, F(outbox_poll_interval_s), 1, 3600, "2", NULL},
	{"outbox", "batch", OPT_INT, F(outbox_batch), 1, 1000, "20", NULL},
	{"outbox", "max_attempts", OPT_INT, F(outbox_max_attempts), 1, 100, "6", NULL},
	{"outbox", "retry_base_s", OPT_INT, F(outbox_retry_base_s), 1, 3600, "30", NULL},
	{"outbox", "lease_s", OPT_INT, F(outbox_lease_s), 5, 3600, "60", NULL},
	{"dev", "expose_outbox", OPT_ENUM, F(dev_expose_outbox), 0, 0, "false", booleans},
	{"dev", "captcha_answer", OPT_STR, F(dev_captcha_answer), 0, 5, "", NULL},
	{"dev", "decode_test_hooks", OPT_ENUM, F(dev_decode_test_hooks), 0, 0, "false", booleans},
	{"dev", "issue_store_fault", OPT_ENUM, F(dev_issue_store_fault), 0, 0, "false", booleans},
	{"sim", "listen_address", OPT_STR, F(sim_listen_address), 1, 255, "127.0.0.1", NULL},
	{"sim", "port", OPT_INT, F(sim_port), 0, 65535, "8090", NULL},
	{"sim", "smtp_port", OPT_INT, F(sim_smtp_port), 0, 65535, "2525", NULL},
	{"sim", "url", OPT_STR, F(sim_url), 0, 1024, "http://127.0.0.1:8090", NULL},
	{"idv", "endpoint", OPT_STR, F(idv_endpoint), 8, 1024, "http://127.0.0.1:8090/faceid", NULL},
	{"idv", "host", OPT_STR, F(idv_host), 0, 255, "faceid.tencentcloudapi.com", NULL},
	{"idv", "secret_id", OPT_STR, F(idv_secret_id), 1, 128, "AKIDcertdeskSIMULATOR", NULL},
	{"idv", "secret_key", OPT_STR, F(idv_secret_key), 1, 128, "certdesk-simulator-key-not-secret", NULL},
	{"idv", "rule_id", OPT_STR, F(idv_rule_id), 1, 32, "1", NULL},
	{"idv", "region", OPT_STR, F(idv_region), 0, 64, "ap-guangzhou", NULL},
	{"idv", "timeout_s", OPT_INT, F(idv_timeout_s), 1, 60, "10", NULL},
	{"payment", "qr_timeout_min", OPT_INT, F(payment_qr_timeout_min), 5, 120, "30", NULL},
	{"payment", "reconcile_after_s", OPT_INT, F(payment_reconcile_after_s), 1, 86400, "120", NULL},
	{"payment", "reconcile_interval_s", OPT_INT, F(payment_reconcile_interval_s), 1, 3600, "30", NULL},
	{"wxpay", "endpoint", OPT_STR, F(wxpay_endpoint), 8, 1024, "http://127.0.0.1:8090/wxpay", NULL},
	{"wxpay", "appid", OPT_STR, F(wxpay_appid), 1, 32, "wx0000certdesksim", NULL},
	{"wxpay", "mchid", OPT_STR, F(wxpay_mchid), 1, 32, "1900000001", NULL},
	{"wxpay", "merchant_serial", OPT_STR, F(wxpay_merchant_serial), 1, 64,
	 "5157F09EFDC096DE15EBE81A47057A72", NULL},
	{"wxpay", "merchant_key", OPT_STR, F(wxpay_merchant_key), 1, 4096,
	 "config/testkeys/wxpay-merchant.key", NULL},
	{"wxpay", "platform_key", OPT_STR, F(wxpay_platform_key), 1, 4096,
	 "config/testkeys/wxpay-platform.pub", NULL},
	{"wxpay", "platform_serial", OPT_STR, F(wxpay_platform_serial), 1, 64,
	 "PUB_KEY_ID_0119000000012026112500000000000001", NULL},
	{"wxpay", "apiv3_key", OPT_STR, F(wxpay_apiv3_key), 32, 32, "certdeskSimulatorApiV3Key0000000", NULL},
	{"wxpay", "timeout_s", OPT_INT, F(wxpay_timeout_s), 1, 60, "10", NULL},
	{"alipay", "gateway", OPT_STR, F(alipay_gateway), 8, 1024, "http://127.0.0.1:8090/alipay/gateway.do",
	 NULL},
	{"alipay", "app_id", OPT_STR, F(alipay_app_id), 1, 32, "2021000000000001", NULL},
	{"alipay", "seller_id", OPT_STR, F(alipay_seller_id), 1, 32, "2088000000000001", NULL},
	{"alipay", "app_key", OPT_STR, F(alipay_app_key), 1, 4096, "config/testkeys/alipay-app.key", NULL},
	{"alipay", "public_key", OPT_STR, F(alipay_public_key), 1, 4096, "config/testkeys/alipay-gateway.pub",
	 NULL},
	{"alipay", "timeout_s", OPT_INT, F(alipay_timeout_s), 1, 60, "10", NULL},
	{"courier", "sf_endpoint", OPT_STR, F(courier_sf_endpoint), 8, 1024,
	 "http://127.0.0.1:8090/sf/std/service", NULL},
	{"courier", "sf_partner_id", OPT_STR, F(courier_sf_partner_id), 1, 64, "CERTDESK_SIM", NULL},
	{"courier", "sf_check_word", OPT_STR, F(courier_sf_check_word), 1, 128,
	 "certdesk-simulator-checkword", NULL},
	{"courier", "timeout_s", OPT_INT, F(courier_timeout_s), 1, 60, "5", NULL},
	{"courier", "cache_s", OPT_INT, F(courier_cache_s), 0, 86400, "600", NULL},
	{"sim", "wxpay_merchant_pub", OPT_STR, F(sim_wxpay_merchant_pub), 1, 4096,
	 "config/testkeys/wxpay-merchant.pub", NULL},
	{"sim", "wxpay_platform_key", OPT_STR, F(sim_wxpay_platform_key), 1, 4096,
	 "config/testkeys/wxpay-platform.key", NULL},
	{"sim", "alipay_app_pub", OPT_STR, F(sim_alipay_app_pub), 1, 4096, "config/testkeys/alipay-app.pub",
	 NULL},
	{"sim", "alipay_gateway_key", OPT_STR, F(sim_alipay_gateway_key), 1, 4096,
	 "config/testkeys/alipay-gateway.key", NULL},
	{"signer", "socket", OPT_STR, F(signer_socket), 1, 107, "var/signer.sock", NULL},
	{"signer", "keys_dir", OPT_STR, F(signer_keys_dir), 1, 4096, "var/ca-keys", NULL},
	{"signer", "log", OPT_STR, F(signer_log), 1, 4096, "var/signer.log", NULL},
	{"signer", "user", OPT_STR, F(signer_user), 0, 32, "", NULL},
	{"ca", "crl_interval_s", OPT_INT, F(ca_crl_interval_s), 60, 604800, "86400", NULL},
	{"ca", "ocsp_validity_s", OPT_INT, F(ca_ocsp_validity_s), 600, 604800, "86400", NULL},
	{"km", "kek_file", OPT_STR, F(km_kek_file), 1, 4096, "var/km.kek", NULL},
	{"pii", "key_file", OPT_STR, F(pii_key_file), 1, 4096, "var/pii.key", NULL},
	{"production", "user_pin", OPT_ENUM, F(production_user_pin), 0, 0, "random", user_pin_modes},
	{"production", "default_user_pin", OPT_STR, F(production_default_user_pin), 6, 16, "12345678", NULL},
	{"metrics", "allow", OPT_STR, F(metrics_allow), 0, 2048, "127.0.0.1", NULL},
};
#undef F

struct load_ctx {
	struct config *cfg;
	char *err;
	size_t errlen;
	int failed;
};

/* Finds the table entry for section.key; returns NULL when there is none. */
static const struct opt *opt_find(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

/* Parses value into the field of o; returns 0, or -1 with a description of the rule in why. */
static int opt_set(struct config *cfg, const struct opt *o, const char *value, char *why, size_t whylen)
{
	char *base = (char *)cfg + o->offset;
	int64_t n;

	switch (o->type) {
	case OPT_STR:
		if ((int64_t)strlen(value) < o->min || (int64_t)strlen(value) > o->max) {
			snprintf(why, whylen, "expected %lld to %lld characters", (long long)o->min,
				 (long long)o->max);
			return -1;
		}
		free(*(char **)base);
		*(char **)base = xstrdup(value);
		return 0;
	case OPT_INT:
		if (strnum_parse(value, o->min, o->max, &n) != 0) {
			snprintf(why, whylen, "expected an integer from %lld to %lld", (long long)o->min,
				 (long long)o->max);
			return -1;
		}
		*(int *)base = (int)n;
		return 0;
	case OPT_ENUM:
		for (int i = 0; o->choices[i] != NULL; i++)
			if (strcmp(value, o->choices[i]) == 0) {
				*(int *)base = i;
				return 0;
			}
		snprintf(why, whylen, "expected one of:");
		for (int i = 0; o->choices[i] != NULL; i++)
			snprintf(why + strlen(why), whylen - strlen(why), " %s", o->choices[i]);
		return -1;
	}
	return -1;
}

/* inih callback for one key; records the first error and returns 0 on it. */
static int on_ini_key(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *c = user;
	const struct opt *o = opt_find(section, key);
	char why[160];

	if (c->failed)
		return 1;
	if (o == NULL) {
		snprintf(c->err, c->errlen, "unknown key '%s' in section [%s]", key, section);
		c->failed = 1;
		return 0;
	}
	if (opt_set(c->cfg, o, value, why, sizeof(why)) != 0) {
		snprintf(c->err, c->errlen, "bad value '%s' for %s.%s: %s", value, section, key, why);
		c->failed = 1;
		return 0;
	}
	return 1;
}

/* Writes the environment variable name for o into buf. */
static void env_name(const struct opt *o, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "CERTDESK_%s_%s", o->section, o->key);
	for (size_t i = 0; i < n && i < len; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

/* Applies CERTDESK_* variables; any such variable naming no key is an error too. */
static int apply_env(struct config *cfg, char *err, size_t errlen)
{
	extern char **environ;
	char name[128], why[160];

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		env_name(&opts[i], name, sizeof(name));
		const char *v = getenv(name);
		if (v != NULL && opt_set(cfg, &opts[i], v, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "environment %s: bad value '%s' for %s.%s: %s", name, v,
				 opts[i].section, opts[i].key, why);
			return -1;
		}
	}
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "CERTDESK_", 9) != 0)
			continue;
		size_t len = strcspn(*e, "=");
		int known = 0;
		for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]) && !known; i++) {
			env_name(&opts[i], name, sizeof(name));
			known = strlen(name) == len && strncmp(name, *e, len) == 0;
		}
		/* CERTDESK_SIGNER_PIN_<KEY ID>: PKCS#11 PINs, read by certdesk-signer itself. */
		if (!known && strncmp(*e, "CERTDESK_TEST_", 14) != 0 && strncmp(*e, "CERTDESK_SIGNER_PIN_", 20) != 0) {
			snprintf(err, errlen, "environment: unknown variable %.*s", (int)len, *e);
			return -1;
		}
	}
	return 0;
}

/* inih reads at most INI_MAX_LINE - 1 bytes of a line and takes the rest for a new line, which can
 * silently change a value: refuse such lines instead. Returns 0, or -1 with a message. */
static int check_line_lengths(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t len = 0;
	int line = 1, c;

	if (f == NULL)
		return 0; /* ini_parse reports it */
	while ((c = getc(f)) != EOF) {
		if (c == '\n') {
			line++;
			len = 0;
		} else if (++len >= LINE_MAX_BYTES) {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, line,
				 LINE_MAX_BYTES - 1);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char why[160];
	struct load_ctx ctx = {cfg, err, errlen, 0};

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (opt_set(cfg, &opts[i], opts[i].def, why, sizeof(why)) != 0)
			abort(); /* a default that breaks its own rule is a programming error */
	if (path != NULL) {
		if (check_line_lengths(path, err, errlen) != 0)
			return -1;
		int rc = ini_parse(path, on_ini_key, &ctx);
		if (rc < 0) {
			snprintf(err, errlen, "%s: cannot read the configuration file", path);
			return -1;
		}
		if (ctx.failed) {
			/* inih returns the line of the first error. */
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "%s:%d: %s", path, rc, msg);
			return -1;
		}
		if (rc > 0) {
			snprintf(err, errlen, "%s:%d: syntax error", path, rc);
			return -1;
		}
	}
	if (apply_env(cfg, err, errlen) != 0)
		return -1;
	if (cfg->backend == DB_BACKEND_POSTGRES && cfg->postgres_conninfo[0] == '\0') {
		snprintf(err, errlen,
			 "database.postgres_conninfo: required when database.backend = postgres");
		return -1;
	}
	/* A lease shorter than one call to the provider would let another server send the same
	 * message while this one is still waiting for the answer. */
	if (cfg->outbox_lease_s < cfg->sms_timeout_s + 5) {
		snprintf(err, errlen, "outbox.lease_s (%d) must be at least sms.timeout_s + 5 (%d)",
			 cfg->outbox_lease_s, cfg->sms_timeout_s + 5);
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (opts[i].type == OPT_STR) {
			char **p = (char **)((char *)cfg + opts[i].offset);
			free(*p);
			*p = NULL;
		}
}

const char *config_backend_name(int backend)
{
	return backends[backend == DB_BACKEND_POSTGRES ? 1 : 0];
}

int config_key_at(int i, const char **section, const char **key)
{
	if (i < 0 || (size_t)i >= sizeof(opts) / sizeof(opts[0]))
		return -1;
	*section = opts[i].section;
	*key = opts[i].key;
	return 0;
}
