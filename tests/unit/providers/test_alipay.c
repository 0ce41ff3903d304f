/* The Alipay adapter without a network: the text that is signed (sorting, empty values, raw values
 * with Chinese and '&' '=' inside biz_content), its RSA2 signature against a vector computed outside
 * this code, the raw "..._response" object of a reply, yuan <-> fen, Beijing time, and the
 * notification check (good, tampered, another app, another seller, malformed).
 *
 * The signature vector was computed with the openssl command line (OpenSSL 3.0) from the top of the
 * repository:
 *   printf '%s' "$CONTENT" | openssl dgst -sha256 -sign config/testkeys/alipay-app.key | base64 -w0
 * where $CONTENT is SIGN_CONTENT below (PKCS#1 v1.5 signatures are deterministic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "providers/alipay.h"
#include "providers/rsasig.h"
#include "util/urlform.h"

#define KEYS SOURCE_DIR "/config/testkeys/"
#define BIZ "{\"out_trade_no\":\"CD2026000001_1\",\"total_amount\":\"220.00\",\"subject\":\"数字证书 A&B=C\"}"
#define NOTIFY_URL "https://ca.example.cn/api/v1/pay/alipay/notify?x=1"
#define SIGN_CONTENT                                                                                         \
	"app_id=2021000000000001&biz_content=" BIZ                                                           \
	"&charset=utf-8&format=JSON&method=alipay.trade.precreate"                                           \
	"&notify_url=" NOTIFY_URL "&sign_type=RSA2&timestamp=2026-01-01 08:00:00&version=1.0"
#define SIGNATURE                                                                                            \
	"Hz53DOU7FFf6PoHAp/"                                                                                 \
	"SKuCX7sRJrAhnjT5PSVClynEHYKaraV5t2fOEAviChdWxxuEj403J2wMpqhPXK89jCcO4gNsAQZT03dHjTC"                \
	"TsoGWIqQT0k28NWpDMC85thPbQSt7NX66arPZec7Lod8qeuA91WkakXWFudK4F6q9msCGdyYiUDOjU09yoqXoe6h1jIeU7wNwb" \
	"8c7V"                                                                                               \
	"xCGRfDKJIhjg42gGZzjBAHl51S1dfpA/"                                                                   \
	"CYitOElJ8ih3RjMohNgGjSSj6anEXSgerQZ3JH68qi6+PSbyvKsdj1Sm2eumLxWoZNAV2j"                             \
	"wgNP5fRhIPe/7m09ejUV/mdR7l3VafYjJDlVw=="

/* The request's parameters in a scrambled order, with an empty one and a sign to be left out. */
static void request_form(struct urlform *f)
{
	urlform_add(f, "version", "1.0");
	urlform_add(f, "sign", "SHOULD-NOT-BE-SIGNED");
	urlform_add(f, "timestamp", "2026-01-01 08:00:00");
	urlform_add(f, "biz_content", BIZ);
	urlform_add(f, "method", "alipay.trade.precreate");
	urlform_add(f, "app_auth_token", "");
	urlform_add(f, "charset", "utf-8");
	urlform_add(f, "notify_url", NOTIFY_URL);
	urlform_add(f, "sign_type", "RSA2");
	urlform_add(f, "format", "JSON");
	urlform_add(f, "app_id", "2021000000000001");
}

/* Sorting, empty values and sign dropped, raw values; V1 also drops sign_type. */
static void test_sign_content(void **state)
{
	struct urlform f = {0};
	char *c;
	(void)state;

	request_form(&f);
	c = alipay_sign_content(&f, 0);
	assert_string_equal(c, SIGN_CONTENT);
	free(c);
	c = alipay_sign_content(&f, 1);
	assert_null(strstr(c, "sign_type"));
	assert_null(strstr(c, "SHOULD-NOT"));
	assert_non_null(strstr(c, "&timestamp=2026-01-01 08:00:00&version=1.0"));
	free(c);
	urlform_free(&f);
	/* names sort bytewise: upper case before lower case, a prefix first */
	urlform_add(&f, "b", "2");
	urlform_add(&f, "ab", "3");
	urlform_add(&f, "a", "1");
	urlform_add(&f, "B", "0");
	c = alipay_sign_content(&f, 0);
	assert_string_equal(c, "B=0&a=1&ab=3&b=2");
	free(c);
	urlform_free(&f);
	c = alipay_sign_content(&f, 0); /* nothing at all */
	assert_string_equal(c, "");
	free(c);
}

