/* Online renewal (在线更新, issue 15), public routes: the USB key is the credential. The agent reads
 * the certificate from the key; POST /renewals/challenge checks it is this CA's, not revoked and in
 * the project's renewal window, and hands out a one-time challenge; the key signs it and POST
 * /renewals/prove gives a renewal token (only its hash is kept) for that certificate. With the token
 * the wizard creates the renewal (an order of kind 'renewal', one live per certificate), reads it and
 * pays it through the existing payment machinery. Issuance and completion: renewal_issue.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "api/form.h"
#include "api/payment_step.h"
#include "api/renewal.h"
#include "core/order_fsm.h"
#include "core/idcard.h"
#include "core/phone.h"
#include "core/uscc.h"
#include "pay/payments.h"
#include "pki/pki.h"
#include "util/strutil.h"
#include "util/timefmt.h"

#define CHALLENGES_PER_IP_MIN 30    /* challenges from one address per minute */
#define CHALLENGES_PER_CERT_HOUR 30 /* challenges for one certificate per hour */
#define MAX_PROFILES 8

static const char CHALLENGE_MSG[] = "验证失败或已过期，请重新插入证书（CA锁）并输入密码后重试";

/* --- shared with renewal_issue.c --- */

/* Picks the profile of the old certificate's key algorithm among those of its key type. */
static void pick_profile(struct db_conn *c, struct renewal *rn)
{
	struct cert_profile_rec ps[MAX_PROFILES];
	X509 *x = pki_cert_from_b64(rn->old.der_b64);
	int n = 0, alg = x != NULL ? pki_key_alg(X509_get0_pubkey(x), NULL, 0) : -1;

	if (alg >= 0 && store_profiles_of(c, rn->orig.project_id, rn->orig.key_type, ps, MAX_PROFILES, &n) == DB_OK)
		for (int i = 0; i < n; i++)
			if (strcmp(ps[i].algorithm, pki_alg_name(alg)) == 0) {
				rn->profile = ps[i];
				rn->have_profile = 1;
			}
	X509_free(x);
}

int renewal_load_cert(struct db_conn *c, const char *serial, struct renewal *rn)
{
	struct ca_rec ca = {0};
	char no[32];
	int rc = store_cert_by_serial(c, serial, &rn->old);

	if (rc != DB_OK)
		return rc;
	rc = store_order_no_of(c, rn->old.order_id, no);
	if (rc == DB_OK)
		rc = store_order_get(c, no, &rn->orig);
	if (rc == DB_OK)
		rc = store_org_get_id(c, rn->old.org_id, &rn->org);
	if (rc == DB_OK)
		rc = store_renewal_settings(c, rn->orig.project_id, &rn->set);
	if (rc == DB_OK)
		rc = store_key_type_get(c, rn->orig.project_id, rn->orig.key_type, &rn->kt);
	if (rc == DB_OK && store_ca_get(c, rn->old.ca_key_id, &ca) == DB_OK)
		str_copy(rn->issuer, ca.subject, sizeof(rn->issuer));
	store_ca_free(&ca);
	if (rc == DB_OK)
		pick_profile(c, rn);
	return rc == DB_NOTFOUND ? -1 : rc; /* a certificate always has its order */
}

void renewal_free(struct renewal *rn)
{
	store_order_free(&rn->o);
	store_order_free(&rn->orig);
	store_cert_free(&rn->old);
}

/* Writes the hex SHA-256 of token into out (65 bytes). */
static void token_hash(const char *token, char out[65])
{
	unsigned char md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, 65, md, sizeof(md));
}

/* The certificate serial of the caller's token. Returns 0, or -1 after replying 401. */
static int token_serial(struct http_req *r, struct db_conn *c, char serial[48], char hash[65])
{
	const char *t = http_header(r, "X-Renewal-Token");

	if (t == NULL || strlen(t) != 64 || strspn(t, "0123456789abcdef") != 64) {
		http_reply_error(r, 401, "token_invalid", "更新凭证无效或已过期，请重新插入证书（CA锁）验证", NULL);
		return -1;
	}
	token_hash(t, hash);
	if (store_renewal_token_get(c, hash, serial) != DB_OK) {
		http_reply_error(r, 401, "token_invalid", "更新凭证无效或已过期，请重新插入证书（CA锁）验证", NULL);
		return -1;
	}
	return 0;
}

/* 1 when serial is the signing certificate renewal o issued. */
static int issued_by(struct db_conn *c, const struct order_rec *o, const char *serial)
{
	struct cert_rec v = {0};
	int same = store_cert_of_order(c, o->id, "sign", &v) == DB_OK && strcmp(v.serial, serial) == 0;

	store_cert_free(&v);
	return same;
}

