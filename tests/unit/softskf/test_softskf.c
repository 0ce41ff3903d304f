/* The software SKF key through its exported ABI, loaded with dlopen the way certdesk-agent loads a
 * vendor library, with the header compiled for the library's ULONG width (this file is built once
 * per width: SOFTSKF_LIB names the matching .so). Devices are made with certdesk-softskf-tool in a
 * temporary CERTDESK_SOFTSKF_DIR. Covers enumeration, device info, device authentication, PIN
 * counters and unblock, SM2 signing checked by OpenSSL's SM3-with-Z verification, the import of an
 * ENVELOPEDKEYBLOB made by certdesk's km (src/km/envelope.c), certificates, files, the simulated
 * removal after N calls, and misuse of handles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#define SKF_NO_PROTOTYPES
#include "skf/skf_abi.h"
#include "km/km.h"

#define FN_PTR(ret, name, params) ret(*name) params;
static struct {
	SKF_FUNCTIONS(FN_PTR)
} f;

#define FN_LOAD(ret, name, params)                                     \
	{                                                              \
		void *sym_ = dlsym(lib, #name);                        \
		assert_non_null(sym_);                                 \
		memcpy(&f.name, &sym_, sizeof(sym_));                  \
	}

static void *lib;
static char dir[64];

#define APP "CERTDESK"
#define ADMIN_PIN "admin12345"
#define USER_PIN "123456"
#define SM2_ID "1234567812345678"

/* Runs the tool with args (a printf format). Returns its exit status. */
__attribute__((format(printf, 1, 2))) static int tool(const char *fmt, ...)
{
	char args[512], cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", SOFTSKF_TOOL, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/softskf-testXXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	setenv(SOFTSKF_ENV_NAME, dir, 1);
	return tool("create %s key1 --serial SN0001 --label Key-One", dir);
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* SM4-ECB of the 16-byte in under key into out. */
static void sm4_ecb(const unsigned char *key, const unsigned char *in, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_sm4_ecb(), NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, 16), 1);
	assert_int_equal(n, 16);
	EVP_CIPHER_CTX_free(ctx);
}

/* Device authentication with key: GenRandom(8), zero-padded to 16, SM4-ECB. Returns DevAuth's result. */
static ULONG dev_auth(DEVHANDLE h, const char *key)
{
	unsigned char chal[16] = {0}, auth[16];

	assert_int_equal(f.SKF_GenRandom(h, chal, 8), SAR_OK);
	sm4_ecb((const unsigned char *)key, chal, auth);
	return f.SKF_DevAuth(h, auth, 16);
}

/* Connects key1, authenticates, creates the application (user PIN retries 3) and logs the user in. */
static void open_app(DEVHANDLE *dev, HAPPLICATION *app)
{
	ULONG retry = 0;

	assert_int_equal(f.SKF_ConnectDev("key1", dev), SAR_OK);
	assert_int_equal(dev_auth(*dev, "1234567812345678"), SAR_OK);
	assert_int_equal(f.SKF_CreateApplication(*dev, APP, ADMIN_PIN, 5, USER_PIN, 3, SECURE_USER_ACCOUNT, app),
			 SAR_OK);
	assert_int_equal(f.SKF_VerifyPIN(*app, SKF_USER_TYPE, USER_PIN, &retry), SAR_OK);
}

/* open_app and a container "c1" with a signing key; *pub its public key. */
static void open_con(DEVHANDLE *dev, HAPPLICATION *app, HCONTAINER *con, ECCPUBLICKEYBLOB *pub)
{
	open_app(dev, app);
	assert_int_equal(f.SKF_CreateContainer(*app, "c1", con), SAR_OK);
	assert_int_equal(f.SKF_GenECCKeyPair(*con, SGD_SM2_1, pub), SAR_OK);
}

