/* Key management (src/km): the GM/T 0016 ENVELOPEDKEYBLOB decoded back here (the session key
 * SM2-decrypted with the signing private key after turning the blob's X|Y|HASH|CipherLen|Cipher
 * into OpenSSL's DER C1C3C2, then SM4-ECB), with 32- and 64-bit ULONG; the PKCS#11 wraps for RSA
 * and P-256 unwrapped with the signing private key; keys sealed under the KEK (round trip, wrong
 * KEK, other order, changed text refused); the KEK file's creation and checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "km/km.h"
#include "pki/pki.h"

/* Reads a little-endian ULONG of w bytes at p. */
static uint64_t get_ulong(const unsigned char *p, int w)
{
	uint64_t v = 0;
	for (int i = w - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Returns the big-endian value right-aligned in the 64-byte field at p (its first 32 bytes zero). */
static BIGNUM *coord(const unsigned char *p)
{
	static const unsigned char zero[32];
	assert_memory_equal(p, zero, 32);
	return BN_bin2bn(p + 32, 32, NULL);
}

/* Decrypts the blob's ECCCIPHERBLOB at p with the SM2 private key sign: DER C1C3C2 rebuilt from
 * X | Y | HASH | CipherLen | Cipher. Writes the 16-byte session key into key. */
static void open_cipher(const unsigned char *p, int w, EVP_PKEY *sign, unsigned char key[16])
{
	STACK_OF(ASN1_TYPE) *seq = sk_ASN1_TYPE_new_null();
	BIGNUM *x = coord(p), *y = coord(p + 64);
	ASN1_TYPE *t;
	unsigned char *der = NULL;
	size_t outlen = 64;
	unsigned char out[64];
	int len;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(sign, NULL);

	assert_int_equal(get_ulong(p + 160, w), 16);
	for (int i = 0; i < 4; i++) {
		t = ASN1_TYPE_new();
		if (i < 2) {
			ASN1_TYPE_set(t, V_ASN1_INTEGER, BN_to_ASN1_INTEGER(i == 0 ? x : y, NULL));
		} else {
			ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
			ASN1_OCTET_STRING_set(os, i == 2 ? p + 128 : p + 160 + w, i == 2 ? 32 : 16);
			ASN1_TYPE_set(t, V_ASN1_OCTET_STRING, os);
		}
		sk_ASN1_TYPE_push(seq, t);
	}
	len = i2d_ASN1_SEQUENCE_ANY(seq, &der);
	assert_true(len > 0);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_decrypt(ctx, out, &outlen, der, (size_t)len), 1);
	assert_int_equal(outlen, 16);
	memcpy(key, out, 16);
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	BN_free(x);
	BN_free(y);
}

/* SM4-ECB-decrypts 32 bytes at in under key into out. */
static void sm4_open(const unsigned char key[16], const unsigned char *in, unsigned char out[32])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *sm4 = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
	int n = 0, fin = 0;

	assert_int_equal(EVP_DecryptInit_ex(ctx, sm4, NULL, key, NULL), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_DecryptUpdate(ctx, out, &n, in, 32), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, out + n, &fin), 1);
	assert_int_equal(n + fin, 32);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(sm4);
}

