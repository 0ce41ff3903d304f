/* The scans of an order: upload into a slot per kind (decoded and checked before acceptance; the
 * forms must show this order's QR code), list the slots, serve the files back to their owner and
 * to staff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "core/order_fsm.h"
#include "docs/image.h"
#include "sandbox/decode_client.h"
#include "store/filestore.h"
#include "util/strutil.h"

enum qr_expect { QR_NONE, QR_APPLICATION, QR_SEAL, QR_LETTER };

static const struct kind {
	const char *code, *label, *rule;
	enum qr_expect qr;
} kinds[] = {
	{"application_form", "数字证书用户申请表",
	 "下载本订单的申请表打印，加盖单位公章原章后用扫描仪扫描上传；请勿上传现场办理业务表格；订单信息修改"
	 "或订单删除后须重新下载。",
	 QR_APPLICATION},
	{"business_licence", "营业执照",
	 "请上传电子营业执照；或将营业执照副本原件 1:1 "
	 "复印清晰后在空白处加盖公章原章，用扫描仪扫描上传（请勿缩小复印，请勿手机拍照或手机软件扫描）。",
	 QR_NONE},
	{"handler_id_front", "经办人身份证（人像面）",
	 "经办人身份证原件 1:1 复印清晰后，在空白处加盖单位公章原章，用扫描仪扫描上传。", QR_NONE},
	{"handler_id_back", "经办人身份证（国徽面）",
	 "经办人身份证原件 1:1 复印清晰后，在空白处加盖单位公章原章，用扫描仪扫描上传。", QR_NONE},
	{"authorisation_letter", "法人授权委托书",
	 "下载本订单的委托书填写完整（委托期限尽量长），加盖公章原章和法人章原章或法人亲笔签名，扫描上传；法"
	 "人须扫描委托书上的二维码完成刷脸核验。",
	 QR_LETTER},
	{"seal_form", "签章采集表",
	 "在空白格内加盖印模：须原章加盖、清晰、无杂质无底色；法人章为红色方章，无法人章可由法人正楷签字代替"
	 "。扫描上传。",
	 QR_SEAL},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

#define COMMON_RULE "图片格式 jpeg、jpg、png、bmp，大小 1M 以内；盖章须原章，签字须本人手签。"

/* Returns the kind named code, or NULL. */
static const struct kind *kind_of(const char *code)
{
	for (size_t i = 0; code != NULL && i < NKINDS; i++)
		if (strcmp(kinds[i].code, code) == 0)
			return &kinds[i];
	return NULL;
}

/* Returns 1 when the comma-separated list holds word. */
static int listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

struct qr_ctx {
	const char *expect;        /* the exact text wanted */
	const char *form, *letter; /* the prefixes of every QR code the platform prints */
	int matched, ours;         /* saw the wanted text; saw another of the platform's codes */
};

static int on_qr(const char *text, void *arg)
{
	struct qr_ctx *q = arg;

	if (strcmp(text, q->expect) == 0)
		q->matched = 1;
	else if (strncmp(text, q->form, strlen(q->form)) == 0 ||
		 strncmp(text, q->letter, strlen(q->letter)) == 0)
		q->ours = 1;
	return q->matched;
}

/* Checks the QR codes certdesk-decode read on an uploaded form against the order. A code of the
 * platform's that is not this slot's (another order, an older version, or another form of this
 * order) is refused; no code at all is accepted with a flag for the reviewer. Returns 0 with
 * qr_status set, or -1 after recording the refusal in f. */
static int check_qr(struct http_req *r, const struct order_rec *o, const struct kind *k,
		    const struct decode_facts *facts, struct form *f, char qr_status[16])
{
	const struct app *app = http_ctx(r);
	char expect[1200], letter[1100];
	struct qr_ctx q = {expect, "certdesk:form:", letter, 0, 0};

	snprintf(qr_status, 16, "not_checked");
	if (k->qr == QR_NONE)
		return 0;
	snprintf(letter, sizeof(letter), "%s/verify/", app->cfg->public_url);
	if (k->qr == QR_LETTER)
		snprintf(expect, sizeof(expect), "%s%s", letter, o->verify_token);
	else
		api_form_qr_text(o, k->qr == QR_SEAL ? "seal" : "application", expect, sizeof(expect));
	for (int i = 0; i < facts->nqr && !on_qr(facts->qr[i], &q); i++)
		;
	if (q.matched) {
		snprintf(qr_status, 16, "matched");
		return 0;
	}
	if (q.ours) {
		char msg[400];
		snprintf(msg, sizeof(msg),
			 "上传的文件不是本订单当前的表格（此处需要：%"
			 "s）。可能是其他表格、其他订单或已删除订单的表格，"
			 "或订单信息修改前下载的表格，请重新下载本订单的%s，打印盖章后扫描上传",
			 k->label, k->label);
		form_error(f, 422, "file", "form_mismatch", msg);
		return -1;
	}
	snprintf(qr_status, 16, "unreadable");
	return 0;
}

