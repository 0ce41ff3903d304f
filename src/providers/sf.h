/* SF Express (顺丰) open platform, route query (服务 EXP_RECE_SEARCH_ROUTES on /std/service): a
 * form POST signed with msgDigest = Base64(MD5(URLEncode(msgData + timestamp + checkWord))), and the
 * reply's envelope (apiResultCode, apiResultData: a JSON text inside a JSON string) read into the
 * parcel's routes, oldest first. certdesk-sim speaks the same API (src/sim/sf.c). Nothing here logs;
 * the check word never leaves the digest; thread-safe. sf.c: request and transport; sf_reply.c:
 * the reply parser (pure, fuzzed) and the opCode labels. */
#ifndef CERTDESK_PROVIDERS_SF_H
#define CERTDESK_PROVIDERS_SF_H
#include <stddef.h>

struct config;

struct sf_config {
	const char *endpoint;   /* https://bspgw.sf-express.com/std/service, or the simulator's */
	const char *partner_id; /* partnerID (顾客编码) */
	const char *check_word; /* checkWord (校验码): only ever used in the digest */
	int timeout_s;          /* for the whole call, connection included */
};

/* What became of one query. */
enum sf_result {
	SF_OK = 0,         /* the routes (possibly none yet) */
	SF_RETRY = -1,     /* no usable answer now: transport, time-out, provider fault, unreadable reply */
	SF_PERMANENT = -2, /* refused as it stands: A1004, A1006, bad number or settings, business error */
};

/* Limits of a reply; anything beyond is refused before it is used. */
#define SF_MAX_REPLY (1 << 20) /* bytes of the HTTP body */
#define SF_ROUTES_MAX 200      /* routes of one waybill */
#define SF_TIME_LEN 20         /* "yyyy-MM-dd HH:mm:ss" and NUL */
#define SF_ADDRESS_MAX 256     /* bytes of acceptAddress, NUL included */
#define SF_REMARK_MAX 512      /* bytes of remark, NUL included */
#define SF_OPCODE_MAX 16       /* bytes of opCode, NUL included */
#define SF_DIGEST_LEN 25       /* Base64 of 16 bytes and NUL */
#define SF_ERR_MAX 320         /* enough for what the adapter writes into err */

/* One route event: UTF-8 text without control characters, "" when SF left a field out. */
struct sf_route {
	char time[SF_TIME_LEN]; /* acceptTime, Beijing time (UTC+8), as SF writes it */
	char address[SF_ADDRESS_MAX];
	char remark[SF_REMARK_MAX];
	char op_code[SF_OPCODE_MAX];
};

/* Fills c from the [courier] section of cfg; the strings point into cfg, which must outlive c. */
void sf_config_from(struct sf_config *c, const struct config *cfg);

/* Writes msgDigest for msg_data, timestamp (milliseconds, as sent) and check_word into out (outlen
 * bytes, SF_DIGEST_LEN is enough): Base64 of the binary MD5 of the three concatenated and
 * form-encoded as Java's URLEncoder does (UTF-8; space as '+'; A-Z a-z 0-9 . - * _ kept; every other
 * byte %XX in upper case). Returns 0, or -1 when an argument is NULL, not UTF-8, or out too small. */
int sf_msg_digest(const char *msg_data, const char *timestamp, const char *check_word, char *out,
		  size_t outlen);

/* Reads a reply body (len bytes, need not be NUL-terminated) to a route query for mail_no. Returns
 * SF_OK with *routes (caller frees with sf_routes_free; NULL when *n is 0) and *n, sorted oldest
 * first; or SF_RETRY (unreadable, oversize or out-of-bounds reply, provider-side codes) or
 * SF_PERMANENT (A1004, A1006, a business error) with *routes NULL, *n 0 and a short technical
 * reason in err (errlen bytes): the code and SF's message. Pure: no I/O. */
int sf_parse_reply(const char *body, size_t len, const char *mail_no, struct sf_route **routes, size_t *n,
		   char *err, size_t errlen);

/* Asks SF for the routes of waybill mail_no (as tracking_sf_normalise takes it); check_phone is the
 * last 4 digits of the recipient's (or sender's) mobile, needed for waybills the partner did not
 * send, or NULL. Returns as sf_parse_reply; err also gets the transport's error or the HTTP status.
 * Never puts the check word or the phone digits in err. */
int sf_routes(const struct sf_config *c, const char *mail_no, const char *check_phone,
	      struct sf_route **routes, size_t *n, char *err, size_t errlen);

/* Frees what sf_parse_reply or sf_routes returned (NULL is fine). */
void sf_routes_free(struct sf_route *routes);

/* Returns a short Chinese label for an opCode ("50": "已揽收", "80": "已签收", ...), or NULL for a
 * code the table does not know (show the remark alone then). A static string. */
const char *sf_op_label(const char *op_code);

#endif