int renewal_load(struct http_req *r, struct db_conn *c, struct renewal *rn)
{
	char serial[48], hash[65], kind[12] = "", renews[48] = "";
	const char *no = http_param(r, "renewal_no");

	memset(rn, 0, sizeof(*rn));
	if (token_serial(r, c, serial, hash) != 0)
		return -1;
	/* a token opens the renewals of its own certificate only: others' are not there (its own: the
	 * one it renews, or the one that issued it, proved by a key pulled out before the confirmation) */
	if (store_order_get(c, no, &rn->o) != DB_OK || store_order_kind(c, rn->o.id, kind, renews) != DB_OK ||
	    strcmp(kind, "renewal") != 0 || (strcmp(renews, serial) != 0 && !issued_by(c, &rn->o, serial))) {
		http_reply_error(r, 404, "not_found", "没有这笔更新业务", NULL);
		return -1;
	}
	if (renewal_load_cert(c, renews, rn) != DB_OK) {
		api_internal(r, "renewal: certificate");
		return -1;
	}
	return 0;
}

int renewal_years(const struct renewal *rn)
{
	json_t *form = json_loads(rn->o.form != NULL ? rn->o.form : "{}", 0, NULL);
	json_int_t y = json_integer_value(json_object_get(form, "years"));

	json_decref(form);
	return y >= 1 && y <= 9 ? (int)y : 1;
}

int renewal_rekey(const struct renewal *rn)
{
	json_t *form = json_loads(rn->o.form != NULL ? rn->o.form : "{}", 0, NULL);
	const char *mode = json_string_value(json_object_get(form, "mode"));
	/* the mode the renewal was made under, even when the project's changed since */
	int rekey = strcmp(mode != NULL ? mode : rn->set.mode, "rekey") == 0;

	json_decref(form);
	return rekey;
}

time_t renewal_new_not_after(const struct renewal *rn, int years, time_t now)
{
	struct tm tm = {0};
	time_t old = 0, from;

	timefmt_parse_rfc3339(rn->old.not_after, &old);
	/* renewed early: no paid day lost; late (inside the window after expiry): from now */
	from = old > now ? old : now;
	gmtime_r(&from, &tm);
	tm.tm_mon += years * (rn->have_profile ? rn->profile.months_per_year : 12);
	return timegm(&tm) - (from == old ? 0 : 1);
}

/* {"serial","subject","issuer","not_before","not_after","unit_name","uscc"} of the old certificate. */
static json_t *cert_json(const struct renewal *rn)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "serial", rn->old.serial, "subject", rn->old.subject,
			 "issuer", rn->issuer, "not_before", rn->old.not_before, "not_after", rn->old.not_after,
			 "unit_name", rn->org.name, "uscc", rn->org.uscc);
}

json_t *renewal_json(struct db_conn *c, const struct renewal *rn)
{
	json_t *form = json_loads(rn->o.form != NULL ? rn->o.form : "{}", 0, NULL), *j, *certs = NULL;
	int years = renewal_years(rn);
	char nb[TIMEFMT_LEN], na[TIMEFMT_LEN];
	struct cert_rec v = {0};
	time_t now = time(NULL);

	timefmt_rfc3339(now, nb);
	timefmt_rfc3339(renewal_new_not_after(rn, years, now), na);
	/* once issued, the new certificate's own validity */
	if (store_cert_of_order(c, rn->o.id, "sign", &v) == DB_OK) {
		str_copy(nb, v.not_before, sizeof(nb));
		str_copy(na, v.not_after, sizeof(na));
		store_certs_of_order_json(c, rn->o.id, &certs);
	}
	store_cert_free(&v);
	j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:O, s:o, s:s, s:s, s:s, s:b, s:s}", "renewal_no", rn->o.order_no,
		      "state", rn->o.state, "state_label", order_state_label(order_state_from_name(rn->o.state)),
		      "years", years, "amount_fen", (json_int_t)rn->o.price_fen, "invoice",
		      json_object_get(form, "invoice") != NULL ? json_object_get(form, "invoice") : json_null(),
		      "certificate", cert_json(rn), "new_not_before", nb, "new_not_after", na, "mode",
		      renewal_rekey(rn) ? "rekey" : "recertify", "dual", rn->have_profile && rn->profile.dual, "key_type", rn->orig.key_type);
	if (certs != NULL)
		json_object_set_new(j, "new_certificates", certs);
	json_decref(form);
	return j;
}

