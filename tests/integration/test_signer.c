/* certdesk-signer end to end (no certdeskd): a temporary keys_dir with RSA-2048, P-256 and SM2 file
 * keys and a SoftHSM2 token (RSA generated on the token, P-256 imported), the real signer started
 * on it. Each key signs a TBSCertificate through signer_client; the certificate assembled from the
 * signature verifies with X509_verify (SM2 with the ID 1234567812345678) and, for RSA and P-256, with
 * `openssl verify -x509_strict`. Refusals, unknown keys, a token that appears later, a wrong PIN,
 * SIGHUP, concurrent clients, kill -9 in the middle of a request and the log are checked too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/signer_client.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define DAY 86400L
#define SM2_ID "1234567812345678"

enum { RSA_K, P256_K, SM2_K };

struct cakey {
	const char *id;
	int alg;
	int p11;       /* 1: on the SoftHSM token, the test has only the public key */
	EVP_PKEY *key; /* private key (file keys), else the public key */
	X509 *cert;
	int issuer; /* index of the CA that issued cert, or -1: self-signed */
};

static struct cakey keys[] = {
	{"rsa2048-issuing-1", RSA_K, 0, NULL, NULL, -1},
	{"p256-issuing-1", P256_K, 0, NULL, NULL, -1},
	{"sm2-issuing-1", SM2_K, 0, NULL, NULL, -1},
	{"p11-rsa-1", RSA_K, 1, NULL, NULL, 0},    /* generated on the token; certified by the RSA file CA */
	{"p11-p256-1", P256_K, 1, NULL, NULL, -1}, /* imported into the token; self-signed */
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char dir[40], keydir[128], sockp[80], logp[160], outp[160], confp[160];
static pid_t signer_pid = -1;
static int have_softhsm;
static int signatures; /* signatures the log must show */
static EVP_PKEY *ee_p256, *ee_sm2;

/* Runs a shell command (paths are the test's own); returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static EVP_PKEY *gen_key(int alg)
{
	if (alg == RSA_K)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (alg == P256_K)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
}

/* Signs x with key (file CAs, and throwaway signatures that only set the TBS's algorithm). */
static void sign_local(X509 *x, EVP_PKEY *key, int alg)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	assert_int_equal(
		EVP_DigestSignInit_ex(m, &pc, alg == SM2_K ? "SM3" : "SHA256", NULL, NULL, key, NULL), 1);
	if (alg == SM2_K)
		assert_int_equal(EVP_PKEY_CTX_set1_id(pc, SM2_ID, 16), 1);
	assert_true(X509_sign_ctx(x, m) > 0);
	EVP_MD_CTX_free(m);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static void set_name(X509_NAME *n, const char *cn)
{
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"CN", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"certdesk test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
}

static void random_serial(X509 *x)
{
	unsigned char b[9];
	RAND_bytes(b, sizeof(b));
	b[0] &= 0x7f;
	b[0] |= 0x01;
	BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}

/* Makes the CA certificate of k (self-signed, or by its issuer's file key). */
static void make_ca_cert(struct cakey *k)
{
	X509 *x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	random_serial(x);
	set_name(X509_get_subject_name(x), k->id);
	X509_set_issuer_name(x, X509_get_subject_name(k->issuer >= 0 ? keys[k->issuer].cert : x));
	X509_gmtime_adj(X509_getm_notBefore(x), -DAY);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650 * DAY);
	X509_set_pubkey(x, k->key);
	X509 *iss = k->issuer >= 0 ? keys[k->issuer].cert : x;
	add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(x, iss, NID_subject_key_identifier, "hash");
	add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
	if (k->issuer >= 0)
		sign_local(x, keys[k->issuer].key, keys[k->issuer].alg);
	else
		sign_local(x, k->key, k->alg);
	k->cert = x;
}

