/* certdesk seal verify FILE [--json] [--picture OUT]: checks a GB/T 38540 / GM/T 0031 seal file
 * (no database, no configuration needed). Exit 0 valid, 1 invalid, 2 usage or I/O error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "seal/seal.h"
#include "util/timefmt.h"

static int seal_usage(void)
{
	fprintf(stderr, "usage: certdesk seal verify FILE [--json] [--picture OUT]\n");
	return 2;
}

/* Reads at most max + 1 bytes of path (so that a larger file is seen as such). Returns the bytes
 * (malloc'd) with *len, or NULL with errno. */
static unsigned char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = f != NULL ? malloc(max + 1) : NULL;

	if (buf == NULL) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Writes len bytes to path through a temporary name, fsync'd, then renamed. Returns 0 or -1. */
static int write_file(const char *path, const unsigned char *p, size_t len)
{
	char tmp[4096];
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ok = 1;
	for (size_t off = 0; ok && off < len;) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		off += n > 0 ? (size_t)n : 0;
	}
	ok = ok && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

/* Prints the report for people. */
static void print_text(const struct seal_report *rep)
{
	static const char *const results[] = {"跳过", "通过", "失败"};
	const struct seal *s = &rep->seal;
	char a[TIMEFMT_LEN], b[TIMEFMT_LEN], c[TIMEFMT_LEN];

	printf("印章：%s\n", rep->valid ? "有效" : "无效");
	if (rep->decoded) {
		printf("格式：%s（版本 %ld，厂商 %s）\n", s->format == 1 ? "GM/T 0031" : "GB/T 38540", s->version, s->vid);
		printf("印章编码：%s\n名称：%s\n类型：%ld\n", s->es_id, s->name, s->type);
		printf("制作时间：%s\n有效期：%s 至 %s\n", timefmt_rfc3339(s->create_date, a),
		       timefmt_rfc3339(s->valid_start, b), timefmt_rfc3339(s->valid_end, c));
		printf("证书列表：类型 %ld，%d 项\n", s->cert_list_type, s->ncerts);
		printf("图片：%s，%zu 字节，%ld × %ld 毫米\n", s->pic_type, s->picture.len, s->width_mm, s->height_mm);
		printf("签名算法：%s（%s）\n", s->alg_oid, rep->signature_format != NULL ? rep->signature_format : "?");
	}
	for (int i = 0; i < SEAL_CHECK_COUNT; i++)
		printf("  %-18s %s%s%s\n", seal_check_name(i), results[rep->checks[i].result],
		       rep->checks[i].message[0] ? "  " : "", rep->checks[i].message);
}

/* Runs `seal verify` on the parsed arguments. */
static int seal_verify_file(const char *file, int json, const char *picture)
{
	size_t len = 0;
	unsigned char *der = read_file(file, SEAL_MAX_LEN, &len);
	struct seal_report *rep = der != NULL ? malloc(sizeof(*rep)) : NULL;
	int rc;

	if (rep == NULL) {
		fprintf(stderr, "certdesk: %s: %s\n", file, strerror(errno));
		free(der);
		return 2;
	}
	rc = seal_verify(der, len, time(NULL), rep) ? 0 : 1;
	if (json) {
		json_t *j = seal_report_json(rep);
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", text != NULL ? text : "{}");
		free(text);
		json_decref(j);
	} else {
		print_text(rep);
	}
	if (picture != NULL) {
		if (!rep->decoded) {
			fprintf(stderr, "certdesk: 印章无法解析，未写出图片\n");
			rc = 2;
		} else if (write_file(picture, rep->seal.picture.p, rep->seal.picture.len) != 0) {
			fprintf(stderr, "certdesk: %s: %s\n", picture, strerror(errno));
			rc = 2;
		}
	}
	free(rep);
	free(der);
	return rc;
}

int cmd_seal(int argc, char **argv)
{
	const char *file = NULL, *picture = NULL;
	int json = 0;

	if (argc < 2 || strcmp(argv[0], "verify") != 0)
		return seal_usage();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--picture") == 0 && i + 1 < argc)
			picture = argv[++i];
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			return seal_usage();
	}
	return file != NULL ? seal_verify_file(file, json, picture) : seal_usage();
}