/* RSA2 over the content matches openssl's signature, and verifies with the public half. */
static void test_rsa2_vector(void **state)
{
	char err[256], sig[RSASIG_B64_MAX];
	struct rsakey *k = rsakey_load(KEYS "alipay-app.key", 1, err, sizeof(err));
	struct rsakey *pub = rsakey_load(KEYS "alipay-app.pub", 0, err, sizeof(err));
	struct urlform f = {0};
	char *c;
	(void)state;

	assert_non_null(k);
	assert_non_null(pub);
	request_form(&f);
	c = alipay_sign_content(&f, 0);
	assert_int_equal(rsasig_sign(k, c, strlen(c), sig, sizeof(sig)), 0);
	assert_string_equal(sig, SIGNATURE);
	assert_int_equal(rsasig_verify(pub, c, strlen(c), SIGNATURE), 1);
	c[5] ^= 1;
	assert_int_equal(rsasig_verify(pub, c, strlen(c), SIGNATURE), 0);
	free(c);
	urlform_free(&f);
	rsakey_free(k);
	rsakey_free(pub);
}

/* Extracts name from body; returns the object text (static) or NULL, sign in sign. */
static const char *extract(const char *body, const char *name, char *sign)
{
	static char text[1024];
	const char *obj;
	size_t len;

	if (alipay_reply_extract(body, strlen(body), name, &obj, &len, sign, 700) != 0)
		return NULL;
	assert_true(len < sizeof(text));
	memcpy(text, obj, len);
	text[len] = '\0';
	return text;
}

/* The exact bytes of the response object, whatever it holds and wherever sign is. */
static void test_reply_extract(void **state)
{
	const char *n = "alipay_trade_query_response";
	char sign[700];
	(void)state;

	assert_string_equal(
		extract("{\"alipay_trade_query_response\":{\"code\":\"10000\"},\"sign\":\"AB/C=\"}", n, sign),
		"{\"code\":\"10000\"}");
	assert_string_equal(sign, "AB/C=");
	/* sign first, white space kept as sent, nested objects and arrays, strings with } \" and { */
	assert_string_equal(extract("{ \"sign\" : \"S\" ,\n \"alipay_trade_query_response\" :  {\"a\": "
				    "{\"b\":[1,{\"c\":\"}\"}]},"
				    "\"d\":\"x\\\"}{\\\\\",\"e\":null} }",
				    n, sign),
			    "{\"a\": {\"b\":[1,{\"c\":\"}\"}]},\"d\":\"x\\\"}{\\\\\",\"e\":null}");
	assert_string_equal(sign, "S");
	/* a member before it whose value mentions the name */
	assert_string_equal(
		extract("{\"x\":\"\\\"alipay_trade_query_response\\\":{}\",\"alipay_trade_query_response\":"
			"{\"k\":\"\\u4e2d\"}}",
			n, sign),
		"{\"k\":\"\\u4e2d\"}");
	assert_string_equal(sign, "");
	/* refused: absent, not an object, duplicated keys, not JSON, trailing bytes, sign not a string */
	assert_null(extract("{\"error_response\":{\"code\":\"40002\"}}", n, sign));
	assert_non_null(extract("{\"error_response\":{\"code\":\"40002\"}}", "error_response", sign));
	assert_null(extract("{\"alipay_trade_query_response\":\"{}\"}", n, sign));
	assert_null(
		extract("{\"alipay_trade_query_response\":{},\"alipay_trade_query_response\":{}}", n, sign));
	assert_null(extract("{\"alipay_trade_query_response\":{\"a\":1}", n, sign));
	assert_null(extract("{\"alipay_trade_query_response\":{}} x", n, sign));
	assert_null(extract("{\"alipay_trade_query_response\":{},\"sign\":5}", n, sign));
	assert_null(extract("[{\"alipay_trade_query_response\":{}}]", n, sign));
	assert_null(extract("", n, sign));
	/* nested only: not the top-level member */
	assert_null(extract("{\"x\":{\"alipay_trade_query_response\":{}}}", n, sign));
}

