/* WeChat Pay API v3, the parts without I/O: the request signing message, AEAD_AES_256_GCM of
 * notification resources, reading a transaction, and times in China time (+08:00). */
#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/wxpay.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define CIPHER_MAX (64 * 1024) /* a transaction is well under 2 KiB */
#define CN_OFFSET_S (8 * 3600)

char *wxpay_request_message(const char *method, const char *path, long long timestamp, const char *nonce,
			    const char *body)
{
	return xasprintf("%s\n%s\n%lld\n%s\n%s\n", method, path, timestamp, nonce, body != NULL ? body : "");
}

/* Returns a cipher context for AES-256-GCM with key and nonce (both checked), encrypting when enc is
 * 1, with the AAD fed in; NULL when an input is unfit. */
static EVP_CIPHER_CTX *gcm_start(const char *key, const char *nonce, const char *aad, int enc)
{
	EVP_CIPHER_CTX *ctx;
	size_t aadlen = aad != NULL ? strlen(aad) : 0;
	int n, ok;

	if (key == NULL || nonce == NULL || strlen(key) != KEY_LEN || strlen(nonce) != NONCE_LEN ||
	    aadlen > 1024 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, (const unsigned char *)key, (const unsigned char *)nonce,
			       enc) == 1 &&
	     (aadlen == 0 || EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)aadlen) == 1);
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

char *wxpay_decrypt_resource(const char *apiv3_key, const char *nonce, const char *associated_data,
			     const char *ciphertext_b64, size_t *len)
{
	size_t b64len = ciphertext_b64 != NULL ? strlen(ciphertext_b64) : 0, binlen = 0;
	unsigned char *bin = NULL, *plain = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	int n = 0, m = 0, ok = 0;

	*len = 0;
	if (b64len == 0 || b64len > CIPHER_MAX)
		return NULL;
	bin = xcalloc(b64len);
	if (sodium_base642bin(bin, b64len, ciphertext_b64, b64len, NULL, &binlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen < TAG_LEN || (ctx = gcm_start(apiv3_key, nonce, associated_data, 0)) == NULL)
		goto out;
	plain = xcalloc(binlen - TAG_LEN + 1);
	ok = EVP_DecryptUpdate(ctx, plain, &n, bin, (int)(binlen - TAG_LEN)) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, bin + binlen - TAG_LEN) == 1 &&
	     EVP_DecryptFinal_ex(ctx, plain + n, &m) == 1;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(bin);
	if (!ok) {
		free(plain);
		return NULL;
	}
	*len = (size_t)(n + m);
	plain[*len] = '\0';
	return (char *)plain;
}

char *wxpay_encrypt_resource(const char *apiv3_key, const char *nonce, const char *associated_data,
			     const char *plain, size_t len)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char *bin;
	char *b64 = NULL;
	size_t b64len;
	int n = 0, m = 0;

	if (len > CIPHER_MAX || (ctx = gcm_start(apiv3_key, nonce, associated_data, 1)) == NULL)
		return NULL;
	bin = xcalloc(len + TAG_LEN + 16);
	if (EVP_EncryptUpdate(ctx, bin, &n, (const unsigned char *)plain, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, bin + n, &m) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, bin + n + m) == 1) {
		b64len = sodium_base64_ENCODED_LEN((size_t)(n + m) + TAG_LEN, sodium_base64_VARIANT_ORIGINAL);
		b64 = xcalloc(b64len);
		sodium_bin2base64(b64, b64len, bin, (size_t)(n + m) + TAG_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
	}
	EVP_CIPHER_CTX_free(ctx);
	free(bin);
	return b64;
}

char *wxpay_time_cn(long long t, char buf[32])
{
	time_t cn = (time_t)(t + CN_OFFSET_S);
	struct tm tm;

	if (gmtime_r(&cn, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm) == 0)
		str_copy(buf, "", 32);
	return buf;
}

/* Reads n decimal digits at s into *v; returns 0, or -1 when one is not a digit. */
static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int wxpay_time_parse(const char *s, long long *t)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *z;

	if (s == NULL || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	z = s + 19;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if ((z[0] == 'Z' || z[0] == 'z') && z[1] == '\0')
		sign = 0;
	else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 6 && !digits(z + 1, 2, &oh) && z[3] == ':' &&
		 !digits(z + 4, 2, &om))
		sign = z[0] == '+' ? 1 : -1;
	else
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
	    om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = (long long)timegm(&tm) - sign * (oh * 3600LL + om * 60LL);
	return 0;
}