/* Writes text to path with mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void write_pem_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
}

static void write_pem_key(const char *path, EVP_PKEY *k)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

/* Reads a DER SubjectPublicKeyInfo file. */
static EVP_PKEY *read_spki(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	EVP_PKEY *k = d2i_PUBKEY_fp(f, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* Creates SoftHSM token label (SO PIN 1234, user PIN pin) in the test's token directory. */
static void init_token(const char *label, const char *pin)
{
	assert_int_equal(sh("softhsm2-util --init-token --free --label %s --so-pin 1234 --pin %s >>%s 2>&1",
			    label, pin, outp),
			 0);
}

/* Imports private key k into token label with CKA_LABEL object and CKA_ID id (pkcs11-tool). */
static void import_key(const char *label, const char *pin, EVP_PKEY *k, const char *object, const char *id)
{
	char der[200];
	snprintf(der, sizeof(der), "%s/import.der", dir);
	FILE *f = fopen(der, "wb");
	assert_non_null(f);
	i2d_PKCS8PrivateKeyInfo_fp(f, k);
	fclose(f);
	assert_int_equal(sh("pkcs11-tool --module %s --token-label %s --login --pin %s --write-object %s "
			    "--type privkey "
			    "--label %s --id %s >>%s 2>&1",
			    SOFTHSM_MODULE, label, pin, der, object, id, outp),
			 0);
	unlink(der);
}

/* The SoftHSM2 token of the test: RSA-2048 generated on it, P-256 imported. */
static void make_token(void)
{
	char conf[400], tokens[200], pub[200];
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	mkdir(tokens, 0700);
	snprintf(conf, sizeof(conf),
		 "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
	write_file(confp, conf, 0600);
	setenv("SOFTHSM2_CONF", confp, 1);
	init_token("certdesk-test", "5678");
	assert_int_equal(
		sh("pkcs11-tool --module %s --token-label certdesk-test --login --pin 5678 --keypairgen "
		   "--key-type rsa:2048 --label p11-rsa --id 01 >>%s 2>&1",
		   SOFTHSM_MODULE, outp),
		0);
	snprintf(pub, sizeof(pub), "%s/p11-rsa.pub.der", dir);
	assert_int_equal(
		sh("pkcs11-tool --module %s --token-label certdesk-test --read-object --type pubkey --id 01 "
		   "-o %s >>%s 2>&1",
		   SOFTHSM_MODULE, pub, outp),
		0);
	keys[3].key = read_spki(pub);
	keys[4].key = gen_key(P256_K);
	import_key("certdesk-test", "5678", keys[4].key, "p11-p256", "02");
}

/* Writes the key files of keys[i] into keydir. */
static void write_key_files(size_t i)
{
	char path[300], text[600];
	snprintf(path, sizeof(path), "%s/%s.crt", keydir, keys[i].id);
	write_pem_cert(path, keys[i].cert);
	snprintf(path, sizeof(path), "%s/%s.%s", keydir, keys[i].id, keys[i].p11 ? "p11" : "pem");
	if (!keys[i].p11) {
		write_pem_key(path, keys[i].key);
		return;
	}
	if (i == 3) /* PIN from CERTDESK_SIGNER_PIN_P11_RSA_1, module on line 2 */
		snprintf(text, sizeof(text), "pkcs11:token=certdesk-test;object=p11-rsa;type=private\n%s\n",
			 SOFTHSM_MODULE);
	else /* by CKA_ID, PIN and module in the URI */
		snprintf(text, sizeof(text),
			 "pkcs11:token=certdesk-test;id=%%02?pin-value=5678&module-path=%s\n",
			 SOFTHSM_MODULE);
	write_file(path, text, 0600);
}

static int signer_up(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return up;
}

/* Starts certdesk-signer on the test's keys_dir with socket sock, log logf and [signer] user (NULL:
 * none); waits until it answers and returns its pid. */
static pid_t spawn_signer(const char *sock, const char *logf, const char *user)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(outp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("CERTDESK_SIGNER_SOCKET", sock, 1);
		setenv("CERTDESK_SIGNER_KEYS_DIR", keydir, 1);
		setenv("CERTDESK_SIGNER_LOG", logf, 1);
		setenv("CERTDESK_SIGNER_PIN_P11_RSA_1", "5678", 1);
		if (user != NULL)
			setenv("CERTDESK_SIGNER_USER", user, 1);
		execl(BUILD_DIR "/certdesk-signer", "certdesk-signer", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		if (signer_up(sock))
			return pid;
		usleep(25000);
	}
	fail_msg("certdesk-signer did not start; see %s", outp);
	return -1;
}

static void start_signer(void)
{
	signer_pid = spawn_signer(sockp, logp, NULL);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cd-signer-it-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(keydir, sizeof(keydir), "%s/ca-keys", dir);
	mkdir(keydir, 0700);
	snprintf(sockp, sizeof(sockp), "%s/signer.sock", dir);
	snprintf(logp, sizeof(logp), "%s/signer.log", dir);
	snprintf(outp, sizeof(outp), "%s/signer.out", dir);
	snprintf(confp, sizeof(confp), "%s/softhsm2.conf", dir);
	have_softhsm = access(SOFTHSM_MODULE, R_OK) == 0 &&
		       sh("command -v pkcs11-tool softhsm2-util >/dev/null") == 0;
	if (!have_softhsm)
		fprintf(stderr,
			"SKIP PKCS#11 part: SoftHSM2 or pkcs11-tool missing (scripts/install-deps.sh)\n");
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].p11)
			continue;
		keys[i].key = gen_key(keys[i].alg);
		make_ca_cert(&keys[i]);
		write_key_files(i);
	}
	if (have_softhsm) {
		make_token();
		for (size_t i = 3; i < NKEYS; i++) {
			make_ca_cert(&keys[i]);
			write_key_files(i);
		}
	}
	ee_p256 = gen_key(P256_K);
	ee_sm2 = gen_key(SM2_K);
	start_signer();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (signer_pid > 0) {
		kill(signer_pid, SIGTERM);
		waitpid(signer_pid, NULL, 0);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		EVP_PKEY_free(keys[i].key);
		X509_free(keys[i].cert);
	}
	EVP_PKEY_free(ee_p256);
	EVP_PKEY_free(ee_sm2);
	if (getenv("CERTDESK_TEST_KEEP") == NULL)
		sh("rm -rf %s", dir);
	return 0;
}