/* Returns the fen of s, or -999 when refused. */
static long long fen_of(const char *s)
{
	long long f = -999;
	return alipay_yuan_to_fen(s, &f) == 0 ? f : -999;
}

static void test_amounts(void **state)
{
	char out[32];
	(void)state;

	assert_int_equal(fen_of("0.01"), 1);
	assert_int_equal(fen_of("220.00"), 22000);
	assert_int_equal(fen_of("220"), 22000);
	assert_int_equal(fen_of("220.1"), 22010);
	assert_int_equal(fen_of("0.10"), 10);
	assert_int_equal(fen_of("0"), 0);
	assert_int_equal(fen_of("999999999999.99"), 99999999999999LL);
	assert_int_equal(fen_of("1000000000000.00"), -999);              /* 13 digits */
	assert_int_equal(fen_of("24444444444444444444444444.00"), -999); /* found by fuzz_alipay_notify */
	assert_int_equal(fen_of("-1.00"), -999);
	assert_int_equal(fen_of("+1.00"), -999);
	assert_int_equal(fen_of("1e2"), -999);
	assert_int_equal(fen_of("1.001"), -999);
	assert_int_equal(fen_of("1."), -999);
	assert_int_equal(fen_of(".5"), -999);
	assert_int_equal(fen_of("01.00"), -999);
	assert_int_equal(fen_of(" 1.00"), -999);
	assert_int_equal(fen_of("1.00 "), -999);
	assert_int_equal(fen_of("1,00"), -999);
	assert_int_equal(fen_of(""), -999);
	assert_int_equal(fen_of("0x10"), -999);
	assert_int_equal(alipay_yuan_to_fen(NULL, &(long long){0}), -1);
	assert_string_equal(alipay_fen_to_yuan(1, out), "0.01");
	assert_string_equal(alipay_fen_to_yuan(22000, out), "220.00");
	assert_string_equal(alipay_fen_to_yuan(22010, out), "220.10");
	assert_string_equal(alipay_fen_to_yuan(99999999999999LL, out), "999999999999.99");
	assert_string_equal(alipay_fen_to_yuan(0, out), "0.00");
	/* every value round-trips */
	for (long long f = 0; f < 100000; f += 7) {
		long long back;
		assert_int_equal(alipay_yuan_to_fen(alipay_fen_to_yuan(f, out), &back), 0);
		assert_int_equal(back, f);
	}
}

static void test_beijing_time(void **state)
{
	char out[20];
	long long t;
	(void)state;

	assert_string_equal(alipay_time_format(1767225600LL, out), "2026-01-01 08:00:00"); /* 00:00 UTC */
	assert_int_equal(alipay_time_parse("2026-01-01 08:00:00", &t), 0);
	assert_int_equal(t, 1767225600LL);
	assert_int_equal(alipay_time_parse("2026-01-01 07:59:59", &t), 0);
	assert_int_equal(t, 1767225599LL);
	assert_int_equal(alipay_time_parse("2026-02-30 08:00:00", &t), -1);
	assert_int_equal(alipay_time_parse("2026-01-01T08:00:00", &t), -1);
	assert_int_equal(alipay_time_parse("2026-1-01 08:00:00", &t), -1);
	assert_int_equal(alipay_time_parse("2026-01-01 08:00:00Z", &t), -1);
	assert_int_equal(alipay_time_parse("2026-01-01 24:00:00", &t), -1);
}

/* The adapter as certdeskd makes it, with nothing listening at the gateway. */
static struct config CFG = {
	.alipay_gateway = "http://127.0.0.1:1/alipay/gateway.do",
	.alipay_app_id = "2021000000000001",
	.alipay_seller_id = "2088000000000001",
	.alipay_app_key = KEYS "alipay-app.key",
	.alipay_public_key = KEYS "alipay-gateway.pub",
	.alipay_timeout_s = 2,
};

