/* The CA engine through the API (issue 12): certdesk ca init, certdesk-signer and certdeskd issue
 * certificates for RSA-2048, P-256 and SM2 CSRs made here; each chain is verified by openssl verify
 * -x509_strict and GnuTLS certtool (RSA, P-256) or in C with the SM2 ID on every certificate (SM2).
 * Bad CSRs and keys get clear 422 errors and nothing is issued; a retry returns the first
 * certificate; with the signer down issuance answers 503 and works again once it is back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ca_setup.h"
#include "harness.h"
#include "pki_helpers.h"
#include "store/store.h"

#define SM2_ID "1234567812345678"
#define USCC_A "91360600MA35XXXX0A"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, other, producer, reviewer;
static int skipped;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates a secondary-key order of c put into production (payment and paper checks are other
 * issues'); writes its number into no. */
static void producing_order(struct client *c, char no[32])
{
	json_t *j = NULL;
	struct db_conn *dc;

	assert_int_equal(client_do(c, "POST", "/api/v1/orders",
				   "{\"project_code\":\"yingtan\",\"key_type\":\"secondary\",\"form\":" FULL_FORM "}", &j),
			 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	dc = db_acquire(db);
	assert_int_equal(db_exec(dc, "UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(no)), NULL),
			 DB_OK);
	/* issuance needs a key being produced (POST .../production, test_production.c): recorded here */
	assert_int_equal(db_exec(dc,
				 "INSERT INTO usb_keys (order_id, serial, kind, state, so_pin, user_pin, kek_id, created_at)"
				 " SELECT id, 'TEST-' || order_no, 'skf', 'producing', 'x', 'x', 'x', created_at FROM orders"
				 " WHERE order_no = ?",
				 DB_ARGS(DB_TEXT(no)), NULL),
			 DB_OK);
	db_release(dc);
}

/* Returns a PEM CSR for key k (subject and a CA:TRUE request that must be ignored); with corrupt,
 * one byte of its signature flipped. Caller frees. */
static char *make_csr(EVP_PKEY *k, int corrupt)
{
	X509_REQ *req = X509_REQ_new();
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	int sm2 = EVP_PKEY_is_a(k, "SM2");
	unsigned char *der = NULL;
	int len;
	BIO *b = BIO_new(BIO_s_mem()), *b64 = BIO_new(BIO_f_base64());
	char *p, *out;
	long n;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"Evil Requester", -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE"));
	X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (sm2) {
		pctx = EVP_PKEY_CTX_new(k, NULL);
		assert_true(EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16) > 0);
		EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	}
	assert_int_equal(EVP_DigestSignInit(mctx, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, k), 1);
	assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 0);
	if (corrupt)
		der[len - 5] ^= 0x5a;
	BIO_puts(b, "-----BEGIN CERTIFICATE REQUEST-----\n");
	b64 = BIO_push(b64, b);
	BIO_write(b64, der, len);
	(void)BIO_flush(b64);
	BIO_puts(b, "-----END CERTIFICATE REQUEST-----\n");
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1); /* the BIO's data has no NUL */
	memcpy(out, p, (size_t)n);
	BIO_free_all(b64);
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	X509_REQ_free(req);
	return out;
}

/* Posts csr for order no as the producer; returns the status, the reply in *j. */
static long post_csr(const char *no, const char *csr, json_t **j)
{
	char path[128];
	json_t *body = json_pack("{s:s}", "csr", csr);
	char *text = json_dumps(body, JSON_COMPACT);
	long st;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	st = client_do(&producer, "POST", path, text, j);
	free(text);
	json_decref(body);
	return st;
}

/* Returns how many certificates order no has (staff list). */
static size_t cert_count(const char *no)
{
	char path[128];
	json_t *j = NULL;
	size_t n;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &j), 200);
	n = json_array_size(json_object_get(j, "items"));
	json_decref(j);
	return n;
}

