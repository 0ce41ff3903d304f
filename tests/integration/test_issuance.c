/* Issuance intents (issue 16): no certificate is signed twice for one request across a failure
 * between the signature and the store. certdeskd runs with [dev] issue_store_fault, which makes the
 * store of every new intent's certificate fail once after certdesk-signer signed it (what a kill -9
 * there does: the signer's log holds a certificate certdesk never stored).
 * - the retry of the same request returns a certificate with the SAME serial (the same TBS signed
 *   again), and every serial in the signer's log is in the database;
 * - a retry with another key abandons the first intent: its serial is revoked (superseded) on the
 *   CA's next CRL and by OCSP, the new key's certificate is issued under a new serial, and every serial in
 * the signer's log is a stored certificate or an abandoned (revoked) intent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca_setup.h"
#include "config/config.h"
#include "harness.h"
#include "pki/pki.h"
#include "pki/publish.h"
#include "pki_helpers.h"
#include "store/store.h"
#include "util/timefmt.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, producer;
static int skipped;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates a secondary-key order of org put into production with a USB key being produced (payment,
 * paper and production are other tests'); writes its number into no. */
static void producing_order(char no[32])
{
	json_t *j = NULL;
	struct db_conn *dc;

	assert_int_equal(
		client_do(&org, "POST", "/api/v1/orders",
			  "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}",
			  &j),
		201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	dc = db_acquire(db);
	assert_int_equal(
		db_exec(dc,
			"UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no = ?",
			DB_ARGS(DB_TEXT(no)), NULL),
		DB_OK);
	assert_int_equal(db_exec(dc,
				 "INSERT INTO usb_keys (order_id, serial, kind, state, so_pin, user_pin, "
				 "kek_id, created_at)"
				 " SELECT id, 'TEST-' || order_no, 'skf', 'producing', 'x', 'x', 'x', "
				 "created_at FROM orders"
				 " WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(no)), NULL),
			 DB_OK);
	db_release(dc);
}

/* Posts a CSR of key k for order no as the producer; returns the status, the serial in serial ("" for
 * none). */
static long post_csr(const char *no, EVP_PKEY *k, char serial[48])
{
	char path[128], *csr = it_make_csr(k, "Requester");
	json_t *body = json_pack("{s:s}", "csr", csr), *j = NULL;
	char *text = json_dumps(body, JSON_COMPACT);
	long st;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	st = client_do(&producer, "POST", path, text, &j);
	snprintf(serial, 48, "%s", json_string_value(json_object_get(j, "serial")) ?: "");
	json_decref(j);
	json_decref(body);
	free(text);
	free(csr);
	return st;
}

/* Writes serial in upper case without leading zeros into out: the signer logs BN_bn2hex's form (a
 * leading zero when the top nibble is 0), the database pki_serial_hex's (none). */
static void norm(const char *serial, char out[48])
{
	size_t i = 0;

	while (serial[0] == '0' && serial[1] != '\0')
		serial++;
	for (; serial[i] != '\0' && i + 1 < 48; i++)
		out[i] = (char)(serial[i] >= 'a' && serial[i] <= 'f' ? serial[i] - 32 : serial[i]);
	out[i] = '\0';
}

/* Returns the first integer of a query with one text argument. */
static int64_t count1(const char *sql, const char *arg)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;

	assert_int_equal(db_query_int(c, sql, DB_ARGS(DB_TEXT(arg)), &n), DB_OK);
	db_release(c);
	return n;
}

/* Returns the state of the intent with serial ("" when none; static). */
static const char *intent_state(const char *serial)
{
	static char state[16];
	struct db_conn *c = db_acquire(db);
	char *s = NULL;

	state[0] = '\0';
	if (db_query_text(c, "SELECT state FROM issuance_intents WHERE serial = ?", DB_ARGS(DB_TEXT(serial)),
			  &s) == DB_OK)
		snprintf(state, sizeof(state), "%s", s);
	free(s);
	db_release(c);
	return state;
}

/* Counts the certificates the signer's log shows signed with serial (NULL: all) and, with
 * unaccounted, those of them that are neither a stored certificate nor an abandoned intent. */
static int signer_signed(const char *serial, int *unaccounted)
{
	char path[400], line[4096], want[48] = "", got[48];
	FILE *f;
	int n = 0;

	if (serial != NULL)
		norm(serial, want);
	*unaccounted = 0;
	snprintf(path, sizeof(path), "%s/signer.log", S.dir);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *e = json_loads(line, 0, NULL);
		const char *s = json_string_value(json_object_get(e, "serial"));
		if (s != NULL &&
		    strcmp(json_string_value(json_object_get(e, "kind_name")) ?: "", "tbs_certificate") ==
			    0 &&
		    strcmp(json_string_value(json_object_get(e, "result")) ?: "", "signed") == 0) {
			norm(s, got);
			if (serial == NULL || strcmp(got, want) == 0)
				n++;
			if (count1("SELECT COUNT(*) FROM certificates WHERE serial = ?", got) +
				    count1("SELECT COUNT(*) FROM issuance_intents WHERE serial = ? AND state "
					   "= 'abandoned'",
					   got) ==
			    0) {
				fprintf(stderr, "issuance: signed, not accounted for: %s", line);
				(*unaccounted)++;
			}
		}
		json_decref(e);
	}
	fclose(f);
	return n;
}

