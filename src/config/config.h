/* Configuration: one INI file plus CERTDESK_<SECTION>_<KEY> environment overrides.
 * Every key is declared once in config.c's table with its type and bounds; unknown keys and
 * bad values are refused with a message naming them. config/certdesk.conf.example documents each. */
#ifndef CERTDESK_CONFIG_H
#define CERTDESK_CONFIG_H
#include <stddef.h>

enum db_backend { DB_BACKEND_SQLITE, DB_BACKEND_POSTGRES };
/* outbox: messages stay in the database's outbox, readable by developers (no real delivery);
 * tencent: the outbox worker (jobs/outbox.c) delivers them through Tencent Cloud SMS. */
enum sms_provider { SMS_PROVIDER_OUTBOX, SMS_PROVIDER_TENCENT };

struct config {
	/* [server] */
	char *listen_address;
	int port;
	int threads;
	int max_body_bytes;
	int shutdown_timeout_s;
	char *web_root;
	char *public_url;
	char *trusted_proxies; /* reverse proxies whose X-Forwarded-For is believed */
	int max_connections;
	int max_connections_per_ip; /* 0: no limit */
	int head_timeout_s;         /* time to receive a request's head */
	char *server_user;          /* "" or the user certdeskd becomes after binding and opening as root */
	/* [security] */
	int security_seccomp;           /* 1: the seccomp allow-lists are installed (src/util/seccomp.h) */
	char *security_decode_helper;   /* certdesk-decode's path ("": beside certdeskd) */
	int security_decode_timeout_s;  /* a decode taking longer is killed (422) */
	/* [database] */
	int backend; /* enum db_backend */
	char *sqlite_path;
	char *postgres_conninfo;
	int pool_size;
	int busy_timeout_ms;
	/* [calendar] */
	char *calendar_dir;
	/* [files] */
	char *data_dir;
	/* [log] */
	char *access_log; /* "-" is standard error, "" turns it off */
	/* [session] */
	int idle_timeout_min;
	int absolute_timeout_h;
	/* [sms] */
	int sms_provider; /* enum sms_provider */
	char *sms_endpoint;
	char *sms_host; /* "" = the endpoint's host */
	char *sms_secret_id;
	char *sms_secret_key;
	char *sms_region;
	char *sms_sdk_app_id;
	char *sms_sign_name;
	char *sms_template_verify_code; /* Tencent template ids, one per message template */
	char *sms_template_review_pass;
	char *sms_template_review_reject;
	char *sms_template_paper_problem;
	char *sms_template_shipped;
	int sms_timeout_s;
	int sms_per_ip_hour; /* codes one client address may request in an hour */
	/* [mail] e-mail (invoices) over SMTP, delivered by the outbox worker; "" smtp_url: not sent */
	char *mail_smtp_url;
	char *mail_from;
	char *mail_username;
	char *mail_password;
	int mail_timeout_s;
	/* [outbox] the delivery worker */
	int outbox_poll_interval_s;
	int outbox_batch;
	int outbox_max_attempts;
	int outbox_retry_base_s;
	int outbox_lease_s;
	/* [dev] */
	int dev_expose_outbox;
	char *dev_captcha_answer; /* "" normally; tests fix the answer */
	int dev_decode_test_hooks; /* certdesk-decode crashes/hangs/probes on marked uploads (tests only) */
	int dev_issue_store_fault; /* issuance: the first store of each new intent fails (tests only) */
	/* [sim] */
	char *sim_listen_address;
	int sim_port;
	int sim_smtp_port; /* the simulated mail server; 0: any free port */
	char *sim_url;
	/* [idv] legal-person face verification, Tencent FaceID H5 (certdesk-sim by default) */
	char *idv_endpoint;
	char *idv_host; /* "" = the endpoint's host */
	char *idv_secret_id;
	char *idv_secret_key;
	char *idv_rule_id;
	char *idv_region;
	int idv_timeout_s;
	/* [payment] what the platform's payment step does, whichever provider */
	int payment_qr_timeout_min;    /* an attempt (a QR code) expires after this */
	int payment_reconcile_after_s; /* open attempts older than this are asked about */
	int payment_reconcile_interval_s;
	/* [wxpay] WeChat Pay API v3, Native (certdesk-sim by default) */
	char *wxpay_endpoint; /* https://api.mch.weixin.qq.com, or the simulator's http://.../wxpay */
	char *wxpay_appid;
	char *wxpay_mchid;
	char *wxpay_merchant_serial; /* serial_no of the merchant API certificate */
	char *wxpay_merchant_key;    /* PEM file: the merchant API private key */
	char *wxpay_platform_key;    /* PEM file: WeChat Pay's public key (or platform certificate) */
	char *wxpay_platform_serial; /* its Wechatpay-Serial (public key id or certificate serial) */
	char *wxpay_apiv3_key;       /* 32 bytes, decrypts notifications */
	int wxpay_timeout_s;
	/* [alipay] Alipay OpenAPI, face-to-face precreate (certdesk-sim by default) */
	char *alipay_gateway; /* https://openapi.alipay.com/gateway.do, or the simulator's */
	char *alipay_app_id;
	char *alipay_seller_id;  /* the merchant's Alipay user id (2088...), checked in notifications */
	char *alipay_app_key;    /* PEM file: the application private key */
	char *alipay_public_key; /* PEM file: Alipay's public key */
	int alipay_timeout_s;
	/* [courier] SF Express open platform, route query (certdesk-sim by default) */
	char *courier_sf_endpoint; /* https://bspgw.sf-express.com/std/service, or the simulator's */
	char *courier_sf_partner_id;
	char *courier_sf_check_word;
	int courier_timeout_s;
	int courier_cache_s; /* a parcel's route is asked again after this */
	/* [sim] the payment simulators' halves of the key pairs */
	char *sim_wxpay_merchant_pub; /* checks the platform's requests */
	char *sim_wxpay_platform_key; /* signs replies and notifications */
	char *sim_alipay_app_pub;
	char *sim_alipay_gateway_key;
	/* [signer] certdesk-signer, the one process that holds CA private keys (pki/signer_proto.h) */
	char *signer_socket;   /* its UNIX socket, mode 0660 */
	char *signer_keys_dir; /* <id>.pem or <id>.p11, and <id>.crt, per key */
	char *signer_log;      /* append-only, one JSON line per signature or refusal */
	char *signer_user;     /* "" or the user it becomes after opening keys and socket as root */
	/* [ca] what certdeskd publishes about the certificates */
	int ca_crl_interval_s;  /* a CRL is made at least this often (valid for twice as long) */
	int ca_ocsp_validity_s; /* a pre-signed OCSP response is valid this long, refreshed at half */
	/* [km] key management of dual certificates' encryption keys (km/km.h) */
	char *km_kek_file; /* the key-encryption key: 32 bytes, mode 0600, outside the database */
	/* [pii] personal data at rest (store/pii.h) */
	char *pii_key_file; /* the key sealing ID numbers and mobiles: 32 bytes, mode 0600, outside the database */
	/* [production] the USB key's initial user PIN: 0 random (8 digits, printed on the PIN slip),
	 * 1 the project's documented default_user_pin */
	int production_user_pin;
	char *production_default_user_pin;
	/* [metrics] who may read /metrics without a staff admin session (addresses or CIDR prefixes) */
	char *metrics_allow;
};

/* Fills cfg with defaults, then the file at path (NULL: none), then the environment. Returns 0,
 * or -1 with a message naming the file, line and key (or the variable) in err (errlen bytes). */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
/* Frees the strings held by cfg. */
void config_free(struct config *cfg);
/* Sets *section and *key to the i-th known key; returns 0, or -1 when i is past the last. */
int config_key_at(int i, const char **section, const char **key);
/* Returns the backend's name: "sqlite" or "postgres". */
const char *config_backend_name(int backend);

#endif
