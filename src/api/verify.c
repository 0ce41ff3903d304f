/* The legal person's face verification (法人核验): the QR code on the authorisation letter opens
 * /verify/{token} on a phone; the platform starts a verification with the provider for the order's
 * legal person, the phone goes through the provider's H5 page and comes back, and the platform asks
 * the provider for the result server to server (the redirect's parameters are never trusted). */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "core/idcard.h"
#include "providers/idv.h"
#include "util/strutil.h"

#define STARTS_PER_HOUR 10

/* Writes name with all but its first character masked into out. */
static void mask_name(const char *name, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t first = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : 4;
	long rest = utf8_chars(name) - 1;

	snprintf(out, len, "%.*s", (int)(strlen(name) < first ? strlen(name) : first), name);
	for (long i = 0; i < rest && strlen(out) + 2 < len; i++)
		strcat(out, "*");
}

/* Returns the legal person's name and ID number from the order's form (may be NULL). */
static void legal_of(json_t *form, const char **name, const char **id)
{
	*name = json_string_value(json_object_get(form, "legal_name"));
	*id = json_string_value(json_object_get(form, "legal_id_number"));
}

int api_order_verified(struct db_conn *c, const struct order_rec *o, json_t *form)
{
	struct verif_rec v = {0};
	const char *name, *id;

	legal_of(form, &name, &id);
	return name != NULL && id != NULL &&
	       store_verification_latest(c, o->id, o->verify_token, &v) == DB_OK &&
	       strcmp(v.state, "passed") == 0 && strcmp(v.legal_name, name) == 0 &&
	       strcmp(v.legal_id_number, id) == 0;
}

json_t *api_verification_json(struct db_conn *c, const struct order_rec *o)
{
	struct verif_rec v = {0};

	if (store_verification_latest(c, o->id, o->verify_token, &v) != DB_OK)
		return json_pack("{s:s, s:s}", "state", "none", "message", "法人尚未扫码核验");
	json_t *j = json_pack("{s:s, s:s}", "state", v.state, "message",
			      strcmp(v.state, "passed") == 0    ? "认证成功"
			      : strcmp(v.state, "started") == 0 ? "核验进行中"
								: "核验未通过");
	if (v.reason[0] != '\0')
		json_object_set_new(j, "reason", json_string(v.reason));
	if (v.finished_at[0] != '\0')
		json_object_set_new(j, "finished_at", json_string(v.finished_at));
	return j;
}

/* Replies that the verification link no longer leads to a live order. Returns -1. */
static int link_invalid(struct http_req *r)
{
	http_reply_error(r, 404, "verify_link_invalid",
			 "二维码已失效：订单已删除或法人信息已修改，请重新下载授权委托书后扫码", NULL);
	return -1;
}

/* Loads the order of the {token} path parameter; replies 404 and returns -1 when it is gone. */
static int token_order(struct http_req *r, struct db_conn *c, struct order_rec *o)
{
	const char *t = http_param(r, "token");

	if (t == NULL || strlen(t) > 60 || store_order_get_by_token(c, t, o) != DB_OK)
		return link_invalid(r);
	return 0;
}

/* Replies with what the phone page shows: the order in brief and the verification's state. */
static int reply_summary(struct http_req *r, struct db_conn *c, struct order_rec *o)
{
	json_t *form = json_loads(o->form, 0, NULL);
	char name[64] = "", id[IDCARD_LEN + 1] = "";
	const char *ln, *li;
	struct org_rec org = {0};
	struct key_type_rec k = {0};

	legal_of(form, &ln, &li);
	if (ln != NULL)
		mask_name(ln, name, sizeof(name));
	if (li != NULL)
		idcard_mask(li, id);
	store_org_get_id(c, o->org_id, &org);
	store_key_type_get(c, o->project_id, o->key_type, &k);
	json_decref(form);
	return http_reply_json(r, 200,
			       json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "order_no", o->order_no,
					 "unit_name", org.name, "project_name", o->project_name,
					 "key_type_label", k.name, "legal_name_masked", name,
					 "legal_id_masked", id, "verification", api_verification_json(c, o)));
}

int api_verify_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct order_rec o = {0};

	if (token_order(r, c, &o) == 0) {
		reply_summary(r, c, &o);
		store_order_free(&o);
	}
	db_release(c);
	return 0;
}

/* Refuses a start the order does not allow (legal person missing, verified already, too many
 * starts this hour): replies and returns -1; returns 0 when it may start. */
static int start_allowed(struct http_req *r, struct db_conn *c, const struct order_rec *o, json_t *form)
{
	char bucket[96];
	const char *name, *id;
	int64_t hits = 0;

	legal_of(form, &name, &id);
	snprintf(bucket, sizeof(bucket), "idv:%s", o->verify_token);
	if (name == NULL || id == NULL) {
		http_reply_error(r, 409, "legal_person_missing",
				 "订单尚未填写法定代表人姓名和证件号码，请经办人先完善订单信息", NULL);
		return -1;
	}
	if (api_order_verified(c, o, form)) {
		http_reply_error(r, 409, "already_verified", "法人已核验成功，无需重复核验", NULL);
		return -1;
	}
	if (store_rate_hit(c, bucket, 3600, &hits) != DB_OK || hits > STARTS_PER_HOUR) {
		http_reply_error(r, 429, "too_many_requests", "核验次数过多，请一小时后再试", NULL);
		return -1;
	}
	return 0;
}