/* Decodes an ENVELOPEDKEYBLOB of ULONG width w and checks it carries enc's key for sign. */
static void check_envelope(const unsigned char *b, size_t len, int w, EVP_PKEY *enc, EVP_PKEY *sign)
{
	unsigned char key[16], d[32], want[32];
	const unsigned char *pub = b + 3 * w + 64, *cipher = pub + w + 128;
	BIGNUM *x = NULL, *y = NULL, *priv = NULL, *bx, *by;

	assert_int_equal(len, (size_t)(w == 4 ? 388 : 408));
	assert_int_equal(get_ulong(b, w), 1);           /* Version */
	assert_int_equal(get_ulong(b + w, w), 0x401);   /* ulSymmAlgID = SGD_SM4_ECB */
	assert_int_equal(get_ulong(b + 2 * w, w), 256); /* ulBits */
	assert_int_equal(get_ulong(pub, w), 256);       /* PubKey.BitLen */
	/* PubKey: the encryption key's public point */
	assert_int_equal(EVP_PKEY_get_bn_param(enc, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(enc, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	bx = coord(pub + w);
	by = coord(pub + w + 64);
	assert_int_equal(BN_cmp(x, bx), 0);
	assert_int_equal(BN_cmp(y, by), 0);
	/* the session key opens with the signing private key, and opens the private key */
	open_cipher(cipher, w, sign, key);
	{
		static const unsigned char zero[32];
		assert_memory_equal(b + 3 * w, zero, 32); /* cbEncryptedPriKey: right-aligned */
	}
	sm4_open(key, b + 3 * w + 32, d);
	assert_int_equal(EVP_PKEY_get_bn_param(enc, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
	BN_bn2binpad(priv, want, 32);
	assert_memory_equal(d, want, 32);
	BN_free(x);
	BN_free(y);
	BN_free(bx);
	BN_free(by);
	BN_clear_free(priv);
}

static void test_envelope_sm2(void **state)
{
	EVP_PKEY *sign = pki_key_generate(PKI_ALG_SM2), *enc = pki_key_generate(PKI_ALG_SM2);
	EVP_PKEY *rsa = pki_key_generate(PKI_ALG_RSA2048);
	size_t len = 0;
	unsigned char *b;
	(void)state;

	for (int w = 4; w <= 8; w += 4) {
		b = km_envelope_sm2(enc, sign, w, &len);
		assert_non_null(b);
		assert_int_equal(len, KM_ENVELOPE_LEN(w));
		check_envelope(b, len, w, enc, sign);
		free(b);
	}
	/* a fresh session key each time */
	unsigned char *b1 = km_envelope_sm2(enc, sign, 4, &len), *b2 = km_envelope_sm2(enc, sign, 4, &len);
	assert_memory_not_equal(b1 + 12, b2 + 12, 64);
	free(b1);
	free(b2);
	/* only SM2 keys, only ULONG of 4 or 8 bytes */
	assert_null(km_envelope_sm2(enc, rsa, 4, &len));
	assert_null(km_envelope_sm2(rsa, sign, 4, &len));
	assert_null(km_envelope_sm2(enc, sign, 2, &len));
	EVP_PKEY_free(sign);
	EVP_PKEY_free(enc);
	EVP_PKEY_free(rsa);
}

/* Returns the decoded base64 field name of j (caller frees). */
static unsigned char *field(json_t *j, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(j, name));
	assert_non_null(s);
	unsigned char *d = pki_b64_decode(s, len);
	assert_non_null(d);
	return d;
}

/* AES-KWP-unwraps in under key and parses the PKCS#8 inside; checks it is enc. */
static void check_kwp(const unsigned char key[32], const unsigned char *in, size_t inlen, EVP_PKEY *enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char *out = malloc(inlen);
	const unsigned char *p = out;
	int n = 0, fin = 0;

	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, key, NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, out, &n, in, (int)inlen), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, out + n, &fin), 1);
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, n + fin);
	assert_non_null(p8);
	EVP_PKEY *got = EVP_PKCS82PKEY(p8);
	assert_non_null(got);
	assert_int_equal(EVP_PKEY_eq(got, enc), 1);
	EVP_PKEY_free(got);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_CIPHER_CTX_free(ctx);
	free(out);
}

