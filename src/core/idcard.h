/* Resident identity card numbers (GB 11643-1999): 6-digit area, 8-digit birth date, 3-digit sequence,
 * ISO 7064 MOD 11-2 check character (0-9 or X). The residence permits of Hong Kong, Macao and Taiwan
 * residents use the same format. Pure code. */
#ifndef CERTDESK_IDCARD_H
#define CERTDESK_IDCARD_H

#define IDCARD_LEN 18

enum idcard_result {
	IDCARD_OK = 0,
	IDCARD_BAD_FORMAT, /* not 17 digits and a digit or X (full-width forms are folded first) */
	IDCARD_BAD_DATE,   /* no such birth date, before 1900 or after today */
	IDCARD_BAD_CHECK,  /* the check character does not match */
	IDCARD_BAD_REGION, /* the address code names no province (000000, 99xxxx, ...) */
};

/* Normalises in (trimmed, full-width forms folded, x upper-cased) into out (IDCARD_LEN + 1 bytes)
 * and validates it; today (YYYYMMDD as a number) bounds the birth date. Returns an enum idcard_result. */
int idcard_check(const char *in, long today, char out[IDCARD_LEN + 1]);
/* Returns 1 when the first two digits of id are a GB/T 2260 province code (or 81-83 of the
 * residence permits). The full six-digit address code is not checked: that needs a table with the
 * historical county codes, which old ID numbers still carry. */
int idcard_province_ok(const char *id);
/* Returns the check character for the first 17 digits of id, or 0 when they are not digits. */
char idcard_check_char(const char *id17);
/* Writes a masked form ("360426********0071") into out (IDCARD_LEN + 1 bytes). */
void idcard_mask(const char *id, char out[IDCARD_LEN + 1]);

#endif