static int setup(void **state)
{
	int rc;
	(void)state;

	rc = it_start_with_ca(&S, 0, &cfg, &db);
	if (rc == 77) {
		skipped = 1;
		return 0;
	}
	if (rc != 0)
		return -1;
	client_init(&org, &S, "org");
	client_init(&other, &S, "other");
	client_init(&producer, &S, "producer");
	client_init(&reviewer, &S, "reviewer");
	if (client_register_login(&org, "鹰潭证书测试有限公司", "91310115MA1K3BTP2B", "13800138031") != 0 ||
	    client_register_login(&other, "鹰潭另一家有限公司", "91110000600037341L", "13800138032") != 0 ||
	    client_staff_login(&producer, "producer") != 0 || client_staff_login(&reviewer, "reviewer") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	int status;
	(void)state;
	status = it_stop_with_ca(&S, &cfg, &db);
	return status == 0 ? 0 : -1;
}

/* Writes text to dir/name; returns the path (static buffer of 4). */
static const char *put(const char *name, const char *text)
{
	static char paths[4][400];
	static int next;
	char *p = paths[next++ % 4];
	FILE *f;

	snprintf(p, 400, "%s/%s", S.dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* Returns the contents of the file at path (caller frees). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs a shell command; returns its exit status. */
static int sh(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Checks the fields the Yingtan profile puts into every certificate. */
static void check_profile_fields(X509 *x, const char *alg)
{
	char buf[512], want[256];
	X509_NAME *n = X509_get_subject_name(x);
	uint32_t ku = X509_get_key_usage(x);
	ASN1_OBJECT *id = OBJ_txt2obj("1.2.156.10260.4.1.4", 1);

	X509_NAME_get_text_by_NID(n, NID_countryName, buf, sizeof(buf));
	assert_string_equal(buf, "CN");
	X509_NAME_get_text_by_NID(n, NID_stateOrProvinceName, buf, sizeof(buf));
	assert_string_equal(buf, "江西省");
	X509_NAME_get_text_by_NID(n, NID_localityName, buf, sizeof(buf));
	assert_string_equal(buf, "鹰潭市");
	X509_NAME_get_text_by_NID(n, NID_organizationName, buf, sizeof(buf));
	assert_string_equal(buf, "鹰潭证书测试有限公司");
	X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf));
	assert_string_equal(buf, "鹰潭证书测试有限公司"); /* not the CSR's "Evil Requester" */
	X509_NAME_get_text_by_NID(n, NID_serialNumber, buf, sizeof(buf));
	assert_string_equal(buf, "91310115MA1K3BTP2B");
	assert_true(X509_get_ext_by_OBJ(x, id, -1) >= 0); /* the USCC identity extension */
	ASN1_OBJECT_free(id);
	assert_int_equal(ku, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	assert_int_equal(X509_check_ca(x), 0); /* the CSR's CA:TRUE request was ignored */
	/* one year for one paid year */
	int days = 0, secs = 0;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_in_range(days, 364, 366);
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(dps);
	GENERAL_NAME *gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
	snprintf(want, sizeof(want), "%s/ca/%s-issuing-1.crl", S.base, alg);
	assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier), want);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
}

/* Issues a certificate for a new key of alg on a new order; checks the reply and the fields;
 * returns the leaf PEM (caller frees) and the order number in no. */
static char *issue(EVP_PKEY *k, const char *alg, char no[32])
{
	json_t *j = NULL;
	char *csr = make_csr(k, 0), *pem;
	BIO *b;
	X509 *x;

	producing_order(&org, no);
	assert_int_equal(post_csr(no, csr, &j), 201);
	free(csr);
	assert_string_equal(json_string_value(json_object_get(j, "ca")), alg[0] == 'r' ? "rsa2048-issuing-1"
									  : alg[0] == 'p' ? "p256-issuing-1"
											  : "sm2-issuing-1");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "good");
	pem = strdup(json_string_value(json_object_get(j, "pem")));
	b = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(x);
	check_profile_fields(x, alg);
	/* 16 random bytes, top bit clear: a positive serial of 120+ bits */
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_true(BN_num_bits(bn) >= 64 && !BN_is_negative(bn));
	BN_free(bn);
	X509_free(x);
	BIO_free(b);
	json_decref(j);
	return pem;
}