int renewal_sig_ok(EVP_PKEY *pk, const unsigned char *data, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int sm2 = pki_key_alg(pk, NULL, 0) == PKI_ALG_SM2, ok = 0;

	if (m == NULL)
		return 0;
	if (sm2) {
		/* the agent signs with the GM/T 0009 default ID, as the keys do */
		pctx = EVP_PKEY_CTX_new(pk, NULL);
		if (pctx == NULL || EVP_PKEY_CTX_set1_id(pctx, PKI_SM2_ID, PKI_SM2_ID_LEN) <= 0)
			goto out;
		EVP_MD_CTX_set_pkey_ctx(m, pctx);
	}
	ok = EVP_DigestVerifyInit(m, NULL, sm2 ? EVP_sm3() : EVP_sha256(), NULL, pk) == 1 &&
	     EVP_DigestVerify(m, sig, siglen, data, len) == 1;
out:
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

int renewal_check_challenge(struct db_conn *c, const char *challenge_id, const char *sig_b64, const char *serial,
			    char bound[48])
{
	char b64[64];
	unsigned char *ch = NULL, *sig = NULL;
	size_t chlen = 0, siglen = 0;
	struct cert_rec v = {0};
	X509 *x = NULL;
	int rc = store_renewal_challenge_take(c, challenge_id, bound, b64), out = 3;

	if (rc == DB_NOTFOUND)
		return 1;
	if (rc != DB_OK)
		return -1;
	if (serial != NULL && strcmp(bound, serial) != 0)
		return 2;
	if (store_cert_by_serial(c, bound, &v) != DB_OK)
		return -1;
	x = pki_cert_from_b64(v.der_b64);
	ch = pki_b64_decode(b64, &chlen);
	sig = pki_b64_decode(sig_b64, &siglen);
	if (x == NULL || ch == NULL)
		out = -1;
	else if (sig != NULL && renewal_sig_ok(X509_get0_pubkey(x), ch, chlen, sig, siglen))
		out = 0;
	X509_free(x);
	free(ch);
	free(sig);
	store_cert_free(&v);
	return out;
}

/* --- the window --- */

/* Why the certificate cannot be renewed now (not good, not a signing certificate, outside the
 * window): the HTTP status with *code and the Chinese message in msg; 0 when it can. */
static int not_renewable(const struct renewal *rn, const char **code, char *msg, size_t msglen)
{
	time_t na = 0, now = time(NULL), opens, closes;
	char when[TIMEFMT_LEN];

	*code = strcmp(rn->old.status, "good") != 0 ? "cert_revoked" : "outside_window";
	if (strcmp(rn->old.status, "good") != 0)
		return snprintf(msg, msglen, "该证书已吊销，不能在线更新，请重新申请证书"), 409;
	if (strcmp(rn->old.kind, "sign") != 0) {
		*code = "certificate_invalid";
		return snprintf(msg, msglen, "请使用签名证书办理在线更新"), 422;
	}
	timefmt_parse_rfc3339(rn->old.not_after, &na);
	opens = na - (time_t)rn->set.before_days * 86400;
	closes = na + (time_t)rn->set.after_days * 86400;
	if (now < opens) {
		time_t bj = opens + 8 * 3600;
		struct tm tm;
		gmtime_r(&bj, &tm);
		strftime(when, sizeof(when), "%Y年%m月%d日", &tm);
		return snprintf(msg, msglen, "证书尚未进入更新期，可于%s起（到期前%d天内）在线更新", when,
				rn->set.before_days),
		       409;
	}
	if (now > closes)
		return snprintf(msg, msglen, "证书已过期超过%d天，不能在线更新，请重新申请证书", rn->set.after_days),
		       409;
	return 0;
}

/* Checks the certificate can be renewed now: good, a signing certificate, inside the window.
 * Returns 0, or -1 after replying. */
static int renewable(struct http_req *r, const struct renewal *rn)
{
	const char *code;
	char msg[300];
	int status = not_renewable(rn, &code, msg, sizeof(msg));

	return status == 0 ? 0 : (http_reply_error(r, (unsigned)status, code, msg, NULL), -1);
}

/* The renewal completed for the certificate of a key that cannot be renewed now (the old one of a
 * renewal done in certdesk, or the new one it issued), as the wizard's done screen shows it again:
 * {renewal_no, state, state_label, not_before, not_after (the new signing certificate's),
 * certificates: [{usage, serial, not_before, not_after}]}; NULL when none. Caller decrefs. */
static json_t *completed_json(struct db_conn *c, const struct cert_rec *cert)
{
	static const char *const kinds[] = {"sign", "enc"};
	struct order_rec o = {0};
	struct cert_rec v = {0};
	char no[32], kind[12] = "", renews[48] = "";
	json_t *j = NULL, *certs;

	if (store_renewal_completed_of(c, cert->serial, no) != DB_OK || store_order_get(c, no, &o) != DB_OK)
		return NULL;
	/* a certificate the renewal issued that was revoked since is not shown as renewed */
	if (strcmp(cert->status, "good") != 0 &&
	    (store_order_kind(c, o.id, kind, renews) != DB_OK || strcmp(renews, cert->serial) != 0)) {
		store_order_free(&o);
		return NULL;
	}
	certs = json_array();
	j = json_pack("{s:s, s:s, s:s}", "renewal_no", o.order_no, "state", o.state, "state_label",
		      order_state_label(order_state_from_name(o.state)));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (store_cert_of_order(c, o.id, kinds[i], &v) != DB_OK)
			continue;
		json_array_append_new(certs, json_pack("{s:s, s:s, s:s, s:s}", "usage", kinds[i], "serial", v.serial,
						       "not_before", v.not_before, "not_after", v.not_after));
		if (i == 0) {
			json_object_set_new(j, "not_before", json_string(v.not_before));
			json_object_set_new(j, "not_after", json_string(v.not_after));
		}
		store_cert_free(&v);
		memset(&v, 0, sizeof(v));
	}
	json_object_set_new(j, "certificates", certs);
	store_order_free(&o);
	return j;
}

/* Counts a challenge against the limits of the address and the certificate. Returns 0, or -1
 * after replying 429. */
