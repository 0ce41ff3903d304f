/* Key management for dual certificates (issue 12): certdesk generates the ENCRYPTION key pair of a
 * dual profile's order, keeps its private key encrypted under a key-encryption key (KEK) that lives
 * in a file outside the database ([km] kek_file), and hands it out only wrapped for the order's
 * signing key (the USB key): a GM/T 0016 ENVELOPEDKEYBLOB for SM2, a PKCS#11-unwrappable form for
 * RSA and P-256 (envelope.c, p11wrap.c). The operator recovers a key with `certdesk km recover`.
 *
 * Parts: kek.c (the KEK file), keywrap.c (AES-256-GCM under the KEK), envelope.c (SKF blob),
 * p11wrap.c (RSA-OAEP / ECDH + AES key wrap), km_store.c (table enc_keys), km_issue.c (the dual
 * issuance), km_export.c (what the API hands out). */
#ifndef CERTDESK_KM_H
#define CERTDESK_KM_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "store/store.h"

struct db;
struct db_conn;
struct pki_issue_req;
struct cert_rec;

/* --- the KEK (kek.c) --- */

#define KM_KEK_LEN 32
#define KM_KEK_ID_LEN 17 /* 16 hex characters and the NUL */

struct km_kek {
	unsigned char key[KM_KEK_LEN];
	char id[KM_KEK_ID_LEN]; /* hex of the first 8 bytes of SHA-256("certdesk-kek" || key) */
};

enum km_kek_err { KM_KEK_OK = 0, KM_KEK_MISSING = -1, KM_KEK_BAD = -2 };

/* Reads the KEK from path: exactly 32 bytes, a regular file that group and others cannot read
 * (0600 or 0400). Returns KM_KEK_OK, KM_KEK_MISSING (no such file) or KM_KEK_BAD (with why). */
int km_kek_load(const char *path, struct km_kek *kek, char *why, size_t whylen);
/* Creates the KEK file (32 bytes from the CSPRNG, mode 0600, parent directories 0700) when it
 * does not exist; *created says whether it did. Returns 0 or -1 with why. */
int km_kek_ensure(const char *path, int *created, char *why, size_t whylen);
/* Wipes the KEK. */
void km_kek_wipe(struct km_kek *kek);

/* --- private keys under the KEK (keywrap.c) --- */

/* Encrypts pk's PKCS#8 DER with AES-256-GCM under kek, the additional data binding it to order_id
 * and algorithm. Returns base64(nonce 12 | ciphertext | tag 16) (caller frees) or NULL. */
char *km_key_seal(const struct km_kek *kek, EVP_PKEY *pk, int64_t order_id, const char *algorithm);
/* Decrypts what km_key_seal made. Returns the key (caller frees) or NULL when the KEK, order or
 * algorithm is not the one it was sealed with, or the text was changed. */
EVP_PKEY *km_key_open(const struct km_kek *kek, const char *sealed, int64_t order_id, const char *algorithm);

/* --- USB key PINs under the KEK (pinseal.c, issue 13) --- */

/* Seals pin (1..64 bytes) for the key serial of order_id; which is "so" or "user" (bound into the
 * additional data). Returns base64(nonce 12 | AES-256-GCM | tag 16) (caller frees) or NULL. */
char *km_pin_seal(const struct km_kek *kek, const char *pin, int64_t order_id, const char *serial,
		  const char *which);
/* Opens what km_pin_seal made with the same order, serial and which. Returns the PIN (caller wipes
 * and frees) or NULL when anything differs. */
char *km_pin_open(const struct km_kek *kek, const char *sealed, int64_t order_id, const char *serial,
		  const char *which);
/* Writes len - 1 random characters and a NUL into out: digits, or letters and digits without the
 * ones that read alike. Returns 0 or -1. */
int km_pin_random(char *out, size_t len, int digits_only);

/* --- the SKF ENVELOPEDKEYBLOB (envelope.c) --- */

#define KM_SGD_SM4_ECB 0x00000401u
#define KM_ENVELOPE_VERSION 1u
#define KM_SESSION_KEY_LEN 16
/* Bytes of the blob with ULONG of ulong_bytes (4 or 8): 3 ULONGs, 64, PubKey (ULONG + 128),
 * ECCCipherBlob (128 + 32 + ULONG + 16 bytes of cipher). 388 with 32-bit ULONG. */
#define KM_ENVELOPE_LEN(ulong_bytes) (5 * (ulong_bytes) + 64 + 128 + 128 + 32 + KM_SESSION_KEY_LEN)

/* Writes the ENVELOPEDKEYBLOB that carries the SM2 private key of enc to the holder of the SM2
 * public key sign_pub (the USB key's signing key), with ULONG fields of ulong_bytes (4: GM/T 0016
 * as GmSSL and most vendors declare it; 8: vendors whose ULONG is a 64-bit unsigned long) in
 * little-endian order. Returns the blob (caller frees, *len its length) or NULL. */