/* Verifies leaf PEM with openssl verify -x509_strict and certtool --verify-chain against alg's CA. */
static void verify_tools(const char *pem, const char *alg)
{
	char cmd[2000], root[400], issuing[400], *ipem, *rpem, *chain;
	const char *leaf = put("leaf.pem", pem);

	snprintf(root, sizeof(root), "%s/ca-keys/%s-root-1.crt", S.dir, alg);
	snprintf(issuing, sizeof(issuing), "%s/ca-keys/%s-issuing-1.crt", S.dir, alg);
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict -CAfile %s -untrusted %s %s", root, issuing, leaf);
	assert_int_equal(sh(cmd), 0);
	ipem = slurp(issuing);
	rpem = slurp(root);
	chain = calloc(1, strlen(pem) + strlen(ipem) + strlen(rpem) + 1);
	sprintf(chain, "%s%s%s", pem, ipem, rpem);
	snprintf(cmd, sizeof(cmd), "certtool --verify-chain --infile %s >%s/certtool.out 2>&1", put("chain.pem", chain),
		 S.dir);
	if (sh(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/certtool.out >&2", S.dir);
		(void)sh(cmd);
		fail_msg("certtool --verify-chain failed for %s", alg);
	}
	free(ipem);
	free(rpem);
	free(chain);
}

static void test_issue_rsa2048(void **state)
{
	char no[32], *pem;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	(void)state;
	if (skipped)
		skip();
	pem = issue(k, "rsa2048", no);
	verify_tools(pem, "rsa2048");
	free(pem);
	EVP_PKEY_free(k);
}

static void test_issue_p256(void **state)
{
	char no[32], *pem;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	(void)state;
	if (skipped)
		skip();
	pem = issue(k, "p256", no);
	verify_tools(pem, "p256");
	free(pem);
	EVP_PKEY_free(k);
}

/* Reads a PEM certificate file. */
static X509 *read_crt(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void serial_of(const char *pem, char out[48]);

/* The independent SM2 check (issue 12): tests/pki-verify/sm2verify.mjs, npm sm-crypto with its own
 * DER walker, verifies the signature of the certificate, CRL or OCSP response at signed with the
 * SM2 key of the certificate at signer and the default ID. Returns its exit status: 0 verified,
 * 1 the signature fails, 2 malformed input. */
static int sm2verify_node(const char *signed_path, const char *signer)
{
	char cmd[1500];

	if (access(SOURCE_DIR "/tests/pki-verify/node_modules/sm-crypto/package.json", R_OK) != 0)
		fail_msg("tests/pki-verify has no node_modules: run scripts/install-deps.sh (npm ci in tests/pki-verify)");
	snprintf(cmd, sizeof(cmd), "node %s/tests/pki-verify/sm2verify.mjs %s %s >&2", SOURCE_DIR, signed_path, signer);
	return sh(cmd);
}

/* Writes len bytes to <dir>/name; returns the path (static buffer of 4). */
static const char *put_der(const char *name, const void *der, size_t len)
{
	static char paths[4][400];
	static int next;
	char *p = paths[next++ % 4];
	FILE *f;

	snprintf(p, 400, "%s/%s", S.dir, name);
	assert_non_null(f = fopen(p, "wb"));
	assert_int_equal(fwrite(der, 1, len, f), len);
	fclose(f);
	return p;
}

/* Writes a copy of the DER at path with the last byte of the serial serial_hex flipped where it
 * first occurs (inside the signed part: the certificate's serial, the CRL's revoked entry, the
 * OCSP CertID), so the DER stays well-formed and only the signature no longer matches. */
static const char *put_tampered(const char *name, const char *path, const char *serial_hex)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(65536), sn[64], *at;
	size_t n;
	BIGNUM *bn = NULL;
	int sl;
	const char *out;

	assert_non_null(f);
	n = fread(buf, 1, 65536, f);
	fclose(f);
	assert_true(BN_hex2bn(&bn, serial_hex) > 0);
	sl = BN_bn2bin(bn, sn);
	BN_free(bn);
	for (at = buf; at + sl <= buf + n && memcmp(at, sn, (size_t)sl) != 0; at++)
		;
	assert_true(at + sl <= buf + n);
	at[sl - 1] ^= 0x01;
	out = put_der(name, buf, n);
	free(buf);
	return out;
}

static void test_issue_sm2(void **state)
{
	char no[32], path[400], *pem;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	X509 *root, *issuing, *leaf;
	BIO *b;
	(void)state;
	if (skipped)
		skip();
	pem = issue(k, "sm2", no);
	snprintf(path, sizeof(path), "%s/ca-keys/sm2-root-1.crt", S.dir);
	root = read_crt(path);
	snprintf(path, sizeof(path), "%s/ca-keys/sm2-issuing-1.crt", S.dir);
	issuing = read_crt(path);
	b = BIO_new_mem_buf(pem, -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	/* the ID on every certificate of the chain: openssl verify's -vfyopt reaches only the leaf */
	assert_true(it_sm2_verify(root, root));
	assert_true(it_sm2_verify(issuing, root));
	assert_true(it_sm2_verify(leaf, issuing));
	/* and with the empty ID OpenSSL 3.0 would use by default, the leaf does not verify */
	X509 *again = X509_dup(leaf);
	assert_int_not_equal(X509_verify(again, X509_get0_pubkey(issuing)), 1);
	assert_int_equal(OBJ_obj2nid(X509_get0_tbs_sigalg(leaf)->algorithm), NID_SM2_with_SM3);
	/* the same chain by an independent implementation (npm sm-crypto); a changed serial fails */
	unsigned char *der = NULL;
	int dl = i2d_X509(leaf, &der);
	char serial[48], rootp[400], issuingp[400];
	const char *leafp = put_der("sm2-leaf.der", der, (size_t)dl);
	OPENSSL_free(der);
	snprintf(rootp, sizeof(rootp), "%s/ca-keys/sm2-root-1.crt", S.dir);
	snprintf(issuingp, sizeof(issuingp), "%s/ca-keys/sm2-issuing-1.crt", S.dir);
	assert_int_equal(sm2verify_node(rootp, rootp), 0);
	assert_int_equal(sm2verify_node(issuingp, rootp), 0);
	assert_int_equal(sm2verify_node(leafp, issuingp), 0);
	assert_int_equal(sm2verify_node(leafp, rootp), 1); /* not the root's signature */
	serial_of(pem, serial);
	assert_int_equal(sm2verify_node(put_tampered("sm2-leaf-tampered.der", leafp, serial), issuingp), 1);
	X509_free(again);
	X509_free(root);
	X509_free(issuing);
	X509_free(leaf);
	BIO_free(b);
	free(pem);
	EVP_PKEY_free(k);
}

/* A retry (even with another CSR) returns the first certificate; the organisation sees it. */
static void test_second_issuance_returns_first(void **state)
{
	char no[32], path[128], *pem = NULL, *csr;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1"), *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	json_t *j = NULL, *first = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, no);
	csr = make_csr(k, 0);
	assert_int_equal(post_csr(no, csr, &first), 201);
	assert_int_equal(post_csr(no, csr, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "serial")),
			    json_string_value(json_object_get(first, "serial")));
	json_decref(j);
	free(csr);
	csr = make_csr(k2, 0);
	assert_int_equal(post_csr(no, csr, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "serial")),
			    json_string_value(json_object_get(first, "serial")));
	json_decref(j);
	assert_int_equal(cert_count(no), 1);
	/* the organisation's order page shows the serial and validity */
	snprintf(path, sizeof(path), "/api/v1/orders/%s", no);
	assert_int_equal(client_do(&org, "GET", path, NULL, &j), 200);
	json_t *c0 = json_array_get(json_object_get(j, "certificates"), 0);
	assert_string_equal(json_string_value(json_object_get(c0, "serial")),
			    json_string_value(json_object_get(first, "serial")));
	assert_non_null(json_object_get(c0, "not_after"));
	json_decref(j);
	/* staff download by serial, PEM and DER */
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s?format=der",
		 json_string_value(json_object_get(first, "serial")));
	struct resp r;
	char cookie[200];
	snprintf(cookie, sizeof(cookie), "Cookie: certdesk_session=%s", client_cookie(&reviewer));
	(void)pem;
	const char *h[] = {cookie, NULL};
	assert_int_equal(http_do(&S, "GET", path, NULL, 0, h, &r), 0);
	assert_int_equal(r.status, 200);
	const unsigned char *p = (const unsigned char *)r.body;
	X509 *x = d2i_X509(NULL, &p, (long)r.len);
	assert_non_null(x);
	X509_free(x);
	assert_string_equal(resp_header(&r, "Content-Type"), "application/pkix-cert");
	resp_free(&r);
	json_decref(first);
	free(csr);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* Posts a CSR of key k (corrupted or not) on a fresh order; expects 422 code and nothing issued. */
