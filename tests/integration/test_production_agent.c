/* Production onto a USB key end to end (issue 13): the real certdeskd and certdesk-signer
 * (harness_start_ca) and the real certdesk-agent on free loopback ports; the agent loads the 32-bit
 * software SKF key and SoftHSM2 (tokens in the test's directory) and answers certdeskd's origin. The
 * test runs the producer's page's steps (web/src/production.ts) in C over HTTP: POST production →
 * agent init → login → key pair → CSR → POST certificates → write sign → enc-key (dual) → write enc →
 * the main key's seals (made by certdeskd, written as data objects, read back) → read back → complete.
 *  1. an SM2 dual main key on the software SKF key: produced, `certdesk-agent list --json` shows both
 *     certificates, the read-back signing certificate verifies against the SM2 CA chain (ID set), the
 *     agent's challenge signature verifies with the certificate's key;
 *  2. a secondary key on SoftHSM (P-256): produced; pkcs11-tool lists private key and certificate
 *     with one ID and label; `openssl verify -x509_strict` of the read-back certificate;
 *  3. crash and resume: the agent killed (SIGKILL) between issuance and writing, the key pulled out
 *     mid-write (410, the order still producing), a different key after a half-made one (the first's
 *     certificates revoked as superseded, the first key wiped with previous_key.so_pin): each resumes
 *     or restarts to produced with exactly one signing certificate issued for the key;
 *  4. bad cases, nothing recorded as produced: a key in use by another order (key_in_use), a key with
 *     foreign content (key_not_blank), a wrong PIN (401 with retries_left), a token that refuses key
 *     generation, a certificate for another key (cert_key_mismatch) and a read-back that differs
 *     (readback_mismatch), another web origin (403). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "ca_setup.h"
#include "harness.h"
#include "agent_helpers.h"
#include "pki_helpers.h"
#include "seal_png.h"
#include "store/store.h"

static struct srv S; /* certdeskd and the signer */
static struct config cfg;
static struct db *db;
static struct client org, org2, org3, producer;
static int skipped;
/* cmocka reports a failed group teardown but exits 0: main returns 1 then (certdeskd's or the agent's
 * leaks, a PIN in the agent's logs) */
static int teardown_failed;

/* --- certdeskd --- */

/* Returns the order's state and its key's state ("" when none) as staff see them. */
static void order_states(const char *no, char state[32], char key_state[32])
{
	char path[128];
	json_t *j = NULL;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	snprintf(state, 32, "%s", jstr(j, "state"));
	snprintf(key_state, 32, "%s", jstr(json_object_get(j, "usb_key"), "state"));
	json_decref(j);
}

/* Asserts that order no is still producing with its key not written. */
static void still_producing(const char *no)
{
	char st[32], ks[32];

	order_states(no, st, ks);
	assert_string_equal(st, "producing");
	assert_string_not_equal(ks, "written");
}

/* Counts the order's certificates of kind (sign or enc) with status (NULL: any). */
static int certs_of_order(const char *no, const char *kind, const char *status)
{
	char path[160];
	json_t *j = NULL, *it;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
	json_array_foreach (json_object_get(j, "items"), i, it)
		n += strcmp(jstr(it, "kind"), kind) == 0 &&
		     (status == NULL || strcmp(jstr(it, "status"), status) == 0);
	json_decref(j);
	return n;
}

/* --- setup --- */