/* Maps a trade_state to enum pay_state; returns -1 for one we do not know. */
static int state_of(const char *s)
{
	static const struct {
		const char *name;
		int state;
	} map[] = {{"SUCCESS", PAY_ST_PAID},      {"REFUND", PAY_ST_REFUNDED}, {"NOTPAY", PAY_ST_NOTPAY},
		   {"USERPAYING", PAY_ST_NOTPAY}, {"PAYERROR", PAY_ST_NOTPAY}, {"CLOSED", PAY_ST_CLOSED},
		   {"REVOKED", PAY_ST_CLOSED}};

	for (size_t i = 0; s != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].name) == 0)
			return map[i].state;
	return -1;
}

/* Returns 1 when s is a string of 1 to max printable bytes. */
static int short_text(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n > 0 && n <= max && !str_has_control(s) && utf8_chars(s) >= 0;
}

/* Fills st from the checked transaction t; returns PAY_OK or PAY_PERMANENT with err. */
static int fill_status(json_t *t, struct pay_status *st, char *err, size_t errlen)
{
	const char *otn = json_string_value(json_object_get(t, "out_trade_no"));
	const char *tid = json_string_value(json_object_get(t, "transaction_id"));
	const char *when = json_string_value(json_object_get(t, "success_time"));
	json_t *total = json_object_get(json_object_get(t, "amount"), "total");
	long long paid;

	if (!short_text(otn, PAY_ID_MAX - 1)) {
		snprintf(err, errlen, "transaction without a fit out_trade_no");
		return PAY_PERMANENT;
	}
	str_copy(st->out_trade_no, otn, sizeof(st->out_trade_no));
	if (tid != NULL && tid[0] != '\0' && !short_text(tid, PAY_ID_MAX - 1)) {
		snprintf(err, errlen, "transaction_id is not a short text");
		return PAY_PERMANENT;
	}
	str_copy(st->trade_no, tid, sizeof(st->trade_no));
	if (total != NULL && (!json_is_integer(total) || json_integer_value(total) < 0)) {
		snprintf(err, errlen, "amount.total is not a whole number of fen");
		return PAY_PERMANENT;
	}
	st->amount_fen = total != NULL ? (long long)json_integer_value(total) : -1;
	if (st->state == PAY_ST_PAID || st->state == PAY_ST_REFUNDED) {
		if (st->trade_no[0] == '\0' || st->amount_fen < 0) {
			snprintf(err, errlen, "a paid transaction without transaction_id or amount.total");
			return PAY_PERMANENT;
		}
		if (when != NULL && wxpay_time_parse(when, &paid) == 0)
			timefmt_rfc3339((time_t)paid, st->paid_at);
	}
	return PAY_OK;
}

int wxpay_parse_transaction(const char *json, size_t len, const char *appid, const char *mchid,
			    struct pay_status *st, char *err, size_t errlen)
{
	json_t *t = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *a = json_string_value(json_object_get(t, "appid"));
	const char *m = json_string_value(json_object_get(t, "mchid"));
	int rc = PAY_PERMANENT;

	memset(st, 0, sizeof(*st));
	st->amount_fen = -1;
	str_copy(err, "", errlen);
	if (!json_is_object(t)) {
		snprintf(err, errlen, "transaction is not a JSON object");
	} else if (a == NULL || m == NULL || appid == NULL || mchid == NULL || strcmp(a, appid) != 0 ||
		   strcmp(m, mchid) != 0) {
		snprintf(err, errlen, "transaction of another appid or mchid");
		rc = PAY_FORGED;
	} else if ((st->state = state_of(json_string_value(json_object_get(t, "trade_state")))) < 0) {
		st->state = PAY_ST_UNKNOWN;
		snprintf(err, errlen, "transaction without a known trade_state");
	} else {
		rc = fill_status(t, st, err, errlen);
	}
	json_decref(t);
	return rc;
}
