/* Unit tests for certdesk-agent: the SKF blob conversions (ECCPUBLICKEYBLOB <-> SubjectPublicKeyInfo,
 * ECCSIGNATUREBLOB <-> DER, both directions, leading-zero cases, blobs that are not right-aligned
 * refused), the SM2 digest e = SM3(Z || M) against OpenSSL's own SM2 verification, and the Origin and
 * Host checks (src/agent/skfblob.c, checks.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/drivers.h"
#include "agent/skfblob.h"

/* Returns a new SM2 key pair. */
static EVP_PKEY *sm2_key(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	assert_non_null(pk);
	return pk;
}

static void test_pub_blob_round_trip(void **state)
{
	EVP_PKEY *pk = sm2_key();
	unsigned char *spki = NULL, *back = NULL;
	int n = i2d_PUBKEY(pk, &spki);
	uint8_t x[64], y[64], zero[32] = {0};
	unsigned long bits = 0;
	size_t blen = 0;

	(void)state;
	assert_true(n > 0);
	assert_int_equal(skfb_spki_to_pub(spki, (size_t)n, &bits, x, y), 0);
	assert_int_equal(bits, 256);
	assert_memory_equal(x, zero, 32); /* right-aligned in the 64-byte field */
	assert_memory_equal(y, zero, 32);
	assert_int_equal(skfb_pub_to_spki(bits, x, y, &back, &blen), 0);
	assert_int_equal(blen, (size_t)n);
	assert_memory_equal(back, spki, blen);
	OPENSSL_free(back);
	OPENSSL_free(spki);
	EVP_PKEY_free(pk);
}

static void test_pub_blob_refused(void **state)
{
	EVP_PKEY *pk = sm2_key(), *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *spki = NULL, *out = NULL;
	int n = i2d_PUBKEY(pk, &spki);
	uint8_t x[64], y[64];
	unsigned long bits = 0;
	size_t len = 0;

	(void)state;
	assert_int_equal(skfb_spki_to_pub(spki, (size_t)n, &bits, x, y), 0);
	x[0] = 0x01; /* a value that is not right-aligned (left-aligned, or a 512-bit field) */
	assert_int_equal(skfb_pub_to_spki(256, x, y, &out, &len), -1);
	x[0] = 0;
	assert_int_equal(skfb_pub_to_spki(512, x, y, &out, &len), -1); /* BitLen must be 256 */
	y[63] ^= 1;                                                    /* off the curve */
	assert_int_equal(skfb_pub_to_spki(256, x, y, &out, &len), -1);
	OPENSSL_free(spki);
	spki = NULL;
	n = i2d_PUBKEY(p256, &spki); /* not an SM2 key */
	assert_int_equal(skfb_spki_to_pub(spki, (size_t)n, &bits, x, y), -1);
	assert_int_equal(skfb_spki_to_pub(spki, (size_t)n - 1, &bits, x, y), -1); /* truncated */
	OPENSSL_free(spki);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(p256);
}

/* Converts r/s blob fields to DER and back, checking the DER's integer lengths. */
static void sig_round_trip(const uint8_t r[64], const uint8_t s[64], size_t want_len)
{
	unsigned char *der = NULL;
	size_t len = 0;
	uint8_t r2[64], s2[64];

	assert_int_equal(skfb_sig_to_der(r, s, &der, &len), 0);
	assert_int_equal(len, want_len);
	assert_int_equal(skfb_der_to_sig(der, len, r2, s2), 0);
	assert_memory_equal(r, r2, 64);
	assert_memory_equal(s, s2, 64);
	OPENSSL_free(der);
}

static void test_sig_blob(void **state)
{
	uint8_t r[64] = {0}, s[64] = {0};

	(void)state;
	memset(r + 32, 0x11, 32);
	memset(s + 32, 0x22, 32);
	sig_round_trip(r, s, 2 + 2 * (2 + 32)); /* SEQUENCE{INTEGER 32, INTEGER 32} */
	r[32] = 0x80;                           /* high bit: DER adds a 0x00 */
	sig_round_trip(r, s, 2 + (2 + 33) + (2 + 32));
	r[32] = 0x00;
	r[33] = 0x00;
	r[34] = 0x05; /* leading zero bytes: DER is shorter, the blob right-aligned again */
	sig_round_trip(r, s, 2 + (2 + 30) + (2 + 32));
}