/* The SM2 public key of an ECCPUBLICKEYBLOB as an EVP_PKEY. */
static EVP_PKEY *blob_key(const ECCPUBLICKEYBLOB *b)
{
	static const unsigned char zero[32];
	unsigned char pt[65];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	EVP_PKEY *k = NULL;

	assert_int_equal(b->BitLen, 256);
	assert_memory_equal(b->XCoordinate, zero, 32);
	assert_memory_equal(b->YCoordinate, zero, 32);
	pt[0] = 4;
	memcpy(pt + 1, b->XCoordinate + 32, 32);
	memcpy(pt + 33, b->YCoordinate + 32, 32);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	p = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* Appends the 32-byte big-endian bn to the digest. */
static void md_bn(EVP_MD_CTX *md, const BIGNUM *bn)
{
	unsigned char b[32];
	assert_int_equal(BN_bn2binpad(bn, b, 32), 32);
	EVP_DigestUpdate(md, b, 32);
}

/* e = SM3(Z | msg), Z = SM3(ENTL | ID | a | b | xG | yG | xA | yA) with the default ID (GM/T 0009). */
static void sm2_e(const ECCPUBLICKEYBLOB *pub, const char *msg, unsigned char e[32])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *gx = BN_new(), *gy = BN_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char entl[2] = {0, 16 * 8}, z[32];

	assert_int_equal(EC_GROUP_get_curve(g, p, a, b, NULL), 1);
	assert_int_equal(EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), gx, gy, NULL), 1);
	EVP_DigestInit_ex(md, EVP_sm3(), NULL);
	EVP_DigestUpdate(md, entl, 2);
	EVP_DigestUpdate(md, SM2_ID, 16);
	md_bn(md, a);
	md_bn(md, b);
	md_bn(md, gx);
	md_bn(md, gy);
	EVP_DigestUpdate(md, pub->XCoordinate + 32, 32);
	EVP_DigestUpdate(md, pub->YCoordinate + 32, 32);
	EVP_DigestFinal_ex(md, z, NULL);
	EVP_DigestInit_ex(md, EVP_sm3(), NULL);
	EVP_DigestUpdate(md, z, 32);
	EVP_DigestUpdate(md, msg, strlen(msg));
	EVP_DigestFinal_ex(md, e, NULL);
	EVP_MD_CTX_free(md);
	BN_free(p);
	BN_free(a);
	BN_free(b);
	BN_free(gx);
	BN_free(gy);
	EC_GROUP_free(g);
}

/* Whether OpenSSL verifies sig over msg with SM3 and Z for the default ID. */
static int openssl_verifies(EVP_PKEY *k, const char *msg, const ECCSIGNATUREBLOB *sig)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
	int n, ok;

	ECDSA_SIG_set0(s, BN_bin2bn(sig->r + 32, 32, NULL), BN_bin2bn(sig->s + 32, 32, NULL));
	n = i2d_ECDSA_SIG(s, &der);
	assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16), 1);
	EVP_MD_CTX_set_pkey_ctx(md, pctx);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, k) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)n, (const unsigned char *)msg, strlen(msg)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	return ok;
}

static void test_enum_connect_info(void **state)
{
	char names[64];
	ULONG size = 0, st = 9;
	DEVHANDLE dev = NULL;
	DEVINFO info;
	(void)state;

	assert_int_equal(tool("create %s key2", dir), 0);
	assert_int_equal(tool("create %s key2", dir), 1); /* exists */
	assert_int_equal(f.SKF_EnumDev(TRUE, NULL, &size), SAR_OK);
	assert_int_equal(size, 11); /* "key1\0key2\0\0" */
	size = 5;
	assert_int_equal(f.SKF_EnumDev(TRUE, names, &size), SAR_BUFFER_TOO_SMALL);
	assert_int_equal(size, 11);
	size = sizeof(names);
	assert_int_equal(f.SKF_EnumDev(TRUE, names, &size), SAR_OK);
	assert_memory_equal(names, "key1\0key2\0", 11);

	assert_int_equal(tool("remove %s key2", dir), 0);
	size = sizeof(names);
	assert_int_equal(f.SKF_EnumDev(TRUE, names, &size), SAR_OK);
	assert_memory_equal(names, "key1\0", 6);
	size = sizeof(names);
	assert_int_equal(f.SKF_EnumDev(FALSE, names, &size), SAR_OK);
	assert_int_equal(size, 11);
	assert_int_equal(f.SKF_GetDevState("key2", &st), SAR_OK);
	assert_int_equal(st, SKF_DEV_ABSENT_STATE);
	assert_int_equal(f.SKF_ConnectDev("key2", &dev), SAR_DEVICE_REMOVED);
	assert_null(dev);
	assert_int_equal(f.SKF_GetDevState("key1", &st), SAR_OK);
	assert_int_equal(st, SKF_DEV_PRESENT_STATE);

	assert_int_equal(f.SKF_ConnectDev("key1", &dev), SAR_OK);
	assert_int_equal(f.SKF_GetDevInfo(dev, &info), SAR_OK);
	assert_string_equal(info.Manufacturer, "certdesk");
	assert_string_equal(info.Label, "Key-One");
	assert_string_equal(info.SerialNumber, "SN0001");
	assert_int_equal(info.AlgAsymCap & (SGD_SM2_1 | SGD_SM2_3), SGD_SM2_1 | SGD_SM2_3);
	assert_true(info.AlgSymCap & SGD_SM4_ECB);
	assert_true(info.AlgHashCap & SGD_SM3);
	assert_int_equal(info.DevAuthAlgId, SGD_SM4_ECB);
	assert_int_equal(f.SKF_SetLabel(dev, "Renamed"), SAR_OK);
	assert_int_equal(f.SKF_GetDevInfo(dev, &info), SAR_OK);
	assert_string_equal(info.Label, "Renamed");
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);

	/* the directory is read at every call */
	setenv(SOFTSKF_ENV_NAME, "/nonexistent-softskf", 1);
	assert_int_equal(f.SKF_EnumDev(TRUE, NULL, &size), SAR_OK);
	assert_int_equal(size, 2);
	assert_int_equal(f.SKF_ConnectDev("key1", &dev), SAR_DEVICE_REMOVED);
	setenv(SOFTSKF_ENV_NAME, dir, 1);
}

