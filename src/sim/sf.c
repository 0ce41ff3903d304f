/* SF Express route query, simulated: the gateway's checks (fields, partnerID and serviceCode, then
 * msgDigest with the [courier] check word), the business reply inside apiResultData as a JSON text,
 * routes a test set or a mock route dated from the waybill's first query, and armed failures. */
#include "sim/sf.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/tracking.h"
#include "http/http.h"
#include "providers/sf.h"
#include "sim/recorder.h"
#include "util/strnum.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/urlform.h"
#include "util/xalloc.h"

#define KEEP 1000
#define MAX_NUMBERS 10      /* waybills per query [UNVERIFIED: SF's documented limit] */
#define MAX_SET_ROUTES 1000 /* beyond the adapter's 200, so tests can send too many */
#define BEIJING (8 * 3600)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *set_routes; /* mailNo -> {"routes":[...], "checkPhoneNo":"1234"} */
static json_t *first_seen; /* mailNo -> epoch seconds of its first query (mock routes) */
static json_t *queries;    /* array, oldest first */
static int fail_count, fail_status, fail_delay_ms;

/* The mock route: hours before the first query, opCode, city, remark. */
static const struct {
	int hours_before;
	const char *op, *address, *remark;
} mock[] = {
	{26, "50", "深圳市", "顺丰速运 已收取快件"},
	{25, "30", "深圳市", "快件在【深圳宝安集散中心】完成分拣，准备发往 【南昌转运中心】"},
	{10, "31", "南昌市", "快件到达 【南昌转运中心】"},
	{2, "44", "南昌市", "快件交给李师傅，正在派送途中"},
};

void sf_clear(void)
{
	pthread_mutex_lock(&mu);
	json_decref(set_routes);
	json_decref(first_seen);
	json_decref(queries);
	set_routes = first_seen = queries = NULL;
	fail_count = fail_status = fail_delay_ms = 0;
	pthread_mutex_unlock(&mu);
}

/* Writes epoch time t as "yyyy-MM-dd HH:mm:ss" in Beijing time into buf (SF_TIME_LEN bytes). */
static void beijing(time_t t, char buf[SF_TIME_LEN])
{
	struct tm tm;
	time_t b = t + BEIJING;

	gmtime_r(&b, &tm);
	strftime(buf, SF_TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Returns the mock routes of no, dated from its first query. Call with mu held. */
static json_t *mock_routes(const char *no)
{
	json_t *seen, *out = json_array();
	char at[SF_TIME_LEN];
	time_t t0;

	if (first_seen == NULL)
		first_seen = json_object();
	if ((seen = json_object_get(first_seen, no)) == NULL && json_object_size(first_seen) < KEEP)
		json_object_set_new(first_seen, no, json_integer((json_int_t)time(NULL)));
	t0 = seen != NULL ? (time_t)json_integer_value(seen) : time(NULL);
	for (size_t i = 0; i < sizeof(mock) / sizeof(mock[0]); i++) {
		beijing(t0 - (time_t)mock[i].hours_before * 3600, at);
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "acceptTime", at,
						     "acceptAddress", mock[i].address, "remark",
						     mock[i].remark, "opCode", mock[i].op));
	}
	return out;
}

/* Returns the routes of waybill no as asked with phone (may be NULL). */
static json_t *routes_of(const char *no, const char *phone)
{
	char norm[TRACKING_MAX];
	json_t *set, *out;

	pthread_mutex_lock(&mu);
	set = json_object_get(set_routes, no);
	if (set != NULL) {
		const char *want = json_string_value(json_object_get(set, "checkPhoneNo"));
		out = want != NULL && (phone == NULL || strcmp(want, phone) != 0)
			      ? json_array()
			      : json_deep_copy(json_object_get(set, "routes"));
	} else if (tracking_sf_normalise(no, norm) == 0 && strcmp(norm, no) == 0) {
		out = mock_routes(no);
	} else {
		out = json_array(); /* not an SF number: nothing known about it */
	}
	pthread_mutex_unlock(&mu);
	return out;
}

/* Returns apiResultData for msgData (a JSON text): the routes of each number, or a business error.
 * The error code is the simulator's own [SF's code for a malformed msgData is not known to us]. */
