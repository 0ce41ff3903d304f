/* certdesk-agent's token interface: one struct token_module per loaded PKCS#11 module or SKF library,
 * each with its backend's operations (token_p11.c, token_skf.c compiled once per ULONG width). A key is
 * a PKCS#11 token or an SKF device, named by an opaque id; a key ref is a key pair on it (PKCS#11 CKA_ID
 * hex / SKF container name). Backends never log PINs and keep only the handles of logged-in keys. */
#ifndef CERTDESK_AGENT_TOKEN_H
#define CERTDESK_AGENT_TOKEN_H
#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#define TOK_ID_MAX 97   /* key id: [A-Za-z0-9._:-], at most 96 characters */
#define TOK_REF_MAX 129 /* key ref: hex CKA_ID or an SKF container name */

/* Errors of token operations; the HTTP layer maps each to one status and code. */
enum tok_err {
	TOK_OK = 0,
	TOK_NOT_FOUND = -1,     /* no such key (or removed before the operation) */
	TOK_REMOVED = -2,       /* removed during the operation */
	TOK_PIN_INCORRECT = -3, /* res->retries_left says how many tries remain (-1: unknown) */
	TOK_PIN_LOCKED = -4,
	TOK_NOT_BLANK = -5,
	TOK_SO_PIN_INCORRECT = -6,
	TOK_ERROR = -7,          /* the vendor's code in res->code, the function in res->what */
	TOK_BAD = -8,            /* a request the token cannot do (unknown algorithm, bad blob) */
	TOK_ULONG_MISMATCH = -9, /* an SKF blob made for the other ULONG width */
	TOK_CERT_MISMATCH = -10, /* the certificate is not for this key pair */
	TOK_UNSUPPORTED = -11,
	TOK_NOT_LOGGED_IN = -12,
	TOK_REF_NOT_FOUND = -13, /* no such key pair / data object */
	TOK_BLANK = -14,         /* the key is blank: nothing to log in to */
};

/* What a failed operation reports besides its error. */
struct tok_result {
	unsigned long code; /* vendor return code (CK_RV / SAR_*) */
	char what[48];      /* the function that failed */
	int retries_left;   /* PIN retries left, -1 when unknown */
};

struct token_module;