static void test_dev_auth_and_application(void **state)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL, app2 = NULL;
	char names[64];
	ULONG size = sizeof(names);
	unsigned char junk[16] = {1};
	(void)state;

	assert_int_equal(f.SKF_ConnectDev("key1", &dev), SAR_OK);
	assert_int_equal(f.SKF_CreateApplication(dev, APP, ADMIN_PIN, 5, USER_PIN, 3, 0, &app),
			 SAR_USER_NOT_LOGGED_IN); /* no DevAuth yet */
	assert_int_equal(f.SKF_DevAuth(dev, junk, 16), SAR_INDATAERR); /* no challenge */
	assert_int_equal(dev_auth(dev, "8765432187654321"), SAR_INDATAERR);
	assert_int_equal(f.SKF_CreateApplication(dev, APP, ADMIN_PIN, 5, USER_PIN, 3, 0, &app),
			 SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(dev_auth(dev, "1234567812345678"), SAR_OK);
	assert_int_equal(f.SKF_CreateApplication(dev, APP, ADMIN_PIN, 5, "12345", 3, 0, &app), SAR_PIN_LEN_RANGE);
	assert_int_equal(f.SKF_CreateApplication(dev, APP, ADMIN_PIN, 5, "12345678901234567", 3, 0, &app),
			 SAR_PIN_LEN_RANGE);
	assert_int_equal(f.SKF_CreateApplication(dev, "a/b", ADMIN_PIN, 5, USER_PIN, 3, 0, &app),
			 SAR_APPLICATION_NAME_INVALID);
	assert_int_equal(f.SKF_CreateApplication(dev, APP, ADMIN_PIN, 5, USER_PIN, 3, 0, &app), SAR_OK);
	assert_int_equal(f.SKF_CreateApplication(dev, APP, ADMIN_PIN, 5, USER_PIN, 3, 0, &app2),
			 SAR_APPLICATION_EXISTS);
	assert_int_equal(f.SKF_EnumApplication(dev, names, &size), SAR_OK);
	assert_memory_equal(names, APP "\0", sizeof(APP) + 1);
	assert_int_equal(f.SKF_OpenApplication(dev, "NOPE", &app2), SAR_APPLICATION_NOT_EXISTS);
	assert_int_equal(f.SKF_OpenApplication(dev, APP, &app2), SAR_OK);
	assert_int_equal(f.SKF_CloseApplication(app2), SAR_OK);
	assert_int_equal(f.SKF_DeleteApplication(dev, APP), SAR_OK);
	assert_int_equal(f.SKF_OpenApplication(dev, APP, &app2), SAR_APPLICATION_NOT_EXISTS);
	assert_int_equal(f.SKF_ClearSecureState(app), SAR_OK);
	assert_int_equal(f.SKF_CreateContainer(app, "c1", &app2), SAR_APPLICATION_NOT_EXISTS);
	assert_int_equal(f.SKF_ChangeDevAuthKey(dev, (BYTE *)"abcdefghabcdefgh", 16), SAR_OK);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
	assert_int_equal(f.SKF_CloseApplication(app), SAR_INVALIDHANDLEERR); /* freed with its device */

	/* the new key on a new connection (auth is per connection), and a key made with --devauth */
	assert_int_equal(f.SKF_ConnectDev("key1", &dev), SAR_OK);
	assert_int_equal(f.SKF_ChangeDevAuthKey(dev, (BYTE *)"abcdefghabcdefgh", 16), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(dev_auth(dev, "1234567812345678"), SAR_INDATAERR);
	assert_int_equal(dev_auth(dev, "abcdefghabcdefgh"), SAR_OK);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
	assert_int_equal(tool("create %s key3 --devauth 000102030405060708090a0b0c0d0e0f", dir), 0);
	assert_int_equal(f.SKF_ConnectDev("key3", &dev), SAR_OK);
	assert_int_equal(dev_auth(dev, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"), SAR_OK);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
}

struct sign_job {
	HCONTAINER con;
	ECCPUBLICKEYBLOB pub;
	int failures;
};

/* Signs and reads the container type 10 times on the shared handle. */
static void *sign_loop(void *arg)
{
	struct sign_job *j = arg;
	unsigned char e[32] = {7};
	ECCSIGNATUREBLOB sig;
	ULONG type = 0;

	for (int i = 0; i < 10; i++) {
		e[1] = (unsigned char)i;
		if (f.SKF_ECCSignData(j->con, e, 32, &sig) != SAR_OK || f.SKF_GetContainerType(j->con, &type) != SAR_OK)
			__atomic_add_fetch(&j->failures, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* Four threads on the same container handle (the library's one mutex serialises them). */
static void test_threads(void **state)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	struct sign_job j = {0};
	pthread_t t[4];
	(void)state;

	open_con(&dev, &app, &j.con, &j.pub);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &j), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(j.failures, 0);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
}

/* Only the SKF functions leave the library. */
static void test_exports(void **state)
{
	(void)state;
	assert_null(dlsym(lib, "sk_dev_get"));
	assert_null(dlsym(lib, "softskf_write_file"));
	assert_null(dlsym(lib, "sk_lock"));
}

static void test_pin_lock_unblock(void **state)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	HCONTAINER con = NULL;
	ULONG retry = 99, max = 0, remain = 0;
	BOOL def = FALSE;
	(void)state;

	open_app(&dev, &app);
	assert_int_equal(f.SKF_GetPINInfo(app, SKF_USER_TYPE, &max, &remain, &def), SAR_OK);
	assert_int_equal(max, 3);
	assert_int_equal(remain, 3);
	assert_true(def);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, "wrong-pin", &retry), SAR_PIN_INCORRECT);
	assert_int_equal(retry, 2);
	assert_int_equal(f.SKF_CreateContainer(app, "c1", &con), SAR_USER_NOT_LOGGED_IN); /* logged out */
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, "wrong-pin", &retry), SAR_PIN_INCORRECT);
	assert_int_equal(retry, 1);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, "wrong-pin", &retry), SAR_PIN_LOCKED);
	assert_int_equal(retry, 0);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, USER_PIN, &retry), SAR_PIN_LOCKED);
	assert_int_equal(f.SKF_VerifyPIN(app, 7, USER_PIN, &retry), SAR_USER_TYPE_INVALID);

	assert_int_equal(f.SKF_UnblockPIN(app, "not-admin", "654321", &retry), SAR_PIN_INCORRECT);
	assert_int_equal(retry, 4);
	assert_int_equal(f.SKF_UnblockPIN(app, ADMIN_PIN, "654", &retry), SAR_PIN_LEN_RANGE);
	assert_int_equal(f.SKF_UnblockPIN(app, ADMIN_PIN, "654321", &retry), SAR_OK);
	assert_int_equal(f.SKF_GetPINInfo(app, SKF_ADMIN_TYPE, &max, &remain, &def), SAR_OK);
	assert_int_equal(remain, 5); /* the right admin PIN reset its counter */
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, USER_PIN, &retry), SAR_PIN_INCORRECT);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, "654321", &retry), SAR_OK);
	assert_int_equal(f.SKF_GetPINInfo(app, SKF_USER_TYPE, &max, &remain, &def), SAR_OK);
	assert_int_equal(remain, 3);

	assert_int_equal(f.SKF_ChangePIN(app, SKF_USER_TYPE, "654321", "12", &retry), SAR_PIN_LEN_RANGE);
	assert_int_equal(f.SKF_ChangePIN(app, SKF_USER_TYPE, "000000", "customer1", &retry), SAR_PIN_INCORRECT);
	assert_int_equal(retry, 2);
	assert_int_equal(f.SKF_ChangePIN(app, SKF_USER_TYPE, "654321", "customer1", &retry), SAR_OK);
	assert_int_equal(f.SKF_GetPINInfo(app, SKF_USER_TYPE, &max, &remain, &def), SAR_OK);
	assert_false(def);
	assert_int_equal(remain, 3);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, "customer1", &retry), SAR_OK);
	assert_int_equal(f.SKF_CreateContainer(app, "c1", &con), SAR_OK);
	assert_int_equal(f.SKF_ClearSecureState(app), SAR_OK);
	assert_int_equal(f.SKF_CreateContainer(app, "c2", &con), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
}