static int rate_ok(struct http_req *r, struct db_conn *c, const char *serial)
{
	char bucket[96];
	int64_t ip_hits = 0, cert_hits = 0;

	snprintf(bucket, sizeof(bucket), "renew-ip:%s", http_remote_addr(r));
	if (store_rate_hit(c, bucket, 60, &ip_hits) != DB_OK)
		return api_internal(r, "renewal: rate"), -1;
	snprintf(bucket, sizeof(bucket), "renew-cert:%s", serial);
	if (store_rate_hit(c, bucket, 3600, &cert_hits) != DB_OK)
		return api_internal(r, "renewal: rate"), -1;
	if (ip_hits > CHALLENGES_PER_IP_MIN || cert_hits > CHALLENGES_PER_CERT_HOUR)
		return http_reply_error(r, 429, "rate_limited", "操作过于频繁，请稍后再试", NULL), -1;
	return 0;
}

/* Decodes the certificate of the request (base64 DER) and finds it. Returns 0, or -1 after
 * replying. */
static int find_cert(struct http_req *r, struct db_conn *c, const char *b64, struct renewal *rn)
{
	unsigned char *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	X509 *x = NULL;
	ASN1_INTEGER *sn;
	BIGNUM *bn = NULL;
	char *hex = NULL, *stored_b64 = NULL;
	int rc = -1, found;

	der = b64 != NULL ? pki_b64_decode(b64, &len) : NULL;
	p = der;
	if (der != NULL)
		x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		http_reply_error(r, 422, "certificate_invalid", "无法读取证书，请确认插入的是本CA签发的证书（CA锁）",
				 "certificate");
		goto out;
	}
	sn = X509_get_serialNumber(x);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	found = hex != NULL ? renewal_load_cert(c, hex, rn) : DB_NOTFOUND;
	/* the same serial from another CA is not ours: the bytes must be the ones issued */
	stored_b64 = found == DB_OK ? pki_b64_encode(der, len) : NULL;
	if (found == DB_OK && stored_b64 != NULL && strcmp(stored_b64, rn->old.der_b64) == 0)
		rc = 0;
	else if (found < 0 && found != DB_NOTFOUND)
		api_internal(r, "renewal: certificate");
	else
		http_reply_error(r, 404, "cert_unknown", "该证书不是本CA签发或未在本系统登记，请联系客服或重新申请",
				 NULL);
out:
	free(der);
	free(stored_b64);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return rc;
}

/* POST /api/v1/renewals/challenge {certificate}: the certificate checked, a one-time challenge. */
int api_renewal_challenge(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *j;
	struct renewal rn = {0};
	unsigned char ch[RENEWAL_CHALLENGE_LEN], idb[16];
	char id[33], *ch_b64 = NULL, exp[TIMEFMT_LEN], live[32] = "", opens[TIMEFMT_LEN], closes[TIMEFMT_LEN],
		msg[300];
	const char *code;
	json_t *done = NULL; /* the renewal completed for this key, when it cannot be renewed now */
	struct db_conn *c;
	time_t na = 0;
	int ok = -1;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (find_cert(r, c, json_string_value(json_object_get(body, "certificate")), &rn) != 0)
		goto out;
	/* a live renewal resumes even when the window closed since it was paid */
	if (store_renewal_live(c, rn.old.serial, live) != DB_OK)
		live[0] = '\0';
	/* a key renewed in certdesk (its old certificate, or the new one) shows that renewal again */
	if (live[0] == '\0' && not_renewable(&rn, &code, msg, sizeof(msg)) != 0)
		done = completed_json(c, &rn.old);
	if (live[0] == '\0' && done == NULL && renewable(r, &rn) != 0)
		goto out;
	if (done == NULL && strcmp(rn.old.status, "good") != 0) {
		http_reply_error(r, 409, "cert_revoked", "该证书已吊销，不能在线更新，请重新申请证书", NULL);
		goto out;
	}
	if (rate_ok(r, c, rn.old.serial) != 0)
		goto out;
	randombytes_buf(ch, sizeof(ch));
	randombytes_buf(idb, sizeof(idb));
	sodium_bin2hex(id, sizeof(id), idb, sizeof(idb));
	ch_b64 = pki_b64_encode(ch, sizeof(ch));
	timefmt_rfc3339(time(NULL) + RENEWAL_CHALLENGE_S, exp);
	if (ch_b64 == NULL ||
	    store_renewal_challenge_add(c, id, rn.old.serial, ch_b64, http_remote_addr(r), exp) != DB_OK) {
		api_internal(r, "renewal: challenge");
		goto out;
	}
	timefmt_parse_rfc3339(rn.old.not_after, &na);
	timefmt_rfc3339(na - (time_t)rn.set.before_days * 86400, opens);
	timefmt_rfc3339(na + (time_t)rn.set.after_days * 86400, closes);
	j = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:s}, s:s, s:s, s:b, s:o, s:I, s:{s:s, s:s}}", "challenge_id", id,
		      "challenge", ch_b64, "expires_at", exp, "certificate", cert_json(&rn), "project", "code",
		      rn.orig.project_code, "name", rn.orig.project_name, "key_type", rn.orig.key_type, "mode",
		      rn.set.mode, "dual", rn.have_profile && rn.profile.dual, "years_options",
		      store_csv_json(rn.kt.years_offered, 1), "price_per_year_fen",
		      (json_int_t)rn.kt.renewal_fen_per_year, "window", "opens_at", opens, "closes_at", closes);
	if (live[0] != '\0') {
		struct order_rec lo = {0};
		if (store_order_get(c, live, &lo) == DB_OK)
			json_object_set_new(j, "renewal", json_pack("{s:s, s:s}", "renewal_no", lo.order_no, "state",
								     lo.state));
		store_order_free(&lo);
	}
	if (done != NULL) {
		json_object_set_new(j, "completed", done);
		done = NULL;
	}
	ok = 0;
	db_release(c);
	c = NULL;
	http_reply_json(r, 200, j);