/* Returns the DER TBSCertificate of an end-entity certificate issued by k; ca_true makes it a CA
 * certificate. The TBS's algorithm is set by a throwaway signature with a key of the same type. */
static unsigned char *make_tbs(const struct cakey *k, int ca_true, size_t *len)
{
	X509 *x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	random_serial(x);
	X509_set_issuer_name(x, X509_get_subject_name(k->cert));
	set_name(X509_get_subject_name(x), "江西测试单位");
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365 * DAY);
	X509_set_pubkey(x, k->alg == SM2_K ? ee_sm2 : ee_p256);
	add_ext(x, k->cert, NID_basic_constraints, ca_true ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, k->cert, NID_key_usage, "critical,digitalSignature,nonRepudiation");
	add_ext(x, k->cert, NID_ext_key_usage, "clientAuth");
	add_ext(x, k->cert, NID_subject_key_identifier, "hash");
	add_ext(x, k->cert, NID_authority_key_identifier, "keyid:always");
	EVP_PKEY *throwaway = keys[k->alg].key; /* the file key of the same type */
	sign_local(x, throwaway, k->alg);
	unsigned char *der = NULL;
	int n = i2d_re_X509_tbs(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_free(x);
	return der;
}

/* Appends the DER length n at p; returns the bytes written. */
static size_t put_len(unsigned char *p, size_t n)
{
	if (n < 0x80) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = 0x82;
	p[1] = (unsigned char)(n >> 8);
	p[2] = (unsigned char)n;
	return 3;
}

