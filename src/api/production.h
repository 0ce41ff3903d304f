/* Private to src/api/production*.c: what the production handlers share. */
#ifndef CERTDESK_API_PRODUCTION_H
#define CERTDESK_API_PRODUCTION_H

#include "http/http.h"
#include "km/km.h"

/* Loads the KEK of the configuration ([km] kek_file) into kek (wipe it with km_kek_wipe). Returns 0,
 * or -1 after replying 503 km_unavailable (why is logged, never shown). */
int production_kek_load(struct http_req *r, struct km_kek *kek);

/* The seal files on a main key (issue 14): SKF file names and PKCS#11 CKO_DATA labels (at most 32
 * bytes), so vendor seal tools find them; each holds one GB/T 38540 SES_Seal (DER). */
#define PRODUCTION_SEAL_FILE_ORG "CDSEAL_ORG.esl"
#define PRODUCTION_SEAL_FILE_LEGAL "CDSEAL_LEGAL.esl"

struct form;
struct order_rec;
struct db_conn;
/* The seals of POST .../production/complete (production_seals.c): for a main key, list (the body's
 * "seals": [{type, esl}]) must hold the seals made for key_id and its signing certificate
 * sign_serial, byte-equal, each verifying (409 seals_not_made, readback_mismatch, seal_invalid); a
 * secondary key's completion must carry none (422). Returns 0 (serial_out: sign_serial when seals
 * were checked, "" for a secondary key), or -1 with the problem recorded in f. */
int production_seals_readback(struct db_conn *c, struct form *f, const struct order_rec *o, int64_t key_id,
			      const char *sign_serial, json_t *list, char serial_out[48]);

#endif