out:
	if (c != NULL)
		db_release(c);
	(void)ok;
	json_decref(done);
	free(ch_b64);
	renewal_free(&rn);
	json_decref(body);
	return 0;
}

/* POST /api/v1/renewals/prove {challenge_id, signature}: a renewal token for the certificate. */
int api_renewal_prove(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *j;
	const char *cid, *sig;
	char serial[48] = "", token[65], hash[65], exp[TIMEFMT_LEN], live[32] = "";
	unsigned char tb[32];
	struct cert_rec v = {0};
	struct order_rec lo = {0};
	struct db_conn *c;
	int rc;

	if (body == NULL)
		return 0;
	cid = json_string_value(json_object_get(body, "challenge_id"));
	sig = json_string_value(json_object_get(body, "signature"));
	c = db_acquire(app->db);
	/* the proof before anything else: unknown, used, expired and forged look the same */
	rc = cid != NULL && sig != NULL ? renewal_check_challenge(c, cid, sig, NULL, serial) : 1;
	if (rc < 0) {
		api_internal(r, "renewal: challenge");
		goto out;
	}
	if (rc != 0) {
		http_reply_error(r, 401, "challenge_invalid", CHALLENGE_MSG, NULL);
		goto out;
	}
	if (store_cert_by_serial(c, serial, &v) != DB_OK || strcmp(v.status, "good") != 0) {
		http_reply_error(r, 409, "cert_revoked", "该证书已吊销，不能在线更新，请重新申请证书", NULL);
		goto out;
	}
	randombytes_buf(tb, sizeof(tb));
	sodium_bin2hex(token, sizeof(token), tb, sizeof(tb));
	token_hash(token, hash);
	timefmt_rfc3339(time(NULL) + RENEWAL_TOKEN_S, exp);
	if (store_renewal_live(c, serial, live) == DB_OK)
		store_order_get(c, live, &lo);
	if (store_renewal_token_add(c, hash, serial, lo.id, exp) != DB_OK) {
		api_internal(r, "renewal: token");
		goto out;
	}
	j = json_pack("{s:s, s:s, s:s}", "token", token, "expires_at", exp, "certificate_serial", serial);
	if (lo.id != 0) {
		json_object_set_new(j, "renewal_no", json_string(lo.order_no));
		json_object_set_new(j, "state", json_string(lo.state));
	}
	db_release(c);
	c = NULL;
	http_reply_json(r, 200, j);
	sodium_memzero(token, sizeof(token));
out:
	if (c != NULL)
		db_release(c);
	store_cert_free(&v);
	store_order_free(&lo);
	json_decref(body);
	return 0;
}

/* --- the renewal order --- */

/* A well-formed e-mail address: one @, a dotted domain, no spaces. */
static int email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	return at != NULL && at != s && strchr(at + 1, '@') == NULL && strchr(at + 1, '.') != NULL &&
	       at[strlen(at) - 1] != '.' && strpbrk(s, " \t<>,;\"") == NULL;
}

/* A taxpayer identification number: a valid USCC, or 15 / 20 characters of digits and capitals
 * (the older taxpayer ids). */
static int tax_number_ok(const char *s, char out[24])
{
	char u[USCC_LEN + 1];
	size_t n = strlen(s);

	if (uscc_check(s, u) == USCC_OK)
		return str_copy(out, u, 24), 1;
	if ((n == 15 || n == 20) && strspn(s, "0123456789ABCDEFGHJKLMNPQRTUWXY") == n)
		return str_copy(out, s, 24), 1;
	return 0;
}

