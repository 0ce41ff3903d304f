/* The order and its scanned 签章采集表 for staff's seal routes (seal_crops.c, seal_pictures.c), in one
 * place: the order and the scan's document are read with a pooled connection, which is given back
 * before the file is read; the scan is decoded by certdesk-decode (certdeskd sees RGB pixels only)
 * and the page located from its QR code. Staff's own seal PNG is decoded there too. */
#ifndef CERTDESK_API_SEAL_SCAN_H
#define CERTDESK_API_SEAL_SCAN_H
#include <stddef.h>

#include "api/api.h"
#include "sandbox/decode_client.h"
#include "seal/extract.h"

struct seal_scan {
	struct order_rec o;
	int has_seal;        /* the order's key type carries seals (a main key) */
	struct doc_rec d;    /* the current seal-form scan (want_scan) */
	unsigned char *data; /* its bytes (malloc'd) */
	size_t len;
};

/* Loads the order of the path (staff) and, when want_scan and the order has seals, reads its current
 * seal-form scan. Returns 0 (the caller answers 409 in its own words when !s->has_seal), or -1 after
 * replying (404 for no order or no scan). s is freed with api_seal_scan_free either way. */
int api_seal_scan_read(struct http_req *r, int want_scan, struct seal_scan *s);
/* Decodes s's scan (checked again: the stored bytes are outside input) and locates the page and the
 * proposed boxes; *img is freed with seal_rgb_free. Returns 0, or -1 after replying. */
int api_seal_scan_open(struct http_req *r, const struct seal_scan *s, struct seal_rgb *img,
		       struct seal_page *page, struct seal_box boxes[SEAL_NSLOTS]);
/* Checks staff's own clean PNG for slot with the seal rules (seal_check_rgba), decoded by
 * certdesk-decode like every upload. Returns DECODE_OK with *res filled (seal_result_free), or
 * DECODE_REFUSED (415) / DECODE_FAILED (422) with f's code and message. */
enum decode_status api_seal_check_png(const unsigned char *png, size_t len, enum seal_slot slot,
				      double width_mm, const struct seal_opts *opts, struct seal_result *res,
				      struct decode_facts *f);
/* Frees what s holds. */
void api_seal_scan_free(struct seal_scan *s);

#endif
