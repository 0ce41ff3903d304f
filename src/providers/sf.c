/* SF Express route query: msgData for one waybill, msgDigest, the signed form POST over libcurl
 * with a time limit; the reply goes to sf_parse_reply (sf_reply.c). */
#include "providers/sf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "providers/httpc.h"
#include "core/tracking.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define SERVICE_CODE "EXP_RECE_SEARCH_ROUTES"
#define CONTENT_TYPE "application/x-www-form-urlencoded;charset=UTF-8"

void sf_config_from(struct sf_config *c, const struct config *cfg)
{
	c->endpoint = cfg->courier_sf_endpoint;
	c->partner_id = cfg->courier_sf_partner_id;
	c->check_word = cfg->courier_sf_check_word;
	c->timeout_s = cfg->courier_timeout_s;
}

/* Returns s form-encoded as Java's URLEncoder.encode(s, "UTF-8") does it. Caller frees. */
static char *form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xcalloc(strlen(s) * 3 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '-' || *p == '*' || *p == '_') {
			*o++ = (char)*p;
		} else if (*p == ' ') {
			*o++ = '+';
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

int sf_msg_digest(const char *msg_data, const char *timestamp, const char *check_word, char *out,
		  size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *plain, *enc;
	int rc = -1;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (msg_data == NULL || timestamp == NULL || check_word == NULL || out == NULL ||
	    outlen < SF_DIGEST_LEN)
		return -1;
	plain = xasprintf("%s%s%s", msg_data, timestamp, check_word);
	if (utf8_chars(plain) < 0) {
		free(plain);
		return -1;
	}
	enc = form_encode(plain);
	if (EVP_Digest(enc, strlen(enc), md, &mdlen, EVP_md5(), NULL) == 1 && mdlen == 16 &&
	    EVP_EncodeBlock((unsigned char *)out, md, 16) == SF_DIGEST_LEN - 1)
		rc = 0;
	else
		out[0] = '\0';
	sodium_memzero(plain, strlen(plain)); /* it ends with the check word */
	sodium_memzero(enc, strlen(enc));
	free(plain);
	free(enc);
	return rc;
}

/* Returns the msgData of a standard query by waybill number (language 0: Chinese). SF's own samples
 * send these numbers as strings. Caller frees. */
static char *msg_data(const char *mail_no, const char *check_phone)
{
	json_t *m = json_pack("{s:s, s:s, s:[s], s:s}", "language", "0", "trackingType", "1",
			      "trackingNumber", mail_no, "methodType", "1");
	char *s;

	if (check_phone != NULL)
		json_object_set_new(m, "checkPhoneNo", json_string(check_phone));
	s = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (s == NULL)
		abort(); /* only out of memory: the values are checked ASCII */
	return s;
}

/* Writes a random UUID (version 4) into out (37 bytes). */
static void uuid4(char out[37])
{
	unsigned char b[16];
	char hex[33];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	sodium_bin2hex(hex, sizeof(hex), b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Returns the form body of the query (caller frees), or NULL when it cannot be signed. */
static char *request_form(const struct sf_config *c, const char *mail_no, const char *check_phone)
{
	char ts[24], digest[SF_DIGEST_LEN], id[37], *data = msg_data(mail_no, check_phone), *out = NULL;
	char *e_partner = NULL, *e_data = NULL, *e_digest = NULL;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(ts, sizeof(ts), "%lld", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	uuid4(id);
	if (sf_msg_digest(data, ts, c->check_word, digest, sizeof(digest)) == 0) {
		e_partner = form_encode(c->partner_id);
		e_data = form_encode(data);
		e_digest = form_encode(digest);
		out = xasprintf("partnerID=%s&requestID=%s&serviceCode=" SERVICE_CODE
				"&timestamp=%s&msgDigest=%s&msgData=%s",
				e_partner, id, ts, e_digest, e_data);
	}
	free(e_partner);
	free(e_data);
	free(e_digest);
	free(data);
	return out;
}

/* POSTs form to the endpoint. Returns 0 with the reply in *b, or SF_RETRY with the reason in err. */
static int post(const struct sf_config *c, const char *form, struct httpc_reply *b, char *err, size_t errlen)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: " CONTENT_TYPE);
	char why[SF_ERR_MAX];
	int rc = 0;

	h = curl_slist_append(h, "Expect:");
	if (httpc_send("POST", c->endpoint, h, form, c->timeout_s, SF_MAX_REPLY, NULL, 0, b, why,
		       sizeof(why)) != 0) {
		snprintf(err, errlen, "%s%s", b->too_long ? "reply: " : "transport: ", why);
		rc = SF_RETRY;
	}
	curl_slist_free_all(h);
	return rc;
}

/* Checks the settings and arguments; returns 0, or SF_PERMANENT with err. */
static int check_args(const struct sf_config *c, const char *check_phone, char *err, size_t errlen)
{
	const char *e = c->endpoint;

	if (e == NULL || (strncmp(e, "https://", 8) != 0 && strncmp(e, "http://", 7) != 0) ||
	    str_has_control(e)) {
		snprintf(err, errlen, "courier.sf_endpoint is not an http(s) URL");
		return SF_PERMANENT;
	}
	if (c->partner_id == NULL || c->partner_id[0] == '\0' || c->check_word == NULL ||
	    c->check_word[0] == '\0' || utf8_chars(c->partner_id) < 0 || utf8_chars(c->check_word) < 0) {
		snprintf(err, errlen, "courier.sf_partner_id or courier.sf_check_word not set");
		return SF_PERMANENT;
	}
	if (check_phone != NULL && (strlen(check_phone) != 4 || strspn(check_phone, "0123456789") != 4)) {
		snprintf(err, errlen, "checkPhoneNo must be the last 4 digits of a phone number");
		return SF_PERMANENT;
	}
	if (c->timeout_s < 1) {
		snprintf(err, errlen, "courier.timeout_s must be at least 1");
		return SF_PERMANENT;
	}
	return 0;
}

int sf_routes(const struct sf_config *c, const char *mail_no, const char *check_phone,
	      struct sf_route **routes, size_t *n, char *err, size_t errlen)
{
	struct httpc_reply b = {0};
	char no[TRACKING_MAX], *form = NULL;
	int rc;

	*routes = NULL;
	*n = 0;
	str_copy(err, "", errlen);
	if (mail_no == NULL || tracking_sf_normalise(mail_no, no) != 0) {
		snprintf(err, errlen, "not an SF waybill number");
		return SF_PERMANENT;
	}
	if ((rc = check_args(c, check_phone, err, errlen)) != 0)
		return rc;
	if ((form = request_form(c, no, check_phone)) == NULL) {
		snprintf(err, errlen, "request cannot be signed");
		return SF_PERMANENT;
	}
	rc = post(c, form, &b, err, errlen);
	if (rc == 0 && b.status != 200) {
		snprintf(err, errlen, "HTTP status %ld", b.status);
		rc = SF_RETRY;
	} else if (rc == 0) {
		rc = sf_parse_reply(b.body, b.len, no, routes, n, err, errlen);
	}
	free(form);
	free(b.body);
	return rc;
}