/* The store fails once after the signature; the retry of the same request signs the same TBS again
 * and stores it: the same serial, one certificate, every signed serial in the database. */
static void test_retry_signs_same_serial(void **state)
{
	char no[32], first[48] = "", again[48], twice[48];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	int unaccounted = 0;
	struct db_conn *c;
	char *serial = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order(no);
	assert_int_equal(post_csr(no, k, first), 500);
	c = db_acquire(db);
	assert_int_equal(
		db_query_text(c,
			      "SELECT i.serial FROM issuance_intents i JOIN orders o ON o.id = i.order_id"
			      " WHERE o.order_no = ? AND i.state = 'signing'",
			      DB_ARGS(DB_TEXT(no)), &serial),
		DB_OK);
	db_release(c);
	assert_int_equal(signer_signed(serial, &unaccounted), 1); /* signed, not stored */
	assert_int_equal(unaccounted, 1);

	assert_int_equal(post_csr(no, k, again), 201);
	assert_string_equal(again, serial); /* the same certificate: no second serial */
	assert_string_equal(intent_state(serial), "issued");
	assert_int_equal(signer_signed(serial, &unaccounted), 2);
	assert_int_equal(unaccounted, 0);
	assert_int_equal(count1("SELECT COUNT(*) FROM certificates c JOIN orders o ON o.id = c.order_id"
				" WHERE o.order_no = ?",
				no),
			 1);
	/* a third call gets the stored certificate */
	assert_int_equal(post_csr(no, k, twice), 200);
	assert_string_equal(twice, serial);
	free(serial);
	EVP_PKEY_free(k);
}

/* The revoked entries of CA ca's newest CRL: 1 when serial is among them with reason superseded. */
static int on_crl_superseded(const char *ca, const char *serial)
{
	struct db_conn *c = db_acquire(db);
	struct crl_rec crl = {0};
	const unsigned char *p;
	unsigned char *der;
	size_t len = 0;
	X509_CRL *x;
	int found = 0;

	assert_int_equal(store_crl_latest(c, ca, &crl), DB_OK);
	db_release(c);
	der = pki_b64_decode(crl.der_b64, &len);
	p = der;
	assert_non_null(x = d2i_X509_CRL(NULL, &p, (long)len));
	STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(x);
	for (int i = 0; i < sk_X509_REVOKED_num(rv); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rv, i);
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
		char *hex = BN_bn2hex(bn), got[48];
		ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		norm(hex, got);
		if (strcmp(got, serial) == 0 && reason != NULL && ASN1_ENUMERATED_get(reason) == 4)
			found = 1;
		ASN1_ENUMERATED_free(reason);
		OPENSSL_free(hex);
		BN_free(bn);
	}
	X509_CRL_free(x);
	free(der);
	store_crl_free(&crl);
	return found;
}