/* Assembles Certificate ::= SEQUENCE { tbs, algId, BIT STRING sig } and parses it. */
static X509 *assemble(int alg, const unsigned char *tbs, size_t tlen, const unsigned char *sig, size_t slen)
{
	static const unsigned char rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					    0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
	static const unsigned char p256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
					     0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
	static const unsigned char sm2[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81,
					    0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75};
	const unsigned char *a = alg == RSA_K ? rsa : alg == P256_K ? p256 : sm2;
	size_t alen = alg == RSA_K ? sizeof(rsa) : sizeof(p256);
	unsigned char bits[600];
	size_t bl = 0;

	assert_true(slen < 500);
	bits[bl++] = 0x03;
	bl += put_len(bits + bl, slen + 1);
	bits[bl++] = 0x00;
	memcpy(bits + bl, sig, slen);
	bl += slen;
	size_t body = tlen + alen + bl;
	unsigned char *der = malloc(body + 4);
	size_t h = 1;
	der[0] = 0x30;
	h += put_len(der + 1, body);
	memcpy(der + h, tbs, tlen);
	memcpy(der + h + tlen, a, alen);
	memcpy(der + h + tlen + alen, bits, bl);
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)(h + body));
	assert_non_null(x);
	assert_ptr_equal(q, der + h + body);
	free(der);
	return x;
}

/* The log lines of the signer, parsed. */
static json_t *read_log(void)
{
	json_t *arr = json_array();
	FILE *f = fopen(logp, "r");
	char line[4096];
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *o = json_loads(line, 0, NULL);
		assert_non_null(o);
		json_array_append_new(arr, o);
	}
	fclose(f);
	return arr;
}

static void sha256_hex(const unsigned char *p, size_t n, char out[65])
{
	unsigned char md[32];
	EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Returns the log line whose tbs_sha256 is that of tbs, or NULL. */
static json_t *log_line_for(json_t *log, const unsigned char *tbs, size_t len)
{
	char hex[65];
	size_t i;
	json_t *o;
	sha256_hex(tbs, len, hex);
	json_array_foreach (log, i, o) {
		const char *h = json_string_value(json_object_get(o, "tbs_sha256"));
		if (h != NULL && strcmp(h, hex) == 0)
			return o;
	}
	return NULL;
}

/* Signs an end-entity TBS with keys[i] through the signer; verifies the certificate in C and, for
 * RSA and P-256, with openssl verify -x509_strict. */
static void sign_and_verify(size_t i)
{
	struct cakey *k = &keys[i];
	unsigned char *sig = NULL;
	size_t tlen, slen;
	char err[256], ca[300], ee[300], root[300];
	unsigned char *tbs = make_tbs(k, 0, &tlen);

	int rc = signer_sign(sockp, k->id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: signer_sign %d: %s", k->id, rc, err);
	signatures++;
	X509 *x = assemble(k->alg, tbs, tlen, sig, slen);
	if (k->alg == SM2_K) {
		ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(id, (const unsigned char *)SM2_ID, 16);
		X509_set0_distinguishing_id(x, id);
	}
	EVP_PKEY *pub = X509_get0_pubkey(k->cert);
	assert_int_equal(X509_verify(x, pub), 1);
	if (k->alg != SM2_K) {
		snprintf(ca, sizeof(ca), "%s/ca-%s.pem", dir, k->id);
		snprintf(ee, sizeof(ee), "%s/ee-%s.pem", dir, k->id);
		write_pem_cert(ca, k->cert);
		write_pem_cert(ee, x);
		if (k->issuer >= 0) { /* three levels: root = the issuer, ca untrusted */
			snprintf(root, sizeof(root), "%s/root-%s.pem", dir, k->id);
			write_pem_cert(root, keys[k->issuer].cert);
			assert_int_equal(
				sh("openssl verify -x509_strict -CAfile %s -untrusted %s %s >>%s 2>&1", root,
				   ca, ee, outp),
				0);
		} else {
			assert_int_equal(
				sh("openssl verify -x509_strict -CAfile %s %s >>%s 2>&1", ca, ee, outp), 0);
		}
	}
	json_t *log = read_log();
	json_t *line = log_line_for(log, tbs, tlen);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "result")), "signed");
	assert_string_equal(json_string_value(json_object_get(line, "key")), k->id);
	assert_int_equal(json_integer_value(json_object_get(line, "kind")), 1);
	assert_int_equal(json_integer_value(json_object_get(line, "peer_uid")), (json_int_t)getuid());
	assert_non_null(json_string_value(json_object_get(line, "serial")));
	json_decref(log);
	X509_free(x);
	OPENSSL_free(sig);
	OPENSSL_free(tbs);
}

