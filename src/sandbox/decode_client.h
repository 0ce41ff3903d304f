/* certdeskd's side of certdesk-decode: every untrusted upload is decoded in a fresh helper process
 * (one per request: a hostile image cannot leave state behind for another organisation's upload,
 * and a crash or hang ends only that process), with a time limit. */
#ifndef CERTDESK_DECODE_CLIENT_H
#define CERTDESK_DECODE_CLIENT_H
#include <stddef.h>

#include "docs/image.h"
#include "sandbox/decode_proto.h"

struct config;
struct seal_rgb;

/* What the helper said about an upload. */
struct decode_facts {
	struct image_info info; /* media_type and ext point at static strings */
	int photo;              /* image_looks_like_photo */
	int nqr;
	char qr[DECODE_MAX_QR][DECODE_MAX_QR_TEXT];
	char code[48];     /* DECODE_REFUSED: image_inspect's code; DECODE_FAILED: "decode_failed" */
	char message[512]; /* Chinese */
};

enum decode_status {
	DECODE_OK = 0,
	DECODE_REFUSED = 1, /* the image breaks a rule (code, message: as image_inspect) */
	DECODE_FAILED = -1  /* the helper crashed, hung or could not start: answer 422 decode_failed */
};

/* Finds certdesk-decode ([security] decode_helper, or beside this program), remembers the settings
 * and forks the decode launcher (decode_launcher.h) that starts the helpers, so that certdeskd
 * needs neither fork nor execve. certdeskd calls it once at start, before any thread, the privilege
 * drop and the seccomp filter. Returns 0 or -1. */
int decode_setup(const struct config *cfg, char *err, size_t errlen);
/* Checks len bytes (image_inspect in the helper); with want_qr, reads the QR codes too. */
enum decode_status decode_inspect(const unsigned char *data, size_t len, int want_qr, struct decode_facts *f);
/* Checks the bytes and returns the picture as RGB in *img (seal_rgb_free). */
enum decode_status decode_rgb(const unsigned char *data, size_t len, struct seal_rgb *img, struct decode_facts *f);
/* Decodes a PNG that is not a scan (staff's own seal picture: no scan rules, only the pixel bounds)
 * keeping its transparency: *rgba gets w * h * 4 bytes (caller frees). */
enum decode_status decode_rgba(const unsigned char *data, size_t len, unsigned char **rgba, unsigned *w, unsigned *h,
			       struct decode_facts *f);

#endif