static int setup(void **state)
{
	int rc;
	(void)state;

	rc = it_start_with_ca(&S, 0, &cfg, &db);
	if (rc == 77 || access(harness_bin("certdesk-agent"), X_OK) != 0 || access(SOFTSKF_TOOL, X_OK) != 0) {
		fprintf(stderr, "SKIP: certdesk-signer, certdesk-agent or the software SKF key not built\n");
		skipped = 1;
		return 0;
	}
	if (rc != 0)
		return -1;
	agent_helpers_init(&S, &producer);
	agent_config();
	if (agent_start() != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&org2, &S, "org2");
	client_init(&org3, &S, "org3");
	client_init(&producer, &S, "producer");
	if (client_register_login(&org, "鹰潭制证联调有限公司", "91310115MA1K3BTP2B", "13800138061") != 0 ||
	    client_register_login(&org2, "鹰潭制证联调第二有限公司", "91110000600037341L", "13800138062") !=
		    0 ||
	    client_register_login(&org3, "鹰潭制证联调第三有限公司", "9144030071526726XG", "13800138063") !=
		    0 ||
	    client_staff_login(&producer, "producer") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	int status, agent;
	(void)state;

	agent = agent_stop();
	if (agent == 0 && agent_logs_hold_pin()) { /* the logs in S.dir: before it is removed */
		fprintf(stderr, "a PIN in the agent's logs\n");
		agent = -1;
	}
	status = it_stop_with_ca(&S, &cfg, &db);
	teardown_failed = status != 0 || agent != 0;
	return teardown_failed ? -1 : 0;
}

/* --- 1. SM2 dual on the software SKF key --- */

/* The agent's signature of a challenge verifies with the certificate's key (SM2 with the ID, SM3). */
static void challenge_verifies(struct prod *p, X509 *cert)
{
	const char challenge[] = "certdesk production challenge";
	char path[200], b64[64];
	unsigned char sig[256];
	json_t *j = NULL;
	const char *s;
	int n;
	EVP_MD_CTX *vc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(X509_get0_pubkey(cert), NULL);

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)challenge, (int)strlen(challenge));
	snprintf(path, sizeof(path), "/v1/keys/%s/sign", p->id);
	assert_int_equal(
		ag("POST", path, p->session, &j, "{\"key_ref\":\"%s\",\"data\":\"%s\"}", p->key_ref, b64),
		200);
	s = jstr(j, "signature");
	n = EVP_DecodeBlock(sig, (const unsigned char *)s, (int)strlen(s));
	assert_true(n > 0);
	n -= (s[strlen(s) - 1] == '=') + (strlen(s) > 1 && s[strlen(s) - 2] == '=');
	assert_true(EVP_PKEY_CTX_set1_id(pctx, IT_SM2_ID, 16) > 0);
	EVP_MD_CTX_set_pkey_ctx(vc, pctx);
	assert_int_equal(EVP_DigestVerifyInit(vc, NULL, EVP_sm3(), NULL, X509_get0_pubkey(cert)), 1);
	assert_int_equal(
		EVP_DigestVerify(vc, sig, (size_t)n, (const unsigned char *)challenge, strlen(challenge)), 1);
	EVP_MD_CTX_free(vc);
	EVP_PKEY_CTX_free(pctx);
	json_decref(j);
}

/* `certdesk-agent list --json` shows the key's sign and enc certificates with their validity. */
static void list_json_shows(const char *serial, int want)
{
	json_t *j = agent_list_json(), *k, *c;
	size_t i, n;
	int found = 0;

	json_array_foreach (json_object_get(j, "keys"), i, k)
		if (strcmp(jstr(k, "serial"), serial) == 0)
			json_array_foreach (json_object_get(k, "certificates"), n, c) {
				assert_true(strlen(jstr(c, "not_before")) >= 19);
				assert_true(strlen(jstr(c, "not_after")) >= 19);
				assert_true(strcmp(jstr(c, "not_after"), jstr(c, "not_before")) > 0);
				found += strcmp(jstr(c, "usage"), "sign") == 0  ? 1
					 : strcmp(jstr(c, "usage"), "enc") == 0 ? 2
										: 0;
			}
	assert_int_equal(found, want);
	json_decref(j);
}

static void test_sm2_dual_skf(void **state)
{
	struct prod p;
	char no[32];
	X509 *sign, *issuing, *root;
	(void)state;
	if (skipped)
		skip();
	producing_order(db, &org, "main", no);
	softkey_create("PAKEY01");
	prod_init(&p, no, "PAKEY01");
	produce(&p, ST_COMPLETE);
	assert_false(prod_resumed(&p));
	assert_true(prod_dual(&p));
	assert_string_equal(jstr(p.start, "algorithm"), "sm2");
	assert_string_equal(readback_of(&p, "sign"), p.der[0]);
	assert_string_equal(readback_of(&p, "enc"), p.der[1]);
	list_json_shows("PAKEY01", 3);
	/* the read-back signing certificate verifies against the SM2 chain, with the SM2 ID */
	sign = cert_of_b64(readback_of(&p, "sign"));
	issuing = it_ca_cert(&S, "sm2-issuing-1");
	root = it_ca_cert(&S, "sm2-root-1");
	assert_true(it_sm2_verify(sign, issuing));
	assert_true(it_sm2_verify(issuing, root));
	assert_true(it_sm2_verify(root, root));
	challenge_verifies(&p, sign);
	assert_int_equal(certs_of_order(no, "sign", NULL), 1);
	assert_int_equal(certs_of_order(no, "enc", NULL), 1);
	X509_free(sign);
	X509_free(issuing);
	X509_free(root);
	prod_free(&p);
}