static void test_wrap_rsa(void **state)
{
	EVP_PKEY *sign = pki_key_generate(PKI_ALG_RSA2048), *enc = pki_key_generate(PKI_ALG_RSA2048);
	json_t *j = km_wrap_p11(enc, sign);
	unsigned char key[256], *wk, *wp; /* RSA decryption wants room for a modulus' worth */
	size_t wklen, wplen, klen = sizeof(key);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(sign, NULL);
	(void)state;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "pkcs11-rsa-oaep-aes-kwp");
	wk = field(j, "wrapped_key", &wklen);
	wp = field(j, "wrapped_private_key", &wplen);
	assert_int_equal(wklen, 256);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
	EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
	assert_int_equal(EVP_PKEY_decrypt(ctx, key, &klen, wk, wklen), 1);
	assert_int_equal(klen, 32);
	check_kwp(key, wp, wplen, enc);
	EVP_PKEY_CTX_free(ctx);
	free(wk);
	free(wp);
	json_decref(j);
	EVP_PKEY_free(sign);
	EVP_PKEY_free(enc);
}

static void test_wrap_p256(void **state)
{
	EVP_PKEY *sign = pki_key_generate(PKI_ALG_P256), *enc = pki_key_generate(PKI_ALG_P256);
	json_t *j = km_wrap_p11(enc, sign);
	unsigned char key[32], z[32], *pt, *wp;
	size_t ptlen, wplen, zlen = sizeof(z);
	(void)state;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "pkcs11-ecdh-aes-kwp");
	assert_string_equal(json_string_value(json_object_get(j, "kdf")), "x963-sha256");
	pt = field(j, "ephemeral_public_key", &ptlen);
	wp = field(j, "wrapped_private_key", &wplen);
	assert_int_equal(ptlen, 65);
	/* what the token does: ECDH with its private key and the ephemeral point, X9.63 KDF SHA-256 */
	EVP_PKEY *eph = EVP_PKEY_new_raw_public_key_ex(NULL, "EC", NULL, pt, ptlen);
	if (eph == NULL) {
		OSSL_PARAM params[3] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
			OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen),
			OSSL_PARAM_construct_end()};
		EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		assert_int_equal(EVP_PKEY_fromdata_init(fc), 1);
		assert_int_equal(EVP_PKEY_fromdata(fc, &eph, EVP_PKEY_PUBLIC_KEY, params), 1);
		EVP_PKEY_CTX_free(fc);
	}
	EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(sign, NULL);
	assert_int_equal(EVP_PKEY_derive_init(dc), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(dc, eph), 1);
	assert_int_equal(EVP_PKEY_derive(dc, z, &zlen), 1);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM kp[3] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
			    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zlen),
			    OSSL_PARAM_construct_end()};
	assert_int_equal(EVP_KDF_derive(kc, key, 32, kp), 1);
	check_kwp(key, wp, wplen, enc);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(eph);
	free(pt);
	free(wp);
	json_decref(j);
	EVP_PKEY_free(sign);
	EVP_PKEY_free(enc);
}

/* A KEK of fill bytes with its id. */
static void kek_of(struct km_kek *k, unsigned char fill, const char *id)
{
	memset(k, 0, sizeof(*k));
	memset(k->key, fill, KM_KEK_LEN);
	snprintf(k->id, sizeof(k->id), "%s", id);
}

static void test_seal_round_trip(void **state)
{
	struct km_kek kek, other;
	(void)state;

	kek_of(&kek, 0x11, "1111111111111111");
	kek_of(&other, 0x22, "2222222222222222");
	for (int alg = 0; alg < PKI_ALG_COUNT; alg++) {
		if (alg == PKI_ALG_RSA3072)
			continue; /* slow to generate, same path as RSA-2048 */
		EVP_PKEY *pk = pki_key_generate(alg), *got;
		char *sealed = km_key_seal(&kek, pk, 42, pki_alg_name(alg));
		assert_non_null(sealed);
		got = km_key_open(&kek, sealed, 42, pki_alg_name(alg));
		assert_non_null(got);
		assert_int_equal(EVP_PKEY_eq(got, pk), 1);
		assert_int_equal(pki_key_alg(got, NULL, 0), alg); /* an SM2 key comes back an SM2 key */
		EVP_PKEY_free(got);
		/* refused: another KEK, another order, another algorithm, a changed byte */
		assert_null(km_key_open(&other, sealed, 42, pki_alg_name(alg)));
		assert_null(km_key_open(&kek, sealed, 43, pki_alg_name(alg)));
		assert_null(km_key_open(&kek, sealed, 42, "rsa3072"));
		sealed[20] = sealed[20] == 'A' ? 'B' : 'A';
		assert_null(km_key_open(&kek, sealed, 42, pki_alg_name(alg)));
		assert_null(km_key_open(&kek, "not base64!", 42, pki_alg_name(alg)));
		free(sealed);
		EVP_PKEY_free(pk);
	}
}