static json_t *business(const char *msg_data)
{
	json_t *in = json_loads(msg_data, JSON_REJECT_DUPLICATES, NULL),
	       *nums = json_object_get(in, "trackingNumber");
	const char *type = json_string_value(json_object_get(in, "trackingType"));
	const char *phone = json_string_value(json_object_get(in, "checkPhoneNo"));
	json_t *resps = json_array(), *v;
	size_t i;

	if (!json_is_object(in) || type == NULL || strcmp(type, "1") != 0 || !json_is_array(nums) ||
	    json_array_size(nums) == 0 || json_array_size(nums) > MAX_NUMBERS) {
		json_decref(in);
		json_decref(resps);
		return json_pack("{s:b, s:s, s:s, s:n}", "success", 0, "errorCode", "S0001", "errorMsg",
				 "msgData 格式错误：需要 trackingType \"1\" 和 1-10 个 trackingNumber",
				 "msgData");
	}
	json_array_foreach (nums, i, v) {
		const char *no = json_string_value(v);
		if (no == NULL || strlen(no) >= TRACKING_MAX || str_has_control(no))
			continue;
		json_array_append_new(resps,
				      json_pack("{s:s, s:o}", "mailNo", no, "routes", routes_of(no, phone)));
	}
	json_decref(in);
	return json_pack("{s:b, s:s, s:n, s:{s:o}}", "success", 1, "errorCode", "S0000", "errorMsg",
			 "msgData", "routeResps", resps);
}

/* Keeps what a query carried and how it was answered. */
static void log_query(const char *partner, const char *id, const char *ts, const char *data, const char *code)
{
	json_t *d = data != NULL ? json_loads(data, 0, NULL) : NULL;
	char at[TIMEFMT_LEN];
	json_t *q;

	if (d == NULL)
		d = data != NULL && utf8_chars(data) >= 0 ? json_string(data) : json_null();
	q = json_pack("{s:s?, s:s?, s:s?, s:o, s:s, s:s}", "partnerID", partner, "requestID", id, "timestamp",
		      ts, "msgData", d, "apiResultCode", code, "time", timefmt_now_ms(at));
	if (q == NULL) /* a field that is not UTF-8 */
		q = json_pack("{s:s, s:s}", "apiResultCode", code, "time", at);
	pthread_mutex_lock(&mu);
	if (queries == NULL)
		queries = json_array();
	json_array_append_new(queries, q);
	if (json_array_size(queries) > KEEP)
		json_array_remove(queries, 0);
	pthread_mutex_unlock(&mu);
}

/* Replies with SF's envelope: code, message, and result (stolen; NULL: null) as a JSON text. */
static int envelope(struct http_req *r, const char *code, const char *msg, json_t *result)
{
	unsigned char b[16];
	char id[33], *text = result != NULL ? json_dumps(result, JSON_COMPACT) : NULL;
	json_t *env;

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(id, sizeof(id), b, sizeof(b));
	env = json_pack("{s:s, s:s?, s:s, s:s?}", "apiResultCode", code, "apiErrorMsg", msg, "apiResponseID",
			id, "apiResultData", text);
	free(text);
	json_decref(result);
	return http_reply_json(r, 200, env);
}

/* Takes one armed failure: its HTTP status (0: none) and delay. Returns 1 when one was armed. */
static int take_failure(int *status, int *delay_ms)
{
	int armed;

	pthread_mutex_lock(&mu);
	armed = fail_count > 0;
	*status = armed ? fail_status : 0;
	*delay_ms = armed ? fail_delay_ms : 0;
	if (armed)
		fail_count--;
	pthread_mutex_unlock(&mu);
	return armed;
}

/* Checks the gateway's part of a request; returns NULL when it passes, or the apiResultCode to
 * answer with its message in *msg. */
static const char *gateway_check(const struct config *cfg, char *const f[6], const char **msg)
{
	char digest[SF_DIGEST_LEN];
	int64_t ts;

	for (int i = 0; i < 6; i++)
		if (f[i] == NULL || f[i][0] == '\0') {
			*msg = "必传参数不可为空";
			return "A1001";
		}
	if (strcmp(f[0], cfg->courier_sf_partner_id) != 0 || strcmp(f[2], "EXP_RECE_SEARCH_ROUTES") != 0) {
		*msg = "无对应服务权限";
		return "A1004";
	}
	if (strlen(f[1]) > 40 || strnum_parse(f[3], 0, 253402300799999LL, &ts) != 0) {
		*msg = "requestID 或 timestamp 格式错误";
		return "A1001";
	}
	if (sf_msg_digest(f[5], f[3], cfg->courier_sf_check_word, digest, sizeof(digest)) != 0 ||
	    sodium_memcmp(digest, f[4], SF_DIGEST_LEN) != 0 || strlen(f[4]) != SF_DIGEST_LEN - 1) {
		*msg = "数字签名无效";
		return "A1006";
	}
	return NULL;
}

