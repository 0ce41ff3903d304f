/* Dual certificates through the API (issue 12): for the Yingtan main key's SM2 profile (dual), one
 * POST .../certificates with the USB key's signing CSR issues the signing certificate and an
 * encryption certificate for a key pair certdesk generated (both verified here in C with the SM2
 * ID); a retry returns the same two; GET .../certificates/enc-key returns a GM/T 0016
 * ENVELOPEDKEYBLOB that this test opens with the USB key's signing private key (the SKF ECCCIPHERBLOB
 * turned into OpenSSL's DER C1C3C2, then SM4-ECB) and the key inside is the encryption
 * certificate's; only producers get it (401 without a session, 403 for an organisation or a
 * reviewer), each hand-out audited; a missing or wrong KEK is refused (503 / 500), nothing leaks;
 * `certdesk km recover` writes the key (audited, never over a file). Single profiles stay single. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "ca_setup.h"
#include "harness.h"
#include "pki_helpers.h"
#include "pki/pki.h"
#include "store/store.h"

static struct srv S;
static struct config cfg;
static struct db *db;
static struct client org, org2, producer, producer2, reviewer, anon;
static int skipped;

#define FULL_FORM                                                                                                       \
	"{\"unit_address\":\"江西省鹰潭市月湖区测试路1号\",\"legal_name\":\"李四\",\"legal_id_number\":" \
	"\"360426199101010071\",\"legal_mobile\":\"13900139000\",\"handler_id_number\":"                                \
	"\"11010519491231002X\","                                                                                       \
	"\"handler_email\":\"zhang@example.com\",\"invoice_email\":\"fp@example.com\",\"recipient_name\":"              \
	"\"王五\","                                                                                                   \
	"\"recipient_mobile\":\"13700137000\",\"recipient_address\":\"江西省鹰潭市月湖区测试路1号前台\"}"

/* Creates an order of oc of key_type (main or secondary) in production; writes its number into no. */
static void producing_order_of(struct client *oc, const char *key_type, char no[32])
{
	char body[2048];
	json_t *j = NULL;
	struct db_conn *dc;

	snprintf(body, sizeof(body),
		 "{\"project_code\":\"yingtan\",\"key_type\":\"%s\",\"form\":" FULL_FORM "}", key_type);
	assert_int_equal(client_do(oc, "POST", "/api/v1/orders", body, &j), 201);
	snprintf(no, 32, "%s", json_string_value(json_object_get(j, "order_no")));
	json_decref(j);
	dc = db_acquire(db);
	assert_int_equal(
		db_exec(dc,
			"UPDATE orders SET state = 'producing', submitted_at = created_at WHERE order_no = ?",
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

static void producing_order(const char *key_type, char no[32])
{
	producing_order_of(&org, key_type, no);
}

/* Posts csr for order no as producer client c; returns the status, the reply in *j. */
static long post_csr_as(struct client *c, const char *no, const char *csr, json_t **j)
{
	char path[128];
	json_t *body = json_pack("{s:s}", "csr", csr);
	char *text = json_dumps(body, JSON_COMPACT);
	long st;

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", no);
	st = client_do(c, "POST", path, text, j);
	free(text);
	json_decref(body);
	return st;
}

static long post_csr(const char *no, const char *csr, json_t **j)
{
	return post_csr_as(&producer, no, csr, j);
}

/* GETs the wrapped encryption key of order no as c (query may be ""). */
static long get_enc_key(struct client *c, const char *no, const char *query, json_t **j)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates/enc-key%s", no, query);
	return client_do(c, "GET", path, NULL, j);
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return x;
}

/* Returns the number of audit entries with action. */
static int64_t audits(const char *action)
{
	struct db_conn *c = db_acquire(db);
	int64_t n = -1;
	assert_int_equal(db_query_int(c, "SELECT COUNT(*) FROM audit_log WHERE action = ?",
				      DB_ARGS(DB_TEXT(action)), &n),
			 DB_OK);
	db_release(c);
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
	client_init(&org2, &S, "org2");
	client_init(&producer, &S, "producer");
	client_init(&producer2, &S, "producer2");
	client_init(&reviewer, &S, "reviewer");
	client_init(&anon, &S, "anon");
	if (client_register_login(&org, "鹰潭双证书测试有限公司", "91310115MA1K3BTP2B", "13800138041") != 0 ||
	    client_register_login(&org2, "鹰潭另一家双证书有限公司", "91110000600037341L", "13800138042") !=
		    0 ||
	    client_staff_login(&producer, "producer") != 0 ||
	    client_staff_login(&producer2, "producer") != 0 || client_staff_login(&reviewer, "reviewer") != 0)
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

/* The dual order shared by the tests below: its number, the USB key's signing key, both serials. */
static char dual_no[32], sign_serial[48], enc_serial[48];
static EVP_PKEY *usb_key;
static char *enc_pem;

static void test_dual_issuance(void **state)
{
	json_t *j = NULL, *again = NULL;
	char *csr;
	X509 *ca, *sign, *enc;
	(void)state;
	if (skipped)
		skip();
	usb_key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	producing_order("main", dual_no);
	csr = it_make_csr(usb_key, "USB key");
	assert_int_equal(post_csr(dual_no, csr, &j), 201);
	json_t *e = json_object_get(j, "enc_certificate");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "sign");
	assert_string_equal(json_string_value(json_object_get(e, "kind")), "enc");
	snprintf(sign_serial, sizeof(sign_serial), "%s", json_string_value(json_object_get(j, "serial")));
	snprintf(enc_serial, sizeof(enc_serial), "%s", json_string_value(json_object_get(e, "serial")));
	assert_string_not_equal(sign_serial, enc_serial);
	ca = it_ca_cert(&S, "sm2-issuing-1");
	sign = pem_cert(json_string_value(json_object_get(j, "pem")));
	enc_pem = strdup(json_string_value(json_object_get(e, "pem")));
	enc = pem_cert(enc_pem);
	/* both SM2 certificates verify with the SM2 ID under the SM2 issuing CA */
	assert_true(it_sm2_verify(sign, ca));
	assert_true(it_sm2_verify(enc, ca));
	/* the signing one is the USB key's; the encryption one is not, and is for encryption */
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(sign), usb_key), 1);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(enc), usb_key), 1);
	assert_int_equal(X509_get_key_usage(sign), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	assert_int_equal(X509_get_key_usage(enc),
			 KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT | KU_KEY_AGREEMENT);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(sign), X509_get_subject_name(enc)), 0);
	assert_int_equal(X509_check_ca(enc), 0);
	/* a retry (same CSR, or another one) returns the same two, never new ones */
	assert_int_equal(post_csr(dual_no, csr, &again), 200);
	assert_string_equal(json_string_value(json_object_get(again, "serial")), sign_serial);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(again, "enc_certificate"), "serial")),
		enc_serial);
	json_decref(again);
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	char *csr2 = it_make_csr(k2, "USB key");
	assert_int_equal(post_csr(dual_no, csr2, &again), 200);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(again, "enc_certificate"), "serial")),
		enc_serial);
	json_decref(again);
	/* two certificates on the order, one generated key, audited */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/admin/orders/%s/certificates", dual_no);
	assert_int_equal(client_do(&reviewer, "GET", path, NULL, &again), 200);
	assert_int_equal(json_array_size(json_object_get(again, "items")), 2);
	json_decref(again);
	struct db_conn *c = db_acquire(db);
	int64_t n = 0;
	assert_int_equal(db_query_int(c,
				      "SELECT COUNT(*) FROM enc_keys k JOIN orders o ON o.id = k.order_id"
				      " WHERE o.order_no = ? AND k.cert_serial = ?",
				      DB_ARGS(DB_TEXT(dual_no), DB_TEXT(enc_serial)), &n),
			 DB_OK);
	db_release(c);
	assert_int_equal(n, 1);
	assert_int_equal(audits("km.key_generate"), 1);
	free(csr);
	free(csr2);
	EVP_PKEY_free(k2);
	X509_free(ca);
	X509_free(sign);
	X509_free(enc);
	json_decref(j);
}