/* A USB key's PINs (issue 13): sealed, opened only with the same KEK, order, serial and PIN kind. */
static void test_pin_seal(void **state)
{
	struct km_kek kek, other;
	char pin[17], again[17], *sealed, *got;
	(void)state;

	kek_of(&kek, 0x11, "1111111111111111");
	kek_of(&other, 0x22, "2222222222222222");
	assert_int_equal(km_pin_random(pin, sizeof(pin), 0), 0);
	assert_int_equal(strlen(pin), 16);
	assert_int_equal(km_pin_random(again, sizeof(again), 0), 0);
	assert_string_not_equal(pin, again);
	assert_int_equal(km_pin_random(again, 9, 1), 0);
	assert_int_equal(strspn(again, "0123456789"), 8);
	sealed = km_pin_seal(&kek, pin, 7, "KEY-1", "so");
	assert_non_null(sealed);
	assert_null(strstr(sealed, pin));
	got = km_pin_open(&kek, sealed, 7, "KEY-1", "so");
	assert_non_null(got);
	assert_string_equal(got, pin);
	free(got);
	assert_null(km_pin_open(&other, sealed, 7, "KEY-1", "so"));
	assert_null(km_pin_open(&kek, sealed, 8, "KEY-1", "so"));
	assert_null(km_pin_open(&kek, sealed, 7, "KEY-2", "so"));
	assert_null(km_pin_open(&kek, sealed, 7, "KEY-1", "user"));
	sealed[4] = sealed[4] == 'A' ? 'B' : 'A';
	assert_null(km_pin_open(&kek, sealed, 7, "KEY-1", "so"));
	free(sealed);
	assert_null(km_pin_seal(&kek, "", 7, "KEY-1", "so"));
}

static void test_kek_file(void **state)
{
	char dir[] = "/tmp/km-test-XXXXXX", path[128], why[256];
	struct km_kek a, b;
	struct stat st;
	int created = 0, fd;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/km.kek", dir);
	assert_int_equal(km_kek_load(path, &a, why, sizeof(why)), KM_KEK_MISSING);
	assert_int_equal(km_kek_ensure(path, &created, why, sizeof(why)), 0);
	assert_int_equal(created, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(km_kek_load(path, &a, why, sizeof(why)), KM_KEK_OK);
	assert_int_equal(strlen(a.id), 16);
	/* a second ensure keeps it */
	assert_int_equal(km_kek_ensure(path, &created, why, sizeof(why)), 0);
	assert_int_equal(created, 0);
	assert_int_equal(km_kek_load(path, &b, why, sizeof(why)), KM_KEK_OK);
	assert_string_equal(a.id, b.id);
	assert_memory_equal(a.key, b.key, KM_KEK_LEN);
	/* readable by others: refused, and never replaced */
	chmod(path, 0644);
	assert_int_equal(km_kek_load(path, &b, why, sizeof(why)), KM_KEK_BAD);
	assert_non_null(strstr(why, "0600"));
	assert_int_equal(km_kek_ensure(path, &created, why, sizeof(why)), -1);
	chmod(path, 0600);
	/* not 32 bytes: refused */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(km_kek_load(path, &b, why, sizeof(why)), KM_KEK_BAD);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	km_kek_wipe(&a);
	km_kek_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_sm2), cmocka_unit_test(test_wrap_rsa),
		cmocka_unit_test(test_wrap_p256),    cmocka_unit_test(test_seal_round_trip),
		cmocka_unit_test(test_kek_file),     cmocka_unit_test(test_pin_seal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
