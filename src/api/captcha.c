/* Image captchas: generated per session, single use, expiring; bound to the session that fetched
 * them by hashing the answer with the session's id hash. */
#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/form.h"
#include "config/config.h"
#include "docs/captcha.h"
#include "util/timefmt.h"

#define CAPTCHA_TTL_S 300

/* Writes the hex hash binding answer (upper-cased) to the session into out. */
static void answer_hash(const char *session_hash, const char *answer, char out[72])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char up[16];
	size_t n = 0;

	for (; answer[n] != '\0' && n < sizeof(up) - 1; n++)
		up[n] = (char)toupper((unsigned char)answer[n]);
	up[n] = '\0';
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)session_hash, strlen(session_hash));
	crypto_hash_sha256_update(&st, (const unsigned char *)":", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)up, n);
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(out, 72, md, sizeof(md));
}

int api_captcha_get(struct http_req *r)
{
	struct app *app = http_ctx(r);
	struct api_session *s = api_session(r);
	char text[CAPTCHA_LEN + 1], hash[72], expires[TIMEFMT_LEN];
	unsigned char *png = NULL;
	size_t len = 0;
	struct db_conn *c;
	int rc;

	captcha_text(text);
	if (app->cfg->dev_captcha_answer[0] != '\0')
		snprintf(text, sizeof(text), "%s", app->cfg->dev_captcha_answer);
	answer_hash(s->id_hash, text, hash);
	c = db_acquire(app->db);
	rc = store_session_set_captcha(c, s->id_hash, hash,
				       timefmt_rfc3339(time(NULL) + CAPTCHA_TTL_S, expires));
	db_release(c);
	if (rc != DB_OK || captcha_png(text, &png, &len) != 0)
		return api_internal(r, "captcha");
	http_add_header(r, "Cache-Control", "no-store");
	rc = http_reply_bytes(r, 200, "image/png", png, len);
	free(png);
	return rc;
}

int api_captcha_check(struct http_req *r, struct db_conn *c, struct form *f, const char *answer)
{
	struct api_session *s = api_session(r);
	char stored[72], expires[32], hash[72], now[TIMEFMT_LEN];

	if (store_session_take_captcha(c, s->id_hash, stored, expires) != DB_OK) {
		form_error(f, 500, NULL, "internal", "服务器内部错误，请稍后重试");
		return -1;
	}
	if (answer == NULL) {
		form_error(f, 422, "captcha", "captcha_required", "请输入图片验证码");
		return -1;
	}
	if (stored[0] == '\0' || strcmp(expires, timefmt_rfc3339(time(NULL), now)) <= 0) {
		form_error(f, 422, "captcha", "captcha_expired",
			   "图片验证码已失效，请点击图片刷新后重新输入");
		return -1;
	}
	answer_hash(s->id_hash, answer, hash);
	if (sodium_memcmp(hash, stored, 64) != 0) {
		form_error(f, 422, "captcha", "captcha_wrong", "图片验证码错误，请重新输入");
		return -1;
	}
	return 0;
}