struct racer {
	struct client *c;
	const char *no;
	char *csr;
	long status;
	json_t *reply;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	r->status = post_csr_as(r->c, r->no, r->csr, &r->reply);
	return NULL;
}

/* Two producers issue the same dual order at once (different USB keys): both get the same pair,
 * and the order has one generated key and two certificates. */
static void test_concurrent_dual(void **state)
{
	char no[32];
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2"), *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	struct racer a = {&producer, no, it_make_csr(k1, "USB key"), 0, NULL},
		     b = {&producer2, no, it_make_csr(k2, "USB key"), 0, NULL};
	pthread_t ta, tb;
	int64_t keys = 0, certs = 0;
	struct db_conn *c;
	(void)state;
	if (skipped)
		skip();
	producing_order_of(&org2, "main", no); /* one main key per organisation */
	assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_true(a.status == 201 || a.status == 200);
	assert_true(b.status == 201 || b.status == 200);
	assert_string_equal(json_string_value(json_object_get(a.reply, "serial")),
			    json_string_value(json_object_get(b.reply, "serial")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a.reply, "enc_certificate"), "serial")),
		json_string_value(json_object_get(json_object_get(b.reply, "enc_certificate"), "serial")));
	c = db_acquire(db);
	assert_int_equal(db_query_int(c,
				      "SELECT COUNT(*) FROM enc_keys k JOIN orders o ON o.id = k.order_id "
				      "WHERE o.order_no = ?",
				      DB_ARGS(DB_TEXT(no)), &keys),
			 DB_OK);
	assert_int_equal(db_query_int(c,
				      "SELECT COUNT(*) FROM certificates k JOIN orders o ON o.id = k.order_id"
				      " WHERE o.order_no = ?",
				      DB_ARGS(DB_TEXT(no)), &certs),
			 DB_OK);
	db_release(c);
	assert_int_equal(keys, 1);
	assert_int_equal(certs, 2);
	json_decref(a.reply);
	json_decref(b.reply);
	free(a.csr);
	free(b.csr);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* Returns the 256-bit value right-aligned in the 64-byte field at p (leading 32 bytes zero). */
