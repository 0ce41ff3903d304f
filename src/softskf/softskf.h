/* The software SKF key (libcertdesk-softskf): a TEST key for certdesk-agent's tests and the demo,
 * never installed for production. It implements src/skf/skf_abi.h over OpenSSL 3 (SM2, SM3, SM4) and
 * keeps its devices in the directory named by CERTDESK_SOFTSKF_DIR.
 *
 * Parts: store.c (the directory layout, atomic writes, JSON state; width-independent, shared with
 * the tool), handles.c (the handle registry and the global lock), dev.c (devices, device auth),
 * app.c (applications and PINs), file.c (files), container.c (containers, certificates),
 * crypto.c (SM2 keys, signatures, the enveloped key import), tool.c (certdesk-softskf-tool).
 *
 * Layout of a device directory DIR/NAME:
 *   device.json                 {"serial","label","manufacturer","model","devauth": hex of 16 bytes}
 *   removed                     marker: the key is "pulled out"
 *   remove-after                a decimal count: state-changing calls left before the key is pulled
 *   apps/APP/app.json           PIN state ("admin"/"user": salt, hash, max, remain, default),
 *                               "create_rights", "files": {name: {size, read, write}}
 *   apps/APP/files/NAME         file contents (the size fixed at creation)
 *   apps/APP/containers/C/      sign.key, enc.key (PEM PKCS#8), sign.cer, enc.cer (DER) */
#ifndef CERTDESK_SOFTSKF_H
#define CERTDESK_SOFTSKF_H

#include <stddef.h>

#include <jansson.h>

#define SOFTSKF_ENV "CERTDESK_SOFTSKF_DIR"
#define SOFTSKF_MANUFACTURER "certdesk"
#define SOFTSKF_MODEL "SoftSKF"
#define SOFTSKF_DEVAUTH_LEN 16
#define SOFTSKF_DEFAULT_DEVAUTH "1234567812345678"
#define SOFTSKF_PATH_MAX 4096

/* Joins a and b with '/' into out (outlen bytes). Returns 0 or -1 when it does not fit. */
int softskf_path(char *out, size_t outlen, const char *a, const char *b);
/* Whether name is acceptable as one path component: 1..maxlen bytes, no '/', no control character,
 * not starting with '.'. */
int softskf_name_ok(const char *name, size_t maxlen);
/* Whether path exists (any type). */
int softskf_exists(const char *path);
/* Writes len bytes to path atomically (temporary file in the same directory, fsync, rename, fsync of
 * the directory). Returns 0 or -1. */
int softskf_write_file(const char *path, const void *data, size_t len);
/* Reads the whole file at path into a new buffer (caller frees; one extra NUL byte appended, not
 * counted in *len). Returns the buffer or NULL. */
unsigned char *softskf_read_file(const char *path, size_t *len);
/* Reads a JSON object from path (caller decrefs) or NULL. */
json_t *softskf_read_json(const char *path);
/* Writes the JSON object o to path atomically. Returns 0 or -1. */
int softskf_write_json(const char *path, const json_t *o);
/* Creates directory path (mode 0700) when missing. Returns 0 or -1. */
int softskf_mkdir(const char *path);
/* Removes path and everything below it. Returns 0 or -1. */
int softskf_rmtree(const char *path);
/* Lists the subdirectory (dirs_only) or file names of dir that softskf_name_ok accepts, sorted, as a
 * NULL-terminated array (caller frees with softskf_names_free). Returns NULL on error; a missing dir
 * gives an empty list. */
char **softskf_list(const char *dir, int dirs_only);
void softskf_names_free(char **names);
/* Hex-encodes n bytes into out (2n+1 bytes). */
void softskf_hex(const unsigned char *in, size_t n, char *out);
/* Decodes exactly n bytes of hex. Returns 0 or -1. */
int softskf_unhex(const char *hex, unsigned char *out, size_t n);

/* Creates a blank device DIR/NAME (device.json; no application). devauth_hex may be NULL (the
 * default key "1234567812345678"). Returns 0, -1 (error, with why) or -2 (it exists). */
int softskf_device_create(const char *dir, const char *name, const char *serial, const char *label,
			  const char *devauth_hex, char *why, size_t whylen);

#endif
