/* Electronic seals: GB/T 38540-2020 ("v4") SES_Seal made and read, GM/T 0031-2014 ("v1") and the
 * "v5" variant (v4 + an optional [0] timestamp) read. Pure DER and OpenSSL 3 libcrypto: no database;
 * the maker's private key is reached only through certdesk-signer (kind 4, SIGNER_KIND_SEAL).
 *
 *   SES_Seal (v4) ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING (maker certificate),
 *                                signAlgID OID (1.2.156.10197.1.501), signedValue BIT STRING }
 *   SES_Seal (v1) ::= SEQUENCE { esealInfo SES_SealInfo,
 *                                signInfo SEQUENCE { cert, signatureAlgorithm, signData } }
 * What the maker signs (SM2-with-SM3, ID 1234567812345678): v4 DER(SES_SealInfo); v1
 * DER(SEQUENCE{SES_SealInfo, cert, signatureAlgorithm}). Seal types certdesk writes: 1 单位印章
 * (the organisation's official seal, 公章), 2 法人章 (the legal person's seal or signature). */
#ifndef CERTDESK_SEAL_H
#define CERTDESK_SEAL_H
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define SEAL_MAX_LEN (1024 * 1024) /* largest seal file read (the API's and the CLI's limit) */
#define SEAL_MAX_CERTS 16          /* entries of certList read */
#define SEAL_SM2_SM3_OID "1.2.156.10197.1.501"
#define SEAL_VID "certdesk"        /* the vendor id certdesk writes into the header */

enum seal_type { SEAL_TYPE_ORG = 1, SEAL_TYPE_LEGAL_PERSON = 2 };

/* What seal_make / seal_info_encode build a v4 SES_SealInfo from. Nothing is taken over. */
struct seal_in {
	int type;                      /* SEAL_TYPE_ORG or SEAL_TYPE_LEGAL_PERSON */
	const char *es_id;             /* esID: 1..64 printable ASCII, unique per seal (e.g. the order
					* number and the type: "YT20261125-000001-1") */
	const char *name;              /* UTF-8, 1..200 bytes: the organisation's name, or the legal
					* person's for type 2 */
	const unsigned char *cert_der; /* the organisation's signing certificate (certList, type 1);
					* validStart/validEnd are its notBefore/notAfter */
	size_t cert_len;
	const unsigned char *png;      /* the picture: a PNG file */
	size_t png_len;
	int width_mm, height_mm;       /* its display size, 1..200 mm */
	time_t created;                /* createDate; 0: now */
	const char *vid;               /* the header's vendor id; NULL: SEAL_VID */
};

/* Bytes inside the decoded input (not copied: valid as long as the input is). */
struct seal_bytes {
	const unsigned char *p;
	size_t len;
};

/* A seal as decoded by seal_decode. Strings are NUL-terminated, valid UTF-8 copies. */
struct seal {
	int format;        /* 1 (GM/T 0031, 2 elements), 4 (GB/T 38540), 5 (v5: optional timestamp) */
	long version;      /* the header's version */
	char vid[129];
	char es_id[129];
	long type;         /* property type (1 单位印章, 2 法人章/个人印章, others application-defined) */
	char name[513];
	long cert_list_type; /* 1 certificates, 2 digests; v1: 1 */
	int ncerts;
	struct seal_bytes certs[SEAL_MAX_CERTS];       /* type 1: DER certificates; type 2: digest values */
	char digest_types[SEAL_MAX_CERTS][33];        /* type 2: each digest's algorithm name */
	time_t create_date, valid_start, valid_end;
	char pic_type[17];          /* as written ("PNG", "png", "GIF", "ofd", ...) */
	struct seal_bytes picture;  /* the image file's bytes */
	long width_mm, height_mm;
	int next_datas;             /* ExtData entries in extDatas (0 when absent) */
	struct seal_bytes seal_info;  /* the whole SES_SealInfo TLV */
	struct seal_bytes maker_cert; /* the maker's DER certificate */
	struct seal_bytes alg_tlv;    /* v1: the signatureAlgorithm TLV as written (part of the signed data) */
	char alg_oid[64];             /* the signature algorithm, dotted */
	struct seal_bytes signature;  /* BIT STRING (or OCTET STRING) content: DER SEQUENCE{r,s} or r||s */
	int has_timestamp;            /* v5: the [0] timestamp is present */
};

/* Decodes a seal file (DER; v1, v4 or v5, with the tolerances of real seals: UTCTime or
 * GeneralizedTime, BIT or OCTET STRING, picture types of any case, extDatas). Refuses truncated
 * input, trailing bytes, non-DER lengths, an unknown version or a header id other than "ES".
 * Returns 0, or -1 with a Chinese reason in err. *s points into der afterwards. */
int seal_decode(const unsigned char *der, size_t len, struct seal *s, char *err, size_t errlen);

/* Decodes exactly one v4 SES_SealInfo (what the seal maker signs; certdesk-signer checks it before
 * signing): the fields of s that SES_SealInfo holds are set, the maker's are not. Returns 0, or -1
 * with a Chinese reason in err. *s points into der afterwards. */
