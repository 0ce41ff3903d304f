/* TC3-HMAC-SHA256 signing against fixed vectors computed outside this code, and the verifier's
 * refusals.
 *
 * The vectors were computed with the openssl command line (OpenSSL 3.0), independently of libsodium:
 *
 *   hex() { sed 's/^.* //'; }
 *   HP=$(printf '%s' "$PAYLOAD" | openssl dgst -sha256 -hex | hex)
 *   HC=$(printf 'POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:%s\n\ncontent-type;host\n%s' \
 *        "$HOST" "$HP" | openssl dgst -sha256 -hex | hex)
 *   K1=$(printf '%s' "$DATE" | openssl dgst -sha256 -mac HMAC -macopt "key:TC3$KEY" -hex | hex)
 *   K2=$(printf '%s' "$SVC" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$K1" -hex | hex)
 *   K3=$(printf '%s' tc3_request | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$K2" -hex | hex)
 *   printf 'TC3-HMAC-SHA256\n%s\n%s/%s/tc3_request\n%s' "$TS" "$DATE" "$SVC" "$HC" \
 *        | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$K3" -hex | hex
 *
 * For the first vector (Tencent's own DescribeInstances example) the intermediate values were
 * HP 35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064,
 * HC 5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031, and the signature is the
 * one Tencent's 签名方法 v3 document prints for that request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "providers/tc3.h"

#define CVM_PAYLOAD                                                                                          \
	"{\"Limit\": 1, \"Filters\": [{\"Values\": [\"\\u672a\\u547d\\u540d\"], \"Name\": "                  \
	"\"instance-name\"}]}"
#define CVM_KEY "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
#define CVM_ID "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
#define CVM_AUTH                                                                                             \
	"TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "       \
	"SignedHeaders=content-type;host, "                                                                  \
	"Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"

#define SIM_ID "AKIDcertdeskSIMULATOR"
#define SIM_KEY "certdesk-simulator-key-not-secret"
#define FACEID_HOST "faceid.tencentcloudapi.com"
#define FACEID_PAYLOAD "{\"RuleId\":\"1\",\"IdCard\":\"11010519491231002X\",\"Name\":\"张三\"}"

/* Tencent's published example: POST DescribeInstances to cvm, 2019-02-25. */
static void test_vendor_example(void **state)
{
	char out[TC3_AUTH_MAX];
	(void)state;

	assert_int_equal(tc3_authorization(CVM_ID, CVM_KEY, "cvm", "cvm.tencentcloudapi.com", CVM_PAYLOAD,
					   1551113065, out, sizeof(out)),
			 TC3_OK);
	assert_string_equal(out, CVM_AUTH);
	assert_int_equal(tc3_verify(CVM_AUTH, CVM_ID, CVM_KEY, "cvm.tencentcloudapi.com", CVM_PAYLOAD,
				    1551113065, 1551113065 + 10, 300),
			 TC3_OK);
}

/* UTF-8 payload, and the credential date is the UTC date: one second apart across midnight. */
static void test_faceid_vectors_utc_date(void **state)
{
	char out[TC3_AUTH_MAX];
	(void)state;

	/* 1767225599 = 2025-12-31T23:59:59Z (07:59:59 on 1 January in Beijing) */
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "faceid", FACEID_HOST, FACEID_PAYLOAD, 1767225599,
					   out, sizeof(out)),
			 TC3_OK);
	assert_string_equal(out,
			    "TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2025-12-31/faceid/tc3_request, "
			    "SignedHeaders=content-type;host, "
			    "Signature=95f83714a357861a8af309467534dc2db6b3fafd4b269437ee42856b22514847");
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "faceid", FACEID_HOST, FACEID_PAYLOAD, 1767225600,
					   out, sizeof(out)),
			 TC3_OK);
	assert_string_equal(out,
			    "TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request, "
			    "SignedHeaders=content-type;host, "
			    "Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d");
}