/* Validates the invoice data of the body into a JSON object (NULL with errors in f). */
static json_t *invoice_of(struct form *f, json_t *body)
{
	json_t *inv = json_object_get(body, "invoice"), *out;
	const char *kind, *name, *phone, *unit = NULL, *tax = NULL, *id = NULL, *email;
	char mobile[MOBILE_LEN + 1], norm[24], idn[IDCARD_LEN + 1];
	time_t now = time(NULL) + 8 * 3600;
	struct tm tm;

	if (!json_is_object(inv)) {
		form_error(f, 422, "invoice", "field_required", "请填写开票信息");
		return NULL;
	}
	gmtime_r(&now, &tm);
	kind = json_string_value(json_object_get(inv, "kind"));
	if (kind == NULL || (strcmp(kind, "org") != 0 && strcmp(kind, "person") != 0)) {
		form_error(f, 422, "invoice.kind", "field_invalid", "请选择单位或个人开票");
		return NULL;
	}
	name = json_string_value(json_object_get(inv, strcmp(kind, "org") == 0 ? "handler_name" : "name"));
	phone = json_string_value(json_object_get(inv, "phone"));
	email = json_string_value(json_object_get(inv, "email"));
	if (name == NULL || utf8_chars(name) < 2 || utf8_chars(name) > 40 || str_has_control(name))
		form_error(f, 422, strcmp(kind, "org") == 0 ? "invoice.handler_name" : "invoice.name", "field_invalid",
			   strcmp(kind, "org") == 0 ? "请填写办理人姓名" : "请填写姓名");
	if (phone == NULL || phone_mobile_normalise(phone, mobile) != 0)
		form_error(f, 422, "invoice.phone", "mobile_invalid", "请填写正确的手机号码");
	if (email == NULL || strlen(email) > 100 || !email_ok(email))
		form_error(f, 422, "invoice.email", "email_invalid", "请填写正确的电子邮箱，用于接收电子发票");
	if (strcmp(kind, "org") == 0) {
		unit = json_string_value(json_object_get(inv, "unit_name"));
		tax = json_string_value(json_object_get(inv, "tax_number"));
		if (unit == NULL || utf8_chars(unit) < 2 || utf8_chars(unit) > 100 || str_has_control(unit))
			form_error(f, 422, "invoice.unit_name", "field_invalid", "请填写单位名称");
		if (tax == NULL || !tax_number_ok(tax, norm))
			form_error(f, 422, "invoice.tax_number", "tax_number_invalid",
				   "纳税人识别号有误，请填写统一社会信用代码或税务登记号");
	} else {
		id = json_string_value(json_object_get(inv, "id_number"));
		if (id == NULL || idcard_check(id, (tm.tm_year + 1900) * 10000L + (tm.tm_mon + 1) * 100 + tm.tm_mday,
					       idn) != IDCARD_OK)
			form_error(f, 422, "invoice.id_number", "id_number_invalid", "身份证号码有误，请核对");
	}
	if (form_failed(f))
		return NULL;
	out = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, strcmp(kind, "org") == 0 ? "handler_name" : "name", name,
			"phone", mobile, "email", email);
	if (unit != NULL) {
		json_object_set_new(out, "unit_name", json_string(unit));
		json_object_set_new(out, "tax_number", json_string(norm));
	}
	if (id != NULL)
		json_object_set_new(out, "id_number", json_string(idn));
	return out;
}

/* 1 when years is one of the key type's options. */
static int years_ok(const struct renewal *rn, json_int_t years)
{
	json_t *opts = store_csv_json(rn->kt.years_offered, 1), *v;
	size_t i;
	int ok = 0;

	json_array_foreach (opts, i, v)
		ok |= json_integer_value(v) == years;
	json_decref(opts);
	return ok;
}

/* Replies with the live renewal no of rn's certificate (status), binding the token to it. */
static int reply_live(struct http_req *r, struct db_conn *c, struct renewal *rn, const char *no, const char *hash,
		      unsigned status)
{
	json_t *j;

	store_order_free(&rn->o);
	if (store_order_get(c, no, &rn->o) != DB_OK)
		return api_internal(r, "renewal: live");
	store_renewal_token_bind(c, hash, rn->o.id);
	j = renewal_json(c, rn);
	return http_reply_json(r, status, j);
}

/* Adds "payment" (the latest attempt's state) to a Renewal. */
static void add_payment(struct db_conn *c, const struct renewal *rn, json_t *j)
{
	struct payment_rec pm = {0};

	if (store_payment_latest(c, rn->o.id, &pm) == DB_OK)
		json_object_set_new(j, "payment", json_pack("{s:s, s:s, s:s}", "provider", pm.provider, "state",
							    pm.state, "paid_at", pm.paid_at));
	else
		json_object_set_new(j, "payment", json_null());
}

/* Validates the body of a create (years among the options, the invoice data, a renewal price):
 * *years and the normalised invoice data (caller decrefs), or NULL after replying 422 / 409. */
static json_t *create_checks(struct http_req *r, const struct renewal *rn, json_t *body, json_int_t *years)
{
	json_t *inv;
	struct form f;

	form_init(&f, r, body);
	*years = json_integer_value(json_object_get(body, "years"));
	if (!json_is_integer(json_object_get(body, "years")) || !years_ok(rn, *years))
		form_error(&f, 422, "years", "field_invalid", "请选择可办理的年限");
	inv = invoice_of(&f, body);
	if (!form_failed(&f) && rn->kt.renewal_fen_per_year <= 0)
		form_error(&f, 409, NULL, "renewal_unavailable", "该项目暂未开通在线更新，请联系客服");
	if (form_failed(&f)) {
		json_decref(inv);
		form_reply(&f);
		return NULL;
	}
	form_free(&f);
	return inv;
}