/* Returns the facts a reviewer wants about an accepted image, as a JSON object text (caller frees). */
static char *checks_json(const struct image_info *info, const char *qr_status, int photo)
{
	json_t *j = json_object();
	char *text;

	if (photo)
		json_object_set_new(j, "photo_suspect",
				    json_string("图片含相机信息，可能是手机拍照而非扫描件"));
	if (info->dpi_x != 0 && info->dpi_x < 150)
		json_object_set_new(j, "low_dpi", json_string("分辨率低于 150 DPI，可能不够清晰"));
	if (strcmp(qr_status, "unreadable") == 0)
		json_object_set_new(j, "qr_unreadable",
				    json_string("未能识别表格上的二维码，请人工核对订单编号"));
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return text;
}

/* Returns the JSON of the current document of kind, or NULL. */
static json_t *current_json(struct db_conn *c, int64_t order_id, const char *kind)
{
	json_t *docs = NULL, *it, *found = NULL;
	size_t i;

	if (store_documents_json(c, order_id, &docs) != DB_OK) {
		json_decref(docs);
		return NULL;
	}
	json_array_foreach (docs, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "kind")), kind) == 0)
			found = json_incref(it);
	}
	json_decref(docs);
	return found;
}

/* Reads what an upload needs (the order, its key type, whether it may still change) with a pooled
 * connection given back before the slow work. Returns 0, or -1 after replying. */
static int upload_read(struct http_req *r, const struct kind *k, struct order_rec *o)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct order_facts facts = {0};
	struct key_type_rec kt = {0};
	enum order_state next;

	if (api_own_order(r, c, o) != 0) {
		db_release(c);
		return -1;
	}
	store_key_type_get(c, o->project_id, o->key_type, &kt);
	api_order_facts(c, o, &facts);
	db_release(c);
	if (k == NULL || !listed(kt.documents, k->code))
		return http_reply_error(r, 404, "not_found", "本订单不需要这种资料", "kind"), -1;
	if (order_fsm_decide(order_state_from_name(o->state), OE_EDIT, OA_ORG, 0, &facts, &next) != FSM_OK)
		return http_reply_error(r, 409, "state_conflict", "订单已提交，不能更换资料", NULL), -1;
	return 0;
}

struct put_tx {
	const struct doc_rec *d;
	const struct order_rec *o;
	const struct actor *a;
	json_t *reply; /* the document as the slot will show it */
};

/* Writes the document's row, guarded by the order's state as read (the upload was checked without a
 * connection), and reads it back as the page shows it: a row that cannot be shown is not kept. */
static int put_tx(struct db_conn *c, void *arg)
{
	struct put_tx *t = arg;
	int64_t id = 0;
	int rc = store_document_put(c, t->d, t->o, t->a, &id);

	json_decref(t->reply);
	t->reply = rc == DB_OK ? current_json(c, t->o->id, t->d->kind) : NULL;
	return rc != DB_OK ? rc : t->reply != NULL ? DB_OK : DB_ERROR;
}

/* Checks the uploaded image (decoding, QR code), stores the file (fsync) and then its row; only
 * the last step holds a pooled connection. Returns the document's JSON, or NULL with f failed. */