static BIGNUM *coord(const unsigned char *p)
{
	static const unsigned char zero[32];
	assert_memory_equal(p, zero, 32);
	return BN_bin2bn(p + 32, 32, NULL);
}

/* Opens an ENVELOPEDKEYBLOB (ULONG width w, little-endian) with the signing private key sign and
 * returns the SM2 private key inside as d (32 bytes). */
static void open_envelope(const unsigned char *b, size_t len, int w, EVP_PKEY *sign, unsigned char d[32])
{
	const unsigned char *cb = b + 3 * w + 64 + w + 128; /* ECCCipherBlob */
	STACK_OF(ASN1_TYPE) *seq = sk_ASN1_TYPE_new_null();
	BIGNUM *x = coord(cb), *y = coord(cb + 64);
	unsigned char *der = NULL, key[256];
	size_t keylen = sizeof(key);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(sign, NULL);

	assert_int_equal(len, (size_t)(w == 4 ? 388 : 408));
	assert_int_equal(b[0], 1);    /* Version */
	assert_int_equal(b[w], 0x01); /* SGD_SM4_ECB = 0x00000401, little-endian */
	assert_int_equal(b[w + 1], 0x04);
	assert_int_equal(cb[160], 16); /* CipherLen */
	/* SKF X | Y | HASH | CipherLen | Cipher -> OpenSSL's DER SEQUENCE { x, y, C3, C2 } */
	for (int i = 0; i < 4; i++) {
		ASN1_TYPE *t = ASN1_TYPE_new();
		if (i < 2) {
			ASN1_TYPE_set(t, V_ASN1_INTEGER, BN_to_ASN1_INTEGER(i == 0 ? x : y, NULL));
		} else {
			ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
			ASN1_OCTET_STRING_set(os, i == 2 ? cb + 128 : cb + 160 + w, i == 2 ? 32 : 16);
			ASN1_TYPE_set(t, V_ASN1_OCTET_STRING, os);
		}
		sk_ASN1_TYPE_push(seq, t);
	}
	int derlen = i2d_ASN1_SEQUENCE_ANY(seq, &der);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, key, &keylen, der, (size_t)derlen), 1);
	assert_int_equal(keylen, 16);
	/* SM4-ECB of cbEncryptedPriKey's last 32 bytes */
	EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
	EVP_CIPHER *sm4 = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
	int n = 0, fin = 0;
	assert_int_equal(EVP_DecryptInit_ex(cc, sm4, NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(cc, 0);
	assert_int_equal(EVP_DecryptUpdate(cc, d, &n, b + 3 * w + 32, 32), 1);
	assert_int_equal(EVP_DecryptFinal_ex(cc, d + n, &fin), 1);
	EVP_CIPHER_CTX_free(cc);
	EVP_CIPHER_free(sm4);
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	BN_free(x);
	BN_free(y);
}

/* Checks that d is the private key of SM2 certificate enc: a message encrypted to the certificate
 * opens with (d, the certificate's point); a wrong d fails SM2's C3 check. */
static void check_d_matches(const unsigned char d[32], X509 *enc)
{
	unsigned char pub[65], ct[256], pt[64];
	size_t publen = 0, ctlen = sizeof(ct), ptlen = sizeof(pt);
	EVP_PKEY *key = NULL;
	BIGNUM *priv = BN_bin2bn(d, 32, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ectx = EVP_PKEY_CTX_new(X509_get0_pubkey(enc), NULL),
		     *fc = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);

	assert_int_equal(EVP_PKEY_get_octet_string_param(X509_get0_pubkey(enc), OSSL_PKEY_PARAM_PUB_KEY, pub,
							 sizeof(pub), &publen),
			 1);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(fc), 1);
	assert_int_equal(EVP_PKEY_fromdata(fc, &key, EVP_PKEY_KEYPAIR, params), 1);
	assert_int_equal(EVP_PKEY_encrypt_init(ectx), 1);
	assert_int_equal(EVP_PKEY_encrypt(ectx, ct, &ctlen, (const unsigned char *)"sealed bid 2026", 15), 1);
	EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new(key, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(dctx), 1);
	assert_int_equal(EVP_PKEY_decrypt(dctx, pt, &ptlen, ct, ctlen), 1);
	assert_int_equal(ptlen, 15);
	assert_memory_equal(pt, "sealed bid 2026", 15);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_CTX_free(ectx);
	EVP_PKEY_CTX_free(fc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(priv);
	EVP_PKEY_free(key);
}

static void test_enc_key_envelope(void **state)
{
	json_t *j = NULL;
	unsigned char d[32], *blob;
	size_t len = 0;
	X509 *enc;
	(void)state;
	if (skipped)
		skip();
	enc = pem_cert(enc_pem);
	for (int w = 4; w <= 8; w += 4) {
		assert_int_equal(get_enc_key(&producer, dual_no, w == 4 ? "" : "?ulong=64", &j), 200);
		assert_string_equal(json_string_value(json_object_get(j, "format")), "skf-envelopedkeyblob");
		assert_string_equal(json_string_value(json_object_get(j, "enc_serial")), enc_serial);
		assert_string_equal(json_string_value(json_object_get(j, "sign_serial")), sign_serial);
		assert_int_equal(json_integer_value(json_object_get(j, "ulong_bytes")), w);
		/* the raw key is nowhere in the reply */
		assert_null(json_object_get(j, "private_key"));
		blob = pki_b64_decode(json_string_value(json_object_get(j, "blob")), &len);
		open_envelope(blob, len, w, usb_key, d);
		check_d_matches(d, enc);
		free(blob);
		json_decref(j);
	}
	assert_int_equal(audits("km.enc_key_export"), 2);
	assert_int_equal(get_enc_key(&producer, dual_no, "?ulong=16", &j), 400);
	json_decref(j);
	X509_free(enc);
}

static void test_enc_key_access(void **state)
{
	json_t *j = NULL;
	char single[32], *csr;
	EVP_PKEY *k;
	(void)state;
	if (skipped)
		skip();
	int64_t before = audits("km.enc_key_export");
	assert_int_equal(get_enc_key(&anon, dual_no, "", &j), 401);
	json_decref(j);
	assert_int_equal(get_enc_key(&org, dual_no, "", &j), 403);
	json_decref(j);
	assert_int_equal(get_enc_key(&reviewer, dual_no, "", &j), 403);
	json_decref(j);
	assert_int_equal(audits("km.enc_key_export"), before);
	/* a single profile (the secondary key's SM2) issues one certificate and has no key to hand out */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	producing_order("secondary", single);
	csr = it_make_csr(k, "USB key");
	assert_int_equal(post_csr(single, csr, &j), 201);
	assert_null(json_object_get(j, "enc_certificate"));
	json_decref(j);
	assert_int_equal(get_enc_key(&producer, single, "", &j), 404);
	assert_string_equal(error_code(j), "no_enc_certificate");
	json_decref(j);
	assert_int_equal(get_enc_key(&producer, "YT20990101-999999", "", &j), 404);
	json_decref(j);
	free(csr);
	EVP_PKEY_free(k);
}

/* Copies file from to to (mode 0600). */
static void copy_file(const char *from, const char *to)
{
	char buf[64];
	FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
	size_t n;
	assert_non_null(f);
	assert_non_null(t);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, t);
	fclose(f);
	fclose(t);
	chmod(to, 0600);
}

