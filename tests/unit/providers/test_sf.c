/* The SF Express route-query adapter without a network: msgDigest against vectors computed outside
 * this code, the reading of replies (envelope, apiResultData, routes, limits), argument checks and
 * a transport failure.
 *
 * The digest vectors were computed with Java's own URLEncoder (OpenJDK 17), then openssl and base64:
 *   printf 'public class Enc { public static void main(String[] a) throws Exception {
 *     System.out.print(java.net.URLEncoder.encode(a[0] + a[1] + a[2], "UTF-8")); } }' > Enc.java
 *   java Enc.java "$MSGDATA" "$TIMESTAMP" "$CHECKWORD" | openssl dgst -md5 -binary | base64
 * and cross-checked with Python, whose quote_plus differs from Java on '*' and '~':
 *   python3 -c 'import sys,urllib.parse,hashlib,base64; e=urllib.parse.quote_plus(sys.argv[1],
 *     safe="*").replace("~","%7E"); print(base64.b64encode(hashlib.md5(e.encode()).digest()).decode())'
 *     "$MSGDATA$TIMESTAMP$CHECKWORD" */
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
#include "providers/sf.h"

#define NO "SF1234567890123"
#define MSG_QUERY                                                                                            \
	"{\"language\":\"0\",\"trackingType\":\"1\",\"trackingNumber\":[\"" NO "\"],\"methodType\":\"1\"}"
/* spaces, '+', Chinese, '*' and '~' */
#define MSG_MIXED "{\"remark\":\"顺丰 速运 a+b*c~d\",\"n\":[1, 2]}"

/* msgDigest as Java's URLEncoder, MD5 and Base64 give it (see the top of the file). */
static void test_digest_vectors(void **state)
{
	char d[SF_DIGEST_LEN];
	(void)state;

	assert_int_equal(
		sf_msg_digest(MSG_QUERY, "1767225600000", "certdesk-simulator-checkword", d, sizeof(d)), 0);
	assert_string_equal(d, "SgoLCEzGRPNB0Y0h2wWShA==");
	assert_int_equal(sf_msg_digest(MSG_MIXED, "1767225600123", "fc34c561a34f", d, sizeof(d)), 0);
	assert_string_equal(d, "+kqBS/s8Mfw0lA188/VNLQ==");
	/* the variants other clients use give other digests: no URL-encoding at all, and Python's
	 * quote_plus ('*' encoded, '~' kept) */
	assert_string_not_equal(d, "w6MSxALSJ8cQSWz/KGryIg==");
	assert_string_not_equal(d, "SZAOa8i3/LzqTqxSUTGzlQ==");
	/* what the check word holds is encoded too: space, '/', '=', '&', '%'; '.', '-', '_' kept */
	assert_int_equal(sf_msg_digest("x", "1", "ck w/=&%.-_", d, sizeof(d)), 0);
	assert_string_equal(d, "wStNgkzvO6BhM21FZ/6n6w==");
}

/* Bad arguments give -1 and an empty out. */
static void test_digest_errors(void **state)
{
	char d[SF_DIGEST_LEN];
	(void)state;

	assert_int_equal(sf_msg_digest("x", "1", "ck", d, SF_DIGEST_LEN - 1), -1);
	assert_string_equal(d, "");
	assert_int_equal(sf_msg_digest(NULL, "1", "ck", d, sizeof(d)), -1);
	assert_int_equal(sf_msg_digest("x", NULL, "ck", d, sizeof(d)), -1);
	assert_int_equal(sf_msg_digest("x", "1", NULL, d, sizeof(d)), -1);
	assert_int_equal(sf_msg_digest("\xff", "1", "ck", d, sizeof(d)), -1);
	assert_string_equal(d, "");
}

/* Returns an envelope with apiResultCode code, apiErrorMsg msg and apiResultData data (as a JSON
 * string; NULL: left out). Caller frees. */
static char *envelope(const char *code, const char *msg, const char *data)
{
	json_t *e = json_pack("{s:s, s:s?, s:s, s:s?}", "apiResultCode", code, "apiErrorMsg", msg,
			      "apiResponseID", "0123456789abcdef", "apiResultData", data);
	char *s = json_dumps(e, JSON_COMPACT);

	json_decref(e);
	return s;
}

/* Returns the success envelope whose waybill NO has routes (a JSON array text). Caller frees. */
static char *ok_reply(const char *routes)
{
	char *data = NULL, *s;
	size_t len = strlen(routes) + 200;

	data = malloc(len);
	snprintf(data, len,
		 "{\"success\":true,\"errorCode\":\"S0000\",\"errorMsg\":null,\"msgData\":{\"routeResps\":["
		 "{\"mailNo\":\"SF0000000000001\",\"routes\":[]},{\"mailNo\":\"" NO "\",\"routes\":%s}]}}",
		 routes);
	s = envelope("A1000", "", data);
	free(data);
	return s;
}

