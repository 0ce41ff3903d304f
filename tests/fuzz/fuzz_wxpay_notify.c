/* libFuzzer driver for what a WeChat Pay notification carries past its signature
 * (providers/wxpay_codec.c): the decrypted transaction JSON must be read without reading out of
 * bounds, and what is accepted must agree with itself; the same bytes as a Base64 ciphertext must
 * not decrypt (no key is known to the fuzzer), and times must parse or be refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/wxpay.h"

#define APIV3 "certdeskSimulatorApiV3Key0000000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PAY_ERR_MAX], *s = malloc(size + 1), *plain;
	struct pay_status st;
	long long t;
	size_t len;
	int rc;

	memcpy(s, data, size);
	s[size] = '\0';
	rc = wxpay_parse_transaction(s, size, "wx0000certdesksim", "1900000001", &st, err, sizeof(err));
	if (rc != PAY_OK && rc != PAY_FORGED && rc != PAY_PERMANENT)
		abort();
	if (rc != PAY_OK && err[0] == '\0')
		abort();
	if (rc == PAY_OK &&
	    (st.out_trade_no[0] == '\0' || st.state < PAY_ST_UNKNOWN || st.state > PAY_ST_REFUNDED ||
	     (st.state == PAY_ST_PAID && (st.trade_no[0] == '\0' || st.amount_fen < 0))))
		abort();
	if (rc == PAY_OK && st.paid_at[0] != '\0' && strlen(st.paid_at) != 20)
		abort();
	/* an attacker without the APIv3 key cannot make a ciphertext whose tag checks */
	plain = wxpay_decrypt_resource(APIV3, "fdasflkja484", "transaction", s, &len);
	if (plain != NULL && size > 0 && strstr(s, "/75dmyMb2A8SYXzMcyxRH8Y2Gurqm") == NULL)
		abort();
	free(plain);
	if (wxpay_time_parse(s, &t) == 0 && size < 20)
		abort();
	free(s);
	return 0;
}