static void refused(EVP_PKEY *k, int corrupt, const char *code)
{
	char no[32], *csr = make_csr(k, corrupt);
	json_t *j = NULL;

	producing_order(&org, no);
	assert_int_equal(post_csr(no, csr, &j), 422);
	assert_string_equal(error_code(j), code);
	json_decref(j);
	free(csr);
	assert_int_equal(cert_count(no), 0);
}

static void test_bad_csrs(void **state)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *e3 = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *three = BN_new();
	char no[32];
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	refused(rsa, 1, "csr_bad_signature");
	refused(p384, 0, "csr_key_mismatch");
	refused(small, 0, "key_weak");
	BN_set_word(three, 3);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
	EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, three);
	assert_int_equal(EVP_PKEY_keygen(ctx, &e3), 1);
	refused(e3, 0, "key_weak");
	/* not a CSR at all */
	producing_order(&org, no);
	assert_int_equal(post_csr(no, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", &j),
			 422);
	assert_string_equal(error_code(j), "csr_invalid");
	json_decref(j);
	BN_free(three);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(small);
	EVP_PKEY_free(e3);
}

/* A key certified for one organisation is refused for another. */
static void test_reused_key(void **state)
{
	char no[32], no2[32], *csr;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, no);
	csr = make_csr(k, 0);
	assert_int_equal(post_csr(no, csr, &j), 201);
	json_decref(j);
	producing_order(&other, no2);
	assert_int_equal(post_csr(no2, csr, &j), 422);
	assert_string_equal(error_code(j), "key_reused");
	json_decref(j);
	assert_int_equal(cert_count(no2), 0);
	free(csr);
	EVP_PKEY_free(k);
}

