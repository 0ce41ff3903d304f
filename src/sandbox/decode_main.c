#define _GNU_SOURCE /* close_range */
/* certdesk-decode: decodes one untrusted upload (libjpeg, libpng, libgd, zbar) for certdeskd and
 * exits. It has no database, no keys, no configuration secrets and no network: certdeskd starts it
 * with only its two pipes (every other descriptor is closed first thing), it drops to an
 * unprivileged user when started as root, then installs its seccomp list (read/write on the pipes,
 * memory, exit; anything else kills it) before it reads a byte of the upload. See decode_proto.h. */
#include <errno.h>
#include <grp.h>
#include <iconv.h>
#include <jansson.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "docs/image.h"
#include "docs/qrscan.h"
#include "sandbox/decode_proto.h"
#include "seal/extract.h"
#include "util/seccomp.h"
#include "util/log.h"

struct opts {
	const char *user; /* becomes this user when started as root */
	int timeout_s;    /* CPU seconds before the kernel ends it (certdeskd also kills it) */
	int hooks;        /* --test-hooks */
	int seccomp;      /* 0 with --no-seccomp ([security] seccomp = off) */
};

/* Writes all of len bytes to fd. Returns 0 or -1. */
static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n, len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes from fd. Returns 0 or -1. */
static int read_exact(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n, len -= (size_t)n;
	}
	return 0;
}

/* Sends the reply: the JSON's length and text, then px (npx bytes). Returns 0 or -1. */
static int reply(json_t *j, const unsigned char *px, size_t npx)
{
	char *text;
	unsigned char hdr[4];
	size_t n;
	int rc;

	if (npx > 0)
		json_object_set_new(j, "pixels", json_integer((json_int_t)npx));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		return -1;
	n = strlen(text);
	hdr[0] = (unsigned char)n, hdr[1] = (unsigned char)(n >> 8), hdr[2] = (unsigned char)(n >> 16),
	hdr[3] = (unsigned char)(n >> 24);
	rc = write_all(1, hdr, 4) != 0 || write_all(1, text, n) != 0 || (npx > 0 && write_all(1, px, npx) != 0)
		     ? -1
		     : 0;
	free(text);
	return rc;
}

static int on_qr(const char *text, void *arg)
{
	json_t *list = arg;

	if (json_array_size(list) < DECODE_MAX_QR && strlen(text) < DECODE_MAX_QR_TEXT)
		json_array_append_new(list, json_string(text));
	return json_array_size(list) >= DECODE_MAX_QR;
}

/* The facts of an accepted image, and its QR texts when asked. */
static json_t *inspect_facts(const unsigned char *d, size_t len, const struct image_info *info, int want_qr)
{
	json_t *j = json_pack("{s:b, s:s, s:s, s:i, s:i, s:i, s:i, s:b}", "ok", 1, "media_type", info->media_type,
			      "ext", info->ext, "width", (json_int_t)info->width, "height",
			      (json_int_t)info->height, "dpi_x", (json_int_t)info->dpi_x, "dpi_y",
			      (json_int_t)info->dpi_y, "photo", image_looks_like_photo(d, len));
	json_t *qr = json_array();
	unsigned char *grey = NULL;
	unsigned w = 0, h = 0;

	if (want_qr && image_decode_grey(d, len, &grey, &w, &h) == 0)
		qr_scan(grey, w, h, on_qr, qr);
	free(grey);
	json_object_set_new(j, "qr", qr);
	return j;
}

/* What the sandbox allows, seen from inside (DECODE_HOOK_PROBE). */
static json_t *probe(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int e = fd < 0 ? errno : 0;

	char msg[120];

	snprintf(msg, sizeof(msg), "uid=%d socket=%d errno=%d", (int)getuid(), fd, e);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", "probe", "message", msg);
}