static void test_file_keys_sign(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++)
		sign_and_verify(i);
}

static void test_pkcs11_keys_sign(void **state)
{
	(void)state;
	if (!have_softhsm)
		skip();
	for (size_t i = 3; i < NKEYS; i++)
		sign_and_verify(i);
}

/* What the signer will not sign, through the real socket. */
static void test_refusals(void **state)
{
	unsigned char *sig = NULL;
	size_t tlen, slen;
	char err[256];
	(void)state;
	unsigned char *tbs = make_tbs(&keys[0], 1, &tlen);
	assert_int_equal(signer_sign(sockp, keys[0].id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err,
				     sizeof(err)),
			 SIGNER_REFUSED);
	assert_non_null(strstr(err, "cA TRUE"));
	/* The RSA key's TBS given to the P-256 key: algorithm and issuer differ. */
	assert_int_equal(signer_sign(sockp, keys[1].id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err,
				     sizeof(err)),
			 SIGNER_REFUSED);
	assert_int_equal(signer_sign(sockp, "no-such-key", SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err,
				     sizeof(err)),
			 SIGNER_NO_KEY);
	OPENSSL_free(tbs);
	tbs = make_tbs(&keys[0], 0, &tlen);
	/* A good TBS with one byte more, or as a CRL. */
	unsigned char *t = malloc(tlen + 1);
	memcpy(t, tbs, tlen);
	t[tlen] = 0;
	assert_int_equal(signer_sign(sockp, keys[0].id, SIGNER_KIND_TBS_CERT, t, tlen + 1, &sig, &slen, err,
				     sizeof(err)),
			 SIGNER_REFUSED);
	assert_int_equal(
		signer_sign(sockp, keys[0].id, SIGNER_KIND_TBS_CRL, tbs, tlen, &sig, &slen, err, sizeof(err)),
		SIGNER_REFUSED);
	assert_null(sig);
	free(t);
	OPENSSL_free(tbs);
	/* A hostile client: a head announcing 4 GB of data is answered and closed at once. */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockp);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "CDS1\x01\x02\xff\xff\xff\xff", 10), 10);
	unsigned char rep[64];
	ssize_t n = read(fd, rep, sizeof(rep));
	assert_true(n >= 9);
	assert_int_equal(rep[4], SIGNER_REFUSED);
	close(fd);
}

struct par {
	int ok;
};

static void *parallel_signer(void *arg)
{
	struct par *p = arg;
	for (int j = 0; j < 5; j++) {
		size_t tlen, slen;
		unsigned char *sig = NULL;
		char err[256];
		unsigned char *tbs = make_tbs(&keys[1], 0, &tlen);
		if (signer_sign(sockp, keys[1].id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err,
				sizeof(err)) == 0)
			p->ok++;
		OPENSSL_free(sig);
		OPENSSL_free(tbs);
	}
	return NULL;
}

static void test_concurrent_clients(void **state)
{
	pthread_t t[8];
	struct par p[8] = {{0}};
	(void)state;
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, parallel_signer, &p[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].ok, 5);
		signatures += 5;
	}
}