/* A secret key longer than SHA-256's block: HMAC hashes it first (crypto_auth_hmacsha256_init). */
static void test_long_key(void **state)
{
	char key[101], out[TC3_AUTH_MAX];
	(void)state;

	memset(key, 'k', 100);
	key[100] = '\0';
	assert_int_equal(tc3_authorization("AKIDlong", key, "sms", "sms.tencentcloudapi.com", "{}",
					   1767225600, out, sizeof(out)),
			 TC3_OK);
	assert_non_null(
		strstr(out, "Signature=8da9eeb7599db625dcc2f6dd7de28351f9d0473adaadf39acbf187709b5606cc"));
}

/* Arguments that cannot make a header are refused, and a short buffer is not overrun. */
static void test_sign_refuses(void **state)
{
	char out[TC3_AUTH_MAX], small[40];
	(void)state;

	assert_int_equal(
		tc3_authorization("", SIM_KEY, "faceid", FACEID_HOST, "{}", 1767225600, out, sizeof(out)),
		TC3_MALFORMED);
	assert_int_equal(tc3_authorization("AKID,x", SIM_KEY, "faceid", FACEID_HOST, "{}", 1767225600, out,
					   sizeof(out)),
			 TC3_MALFORMED);
	assert_int_equal(
		tc3_authorization(SIM_ID, "", "faceid", FACEID_HOST, "{}", 1767225600, out, sizeof(out)),
		TC3_MALFORMED);
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "face/id", FACEID_HOST, "{}", 1767225600, out,
					   sizeof(out)),
			 TC3_MALFORMED);
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "faceid", "evil\r\nX: y", "{}", 1767225600, out,
					   sizeof(out)),
			 TC3_MALFORMED);
	assert_int_equal(
		tc3_authorization(SIM_ID, SIM_KEY, "faceid", FACEID_HOST, NULL, 1767225600, out, sizeof(out)),
		TC3_MALFORMED);
	assert_int_equal(
		tc3_authorization(SIM_ID, SIM_KEY, "faceid", FACEID_HOST, "{}", -1, out, sizeof(out)),
		TC3_MALFORMED);
	memset(small, 'x', sizeof(small));
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "faceid", FACEID_HOST, "{}", 1767225600, small,
					   sizeof(small)),
			 TC3_MALFORMED);
	assert_string_equal(small, "");
}

/* Signs the faceid payload at ts into out. */
static void sign_faceid(long long ts, char *out)
{
	assert_int_equal(tc3_authorization(SIM_ID, SIM_KEY, "faceid", FACEID_HOST, FACEID_PAYLOAD, ts, out,
					   TC3_AUTH_MAX),
			 TC3_OK);
}