/* 1 when the renewal o was made with these years and invoice data (a second tab, a retry). */
static int same_request(const struct order_rec *o, json_int_t years, json_t *inv)
{
	json_t *form = json_loads(o->form != NULL ? o->form : "{}", 0, NULL);
	int same = json_integer_value(json_object_get(form, "years")) == years &&
		   json_equal(json_object_get(form, "invoice"), inv);

	json_decref(form);
	return same;
}

/* Fills rn->o as a new renewal order of the certificate: its data, the catalogue's price (never the
 * client's), a verification token. Returns 0, or -1 (no project). */
static int new_order(struct db_conn *c, struct renewal *rn, json_int_t years, json_t *inv, char prefix[8])
{
	struct project_rec p = {0};
	unsigned char vb[32];
	char vt[65];
	json_t *form;

	if (store_project_get(c, rn->orig.project_code, &p) != DB_OK)
		return -1;
	str_copy(prefix, p.order_prefix, 8);
	/* invoice_email where finance's invoice flow reads it for every order */
	form = json_pack("{s:I, s:O, s:s, s:O}", "years", years, "invoice", inv, "mode", rn->set.mode, "invoice_email",
			 json_object_get(inv, "email"));
	store_order_free(&rn->o);
	memset(&rn->o, 0, sizeof(rn->o));
	rn->o.form = json_dumps(form, JSON_COMPACT);
	json_decref(form);
	rn->o.org_id = rn->old.org_id;
	rn->o.project_id = rn->orig.project_id;
	str_copy(rn->o.key_type, rn->orig.key_type, sizeof(rn->o.key_type));
	rn->o.price_fen = (int64_t)years * rn->kt.renewal_fen_per_year;
	randombytes_buf(vb, sizeof(vb));
	sodium_bin2hex(vt, sizeof(vt), vb, sizeof(vb));
	str_copy(rn->o.verify_token, vt, sizeof(rn->o.verify_token));
	return 0;
}

struct supersede_tx {
	const struct order_rec *old; /* the unpaid renewal given up, or NULL */
	const char *note;            /* why, in its history */
	struct order_rec *o;         /* the new renewal, or NULL (only the cancellation) */
	const char *prefix, *serial;
	const struct actor *a;
	int kept; /* old could not be cancelled (paid, or an attempt live again meanwhile) */
};

/* old (awaiting_payment) -> cancelled while no attempt of it could still be paid, and the new
 * renewal made, in one transaction: nothing is lost between the two. */
static int supersede_tx(struct db_conn *c, void *arg)
{
	struct supersede_tx *t = arg;
	struct payment_rec live[4];
	int n = 0, rc = DB_OK;

	t->kept = 0;
	if (t->old != NULL) {
		rc = store_order_transition(c, t->old->id, "awaiting_payment", "cancelled", "cancel", t->note, t->a);
		if (rc == DB_OK)
			rc = store_payments_list(c, "live", NULL, NULL, t->old->id, live, 4, &n);
		if (rc == DB_NOTFOUND || (rc == DB_OK && n > 0)) {
			t->kept = 1;
			return DB_CONFLICT; /* rolled back: it stays as it was */
		}
	}
	if (rc == DB_OK && t->o != NULL)
		rc = store_renewal_create(c, t->o, t->prefix, t->serial, t->a);
	return rc;
}

/* Gives up the unpaid renewal o: its open QR codes closed at the provider (no connection held: *c
 * is released and acquired again), then cancelled, and (when rn is given) the new renewal rn->o made
 * in the same transaction. Returns DB_OK, 1 when o stays live (paid meanwhile, or an attempt that
 * may still be paid), DB_CONFLICT when another tab made a renewal first, or < 0. */
static int give_up(struct http_req *r, struct db_conn **c, const struct order_rec *o, const char *note,
		   struct renewal *rn, const char *prefix)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct supersede_tx t = {.old = o, .note = note, .a = &a};
	int rc;

	db_release(*c);
	rc = paysvc_close_unpaid(app->pay, o);
	*c = db_acquire(app->db);
	if (rc != 0)
		return rc;
	if (rn != NULL) {
		t.o = &rn->o;
		t.prefix = prefix;
		t.serial = rn->old.serial;
	}
	rc = db_tx_conn(*c, supersede_tx, &t);
	return rc == DB_CONFLICT && t.kept ? 1 : rc;
}

/* POST /api/v1/renewals (token) {years, invoice}: the renewal order (201), or the live one (200). A
 * live one still unpaid that was made with other years or invoice data is cancelled for the new one
 * (once nothing can be paid on it any more); the same years and data get the live one. */