/* A token that is missing (pulled out) answers KEY_UNAVAILABLE, and the key works once the token is
 * there, without restarting the signer; a wrong PIN answers KEY_UNAVAILABLE and is not retried. */
static void test_token_late_and_wrong_pin(void **state)
{
	unsigned char *sig = NULL;
	size_t tlen, slen;
	char err[256], path[300], text[400];
	(void)state;
	if (!have_softhsm)
		skip();
	struct cakey late = {"p11-late-1", P256_K, 1, gen_key(P256_K), NULL, -1};
	struct cakey badpin = {"p11-badpin-1", P256_K, 1, gen_key(P256_K), NULL, -1};
	make_ca_cert(&late);
	make_ca_cert(&badpin);
	snprintf(path, sizeof(path), "%s/%s.crt", keydir, late.id);
	write_pem_cert(path, late.cert);
	snprintf(path, sizeof(path), "%s/%s.p11", keydir, late.id);
	snprintf(text, sizeof(text), "pkcs11:token=late-token;object=late-key?pin-value=1111\n%s\n",
		 SOFTHSM_MODULE);
	write_file(path, text, 0600);
	snprintf(path, sizeof(path), "%s/%s.crt", keydir, badpin.id);
	write_pem_cert(path, badpin.cert);
	snprintf(path, sizeof(path), "%s/%s.p11", keydir, badpin.id);
	snprintf(text, sizeof(text), "pkcs11:token=pin-token;object=pin-key?pin-value=0000\n%s\n",
		 SOFTHSM_MODULE);
	write_file(path, text, 0600);
	init_token("pin-token", "2222");
	import_key("pin-token", "2222", badpin.key, "pin-key", "05");
	kill(signer_pid, SIGHUP); /* loads the two new keys */
	usleep(500000);

	unsigned char *tbs = make_tbs(&late, 0, &tlen);
	assert_int_equal(
		signer_sign(sockp, late.id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err, sizeof(err)),
		SIGNER_KEY_UNAVAILABLE);
	assert_non_null(strstr(err, "not present"));
	init_token("late-token", "1111");
	import_key("late-token", "1111", late.key, "late-key", "09");
	usleep(600000); /* the signer looks at the slots again at most every 500 ms */
	int rc = signer_sign(sockp, late.id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err, sizeof(err));
	if (rc != 0)
		fail_msg("late token: %d %s", rc, err);
	signatures++;
	X509 *x = assemble(P256_K, tbs, tlen, sig, slen);
	assert_int_equal(X509_verify(x, late.key), 1);
	X509_free(x);
	OPENSSL_free(sig);
	OPENSSL_free(tbs);

	tbs = make_tbs(&badpin, 0, &tlen);
	for (int j = 0; j < 2; j++) {
		assert_int_equal(signer_sign(sockp, badpin.id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen,
					     err, sizeof(err)),
				 SIGNER_KEY_UNAVAILABLE);
		assert_non_null(strstr(err, j == 0 ? "PIN" : "not tried again"));
	}
	OPENSSL_free(tbs);
	EVP_PKEY_free(late.key);
	X509_free(late.cert);
	EVP_PKEY_free(badpin.key);
	X509_free(badpin.cert);
}

struct bg {
	int rc;
	int64_t ms;
};

static void *bg_sign(void *arg)
{
	struct bg *b = arg;
	size_t tlen, slen;
	unsigned char *sig = NULL;
	char err[256];
	unsigned char *tbs = make_tbs(&keys[0], 0, &tlen);
	int64_t t0 = signer_now_ms();
	b->rc = signer_sign(sockp, keys[0].id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err,
			    sizeof(err));
	b->ms = signer_now_ms() - t0;
	OPENSSL_free(sig);
	OPENSSL_free(tbs);
	return NULL;
}

/* kill -9 while a request is in the signer: the client gets -1 at once (not after its time-out),
 * -1 again while the signer is down, and a signature once it is started again (stale socket). */
