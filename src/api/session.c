/* Sessions, CSRF and access control, applied before every routed handler. The browser holds a
 * random 256-bit id in an HttpOnly cookie; the database holds its SHA-256, the CSRF token, the
 * captcha of the moment and the times that end it. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "config/config.h"
#include "core/roles.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define COOKIE "certdesk_session"
#define ID_BYTES 32
#define ID_TEXT 43 /* base64url without padding of 32 bytes */
#define TOUCH_EVERY_S 60

/* Writes the hex SHA-256 of the session id into out. */
static void id_hash(const char *id, char out[72])
{
	unsigned char md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, (const unsigned char *)id, strlen(id));
	sodium_bin2hex(out, 72, md, sizeof(md));
}

struct api_session *api_session(struct http_req *r)
{
	return http_user(r);
}

struct actor api_actor(struct http_req *r)
{
	const struct api_session *s = api_session(r);
	const char *kind = s == NULL || !s->valid             ? "system"
			   : strcmp(s->rec.kind, "anon") == 0 ? "system"
							      : s->rec.kind;

	return (struct actor){kind, s != NULL && s->who[0] ? s->who : "anonymous", http_remote_addr(r)};
}

int api_internal(struct http_req *r, const char *what)
{
	http_set_error_what(r, what);
	return http_reply_error(r, 500, "internal", "服务器内部错误，请稍后重试", NULL);
}

void api_log_error(struct http_req *r, const char *what)
{
	const char *dberr = db_thread_error();

	/* one JSON line (util/log.h) with the request id that joins it to the access log and the audit log */
	log_set_request_id(http_request_id(r));
	log_write(LOG_LEVEL_ERROR, "api",
		  LOG_FIELDS("method", http_method(r), "route", http_route(r), "what", what, "database",
			     dberr[0] != '\0' ? dberr : NULL),
		  "%s %s answered 500: %s%s%s", http_method(r), http_route(r), what,
		  dberr[0] != '\0' ? "; database: " : "", dberr);
}

/* Sets the cookie to value with the attributes of a session cookie (max_age < 0: none). */
static void set_cookie(struct http_req *r, const char *value, int max_age)
{
	const struct app *app = http_ctx(r);
	int secure = strncmp(app->cfg->public_url, "https://", 8) == 0;
	char header[256];

	snprintf(header, sizeof(header), "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", COOKIE, value,
		 secure ? "; Secure" : "", max_age == 0 ? "; Max-Age=0" : "");
	http_add_header(r, "Set-Cookie", header);
}

/* Fills in the caller's identity for audit records and, for staff, the roles. Returns 0, or -1
 * when the subject is gone or disabled (the session is then worthless). */
static int load_subject(struct db_conn *c, struct api_session *s)
{
	if (strcmp(s->rec.kind, "org") == 0) {
		struct org_rec o = {0};
		if (store_org_get_id(c, s->rec.subject_id, &o) != DB_OK)
			return -1;
		str_copy(s->who, o.uscc, sizeof(s->who));
	} else if (strcmp(s->rec.kind, "staff") == 0) {
		struct staff_rec st = {0};
		if (store_staff_get(c, NULL, s->rec.subject_id, &st) != DB_OK || st.disabled)
			return -1;
		s->roles = st.roles;
		snprintf(s->who, sizeof(s->who), "%lld", (long long)st.id);
	}
	return 0;
}

/* Looks up the session named by the cookie. Returns 1 when live, 0 when there is none, -1 when
 * it existed but ended (idle or absolute time-out). */