static void test_sign_verify(void **state)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	HCONTAINER con = NULL;
	ECCPUBLICKEYBLOB pub, exported;
	ECCSIGNATUREBLOB sig;
	ULONG len = 0, type = 9;
	unsigned char e[32];
	const char *msg = "certdesk CertificationRequestInfo";
	EVP_PKEY *k;
	(void)state;

	open_app(&dev, &app);
	assert_int_equal(f.SKF_CreateContainer(app, "c1", &con), SAR_OK);
	assert_int_equal(f.SKF_GetContainerType(con, &type), SAR_OK);
	assert_int_equal(type, SKF_CONTAINER_EMPTY);
	assert_int_equal(f.SKF_ECCSignData(con, e, 32, &sig), SAR_KEYNOTFOUNTERR);
	assert_int_equal(f.SKF_GenECCKeyPair(con, SGD_SM2_1, &pub), SAR_OK);
	assert_int_equal(f.SKF_GetContainerType(con, &type), SAR_OK);
	assert_int_equal(type, SKF_CONTAINER_ECC);
	assert_int_equal(f.SKF_ExportPublicKey(con, TRUE, NULL, &len), SAR_OK);
	assert_int_equal(len, sizeof(ECCPUBLICKEYBLOB));
	len = 10;
	assert_int_equal(f.SKF_ExportPublicKey(con, TRUE, (BYTE *)&exported, &len), SAR_BUFFER_TOO_SMALL);
	len = sizeof(exported);
	assert_int_equal(f.SKF_ExportPublicKey(con, TRUE, (BYTE *)&exported, &len), SAR_OK);
	assert_memory_equal(&pub, &exported, sizeof(pub));
	assert_int_equal(f.SKF_ExportPublicKey(con, FALSE, NULL, &len), SAR_KEYNOTFOUNTERR);

	sm2_e(&pub, msg, e);
	assert_int_equal(f.SKF_ECCSignData(con, e, 31, &sig), SAR_INDATALENERR);
	assert_int_equal(f.SKF_ECCSignData(con, e, 32, &sig), SAR_OK);
	k = blob_key(&pub);
	assert_true(openssl_verifies(k, msg, &sig));
	assert_false(openssl_verifies(k, "another message", &sig));
	assert_int_equal(f.SKF_ECCVerify(dev, &pub, e, 32, &sig), SAR_OK);
	e[0] ^= 1;
	assert_int_equal(f.SKF_ECCVerify(dev, &pub, e, 32, &sig), SAR_FAIL);
	EVP_PKEY_free(k);

	assert_int_equal(f.SKF_ClearSecureState(app), SAR_OK);
	assert_int_equal(f.SKF_ECCSignData(con, e, 32, &sig), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(f.SKF_GenECCKeyPair(con, SGD_SM2_1, &pub), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
}

static void test_import_envelope(void **state)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	HCONTAINER con = NULL;
	ECCPUBLICKEYBLOB pub, encpub, want;
	ULONG len = sizeof(encpub);
	EVP_PKEY *sign_pub, *enc = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	unsigned char *blob;
	size_t n = 0;
	(void)state;

	open_con(&dev, &app, &con, &pub);
	sign_pub = blob_key(&pub);
	blob = km_envelope_sm2(enc, sign_pub, (int)sizeof(ULONG), &n);
	assert_non_null(blob);
	assert_int_equal(n, KM_ENVELOPE_LEN(sizeof(ULONG)));
	assert_int_equal(n, offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob) + offsetof(ECCCIPHERBLOB, Cipher) + 16);

	/* a changed encrypted private key: d no longer matches PubKey */
	blob[offsetof(ENVELOPEDKEYBLOB, cbEncryptedPriKey) + 40] ^= 0x55;
	assert_int_equal(f.SKF_ImportECCKeyPair(con, (ENVELOPEDKEYBLOB *)blob), SAR_INDATAERR);
	blob[offsetof(ENVELOPEDKEYBLOB, cbEncryptedPriKey) + 40] ^= 0x55;
	/* a changed C1 (y) of the session key: the envelope does not open */
	blob[offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob) + 100] ^= 0x01;
	assert_int_equal(f.SKF_ImportECCKeyPair(con, (ENVELOPEDKEYBLOB *)blob), SAR_INDATAERR);
	blob[offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob) + 100] ^= 0x01;
	assert_int_equal(f.SKF_ClearSecureState(app), SAR_OK);
	assert_int_equal(f.SKF_ImportECCKeyPair(con, (ENVELOPEDKEYBLOB *)blob), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, USER_PIN, &len), SAR_OK);
	assert_int_equal(f.SKF_ImportECCKeyPair(con, (ENVELOPEDKEYBLOB *)blob), SAR_OK);
	len = sizeof(encpub);
	assert_int_equal(f.SKF_ExportPublicKey(con, FALSE, (BYTE *)&encpub, &len), SAR_OK);
	memcpy(&want, blob + offsetof(ENVELOPEDKEYBLOB, PubKey), sizeof(want));
	assert_memory_equal(&encpub, &want, sizeof(want));
	{
		BIGNUM *x = NULL;
		unsigned char bx[32];
		assert_int_equal(EVP_PKEY_get_bn_param(enc, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
		BN_bn2binpad(x, bx, 32);
		assert_memory_equal(encpub.XCoordinate + 32, bx, 32);
		BN_free(x);
	}
	free(blob);
	EVP_PKEY_free(sign_pub);
	EVP_PKEY_free(enc);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
}

static void test_certificates_and_files(void **state)
{
	DEVHANDLE dev = NULL;
	HAPPLICATION app = NULL;
	HCONTAINER con = NULL;
	ECCPUBLICKEYBLOB pub;
	unsigned char cert[300], out[400];
	char names[64];
	ULONG len = 0;
	FILEATTRIBUTE fa;
	(void)state;

	for (size_t i = 0; i < sizeof(cert); i++)
		cert[i] = (unsigned char)i;
	open_con(&dev, &app, &con, &pub);
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, NULL, &len), SAR_CERTNOTFOUNTERR);
	assert_int_equal(f.SKF_ImportCertificate(con, TRUE, cert, sizeof(cert)), SAR_OK);
	assert_int_equal(f.SKF_ImportCertificate(con, FALSE, cert, 100), SAR_OK);
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, NULL, &len), SAR_OK);
	assert_int_equal(len, sizeof(cert));
	len = 10;
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, out, &len), SAR_BUFFER_TOO_SMALL);
	assert_int_equal(len, sizeof(cert));
	len = sizeof(out);
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, out, &len), SAR_OK);
	assert_memory_equal(out, cert, sizeof(cert));
	len = sizeof(out);
	assert_int_equal(f.SKF_ExportCertificate(con, FALSE, out, &len), SAR_OK);
	assert_int_equal(len, 100);
	assert_int_equal(f.SKF_CloseContainer(con), SAR_OK);
	len = sizeof(names);
	assert_int_equal(f.SKF_EnumContainer(app, names, &len), SAR_OK);
	assert_memory_equal(names, "c1\0", 4);
	assert_int_equal(f.SKF_OpenContainer(app, "c1", &con), SAR_OK);
	len = sizeof(out);
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, out, &len), SAR_OK);

	/* files: 32 bytes is the longest name; write needs the user PIN (the rights asked for) */
	assert_int_equal(f.SKF_CreateFile(app, "123456789012345678901234567890123", 10, SECURE_ANYONE_ACCOUNT,
					  SECURE_USER_ACCOUNT),
			 SAR_NAMELENERR);
	assert_int_equal(f.SKF_CreateFile(app, "seal", 64, SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT), SAR_OK);
	assert_int_equal(f.SKF_CreateFile(app, "seal", 64, SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT),
			 SAR_FILE_ALREADY_EXIST);
	len = sizeof(names);
	assert_int_equal(f.SKF_EnumFiles(app, names, &len), SAR_OK);
	assert_memory_equal(names, "seal\0", 6);
	assert_int_equal(f.SKF_GetFileInfo(app, "seal", &fa), SAR_OK);
	assert_int_equal(fa.FileSize, 64);
	assert_int_equal(fa.WriteRights, SECURE_USER_ACCOUNT);
	assert_int_equal(f.SKF_WriteFile(app, "seal", 4, cert, 60), SAR_OK);
	assert_int_equal(f.SKF_WriteFile(app, "seal", 10, cert, 60), SAR_INDATALENERR);
	len = sizeof(out);
	assert_int_equal(f.SKF_ReadFile(app, "seal", 4, 100, out, &len), SAR_OK);
	assert_int_equal(len, 60);
	assert_memory_equal(out, cert, 60);
	assert_int_equal(f.SKF_ReadFile(app, "none", 0, 10, out, &len), SAR_FILE_NOT_EXIST);
	assert_int_equal(f.SKF_ClearSecureState(app), SAR_OK);
	assert_int_equal(f.SKF_WriteFile(app, "seal", 0, cert, 1), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(f.SKF_ImportCertificate(con, TRUE, cert, 10), SAR_USER_NOT_LOGGED_IN);
	len = sizeof(out);
	assert_int_equal(f.SKF_ReadFile(app, "seal", 0, 4, out, &len), SAR_OK);
	assert_int_equal(f.SKF_DeleteFile(app, "seal"), SAR_USER_NOT_LOGGED_IN);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, USER_PIN, &len), SAR_OK);
	assert_int_equal(f.SKF_DeleteFile(app, "seal"), SAR_OK);
	assert_int_equal(f.SKF_GetFileInfo(app, "seal", &fa), SAR_FILE_NOT_EXIST);
	assert_int_equal(f.SKF_DeleteContainer(app, "c1"), SAR_OK);
	assert_int_equal(f.SKF_GetContainerType(con, &len), SAR_INVALIDHANDLEERR); /* its container is gone */
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
}

