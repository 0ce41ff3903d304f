/* TC3-HMAC-SHA256: CanonicalRequest -> StringToSign -> key chain HMAC("TC3"+key, date) -> service ->
 * "tc3_request" -> hex HMAC of StringToSign. Steps as in Tencent's 签名方法 v3 and its SDKs. */
#include "providers/tc3.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

#define SIGNED_HEADERS "content-type;host"
#define ALGORITHM "TC3-HMAC-SHA256"
#define HEX_LEN (2 * crypto_auth_hmacsha256_BYTES + 1)

/* HMAC-SHA256 of msg with a key of any length into out. */
static void hmac(const unsigned char *key, size_t keylen, const char *msg,
		 unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* Writes the lowercase hex SHA-256 of text into hex (HEX_LEN bytes). */
static void sha256_hex(const char *text, char hex[HEX_LEN])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(hex, HEX_LEN, h, sizeof(h));
}

/* Returns 1 when s is non-empty and holds no control character, space or separator the header
 * format uses (when strict), else 0. */
static int token_ok(const char *s, int strict)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || (strict && (c == ' ' || c == ',' || c == '/' || c == '=')))
			return 0;
	}
	return 1;
}

/* Writes the UTC date of timestamp as YYYY-MM-DD into date (11 bytes); returns 0 or -1. */
static int utc_date(long long timestamp, char date[11])
{
	time_t t = (time_t)timestamp;
	struct tm tm;

	if (timestamp < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return -1;
	return strftime(date, 11, "%Y-%m-%d", &tm) == 10 ? 0 : -1;
}

/* Computes the hex signature for the request into sig (HEX_LEN bytes). Returns 0, or -1 when
 * an argument cannot be signed. */
static int signature(const char *secret_key, const char *service, const char *host, const char *payload,
		     long long timestamp, char sig[HEX_LEN])
{
	char date[11], payload_hash[HEX_LEN], canon_hash[HEX_LEN], *canon, *sts, *k0;
	unsigned char kdate[crypto_auth_hmacsha256_BYTES], kservice[sizeof(kdate)], ksigning[sizeof(kdate)],
		mac[sizeof(kdate)];

	if (!token_ok(secret_key, 0) || !token_ok(service, 1) || !token_ok(host, 1) || payload == NULL ||
	    utc_date(timestamp, date) != 0)
		return -1;
	sha256_hex(payload, payload_hash);
	canon = xasprintf("POST\n/\n\ncontent-type:%s\nhost:%s\n\n%s\n%s", TC3_CONTENT_TYPE, host,
			  SIGNED_HEADERS, payload_hash);
	sha256_hex(canon, canon_hash);
	sts = xasprintf("%s\n%lld\n%s/%s/tc3_request\n%s", ALGORITHM, timestamp, date, service, canon_hash);
	k0 = xasprintf("TC3%s", secret_key);
	hmac((const unsigned char *)k0, strlen(k0), date, kdate);
	hmac(kdate, sizeof(kdate), service, kservice);
	hmac(kservice, sizeof(kservice), "tc3_request", ksigning);
	hmac(ksigning, sizeof(ksigning), sts, mac);
	sodium_bin2hex(sig, HEX_LEN, mac, sizeof(mac));
	sodium_memzero(k0, strlen(k0));
	free(k0);
	sodium_memzero(kdate, sizeof(kdate));
	sodium_memzero(kservice, sizeof(kservice));
	sodium_memzero(ksigning, sizeof(ksigning));
	free(canon);
	free(sts);
	return 0;
}

int tc3_authorization(const char *secret_id, const char *secret_key, const char *service, const char *host,
		      const char *payload, long long timestamp, char *out, size_t outlen)
{
	char sig[HEX_LEN], date[11];
	int n;

	if (!token_ok(secret_id, 1) || out == NULL || utc_date(timestamp, date) != 0 ||
	    signature(secret_key, service, host, payload, timestamp, sig) != 0)
		return TC3_MALFORMED;
	n = snprintf(out, outlen, "%s Credential=%s/%s/%s/tc3_request, SignedHeaders=%s, Signature=%s",
		     ALGORITHM, secret_id, date, service, SIGNED_HEADERS, sig);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return TC3_MALFORMED;
	}
	return TC3_OK;
}