/* Parses body for NO; returns the result, routes in *r and *n. */
static int parse(const char *body, struct sf_route **r, size_t *n, char err[SF_ERR_MAX])
{
	return sf_parse_reply(body, strlen(body), NO, r, n, err, SF_ERR_MAX);
}

/* Routes come back in time order (SF's order kept among equal times), nulls as "". */
static void test_parse_routes(void **state)
{
	char err[SF_ERR_MAX],
		*b = ok_reply("[{\"acceptTime\":\"2026-01-02 "
			      "08:00:00\",\"acceptAddress\":\"南昌市\",\"remark\":\"快件到达 "
			      "【南昌转运中心】\",\"opCode\":\"31\"},"
			      "{\"acceptTime\":\"2026-01-01 "
			      "18:30:05\",\"acceptAddress\":\"深圳市\",\"remark\":\"顺丰速运 "
			      "已收取快件\",\"opCode\":\"50\"},"
			      "{\"acceptTime\":\"2026-01-02 "
			      "08:00:00\",\"acceptAddress\":null,\"remark\":\"second at 08:00\"},"
			      "{\"acceptTime\":\"2026-01-03 "
			      "10:00:00\",\"acceptAddress\":\"南昌市\",\"remark\":\"已签收\","
			      "\"opCode\":\"80\",\"unknownField\":1}]");
	struct sf_route *r = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(parse(b, &r, &n, err), SF_OK);
	assert_string_equal(err, "");
	assert_int_equal(n, 4);
	assert_string_equal(r[0].time, "2026-01-01 18:30:05");
	assert_string_equal(r[0].address, "深圳市");
	assert_string_equal(r[0].remark, "顺丰速运 已收取快件");
	assert_string_equal(r[0].op_code, "50");
	assert_string_equal(r[1].remark, "快件到达 【南昌转运中心】");
	assert_string_equal(r[2].remark, "second at 08:00");
	assert_string_equal(r[2].address, "");
	assert_string_equal(r[2].op_code, "");
	assert_string_equal(r[3].op_code, "80");
	sf_routes_free(r);
	free(b);

	/* a waybill without routes yet */
	b = ok_reply("[]");
	assert_int_equal(parse(b, &r, &n, err), SF_OK);
	assert_int_equal(n, 0);
	assert_null(r);
	free(b);
}

