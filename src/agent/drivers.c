/* Finds other CA vendors' USB key middleware on the PC (drivers.h). Only file names are looked at:
 * nothing is opened or loaded, so a broken vendor library cannot hurt the agent. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/drivers.h"
#include "util/xalloc.h"

/* The known middleware, matched against the lower-cased name of a shared object (*.so, *.so.N),
 * first match wins (so the specific
 * vendor rows come before the generic SKF row). Where the names come from: these are the file names
 * listed for each vendor in certdesk issue 15's brief, i.e. the vendor's name or product name as it
 * appears in the library file names of its Linux driver package; none of them was checked here against
 * a vendor's own documentation, so the table errs towards the vendor name as a substring. */
static const struct {
	const char *pattern; /* fnmatch(3) pattern, lower case */
	const char *label;   /* shown to the user */
} known[] = {
	/* 飞天诚信 (Feitian) ePass3000GM: SKF library named after the product (libes_3000gm…) */
	{"libes_3000gm*", "飞天 ePass3000GM"},
	/* 飞天诚信: the company name in its libraries' names */
	{"*ftsafe*", "飞天诚信"},
	{"*feitian*", "飞天诚信"},
	/* 龙脉 (Longmai) mToken GM3000: SKF library libgm3000…, PKCS#11 module …gm3000…pkcs11… */
	{"*gm3000*pkcs11*", "龙脉 GM3000 (PKCS#11)"},
	{"libgm3000*", "龙脉 GM3000"},
	{"*longmai*", "龙脉"},
	/* 海泰方圆 (Haitai): company name, and its SKF libraries libht…skf… */
	{"*haitai*", "海泰"},
	{"libht*skf*", "海泰"},
	/* 北京数字认证 (BJCA): company abbreviation, at the start of a word (libLLVMObjCARC… is no BJCA) */
	{"libbjca*", "北京CA"},
	{"*[_.-]bjca*", "北京CA"},
	/* 握奇 (Watchdata): company name */
	{"*watchdata*", "握奇"},
	/* Shuttle key libraries: libshuttle… */
	{"libshuttle*", "Shuttle"},
	/* Castle PKCS#11 modules: libcastle… */
	{"libcastle*", "Castle (PKCS#11)"},
	/* any other SKF (GM/T 0016) library: "skf" in a shared object's name */
	{"*skf*.so*", "SKF 驱动"},
};

const char *agent_driver_label(const char *file_name)
{
	char lower[NAME_MAX + 1];
	size_t i;

	for (i = 0; file_name[i] != '\0' && i < NAME_MAX; i++)
		lower[i] = (file_name[i] >= 'A' && file_name[i] <= 'Z') ? (char)(file_name[i] + 32) : file_name[i];
	lower[i] = '\0';
	if (strncmp(lower, "libcertdesk-softskf", 19) == 0)
		return NULL; /* the project's own software key */
	if (fnmatch("*.so", lower, 0) != 0 && fnmatch("*.so.*", lower, 0) != 0)
		return NULL; /* drivers are shared objects; static archives, headers, docs are not */
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (fnmatch(known[k].pattern, lower, 0) == 0)
			return known[k].label;
	return NULL;
}

struct scan {
	json_t *hits;
	char (*exclude)[PATH_MAX]; /* realpaths of the agent's own libraries */
	size_t nexclude;
	long budget; /* entries left for the current configured directory */
};

/* Returns 1 for the kernel's pseudo file systems, never scanned (huge, and reads there have effects). */
static int pseudo_fs(const char *path)
{
	static const char *const no[] = {"/proc", "/sys"};

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		size_t n = strlen(no[i]);
		if (strncmp(path, no[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/* Records path (a regular file named name) when it is a known driver and not one of the agent's own. */
static void consider(struct scan *s, const char *path, const char *name)
{
	const char *label = agent_driver_label(name);
	char real[PATH_MAX];

	if (label == NULL || json_array_size(s->hits) >= DRIVERS_MAX_HITS)
		return;
	if (realpath(path, real) == NULL)
		return;
	for (size_t i = 0; i < s->nexclude; i++)
		if (strcmp(real, s->exclude[i]) == 0)
			return;
	for (size_t i = 0; i < json_array_size(s->hits); i++) /* a directory reached twice */
		if (strcmp(json_string_value(json_object_get(json_array_get(s->hits, i), "path")), real) == 0)
			return;
	json_array_append_new(s->hits, json_pack("{s:s, s:s}", "path", real, "name", label));
}

/* Walks directory fd (path, depth levels already below the configured one); takes over fd. Symlinks
 * are never followed (O_NOFOLLOW, lstat-like d_type), so a link loop cannot make the walk circle. */
static void walk(struct scan *s, int fd, const char *path, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;

	if (d == NULL) {
		close(fd);
		return;
	}
	while (s->budget > 0 && (e = readdir(d)) != NULL) {
		char child[PATH_MAX];
		unsigned char type = e->d_type;
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		s->budget--;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") == 0 ? "" : path,
				     e->d_name) >= sizeof(child))
			continue;
		if (type == DT_UNKNOWN) { /* some file systems do not say: ask without following links */
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_LNK;
		}
		if (type == DT_REG) {
			consider(s, child, e->d_name);
		} else if (type == DT_DIR && depth < DRIVERS_MAX_DEPTH && !pseudo_fs(child)) {
			int cfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0)
				walk(s, cfd, child, depth + 1);
		}
	}
	closedir(d);
}

/* Scans one configured directory; the directory itself may be a symlink (/usr/lib64 -> lib). */
static void scan_root(struct scan *s, const char *dir)
{
	char real[PATH_MAX];
	int fd;

	if (realpath(dir, real) == NULL || pseudo_fs(real))
		return;
	if ((fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	s->budget = DRIVERS_MAX_ENTRIES;
	walk(s, fd, real, 0);
}

json_t *agent_drivers_scan(const char *dirs, const char *const *exclude, size_t nexclude)
{
	struct scan s = {0};
	char *list = xstrdup(dirs != NULL ? dirs : ""), *save = NULL;

	s.hits = json_array();
	s.exclude = xcalloc((nexclude + 1) * sizeof(*s.exclude));
	for (size_t i = 0; i < nexclude; i++)
		if (exclude[i] != NULL && realpath(exclude[i], s.exclude[s.nexclude]) != NULL)
			s.nexclude++;
	for (char *t = strtok_r(list, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save))
		scan_root(&s, t);
	free(s.exclude);
	free(list);
	return s.hits;
}
