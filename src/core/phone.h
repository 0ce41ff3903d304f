/* Mainland China mobile numbers: 11 digits 1[3-9]xxxxxxxxx, an optional +86 / 86 prefix stripped.
 * Prefix lists go stale, so the carrier is left to the SMS provider. Pure code. */
#ifndef CERTDESK_PHONE_H
#define CERTDESK_PHONE_H

#define MOBILE_LEN 11

/* Normalises in (full-width forms folded; spaces, dashes and a +86/86 prefix removed) into out
 * (MOBILE_LEN + 1 bytes). Returns 0 when it is a mainland mobile number, -1 otherwise (out is then empty). */
int phone_mobile_normalise(const char *in, char out[MOBILE_LEN + 1]);
/* Writes a masked form of an 11-digit mobile ("138****8000") into out (12 bytes). */
void phone_mask(const char *mobile, char out[MOBILE_LEN + 1]);

#endif
