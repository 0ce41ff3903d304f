/* The face-verification simulator: Tencent FaceID's API (DetectAuth, GetDetectInfoEnhanced, signed
 * with TC3-HMAC-SHA256 under the [idv] test keys), its H5 page for the phone, and a test hook to
 * decide a verification without the page. Sessions live in memory (the newest 1,000). */
#ifndef CERTDESK_SIM_FACEID_H
#define CERTDESK_SIM_FACEID_H
#include <stddef.h>

struct http_req;

/* POST /faceid and /faceid/: the API, dispatched on X-TC-Action. The server's context is the
 * struct config. */
int faceid_api(struct http_req *r);
/* POST /_sim/faceid/{token}/decide {"pass":bool, "err_code":n, "name":"...", "id_card":"...",
 * "delay_ms":n}: records an outcome (again, if need be); name/id_card replace what the provider
 * "verified"; delay_ms (0-30000) makes the result query of token answer that late (a slow FaceID). */
int faceid_sim_decide(struct http_req *r);
/* GET /faceid/h5?token=...: the page the phone opens (faceid_h5.c). */
int faceid_h5_page(struct http_req *r);
/* POST /faceid/h5/decide (form: token, result=pass|fail, err_code): records the outcome and
 * sends the phone back to the RedirectUrl with BizToken=... (faceid_h5.c). */
int faceid_h5_decide(struct http_req *r);
/* Forgets every session. */
void faceid_clear(void);

/* --- shared by faceid.c and faceid_h5.c --- */

struct faceid_view {
	char name[160]; /* as DetectAuth gave it */
	char id_card[32];
	char redirect_url[1025];
	int decided;
};

struct faceid_code {
	int code;
	const char *msg; /* Tencent's ErrMsg text for it */
};
/* The failure codes the simulator offers (the first is the default), and how many. */
extern const struct faceid_code faceid_failures[];
extern const int faceid_nfailures;

/* Copies what the session token holds into *v; returns 0, or -1 for an unknown token. */
int faceid_lookup(const char *token, struct faceid_view *v);
/* Records the outcome of token: err_code 0 passes; name/id_card (NULL: keep) replace the verified
 * identity. Returns 0, -1 for an unknown token, -2 when it was decided and again is 0. */
int faceid_decide(const char *token, long err_code, const char *name, const char *id_card, int again);
/* Returns the message for a result code ("成功" for 0). */
const char *faceid_code_msg(long code);

#endif
