/* certdesk-signer's components (one header, as in OpenBSD acme-client's extern.h):
 *   der.c          strict DER walking and the pieces the checks need
 *   checks.c       what the signer agrees to sign, per kind (pki-contract.md)
 *   keystore.c     the keys of keys_dir: loaded at start and on SIGHUP, looked up per request
 *   keys_file.c    backend: a PEM private key in keys_dir
 *   keys_pkcs11.c  backend: a key on a PKCS#11 token (p11uri.c parses its RFC 7512 URI)
 *   siglog.c       the append-only log, one JSON line per signature or refusal
 *   serve.c        one connection: read the request, check, sign, log, reply
 *   main.c         start-up, socket, privileges, signals */
#ifndef CERTDESK_SIGNER_H
#define CERTDESK_SIGNER_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/signer_proto.h"

#define SIGNER_SM2_ID "1234567812345678" /* GM/T 0009 default distinguishing ID, always set */
#define SIGNER_SM2_ID_LEN 16

/* The algorithms a CA key may have; each signs with exactly one signature algorithm. */
enum key_alg {
	KEY_ALG_RSA = 1, /* sha256WithRSAEncryption, PKCS#1 v1.5 */
	KEY_ALG_P256,    /* ecdsa-with-SHA256 */
	KEY_ALG_SM2,     /* SM2-with-SM3, ID 1234567812345678 */
};

/* A key backend: signs the bytes of a checked TBS with one key. */
struct key_backend {
	const char *name; /* "file" or "pkcs11", for the logs */
	/* Signs tbs (len bytes) with the key's algorithm; returns 0 with *sig (OPENSSL_malloc'd, caller
	 * OPENSSL_free's) as it goes into the BIT STRING, or SIGNER_KEY_UNAVAILABLE / SIGNER_INTERNAL
	 * with a reason in why. Called from several threads at once. */
	int (*sign)(void *state, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
		    size_t *siglen, char *why, size_t whylen);
	void (*free)(void *state);
};

/* One CA key of keys_dir. */
struct signer_key {
	char id[SIGNER_MAX_KEY_ID + 1];
	int alg;    /* enum key_alg, from the certificate's public key */
	X509 *cert; /* <id>.crt: issuer/validity/responder checks and the public key */
	const struct key_backend *be;
	void *state; /* the backend's */
};

/* ---- der.c ---- */
/* Returns 1 when p (n bytes) is exactly one DER value (definite minimal lengths, minimal INTEGERs,
 * DER BOOLEANs, nesting below 32) and sets *tag to its first identifier byte; 0 otherwise. */
int der_is_one_value(const unsigned char *p, size_t n, unsigned char *tag);
/* Finds the children of the SEQUENCE p (n bytes, already checked): stores up to max (offset, length)
 * pairs of whole child TLVs in off/len; returns the number of children, or -1. */
int der_children(const unsigned char *p, size_t n, size_t *off, size_t *len, int max);
/* Returns a new buffer (caller frees) holding SEQUENCE { a, b, c } and sets *outlen; NULL on overflow. */
unsigned char *der_wrap3(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
			 const unsigned char *c, size_t clen, size_t *outlen);
/* Returns the DER AlgorithmIdentifier a key of alg signs with (the preferred one), and its length. */
const unsigned char *der_alg_id(int alg, size_t *len);
/* Returns 1 when the AlgorithmIdentifier p (n bytes) is one that a key of alg signs with, else 0. */
int der_alg_id_matches(int alg, const unsigned char *p, size_t n);

/* ---- checks.c ---- */
/* What checks_request found, for the log. */
struct check_info {
	char serial[48]; /* kind 1: the serial number in hex, else "" */
};
/* Checks that data (len bytes) is one DER value of kind that key k may sign (pki-contract.md).
 * Returns 0, or -1 with an English reason in why (the request is REFUSED). */
int checks_request(const struct signer_key *k, int kind, const unsigned char *data, size_t len,
		   struct check_info *info, char *why, size_t whylen);
/* Kind 4, after checks_request: every certificate of the seal's certList must have been issued by
 * one of the CA certificates cas (ncas; the keys' certificates): its subject is the issuer, its key
 * verifies the signature. No database: the seal is bound to this CA's own certificates by their
 * signatures. Returns 0, or -1 with an English reason in why. */
int checks_seal_issuers(const unsigned char *data, size_t len, X509 *const *cas, int ncas, char *why,
			size_t whylen);