/* Signer down: 503 signer_unavailable and nothing stored; back up: the retry issues. */
static void test_signer_down(void **state)
{
	char no[32], *csr;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	json_t *j = NULL;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, no);
	csr = make_csr(k, 0);
	assert_int_equal(harness_signer_kill(&S), 0);
	assert_int_equal(post_csr(no, csr, &j), 503);
	assert_string_equal(error_code(j), "signer_unavailable");
	json_decref(j);
	assert_int_equal(cert_count(no), 0);
	assert_int_equal(harness_start_ca(&S), 0);
	assert_int_equal(post_csr(no, csr, &j), 201);
	json_decref(j);
	free(csr);
	EVP_PKEY_free(k);
}

/* Only orders in production; only producers issue; the CA certificates are public. */
static void test_state_access_and_ca(void **state)
{
	char no[32], *csr, path[128];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	json_t *j = NULL, *it;
	struct db_conn *dc;
	struct resp r;
	size_t i;
	(void)state;
	if (skipped)
		skip();
	producing_order(&org, no);
	csr = make_csr(k, 0);
	dc = db_acquire(db);
	db_exec(dc, "UPDATE orders SET state = 'paper_pending' WHERE order_no = ?", DB_ARGS(DB_TEXT(no)), NULL);
	db_release(dc);
	assert_int_equal(post_csr(no, csr, &j), 409);
	assert_string_equal(error_code(j), "state_conflict");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	assert_int_equal(client_do(&reviewer, "POST", path, "{\"csr\":\"x\"}", &j), 403);
	json_decref(j);
	assert_int_equal(post_csr("YT20990101-000001", csr, &j), 404);
	json_decref(j);
	/* GET /api/v1/ca: every CA certificate, no key location */
	assert_int_equal(client_do(&other, "GET", "/api/v1/ca", NULL, &j), 200);
	assert_true(json_array_size(json_object_get(j, "items")) >= 12);
	json_array_foreach(json_object_get(j, "items"), i, it)
	{
		assert_null(json_object_get(it, "key_location"));
		assert_non_null(strstr(json_string_value(json_object_get(it, "pem")), "BEGIN CERTIFICATE"));
	}
	json_decref(j);
	assert_int_equal(http_do(&S, "GET", "/ca/sm2-issuing-1.crt", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type"), "application/pkix-cert");
	resp_free(&r);
	assert_int_equal(http_do(&S, "GET", "/ca/nope-1.crt", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	free(csr);
	EVP_PKEY_free(k);
}

/* --- revocation, CRL, OCSP --- */

/* Revokes serial as admin with reason; returns the status, *j the reply. */
static long revoke_as_admin(const char *serial, const char *reason, json_t **j)
{
	static struct client admin;
	static int logged_in;
	char path[128], body[128];

	if (!logged_in) {
		client_init(&admin, &S, "admin");
		assert_int_equal(client_staff_login(&admin, "admin"), 0);
		logged_in = 1;
	}
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s/revoke", serial);
	snprintf(body, sizeof(body), "{\"reason\":\"%s\"}", reason);
	return client_do(&admin, "POST", path, body, j);
}

/* Writes the serial of the PEM certificate as upper-case hex into out. */
static void serial_of(const char *pem, char out[48])
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	snprintf(out, 48, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	BIO_free(b);
}

/* Fetches ca's CRL from certdeskd into <dir>/<ca>.crl; returns its path (static). */
static const char *fetch_crl(const char *ca, char etag[80])
{
	static char path[400];
	char url[128];
	struct resp r = {0};
	FILE *f;

	snprintf(url, sizeof(url), "/ca/%s.crl", ca);
	assert_int_equal(http_do(&S, "GET", url, NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Type"), "application/pkix-crl");
	snprintf(etag, 80, "%s", resp_header(&r, "ETag"));
	snprintf(path, sizeof(path), "%s/%s.crl", S.dir, ca);
	assert_non_null(f = fopen(path, "wb"));
	fwrite(r.body, 1, r.len, f);
	fclose(f);
	resp_free(&r);
	return path;
}

/* Runs openssl ocsp against certdeskd for the leaf (or -serial when leaf is NULL); returns the
 * output (caller frees), having checked that the response verified. */
static char *ocsp_ask(const char *alg, const char *leaf, const char *serial)
{
	char cmd[2000], root[400], issuing[400], out[400];

	snprintf(root, sizeof(root), "%s/ca-keys/%s-root-1.crt", S.dir, alg);
	snprintf(issuing, sizeof(issuing), "%s/ca-keys/%s-issuing-1.crt", S.dir, alg);
	snprintf(out, sizeof(out), "%s/ocsp.out", S.dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl ocsp -issuer %s %s %s -url %s/ocsp -CAfile %s -verify_other %s -no_nonce >%s 2>&1", issuing,
		 leaf ? "-cert" : "-serial", leaf ? leaf : serial, S.base, root, issuing, out);
	int rc = sh(cmd);
	char *text = slurp(out);
	if (rc != 0 || strstr(text, "Response verify OK") == NULL)
		fail_msg("openssl ocsp (%s): %s", alg, text);
	return text;
}

/* An RSA and a P-256 certificate: good by OCSP, revoked by an admin, then listed in the CRL that
 * openssl crl verifies and reported revoked by openssl ocsp and GnuTLS ocsptool; a serial the CA
 * never issued is unknown; the CRL's ETag answers 304. */
static void revoke_and_check(const char *alg, EVP_PKEY *k)
{
	char no[32], serial[48], cmd[2000], etag[80], etag2[80], ca[48], issuing[400], *pem, *text;
	const char *leaf, *crl;
	json_t *j = NULL;
	struct resp r = {0};
	const char *inm[2] = {NULL, NULL};
	char inm_line[120];

	pem = issue(k, alg, no);
	serial_of(pem, serial);
	leaf = put("revoke-leaf.pem", pem);
	text = ocsp_ask(alg, leaf, NULL);
	assert_non_null(strstr(text, ": good"));
	free(text);

	assert_int_equal(revoke_as_admin(serial, "keyCompromise", &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "revoked");
	assert_true(json_is_true(json_object_get(j, "published")));
	json_decref(j);

	snprintf(ca, sizeof(ca), "%s-issuing-1", alg);
	snprintf(issuing, sizeof(issuing), "%s/ca-keys/%s.crt", S.dir, ca);
	crl = fetch_crl(ca, etag);
	snprintf(cmd, sizeof(cmd), "openssl crl -inform DER -in %s -CAfile %s -noout -text >%s/crl.out 2>&1", crl,
		 issuing, S.dir);
	assert_int_equal(sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/crl.out", S.dir);
	text = slurp(cmd);
	if (strstr(text, "verify OK") == NULL || strstr(text, serial) == NULL || strstr(text, "Key Compromise") == NULL)
		fail_msg("openssl crl: %s", text);
	free(text);
	/* certdesk ca crl writes the same CRL */
	{
		char out[400], *argv[] = {(char *)harness_bin("certdesk"), "ca", "crl", "--ca", ca, "--out", out, NULL};
		snprintf(out, sizeof(out), "%s/cli.crl", S.dir);
		assert_int_equal(harness_run(argv, NULL, NULL), 0);
		snprintf(cmd, sizeof(cmd), "cmp -s %s %s", out, crl);
		assert_int_equal(sh(cmd), 0);
	}
	/* the same CRL again: 304 */
	snprintf(inm_line, sizeof(inm_line), "If-None-Match: %s", etag);
	inm[0] = inm_line;
	snprintf(cmd, sizeof(cmd), "/ca/%s.crl", ca);
	assert_int_equal(http_do(&S, "GET", cmd, NULL, 0, inm, &r), 0);
	assert_int_equal(r.status, 304);
	resp_free(&r);

	text = ocsp_ask(alg, leaf, NULL);
	if (strstr(text, ": revoked") == NULL || strstr(text, "Reason: keyCompromise") == NULL)
		fail_msg("openssl ocsp after revocation: %s", text);
	free(text);
	text = ocsp_ask(alg, NULL, "0x7E57ABCDEF");
	assert_non_null(strstr(text, ": unknown"));
	free(text);

	/* GnuTLS, an independent implementation */
	snprintf(cmd, sizeof(cmd), "ocsptool --ask=%s/ocsp --load-issuer=%s --load-cert=%s --load-trust=%s >%s/ocsptool.out 2>&1",
		 S.base, issuing, leaf, issuing, S.dir);
	(void)sh(cmd);
	snprintf(cmd, sizeof(cmd), "%s/ocsptool.out", S.dir);
	text = slurp(cmd);
	if (strstr(text, "Certificate Status: revoked") == NULL || strstr(text, "Verifying OCSP Response: Success") == NULL)
		fail_msg("ocsptool: %s", text);
	free(text);
	/* a second revocation is refused; the CRL keeps its number */
	assert_int_equal(revoke_as_admin(serial, "superseded", &j), 409);
	assert_string_equal(error_code(j), "cert_already_revoked");
	json_decref(j);
	fetch_crl(ca, etag2);
	assert_string_equal(etag, etag2);
	free(pem);
}

static void test_revoke_rsa2048(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	(void)state;
	if (skipped)
		skip();
	revoke_and_check("rsa2048", k);
	EVP_PKEY_free(k);
}

static void test_revoke_p256(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	(void)state;
	if (skipped)
		skip();
	revoke_and_check("p256", k);
	EVP_PKEY_free(k);
}

/* Verifies sig over tbs with pk, SM3 and the SM2 ID: 1 or 0. */
static int sm2_verify_tbs(EVP_PKEY *pk, const unsigned char *tbs, size_t tbslen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok;

	EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16);
	EVP_MD_CTX_set_pkey_ctx(ctx, pctx);
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sm3(), NULL, pk) == 1 && EVP_DigestVerify(ctx, sig, siglen, tbs, tbslen) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

/* SM2: OpenSSL's CLI cannot check SM2 CRLs and OCSP responses signed with the standard ID, so the
 * CRL and the OCSP response are checked here in C, with the ID. */
static void test_revoke_sm2(void **state)
{
	char no[32], serial[48], etag[80], path[400], crlpath[400], *pem;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	json_t *j = NULL;
	X509 *issuing, *leaf;
	X509_CRL *crl;
	BIO *b;
	FILE *f;
	unsigned char *tbs = NULL, *rq = NULL;
	int tl, found = 0;
	const ASN1_BIT_STRING *sig = NULL;
	(void)state;
	if (skipped)
		skip();
	pem = issue(k, "sm2", no);
	serial_of(pem, serial);
	assert_int_equal(revoke_as_admin(serial, "cessationOfOperation", &j), 200);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/ca-keys/sm2-issuing-1.crt", S.dir);
	issuing = read_crt(path);
	b = BIO_new_mem_buf(pem, -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);

	/* the CRL: signed with the ID, lists the serial */
	assert_non_null(f = fopen(fetch_crl("sm2-issuing-1", etag), "rb"));
	assert_non_null(crl = d2i_X509_CRL_fp(f, NULL));
	fclose(f);
	tl = i2d_re_X509_CRL_tbs(crl, &tbs);
	X509_CRL_get0_signature(crl, &sig, NULL);
	assert_true(sm2_verify_tbs(X509_get0_pubkey(issuing), tbs, (size_t)tl, sig->data, (size_t)sig->length));
	STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(crl);
	for (int i = 0; i < sk_X509_REVOKED_num(rv); i++) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rv, i)), NULL);
		char *hex = BN_bn2hex(bn);
		found |= strcmp(hex, serial) == 0;
		OPENSSL_free(hex);
		BN_free(bn);
	}
	assert_true(found);
	OPENSSL_free(tbs);
	tbs = NULL;
	X509_CRL_free(crl);
	/* and by the independent verifier (npm sm-crypto); the CRL with the serial changed fails */
	snprintf(crlpath, sizeof(crlpath), "%s/sm2-issuing-1.crl", S.dir);
	assert_int_equal(sm2verify_node(crlpath, path), 0);
	assert_int_equal(sm2verify_node(put_tampered("sm2-crl-tampered.der", crlpath, serial), path), 1);

	/* OCSP: revoked, signed by the delegated responder with the ID */
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_request_add0_id(req, OCSP_cert_to_id(EVP_sha1(), leaf, issuing));
	int rl = i2d_OCSP_REQUEST(req, &rq);
	struct resp r = {0};
	const char *ct[] = {"Content-Type: application/ocsp-request", NULL};
	assert_int_equal(http_do(&S, "POST", "/ocsp", (const char *)rq, (size_t)rl, ct, &r), 0);
	assert_int_equal(r.status, 200);
	const unsigned char *p = (const unsigned char *)r.body;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)r.len);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	int status = -1, reason = -1;
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuing);
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason, NULL, NULL, NULL), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_CESSATIONOFOPERATION);
	X509 *responder = sk_X509_value(OCSP_resp_get0_certs(bs), 0);
	assert_non_null(responder);
	assert_true(it_sm2_verify(responder, issuing));
	tl = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), &tbs);
	const ASN1_OCTET_STRING *osig = OCSP_resp_get0_signature(bs);
	assert_true(sm2_verify_tbs(X509_get0_pubkey(responder), tbs, (size_t)tl, osig->data, (size_t)osig->length));
	/* the response and the responder's certificate by the independent verifier too */
	const char *ocspp = put_der("sm2-ocsp.der", r.body, r.len);
	unsigned char *rder = NULL;
	int rdl = i2d_X509(responder, &rder);
	const char *responderp = put_der("sm2-responder.der", rder, (size_t)rdl);
	OPENSSL_free(rder);
	assert_int_equal(sm2verify_node(ocspp, responderp), 0);
	assert_int_equal(sm2verify_node(responderp, path), 0);
	assert_int_equal(sm2verify_node(ocspp, path), 1); /* signed by the responder, not the CA */
	assert_int_equal(sm2verify_node(put_tampered("sm2-ocsp-tampered.der", ocspp, serial), responderp), 1);
	OPENSSL_free(tbs);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OPENSSL_free(rq);
	resp_free(&r);
	X509_free(leaf);
	X509_free(issuing);
	BIO_free(b);
	free(pem);
	EVP_PKEY_free(k);
}