/* Gateway codes: A1004 and A1006 are final, load and system errors are worth retrying. */
static void test_parse_gateway_errors(void **state)
{
	char err[SF_ERR_MAX], *b;
	struct sf_route *r = NULL;
	size_t n = 9;
	(void)state;

	b = envelope("A1006", "数字签名无效", NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_PERMANENT);
	assert_string_equal(err, "A1006: 数字签名无效");
	assert_null(r);
	assert_int_equal(n, 0);
	free(b);
	b = envelope("A1004", "无对应服务权限", NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_PERMANENT);
	assert_string_equal(err, "A1004: 无对应服务权限");
	free(b);
	b = envelope("A1005", "流量受控", NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	free(b);
	b = envelope("A1099", NULL, NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	assert_string_equal(err, "A1099: ");
	free(b);
	b = envelope("Z9999", "new code", NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	assert_string_equal(err, "Z9999: new code");
	free(b);
}

/* A business error inside apiResultData is final, with SF's code and message. */
static void test_parse_business_error(void **state)
{
	char err[SF_ERR_MAX], *b;
	struct sf_route *r = NULL;
	size_t n;
	(void)state;

	b = envelope(
		"A1000", "",
		"{\"success\":false,\"errorCode\":\"8152\",\"errorMsg\":\"运单号不合法\",\"msgData\":null}");
	assert_int_equal(parse(b, &r, &n, err), SF_PERMANENT);
	assert_string_equal(err, "8152: 运单号不合法");
	free(b);
	/* success true with another code is not a success either */
	b = envelope("A1000", "", "{\"success\":true,\"errorCode\":\"S0001\",\"errorMsg\":\"x\"}");
	assert_int_equal(parse(b, &r, &n, err), SF_PERMANENT);
	assert_string_equal(err, "S0001: x");
	free(b);
	/* success false and no code: unreadable */
	b = envelope("A1000", "", "{\"success\":false}");
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	free(b);
}

/* What is not the API's answer is unreadable, hence SF_RETRY, with nothing returned. */
static void test_parse_unreadable(void **state)
{
	static const char *const bad[] = {
		"",
		"<html>502 Bad Gateway</html>",
		"[]",
		"{\"apiResultCode\":1000}",
		"{\"apiResultCode\":\"A1000\",\"apiResultCode\":\"A1006\"}",
		"{\"apiResultCode\":\"A1000\"}",                                      /* no apiResultData */
		"{\"apiResultCode\":\"A1000\",\"apiResultData\":\"not json\"}",       /* not JSON */
		"{\"apiResultCode\":\"A1000\",\"apiResultData\":{\"success\":true}}", /* not a string */
		"{\"apiResultCode\":\"A1000\",\"apiResultData\":\"[1]\"}",            /* not an object */
		"{\"apiResultCode\":\"A1000\",\"apiResultData\":\"{\\\"success\\\":1}\"}", /* not a boolean */
		"{\"apiResultCode\":\"A1000\",\"apiResultData\":\"{\\\"success\\\":true}\"}", /* no msgData */
	};
	char err[SF_ERR_MAX];
	struct sf_route *r;
	size_t n;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = (struct sf_route *)&n;
		n = 7;
		assert_int_equal(parse(bad[i], &r, &n, err), SF_RETRY);
		assert_null(r);
		assert_int_equal(n, 0);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(sf_parse_reply(NULL, 0, NO, &r, &n, err, sizeof(err)), SF_RETRY);
	assert_int_equal(sf_parse_reply("{}", 2, NULL, &r, &n, err, sizeof(err)), SF_RETRY);
}

/* Routes with a missing or malformed field, and replies without our waybill, are refused. */
static void test_parse_missing_fields(void **state)
{
	static const char *const bad[] = {
		"[{\"acceptAddress\":\"深圳市\",\"remark\":\"no time\",\"opCode\":\"50\"}]",
		"[{\"acceptTime\":\"2026-01-01 18:30\",\"remark\":\"short time\"}]",
		"[{\"acceptTime\":\"2026-13-01 18:30:00\",\"remark\":\"month 13\"}]",
		"[{\"acceptTime\":\"2026-01-01T18:30:00\",\"remark\":\"ISO\"}]",
		"[{\"acceptTime\":\"2026-01-01 24:00:00\",\"remark\":\"hour 24\"}]",
		"[{\"acceptTime\":1767263400000,\"remark\":\"number\"}]",
		"[{\"acceptTime\":\"2026-01-01 18:30:00\",\"opCode\":50}]",
		"[{\"acceptTime\":\"2026-01-01 18:30:00\",\"remark\":[\"x\"]}]",
		"[\"2026-01-01 18:30:00\"]",
		"{\"acceptTime\":\"2026-01-01 18:30:00\"}",
	};
	char err[SF_ERR_MAX], *b;
	struct sf_route *r;
	size_t n;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = ok_reply(bad[i]);
		assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
		assert_null(r);
		assert_non_null(strstr(err, "reply: "));
		free(b);
	}
	/* routeResps without our waybill */
	b = ok_reply("[]");
	assert_int_equal(sf_parse_reply(b, strlen(b), "SF9999999999999", &r, &n, err, sizeof(err)), SF_RETRY);
	assert_string_equal(err, "reply: routeResps has no entry for the waybill");
	free(b);
	b = envelope("A1000", "", "{\"success\":true,\"errorCode\":\"S0000\",\"msgData\":{}}");
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	assert_string_equal(err, "reply: msgData.routeResps is not an array");
	free(b);
}

/* Appends count routes with remark filler to a JSON array text. Caller frees. */
static char *many_routes(size_t count, const char *remark)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; i < count; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "acceptTime", "2026-01-01 18:30:00",
						   "remark", remark, "opCode", "30"));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* The limits: 200 routes, field sizes, control characters, the body's size; SF's message cut. */
