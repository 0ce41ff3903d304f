/* The WeChat Pay API v3 adapter without a network: the request signing message and its
 * SHA256withRSA signature against vectors computed with the openssl command line, AEAD_AES_256_GCM
 * decryption against a vector computed with python3's cryptography package, reading transactions
 * and times, and notifications (good, tampered, wrong serial, stale, wrong merchant, bad tag). The
 * test key pairs are config/testkeys/wxpay-{merchant,platform}.*.
 *
 * Signature vectors (RSA PKCS#1 v1.5 is deterministic), OpenSSL 3.0:
 *   printf 'POST\n/v3/pay/transactions/native\n1700000000\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n%s\n' \
 *     "$CREATE_BODY" | openssl dgst -sha256 -sign config/testkeys/wxpay-merchant.key | base64 -w0
 *   printf 'GET\n/v3/pay/transactions/out-trade-no/CD2026000001P1?mchid=1900000001\n1700000000\nNONCE\n\n' \
 *     | openssl dgst -sha256 -sign config/testkeys/wxpay-merchant.key | base64 -w0
 * with CREATE_BODY the JSON of CREATE_BODY below.
 *
 * AES-256-GCM vectors, python3 with cryptography 48:
 *   from cryptography.hazmat.primitives.ciphers.aead import AESGCM; import base64
 *   k = AESGCM(b"certdeskSimulatorApiV3Key0000000")
 *   base64.b64encode(k.encrypt(b"fdasflkja484", TX_PLAIN, b"transaction"))
 *   base64.b64encode(k.encrypt(b"fdasflkja484", b"hello", b""))
 * with TX_PLAIN the bytes of TX_PLAIN below. */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "providers/rsasig.h"
#include "providers/wxpay.h"

#define KEYS SOURCE_DIR "/config/testkeys/"
#define APIV3 "certdeskSimulatorApiV3Key0000000"
#define SERIAL "PUB_KEY_ID_0119000000012026112500000000000001"
#define NOW 1767232800LL /* 2026-01-01T10:00:00+08:00 */

#define CREATE_BODY                                                                                          \
	"{\"appid\":\"wx0000certdesksim\",\"mchid\":\"1900000001\",\"description\":\"test\",\"out_trade_"    \
	"no\":"                                                                                              \
	"\"CD2026000001P1\",\"time_expire\":\"2026-01-01T10:00:00+08:00\",\"notify_url\":\"https://"         \
	"ca.example.cn/pay/wx\",\"amount\":{\"total\":100,\"currency\":\"CNY\"}}"
#define CREATE_SIG                                                                                           \
	"gyxjMvDvEuJ/0YjE9bMfz5sKHIk6uYEpccWV8ZV5y7O8QTJZ0D6oAeupeZEtHHL/CBKQFDGjxpuro1m5/"                  \
	"PjHysRpRVESu5Eu/"                                                                                   \
	"t4pUimd92oG0jGTWZ1wiv4kcmhpYjj96Kj6GIvyQjW2RLvhnfpK7ZqFk+EXL9uyeOtau6bUBajJLB4sCUGIy"               \
	"k3o5GndR2j2s17amR8GSWXH7ENxwU5pzC7cswOzU9sonqvoAnpF26Q8/FbCL27Tmhy5F8syi9Go/"                       \
	"q1RBKXNW9wT4JkJkRT+7PLAI+At/3qkU+B2fXVw99bbhu7fFtNaszxlFWFyEKMsAzJFe/u6ZO3xf5kb8PYlwA=="
#define GET_SIG                                                                                              \
	"vfizJ9PCZqUSClny5nQmFehNSBSGCHVaY57WZm853WLwn2UwUbV8P+tsJKcLTDDmKD5NBLLNvxrDpZWtJapnu03hq79ypSQa+"  \
	"0qotDrMkEScR802KoRHFxCWqKZIYQwUJRHDFZ0F+HlGFPBmxYonPwTDI/kmW/"                                      \
	"1C42S5MqBStffA6dOxFy0F683WKD2SMdifEnZNR"                                                            \
	"gqozWMf2ZpEA6s4ZFoA2zZRBM0LdeVZsTBGkqHPbOqPaZjxM+7V0wWxr/WL/"                                       \
	"HbM0Heb4UAt4hWJeTAd2oj1aDUnUlwSKRfqSfZPk"                                                           \
	"WMn5p0Wa9Y/WqyJgiuhgfCjgfdWgssAJdHnYnkOlcAOZA=="