static json_t *upload_store(struct http_req *r, const struct kind *k, const struct order_rec *o,
			    const struct http_upload *u, struct form *f)
{
	struct app *app = http_ctx(r);
	struct actor a = api_actor(r);
	struct doc_rec d = {0};
	struct decode_facts *facts = calloc(1, sizeof(*facts)); /* 16 QR texts: not on a thread's stack */
	struct image_info info = {0};
	struct put_tx t = {&d, o, &a, NULL};
	enum decode_status st;
	char *checks;
	int rc, photo;

	if (facts == NULL) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return NULL;
	}
	/* decoded in the sandboxed helper: a hostile file crashes or hangs only that process */
	st = decode_inspect(u->data, u->len, k->qr != QR_NONE, facts);
	if (st != DECODE_OK) {
		form_error(f, st == DECODE_FAILED ? 422 : strcmp(facts->code, "file_too_large") == 0 ? 413 : 415,
			   "file", facts->code, facts->message);
		free(facts);
		return NULL;
	}
	info = facts->info;
	photo = facts->photo;
	rc = check_qr(r, o, k, facts, f, d.qr_status);
	free(facts);
	if (rc != 0)
		return NULL;
	d.order_id = o->id;
	d.size = (int64_t)u->len;
	str_copy(d.kind, k->code, sizeof(d.kind));
	str_copy(d.media_type, info.media_type, sizeof(d.media_type));
	d.width = info.width;
	d.height = info.height;
	d.dpi_x = info.dpi_x;
	d.dpi_y = info.dpi_y;
	store_document_display_name(u->filename, info.media_type, d.original_name, sizeof(d.original_name));
	d.checks = checks = checks_json(&info, d.qr_status, photo);
	/* The file is durable before the row that names it is written (a crash between the two leaves
	 * an orphan file, which the sweep removes). */
	rc = filestore_put(app->cfg->data_dir, u->data, u->len, d.sha256) != 0 ? DB_ERROR
									      : db_tx(app->db, put_tx, &t);
	free(checks);
	if (rc == DB_NOTFOUND)
		form_error(f, 409, NULL, "state_conflict",
			   "订单已提交或信息已修改，本次上传未保存，请刷新页面后重新上传");
	else if (rc != DB_OK)
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
	if (rc != DB_OK) {
		json_decref(t.reply);
		return NULL;
	}
	return t.reply;
}

/* PUT /orders/{no}/documents/{kind}. One shape: read (pooled connection given back), decode and
 * store the file without a connection, write the row with db_tx under the state guard. */
int api_documents_put(struct http_req *r)
{
	const struct kind *k = kind_of(http_param(r, "kind"));
	struct order_rec o = {0};
	struct http_upload u;
	struct form f;
	json_t *ok;

	if (upload_read(r, k, &o) != 0) {
		store_order_free(&o);
		return 0;
	}
	if (http_multipart(r, IMAGE_MAX_BYTES, &u) != 0) {
		http_upload_free(&u);
		store_order_free(&o);
		return 0;
	}
	form_init(&f, r, u.fields);
	ok = upload_store(r, k, &o, &u, &f);
	store_order_free(&o);
	u.fields = NULL; /* form_finish releases it */
	http_upload_free(&u);
	return form_finish(&f, f.body, 201, ok);
}

json_t *api_document_slots(struct db_conn *c, const struct order_rec *o)
{
	struct key_type_rec kt = {0};
	json_t *docs = NULL, *slots = json_array(), *it;
	size_t j;

	store_key_type_get(c, o->project_id, o->key_type, &kt);
	store_documents_json(c, o->id, &docs);
	for (size_t i = 0; i < NKINDS; i++) {
		if (!listed(kt.documents, kinds[i].code))
			continue;
		json_t *slot =
			json_pack("{s:s, s:s, s:s, s:b}", "kind", kinds[i].code, "label", kinds[i].label,
				  "rule", kinds[i].rule, "qr_checked", kinds[i].qr != QR_NONE);
		json_array_foreach (docs, j, it) {
			if (strcmp(json_string_value(json_object_get(it, "kind")), kinds[i].code) == 0)
				json_object_set(slot, "document", it);
		}
		json_array_append_new(slots, slot);
	}
	json_decref(docs);
	return json_pack("{s:s, s:o}", "common_rule", COMMON_RULE, "slots", slots);
}

int api_documents_list(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct db_conn *c = db_acquire(app->db);
	struct order_rec o = {0};

	if (api_own_order(r, c, &o) == 0) {
		http_reply_json(r, 200, api_document_slots(c, &o));
		store_order_free(&o);
	}
	db_release(c);
	return 0;
}

/* Replies with the current file of the {kind} of order o. */
static int send_file(struct http_req *r, struct db_conn *c, const struct order_rec *o)
{
	struct app *app = http_ctx(r);
	const struct kind *k = kind_of(http_param(r, "kind"));
	struct doc_rec d = {0};
	char name[96];
	int fd;

	if (k == NULL || store_document_current(c, o->id, k->code, &d) != DB_OK)
		return http_reply_error(r, 404, "not_found", "该资料尚未上传", "kind");
	fd = filestore_open(app->cfg->data_dir, d.sha256);
	if (fd < 0)
		return api_internal(r, "document file missing");
	snprintf(name, sizeof(name), "%s-%s.%s", o->order_no, k->code,
		 strcmp(d.media_type, "image/png") == 0   ? "png"
		 : strcmp(d.media_type, "image/bmp") == 0 ? "bmp"
							  : "jpg");
	return http_reply_fd(r, fd, d.media_type, name);
}

int api_documents_get(struct http_req *r)
{
	return api_on_order(r, 1, send_file);
}

int api_admin_documents_get(struct http_req *r)
{
	return api_on_order(r, 0, send_file);
}
