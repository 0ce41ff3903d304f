/* File-system helpers. */
#ifndef CERTDESK_FSUTIL_H
#define CERTDESK_FSUTIL_H
#include <sys/types.h>

/* Creates directory path and its missing parents with mode; returns 0 (also when it exists) or -1
 * with errno set. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Creates the parent directories of file path; returns 0 or -1 with errno set. */
int fs_mkdir_parent(const char *path, mode_t mode);

#endif