static void test_remove_after(void **state)
{
	DEVHANDLE dev = NULL, dev2 = NULL;
	HAPPLICATION app = NULL;
	HCONTAINER con = NULL;
	ECCPUBLICKEYBLOB pub;
	unsigned char cert[8] = {0x30, 6};
	ULONG len = 0;
	(void)state;

	open_app(&dev, &app);
	assert_int_equal(tool("remove-after %s key1 2", dir), 0);
	assert_int_equal(f.SKF_CreateContainer(app, "c1", &con), SAR_OK);       /* 1 */
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, USER_PIN, &len), SAR_OK); /* not counted */
	assert_int_equal(f.SKF_GenECCKeyPair(con, SGD_SM2_1, &pub), SAR_OK);   /* 2 */
	assert_int_equal(f.SKF_ImportCertificate(con, TRUE, cert, sizeof(cert)), SAR_DEVICE_REMOVED); /* 3 */
	assert_int_equal(f.SKF_GetContainerType(con, &len), SAR_DEVICE_REMOVED);
	assert_int_equal(f.SKF_EnumApplication(dev, NULL, &len), SAR_DEVICE_REMOVED);
	assert_int_equal(f.SKF_EnumDev(TRUE, NULL, &len), SAR_OK);
	assert_int_equal(len, 2); /* no device present */
	assert_int_equal(f.SKF_ConnectDev("key1", &dev2), SAR_DEVICE_REMOVED);

	assert_int_equal(tool("insert %s key1", dir), 0);
	assert_int_equal(f.SKF_GetContainerType(con, &len), SAR_DEVICE_REMOVED); /* old handles stay dead */
	assert_int_equal(f.SKF_CloseContainer(con), SAR_OK);
	assert_int_equal(f.SKF_CloseApplication(app), SAR_OK);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);

	assert_int_equal(f.SKF_ConnectDev("key1", &dev), SAR_OK);
	assert_int_equal(f.SKF_OpenApplication(dev, APP, &app), SAR_OK);
	assert_int_equal(f.SKF_OpenContainer(app, "c1", &con), SAR_OK);
	assert_int_equal(f.SKF_ExportPublicKey(con, TRUE, NULL, &len), SAR_OK); /* the key made before */
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, NULL, &len), SAR_CERTNOTFOUNTERR);
	assert_int_equal(tool("remove %s key1", dir), 0);
	assert_int_equal(f.SKF_ExportPublicKey(con, TRUE, NULL, &len), SAR_DEVICE_REMOVED);
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
	assert_int_equal(tool("show %s key1", dir), 0);
}