/* --- 2. a secondary key on SoftHSM --- */

static void test_secondary_softhsm(void **state)
{
	struct prod p;
	char no[32], *out = NULL, path[400], want[200];
	X509 *x;
	FILE *f;
	int ids = 0, labels = 0;
	(void)state;
	if (skipped || access(SOFTHSM, R_OK) != 0)
		skip();
	/* a token as it comes from the vendor (SoftHSM2 reads its tokens when the agent starts) */
	prod_init(&p, "", softhsm_token("blank"));
	assert_true(p.serial[0] != '\0');
	producing_order(db, &org, "secondary", no);
	snprintf(p.no, sizeof(p.no), "%s", no);
	produce(&p, ST_COMPLETE);
	assert_false(prod_dual(&p));
	assert_string_equal(jstr(p.start, "algorithm"), "ec-p256");
	json_t *k = agent_key(p.serial); /* the serial certdeskd recorded is still the token's */
	assert_non_null(k);
	assert_string_equal(jstr(k, "label"), p.no);
	json_decref(k);
	assert_string_equal(readback_of(&p, "sign"), p.der[0]);
	/* other middleware reads the pair: private key and certificate under one ID and label */
	assert_int_equal(sh(&out, "pkcs11-tool --module %s --token-label %s -O --login --pin %s 2>&1",
			    SOFTHSM, p.label, jstr(p.start, "user_pin")),
			 0);
	snprintf(want, sizeof(want), "ID:         %s", p.key_ref);
	for (const char *s = out; (s = strstr(s, want)) != NULL; s++)
		ids++;
	snprintf(want, sizeof(want), "label:      certdesk-%.8s", p.key_ref);
	for (const char *s = out; (s = strstr(s, want)) != NULL; s++)
		labels++;
	if (ids < 2 || labels < 2 || strstr(out, "Private Key Object") == NULL ||
	    strstr(out, "Certificate Object") == NULL)
		fail_msg("pkcs11-tool does not show key and certificate under %s:\n%s", p.key_ref, out);
	free(out);
	/* openssl verify -x509_strict of the read-back certificate against the P-256 chain */
	x = cert_of_b64(readback_of(&p, "sign"));
	snprintf(path, sizeof(path), "%s/readback-p256.pem", S.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	if (sh(&out,
	       "openssl verify -x509_strict -CAfile %s/ca-keys/p256-root-1.crt -untrusted "
	       "%s/ca-keys/p256-issuing-1.crt %s 2>&1",
	       S.dir, S.dir, path) != 0)
		fail_msg("openssl verify: %s", out);
	free(out);
	/* wiped with its SO PIN the token is blank as it came: another production can initialise it */
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", p.id);
	assert_int_equal(ag("POST", path, NULL, NULL, "{\"so_pin\":\"%s\"}", jstr(p.start, "so_pin")), 200);
	snprintf(path, sizeof(path), "/v1/keys/%s/init", p.id);
	assert_int_equal(
		ag("POST", path, NULL, NULL, "{\"so_pin\":\"A1b2C3d4E5f6G7h8\",\"user_pin\":\"24681357\"}"),
		200);
	prod_free(&p);
}

/* --- 3. crash and resume --- */

/* The agent killed after issuance, before the write: restarted, the same key resumes. */
static void test_agent_killed_resume(void **state)
{
	struct prod p, q;
	char no[32];
	(void)state;
	if (skipped)
		skip();
	producing_order(db, &org2, "main", no);
	softkey_create("PAKEY02");
	prod_init(&p, no, "PAKEY02");
	produce(&p, ST_ISSUE);
	agent_kill9();
	assert_int_equal(agent_start(), 0);
	still_producing(no);
	prod_init(&q, no, "PAKEY02");
	produce(&q, ST_COMPLETE);
	assert_true(prod_resumed(&q));
	assert_string_equal(jstr(q.start, "so_pin"), jstr(p.start, "so_pin"));
	assert_string_equal(jstr(q.start, "user_pin"), jstr(p.start, "user_pin"));
	assert_int_equal(json_array_size(json_object_get(q.start, "certificates")), 2);
	assert_string_equal(q.key_ref, p.key_ref); /* the pair whose public key is in the certificate */
	assert_string_equal(readback_of(&q, "sign"), p.der[0]);
	assert_string_equal(readback_of(&q, "enc"), p.der[1]);
	assert_int_equal(certs_of_order(no, "sign", NULL), 1);
	assert_int_equal(certs_of_order(no, "enc", NULL), 1);
	list_json_shows("PAKEY02", 3);
	prod_free(&p);
	prod_free(&q);
}

/* The key pulled out during the certificate's write: 410, the order still producing; plugged in
 * again, the production resumes to produced. */
static void test_key_pulled_mid_write(void **state)
{
	struct prod p, q;
	char no[32];
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order(db, &org, "secondary", no);
	softkey_create("PAKEY03");
	prod_init(&p, no, "PAKEY03");
	produce(&p, ST_ISSUE);
	assert_int_equal(sh(NULL, "%s remove-after %s PAKEY03 0", SOFTSKF_TOOL, agent_skfdir), 0);
	assert_int_equal(step_write(&p, 0, &j), 410);
	assert_string_equal(error_code(j), "key_removed");
	json_decref(j);
	assert_null(agent_key("PAKEY03"));
	still_producing(no);
	assert_int_equal(sh(NULL, "%s insert %s PAKEY03", SOFTSKF_TOOL, agent_skfdir), 0);
	prod_init(&q, no, "PAKEY03");
	produce(&q, ST_COMPLETE);
	assert_true(prod_resumed(&q));
	assert_string_equal(readback_of(&q, "sign"), p.der[0]);
	assert_int_equal(certs_of_order(no, "sign", NULL), 1);
	prod_free(&p);
	prod_free(&q);
}

/* A different key after a half-made one: the first key's certificates are revoked (superseded), the
 * first key is wiped through the agent with previous_key.so_pin, the second is produced. */
static void test_other_key_after_half_made(void **state)
{
	struct prod p, q;
	char no[32], sign1[48], enc1[48], path[200];
	json_t *j = NULL, *prev, *k;
	X509 *x;
	ASN1_INTEGER *sn;
	BIGNUM *bn;
	char *hex;
	(void)state;
	if (skipped)
		skip();
	producing_order(db, &org3, "main", no);
	softkey_create("PAKEY04");
	softkey_create("PAKEY05");
	prod_init(&p, no, "PAKEY04");
	produce(&p, ST_WRITE_SIGN);
	for (int u = 0; u < 2; u++) { /* the serials of what was issued for the first key */
		x = cert_of_b64(p.der[u]);
		sn = X509_get_serialNumber(x);
		bn = ASN1_INTEGER_to_BN(sn, NULL);
		hex = BN_bn2hex(bn);
		snprintf(u == 0 ? sign1 : enc1, 48, "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
		X509_free(x);
	}
	prod_init(&q, no, "PAKEY05");
	assert_int_equal(step_start(&q, &j), 201);
	assert_false(prod_resumed(&q));
	prev = json_object_get(j, "previous_key");
	assert_string_equal(jstr(prev, "serial"), "PAKEY04");
	assert_true(strlen(jstr(prev, "so_pin")) > 0);
	snprintf(path, sizeof(path), "/v1/keys/%s/wipe", p.id);
	assert_int_equal(ag("POST", path, NULL, NULL, "{\"so_pin\":\"%s\"}", jstr(prev, "so_pin")), 200);
	json_decref(j);
	k = agent_key("PAKEY04");
	assert_non_null(k);
	assert_true(json_is_true(json_object_get(k, "blank")));
	assert_int_equal(json_array_size(json_object_get(k, "certificates")), 0);
	json_decref(k);
	for (int u = 0; u < 2; u++) {
		snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s", u == 0 ? sign1 : enc1);
		assert_int_equal(client_do(&producer, "GET", path, NULL, &j), 200);
		assert_string_equal(jstr(j, "status"), "revoked");
		assert_string_equal(jstr(j, "reason"), "superseded");
		json_decref(j);
	}
	produce(&q, ST_COMPLETE);
	assert_string_not_equal(q.der[0], p.der[0]);
	assert_int_equal(certs_of_order(no, "sign", "good"), 1);
	assert_int_equal(certs_of_order(no, "sign", "revoked"), 1);
	list_json_shows("PAKEY05", 3);
	prod_free(&p);
	prod_free(&q);
}

/* --- 4. bad cases --- */

static void test_bad_cases(void **state)
{
	struct prod p;
	char no[32], written[32], *csr, *app = NULL, path[300];
	json_t *j = NULL, *list;
	struct resp r;
	EVP_PKEY *other;
	(void)state;
	if (skipped)
		skip();
	producing_order(db, &org, "secondary", no);
	/* a key another order's production wrote: key_in_use at certdeskd */
	prod_init(&p, no, "PAKEY01");
	assert_int_equal(step_start(&p, &j), 409);
	assert_string_equal(error_code(j), "key_in_use");
	json_decref(j);
	prod_free(&p);
	/* a key with foreign content: the agent refuses to initialise it */
	softkey_create("PAKEY06");
	prod_init(&p, no, "PAKEY06");
	assert_int_equal(ag("POST", "/v1/keys/skf0:PAKEY06/init", NULL, NULL,
			    "{\"so_pin\":\"99887766\",\"user_pin\":\"445566\",\"label\":\"foreign\"}"),
			 200);
	assert_int_equal(step_start(&p, NULL), 201);
	p.blank = 1; /* as if the page had not looked */
	assert_int_equal(step_init(&p, &j), 409);
	assert_string_equal(error_code(j), "key_not_blank");
	json_decref(j);
	still_producing(no);
	prod_free(&p);
	/* a wrong PIN: 401 with the retries left; the right one still works */
	softkey_create("PAKEY07");
	prod_init(&p, no, "PAKEY07");
	produce(&p, ST_INIT);
	assert_int_equal(login_pin(&p, "000000", &j), 401);
	assert_string_equal(error_code(j), "pin_incorrect");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "retries_left")), 5);
	json_decref(j);
	assert_int_equal(step_login(&p), 200);
	/* a token that refuses key generation (its container store cannot take another container) */
	assert_int_equal(
		sh(&app, "find %s/PAKEY07 -type d -name containers | head -1 | tr -d '\\n'", agent_skfdir),
		0);
	assert_true(strlen(app) > 0);
	assert_int_equal(sh(NULL, "rm -rf '%s' && touch '%s'", app, app), 0);
	assert_int_equal(step_keypair(&p, &j), 502);
	assert_string_equal(error_code(j), "token_error");
	assert_non_null(strstr(jstr(json_object_get(j, "error"), "detail"), "SKF_CreateContainer"));
	json_decref(j);
	assert_int_equal(sh(NULL, "rm -f '%s' && mkdir '%s'", app, app), 0);
	free(app);
	still_producing(no);
	/* a CSR for another key: certdeskd issues for that key, the agent refuses to write it */
	assert_int_equal(step_keypair(&p, NULL), 201);
	other = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	csr = it_make_csr(other, "another key");
	p.csr = csr;
	assert_int_equal(step_issue(&p), 201);
	assert_int_equal(step_write(&p, 0, &j), 409);
	assert_string_equal(error_code(j), "cert_key_mismatch");
	json_decref(j);
	EVP_PKEY_free(other);
	assert_int_equal(step_readback(&p), 200);
	assert_int_equal(json_array_size(p.readback), 0);
	/* a read-back that differs from what was issued (here another order's certificate): refused */
	snprintf(written, sizeof(written), "PAKEY01");
	{
		json_t *k = agent_key(written), *c;
		size_t i;
		list = json_array();
		json_array_foreach (json_object_get(k, "certificates"), i, c)
			if (strcmp(jstr(c, "usage"), "sign") == 0)
				json_array_append_new(list, json_pack("{s:s, s:s}", "usage", "sign", "der",
								      jstr(c, "der")));
		json_decref(k);
	}
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(complete_with(&p, list, &j), 409);
	assert_string_equal(error_code(j), "readback_mismatch");
	json_decref(j);
	json_decref(list);
	still_producing(no);
	/* a request from another web origin: 403, no CORS header, and no session is made */
	assert_int_equal(agent_send("http://evil.example", "GET", "/v1/keys", NULL, NULL, &j, &r), 403);
	assert_string_equal(error_code(j), "origin_forbidden");
	assert_null(resp_header(&r, "Access-Control-Allow-Origin"));
	resp_free(&r);
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/keys/%s/login", p.id);
	assert_int_equal(
		agent_send("http://evil.example", "POST", path, NULL, "{\"pin\":\"000000\"}", &j, NULL), 403);
	json_decref(j);
	assert_int_equal(agent_send(S.base, "GET", "/v1/keys", NULL, NULL, NULL, &r), 200);
	assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin"), S.base);
	resp_free(&r);
	still_producing(no);
	prod_free(&p);
}

int main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sm2_dual_skf),
		cmocka_unit_test(test_secondary_softhsm),
		cmocka_unit_test(test_agent_killed_resume),
		cmocka_unit_test(test_key_pulled_mid_write),
		cmocka_unit_test(test_other_key_after_half_made),
		cmocka_unit_test(test_bad_cases),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	return rc != 0 || teardown_failed ? 1 : 0;
}