/* A notification as Alipay sends it: fields, signed V1 with key (the gateway's, or another). */
static char *notification(const char *keyfile, const char *app_id, const char *seller, const char *status,
			  const char *amount)
{
	char err[256], sig[RSASIG_B64_MAX], *c, *body;
	struct rsakey *k = rsakey_load(keyfile, 1, err, sizeof(err));
	struct urlform f = {0};

	assert_non_null(k);
	urlform_add(&f, "gmt_create", "2026-01-01 08:00:00");
	urlform_add(&f, "charset", "utf-8");
	urlform_add(&f, "seller_email", "");
	urlform_add(&f, "subject", "数字证书 A&B=C+D");
	urlform_add(&f, "buyer_id", "2088102177846234");
	urlform_add(&f, "notify_id", "2c7f0e8b1f2d4a3b9e6f0a1b2c3d4e5f");
	urlform_add(&f, "total_amount", amount);
	urlform_add(&f, "trade_status", status);
	urlform_add(&f, "app_id", app_id);
	urlform_add(&f, "seller_id", seller);
	urlform_add(&f, "notify_type", "trade_status_sync");
	urlform_add(&f, "gmt_payment", "2026-01-01 08:01:02");
	urlform_add(&f, "trade_no", "2026010122001446231234567890");
	urlform_add(&f, "out_trade_no", "CD2026000001_1");
	urlform_add(&f, "notify_time", "2026-01-01 08:01:03");
	urlform_add(&f, "version", "1.0");
	c = alipay_sign_content(&f, 1);
	assert_int_equal(rsasig_sign(k, c, strlen(c), sig, sizeof(sig)), 0);
	urlform_add(&f, "sign_type", "RSA2");
	urlform_add(&f, "sign", sig);
	body = urlform_encode(&f);
	free(c);
	urlform_free(&f);
	rsakey_free(k);
	return body;
}

/* Runs alipay_notification on body; returns its result. */
static int check(const struct alipay *a, const char *body, struct pay_status *st)
{
	char err[PAY_ERR_MAX];
	return alipay_notification(a, body, strlen(body), st, err, sizeof(err));
}

static void test_notification(void **state)
{
	char err[PAY_ERR_MAX];
	struct alipay *a = alipay_new(&CFG, err, sizeof(err));
	struct pay_status st;
	char *b;
	(void)state;

	assert_non_null(a);
	b = notification(KEYS "alipay-gateway.key", "2021000000000001", "2088000000000001", "TRADE_SUCCESS",
			 "220.00");
	assert_non_null(strstr(b, "subject=%E6%95%B0")); /* Chinese %-encoded */
	assert_int_equal(check(a, b, &st), PAY_OK);
	assert_int_equal(st.state, PAY_ST_PAID);
	assert_int_equal(st.amount_fen, 22000);
	assert_string_equal(st.out_trade_no, "CD2026000001_1");
	assert_string_equal(st.trade_no, "2026010122001446231234567890");
	assert_string_equal(st.event_id, "2c7f0e8b1f2d4a3b9e6f0a1b2c3d4e5f");
	assert_string_equal(st.paid_at, "2026-01-01T00:01:02Z");
	/* '+' for the spaces, as browsers and Java encode forms */
	{
		char *plus = strdup(b), *p;
		while ((p = strstr(plus, "%20")) != NULL) {
			*p = '+';
			memmove(p + 1, p + 3, strlen(p + 3) + 1);
		}
		assert_int_equal(check(a, plus, &st), PAY_OK);
		free(plus);
	}
	/* tampered: the amount changed after signing */
	{
		char *t = strdup(b), *p = strstr(t, "total_amount=220.00");
		p[13] = '9';
		assert_int_equal(check(a, t, &st), PAY_FORGED);
		assert_int_equal(st.amount_fen, -1);
		free(t);
	}
	free(b);
	/* signed by someone else */
	b = notification(KEYS "alipay-app.key", "2021000000000001", "2088000000000001", "TRADE_SUCCESS",
			 "220.00");
	assert_int_equal(check(a, b, &st), PAY_FORGED);
	free(b);
	/* signed by Alipay, for another app or seller */
	b = notification(KEYS "alipay-gateway.key", "2021000000000002", "2088000000000001", "TRADE_SUCCESS",
			 "220.00");
	assert_int_equal(check(a, b, &st), PAY_FORGED);
	free(b);
	b = notification(KEYS "alipay-gateway.key", "2021000000000001", "2088000000000002", "TRADE_SUCCESS",
			 "220.00");
	assert_int_equal(check(a, b, &st), PAY_FORGED);
	free(b);
	/* closed after payment: refunded; a status or amount we do not know: not ours to read */
	b = notification(KEYS "alipay-gateway.key", "2021000000000001", "2088000000000001", "TRADE_CLOSED",
			 "220.00");
	assert_int_equal(check(a, b, &st), PAY_OK);
	assert_int_equal(st.state, PAY_ST_REFUNDED);
	free(b);
	b = notification(KEYS "alipay-gateway.key", "2021000000000001", "2088000000000001", "TRADE_PENDING",
			 "220.00");
	assert_int_equal(check(a, b, &st), PAY_PERMANENT);
	free(b);
	b = notification(KEYS "alipay-gateway.key", "2021000000000001", "2088000000000001", "TRADE_SUCCESS",
			 "2.2e2");
	assert_int_equal(check(a, b, &st), PAY_PERMANENT);
	free(b);
	/* not forms, or forms without a signature */
	assert_int_equal(check(a, "a=%zz", &st), PAY_PERMANENT);
	assert_int_equal(check(a, "sign=a&sign=b", &st), PAY_PERMANENT);
	assert_int_equal(check(a, "out_trade_no=X&total_amount=1.00", &st), PAY_FORGED);
	assert_int_equal(check(a, "", &st), PAY_FORGED);
	alipay_free(a);
}

