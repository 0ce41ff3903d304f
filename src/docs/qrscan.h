/* Reading QR codes back from uploaded scans (zbar), to check that a scanned form belongs to the
 * order it is uploaded for. */
#ifndef CERTDESK_QRSCAN_H
#define CERTDESK_QRSCAN_H
#include <stddef.h>

/* Decodes an image already accepted by image_inspect to 8-bit grey into *grey (malloc'd, caller
 * frees) of *w x *h pixels, for qr_scan. A large JPEG comes reduced (libjpeg's scaling, short side
 * 600 pixels or more) when its QR codes can be read at that size, else at full size; so *w x *h may
 * be smaller than the image. Returns 0 or -1. */
int image_decode_grey(const unsigned char *data, size_t len, unsigned char **grey, unsigned *w, unsigned *h);
/* Finds the QR codes in an image already accepted by image_inspect, as image_decode_grey + qr_scan
 * but scanning a large JPEG's reduced image only once; calls found(text, arg) for each until it
 * returns non-zero. Returns the number of QR codes seen, or -1 when the image does not decode. */
int image_scan_qr(const unsigned char *data, size_t len, int (*found)(const char *text, void *arg),
		  void *arg);
/* Finds the QR codes in a grey image; calls found(text, arg) for each until it returns non-zero.
 * Returns the number of QR codes seen. */
int qr_scan(const unsigned char *grey, unsigned w, unsigned h, int (*found)(const char *text, void *arg),
	    void *arg);
/* Returns 1 when a JPEG carries an Exif block with a camera make, as phone photos do and scanners
 * mostly do not; 0 otherwise (a hint for the reviewer, not a rule). */
int image_looks_like_photo(const unsigned char *data, size_t len);

#endif