#define TX_PLAIN                                                                                             \
	"{\"appid\":\"wx0000certdesksim\",\"mchid\":\"1900000001\",\"out_trade_no\":\"CD2026000001P1\","     \
	"\"transaction_id\":\"4200001234202601011234567890\",\"trade_type\":\"NATIVE\",\"trade_state\":"     \
	"\"SUCCESS\",\"success_time\":\"2026-01-01T10:00:00+08:00\",\"amount\":{\"total\":100,\"payer_"      \
	"total\":100,\"currency\":\"CNY\"}}"
#define TX_CIPHER                                                                                            \
	"/75dmyMb2A8SYXzMcyxRH8Y2GurqmlW3b/Tg/vSJFbsC4WWvx/"                                                 \
	"WjddKwft+o992FMwpSHNax4JHUbHM73Ou9wHiCR5p9LQkzaoXR"                                                 \
	"f88TorcAcpS9FiabbfKyebXCn+e+1WDcSP67Y/"                                                             \
	"EjmHdN3xeQjQbs03yhzt5WyoxS6GcTEJl00LH3DjXK5Ziv3hRt5QIwsMTTIwZ6"                                     \
	"RkK+o7hv+8dN9BScpjvxCbHHncVlIXgrXcduYwf5j1wBSaVB/"                                                  \
	"zg43zZd4Va22U2Sisu2ZuoZdwOtUxUKei2TbtZzzrdwkON5wp0M"                                                \
	"f6e73XoOzvg/QgX9JVgnV440OhkJH05N73LfbqEjkmhR67fg+Eu/I35q0inDnj1rz0DFC0oWeb+3d5t8mBNWvX+hBAU="

static struct config CFG;
static struct wxpay *W;
static struct rsakey *PLATFORM_PRIV; /* signs notifications as WeChat Pay would */

static int setup(void **state)
{
	char err[256];
	(void)state;

	CFG.wxpay_endpoint = "http://127.0.0.1:1/wxpay"; /* nothing listens on port 1 */
	CFG.wxpay_appid = "wx0000certdesksim";
	CFG.wxpay_mchid = "1900000001";
	CFG.wxpay_merchant_serial = "5157F09EFDC096DE15EBE81A47057A72";
	CFG.wxpay_merchant_key = KEYS "wxpay-merchant.key";
	CFG.wxpay_platform_key = KEYS "wxpay-platform.pub";
	CFG.wxpay_platform_serial = SERIAL;
	CFG.wxpay_apiv3_key = APIV3;
	CFG.wxpay_timeout_s = 2;
	if ((W = wxpay_new(&CFG, err, sizeof(err))) == NULL) {
		fprintf(stderr, "wxpay_new: %s\n", err);
		return -1;
	}
	PLATFORM_PRIV = rsakey_load(KEYS "wxpay-platform.key", 1, err, sizeof(err));
	return PLATFORM_PRIV != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	wxpay_free(W);
	rsakey_free(PLATFORM_PRIV);
	return 0;
}

/* The message: five lines, each ending in \n, the body "" for a GET. */
static void test_request_message(void **state)
{
	char *m = wxpay_request_message("GET", "/v3/x?mchid=1", 1700000000, "N1", NULL);
	(void)state;

	assert_string_equal(m, "GET\n/v3/x?mchid=1\n1700000000\nN1\n\n");
	free(m);
	m = wxpay_request_message("POST", "/v3/y", 5, "N2", "{}");
	assert_string_equal(m, "POST\n/v3/y\n5\nN2\n{}\n");
	free(m);
}

