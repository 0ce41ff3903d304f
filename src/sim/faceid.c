/* Tencent FaceID (慧眼) H5 API, simulated: TC3 signature checked with the [idv] keys, DetectAuth
 * opens a session, GetDetectInfoEnhanced reports it. Answers have Tencent's shape, errors included
 * (HTTP 200 with Response.Error). */
#include "sim/faceid.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http.h"
#include "sim/recorder.h"
#include "sim/tcsim.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define KEEP 1000
#define VERSION "2018-03-01"

struct session {
	char token[37];
	char *rule_id, *name, *id_card, *redirect_url, *extra;
	char *v_name, *v_id; /* the identity "verified" */
	int decided;
	long err_code;
	int delay_ms; /* GetDetectInfoEnhanced answers this late (a test hook: a slow provider) */
};

const struct faceid_code faceid_failures[] = {
	{2016, "无法判断为同一人,请确认身份后重试"},
	{1002, "疑似非真人录制"},
	{1004, "人脸验证失败,请重试"},
	{2006, "姓名和身份证号不匹配,请核实身份后重试"},
	{2005, "未查询到身份信息,请通过其他渠道验证"},
	{301, "当前认证人身份证号码与业务传入验证证件号码不符,请重新上传"},
	{1008, "用户活体过程网络不稳定,请切换网络环境后重试"},
	{15, "Token 过期,请重试"},
	{17, "本次流程未完成"},
};
const int faceid_nfailures = (int)(sizeof(faceid_failures) / sizeof(faceid_failures[0]));

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct session *sessions[KEEP]; /* a ring; next is the oldest slot */
static int next;

const char *faceid_code_msg(long code)
{
	if (code == 0)
		return "成功";
	for (int i = 0; i < faceid_nfailures; i++)
		if (faceid_failures[i].code == code)
			return faceid_failures[i].msg;
	return "人脸核身未通过";
}

/* Frees one session. */
static void session_free(struct session *s)
{
	if (s == NULL)
		return;
	free(s->rule_id);
	free(s->name);
	free(s->id_card);
	free(s->redirect_url);
	free(s->extra);
	free(s->v_name);
	free(s->v_id);
	free(s);
}

void faceid_clear(void)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < KEEP; i++) {
		session_free(sessions[i]);
		sessions[i] = NULL;
	}
	pthread_mutex_unlock(&mu);
}

/* Returns the session of token; call with mu held. */
static struct session *find(const char *token)
{
	for (int i = 0; token != NULL && i < KEEP; i++)
		if (sessions[i] != NULL && strcmp(sessions[i]->token, token) == 0)
			return sessions[i];
	return NULL;
}

