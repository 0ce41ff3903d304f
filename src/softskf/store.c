/* The software key's files: path helpers, atomic writes (temporary name, fsync, rename, fsync of the
 * directory, so a kill never leaves a torn file), JSON state and directory listings. Nothing here
 * depends on the width of ULONG: the tool links it as well. */
#define _GNU_SOURCE /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "softskf/softskf.h"

int softskf_path(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s/%s", a, b);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int softskf_name_ok(const char *name, size_t maxlen)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	n = strnlen(name, maxlen + 1);
	if (n > maxlen)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

int softskf_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* fsyncs the directory that holds path, so that a rename in it is durable. */
static void sync_parent(const char *path)
{
	char dir[SOFTSKF_PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int softskf_write_file(const char *path, const void *data, size_t len)
{
	char tmp[SOFTSKF_PATH_MAX];
	const unsigned char *p = data;
	int fd, ok = 1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	while (ok && len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		if (ok) {
			p += w;
			len -= (size_t)w;
		}
	}
	ok = ok && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		unlink(tmp);
		return -1;
	}
	sync_parent(path);
	return 0;
}

unsigned char *softskf_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

json_t *softskf_read_json(const char *path)
{
	json_t *o = json_load_file(path, 0, NULL);

	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int softskf_write_json(const char *path, const json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int r;

	if (s == NULL)
		return -1;
	r = softskf_write_file(path, s, strlen(s));
	free(s);
	return r;
}

int softskf_mkdir(const char *path)
{
	if (mkdir(path, 0700) == 0) {
		sync_parent(path);
		return 0;
	}
	return errno == EEXIST ? 0 : -1;
}

/* nftw callback of softskf_rmtree. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int softskf_rmtree(const char *path)
{
	int r;

	if (!softskf_exists(path))
		return 0;
	r = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	sync_parent(path);
	return r == 0 ? 0 : -1;
}

/* qsort comparison of two strings. */
static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether entry name of dir is a directory. */
static int is_dir(const char *dir, const char *name)
{
	char p[SOFTSKF_PATH_MAX];
	struct stat st;

	return softskf_path(p, sizeof(p), dir, name) == 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char **softskf_list(const char *dir, int dirs_only)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;

	if (v == NULL) {
		if (d != NULL)
			closedir(d);
		return NULL;
	}
	if (d == NULL)
		return errno == ENOENT ? v : (free(v), NULL);
	while ((e = readdir(d)) != NULL) {
		char **nv;
		if (!softskf_name_ok(e->d_name, 255) || (!dirs_only && strstr(e->d_name, ".tmp") != NULL) ||
		    is_dir(dir, e->d_name) != dirs_only)
			continue;
		nv = realloc(v, (n + 2) * sizeof(char *));
		if (nv == NULL)
			break;
		v = nv;
		v[n] = strdup(e->d_name);
		if (v[n] == NULL)
			break;
		v[++n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmp_names);
	return v;
}

void softskf_names_free(char **names)
{
	if (names == NULL)
		return;
	for (size_t i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

void softskf_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Value of one hex digit or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int softskf_unhex(const char *hex, unsigned char *out, size_t n)
{
	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int softskf_device_create(const char *dir, const char *name, const char *serial, const char *label,
			  const char *devauth_hex, char *why, size_t whylen)
{
	char path[SOFTSKF_PATH_MAX], file[SOFTSKF_PATH_MAX], hex[2 * SOFTSKF_DEVAUTH_LEN + 1];
	char gen_serial[33];
	unsigned char key[SOFTSKF_DEVAUTH_LEN], rnd[8];
	json_t *o;
	int r;

	if (!softskf_name_ok(name, 64) || softskf_path(path, sizeof(path), dir, name) != 0 ||
	    softskf_path(file, sizeof(file), path, "device.json") != 0)
		return snprintf(why, whylen, "invalid device name"), -1;
	if (softskf_exists(file))
		return snprintf(why, whylen, "device %s exists", name), -2;
	if (devauth_hex == NULL)
		memcpy(key, SOFTSKF_DEFAULT_DEVAUTH, SOFTSKF_DEVAUTH_LEN);
	else if (softskf_unhex(devauth_hex, key, sizeof(key)) != 0)
		return snprintf(why, whylen, "--devauth needs 32 hex digits"), -1;
	if (serial == NULL) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return snprintf(why, whylen, "no random"), -1;
		snprintf(gen_serial, sizeof(gen_serial), "SOFT");
		softskf_hex(rnd, sizeof(rnd), gen_serial + 4);
		serial = gen_serial;
	}
	if (strlen(serial) >= 32 || (label != NULL && strlen(label) >= 32))
		return snprintf(why, whylen, "serial and label must be shorter than 32 bytes"), -1;
	softskf_hex(key, sizeof(key), hex);
	if (softskf_mkdir(dir) != 0 || softskf_mkdir(path) != 0)
		return snprintf(why, whylen, "cannot create %s", path), -1;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", serial, "label", label != NULL ? label : name,
		      "manufacturer", SOFTSKF_MANUFACTURER, "model", SOFTSKF_MODEL, "devauth", hex);
	r = o != NULL ? softskf_write_json(file, o) : -1;
	json_decref(o);
	if (r != 0)
		snprintf(why, whylen, "cannot write %s", file);
	return r;
}