/* Returns the enum key_alg of public key pk, or 0 when it is none the signer supports. */
int checks_key_alg(const EVP_PKEY *pk);
/* Returns the name of kind for the log ("tbs_certificate", ...), or "unknown". */
const char *checks_kind_name(int kind);

/* ---- keys_file.c ---- */
extern const struct key_backend keys_file_backend;
/* Loads the PEM private key at path, which must match the certificate's public key pub; returns 0
 * with *state, or -1 with a reason in why. Refuses a file that others than its owner may read. */
int keys_file_load(const char *path, EVP_PKEY *pub, void **state, char *why, size_t whylen);
/* Signs with a private key in memory as the contract says (also used by keys_pkcs11.c's tests). */
int keys_evp_sign(EVP_PKEY *pkey, int alg, const unsigned char *tbs, size_t len, unsigned char **sig,
		  size_t *siglen);

/* ---- p11uri.c ---- */
struct p11_uri {
	char *token;       /* token label */
	char *serial;      /* token serial, optional */
	char *object;      /* CKA_LABEL, optional if id */
	unsigned char *id; /* CKA_ID, optional if object */
	size_t idlen;
	char *pin;    /* pin-value, optional (wiped on free) */
	char *module; /* module-path, optional */
};
/* Parses an RFC 7512 PKCS#11 URI naming a private key; returns 0, or -1 with a reason in why. */
int p11_uri_parse(const char *s, struct p11_uri *u, char *why, size_t whylen);
/* Frees what u holds and wipes the PIN. */
void p11_uri_free(struct p11_uri *u);

/* ---- keys_pkcs11.c ---- */
extern const struct key_backend keys_pkcs11_backend;
/* Prepares the key named by the .p11 file at path for key id (the token is reached at the first
 * signature, and again after any failure); pub is the certificate's public key. Returns 0 with
 * *state, or -1 with a reason in why (the file is malformed, the module does not load). */
int keys_pkcs11_load(const char *id, const char *path, EVP_PKEY *pub, void **state, char *why, size_t whylen);
/* Finalizes every PKCS#11 module loaded (at exit). */
void keys_pkcs11_shutdown(void);

/* ---- keystore.c ---- */
struct keystore;
/* Loads every key of dir ("<id>.pem" or "<id>.p11" with "<id>.crt"); a key that fails is skipped
 * with a line on stderr. Returns the store (possibly empty), or NULL when dir cannot be read. */
struct keystore *keystore_load(const char *dir);
/* Returns the number of keys in ks. */
int keystore_count(const struct keystore *ks);
/* Returns the key of id (valid while ks lives), or NULL. */
const struct signer_key *keystore_find(const struct keystore *ks, const char *id);
/* Kind 4: checks_seal_issuers with the certificates of every key of ks. Returns 0, or -1 with why. */
int keystore_seal_issuers(const struct keystore *ks, const unsigned char *data, size_t len, char *why,
			  size_t whylen);
/* Frees ks and its keys. */
void keystore_free(struct keystore *ks);
/* Makes one signer_key for a private key in memory (unit tests); pkey is taken over. */
struct signer_key *keystore_key_from_evp(const char *id, EVP_PKEY *pkey, X509 *cert);
/* Frees a key made by keystore_key_from_evp. */
void keystore_key_free(struct signer_key *k);

/* ---- siglog.c ---- */
struct siglog_entry {
	const char *key_id; /* NULL before the key id was read */
	int kind;           /* 0 before the head was read */
	const unsigned char *tbs;
	size_t tbslen;
	const char *serial; /* "" or NULL: none */
	long peer_uid;      /* -1: unknown */
	long peer_pid;
	int status;         /* enum signer_status */
	const char *reason; /* NULL for a signature */
};
/* Opens (creates, 0640) the append-only log at path; returns 0, or -1 with a message in err. */
int siglog_open(const char *path, char *err, size_t errlen);
/* Appends one JSON line for e and fsyncs it; returns 0, or -1 (then no signature leaves the signer). */
int siglog_write(const struct siglog_entry *e);
/* Closes the log. */
void siglog_close(void);

/* ---- serve.c ---- */
/* Where a connection finds the current keys: main.c swaps them on SIGHUP. */
/* Returns the current key store with a read lock held; release with serve_keys_release. */
const struct keystore *serve_keys_acquire(void);
void serve_keys_release(void);
/* Replaces the key store (frees the old one once no request uses it). */
void serve_keys_swap(struct keystore *ks);
/* Serves one request on connected socket fd, then closes fd. */
void serve_connection(int fd);

#endif