static void test_sig_blob_refused(void **state)
{
	uint8_t r[64] = {0}, s[64] = {0}, r2[64], s2[64];
	unsigned char *der = NULL, big[80];
	size_t len = 0;

	(void)state;
	memset(r + 32, 0x11, 32);
	memset(s + 32, 0x22, 32);
	r[31] = 1; /* not right-aligned */
	assert_int_equal(skfb_sig_to_der(r, s, &der, &len), -1);
	r[31] = 0;
	memset(s, 0, 64); /* s = 0 is no signature */
	assert_int_equal(skfb_sig_to_der(r, s, &der, &len), -1);
	/* a DER signature whose r has 33 significant bytes does not fit the blob */
	big[0] = 0x30;
	big[1] = 2 + 34 + 3;
	big[2] = 0x02;
	big[3] = 34;
	big[4] = 0x00;
	memset(big + 5, 0xff, 33);
	big[38] = 0x02;
	big[39] = 1;
	big[40] = 1;
	assert_int_equal(skfb_der_to_sig(big, 41, r2, s2), -1);
	assert_int_equal(skfb_der_to_sig(big, 40, r2, s2), -1); /* truncated */
}

/* e = SM3(Z || M) signed as a digest verifies as an SM2 signature over M with the default ID: Z is
 * computed as OpenSSL computes it. */