/* Staff find certificates by serial, USCC, name and status; the profiles are listed read-only. */
static void test_search_and_profiles(void **state)
{
	json_t *j = NULL, *first;
	char path[200], serial[48];
	(void)state;
	if (skipped)
		skip();
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/certificates?limit=100", NULL, &j), 200);
	assert_true(json_array_size(json_object_get(j, "items")) >= 3);
	first = json_array_get(json_object_get(j, "items"), 0);
	snprintf(serial, sizeof(serial), "%s", json_string_value(json_object_get(first, "serial")));
	assert_non_null(json_object_get(first, "order_no"));
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates?q=%.10s", serial);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "serial")),
			    serial);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/certificates?status=revoked&q=91310115", NULL, &j),
			 200);
	assert_true(json_array_size(json_object_get(j, "items")) >= 1);
	json_t *it;
	size_t i;
	json_array_foreach(json_object_get(j, "items"), i, it)
	{
		assert_string_equal(json_string_value(json_object_get(it, "status")), "revoked");
		assert_string_equal(json_string_value(json_object_get(it, "uscc")), "91310115MA1K3BTP2B");
	}
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/certificates?status=hold", NULL, &j), 400);
	json_decref(j);
	assert_int_equal(client_do(&org, "GET", "/api/v1/admin/certificates", NULL, &j), 403);
	json_decref(j);
	assert_int_equal(client_do(&reviewer, "GET", "/api/v1/admin/cert-profiles", NULL, &j), 200);
	assert_true(json_array_size(json_object_get(j, "items")) >= 3);
	json_decref(j);
}

