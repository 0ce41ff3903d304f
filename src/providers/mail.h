/* E-mail over SMTP with libcurl: one message (UTF-8 subject encoded per RFC 2047, a UTF-8 text body,
 * optionally one attachment) from the configured sender to one recipient. The result says whether
 * the server accepted it, or whether trying again later can help. certdesk-sim has an SMTP receiver.
 * Nothing here logs; the password never reaches err. Thread-safe. */
#ifndef CERTDESK_PROVIDERS_MAIL_H
#define CERTDESK_PROVIDERS_MAIL_H
#include <stddef.h>

struct config;

struct mail_config {
	const char *smtp_url; /* smtp://host:port or smtps://host:port */
	const char *from;
	const char *username, *password; /* "" or NULL: no login */
	int timeout_s;                   /* for the whole delivery, connection included */
};

struct mail_attachment {
	const char *file_name;  /* ASCII: [A-Za-z0-9._-] */
	const char *media_type; /* e.g. application/pdf */
	const void *data;
	size_t len;
};

/* What became of one message (the values of enum outbox_result). */
enum mail_result {
	MAIL_SENT = 0,
	MAIL_RETRY = -1,     /* not accepted; may be later (connection, time-out, 4xx) */
	MAIL_PERMANENT = -2, /* refused for good (5xx, a malformed address) */
};

#define MAIL_ERR_MAX 320

/* Fills c from the [mail] section of cfg; the strings point into cfg, which must outlive c. */
void mail_config_from(struct mail_config *c, const struct config *cfg);

/* Returns 1 when addr is a plain address (local@domain, printable ASCII without spaces, brackets
 * or quotes, at most 254 bytes) fit for an SMTP envelope, 0 otherwise. */
int mail_address_valid(const char *addr);

/* Writes subject (UTF-8) as an RFC 2047 header value (B encoding, encoded words of at most 75
 * characters, folded) into out (outlen bytes). Returns 0, or -1 when it does not fit. */
int mail_encode_subject(const char *subject, char *out, size_t outlen);

/* Sends one message to to with subject and body_text (UTF-8) and att (may be NULL). Returns a
 * enum mail_result, with a short technical reason in err (errlen bytes) unless sent. */
int mail_send(const struct mail_config *c, const char *to, const char *subject, const char *body_text,
	      const struct mail_attachment *att, char *err, size_t errlen);

#endif
