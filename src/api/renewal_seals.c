/* Online renewal (issue 15): a main key's electronic seals bound to the renewed signing certificate.
 * When the certificate renewed carries seals made at production (table seals), the renewal makes the
 * same two seals (单位公章, 法人章) with the same pictures (the original order's seal_pictures) for the
 * new signing certificate, once per renewal (a retry returns them), and the completion requires them
 * read back byte-equal. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/production.h"
#include "api/renewal.h"
#include "config/config.h"
#include "pki/pki.h"
#include "seal/seal.h"
#include "util/log.h"
#include "util/strutil.h"

static const struct {
	const char *name;
	int type;
	const char *file;
} types[RENEWAL_SEALS] = {
	{"org", SEAL_TYPE_ORG, PRODUCTION_SEAL_FILE_ORG},
	{"legal", SEAL_TYPE_LEGAL_PERSON, PRODUCTION_SEAL_FILE_LEGAL},
};

int renewal_seals_needed(struct db_conn *c, const struct renewal *rn)
{
	struct seal_rec s[RENEWAL_SEALS];
	int n = 0;

	memset(s, 0, sizeof(s));
	if (!rn->kt.has_seal || rn->old.usb_key_id == 0)
		return 0;
	if (store_seals_of_key(c, rn->old.usb_key_id, rn->old.serial, s, RENEWAL_SEALS, &n) != DB_OK)
		return -1;
	for (int i = 0; i < n; i++)
		store_seal_free(&s[i]);
	return n > 0;
}

int renewal_seals_of(struct db_conn *c, const struct renewal *rn, const char *serial, struct seal_rec *s, int *n)
{
	memset(s, 0, sizeof(*s) * RENEWAL_SEALS);
	*n = 0;
	return store_seals_of_key(c, rn->old.usb_key_id, serial, s, RENEWAL_SEALS, n);
}

void renewal_seals_free(struct seal_rec *s, int n)
{
	for (int i = 0; i < n; i++)
		store_seal_free(&s[i]);
}

/* What making the seals reads first (a connection held briefly). */
struct seal_inputs {
	struct seal_picture_rec pics[RENEWAL_SEALS];
	char names[RENEWAL_SEALS][404];
	char maker_id[48];
	char *maker_b64;
};

static void inputs_free(struct seal_inputs *in)
{
	for (int i = 0; i < RENEWAL_SEALS; i++)
		store_seal_picture_free(&in->pics[i]);
	free(in->maker_b64);
}

/* Reads the original order's pictures, the names and the seal maker. Returns DB_OK or an error. */
static int inputs_read(struct db_conn *c, const struct renewal *rn, const struct cert_rec *sign,
		       struct seal_inputs *in)
{
	json_t *form = json_loads(rn->orig.form != NULL ? rn->orig.form : "{}", 0, NULL);
	const char *legal = json_string_value(json_object_get(form, "legal_name"));
	int rc = DB_OK;

	str_copy(in->names[0], rn->org.name, sizeof(in->names[0]));
	str_copy(in->names[1], legal != NULL ? legal : "", sizeof(in->names[1]));
	json_decref(form);
	for (int i = 0; rc == DB_OK && i < RENEWAL_SEALS; i++)
		rc = store_seal_picture_get(c, rn->orig.id, types[i].name, &in->pics[i]);
	if (rc == DB_OK)
		rc = store_ca_sealmaker(c, sign->ca_key_id, in->maker_id, &in->maker_b64);
	return rc;
}

/* Makes the seal of type index t for sign into s (no connection held: the signer's round trip).
 * Returns 0 or -1 with err. */