static void test_sm2_e(void **state)
{
	EVP_PKEY *pk = sm2_key();
	const unsigned char msg[] = "certdesk CertificationRequestInfo";
	uint8_t x[32], y[32], e[32];
	unsigned char sig[128];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new(pk, NULL);
	EVP_MD_CTX *vc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	(void)state;
	assert_int_equal(skfb_pkey_xy(pk, x, y), 0);
	assert_int_equal(skfb_sm2_e(x, y, msg, sizeof(msg) - 1, e), 0);
	assert_int_equal(EVP_PKEY_sign_init(sc), 1);
	assert_int_equal(EVP_PKEY_sign(sc, sig, &siglen, e, 32), 1);
	pctx = EVP_PKEY_CTX_new(pk, NULL);
	assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, SKFB_SM2_ID, SKFB_SM2_ID_LEN), 1);
	EVP_MD_CTX_set_pkey_ctx(vc, pctx);
	assert_int_equal(EVP_DigestVerifyInit(vc, NULL, EVP_sm3(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(vc, sig, siglen, msg, sizeof(msg) - 1), 1);
	EVP_MD_CTX_free(vc);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_CTX_free(sc);
	EVP_PKEY_free(pk);
}

static void test_origin(void **state)
{
	const char *list = "http://127.0.0.1:8080, https://ca.example.cn";

	(void)state;
	assert_true(agent_origin_allowed(list, "http://127.0.0.1:8080"));
	assert_true(agent_origin_allowed(list, "https://ca.example.cn"));
	assert_false(agent_origin_allowed(list, "http://127.0.0.1:808"));   /* a prefix */
	assert_false(agent_origin_allowed(list, "http://127.0.0.1:80800")); /* longer */
	assert_false(agent_origin_allowed(list, "https://ca.example.cn.evil.com"));
	assert_false(agent_origin_allowed(list, "HTTPS://CA.EXAMPLE.CN")); /* exact match only */
	assert_false(agent_origin_allowed(list, "null"));
	assert_false(agent_origin_allowed(list, ""));
	assert_false(agent_origin_allowed(list, NULL));
	assert_false(agent_origin_allowed("", "http://127.0.0.1:8080"));
}

static void test_host(void **state)
{
	(void)state;
	assert_true(agent_host_allowed("127.0.0.1:21088", 21088));
	assert_true(agent_host_allowed("localhost:21088", 21088));
	assert_true(agent_host_allowed("[::1]:21088", 21088));
	assert_false(agent_host_allowed("127.0.0.1:21089", 21088));
	assert_false(agent_host_allowed("127.0.0.1", 21088)); /* browsers always send the port */
	assert_false(agent_host_allowed("evil.example:21088", 21088));
	assert_false(agent_host_allowed("127.0.0.1:21088.evil.example", 21088));
	assert_false(agent_host_allowed("localhost.evil.example:21088", 21088));
	assert_false(agent_host_allowed("", 21088));
	assert_false(agent_host_allowed(NULL, 21088));
}

static void test_key_id(void **state)
{
	(void)state;
	assert_true(agent_key_id_valid("skf0:SOFTKEY1"));
	assert_true(agent_key_id_valid("p11-1-5d3a9f"));
	assert_false(agent_key_id_valid(""));
	assert_false(agent_key_id_valid("skf0:a/b"));
	assert_false(agent_key_id_valid("p11 1"));
}

/* --- sessions, over a module that only counts logouts (its key's login alive while alive) --- */

static int logouts, alive;

static void count_logout(struct token_module *m, const char *id)
{
	(void)m, (void)id;
	logouts++;
}

static int is_logged_in(struct token_module *m, const char *id)
{
	(void)m, (void)id;
	return alive;
}

static void no_keys(struct token_module *m, json_t *arr)
{
	(void)m, (void)arr;
}

static void free_module(struct token_module *m)
{
	free(m);
}

static const struct token_ops counting_ops = {
	.list_keys = no_keys, .logout = count_logout, .logged_in = is_logged_in, .unload = free_module};

/* Returns an agent without modules but the counting one ("skf0:"), sessions idle after idle_s. */
static struct agent *session_agent(int idle_s, struct token_module **m)
{
	struct agent_config c;
	struct agent *a;

	agent_config_defaults(&c);
	c.session_idle_s = idle_s;
	a = agent_new(&c);
	*m = calloc(1, sizeof(**m));
	(*m)->ops = &counting_ops;
	(*m)->kind = "skf";
	(*m)->ok = 1;
	agent_add_module(a, *m);
	logouts = 0;
	alive = 1;
	return a;
}

static void test_sessions(void **state)
{
	struct token_module *m;
	struct agent *a = session_agent(600, &m);
	char s1[33], s2[33];

	(void)state;
	assert_ptr_equal(agent_module_of(a, "skf0:KEY"), m);
	assert_null(agent_module_of(a, "skf1:KEY"));
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s1);
	assert_int_equal(strlen(s1), 32);
	assert_true(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	assert_false(
		agent_session_check(a, s1, "skf0:OTHER", "http://127.0.0.1:8080"));    /* bound to its key */
	assert_false(agent_session_check(a, s1, "skf0:KEY", "http://localhost:8080")); /* and its Origin */
	assert_false(agent_session_check(a, s1, "skf0:KEY", NULL));
	assert_false(agent_session_check(a, "00000000000000000000000000000000", "skf0:KEY",
					 "http://127.0.0.1:8080"));
	assert_false(agent_session_check(a, NULL, "skf0:KEY", "http://127.0.0.1:8080"));
	assert_false(agent_session_check(a, "short", "skf0:KEY", "http://127.0.0.1:8080"));
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s2);
	assert_string_not_equal(s1, s2);
	agent_session_end(a, s1, "skf0:KEY");
	assert_false(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	assert_int_equal(logouts, 0); /* the key stays logged in for the other session */
	agent_session_end(a, s2, "skf0:KEY");
	assert_int_equal(logouts, 1);
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s1);
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s2);
	agent_sessions_drop_key(a, "skf0:KEY");
	assert_false(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	assert_false(agent_session_check(a, s2, "skf0:KEY", "http://127.0.0.1:8080"));
	agent_free(a);
}