int api_renewal_create(struct http_req *r)
{
	struct app *app = http_ctx(r);
	json_t *body = http_json_body(r), *inv = NULL;
	struct renewal rn = {0};
	struct order_rec lo = {0};
	struct actor a = api_actor(r);
	char serial[48], hash[65], live[32] = "", prefix[8] = "";
	struct db_conn *c;
	json_int_t years = 0;
	int rc;

	if (body == NULL)
		return 0;
	c = db_acquire(app->db);
	if (token_serial(r, c, serial, hash) != 0)
		goto out;
	if (renewal_load_cert(c, serial, &rn) != DB_OK ||
	    (store_renewal_live(c, serial, live) == DB_OK && store_order_get(c, live, &lo) != DB_OK)) {
		api_internal(r, "renewal: certificate");
		goto out;
	}
	/* paid (or further on): a second tab gets the same renewal, whatever it asks */
	if (lo.id != 0 && strcmp(lo.state, "awaiting_payment") != 0) {
		reply_live(r, c, &rn, live, hash, 200);
		goto out;
	}
	if ((lo.id == 0 && renewable(r, &rn) != 0) || (inv = create_checks(r, &rn, body, &years)) == NULL)
		goto out;
	if (lo.id != 0 && same_request(&lo, years, inv)) {
		reply_live(r, c, &rn, live, hash, 200);
		goto out;
	}
	if (lo.id != 0 && renewable(r, &rn) != 0) /* a new one only inside the window */
		goto out;
	if (new_order(c, &rn, years, inv, prefix) != 0) {
		api_internal(r, "renewal: project");
		goto out;
	}
	if (lo.id != 0)
		rc = give_up(r, &c, &lo, "年限或开票信息已修改，由新的更新业务取代", &rn, prefix);
	else
		rc = store_renewal_create(c, &rn.o, prefix, serial, &a);
	if ((rc == 1 || rc == DB_CONFLICT) && store_renewal_live(c, serial, live) == DB_OK)
		reply_live(r, c, &rn, live, hash, 200); /* kept, or another tab was quicker */
	else if (rc != DB_OK)
		api_internal(r, "renewal: create");
	else
		reply_live(r, c, &rn, rn.o.order_no, hash, 201);
out:
	db_release(c);
	json_decref(inv);
	store_order_free(&lo);
	renewal_free(&rn);
	json_decref(body);
	return 0;
}

/* POST /api/v1/renewals/{renewal_no}/cancel (token): the user gives up an unpaid renewal (its QR
 * codes closed at the provider first); 200 with the Renewal, cancelled (again: the same); 409 when it
 * is paid or a payment may still arrive. */
int api_renewal_cancel(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct renewal rn = {0};
	json_t *j;
	int rc = DB_OK;

	if (renewal_load(r, c, &rn) != 0)
		goto out;
	if (strcmp(rn.o.state, "awaiting_payment") == 0) {
		rc = give_up(r, &c, &rn.o, "用户在更新向导中取消", NULL, NULL);
		store_order_free(&rn.o);
		memset(&rn.o, 0, sizeof(rn.o));
		if (rc < 0 || store_order_get(c, http_param(r, "renewal_no"), &rn.o) != DB_OK) {
			api_internal(r, "renewal: cancel");
			goto out;
		}
	}
	if (strcmp(rn.o.state, "cancelled") != 0) {
		http_reply_error(r, 409, "state_conflict",
				 strcmp(rn.o.state, "awaiting_payment") == 0
					 ? "付款二维码可能仍在支付中，暂不能取消，请稍后再试"
					 : "该更新业务已付款，不能取消；如需退款请联系客服",
				 NULL);
		goto out;
	}
	j = renewal_json(c, &rn);
	add_payment(c, &rn, j);
	http_reply_json(r, 200, j);
out:
	db_release(c);
	renewal_free(&rn);
	return 0;
}

/* GET /api/v1/renewals/{renewal_no} (token): the Renewal with its payment. */
int api_renewal_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct renewal rn = {0};
	json_t *j;

	if (renewal_load(r, c, &rn) == 0) {
		j = renewal_json(c, &rn);
		add_payment(c, &rn, j);
		http_reply_json(r, 200, j);
	}
	db_release(c);
	renewal_free(&rn);
	return 0;
}

/* The renewal of the path for the caller's token (renewal_load) as a pay_owner_fn: *o gets its
 * order, so that the renewal pays through the order payment step's code (api/payment_step.h). */
static int renewal_owner(struct http_req *r, struct db_conn *c, void *arg, struct order_rec *o)
{
	struct renewal rn = {0};
	int rc = renewal_load(r, c, &rn);

	(void)arg;
	if (rc == 0) {
		*o = rn.o; /* moved: renewal_free leaves it */
		memset(&rn.o, 0, sizeof(rn.o));
	}
	renewal_free(&rn);
	return rc;
}

/* POST /api/v1/renewals/{renewal_no}/payments (token) {provider}: a QR code to pay with. */
int api_renewal_pay(struct http_req *r)
{
	return pay_start(r, renewal_owner, NULL, "该更新业务已付款或已取消，请刷新");
}

/* GET /api/v1/renewals/{renewal_no}/payments/current (token): the payment step, polled. */
int api_renewal_payment_get(struct http_req *r)
{
	return pay_current(r, renewal_owner, NULL);
}

/* GET /api/v1/renewals/{renewal_no}/payments/current/qr.png (token): the open attempt's QR code, the
 * same picture as the order payment route's. The page fetches it with the token header (an <img>
 * cannot send one) and shows it as an object URL; ?v=<out_trade_no> only tells attempts apart. */
int api_renewal_payment_qr(struct http_req *r)
{
	return pay_qr(r, renewal_owner, NULL);
}