static void test_kek_missing_or_wrong(void **state)
{
	char saved[400], other[400];
	json_t *j = NULL;
	FILE *f;
	(void)state;
	if (skipped)
		skip();
	snprintf(saved, sizeof(saved), "%s.saved", cfg.km_kek_file);
	copy_file(cfg.km_kek_file, saved);
	/* missing: 503, nothing handed out */
	unlink(cfg.km_kek_file);
	assert_int_equal(get_enc_key(&producer, dual_no, "", &j), 503);
	assert_string_equal(error_code(j), "km_unavailable");
	assert_null(json_object_get(j, "blob"));
	json_decref(j);
	/* another KEK: refused, named in the log, nothing handed out */
	snprintf(other, sizeof(other), "%s", cfg.km_kek_file);
	f = fopen(other, "wb");
	fwrite("0123456789abcdef0123456789abcdef", 1, 32, f);
	fclose(f);
	chmod(other, 0600);
	assert_int_equal(get_enc_key(&producer, dual_no, "", &j), 500);
	assert_string_equal(error_code(j), "km_key_mismatch");
	json_decref(j);
	/* readable by others: refused */
	copy_file(saved, cfg.km_kek_file);
	chmod(cfg.km_kek_file, 0644);
	assert_int_equal(get_enc_key(&producer, dual_no, "", &j), 503);
	json_decref(j);
	chmod(cfg.km_kek_file, 0600);
	assert_int_equal(get_enc_key(&producer, dual_no, "", &j), 200);
	json_decref(j);
	unlink(saved);
}

