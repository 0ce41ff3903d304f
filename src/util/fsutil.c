#include "util/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"

int fs_mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; rc == 0 && *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, mode) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

int fs_mkdir_parent(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *slash = strrchr(p, '/');
	int rc = 0;

	if (slash != NULL && slash != p) {
		*slash = '\0';
		rc = fs_mkdir_p(p, mode);
	}
	free(p);
	return rc;
}