/* Asks certdeskd's OCSP responder (openssl ocsp, response verified) about serial of CA key ca (a
 * P-256 issuing CA here); returns the output (caller frees). */
static char *ocsp_serial(const char *ca, const char *serial)
{
	char cmd[2000], root[400], issuing[400], out[400], *text = calloc(1, 65536);
	FILE *f;
	int rc;

	snprintf(issuing, sizeof(issuing), "%s/ca-keys/%s.crt", S.dir, ca);
	snprintf(root, sizeof(root), "%s/ca-keys/p256-root-1.crt", S.dir);
	snprintf(out, sizeof(out), "%s/ocsp.out", S.dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl ocsp -issuer %s -serial 0x%s -url %s/ocsp -CAfile %s -verify_other %s -no_nonce "
		 ">%s 2>&1",
		 issuing, serial, S.base, root, issuing, out);
	rc = system(cmd);
	assert_non_null(f = fopen(out, "r"));
	if (fread(text, 1, 65535, f) == 0)
		text[0] = '\0';
	fclose(f);
	if (rc != 0 || strstr(text, "Response verify OK") == NULL)
		fail_msg("openssl ocsp: %s", text);
	return text;
}

/* A retry with another key: the first intent is abandoned (audited), its serial revoked
 * (superseded) on the next CRL; the second key's certificate gets its own serial. */