/* Writes a random UUID-shaped identifier (uppercase when upper) into out (37 bytes). */
static void random_uuid(char out[37], int upper)
{
	unsigned char b[16];
	char hex[33];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(hex, sizeof(hex), b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	for (int i = 0; upper && out[i] != '\0'; i++)
		if (out[i] >= 'a' && out[i] <= 'f')
			out[i] = (char)(out[i] - 'a' + 'A');
}

int faceid_lookup(const char *token, struct faceid_view *v)
{
	struct session *s;
	int rc = -1;

	pthread_mutex_lock(&mu);
	if ((s = find(token)) != NULL) {
		str_copy(v->name, s->name, sizeof(v->name));
		str_copy(v->id_card, s->id_card, sizeof(v->id_card));
		str_copy(v->redirect_url, s->redirect_url, sizeof(v->redirect_url));
		v->decided = s->decided;
		rc = 0;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

int faceid_decide(const char *token, long err_code, const char *name, const char *id_card, int again)
{
	struct session *s;
	int rc = 0;

	pthread_mutex_lock(&mu);
	if ((s = find(token)) == NULL) {
		rc = -1;
	} else if (s->decided && !again) {
		rc = -2;
	} else {
		s->decided = 1;
		s->err_code = err_code;
		if (name != NULL) {
			free(s->v_name);
			s->v_name = xstrdup(name);
		}
		if (id_card != NULL) {
			free(s->v_id);
			s->v_id = xstrdup(id_card);
		}
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

/* Replies with Response = body plus a RequestId (body reference stolen). */
static int reply_response(struct http_req *r, json_t *body)
{
	char id[37];

	random_uuid(id, 0);
	json_object_set_new(body, "RequestId", json_string(id));
	return http_reply_json(r, 200, json_pack("{s:o}", "Response", body));
}

/* Replies with Tencent's error shape: HTTP 200, Response.Error {Code, Message}. */
static int reply_tc_error(struct http_req *r, const char *code, const char *message)
{
	return reply_response(r, json_pack("{s:{s:s, s:s}}", "Error", "Code", code, "Message", message));
}

/* Returns the optional string member name of o (NULL when absent), or sets *bad when it is present
 * but not a string of at most max bytes. */
static const char *opt_string(json_t *o, const char *name, size_t max, int *bad)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) > max ||
	    str_has_control(json_string_value(v))) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* DetectAuth: opens a session and returns the H5 URL and BizToken. */
static int detect_auth(struct http_req *r, const struct config *cfg, json_t *in)
{
	int bad = 0;
	const char *rule = opt_string(in, "RuleId", 32, &bad), *id = opt_string(in, "IdCard", 18, &bad);
	const char *name = opt_string(in, "Name", 150, &bad),
		   *redirect = opt_string(in, "RedirectUrl", 1024, &bad);
	const char *extra = opt_string(in, "Extra", 1000, &bad);
	struct session *s;
	char *url;

	if (bad)
		return reply_tc_error(r, "InvalidParameter", "参数格式错误");
	if (rule == NULL)
		return reply_tc_error(r, "MissingParameter", "缺少参数 RuleId");
	if (strcmp(rule, cfg->idv_rule_id) != 0)
		return reply_tc_error(r, "InvalidParameterValue.RuleIdNotExist", "RuleId 不存在");
	s = xcalloc(sizeof(*s));
	random_uuid(s->token, 1);
	s->rule_id = xstrdup(rule);
	s->name = xstrdup(name ? name : "");
	s->id_card = xstrdup(id ? id : "");
	s->redirect_url = xstrdup(redirect ? redirect : "");
	s->extra = xstrdup(extra ? extra : "");
	s->v_name = xstrdup(s->name);
	s->v_id = xstrdup(s->id_card);
	url = xasprintf("%s/faceid/h5?token=%s", cfg->sim_url, s->token);
	json_t *out = json_pack("{s:s, s:s}", "Url", url, "BizToken", s->token);
	free(url);
	pthread_mutex_lock(&mu);
	session_free(sessions[next]);
	sessions[next] = s;
	next = (next + 1) % KEEP;
	pthread_mutex_unlock(&mu);
	return reply_response(r, out);
}

/* Returns the Text object of GetDetectInfoEnhanced for s; call with mu held. */
static json_t *result_text(const struct session *s)
{
	json_t *t = json_pack("{s:n, s:n, s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:s, s:[]}", "ErrCode", "ErrMsg",
			      "IdCard", "", "Name", "", "LiveStatus", "LiveMsg", "Comparestatus",
			      "Comparemsg", "Sim", "Extra", s->extra, "LivenessDetail");
	long c = s->err_code;
	int live = c == 0 || (c >= 1000 && c < 3000), compare = c == 0 || (c >= 2000 && c < 3000);

	if (!s->decided)
		return t;
	json_object_set_new(t, "ErrCode", json_integer(c));
	json_object_set_new(t, "ErrMsg", json_string(faceid_code_msg(c)));
	json_object_set_new(t, "IdCard", json_string(s->v_id));
	json_object_set_new(t, "Name", json_string(s->v_name));
	if (live) {
		long lc = c >= 1000 && c < 2000 ? c : 0;
		json_object_set_new(t, "LiveStatus", json_integer(lc));
		json_object_set_new(t, "LiveMsg", json_string(faceid_code_msg(lc)));
	}
	if (compare) {
		json_object_set_new(t, "Comparestatus", json_integer(c));
		json_object_set_new(t, "Comparemsg", json_string(faceid_code_msg(c)));
		json_object_set_new(t, "Sim", json_string(c == 0 ? "92.37" : "31.05"));
	}
	return t;
}

/* GetDetectInfoEnhanced: the outcome of a session (ErrCode null while it is pending). */
static int detect_info(struct http_req *r, json_t *in)
{
	int bad = 0;
	const char *token = opt_string(in, "BizToken", 64, &bad), *rule = opt_string(in, "RuleId", 32, &bad);
	struct session *s;
	json_t *text = NULL;
	int delay_ms = 0;

	if (bad)
		return reply_tc_error(r, "InvalidParameter", "参数格式错误");
	if (token == NULL || rule == NULL)
		return reply_tc_error(r, "MissingParameter", "缺少参数 BizToken 或 RuleId");
	pthread_mutex_lock(&mu);
	if ((s = find(token)) != NULL && strcmp(s->rule_id, rule) == 0) {
		text = result_text(s);
		delay_ms = s->delay_ms;
	}
	pthread_mutex_unlock(&mu);
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000);
	if (text == NULL)
		return reply_tc_error(r, "InvalidParameterValue.BizTokenIllegal", "BizToken 不合法");
	return reply_response(
		r, json_pack("{s:o, s:n, s:n, s:n}", "Text", text, "IdCardData", "BestFrame", "VideoData"));
}

/* Replies with Tencent's error and returns -1. */
static int refuse(struct http_req *r, const char *code, const char *message)
{
	reply_tc_error(r, code, message);
	return -1;
}

/* Checks the signature and common headers (sim/tcsim.h); returns 0, or replies with Tencent's error and
 * returns -1. */
static int check_request(struct http_req *r, const struct config *cfg, const char *body, size_t len)
{
	const char *msg = NULL, *code = tcsim_check(r, cfg->idv_secret_id, cfg->idv_secret_key, "faceid",
						    VERSION, "InvalidParameter", body, len, &msg);

	return code != NULL ? refuse(r, code, msg) : 0;
}

int faceid_api(struct http_req *r)
{
	const struct config *cfg = http_ctx(r);
	const char *action = http_header(r, "X-TC-Action");
	size_t len;
	const char *body = http_body(r, &len);
	json_t *in;
	int rc;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	if (check_request(r, cfg, body, len) != 0)
		return 0;
	if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(in)) {
		json_decref(in);
		return reply_tc_error(r, "InvalidParameter", "请求体不是 JSON 对象");
	}
	if (action != NULL && strcmp(action, "DetectAuth") == 0)
		rc = detect_auth(r, cfg, in);
	else if (action != NULL && strcmp(action, "GetDetectInfoEnhanced") == 0)
		rc = detect_info(r, in);
	else
		rc = reply_tc_error(r, "InvalidAction", "接口不存在");
	json_decref(in);
	return rc;
}

/* Makes the session of token answer GetDetectInfoEnhanced delay_ms late. Returns 0 or -1. */
static int set_delay(const char *token, int delay_ms)
{
	struct session *s;

	pthread_mutex_lock(&mu);
	if ((s = find(token)) != NULL)
		s->delay_ms = delay_ms;
	pthread_mutex_unlock(&mu);
	return s != NULL ? 0 : -1;
}

int faceid_sim_decide(struct http_req *r)
{
	size_t len;
	const char *body = http_body(r, &len), *name, *id;
	json_t *in, *pass, *code_v, *delay;
	json_int_t code = 0;
	int bad = 0, rc;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	if ((in = http_json_body(r)) == NULL)
		return 0;
	pass = json_object_get(in, "pass");
	code_v = json_object_get(in, "err_code");
	delay = json_object_get(in, "delay_ms");
	name = opt_string(in, "name", 150, &bad);
	id = opt_string(in, "id_card", 31, &bad);
	if (!json_is_true(pass))
		code = json_is_integer(code_v) ? json_integer_value(code_v) : faceid_failures[0].code;
	if (bad || !json_is_boolean(pass) || (code_v != NULL && !json_is_integer(code_v)) ||
	    (!json_is_true(pass) && code == 0) ||
	    (delay != NULL && (!json_is_integer(delay) || json_integer_value(delay) < 0 ||
			       json_integer_value(delay) > 30000))) {
		json_decref(in);
		return http_reply_error(r, 400, "bad_request",
					"需要 pass (true/false)；err_code 为非零整数；name、id_card "
					"为字符串；delay_ms 0-30000",
					NULL);
	}
	rc = faceid_decide(http_param(r, "token"), (long)code, name, id, 1);
	if (rc == 0 && delay != NULL)
		rc = set_delay(http_param(r, "token"), (int)json_integer_value(delay));
	json_decref(in);
	if (rc != 0)
		return http_reply_error(r, 404, "not_found", "没有这个 BizToken", NULL);
	return http_reply_json(
		r, 200, json_pack("{s:s, s:I}", "biz_token", http_param(r, "token"), "err_code", code));
}