static int make_one(const struct app *app, const struct renewal *rn, const struct cert_rec *sign,
		    const struct seal_inputs *in, int t, struct seal_rec *s, char *err, size_t errlen)
{
	const struct seal_picture_rec *p = &in->pics[t];
	size_t png_len = 0, cert_len = 0, maker_len = 0, out_len = 0;
	unsigned char *png = pki_b64_decode(p->png_b64, &png_len), *cert = pki_b64_decode(sign->der_b64, &cert_len),
		      *maker = pki_b64_decode(in->maker_b64, &maker_len), *out = NULL, hash[32];
	char es_id[72], hex[65];
	int w = (int)lround(p->width_mm10 / 10.0), h = (int)lround(p->height_mm10 / 10.0), e = SEAL_ERR_INTERNAL;
	struct seal_in si = {0};

	snprintf(es_id, sizeof(es_id), "%s-%d", rn->o.order_no, types[t].type);
	si = (struct seal_in){.type = types[t].type,
			      .es_id = es_id,
			      .name = in->names[t],
			      .cert_der = cert,
			      .cert_len = cert_len,
			      .png = png,
			      .png_len = png_len,
			      .width_mm = w > 0 ? w : 1,
			      .height_mm = h > 0 ? h : 1};
	if (png != NULL && cert != NULL && maker != NULL)
		e = seal_make(&si, app->cfg->signer_socket, in->maker_id, maker, maker_len, &out, &out_len, err,
			      errlen);
	free(png);
	free(cert);
	free(maker);
	if (e != SEAL_OK)
		return -1;
	memset(s, 0, sizeof(*s));
	crypto_hash_sha256(hash, out, out_len);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	s->order_id = rn->o.id;
	s->usb_key_id = rn->old.usb_key_id;
	str_copy(s->cert_serial, sign->serial, sizeof(s->cert_serial));
	str_copy(s->type, types[t].name, sizeof(s->type));
	str_copy(s->es_id, es_id, sizeof(s->es_id));
	str_copy(s->sha256, hex, sizeof(s->sha256));
	str_copy(s->valid_start, sign->not_before, sizeof(s->valid_start));
	str_copy(s->valid_end, sign->not_after, sizeof(s->valid_end));
	str_copy(s->maker_key_id, in->maker_id, sizeof(s->maker_key_id));
	s->der_b64 = pki_b64_encode(out, out_len);
	free(out);
	return s->der_b64 != NULL ? 0 : -1;
}

int renewal_seals_make(struct http_req *r, const struct renewal *rn, const struct cert_rec *sign)
{
	struct app *app = http_ctx(r);
	struct seal_inputs in;
	struct seal_rec made[RENEWAL_SEALS], have[RENEWAL_SEALS];
	char err[512] = "";
	struct db_conn *c = db_acquire(app->db);
	int nhave = 0, rc, nmade = 0;

	memset(&in, 0, sizeof(in));
	memset(made, 0, sizeof(made));
	rc = renewal_seals_of(c, rn, sign->serial, have, &nhave);
	renewal_seals_free(have, nhave);
	if (rc == DB_OK && nhave == RENEWAL_SEALS) { /* made before: a retry */
		db_release(c);
		return 0;
	}
	rc = rc == DB_OK ? inputs_read(c, rn, sign, &in) : rc;
	db_release(c);
	if (rc != DB_OK) {
		inputs_free(&in);
		return http_reply_error(r, 503, "seal_inputs_missing",
					"原电子签章的图片或制章人证书不可用，请联系客服", NULL),
		       -1;
	}
	for (int t = 0; t < RENEWAL_SEALS; t++, nmade++)
		if (make_one(app, rn, sign, &in, t, &made[t], err, sizeof(err)) != 0)
			break;
	inputs_free(&in);
	if (nmade < RENEWAL_SEALS) {
		log_error("renewal", "renewal %s seals: %s", rn->o.order_no, err);
		renewal_seals_free(made, nmade);
		return http_reply_error(r, 503, "seal_failed", "电子签章制作失败，请稍后重试", NULL), -1;
	}
	c = db_acquire(app->db);
	for (int t = 0; t < RENEWAL_SEALS; t++) /* one made meanwhile by a racing request stays */
		if (store_renewal_seal_insert(c, &made[t]) < 0) {
			db_release(c);
			renewal_seals_free(made, RENEWAL_SEALS);
			return api_internal(r, "renewal: seal insert"), -1;
		}
	db_release(c);
	renewal_seals_free(made, RENEWAL_SEALS);
	return 0;
}

json_t *renewal_seals_json(const struct seal_rec *s, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		for (int t = 0; t < RENEWAL_SEALS; t++)
			if (strcmp(s[i].type, types[t].name) == 0)
				json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "type", s[i].type, "file",
								   types[t].file, "esl", s[i].der_b64));
	return a;
}

int renewal_seals_readback_ok(json_t *list, const struct seal_rec *s, int n)
{
	json_t *e;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) != (size_t)n)
		return 0;
	for (int k = 0; k < n; k++) {
		int found = 0;
		json_array_foreach (list, i, e) {
			const char *type = json_string_value(json_object_get(e, "type"));
			const char *esl = json_string_value(json_object_get(e, "esl"));
			if (type != NULL && strcmp(type, s[k].type) == 0)
				found += esl != NULL && strcmp(esl, s[k].der_b64) == 0 ? 1 : 2;
		}
		if (found != 1)
			return 0;
	}
	return 1;
}

/* --- an imported certificate: the seals read from the key --- */

/* Checks one seal read from the key of an imported certificate: it verifies (its validity dates
 * aside: a renewal may come after them), is bound to the old certificate and has a PNG picture.
 * Returns the index of its type, or -1 with a Chinese reason in why. */