/* Whatever is changed, the verifier refuses it, with the right reason. */
static void test_verify_tamper(void **state)
{
	const long long ts = 1767225600;
	char h[TC3_AUTH_MAX], t[TC3_AUTH_MAX + 8];
	char *sig;
	(void)state;

	sign_faceid(ts, h);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300), TC3_OK);
	/* another key, payload, host or timestamp */
	assert_int_equal(tc3_verify(h, SIM_ID, "other-key", FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
			 TC3_BAD_SIGNATURE);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST,
				    "{\"RuleId\":\"1\",\"IdCard\":\"11010519491231002X\",\"Name\":\"李四\"}",
				    ts, ts, 300),
			 TC3_BAD_SIGNATURE);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, "127.0.0.1:8090", FACEID_PAYLOAD, ts, ts, 300),
			 TC3_BAD_SIGNATURE);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts + 1, ts, 300),
			 TC3_BAD_SIGNATURE);
	/* a timestamp of the day before, with the date of the header no longer its own */
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts - 1, ts, 300),
			 TC3_BAD_SIGNATURE);
	/* one flipped hex digit of the signature */
	strcpy(t, h);
	sig = strstr(t, "Signature=") + 10;
	sig[63] = sig[63] == '0' ? '1' : '0';
	assert_int_equal(tc3_verify(t, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
			 TC3_BAD_SIGNATURE);
	/* the signature of another service under the same key */
	assert_int_equal(
		tc3_authorization(SIM_ID, SIM_KEY, "sms", FACEID_HOST, FACEID_PAYLOAD, ts, t, sizeof(t)),
		TC3_OK);
	assert_string_not_equal(strstr(t, "Signature="), strstr(h, "Signature="));
	assert_int_equal(tc3_verify(t, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300), TC3_OK);
	memcpy(strstr(t, "Signature="), strstr(h, "Signature="), 10 + 64);
	assert_int_equal(tc3_verify(t, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
			 TC3_BAD_SIGNATURE);
}

/* A SecretId that is not ours, and timestamps too far from now either way. */
static void test_verify_id_and_skew(void **state)
{
	const long long ts = 1767225600;
	char h[TC3_AUTH_MAX];
	(void)state;

	sign_faceid(ts, h);
	assert_int_equal(tc3_verify(h, "AKIDsomeoneelse", SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
			 TC3_WRONG_ID);
	assert_int_equal(tc3_verify(h, SIM_ID "X", SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
			 TC3_WRONG_ID);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts + 300, 300),
			 TC3_OK);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts + 301, 300),
			 TC3_SKEW);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts - 300, 300),
			 TC3_OK);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts - 301, 300),
			 TC3_SKEW);
	assert_int_equal(tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, -5, ts, 300),
			 TC3_MALFORMED);
	assert_int_equal(
		tc3_verify(h, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, 9223372036854775807LL, ts, 300),
		TC3_MALFORMED);
}

/* Headers of another shape are malformed, never a crash or a pass. */
static void test_verify_malformed(void **state)
{
	const long long ts = 1767225600;
	static const char *const bad[] = {
		"",
		"TC3-HMAC-SHA256",
		"TC3-HMAC-SHA1 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request, "
		"SignedHeaders=content-type;host, "
		"Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d",
		"TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid, "
		"SignedHeaders=content-type;host, "
		"Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d",
		"TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request, "
		"SignedHeaders=content-type;host;x-tc-action, "
		"Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d",
		"TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request, "
		"SignedHeaders=content-type;host, "
		"Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98",
		"TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request, "
		"SignedHeaders=content-type;host, "
		"Signature=FE7303733C367E9ACA0204AAA80DB12F13250C3CBCF07CD0B64E9CED116DD98D",
		"TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request, "
		"SignedHeaders=content-type;host, "
		"Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d, x",
		"TC3-HMAC-SHA256 Credential=//2026-01-01/faceid/tc3_request, "
		"SignedHeaders=content-type;host, "
		"Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d",
	};
	char h[TC3_AUTH_MAX];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tc3_verify(bad[i], SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300) !=
		    TC3_MALFORMED)
			fail_msg("accepted or misjudged bad header %zu: %s", i, bad[i]);
	assert_int_equal(tc3_verify(NULL, SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
			 TC3_MALFORMED);
	/* without the spaces after the commas it is still the same header */
	sign_faceid(ts, h);
	assert_int_equal(
		tc3_verify("TC3-HMAC-SHA256 Credential=AKIDcertdeskSIMULATOR/2026-01-01/faceid/tc3_request,"
			   "SignedHeaders=content-type;host,"
			   "Signature=fe7303733c367e9aca0204aaa80db12f13250c3cbcf07cd0b64e9ced116dd98d",
			   SIM_ID, SIM_KEY, FACEID_HOST, FACEID_PAYLOAD, ts, ts, 300),
		TC3_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vendor_example),   cmocka_unit_test(test_faceid_vectors_utc_date),
		cmocka_unit_test(test_long_key),         cmocka_unit_test(test_sign_refuses),
		cmocka_unit_test(test_verify_tamper),    cmocka_unit_test(test_verify_id_and_skew),
		cmocka_unit_test(test_verify_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