int sf_api(struct http_req *r)
{
	static const char *const names[6] = {"partnerID", "requestID", "serviceCode",
					     "timestamp", "msgDigest", "msgData"};
	const struct config *cfg = http_ctx(r);
	size_t len;
	const char *body = http_body(r, &len), *code, *msg = NULL;
	char *f[6];
	int status, delay_ms;

	recorder_add(http_method(r), http_path(r), http_header(r, "Content-Type"), body, len);
	if (take_failure(&status, &delay_ms)) {
		if (delay_ms > 0)
			nanosleep(&(struct timespec){delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L},
				  NULL);
		if (status > 0)
			return http_reply_bytes(r, (unsigned)status, "text/html",
						"<html><body>simulated outage</body></html>", 42);
	}
	struct urlform form = {0};
	int parsed = body != NULL && urlform_parse(body, len, 32, &form) == 0;
	for (int i = 0; i < 6; i++) {
		const char *v = parsed ? urlform_get(&form, names[i]) : NULL;
		f[i] = v != NULL ? xstrdup(v) : NULL;
	}
	urlform_free(&form);
	code = gateway_check(cfg, f, &msg);
	log_query(f[0], f[1], f[3], f[5], code != NULL ? code : "A1000");
	if (code != NULL)
		envelope(r, code, msg, NULL);
	else
		envelope(r, "A1000", NULL, business(f[5]));
	for (int i = 0; i < 6; i++)
		free(f[i]);
	return 0;
}

int sf_sim_queries(struct http_req *r)
{
	json_t *items;

	pthread_mutex_lock(&mu);
	items = queries != NULL ? json_deep_copy(queries) : json_array();
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

int sf_sim_clear(struct http_req *r)
{
	sf_clear();
	return http_reply_json(r, 200, json_object());
}

int sf_sim_set_routes(struct http_req *r)
{
	json_t *in = http_json_body(r), *routes, *v, *phone, *reply;
	const char *no;
	size_t i;

	if (in == NULL)
		return 0;
	no = json_string_value(json_object_get(in, "mailNo"));
	routes = json_object_get(in, "routes");
	phone = json_object_get(in, "checkPhoneNo");
	int ok = no != NULL && no[0] != '\0' && strlen(no) < TRACKING_MAX && !str_has_control(no) &&
		 json_is_array(routes) && json_array_size(routes) <= MAX_SET_ROUTES &&
		 (phone == NULL || json_is_string(phone));
	json_array_foreach (routes, i, v)
		ok = ok && json_is_object(v);
	if (!ok) {
		json_decref(in);
		return http_reply_error(
			r, 400, "bad_request",
			"需要 mailNo 和 routes（对象数组，至多 1000 条）；checkPhoneNo 为字符串", NULL);
	}
	pthread_mutex_lock(&mu);
	if (set_routes == NULL)
		set_routes = json_object();
	if (json_object_size(set_routes) < KEEP || json_object_get(set_routes, no) != NULL)
		json_object_set_new(set_routes, no,
				    json_pack("{s:O, s:O*}", "routes", routes, "checkPhoneNo", phone));
	else
		ok = 0;
	pthread_mutex_unlock(&mu);
	reply = json_pack("{s:s, s:i}", "mailNo", no, "routes", (int)json_array_size(routes));
	json_decref(in);
	if (!ok) {
		json_decref(reply);
		return http_reply_error(r, 409, "full", "模拟器已记住 1000 个运单，请先 DELETE /_sim/sf",
					NULL);
	}
	return http_reply_json(r, 200, reply);
}

int sf_sim_fail_next(struct http_req *r)
{
	json_t *in = http_json_body(r), *s, *d, *n;
	json_int_t status, delay, count;

	if (in == NULL)
		return 0;
	s = json_object_get(in, "status");
	d = json_object_get(in, "delay_ms");
	n = json_object_get(in, "count");
	status = s != NULL ? (json_is_integer(s) ? json_integer_value(s) : -1) : 0;
	delay = d != NULL ? (json_is_integer(d) ? json_integer_value(d) : -1) : 0;
	count = n != NULL ? (json_is_integer(n) ? json_integer_value(n) : -1) : 1;
	json_decref(in);
	if ((s == NULL && d == NULL) || (s != NULL && (status < 400 || status > 599)) ||
	    (d != NULL && (delay < 1 || delay > 60000)) || count < 1 || count > 100)
		return http_reply_error(r, 400, "bad_request",
					"需要 status（400-599）或 delay_ms（1-60000）；count 为 1-100", NULL);
	pthread_mutex_lock(&mu);
	fail_status = (int)status;
	fail_delay_ms = (int)delay;
	fail_count = (int)count;
	pthread_mutex_unlock(&mu);
	return http_reply_json(r, 200,
			       json_pack("{s:i, s:i, s:i}", "status", (int)status, "delay_ms", (int)delay,
					 "count", (int)count));
}