static void test_handle_misuse(void **state)
{
	DEVHANDLE dev = NULL, dead = NULL;
	HAPPLICATION app = NULL;
	HCONTAINER con = NULL;
	ECCPUBLICKEYBLOB pub;
	ECCSIGNATUREBLOB sig;
	unsigned char e[32] = {0};
	int foreign = 0;
	ULONG len = 0, a = 0, b = 0;
	BOOL def;
	DEVINFO info;
	(void)state;

	assert_int_equal(f.SKF_GetDevInfo(NULL, &info), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_GetDevInfo(&foreign, &info), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_VerifyPIN(NULL, SKF_USER_TYPE, USER_PIN, &len), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_ECCSignData(&foreign, e, 32, &sig), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_CloseContainer(NULL), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_DisConnectDev(NULL), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_EnumDev(TRUE, NULL, NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_ConnectDev(NULL, &dev), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_ConnectDev("key1", NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_ConnectDev("../key1", &dev), SAR_INVALIDPARAMERR);

	open_con(&dev, &app, &con, &pub);
	/* a handle of another kind is refused */
	assert_int_equal(f.SKF_GetDevInfo(app, &info), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_ECCSignData(app, e, 32, &sig), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_VerifyPIN(con, SKF_USER_TYPE, USER_PIN, &len), SAR_INVALIDHANDLEERR);
	/* NULL out-parameters */
	assert_int_equal(f.SKF_GetDevInfo(dev, NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_GetPINInfo(app, SKF_USER_TYPE, &a, &b, NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_ECCSignData(con, NULL, 32, &sig), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_GenECCKeyPair(con, SGD_SM2_1, NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_ImportECCKeyPair(con, NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_ExportCertificate(con, TRUE, NULL, NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_GetFileInfo(app, "x", NULL), SAR_INVALIDPARAMERR);
	assert_int_equal(f.SKF_VerifyPIN(app, SKF_USER_TYPE, NULL, &len), SAR_INVALIDPARAMERR);
	/* closed handles are refused, also the children of a disconnected device */
	assert_int_equal(f.SKF_CloseContainer(con), SAR_OK);
	assert_int_equal(f.SKF_CloseContainer(con), SAR_INVALIDHANDLEERR);
	/* GmSSL's skf_release_key closes the application before its container */
	assert_int_equal(f.SKF_OpenContainer(app, "c1", &con), SAR_OK);
	assert_int_equal(f.SKF_CloseApplication(app), SAR_OK);
	assert_int_equal(f.SKF_ECCSignData(con, e, 32, &sig), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_CloseContainer(con), SAR_OK);
	assert_int_equal(f.SKF_OpenApplication(dev, APP, &app), SAR_OK);
	assert_int_equal(f.SKF_OpenContainer(app, "c1", &con), SAR_OK);
	assert_int_equal(f.SKF_CloseApplication(app), SAR_OK); /* the container is freed with the device */
	assert_int_equal(f.SKF_OpenApplication(dev, APP, &app), SAR_OK);
	assert_int_equal(f.SKF_OpenContainer(app, "c1", &con), SAR_OK);
	dead = dev;
	assert_int_equal(f.SKF_DisConnectDev(dev), SAR_OK);
	assert_int_equal(f.SKF_GetDevInfo(dead, &info), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_GetPINInfo(app, SKF_USER_TYPE, &a, &b, &def), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_ECCSignData(con, e, 32, &sig), SAR_INVALIDHANDLEERR);
	assert_int_equal(f.SKF_DisConnectDev(dead), SAR_INVALIDHANDLEERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enum_connect_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dev_auth_and_application, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_lock_unblock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificates_and_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test(test_exports),
	};
	int r;

	lib = dlopen(SOFTSKF_LIB, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", SOFTSKF_LIB, dlerror());
		return 1;
	}
	SKF_FUNCTIONS(FN_LOAD)
	r = cmocka_run_group_tests(tests, NULL, NULL);
	return r;
}