unsigned char *km_envelope_sm2(EVP_PKEY *enc, EVP_PKEY *sign_pub, int ulong_bytes, size_t *len);

/* --- RSA and P-256: a PKCS#11-unwrappable form (p11wrap.c) --- */

/* Wraps enc's PKCS#8 DER for the RSA or P-256 public key sign_pub. Returns a JSON object (caller
 * decrefs) naming the mechanisms and carrying the base64 parts, or NULL:
 *  RSA:   {"format":"pkcs11-rsa-oaep-aes-kwp", "wrapped_key": RSA-OAEP(SHA-256, MGF1-SHA-256, no
 *          label) of a random AES-256 key, "wrapped_private_key": AES-KWP (RFC 5649) of PKCS#8}
 *  P-256: {"format":"pkcs11-ecdh-aes-kwp", "ephemeral_public_key": an uncompressed P-256 point,
 *          "kdf":"x963-sha256", "wrapped_private_key": AES-KWP under the AES-256 key derived by
 *          ECDH with the signing key and the ANSI X9.63 KDF (SHA-256, no shared info)} */
json_t *km_wrap_p11(EVP_PKEY *enc, EVP_PKEY *sign_pub);

/* --- the table enc_keys (km_store.c) --- */

struct enc_key_rec {
	int64_t id;
	int64_t order_id;
	char cert_serial[48]; /* "" until the encryption certificate is stored */
	char algorithm[16];
	char spki_sha256[65];
	char kek_id[KM_KEK_ID_LEN];
	char created_at[32];
	char *wrapped; /* km_key_seal's text; free with km_enc_key_free */
};

/* Reads the encryption key of order_id. Returns DB_OK, DB_NOTFOUND or < 0. */
int km_enc_key_of_order(struct db_conn *c, int64_t order_id, struct enc_key_rec *k);
/* Inserts k (once per order: DB_CONFLICT when the order has one) and audits it. Returns DB_OK or < 0. */
int km_enc_key_insert(struct db_conn *c, const struct enc_key_rec *k, const char *order_no,
		      const struct actor *a);
/* Links the order's key to its encryption certificate's serial (while unlinked). Returns DB_OK or < 0. */
int km_enc_key_link(struct db_conn *c, int64_t order_id, const char *serial);
/* Replaces the wrapped key of row id sealed under old_kek_id by wrapped under kek_id. Returns DB_OK,
 * DB_NOTFOUND (it changed meanwhile) or < 0. */
int km_enc_key_rewrap(struct db_conn *c, int64_t id, const char *old_kek_id, const char *wrapped,
		      const char *kek_id);
void km_enc_key_free(struct enc_key_rec *k);

/* --- dual issuance (km_issue.c) --- */

/* Errors of the key management besides enum pki_err (pki.h), answered by the API. */
enum km_err {
	KM_OK = 0,
	KM_UNAVAILABLE = 100, /* the KEK file is missing or unusable: 503 */
	KM_KEY_MISMATCH,      /* a stored key does not open with the KEK, or not the certificate's key */
	KM_NO_ENC_CERT,       /* the order has no encryption certificate */
};

/* Issues (or finds) the signing certificate of rq (pki_issue) and, when the order's profile is dual,
 * the encryption certificate: its key is generated once per order (kept sealed under the KEK in
 * kek_file before it is certified, so a retry certifies the same key), then certified with the
 * encryption key usage. No pooled connection is held while keys are made or the signer signs.
 * Returns PKI_OK with *sign (and *enc when *has_enc) filled (store_cert_free), *created = 1 when the
 * signing certificate is new; or an enum pki_err / enum km_err with a detail in English. */
int km_issue(struct db *db, const char *kek_file, const struct pki_issue_req *rq, struct cert_rec *sign,
	     struct cert_rec *enc, int *created, int *has_enc, char *detail, size_t detaillen);

/* Loads and checks the encryption key of enc_cert (kind enc) with the KEK of kek_file: the stored
 * key must open and match the certificate's public key. Returns PKI_OK with *key (caller frees), or
 * an enum km_err / PKI_INTERNAL with detail. Holds c only for the read. */
int km_load_key(struct db_conn *c, const char *kek_file, const struct cert_rec *enc_cert, EVP_PKEY **key,
		char *detail, size_t detaillen);

/* Returns what GET .../certificates/enc-key answers for the encryption key enc and the signing
 * certificate's public key sign_pub: {"format", "algorithm", ...} with the SKF blob ("blob",
 * "ulong_bytes", "length") for SM2 or km_wrap_p11's fields for RSA / P-256 (caller decrefs), or NULL. */
json_t *km_export_json(EVP_PKEY *enc, EVP_PKEY *sign_pub, int ulong_bytes);

/* Returns the stable code, the Chinese message and the HTTP status of a km_err (others: NULL/0). */
const char *km_err_code(int e);
const char *km_err_message(int e);
unsigned km_err_status(int e);

#endif
