/* Captcha images: a short text drawn distorted over noise, as PNG. */
#ifndef CERTDESK_CAPTCHA_H
#define CERTDESK_CAPTCHA_H
#include <stddef.h>

#define CAPTCHA_LEN 5

/* Writes a random answer of CAPTCHA_LEN characters (no look-alikes such as 0/O, 1/I) into text. */
void captcha_text(char text[CAPTCHA_LEN + 1]);
/* Renders text as a PNG; *png gets a malloc'd buffer (caller frees) and *len its size.
 * Returns 0 or -1. */
int captcha_png(const char *text, unsigned char **png, size_t *len);

#endif
