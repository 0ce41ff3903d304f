#define _GNU_SOURCE /* nftw's FTW_PHYS, setgroups */
#include "sandbox/privdrop.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

static uid_t to_uid;
static gid_t to_gid;

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return lchown(path, to_uid, to_gid) != 0 ? -1 : 0;
}

/* Gives the trees and files to the user. Returns 0, or -1 with errno and *bad set. */
static int hand_over(const char *const *trees, const char *const *files, const char **bad)
{
	for (; trees != NULL && *trees != NULL; trees++) {
		*bad = *trees;
		if (access(*trees, F_OK) == 0 && nftw(*trees, chown_one, 16, FTW_PHYS) != 0)
			return -1;
	}
	for (; files != NULL && *files != NULL; files++) {
		*bad = *files;
		if (access(*files, F_OK) == 0 && lchown(*files, to_uid, to_gid) != 0)
			return -1;
	}
	return 0;
}

int privdrop_become(const char *user, const char *const *trees, const char *const *files, char *err,
		    size_t errlen)
{
	const char *bad = "";
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (user == NULL || user[0] == '\0') {
		log_warn("certdeskd", "running as root ([server] user is empty)");
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL || pw->pw_uid == 0) {
		snprintf(err, errlen, "[server] user %s: %s", user, pw == NULL ? "no such user" : "is root");
		return -1;
	}
	to_uid = pw->pw_uid, to_gid = pw->pw_gid;
	if (hand_over(trees, files, &bad) != 0) {
		snprintf(err, errlen, "cannot give %s to %s: %s", bad, user, strerror(errno));
		return -1;
	}
	/* the supplementary groups first (they need root), then the group, then the user */
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || getegid() == 0) {
		snprintf(err, errlen, "still able to become root after becoming %s", user);
		return -1;
	}
	return 0;
}