/* Who may revoke, what is refused; malformed OCSP requests get malformedRequest. */
static void test_revoke_refusals(void **state)
{
	json_t *j = NULL;
	struct resp r = {0};
	char path[128];
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	(void)state;
	if (skipped)
		skip();
	assert_int_equal(revoke_as_admin("ABCDEF0123", "keyCompromise", &j), 404);
	json_decref(j);
	assert_int_equal(revoke_as_admin("ABCDEF0123", "certificateHold", &j), 422);
	assert_string_equal(error_code(j), "reason_invalid");
	json_decref(j);
	snprintf(path, sizeof(path), "/api/v1/admin/certificates/%s/revoke", "ABCDEF0123");
	assert_int_equal(client_do(&producer, "POST", path, "{\"reason\":\"keyCompromise\"}", &j), 403);
	json_decref(j);
	assert_int_equal(http_do(&S, "POST", "/ocsp", "garbage", 7, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	p = (const unsigned char *)r.body;
	assert_non_null(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)r.len));
	assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OCSP_RESPONSE_free(resp);
	resp_free(&r);
	assert_int_equal(http_do(&S, "GET", "/ca/nope-issuing-1.crl", NULL, 0, NULL, &r), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_rsa2048),
		cmocka_unit_test(test_issue_p256),
		cmocka_unit_test(test_issue_sm2),
		cmocka_unit_test(test_second_issuance_returns_first),
		cmocka_unit_test(test_bad_csrs),
		cmocka_unit_test(test_reused_key),
		cmocka_unit_test(test_signer_down),
		cmocka_unit_test(test_state_access_and_ca),
		cmocka_unit_test(test_revoke_rsa2048),
		cmocka_unit_test(test_revoke_p256),
		cmocka_unit_test(test_revoke_sm2),
		cmocka_unit_test(test_revoke_refusals),
		cmocka_unit_test(test_search_and_profiles),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