struct start_tx {
	const struct verif_rec *v;
	const char *order_no;
	const struct actor *a;
};

static int start_tx(struct db_conn *c, void *arg)
{
	const struct start_tx *t = arg;

	return store_verification_start(c, t->v, t->order_no, "tencent_faceid", t->a);
}

/* Starts a verification of the order's legal person at FaceID (no pooled connection held: it may
 * take [idv] timeout_s), records it and replies with the provider's page for the phone. */
static void start_at_provider(struct http_req *r, const struct actor *a, const struct order_rec *o,
			      json_t *form)
{
	struct app *app = http_ctx(r);
	struct idv_config ic;
	struct verif_rec v = {0};
	struct start_tx t = {&v, o->order_no, a};
	char url[2048], redirect[1200], err[256] = "";
	const char *name, *id;
	int rc;

	legal_of(form, &name, &id);
	idv_config_from(&ic, app->cfg);
	snprintf(redirect, sizeof(redirect), "%s/verify/%s/result", app->cfg->public_url, o->verify_token);
	if (idv_start(&ic, name, id, redirect, o->order_no, url, sizeof(url), v.biz_token,
		      sizeof(v.biz_token), err, sizeof(err)) != 0) {
		http_reply_error(r, 502, "idv_unavailable",
				 err[0] ? err : "人脸核验服务暂时不可用，请稍后再试", NULL);
		return;
	}
	v.order_id = o->id;
	str_copy(v.verify_token, o->verify_token, sizeof(v.verify_token));
	str_copy(v.legal_name, name, sizeof(v.legal_name));
	str_copy(v.legal_id_number, id, sizeof(v.legal_id_number));
	rc = db_tx(app->db, start_tx, &t);
	if (rc == DB_NOTFOUND) /* deleted, or a new legal person, while FaceID was asked */
		link_invalid(r);
	else if (rc != DB_OK)
		api_internal(r, "verification start");
	else
		http_reply_json(r, 200, json_pack("{s:s}", "redirect_url", url));
}

int api_verify_start(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct db_conn *c = db_acquire(app->db);
	struct order_rec o = {0};
	json_t *form = NULL;
	int rc = token_order(r, c, &o);

	if (rc == 0) {
		form = json_loads(o.form, 0, NULL);
		rc = start_allowed(r, c, &o, form);
	}
	db_release(c);
	if (rc == 0)
		start_at_provider(r, &a, &o, form);
	json_decref(form);
	store_order_free(&o);
	return 0;
}

struct finish_tx {
	const struct verif_rec *v;
	int passed;
	const char *reason, *order_no;
	const struct actor *a;
};

static int finish_tx(struct db_conn *c, void *arg)
{
	const struct finish_tx *t = arg;
	int rc = store_verification_finish(c, t->v->biz_token, t->passed, t->passed ? NULL : t->reason,
					   t->order_no, t->a);

	return rc == DB_NOTFOUND ? DB_OK : rc; /* ended meanwhile by another look: nothing to add */
}

/* Asks the provider about the order's started verification, if there is one, and records its
 * end: read, then FaceID with no pooled connection held, then the write in its own transaction.
 * Returns 0, or -1 with a message in err when the provider could not be asked. */
static int refresh(struct http_req *r, const struct order_rec *o, char *err, size_t errlen)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct idv_config ic;
	struct verif_rec v = {0};
	enum idv_outcome outcome = IDV_PENDING;
	char reason[256] = "";
	struct finish_tx t = {.v = &v, .reason = reason, .order_no = o->order_no, .a = &a};
	struct db_conn *c = db_acquire(app->db);
	int rc = store_verification_latest(c, o->id, o->verify_token, &v);

	db_release(c);
	/* Only a started verification is asked about; ended ones are what they are. */
	if (rc != DB_OK || strcmp(v.state, "started") != 0)
		return 0;
	idv_config_from(&ic, app->cfg);
	if (idv_result(&ic, v.biz_token, v.legal_name, v.legal_id_number, &outcome, reason, sizeof(reason),
		       err, errlen) != 0)
		return -1;
	t.passed = outcome == IDV_PASSED;
	if (outcome != IDV_PENDING)
		db_tx(app->db, finish_tx, &t); /* not recorded: asked again on the next look */
	return 0;
}

void api_verification_refresh(struct http_req *r, const struct order_rec *o)
{
	char err[256];

	/* The phone may never come back to the result page: the order page asks instead. A provider
	 * that does not answer leaves the state as it is, to be asked again on the next look. */
	refresh(r, o, err, sizeof(err));
}

int api_verify_result(struct http_req *r)
{
	struct app *app = http_ctx(r);
	char err[256] = "";
	struct db_conn *c = db_acquire(app->db);
	struct order_rec o = {0};
	int rc = token_order(r, c, &o);

	db_release(c);
	if (rc != 0)
		return 0;
	if (refresh(r, &o, err, sizeof(err)) != 0) {
		http_reply_error(r, 502, "idv_unavailable",
				 err[0] ? err : "人脸核验服务暂时不可用，请稍后刷新", NULL);
	} else {
		c = db_acquire(app->db);
		reply_summary(r, c, &o);
		db_release(c);
	}
	store_order_free(&o);
	return 0;
}