static void test_kill9_and_restart(void **state)
{
	pthread_t t;
	struct bg b = {0};
	(void)state;
	kill(signer_pid, SIGSTOP); /* the request is accepted by the kernel and waits in the signer */
	pthread_create(&t, NULL, bg_sign, &b);
	usleep(300000);
	kill(signer_pid, SIGKILL);
	waitpid(signer_pid, NULL, 0);
	signer_pid = -1;
	pthread_join(t, NULL);
	assert_int_equal(b.rc, -1);
	assert_true(b.ms < 5000);
	bg_sign(&b);
	assert_int_equal(b.rc, -1);
	start_signer(); /* over the socket file the killed one left */
	bg_sign(&b);
	assert_int_equal(b.rc, 0);
	signatures++;
}

/* The log has one line per signature (and one per refusal), each fsync'd as it was written. */
static void test_log_lines(void **state)
{
	size_t i, signed_lines = 0, refused = 0;
	json_t *o, *log = read_log();
	(void)state;
	json_array_foreach (log, i, o) {
		const char *r = json_string_value(json_object_get(o, "result"));
		assert_non_null(r);
		assert_non_null(json_string_value(json_object_get(o, "time")));
		if (strcmp(r, "signed") == 0)
			signed_lines++;
		else
			refused++;
	}
	assert_int_equal(signed_lines, signatures);
	assert_true(refused >= 6);
	json_decref(log);
}

/* Started as root with [signer] user = nobody: the keys are opened as root, then the process runs
 * as nobody, owns its socket (0660) and log, signs, and a SIGHUP that cannot read keys_dir (0700,
 * root's) keeps the keys it has. */
static void test_privilege_drop(void **state)
{
	char sock2[80], log2[160], status[200], line[256];
	struct stat st;
	unsigned char *sig = NULL;
	size_t tlen, slen;
	char err[256];
	uid_t nobody_uid = 65534;
	(void)state;
	if (getuid() != 0)
		skip();
	snprintf(sock2, sizeof(sock2), "%s/drop.sock", dir);
	snprintf(log2, sizeof(log2), "%s/drop.log", dir);
	pid_t pid = spawn_signer(sock2, log2, "nobody");
	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	/* the socket exists before the drop (it is created as root, then handed over): poll */
	int uid_ok = 0;
	for (int tries = 0; tries < 100 && !uid_ok; tries++) {
		FILE *f = fopen(status, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "Uid:", 4) == 0)
				uid_ok = strtol(line + 4, NULL, 10) == (long)nobody_uid;
		fclose(f);
		if (!uid_ok)
			usleep(50000);
	}
	assert_true(uid_ok);
	assert_int_equal(stat(sock2, &st), 0);
	assert_int_equal(st.st_uid, nobody_uid);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(stat(log2, &st), 0);
	assert_int_equal(st.st_uid, nobody_uid);
	kill(pid, SIGHUP);
	usleep(300000);
	unsigned char *tbs = make_tbs(&keys[2], 0, &tlen);
	assert_int_equal(signer_sign(sock2, keys[2].id, SIGNER_KIND_TBS_CERT, tbs, tlen, &sig, &slen, err,
				     sizeof(err)),
			 0);
	OPENSSL_free(sig);
	OPENSSL_free(tbs);
	kill(pid, SIGTERM);
	int wst = 0;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
}

/* SIGTERM: the signer exits 0 and removes its socket. */
static void test_sigterm(void **state)
{
	int st = 0;
	(void)state;
	kill(signer_pid, SIGTERM);
	assert_int_equal(waitpid(signer_pid, &st, 0), signer_pid);
	signer_pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(sockp, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_keys_sign),
		cmocka_unit_test(test_pkcs11_keys_sign),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_token_late_and_wrong_pin),
		cmocka_unit_test(test_kill9_and_restart),
		cmocka_unit_test(test_log_lines),
		cmocka_unit_test(test_privilege_drop),
		cmocka_unit_test(test_sigterm),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("signer", tests, setup, teardown);
}