static int load(struct http_req *r, struct db_conn *c, struct api_session *s)
{
	const struct app *app = http_ctx(r);
	const char *cookie = http_cookie(r, COOKIE);
	char now[TIMEFMT_LEN], idle[TIMEFMT_LEN];
	time_t t = time(NULL);

	if (cookie == NULL || strlen(cookie) != ID_TEXT ||
	    strspn(cookie, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != ID_TEXT)
		return 0;
	id_hash(cookie, s->id_hash);
	if (store_session_get(c, s->id_hash, &s->rec) != DB_OK)
		return 0;
	timefmt_rfc3339(t, now);
	timefmt_rfc3339(t - app->cfg->idle_timeout_min * 60, idle);
	if (strcmp(s->rec.expires_at, now) <= 0 || strcmp(s->rec.last_seen_at, idle) < 0 ||
	    load_subject(c, s) != 0) {
		store_session_delete(c, s->id_hash);
		return -1;
	}
	timefmt_rfc3339(t - TOUCH_EVERY_S, idle);
	if (strcmp(s->rec.last_seen_at, idle) < 0)
		store_session_touch(c, s->id_hash, now);
	s->valid = 1;
	return 1;
}

int api_session_start(struct http_req *r, struct db_conn *c, const char *kind, int64_t subject_id)
{
	const struct app *app = http_ctx(r);
	struct api_session *s = api_session(r);
	unsigned char raw[ID_BYTES];
	char id[ID_TEXT + 8], now[TIMEFMT_LEN], expires[TIMEFMT_LEN];
	time_t t = time(NULL);

	if (s->valid)
		store_session_delete(c, s->id_hash);
	memset(s, 0, sizeof(*s));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(id, sizeof(id), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(s->rec.csrf, sizeof(s->rec.csrf), raw, sizeof(raw));
	id_hash(id, s->id_hash);
	str_copy(s->rec.kind, kind, sizeof(s->rec.kind));
	s->rec.subject_id = subject_id;
	timefmt_rfc3339(t, now);
	timefmt_rfc3339(t + (time_t)app->cfg->absolute_timeout_h * 3600, expires);
	if (store_session_create(c, s->id_hash, kind, subject_id, s->rec.csrf, now, expires,
				 http_remote_addr(r)) != DB_OK ||
	    load_subject(c, s) != 0)
		return -1;
	s->valid = 1;
	set_cookie(r, id, -1);
	sodium_memzero(id, sizeof(id));
	return 0;
}

int api_session_end(struct http_req *r, struct db_conn *c)
{
	struct api_session *s = api_session(r);

	if (s->valid)
		store_session_delete(c, s->id_hash);
	s->valid = 0;
	set_cookie(r, "", 0);
	return 0;
}

/* Checks the X-CSRF-Token header against the session's token in constant time. */
static int csrf_ok(struct http_req *r, const struct api_session *s)
{
	const char *h = http_header(r, "X-CSRF-Token");
	size_t n = strlen(s->rec.csrf);

	return h != NULL && n > 0 && strlen(h) == n && sodium_memcmp(h, s->rec.csrf, n) == 0;
}

/* Replies with an access error and returns -1. */
static int deny(struct http_req *r, unsigned status, const char *code, const char *message)
{
	http_reply_error(r, status, code, message, NULL);
	return -1;
}

/* Decides whether the caller may use rt once the session is known; replies and returns -1 if not. */
static int authorise(struct http_req *r, const struct route *rt, const struct api_session *s, int ended)
{
	unsigned kind = ACCESS_KIND(rt->access), want_roles = rt->access >> 8;
	int unsafe = strcmp(http_method(r), "GET") != 0 && strcmp(http_method(r), "HEAD") != 0;

	if ((kind == ACCESS_ORG || kind == ACCESS_STAFF) && (!s->valid || strcmp(s->rec.kind, "anon") == 0))
		return ended ? deny(r, 401, "session_expired", "登录已超时，请重新登录")
			     : deny(r, 401, "not_logged_in", "请先登录");
	if (unsafe && (!s->valid || !csrf_ok(r, s)))
		return deny(r, 403, "csrf_failed", "页面已过期，请刷新页面后重试");
	if (kind == ACCESS_ORG && strcmp(s->rec.kind, "org") != 0)
		return deny(r, 403, "forbidden", "该功能仅供申请单位使用");
	if (kind == ACCESS_STAFF && strcmp(s->rec.kind, "staff") != 0)
		return deny(r, 403, "forbidden", "该功能仅供工作人员使用");
	if (kind == ACCESS_STAFF && want_roles != 0 && (s->roles & want_roles) == 0)
		return deny(r, 403, "forbidden", "您的岗位无权执行此操作");
	return 0;
}

int api_before(struct http_req *r, const struct route *rt)
{
	struct app *app = http_ctx(r);
	struct api_session *s;
	struct db_conn *c;
	int found, rc;

	db_thread_error_clear(); /* what the database said last is about this request only */
	store_audit_set_request_id(http_request_id(r)); /* the audit entries of this request carry its id */
	log_set_request_id(http_request_id(r));         /* and so do the log lines */
	if (rt->access == ACCESS_PUBLIC)
		return 0;
	if (ACCESS_KIND(rt->access) == ACCESS_DEV && !app->cfg->dev_expose_outbox)
		return http_reply_error(r, 404, "not_found", "未找到请求的资源", NULL), -1;
	s = xcalloc(sizeof(*s));
	http_set_user(r, s, free);
	c = db_acquire(app->db);
	found = load(r, c, s);
	rc = authorise(r, rt, s, found < 0);
	/* A page's first GET brings an anonymous session: it carries the CSRF token and the captcha. */
	if (rc == 0 && !s->valid && strcmp(http_method(r), "GET") == 0 &&
	    api_session_start(r, c, "anon", 0) != 0)
		rc = deny(r, 500, "internal", "服务器内部错误，请稍后重试");
	db_release(c);
	return rc;
}

int api_session_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct api_session *s = api_session(r);
	json_t *body = json_pack("{s:s}", "csrf_token", s->rec.csrf), *user = NULL;
	struct db_conn *c = db_acquire(app->db);

	if (strcmp(s->rec.kind, "org") == 0) {
		struct org_rec o = {0};
		if (store_org_get_id(c, s->rec.subject_id, &o) == DB_OK)
			user = store_org_json(&o);
	} else if (strcmp(s->rec.kind, "staff") == 0) {
		struct staff_rec st = {0};
		if (store_staff_get(c, NULL, s->rec.subject_id, &st) == DB_OK) {
			user = json_pack("{s:s, s:s, s:[]}", "username", st.username, "display_name",
					 st.display_name, "roles");
			for (int i = 0; i < ROLE_COUNT; i++)
				if (st.roles & (1u << i))
					json_array_append_new(json_object_get(user, "roles"),
							      json_string(role_name(i)));
		}
	}
	db_release(c);
	json_object_set_new(body, "kind", json_string(s->rec.kind));
	if (user != NULL)
		json_object_set_new(body, "user", user);
	return http_reply_json(r, 200, body);
}