struct token_ops {
	/* Appends the module's keys (contract's Key objects, certificates included) to arr. */
	void (*list_keys)(struct token_module *m, json_t *arr);
	/* Initialises blank key id with the SO and user PINs (and label). */
	int (*init)(struct token_module *m, const char *id, const char *so_pin, const char *user_pin,
		    const char *label, struct tok_result *res);
	/* Logs in to key id with the user PIN; the key stays logged in until logout. */
	int (*login)(struct token_module *m, const char *id, const char *pin, struct tok_result *res);
	/* Logs out of key id (no error when it was not logged in). */
	void (*logout)(struct token_module *m, const char *id);
	/* 1 when key id is logged in through handles that still work. A login whose key was pulled out
	 * (even when it has been plugged back in since: its handles stay dead) is ended here, its handles
	 * closed, and 0 returned, so the key is read through fresh handles and its sessions end. */
	int (*logged_in)(struct token_module *m, const char *id);
	/* Generates a key pair of algorithm alg ("sm2", "rsa-2048", ...); fills ref and *pub (caller frees).
	 */
	int (*keypair_new)(struct token_module *m, const char *id, const char *alg, char ref[TOK_REF_MAX],
			   EVP_PKEY **pub, struct tok_result *res);
	/* Returns the key pairs as the contract's array (caller decrefs), NULL with an error in *err. */
	json_t *(*keypairs)(struct token_module *m, const char *id, int *err, struct tok_result *res);
	/* The public key of key pair ref (caller frees). */
	int (*pubkey)(struct token_module *m, const char *id, const char *ref, EVP_PKEY **pub,
		      struct tok_result *res);
	/* Signs data with key pair ref: SM2 over e = SM3(Z||data), RSA sha256WithRSA, EC ECDSA-SHA256;
	 * *sig is the DER signature (RSA: the raw PKCS#1 v1.5 block), caller frees. */
	int (*sign)(struct token_module *m, const char *id, const char *ref, const unsigned char *data,
		    size_t len, unsigned char **sig, size_t *siglen, struct tok_result *res);
	/* Writes certificate der to key pair ref, enc != 0 for the encryption certificate. */
	int (*cert_put)(struct token_module *m, const char *id, const char *ref, int enc,
			const unsigned char *der, size_t len, struct tok_result *res);
	/* Imports the encryption key pair certdeskd wrapped for key pair ref (its JSON). */
	int (*enc_import)(struct token_module *m, const char *id, const char *ref, json_t *wrapped,
			  struct tok_result *res);
	/* Data objects: write (replacing), read (*out caller frees), delete. */
	int (*data_put)(struct token_module *m, const char *id, const char *name, const unsigned char *data,
			size_t len, struct tok_result *res);
	int (*data_get)(struct token_module *m, const char *id, const char *name, unsigned char **out,
			size_t *len, struct tok_result *res);
	int (*data_del)(struct token_module *m, const char *id, const char *name, struct tok_result *res);
	/* Deletes key pair ref and its certificates. */
	int (*keypair_del)(struct token_module *m, const char *id, const char *ref, struct tok_result *res);
	/* Makes key id blank again, authorised by the SO PIN. */
	int (*wipe)(struct token_module *m, const char *id, const char *so_pin, struct tok_result *res);
	/* Unloads the module and frees impl. */
	void (*unload)(struct token_module *m);
};

struct token_module {
	const struct token_ops *ops;
	const char *kind; /* "pkcs11" or "skf" */
	char name[64];    /* file name of the module */
	char path[512];
	int index;      /* position among the modules of its kind: part of the key ids */
	int ulong_bits; /* SKF only */
	int ok;         /* loaded; else error says why */
	char error[256];
	void *impl;
};

/* PKCS#11 (token_p11.c): loads the module at path. Always returns a module (ok = 0 on failure).
 * transport_so_pin ("" or NULL: none) is the SO PIN tokens initialised at the factory ship with: init
 * changes it to the SO PIN it is given, wipe sets it back. */
struct token_module *token_p11_load(const char *path, int index, const char *transport_so_pin);
/* Loads the p11-kit registered modules, appending them to *mods (n in *count), from index on. */
void token_p11_load_registered(struct token_module ***mods, int *count, int index,
			       const char *transport_so_pin);
/* SKF (token_skf.c, once per width): loads the library at path with ULONG of bits (32 or 64). */
struct token_module *token_skf32_load(const char *path, int index, const unsigned char devauth_key[16]);
struct token_module *token_skf64_load(const char *path, int index, const unsigned char devauth_key[16]);

/* Helpers shared by the backends (token_util.c). */
/* Copies a blank-padded fixed field of n bytes into out (size outlen) without the padding. */
void tok_field(char *out, size_t outlen, const void *field, size_t n);
/* Writes into out the key-id-safe form of s: bytes outside [A-Za-z0-9._-] become '_'. */
void tok_id_safe(char *out, size_t outlen, const char *s);
/* Describes certificate der as the contract's certificate object (key_ref, usage), or NULL. */
json_t *tok_cert_json(const unsigned char *der, size_t len, const char *ref, const char *usage);
/* Returns base64 of the SubjectPublicKeyInfo of pk (caller frees), or NULL. */
char *tok_spki_b64(EVP_PKEY *pk);
/* Returns 1 when certificate der carries public key pub. */
int tok_cert_matches(const unsigned char *der, size_t len, EVP_PKEY *pub);
/* Writes n random bytes as 2n hex characters into out. */
void tok_random_hex(char *out, size_t n);

#endif
