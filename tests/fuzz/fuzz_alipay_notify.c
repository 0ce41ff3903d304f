/* libFuzzer driver for what the Alipay adapter reads from outside (providers/alipay.c,
 * alipay_codec.c, util/urlform.c): any bytes as a notification's form body, as a gateway reply whose
 * "..._response" object is extracted raw, and as an amount or a time stamp. Nothing may read out of
 * bounds, a notification that is not accepted leaves no state behind, and whatever is accepted
 * must agree with itself (a form encodes and decodes back, an extracted object is one JSON object
 * inside the input, an amount or a time prints back the same). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "providers/alipay.h"
#include "util/urlform.h"

static struct config cfg = {
	.alipay_gateway = "http://127.0.0.1:1/alipay/gateway.do",
	.alipay_app_id = "2021000000000001",
	.alipay_seller_id = "2088000000000001",
	.alipay_app_key = SOURCE_DIR "/config/testkeys/alipay-app.key",
	.alipay_public_key = SOURCE_DIR "/config/testkeys/alipay-gateway.pub",
	.alipay_timeout_s = 1,
};
static struct alipay *ali;

/* A form that parses encodes to a body that parses to the same fields. */
static void check_form(const uint8_t *data, size_t size)
{
	struct urlform f, back;
	char *enc;

	if (urlform_parse((const char *)data, size, 64, &f) != 0)
		return;
	enc = urlform_encode(&f);
	if (urlform_parse(enc, strlen(enc), 64, &back) != 0 || back.n != f.n)
		abort();
	for (size_t i = 0; i < f.n; i++)
		if (strcmp(back.f[i].name, f.f[i].name) != 0 || strcmp(back.f[i].value, f.f[i].value) != 0)
			abort();
	free(alipay_sign_content(&f, 1));
	urlform_free(&back);
	urlform_free(&f);
	free(enc);
}

/* The notification check never accepts without a state and never leaves one when refusing. */
static void check_notification(const uint8_t *data, size_t size)
{
	struct pay_status st;
	char err[PAY_ERR_MAX];
	int rc = alipay_notification(ali, (const char *)data, size, &st, err, sizeof(err));

	if (rc != PAY_OK && rc != PAY_FORGED && rc != PAY_PERMANENT)
		abort();
	if (rc != PAY_OK && (st.state != 0 || st.amount_fen != -1 || st.event_id[0] != '\0'))
		abort();
	if (rc == PAY_OK && (st.amount_fen < 0 || st.event_id[0] == '\0'))
		abort();
}

/* An extracted object lies inside the input, is an object, and parses alone. */
static void check_reply(const uint8_t *data, size_t size)
{
	const char *obj;
	size_t len;
	char sign[700];
	json_t *j;

	if (alipay_reply_extract((const char *)data, size, "alipay_trade_query_response", &obj, &len, sign,
				 sizeof(sign)) != 0)
		return;
	if (obj < (const char *)data || obj + len > (const char *)data + size || len < 2 || obj[0] != '{' ||
	    obj[len - 1] != '}')
		abort();
	j = json_loadb(obj, len, 0, NULL);
	if (!json_is_object(j))
		abort();
	json_decref(j);
}

/* Amounts and times that parse print back as they were (modulo the decimals of an amount). */
static void check_numbers(const char *s)
{
	char out[32];
	long long v, back;

	if (alipay_yuan_to_fen(s, &v) == 0) {
		if (v < 0 || alipay_yuan_to_fen(alipay_fen_to_yuan(v, out), &back) != 0 || back != v)
			abort();
	}
	if (alipay_time_parse(s, &v) == 0 && strcmp(alipay_time_format(v, out), s) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *s;

	if (ali == NULL && (ali = alipay_new(&cfg, err, sizeof(err))) == NULL)
		abort();
	check_form(data, size);
	check_notification(data, size);
	check_reply(data, size);
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	check_numbers(s);
	free(s);
	return 0;
}
