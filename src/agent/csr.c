/* PKCS#10 requests signed on the key: the agent builds CertificationRequestInfo with OpenSSL, the token
 * signs its encoding (SM2: e = SM3(Z || M) for the default ID; RSA: sha256WithRSA; EC: ECDSA-SHA256),
 * and the request is verified here before it leaves the agent. */
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/skfblob.h"
#include "util/xalloc.h"

/* Returns the signature algorithm NID for the key pk, or NID_undef. */
static int sig_nid(EVP_PKEY *pk)
{
	char group[32] = "";

	if (EVP_PKEY_is_a(pk, "RSA"))
		return NID_sha256WithRSAEncryption;
	if (EVP_PKEY_is_a(pk, "SM2"))
		return NID_SM2_with_SM3;
	if (EVP_PKEY_is_a(pk, "EC")) {
		EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
		return strcmp(group, "SM2") == 0 ? NID_SM2_with_SM3 : NID_ecdsa_with_SHA256;
	}
	return NID_undef;
}

/* Fills name from "CN=a,O=b" (UTF-8). Returns 0 or -1. */
static int parse_subject(X509_NAME *name, const char *subject)
{
	char *copy = xstrdup(subject != NULL && subject[0] != '\0' ? subject : "CN=certdesk"), *save = NULL;
	int rc = 0;

	for (char *t = strtok_r(copy, ",", &save); t != NULL && rc == 0; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		while (*t == ' ')
			t++;
		if (eq == NULL || eq == t || eq[1] == '\0') {
			rc = -1;
			break;
		}
		*eq = '\0';
		if (X509_NAME_add_entry_by_txt(name, t, MBSTRING_UTF8, (unsigned char *)eq + 1, -1, -1, 0) !=
		    1)
			rc = -1;
	}
	free(copy);
	return X509_NAME_entry_count(name) > 0 ? rc : -1;
}

/* Sets the signature value and algorithm nid into req. Returns 0 or -1. */
static int set_signature(X509_REQ *req, int nid, const unsigned char *sig, size_t len)
{
	ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	int ok;

	ok = bits != NULL && alg != NULL && ASN1_BIT_STRING_set(bits, (unsigned char *)sig, (int)len) == 1 &&
	     X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
			     nid == NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) == 1 &&
	     X509_REQ_set1_signature_algo(req, alg) == 1;
	X509_ALGOR_free(alg);
	if (!ok) {
		ASN1_BIT_STRING_free(bits);
		return -1;
	}
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07); /* a whole number of bytes */
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	return 0;
}

/* Returns 1 when req's self-signature verifies (SM2 with the default distinguishing ID). */
static int csr_verifies(X509_REQ *req, EVP_PKEY *pk, int nid)
{
	if (nid == NID_SM2_with_SM3) {
		ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
		if (id == NULL ||
		    ASN1_OCTET_STRING_set(id, (const unsigned char *)SKFB_SM2_ID, SKFB_SM2_ID_LEN) != 1) {
			ASN1_OCTET_STRING_free(id);
			return 0;
		}
		X509_REQ_set0_distinguishing_id(req, id);
	}
	return X509_REQ_verify(req, pk) == 1;
}

/* Writes req as PEM (caller frees). */
static char *req_pem(X509_REQ *req)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509_REQ(b, req) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		s = xstrndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

int agent_csr(struct token_module *m, const char *id, const char *ref, const char *subject, char **pem,
	      struct tok_result *res)
{
	EVP_PKEY *pk = NULL;
	X509_REQ *req = X509_REQ_new();
	unsigned char *tbs = NULL, *sig = NULL;
	size_t siglen = 0;
	int n, nid, rc;

