/* Private to src/api/production*.c: what the production handlers share. */
#ifndef CERTDESK_API_PRODUCTION_H
#define CERTDESK_API_PRODUCTION_H

#include "http/http.h"
#include "km/km.h"

/* Loads the KEK of the configuration ([km] kek_file) into kek (wipe it with km_kek_wipe). Returns 0,
 * or -1 after replying 503 km_unavailable (why is logged, never shown). */
int production_kek_load(struct http_req *r, struct km_kek *kek);

#endif