static int old_seal_check(const struct renewal *rn, const unsigned char *der, size_t len, struct seal_report *rep,
			  char *why, size_t wl)
{
	static const int needed[] = {SEAL_CHECK_STRUCTURE, SEAL_CHECK_ALGORITHM, SEAL_CHECK_MAKER_CERT,
				     SEAL_CHECK_SIGNATURE, SEAL_CHECK_CERT_LIST, SEAL_CHECK_PICTURE};
	size_t oldlen = 0;
	unsigned char *old = pki_b64_decode(rn->old.der_b64, &oldlen);
	int bound = 0;

	seal_verify(der, len, time(NULL), rep);
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (rep->checks[needed[i]].result != SEAL_PASSED) {
			snprintf(why, wl, "原电子签章验证失败：%s", rep->checks[needed[i]].message);
			free(old);
			return -1;
		}
	for (int i = 0; old != NULL && rep->seal.cert_list_type == 1 && i < rep->seal.ncerts; i++)
		bound |= rep->seal.certs[i].len == oldlen && memcmp(rep->seal.certs[i].p, old, oldlen) == 0;
	free(old);
	if (!bound)
		return snprintf(why, wl, "原电子签章不属于该证书"), -1;
	if (strcasecmp(rep->seal.pic_type, "png") != 0)
		return snprintf(why, wl, "原电子签章的图片不是 PNG，无法沿用，请联系客服"), -1;
	for (int t = 0; t < RENEWAL_SEALS; t++)
		if (rep->seal.type == types[t].type)
			return t;
	return snprintf(why, wl, "原电子签章的类型无法识别"), -1;
}

int renewal_seals_from_old(struct http_req *r, const struct renewal *rn, const struct cert_rec *sign,
			   json_t *old_seals, json_t **out)
{
	struct app *app = http_ctx(r);
	char why[300] = "", maker_id[48], err[512] = "", es_id[72];
	char *maker_b64 = NULL;
	struct db_conn *c = db_acquire(app->db);
	int rc = store_ca_sealmaker(c, sign->ca_key_id, maker_id, &maker_b64), done = 0;
	size_t i, maker_len = 0, cert_len = 0;
	unsigned char *maker = NULL, *cert = NULL;
	json_t *e;

	db_release(c);
	*out = json_array();
	if (rc != DB_OK)
		return free(maker_b64), api_internal(r, "renewal: seal maker"), -1;
	maker = pki_b64_decode(maker_b64, &maker_len);
	cert = pki_b64_decode(sign->der_b64, &cert_len);
	json_array_foreach (old_seals, i, e) {
		size_t len = 0, out_len = 0;
		unsigned char *der = pki_b64_decode(json_string_value(e) != NULL ? json_string_value(e) : "", &len),
			      *made = NULL;
		struct seal_report rep;
		int t = der != NULL ? old_seal_check(rn, der, len, &rep, why, sizeof(why))
				    : (snprintf(why, sizeof(why), "原电子签章无法读取"), -1);
		if (t >= 0) {
			struct seal_in in = {.type = types[t].type,
					     .es_id = es_id,
					     .name = rep.seal.name,
					     .cert_der = cert,
					     .cert_len = cert_len,
					     .png = rep.seal.picture.p,
					     .png_len = rep.seal.picture.len,
					     .width_mm = rep.seal.width_mm > 0 ? (int)rep.seal.width_mm : 40,
					     .height_mm = rep.seal.height_mm > 0 ? (int)rep.seal.height_mm : 40};
			snprintf(es_id, sizeof(es_id), "%s-%d", rn->o.order_no, types[t].type);
			if (seal_make(&in, app->cfg->signer_socket, maker_id, maker, maker_len, &made, &out_len, err,
				      sizeof(err)) == SEAL_OK) {
				char *b64 = pki_b64_encode(made, out_len);
				json_array_append_new(*out, json_pack("{s:s, s:s, s:s}", "type", types[t].name, "file",
								      types[t].file, "esl", b64));
				free(b64);
				done++;
			} else {
				snprintf(why, sizeof(why), "电子签章制作失败，请稍后重试");
				log_error("renewal", "renewal %s seal: %s", rn->o.order_no, err);
			}
			free(made);
		}
		free(der);
		if (done != (int)i + 1)
			break;
	}
	free(maker);
	free(maker_b64);
	free(cert);
	if (done == (int)json_array_size(old_seals))
		return 0;
	json_decref(*out);
	*out = NULL;
	return http_reply_error(r, 422, "old_seal_invalid", why, "old_seals"), -1;
}