int seal_info_decode(const unsigned char *der, size_t len, struct seal *s, char *err, size_t errlen);

/* --- verification (seal_verify.c) --- */

enum seal_check_id {
	SEAL_CHECK_STRUCTURE = 0, /* "structure": the DER decodes (seal_decode) */
	SEAL_CHECK_ALGORITHM,     /* "algorithm": SM2-with-SM3 */
	SEAL_CHECK_MAKER_CERT,    /* "maker_certificate": parses, SM2 key */
	SEAL_CHECK_SIGNATURE,     /* "maker_signature": v4/v1 rule, DER or raw r||s */
	SEAL_CHECK_MAKER_VALIDITY,/* "maker_validity": the maker certificate is valid at now */
	SEAL_CHECK_SEAL_VALIDITY, /* "seal_validity": validStart <= now <= validEnd */
	SEAL_CHECK_CERT_LIST,     /* "cert_list": type 1 certificates parse, type 2 digests listed */
	SEAL_CHECK_PICTURE,       /* "picture": PNG/GIF/JPG magic matches the type, width/height > 0 */
	SEAL_CHECK_COUNT
};
enum seal_result { SEAL_SKIPPED = 0, SEAL_PASSED, SEAL_FAILED };

struct seal_check {
	int result;         /* enum seal_result */
	char message[256];  /* Chinese; why it failed (or a note when it passed, e.g. an opaque picture) */
};

struct seal_report {
	int valid;                 /* 1 when every check passed */
	int decoded;               /* 1 when seal holds the decoded seal */
	struct seal seal;
	time_t now;
	const char *signature_format; /* "der", "raw" (r||s) or NULL */
	struct seal_check checks[SEAL_CHECK_COUNT];
};

/* Verifies the seal file der (len bytes) at time now: every check of enum seal_check_id is run
 * (those that cannot run for an earlier failure are SEAL_SKIPPED). Returns 1 when the seal is valid,
 * 0 when not; rep points into der afterwards. */
int seal_verify(const unsigned char *der, size_t len, time_t now, struct seal_report *rep);
/* Returns the stable name of a check ("structure", "maker_signature", ...). */
const char *seal_check_name(int id);
/* The report as JSON (what `certdesk seal verify --json` prints and POST /api/v1/seals/verify
 * answers): valid, format, header, property, certificates, picture (no bytes: size and SHA-256),
 * maker, checks [{name, result "passed"|"failed"|"skipped", message}]. Returns a new reference. */
json_t *seal_report_json(const struct seal_report *rep);

/* --- making (seal_der.c, seal_make.c) --- */

enum seal_err {
	SEAL_OK = 0,
	SEAL_ERR_INPUT,          /* a seal_in field is out of range, the certificate or the PNG is bad */
	SEAL_ERR_SIGNER_DOWN,    /* the signer cannot be reached, or its key is unavailable: retry */
	SEAL_ERR_SIGNER_REFUSED, /* the signer refused to sign, or holds no such key */
	SEAL_ERR_VERIFY,         /* the assembled seal does not verify (wrong maker certificate, ...) */
	SEAL_ERR_INTERNAL,
};
/* The stable code of an enum seal_err ("seal_input", "seal_signer_unavailable", ...). */
const char *seal_err_code(int e);

/* Encodes the v4 SES_SealInfo of in (DER). Returns SEAL_OK with *out (malloc'd, caller frees) and
 * *outlen, or SEAL_ERR_INPUT with a Chinese reason in err. */
int seal_info_encode(const struct seal_in *in, unsigned char **out, size_t *outlen, char *err, size_t errlen);
/* Assembles a v4 SES_Seal from a DER SES_SealInfo, the maker's DER certificate and the signature
 * (as the signer returns it: DER SEQUENCE{r,s}). Returns 0 with *out (malloc'd) and *outlen, or -1. */
int seal_encode_v4(const unsigned char *info, size_t info_len, const unsigned char *maker_der, size_t maker_len,
		   const unsigned char *sig, size_t sig_len, unsigned char **out, size_t *outlen);

/* Makes a v4 seal: builds the SES_SealInfo of in, has certdesk-signer at signer_socket sign it with
 * maker_key_id (kind 4; the demo CA's key is "sm2-sealmaker-1"), assembles the seal with the maker's
 * certificate maker_cert_der and verifies the result (seal_verify at the current time) before
 * returning it. Returns SEAL_OK with *out (malloc'd, caller frees) and *outlen, or an enum seal_err
 * with a Chinese reason (and the signer's English one) in err. The SealInfo must fit the signer's
 * 65,536 bytes: the PNG and the certificate together stay under about 60 KB. */
int seal_make(const struct seal_in *in, const char *signer_socket, const char *maker_key_id,
	      const unsigned char *maker_cert_der, size_t maker_len, unsigned char **out, size_t *outlen, char *err,
	      size_t errlen);

#endif
