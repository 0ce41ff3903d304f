/* SMTP delivery through libcurl: envelope (MAIL FROM, RCPT TO), headers, and a MIME body built with
 * curl_mime (text/plain UTF-8 in base64, the attachment in base64). */
#include "providers/mail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/config.h"

#define WORD_RAW_MAX 45 /* bytes per encoded word: 60 base64 characters + 12 = 72 <= 75 */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void mail_config_from(struct mail_config *c, const struct config *cfg)
{
	c->smtp_url = cfg->mail_smtp_url;
	c->from = cfg->mail_from;
	c->username = cfg->mail_username;
	c->password = cfg->mail_password;
	c->timeout_s = cfg->mail_timeout_s;
}

int mail_address_valid(const char *addr)
{
	const char *at;
	size_t n;

	if (addr == NULL || (n = strlen(addr)) < 3 || n > 254 || (at = strchr(addr, '@')) == NULL ||
	    at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) != NULL)
			return 0;
	return 1;
}

int mail_encode_subject(const char *subject, char *out, size_t outlen)
{
	size_t len = strlen(subject), i = 0, used = 0;
	char b64[sodium_base64_ENCODED_LEN(WORD_RAW_MAX, sodium_base64_VARIANT_ORIGINAL)];

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	while (i < len) {
		size_t n = len - i > WORD_RAW_MAX ? WORD_RAW_MAX : len - i;
		int w;

		/* never split a UTF-8 sequence between two words */
		while (n > 0 && i + n < len && ((unsigned char)subject[i + n] & 0xc0) == 0x80)
			n--;
		if (n == 0)
			return -1;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)subject + i, n,
				  sodium_base64_VARIANT_ORIGINAL);
		w = snprintf(out + used, outlen - used, "%s=?UTF-8?B?%s?=", used ? "\r\n " : "", b64);
		if (w < 0 || (size_t)w >= outlen - used)
			return -1;
		used += (size_t)w;
		i += n;
	}
	return 0;
}

/* Builds the header list of the message; returns it (curl_slist_free_all) or NULL. */
static struct curl_slist *headers(const struct mail_config *c, const char *to, const char *subject)
{
	char line[1200], enc[1100], date[64], id[64];
	unsigned char rnd[12];
	struct curl_slist *h = NULL, *t;
	time_t now = time(NULL);
	struct tm tm;

	if (mail_encode_subject(subject, enc, sizeof(enc)) != 0)
		return NULL;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
	h = curl_slist_append(h, date);
	snprintf(line, sizeof(line), "From: <%s>", c->from);
	h = (t = curl_slist_append(h, line)) ? t : h;
	snprintf(line, sizeof(line), "To: <%s>", to);
	h = (t = curl_slist_append(h, line)) ? t : h;
	snprintf(line, sizeof(line), "Subject: %s", enc);
	h = (t = curl_slist_append(h, line)) ? t : h;
	snprintf(line, sizeof(line), "Message-ID: <%s.certdesk@%s>", id, strchr(c->from, '@') + 1);
	h = (t = curl_slist_append(h, line)) ? t : h;
	h = (t = curl_slist_append(h, "MIME-Version: 1.0")) ? t : h;
	return h;
}

/* Builds the MIME body; returns it (curl_mime_free) or NULL. */
static curl_mime *body(CURL *e, const char *text, const struct mail_attachment *att)
{
	curl_mime *m = curl_mime_init(e);
	curl_mimepart *p;

	if (m == NULL)
		return NULL;
	p = curl_mime_addpart(m);
	curl_mime_data(p, text, CURL_ZERO_TERMINATED);
	curl_mime_type(p, "text/plain; charset=UTF-8");
	curl_mime_encoder(p, "base64");
	if (att != NULL) {
		p = curl_mime_addpart(m);
		curl_mime_data(p, att->data, att->len);
		curl_mime_type(p, att->media_type);
		curl_mime_filename(p, att->file_name);
		curl_mime_encoder(p, "base64");
	}
	return m;
}

int mail_send(const struct mail_config *c, const char *to, const char *subject, const char *body_text,
	      const struct mail_attachment *att, char *err, size_t errlen)
{
	struct curl_slist *rcpt = NULL, *h = NULL;
	curl_mime *mime = NULL;
	CURL *e = NULL;
	CURLcode cc;
	long code = 0;
	int rc = MAIL_RETRY;

	err[0] = '\0';
	if (!mail_address_valid(to) || !mail_address_valid(c->from)) {
		snprintf(err, errlen, "invalid sender or recipient address");
		return MAIL_PERMANENT;
	}
	pthread_once(&curl_once, curl_init_once);
	if ((e = curl_easy_init()) == NULL || (h = headers(c, to, subject)) == NULL ||
	    (rcpt = curl_slist_append(NULL, to)) == NULL || (mime = body(e, body_text, att)) == NULL) {
		snprintf(err, errlen, "cannot build the message");
		goto out;
	}
	curl_easy_setopt(e, CURLOPT_URL, c->smtp_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, c->from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
	if (c->username != NULL && c->username[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
	}
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK) {
		rc = MAIL_SENT;
	} else {
		rc = code >= 500 && code < 600 ? MAIL_PERMANENT : MAIL_RETRY;
		snprintf(err, errlen, "%s (SMTP %ld)", curl_easy_strerror(cc), code);
	}
out:
	curl_mime_free(mime);
	curl_slist_free_all(rcpt);
	curl_slist_free_all(h);
	if (e != NULL)
		curl_easy_cleanup(e);
	return rc;
}