/* The test hooks: returns a reply for a probe, never returns for a crash or hang, NULL otherwise. */
static json_t *test_hook(const unsigned char *d, size_t len)
{
	/* behind a PNG signature too: staff's own seal PNG is refused before decoding without one */
	if (len > 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
		d += 8, len -= 8;
	if (len >= strlen(DECODE_HOOK_CRASH) && memcmp(d, DECODE_HOOK_CRASH, strlen(DECODE_HOOK_CRASH)) == 0) {
		volatile int *nowhere = NULL;
		*nowhere = 1; /* a decoder's memory error */
	}
	if (len >= strlen(DECODE_HOOK_HANG) && memcmp(d, DECODE_HOOK_HANG, strlen(DECODE_HOOK_HANG)) == 0)
		for (;;)
			nanosleep(&(struct timespec){1, 0}, NULL);
	if (len >= strlen(DECODE_HOOK_PROBE) && memcmp(d, DECODE_HOOK_PROBE, strlen(DECODE_HOOK_PROBE)) == 0)
		return probe();
	return NULL;
}

/* DECODE_OP_RGBA: a PNG within the pixel bounds (read from its header before decoding), decoded with
 * its alpha. Returns 0 or -1. */
static int serve_rgba(const unsigned char *d, size_t len)
{
	unsigned char *rgba = NULL;
	unsigned w = 0, h = 0;
	int rc;

	/* the signature, then IHDR's width and height (big-endian) at bytes 16 to 23 */
	if (len >= 24 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
		w = (unsigned)d[16] << 24 | (unsigned)d[17] << 16 | (unsigned)d[18] << 8 | d[19];
		h = (unsigned)d[20] << 24 | (unsigned)d[21] << 16 | (unsigned)d[22] << 8 | d[23];
	}
	if (w == 0 || h == 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (unsigned long long)w * h > IMAGE_MAX_PIXELS ||
	    seal_rgba_decode_png(d, len, &rgba, &w, &h) != 0)
		return reply(json_pack("{s:b, s:s, s:s}", "ok", 0, "code", "file_type", "message", "PNG 图片无法解码"),
			     NULL, 0);
	rc = reply(json_pack("{s:b, s:s, s:i, s:i}", "ok", 1, "media_type", "image/png", "width", (json_int_t)w,
			     "height", (json_int_t)h),
		   rgba, (size_t)w * h * 4);
	free(rgba);
	return rc;
}

/* Decodes the request's bytes and replies. Returns 0 or -1. */
static int serve(int op, unsigned flags, const unsigned char *d, size_t len, int hooks)
{
	struct image_info info = {0};
	const char *code = NULL, *msg = NULL;
	struct seal_rgb img = {0};
	json_t *j = hooks ? test_hook(d, len) : NULL;
	int rc;

	if (j != NULL)
		return reply(j, NULL, 0);
	if (op == DECODE_OP_RGBA)
		return serve_rgba(d, len);
	if (image_inspect(d, len, &info, &code, &msg) != 0)
		return reply(json_pack("{s:b, s:s, s:s}", "ok", 0, "code", code, "message", msg), NULL, 0);
	if (op == DECODE_OP_INSPECT)
		return reply(inspect_facts(d, len, &info, (flags & DECODE_F_QR) != 0), NULL, 0);
	if (seal_rgb_decode(d, len, &img) != 0)
		return reply(json_pack("{s:b, s:s, s:s}", "ok", 0, "code", "image_corrupt", "message",
				       "图片文件已损坏或不完整，无法打开，请重新扫描保存后上传"),
			     NULL, 0);
	rc = reply(json_pack("{s:b, s:s, s:i, s:i}", "ok", 1, "media_type", info.media_type, "width",
			     (json_int_t)img.w, "height", (json_int_t)img.h),
		   img.px, (size_t)img.w * img.h * 3);
	seal_rgb_free(&img);
	return rc;
}

/* As root: becomes o->user for good (and checks root cannot come back). Returns 0 or -1. */
static int drop_root(const struct opts *o)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(o->user);
	if (pw == NULL || pw->pw_uid == 0 || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
		log_error("decode", "cannot become %s", o->user);
		return -1;
	}
	return 0;
}

/* zbar converts a QR code's bytes to UTF-8 with iconv, which loads glibc's conversion modules from
 * disk on first use: they are loaded here, before the filter forbids open, and kept loaded (the
 * descriptors stay open) for the encodings a QR code may declare. */
static void preload_iconv(void)
{
	static const char *const from[] = {"ISO8859-1", "SJIS", "BIG5", "GB18030", "CP437", "ISO8859-2", "ISO8859-3",
					   "ISO8859-4", "ISO8859-5", "ISO8859-6", "ISO8859-7", "ISO8859-8",
					   "ISO8859-9", "ISO8859-10", "ISO8859-11", "ISO8859-13", "ISO8859-14",
					   "ISO8859-15", "ISO8859-16", "UTF-16BE", "ASCII"};

	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		(void)iconv_open("UTF-8", from[i]); /* never closed: the module stays loaded */
}

/* Limits that hold even if the filter were off: no core file, bounded CPU, no files written. */
static void limit(const struct opts *o)
{
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	setrlimit(RLIMIT_CPU, &(struct rlimit){(rlim_t)o->timeout_s + 1, (rlim_t)o->timeout_s + 2});
	setrlimit(RLIMIT_FSIZE, &(struct rlimit){0, 0});
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			o->user = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			o->timeout_s = atoi(argv[++i]);
		else if (strcmp(argv[i], "--test-hooks") == 0)
			o->hooks = 1;
		else if (strcmp(argv[i], "--no-seccomp") == 0)
			o->seccomp = 0;
		else
			return -1;
	}
	if (o->timeout_s < 1)
		o->timeout_s = 10;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {"nobody", 10, 0, 1};
	unsigned char hdr[8], *data;
	size_t len;
	char err[200];

	/* Nothing of certdeskd's (database, listening socket, logs) stays open here. */
	log_setup("certdesk-decode", 1); /* its lines reach certdeskd's standard error: JSON as certdeskd's */
	close_range(3, ~0u, 0);
	if (parse_args(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: certdesk-decode [--user NAME] [--timeout S] [--no-seccomp]\n"
				"  Started by certdeskd: decodes one upload from standard input.\n");
		return 2;
	}
	limit(&o);
	if (drop_root(&o) != 0)
		return 1;
	preload_iconv();
	json_object_seed(0); /* jansson seeds its hashes from /dev/urandom: before the filter forbids open */
	if (o.seccomp && seccomp_install(SECCOMP_DECODER, err, sizeof(err)) < 0) {
		log_error("decode", "%s", err);
		return 1;
	}
	if (read_exact(0, hdr, 8) != 0 || hdr[0] != 'C' || hdr[1] != 'D')
		return 1;
	len = (size_t)hdr[4] | (size_t)hdr[5] << 8 | (size_t)hdr[6] << 16 | (size_t)hdr[7] << 24;
	if (len > IMAGE_MAX_BYTES || (data = malloc(len + 1)) == NULL || read_exact(0, data, len) != 0)
		return 1;
	/* _exit: nothing to flush, and no exit-time work (a sanitizer's leak scan) under the filter */
	_exit(serve(hdr[2], hdr[3], data, len, o.hooks) == 0 ? 0 : 1);
}
