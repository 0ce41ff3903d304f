/* The pipe protocol between certdeskd (decode_client.c) and certdesk-decode (decode_main.c).
 * Request on the helper's standard input: an 8-byte header then the upload's bytes, then EOF:
 *   'C' 'D' op flags len(4 bytes, little-endian)
 * Reply on its standard output: len(4 bytes, little-endian) and that much JSON, then, when the JSON
 * says "pixels": n, exactly n bytes of packed 8-bit RGB rows (RGBA for DECODE_OP_RGBA). One request
 * per process. */
#ifndef CERTDESK_DECODE_PROTO_H
#define CERTDESK_DECODE_PROTO_H

#define DECODE_OP_INSPECT 'I' /* image_inspect, the photo hint, and with DECODE_F_QR the QR texts */
#define DECODE_OP_RGB 'R'     /* image_inspect, then the whole picture as RGB (seal extraction) */
#define DECODE_OP_RGBA 'A'    /* a PNG of any size within the pixel bounds (staff's own seal picture,
			       * not a scan: no scan rules), as RGBA keeping its transparency */
#define DECODE_F_QR 1u

#define DECODE_MAX_QR 16          /* QR texts returned at most */
#define DECODE_MAX_QR_TEXT 1024   /* bytes of one QR text, with its NUL */
#define DECODE_MAX_JSON (64u << 10)

/* Uploads whose first bytes are these (or the bytes after a PNG signature) make a helper started
 * with --test-hooks crash, hang, or
 * report what it may do (uid, open descriptors, whether socket() works): the integration test's
 * way to check the sandbox from inside. */
#define DECODE_HOOK_CRASH "CERTDESK-TEST-CRASH"
#define DECODE_HOOK_HANG "CERTDESK-TEST-HANG"
#define DECODE_HOOK_PROBE "CERTDESK-TEST-PROBE"

#endif