static void test_recover_cli(void **state)
{
	char out[400], *text = NULL;
	FILE *f;
	EVP_PKEY *k;
	X509 *enc;
	struct stat st;
	(void)state;
	if (skipped)
		skip();
	snprintf(out, sizeof(out), "%s/recovered.pem", S.dir);
	char *argv[] = {
		(char *)harness_bin("certdesk"), "km", "recover", "--serial", enc_serial, "--out", out, NULL};
	assert_int_equal(harness_run(argv, NULL, &text), 0);
	free(text);
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(out, "r");
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	enc = pem_cert(enc_pem);
	assert_int_equal(X509_check_private_key(enc, k), 1);
	assert_int_equal(audits("km.recover"), 1);
	/* never over an existing file; never for a signing certificate's serial (its key is the USB key's) */
	text = NULL;
	assert_int_not_equal(harness_run(argv, NULL, &text), 0);
	free(text);
	argv[4] = sign_serial;
	snprintf(out, sizeof(out), "%s/recovered2.pem", S.dir);
	text = NULL;
	assert_int_not_equal(harness_run(argv, NULL, &text), 0);
	free(text);
	assert_int_not_equal(access(out, F_OK), 0);
	assert_int_equal(audits("km.recover"), 1);
	X509_free(enc);
	EVP_PKEY_free(k);
	EVP_PKEY_free(usb_key);
	free(enc_pem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dual_issuance),  cmocka_unit_test(test_enc_key_envelope),
		cmocka_unit_test(test_enc_key_access), cmocka_unit_test(test_kek_missing_or_wrong),
		cmocka_unit_test(test_recover_cli),    cmocka_unit_test(test_concurrent_dual),
	};
	if (strcmp(harness_backend(), "postgres") == 0 && getenv("CERTDESK_TEST_PG_CONNINFO") == NULL)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