static void test_session_idle_expiry(void **state)
{
	struct token_module *m;
	struct agent *a = session_agent(1, &m);
	char s1[33];

	(void)state;
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s1);
	assert_true(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	sleep(3);
	assert_false(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	assert_int_equal(logouts, 1); /* an expired session logs its key out */
	agent_free(a);
}

/* A key pulled out (its login dead in the backend): its sessions end at the next check or listing. */
static void test_session_key_pulled(void **state)
{
	struct token_module *m;
	struct agent *a = session_agent(600, &m);
	char s1[33], s2[33];
	json_t *keys;

	(void)state;
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s1);
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s2);
	assert_true(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	alive = 0;
	assert_false(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	alive = 1; /* plugged back in: the old sessions stay ended */
	assert_false(agent_session_check(a, s2, "skf0:KEY", "http://127.0.0.1:8080"));
	/* a listing while it is out ends them too */
	agent_session_new(a, m, "skf0:KEY", "http://127.0.0.1:8080", s1);
	alive = 0;
	keys = agent_keys_json(a);
	json_decref(keys);
	alive = 1;
	assert_false(agent_session_check(a, s1, "skf0:KEY", "http://127.0.0.1:8080"));
	agent_free(a);
}

/* Writes text to a temporary INI file and loads it over the defaults. */
static int load_ini(const char *text, struct agent_config *c, char *err, size_t errlen)
{
	char path[] = "/tmp/certdesk-agent-ini-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	agent_config_defaults(c);
	rc = agent_config_load(path, c, err, errlen);
	unlink(path);
	return rc;
}

static void test_config(void **state)
{
	struct agent_config c;
	char err[256];

	(void)state;
	assert_int_equal(load_ini("[agent]\nport = 21100\norigins = https://a.example, http://b:1\n[skf]\n"
				  "devauth_key = 31323334353637383132333435363738\nlibraries = /x.so:64\n",
				  &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.port, 21100);
	assert_memory_equal(c.devauth_key, "1234567812345678", 16);
	assert_int_equal(c.session_idle_s, 600);
	assert_true(agent_origin_allowed(c.origins, "http://b:1"));
	assert_string_equal(c.driver_dirs, "/usr/lib,/usr/lib64,/usr/local/lib,/opt");
	assert_int_equal(load_ini("[agent]\ndriver_dirs = /x, /y\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.driver_dirs, "/x, /y");
	assert_int_equal(load_ini("[agent]\nport = 0\n", &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2:"));
	assert_int_equal(load_ini("[agent]\nsession_idle_s = 0\n", &c, err, sizeof(err)), -1);
	assert_int_equal(load_ini("[skf]\ndevauth_key = short\n", &c, err, sizeof(err)), -1);
	assert_int_equal(load_ini("[agent]\nprot = 1\n", &c, err, sizeof(err)), -1); /* a typo stops */
	/* the SO PIN factory-initialised PKCS#11 tokens ship with: none unless set */
	assert_int_equal(load_ini("[pkcs11]\nmodules = /x.so\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.p11_transport_so_pin, "");
	assert_int_equal(load_ini("[pkcs11]\ntransport_so_pin = 11223344\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.p11_transport_so_pin, "11223344");
	assert_int_equal(load_ini("[pkcs11]\ntransport_so_pin = "
				  "0123456789012345678901234567890123456789012345678901234567890123\n",
				  &c, err, sizeof(err)),
			 -1);
}

/* Creates file dir/rel (empty). */
static void touch(const char *dir, const char *rel)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

/* Makes directory dir/rel. */
static void mkdir_in(const char *dir, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

/* Makes symlink dir/rel -> target. */
static void link_in(const char *dir, const char *rel, const char *target)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* Returns 1 when hits holds a driver whose path ends in suffix, with label name (NULL: any). */
static int has_driver(json_t *hits, const char *suffix, const char *name)
{
	for (size_t i = 0; i < json_array_size(hits); i++) {
		const char *p = json_string_value(json_object_get(json_array_get(hits, i), "path"));
		const char *n = json_string_value(json_object_get(json_array_get(hits, i), "name"));
		size_t lp = strlen(p), ls = strlen(suffix);
		if (lp >= ls && strcmp(p + lp - ls, suffix) == 0 && (name == NULL || strcmp(n, name) == 0))
			return 1;
	}
	return 0;
}

static void rm_tree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_driver_labels(void **state)
{
	(void)state;
	assert_string_equal(agent_driver_label("libES_3000GM.so.1.0.0"), "飞天 ePass3000GM");
	assert_string_equal(agent_driver_label("libgm3000.1.0.so"), "龙脉 GM3000");
	assert_string_equal(agent_driver_label("libgm3000_pkcs11.so"), "龙脉 GM3000 (PKCS#11)");
	assert_string_equal(agent_driver_label("libHTskf.so"), "海泰");
	assert_string_equal(agent_driver_label("libBJCA_SKF.so"), "北京CA");
	assert_string_equal(agent_driver_label("libvendorSKF.so.2"), "SKF 驱动");
	assert_null(agent_driver_label("libcertdesk-softskf.so")); /* the project's own software key */
	assert_null(agent_driver_label("libcertdesk-softskf64.so"));
	assert_null(agent_driver_label("libssl.so.3"));
	assert_null(agent_driver_label("skf.txt")); /* not a shared object */
	assert_null(agent_driver_label("libLLVMObjCARCOpts.a")); /* found on a real PC: "objcarc" is no BJCA */
	assert_null(agent_driver_label("libLLVMObjCARCOpts.so"));
	assert_null(agent_driver_label("libgm3000.a"));
}

/* A tree with drivers at several depths, non-matching files, symlink loops, a symlinked driver and
 * the agent's own SKF library (configured through a symlink): each known driver once, nothing of the
 * agent's own, nothing below the depth limit; the scan ends in spite of the loops. */
static void test_drivers_scan(void **state)
{
	char root[] = "/tmp/certdesk-drivers-XXXXXX";
	struct agent_config c;
	struct agent *a;
	json_t *st, *hits;

	(void)state;
	assert_non_null(mkdtemp(root));
	touch(root, "libgm3000.1.0.so");
	link_in(root, "libgm3000.so", "libgm3000.1.0.so"); /* a link: the file is reported once */
	touch(root, "libssl.so.3");
	touch(root, "libfoo.so");
	touch(root, "libcertdesk-softskf.so");
	mkdir_in(root, "skf.so.d"); /* a directory with a matching name is no driver */
	mkdir_in(root, "a");
	mkdir_in(root, "a/b");
	mkdir_in(root, "a/b/c");
	mkdir_in(root, "a/b/c/d");
	touch(root, "a/libES_3000GM.so.1.0.0");
	touch(root, "a/b/c/libHaitai_skf.so");   /* 3 levels down: found */
	touch(root, "a/b/c/d/libbjca_skf.so");   /* 4 levels down: not looked at */
	link_in(root, "loop", ".");              /* symlink loops: never followed */
	link_in(root, "a/b/up", "../..");
	mkdir_in(root, "own");
	touch(root, "own/libmyvendor_skf.so");   /* the agent's own library ... */
	link_in(root, "current-skf.so", "own/libmyvendor_skf.so"); /* ... configured through a link */

	hits = agent_drivers_scan(root, NULL, 0);
	assert_true(has_driver(hits, "/own/libmyvendor_skf.so", "SKF 驱动"));
	json_decref(hits);

	agent_config_defaults(&c);
	snprintf(c.driver_dirs, sizeof(c.driver_dirs), "%s", root);
	snprintf(c.skf_libraries, sizeof(c.skf_libraries), "%s/current-skf.so:32", root);
	a = agent_new(&c); /* the empty file does not load; its path is still the agent's own */
	st = agent_status_json(a);
	hits = json_object_get(st, "other_drivers");
	assert_true(json_is_array(hits));
	assert_int_equal(json_array_size(hits), 3);
	assert_true(has_driver(hits, "/libgm3000.1.0.so", "龙脉 GM3000"));
	assert_true(has_driver(hits, "/a/libES_3000GM.so.1.0.0", "飞天 ePass3000GM"));
	assert_true(has_driver(hits, "/a/b/c/libHaitai_skf.so", "海泰"));
	assert_false(has_driver(hits, "libmyvendor_skf.so", NULL));
	assert_false(has_driver(hits, "libbjca_skf.so", NULL));
	json_decref(st);
	/* cached: a driver installed now shows up only after a minute */
	touch(root, "libwatchdata.so");
	st = agent_status_json(a);
	assert_int_equal(json_array_size(json_object_get(st, "other_drivers")), 3);
	json_decref(st);
	agent_free(a);
	hits = agent_drivers_scan(root, NULL, 0);
	assert_true(has_driver(hits, "/libwatchdata.so", "握奇"));
	json_decref(hits);
	rm_tree(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pub_blob_round_trip),
		cmocka_unit_test(test_pub_blob_refused),
		cmocka_unit_test(test_sig_blob),
		cmocka_unit_test(test_sig_blob_refused),
		cmocka_unit_test(test_sm2_e),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_session_idle_expiry),
		cmocka_unit_test(test_session_key_pulled),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_driver_labels),
		cmocka_unit_test(test_drivers_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