/* The Authorization header of a create and of a query, against the openssl vectors. */
static void test_authorization_vectors(void **state)
{
	char auth[WXPAY_AUTH_MAX];
	(void)state;

	assert_int_equal(wxpay_authorization(W, "POST", "/v3/pay/transactions/native", 1700000000,
					     "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", CREATE_BODY, auth,
					     sizeof(auth)),
			 0);
	assert_string_equal(auth,
			    "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str="
			    "\"5K8264ILTKCH16CQ2502SI8ZNMTM67VS\",signature=\"" CREATE_SIG
			    "\",timestamp=\"1700000000\",serial_no=\"5157F09EFDC096DE15EBE81A47057A72\"");
	assert_int_equal(
		wxpay_authorization(W, "GET",
				    "/v3/pay/transactions/out-trade-no/CD2026000001P1?mchid=1900000001",
				    1700000000, "NONCE", NULL, auth, sizeof(auth)),
		0);
	assert_non_null(strstr(auth, "signature=\"" GET_SIG "\""));
	/* a nonce that could break the header is refused, and so is too little room */
	assert_int_equal(wxpay_authorization(W, "GET", "/v3/x", 1, "a\"b", NULL, auth, sizeof(auth)), -1);
	assert_int_equal(wxpay_authorization(W, "GET", "/v3/x", 1, "NONCE", NULL, auth, 100), -1);
}

/* Decryption of the python vectors; a changed AAD, tag, nonce or key does not decrypt. */
static void test_decrypt_vectors(void **state)
{
	char bad[sizeof(TX_CIPHER)], *p;
	size_t len;
	(void)state;

	p = wxpay_decrypt_resource(APIV3, "fdasflkja484", "transaction", TX_CIPHER, &len);
	assert_non_null(p);
	assert_int_equal(len, strlen(TX_PLAIN));
	assert_string_equal(p, TX_PLAIN);
	free(p);
	p = wxpay_decrypt_resource(APIV3, "fdasflkja484", "", "7PlQhzw/wRjFri/r6hV4On0ptran", &len);
	assert_non_null(p);
	assert_string_equal(p, "hello");
	free(p);
	assert_null(wxpay_decrypt_resource(APIV3, "fdasflkja484", "transactioN", TX_CIPHER, &len));
	assert_null(wxpay_decrypt_resource(APIV3, "fdasflkja485", "transaction", TX_CIPHER, &len));
	assert_null(wxpay_decrypt_resource("certdeskSimulatorApiV3Key0000001", "fdasflkja484", "transaction",
					   TX_CIPHER, &len));
	memcpy(bad, TX_CIPHER, sizeof(bad));
	bad[sizeof(bad) - 4] = bad[sizeof(bad) - 4] == 'A' ? 'B' : 'A'; /* in the tag */
	assert_null(wxpay_decrypt_resource(APIV3, "fdasflkja484", "transaction", bad, &len));
	assert_null(wxpay_decrypt_resource(APIV3, "short", "transaction", TX_CIPHER, &len));
	assert_null(wxpay_decrypt_resource("short", "fdasflkja484", "transaction", TX_CIPHER, &len));
	assert_null(wxpay_decrypt_resource(APIV3, "fdasflkja484", "", "AAAA", &len));        /* < a tag */
	assert_null(wxpay_decrypt_resource(APIV3, "fdasflkja484", "", "not base64!", &len)); /* no Base64 */
}

/* What we encrypt (the simulator's side) is what python encrypted. */
static void test_encrypt_matches(void **state)
{
	char *c = wxpay_encrypt_resource(APIV3, "fdasflkja484", "transaction", TX_PLAIN, strlen(TX_PLAIN));
	(void)state;

	assert_non_null(c);
	assert_string_equal(c, TX_CIPHER);
	free(c);
	assert_null(wxpay_encrypt_resource(APIV3, "12345678901", "", "x", 1));
}