static void test_parse_limits(void **state)
{
	char err[SF_ERR_MAX], long_remark[SF_REMARK_MAX + 1], *routes, *b;
	struct sf_route *r;
	size_t n;
	(void)state;

	routes = many_routes(SF_ROUTES_MAX, "x");
	b = ok_reply(routes);
	assert_int_equal(parse(b, &r, &n, err), SF_OK);
	assert_int_equal(n, SF_ROUTES_MAX);
	sf_routes_free(r);
	free(b);
	free(routes);
	routes = many_routes(SF_ROUTES_MAX + 1, "x");
	b = ok_reply(routes);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	assert_string_equal(err, "reply: more than 200 routes");
	free(b);
	free(routes);

	memset(long_remark, 'a', SF_REMARK_MAX - 1);
	long_remark[SF_REMARK_MAX - 1] = '\0';
	routes = many_routes(1, long_remark);
	b = ok_reply(routes);
	assert_int_equal(parse(b, &r, &n, err), SF_OK);
	assert_int_equal(strlen(r[0].remark), SF_REMARK_MAX - 1);
	sf_routes_free(r);
	free(b);
	free(routes);
	long_remark[SF_REMARK_MAX - 1] = 'a';
	long_remark[SF_REMARK_MAX] = '\0';
	routes = many_routes(1, long_remark);
	b = ok_reply(routes);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	assert_string_equal(err, "reply: remark not a short text");
	free(b);
	free(routes);
	/* a control character (here a newline, then an escaped C1) */
	routes = many_routes(1, "line\nbreak");
	b = ok_reply(routes);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	free(b);
	free(routes);
	routes = many_routes(1, "c1 \xc2\x85 here");
	b = ok_reply(routes);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	free(b);
	free(routes);
	/* invalid UTF-8 anywhere is not JSON */
	assert_int_equal(parse("{\"apiResultCode\":\"A1\xff\"}", &r, &n, err), SF_RETRY);

	/* a body over 1 MiB is refused before parsing */
	b = calloc(SF_MAX_REPLY + 2, 1);
	memset(b, ' ', SF_MAX_REPLY + 1);
	assert_int_equal(parse(b, &r, &n, err), SF_RETRY);
	assert_string_equal(err, "reply: longer than 1 MiB");
	free(b);

	/* SF's message: cut to 150 bytes on a character boundary (50 three-byte characters) */
	char msg[400] = "";
	for (int i = 0; i < 60; i++)
		strcat(msg, "错");
	b = envelope("A1006", msg, NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_PERMANENT);
	assert_int_equal(strlen(err), strlen("A1006: ") + 150);
	free(b);
	b = envelope("A1006", "bad\x01text", NULL);
	assert_int_equal(parse(b, &r, &n, err), SF_PERMANENT);
	assert_string_equal(err, "A1006: ");
	free(b);
}

/* Arguments refused before any network, and a transport failure. */
static void test_routes_arguments(void **state)
{
	struct sf_config c = {"http://127.0.0.1:1/sf/std/service", "CERTDESK_SIM",
			      "certdesk-simulator-checkword", 2}; /* nothing listens on port 1 */
	char err[SF_ERR_MAX];
	struct sf_route *r;
	size_t n;
	(void)state;

	assert_int_equal(sf_routes(&c, "YT1234567890123", NULL, &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_string_equal(err, "not an SF waybill number");
	assert_int_equal(sf_routes(&c, NULL, NULL, &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_int_equal(sf_routes(&c, NO, "123", &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_int_equal(sf_routes(&c, NO, "12a4", &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_int_equal(sf_routes(&c, NO, "13800138000", &r, &n, err, sizeof(err)), SF_PERMANENT);
	assert_null(strstr(err, "13800138000"));
	c.check_word = "";
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_PERMANENT);
	c.check_word = "certdesk-simulator-checkword";
	c.endpoint = "ftp://127.0.0.1/sf";
	assert_int_equal(sf_routes(&c, NO, NULL, &r, &n, err, sizeof(err)), SF_PERMANENT);
	c.endpoint = "http://127.0.0.1:1/sf/std/service";
	/* a number as people type it is normalised first; then the transport fails */
	assert_int_equal(sf_routes(&c, "sf 1234-5678-90123", "0000", &r, &n, err, sizeof(err)), SF_RETRY);
	assert_non_null(strstr(err, "transport: "));
	assert_null(strstr(err, "checkword"));
	assert_null(r);
	assert_int_equal(n, 0);
}

/* The settings come from [courier]; opCodes have labels. */
static void test_config_and_labels(void **state)
{
	struct config cfg;
	struct sf_config c;
	char err[256];
	(void)state;

	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	sf_config_from(&c, &cfg);
	assert_string_equal(c.endpoint, cfg.courier_sf_endpoint);
	assert_string_equal(c.partner_id, cfg.courier_sf_partner_id);
	assert_string_equal(c.check_word, cfg.courier_sf_check_word);
	assert_int_equal(c.timeout_s, cfg.courier_timeout_s);
	config_free(&cfg);

	assert_string_equal(sf_op_label("50"), "已揽收");
	assert_string_equal(sf_op_label("80"), "已签收");
	assert_string_equal(sf_op_label("44"), "派送中");
	assert_null(sf_op_label("5"));
	assert_null(sf_op_label(""));
	assert_null(sf_op_label(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_vectors),       cmocka_unit_test(test_digest_errors),
		cmocka_unit_test(test_parse_routes),         cmocka_unit_test(test_parse_gateway_errors),
		cmocka_unit_test(test_parse_business_error), cmocka_unit_test(test_parse_unreadable),
		cmocka_unit_test(test_parse_missing_fields), cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_routes_arguments),     cmocka_unit_test(test_config_and_labels),
	};
	return cmocka_run_group_tests_name("sf", tests, NULL, NULL);
}