	*pem = NULL;
	rc = m->ops->pubkey(m, id, ref, &pk, res);
	if (rc != TOK_OK)
		goto out;
	rc = TOK_BAD;
	nid = sig_nid(pk);
	if (nid == NID_undef || req == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    parse_subject(X509_REQ_get_subject_name(req), subject) != 0 || X509_REQ_set_pubkey(req, pk) != 1)
		goto out;
	if ((n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0)
		goto out;
	rc = m->ops->sign(m, id, ref, tbs, (size_t)n, &sig, &siglen, res);
	if (rc != TOK_OK)
		goto out;
	rc = TOK_ERROR;
	snprintf(res->what, sizeof(res->what), "csr_verify");
	if (set_signature(req, nid, sig, siglen) != 0 || !csr_verifies(req, pk, nid))
		goto out; /* the token signed something else, or with another key */
	*pem = req_pem(req);
	rc = *pem != NULL ? TOK_OK : TOK_ERROR;
out:
	OPENSSL_free(tbs);
	free(sig);
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	return rc;
}

int agent_sign(struct token_module *m, const char *id, const char *ref, const unsigned char *data, size_t len,
	       unsigned char **sig, size_t *siglen, struct tok_result *res)
{
	return m->ops->sign(m, id, ref, data, len, sig, siglen, res);
}

/* Prints one key's line and its certificates for people. */
static void list_key_text(json_t *k, FILE *f)
{
	json_t *certs = json_object_get(k, "certificates"), *c, *pin = json_object_get(k, "pin");
	size_t i;

	fprintf(f, "%s  [%s %s]  标签: %s  序列号: %s  型号: %s  厂商: %s%s\n",
		json_string_value(json_object_get(k, "id")), json_string_value(json_object_get(k, "kind")),
		json_string_value(json_object_get(k, "module")),
		json_string_value(json_object_get(k, "label")),
		json_string_value(json_object_get(k, "serial")),
		json_string_value(json_object_get(k, "model")),
		json_string_value(json_object_get(k, "manufacturer")),
		json_is_true(json_object_get(k, "blank")) ? "  (空白 key)" : "");
	if (json_is_true(json_object_get(pin, "locked")))
		fprintf(f, "  PIN: 已锁定\n");
	else if (pin != NULL && json_integer_value(json_object_get(pin, "max_retries")) > 0)
		fprintf(f, "  PIN: 剩余重试 %lld/%lld 次%s\n",
			json_integer_value(json_object_get(pin, "retries_left")),
			json_integer_value(json_object_get(pin, "max_retries")),
			json_is_true(json_object_get(pin, "default")) ? "（仍是初始 PIN，请修改）" : "");
	if (json_array_size(certs) == 0)
		fprintf(f, "  (无证书)\n");
	json_array_foreach (certs, i, c)
		fprintf(f, "  证书 [%s] %s\n    主题: %s\n    颁发者: %s\n    有效期: %s 至 %s\n",
			json_string_value(json_object_get(c, "usage")),
			json_string_value(json_object_get(c, "serial")),
			json_string_value(json_object_get(c, "subject")),
			json_string_value(json_object_get(c, "issuer")),
			json_string_value(json_object_get(c, "not_before")),
			json_string_value(json_object_get(c, "not_after")));
}

int agent_list(struct agent *a, int as_json, FILE *f)
{
	json_t *st = agent_status_json(a), *keys = agent_keys_json(a), *k, *mod;
	size_t i;

	if (as_json) {
		json_object_set(keys, "modules", json_object_get(st, "modules"));
		json_dumpf(keys, f, JSON_INDENT(2));
		fputc('\n', f);
	} else {
		json_array_foreach (json_object_get(st, "modules"), i, mod)
			if (!json_is_true(json_object_get(mod, "ok")))
				fprintf(f, "模块 %s 未能加载: %s\n",
					json_string_value(json_object_get(mod, "path")),
					json_string_value(json_object_get(mod, "error")));
		if (json_array_size(json_object_get(keys, "keys")) == 0)
			fprintf(f, "未找到 USB key（请插入后重试，或检查配置中的模块）\n");
		json_array_foreach (json_object_get(keys, "keys"), i, k)
			list_key_text(k, f);
	}
	json_decref(st);
	json_decref(keys);
	return 0;
}