/* Times: +08:00 out, any offset in, UTC in paid_at. */
static void test_times(void **state)
{
	char buf[32];
	long long t;
	(void)state;

	assert_string_equal(wxpay_time_cn(1700000000, buf), "2023-11-15T06:13:20+08:00");
	assert_int_equal(wxpay_time_parse("2023-11-15T06:13:20+08:00", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(wxpay_time_parse("2023-11-14T22:13:20Z", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(wxpay_time_parse("2023-11-14T21:13:20.123-01:00", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(wxpay_time_parse("2023-11-14 22:13:20Z", &t), -1);
	assert_int_equal(wxpay_time_parse("2023-13-14T22:13:20Z", &t), -1);
	assert_int_equal(wxpay_time_parse("2023-11-14T22:13:20+0800", &t), -1);
	assert_int_equal(wxpay_time_parse("", &t), -1);
}

/* Transactions: states, the merchant, what a paid one must carry. */
static void test_parse_transaction(void **state)
{
	struct pay_status st;
	char err[PAY_ERR_MAX];
	const char *notpay =
		"{\"appid\":\"wx0000certdesksim\",\"mchid\":\"1900000001\",\"out_trade_no\":\"A1\","
		"\"trade_state\":\"NOTPAY\"}";
	const char *nopay_id =
		"{\"appid\":\"wx0000certdesksim\",\"mchid\":\"1900000001\",\"out_trade_no\":\"A1\","
		"\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":1}}";
	(void)state;

	assert_int_equal(wxpay_parse_transaction(TX_PLAIN, strlen(TX_PLAIN), "wx0000certdesksim",
						 "1900000001", &st, err, sizeof(err)),
			 PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_string_equal(st.out_trade_no, "CD2026000001P1");
	assert_string_equal(st.trade_no, "4200001234202601011234567890");
	assert_int_equal(st.amount_fen, 100);
	assert_string_equal(st.paid_at, "2026-01-01T02:00:00Z");
	assert_int_equal(wxpay_parse_transaction(notpay, strlen(notpay), "wx0000certdesksim", "1900000001",
						 &st, err, sizeof(err)),
			 PAY_OK);
	assert_int_equal(st.state, PAY_ST_NOTPAY);
	assert_int_equal(st.amount_fen, -1);
	assert_string_equal(st.paid_at, "");
	assert_int_equal(wxpay_parse_transaction(TX_PLAIN, strlen(TX_PLAIN), "wx0000certdesksim",
						 "1900000002", &st, err, sizeof(err)),
			 PAY_FORGED);
	assert_int_equal(wxpay_parse_transaction(TX_PLAIN, strlen(TX_PLAIN), "wxother", "1900000001", &st,
						 err, sizeof(err)),
			 PAY_FORGED);
	assert_int_equal(wxpay_parse_transaction(nopay_id, strlen(nopay_id), "wx0000certdesksim",
						 "1900000001", &st, err, sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(
		wxpay_parse_transaction("[1]", 3, "wx0000certdesksim", "1900000001", &st, err, sizeof(err)),
		PAY_PERMANENT);
}

/* A notification as WeChat Pay sends it, with the transaction tx (NULL: TX_PLAIN). */
struct note {
	char ts[24], nonce[40], sig[RSASIG_B64_MAX], serial[80];
	char *body;
};

/* Builds a signed notification at time ts around the encrypted tx (ciphertext as given when ct is
 * not NULL). */
static void note_make(struct note *n, long long ts, const char *tx, const char *event_type)
{
	char *ct, *msg;

	ct = wxpay_encrypt_resource(APIV3, "fdasflkja484", "transaction", tx, strlen(tx));
	assert_non_null(ct);
	n->body = NULL;
	assert_true(
		asprintf(&n->body,
			 "{\"id\":\"EV-2026-0001\",\"create_time\":\"2026-01-01T10:00:00+08:00\","
			 "\"resource_type\":\"encrypt-resource\",\"event_type\":\"%s\",\"summary\":"
			 "\"支付成功\","
			 "\"resource\":{\"original_type\":\"transaction\",\"algorithm\":\"AEAD_AES_256_GCM\","
			 "\"ciphertext\":\"%s\",\"associated_data\":\"transaction\",\"nonce\":"
			 "\"fdasflkja484\"}}",
			 event_type, ct) > 0);
	free(ct);
	snprintf(n->ts, sizeof(n->ts), "%lld", ts);
	snprintf(n->nonce, sizeof(n->nonce), "NOTIFYNONCE0001");
	snprintf(n->serial, sizeof(n->serial), "%s", SERIAL);
	assert_true(asprintf(&msg, "%s\n%s\n%s\n", n->ts, n->nonce, n->body) > 0);
	assert_int_equal(rsasig_sign(PLATFORM_PRIV, msg, strlen(msg), n->sig, sizeof(n->sig)), 0);
	free(msg);
}

/* Reads n with wxpay_notification at now; returns the result. */
static int note_read(const struct note *n, long long now, struct pay_status *st)
{
	char err[PAY_ERR_MAX];
	int rc = wxpay_notification(W, n->ts, n->nonce, n->sig, n->serial, n->body, strlen(n->body), now, st,
				    err, sizeof(err));
	assert_true(rc == PAY_OK || err[0] != '\0');
	return rc;
}

static void test_notification_good(void **state)
{
	struct pay_status st;
	struct note n;
	(void)state;

	note_make(&n, NOW, TX_PLAIN, "TRANSACTION.SUCCESS");
	assert_int_equal(note_read(&n, NOW + 10, &st), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_string_equal(st.event_id, "EV-2026-0001");
	assert_string_equal(st.trade_no, "4200001234202601011234567890");
	assert_int_equal(st.amount_fen, 100);
	free(n.body);
}

/* Anything changed after signing, or not ours, is forged. */
static void test_notification_forged(void **state)
{
	struct pay_status st;
	struct note n;
	char *p;
	(void)state;

	note_make(&n, NOW, TX_PLAIN, "TRANSACTION.SUCCESS");
	p = strstr(n.body, "支付成功");
	p[0] ^= 1; /* a tampered body */
	assert_int_equal(note_read(&n, NOW, &st), PAY_FORGED);
	p[0] ^= 1;
	assert_int_equal(note_read(&n, NOW, &st), PAY_OK);
	n.serial[strlen(n.serial) - 1] = '2'; /* another key's serial */
	assert_int_equal(note_read(&n, NOW, &st), PAY_FORGED);
	snprintf(n.serial, sizeof(n.serial), "%s", SERIAL);
	assert_int_equal(note_read(&n, NOW + 301, &st), PAY_FORGED); /* stale */
	assert_int_equal(note_read(&n, NOW - 301, &st), PAY_FORGED); /* from the future */
	assert_int_equal(note_read(&n, NOW + 300, &st), PAY_OK);
	n.nonce[0] = 'X'; /* the nonce is signed too */
	assert_int_equal(note_read(&n, NOW, &st), PAY_FORGED);
	assert_int_equal(wxpay_notification(W, NULL, "n", "s", SERIAL, "{}", 2, NOW, &st, (char[64]){0}, 64),
			 PAY_FORGED);
	free(n.body);
}

/* A transaction of another merchant, a tag that does not check, a wrong event. */
static void test_notification_content(void **state)
{
	struct pay_status st;
	struct note n;
	char *tx = strdup(TX_PLAIN), *p, *msg;
	(void)state;

	memcpy(strstr(tx, "1900000001"), "1900000009", 10);
	note_make(&n, NOW, tx, "TRANSACTION.SUCCESS");
	assert_int_equal(note_read(&n, NOW, &st), PAY_FORGED); /* wrong mchid */
	free(n.body);
	free(tx);
	note_make(&n, NOW, TX_PLAIN, "REFUND.SUCCESS");
	assert_int_equal(note_read(&n, NOW, &st), PAY_PERMANENT);
	free(n.body);
	/* a tag that does not check, though the envelope's signature does */
	note_make(&n, NOW, TX_PLAIN, "TRANSACTION.SUCCESS");
	p = strstr(n.body, "\",\"associated_data\"");
	p[-6] = p[-6] == 'A' ? 'B' : 'A';
	assert_true(asprintf(&msg, "%s\n%s\n%s\n", n.ts, n.nonce, n.body) > 0);
	assert_int_equal(rsasig_sign(PLATFORM_PRIV, msg, strlen(msg), n.sig, sizeof(n.sig)), 0);
	free(msg);
	assert_int_equal(note_read(&n, NOW, &st), PAY_FORGED);
	free(n.body);
	/* signed, but not JSON */
	n.body = strdup("not json");
	assert_true(asprintf(&msg, "%s\n%s\n%s\n", n.ts, n.nonce, n.body) > 0);
	assert_int_equal(rsasig_sign(PLATFORM_PRIV, msg, strlen(msg), n.sig, sizeof(n.sig)), 0);
	free(msg);
	assert_int_equal(note_read(&n, NOW, &st), PAY_PERMANENT);
	free(n.body);
}

/* Replies are checked with the platform key: its signature checks, the merchant's does not. */
static void test_verify_signature(void **state)
{
	char sig[RSASIG_B64_MAX];
	(void)state;

	assert_int_equal(rsasig_sign(PLATFORM_PRIV, "1\nN\n{}\n", 7, sig, sizeof(sig)), 0);
	assert_int_equal(wxpay_verify_signature(W, "1", "N", "{}", 2, sig), 1);
	assert_int_equal(wxpay_verify_signature(W, "1", "N", "{ }", 3, sig), 0);
	assert_int_equal(wxpay_verify_signature(W, "2", "N", "{}", 2, sig), 0);
	assert_int_equal(wxpay_verify_signature(W, "1", "N", "{}", 2, CREATE_SIG), 0);
}

/* Unfit arguments are refused before anything is sent; a provider that does not answer is RETRY. */
static void test_arguments_and_transport(void **state)
{
	char code[PAY_QR_MAX], err[PAY_ERR_MAX], rid[PAY_ID_MAX];
	struct pay_status st;
	int done;
	(void)state;

	assert_int_equal(wxpay_create(W, "bad/no", 100, "d", "https://a.cn/n", NOW, code, sizeof(code), err,
				      sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(
		wxpay_create(W, "A1", 0, "d", "https://a.cn/n", NOW, code, sizeof(code), err, sizeof(err)),
		PAY_PERMANENT);
	assert_int_equal(
		wxpay_create(W, "A1", 1, "", "https://a.cn/n", NOW, code, sizeof(code), err, sizeof(err)),
		PAY_PERMANENT);
	assert_int_equal(wxpay_create(W, "A1", 1, "d", "https://a.cn/n?x=1", NOW, code, sizeof(code), err,
				      sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(wxpay_refund(W, "A1", "R1", 101, 100, "", &done, rid, err, sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(wxpay_query(W, "../x", &st, err, sizeof(err)), PAY_PERMANENT);
	assert_int_equal(
		wxpay_create(W, "A1", 1, "d", "https://a.cn/n", NOW, code, sizeof(code), err, sizeof(err)),
		PAY_RETRY);
	assert_int_equal(wxpay_query(W, "A1", &st, err, sizeof(err)), PAY_RETRY);
	assert_int_equal(wxpay_close(W, "A1", err, sizeof(err)), PAY_RETRY);
	assert_int_equal(wxpay_refund_query(W, "R1", &done, err, sizeof(err)), PAY_RETRY);
}

/* Settings and keys that do not do are refused when the adapter is made. */
static void test_new_refuses(void **state)
{
	struct config c = CFG;
	char err[256];
	(void)state;

	c.wxpay_apiv3_key = "short";
	assert_null(wxpay_new(&c, err, sizeof(err)));
	c = CFG;
	c.wxpay_merchant_key = KEYS "missing.key";
	assert_null(wxpay_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "merchant_key"));
	c = CFG;
	c.wxpay_mchid = "19\"00";
	assert_null(wxpay_new(&c, err, sizeof(err)));
	c = CFG;
	c.wxpay_endpoint = "ftp://x";
	assert_null(wxpay_new(&c, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_message),
		cmocka_unit_test(test_authorization_vectors),
		cmocka_unit_test(test_decrypt_vectors),
		cmocka_unit_test(test_encrypt_matches),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_parse_transaction),
		cmocka_unit_test(test_notification_good),
		cmocka_unit_test(test_notification_forged),
		cmocka_unit_test(test_notification_content),
		cmocka_unit_test(test_verify_signature),
		cmocka_unit_test(test_arguments_and_transport),
		cmocka_unit_test(test_new_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