static void test_changed_request_abandons(void **state)
{
	char no[32], s[48], ca[64], now[TIMEFMT_LEN], err[512];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1"),
		 *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	char *first = NULL, *second = NULL, *cakey = NULL, *text;
	struct db_conn *c;
	json_t *due = NULL;
	int unaccounted = 0, listed = 0;
	const char *sql = "SELECT i.serial FROM issuance_intents i JOIN orders o ON o.id = i.order_id"
			  " WHERE o.order_no = ? AND i.state = 'signing'";
	(void)state;
	if (skipped)
		skip();
	producing_order(no);
	assert_int_equal(post_csr(no, k, s), 500);
	c = db_acquire(db);
	assert_int_equal(db_query_text(c, sql, DB_ARGS(DB_TEXT(no)), &first), DB_OK);
	db_release(c);

	assert_int_equal(post_csr(no, k2, s), 500); /* another key: a new intent (and the fault again) */
	assert_string_equal(intent_state(first), "abandoned");
	assert_int_equal(
		count1("SELECT COUNT(*) FROM audit_log WHERE action = 'cert.abandon' AND detail LIKE '%' ||"
		       " ? || '%'",
		       first),
		1);
	c = db_acquire(db);
	assert_int_equal(db_query_text(c, sql, DB_ARGS(DB_TEXT(no)), &second), DB_OK);
	db_release(c);
	assert_string_not_equal(first, second);
	assert_int_equal(post_csr(no, k2, s), 201);
	assert_string_equal(s, second);

	/* the abandoned serial is due on its CA's CRL and published there, revoked (superseded) */
	c = db_acquire(db);
	assert_int_equal(db_query_text(c, "SELECT ca_key_id FROM issuance_intents WHERE serial = ?",
				       DB_ARGS(DB_TEXT(first)), &cakey),
			 DB_OK);
	timefmt_rfc3339(time(NULL), now);
	assert_int_equal(store_crls_due(c, now, now, &due), DB_OK);
	db_release(c);
	for (size_t i = 0; i < json_array_size(due); i++)
		listed |=
			strcmp(json_string_value(json_object_get(json_array_get(due, i), "ca")), cakey) == 0;
	assert_true(listed);
	snprintf(ca, sizeof(ca), "%s", cakey);
	assert_int_equal(pki_publish_crl(&(struct pki_publisher){db, cfg.signer_socket, cfg.ca_crl_interval_s,
								 cfg.ca_ocsp_validity_s},
					 ca, err, sizeof(err)),
			 0);
	assert_true(on_crl_superseded(ca, first));
	/* and OCSP says so too (a serial no certificate row holds: answered at once, not "unknown") */
	text = ocsp_serial(ca, first);
	if (strstr(text, ": revoked") == NULL || strstr(text, "Reason: superseded") == NULL)
		fail_msg("openssl ocsp for an abandoned serial: %s", text);
	free(text);
	/* every certificate the CA key signed is accounted for */
	signer_signed(NULL, &unaccounted);
	assert_int_equal(unaccounted, 0);
	json_decref(due);
	free(first);
	free(second);
	free(cakey);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* An intent nobody retried (the order went on another way): a day later the publishing pass closes it
 * abandoned and its serial is on that pass's CRL, revoked; a fresh one is left alone. */
static void test_stale_intent_closed(void **state)
{
	char no[32], no2[32], s[48], ago[TIMEFMT_LEN];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1"),
		 *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	const char *sql = "SELECT i.serial FROM issuance_intents i JOIN orders o ON o.id = i.order_id"
			  " WHERE o.order_no = ? AND i.state = 'signing'";
	char *stale = NULL, *fresh = NULL, *cakey = NULL;
	atomic_int stop = 0;
	struct db_conn *c;
	int unaccounted = 0;
	(void)state;
	if (skipped)
		skip();
	producing_order(no);
	producing_order(no2);
	assert_int_equal(post_csr(no, k, s), 500); /* signed, not stored: the intent stays 'signing' */
	assert_int_equal(post_csr(no2, k2, s), 500);
	c = db_acquire(db);
	assert_int_equal(db_query_text(c, sql, DB_ARGS(DB_TEXT(no)), &stale), DB_OK);
	assert_int_equal(db_query_text(c, sql, DB_ARGS(DB_TEXT(no2)), &fresh), DB_OK);
	/* the first one is older than a day and its lease ran out long ago */
	timefmt_rfc3339(time(NULL) - INTENT_STALE_S - 3600, ago);
	assert_int_equal(
		db_exec(c, "UPDATE issuance_intents SET created_at = ?, lease_until = ? WHERE serial = ?",
			DB_ARGS(DB_TEXT(ago), DB_TEXT(ago), DB_TEXT(stale)), NULL),
		DB_OK);
	assert_int_equal(db_query_text(c, "SELECT ca_key_id FROM issuance_intents WHERE serial = ?",
				       DB_ARGS(DB_TEXT(stale)), &cakey),
			 DB_OK);
	db_release(c);

	/* the CA is due when an intent was closed after its newest CRL (times in whole seconds): the
	 * previous test may have published one in this very second */
	sleep(1);
	pki_publish_pass(
		&(struct pki_publisher){db, cfg.signer_socket, cfg.ca_crl_interval_s, cfg.ca_ocsp_validity_s},
		&stop);
	assert_string_equal(intent_state(stale), "abandoned");
	assert_string_equal(intent_state(fresh), "signing");
	assert_int_equal(
		count1("SELECT COUNT(*) FROM audit_log WHERE action = 'cert.abandon' AND detail LIKE '%' ||"
		       " ? || '%'",
		       stale),
		1);
	assert_true(on_crl_superseded(cakey, stale));
	/* the fresh one still completes with its serial */
	assert_int_equal(post_csr(no2, k2, s), 201);
	assert_string_equal(s, fresh);
	signer_signed(NULL, &unaccounted);
	assert_int_equal(unaccounted, 0);
	free(stale);
	free(fresh);
	free(cakey);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static int setup(void **state)
{
	int rc;
	(void)state;

	setenv("CERTDESK_DEV_ISSUE_STORE_FAULT", "true", 1);
	rc = it_start_with_ca(&S, 0, &cfg, &db);
	if (rc == 77) {
		skipped = 1;
		return 0;
	}
	if (rc != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&producer, &S, "producer");
	if (client_register_login(&org, "鹰潭签发意向测试有限公司", "91310115MA1K3BTP2B", "13800138041") !=
		    0 ||
	    client_staff_login(&producer, "producer") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return it_stop_with_ca(&S, &cfg, &db) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_signs_same_serial),
		cmocka_unit_test(test_changed_request_abandons),
		cmocka_unit_test(test_stale_intent_closed),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
