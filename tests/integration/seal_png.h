/* A clean seal picture for the integration tests (issue 14): what staff upload as their own PNG. */
#ifndef TEST_SEAL_PNG_H
#define TEST_SEAL_PNG_H
#include <stddef.h>

/* Returns a PNG (malloc'd, *len its size) of a red seal on a transparent background, size x size
 * pixels: a round seal with a star and text-like strokes, or (square) a square one. */
unsigned char *test_seal_png(int square, int size, size_t *len);
/* Returns the base64 of len bytes (malloc'd). */
char *test_b64(const unsigned char *data, size_t len);

#endif