/* Keys that cannot be read; a gateway that does not answer; input refused before any call. */
static void test_adapter_errors(void **state)
{
	struct config c = CFG;
	char err[PAY_ERR_MAX], qr[PAY_QR_MAX], id[PAY_ID_MAX];
	struct alipay *a;
	struct pay_status st;
	long long later = (long long)time(NULL) + 900;
	(void)state;

	c.alipay_app_key = KEYS "no-such.key";
	assert_null(alipay_new(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "no-such.key"));
	c = CFG;
	c.alipay_gateway = "ftp://127.0.0.1/gateway.do";
	assert_null(alipay_new(&c, err, sizeof(err)));
	a = alipay_new(&CFG, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(alipay_precreate(a, "CD1", 22000, "证书", NOTIFY_URL, later, qr, sizeof(qr), err,
					  sizeof(err)),
			 PAY_RETRY);
	assert_non_null(strstr(err, "alipay.trade.precreate: transport"));
	assert_int_equal(alipay_query(a, "CD1", &st, err, sizeof(err)), PAY_RETRY);
	assert_int_equal(st.amount_fen, -1);
	assert_int_equal(alipay_precreate(a, "CD-1", 22000, "证书", NOTIFY_URL, later, qr, sizeof(qr), err,
					  sizeof(err)),
			 PAY_PERMANENT);
	assert_int_equal(
		alipay_precreate(a, "CD1", 0, "证书", NOTIFY_URL, later, qr, sizeof(qr), err, sizeof(err)),
		PAY_PERMANENT);
	assert_int_equal(
		alipay_precreate(a, "CD1", 22000, "", NOTIFY_URL, later, qr, sizeof(qr), err, sizeof(err)),
		PAY_PERMANENT);
	assert_int_equal(
		alipay_precreate(a, "CD1", 22000, "证书", NOTIFY_URL, 1000, qr, sizeof(qr), err, sizeof(err)),
		PAY_PERMANENT);
	assert_int_equal(alipay_refund(a, "CD1", "R 1", 100, NULL, id, err, sizeof(err)), PAY_PERMANENT);
	assert_int_equal(alipay_refund(a, "CD1", "R1", -1, NULL, id, err, sizeof(err)), PAY_PERMANENT);
	assert_int_equal(alipay_close(a, "", err, sizeof(err)), PAY_PERMANENT);
	alipay_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_content),   cmocka_unit_test(test_rsa2_vector),
		cmocka_unit_test(test_reply_extract),  cmocka_unit_test(test_amounts),
		cmocka_unit_test(test_beijing_time),   cmocka_unit_test(test_notification),
		cmocka_unit_test(test_adapter_errors),
	};
	return cmocka_run_group_tests_name("alipay", tests, NULL, NULL);
}