/* The parts of an Authorization header, copied out of it. */
struct auth_parts {
	char id[129], date[11], service[33], signed_headers[65], sig[HEX_LEN];
};

/* Copies the text of s up to the first character in stop (or the end) into dst (size bytes) and
 * returns a pointer to that character, or NULL when the text is empty or does not fit. */
static const char *take(const char *s, const char *stop, char *dst, size_t size)
{
	size_t len = strcspn(s, stop);

	if (len == 0 || len >= size)
		return NULL;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return s + len;
}

/* Skips the literal lit at s; returns the rest, or NULL when s does not start with it. */
static const char *expect(const char *s, const char *lit)
{
	return s != NULL && strncmp(s, lit, strlen(lit)) == 0 ? s + strlen(lit) : NULL;
}

/* Parses "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=<h>,
 * Signature=<64 hex>" (spaces after the commas optional). Returns 0 or -1. */
static int parse_auth(const char *h, struct auth_parts *p)
{
	const char *s = expect(h, ALGORITHM " Credential=");

	if (s == NULL || (s = take(s, "/", p->id, sizeof(p->id))) == NULL ||
	    (s = take(s + 1, "/", p->date, sizeof(p->date))) == NULL ||
	    (s = take(s + 1, "/", p->service, sizeof(p->service))) == NULL ||
	    (s = expect(s, "/tc3_request,")) == NULL)
		return -1;
	while (*s == ' ')
		s++;
	if ((s = expect(s, "SignedHeaders=")) == NULL ||
	    (s = take(s, ",", p->signed_headers, sizeof(p->signed_headers))) == NULL)
		return -1;
	s++;
	while (*s == ' ')
		s++;
	if ((s = expect(s, "Signature=")) == NULL || strlen(s) != HEX_LEN - 1 ||
	    strspn(s, "0123456789abcdef") != HEX_LEN - 1)
		return -1;
	memcpy(p->sig, s, HEX_LEN);
	return token_ok(p->id, 1) && token_ok(p->service, 1) ? 0 : -1;
}

int tc3_verify(const char *authorization_header, const char *secret_id, const char *secret_key,
	       const char *host, const char *payload, long long timestamp, long long now, int max_skew_s)
{
	struct auth_parts p;
	char date[11], want[HEX_LEN];
	long long skew;

	if (timestamp < 0 || timestamp > 253402300799LL || now < 0 || now > 253402300799LL || max_skew_s < 0)
		return TC3_MALFORMED; /* beyond year 9999: also keeps now - timestamp from overflowing */
	skew = now - timestamp;
	if (authorization_header == NULL || secret_id == NULL || parse_auth(authorization_header, &p) != 0 ||
	    strcmp(p.signed_headers, SIGNED_HEADERS) != 0)
		return TC3_MALFORMED;
	if (strlen(p.id) != strlen(secret_id) || sodium_memcmp(p.id, secret_id, strlen(p.id)) != 0)
		return TC3_WRONG_ID;
	if (skew > max_skew_s || skew < -(long long)max_skew_s)
		return TC3_SKEW;
	if (utc_date(timestamp, date) != 0 || strcmp(date, p.date) != 0)
		return TC3_BAD_SIGNATURE;
	if (signature(secret_key, p.service, host, payload, timestamp, want) != 0)
		return TC3_MALFORMED;
	if (sodium_memcmp(want, p.sig, HEX_LEN - 1) != 0)
		return TC3_BAD_SIGNATURE;
	return TC3_OK;
}
