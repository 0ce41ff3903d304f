/* Content-addressed files on local disk: <dir>/<aa>/<sha256>. A file is written to a temporary
 * name, fsynced, renamed into place and its directory fsynced, so that a crash never leaves a half
 * file under a name the database refers to. Storing the same bytes twice is a no-op. */
#ifndef CERTDESK_FILESTORE_H
#define CERTDESK_FILESTORE_H
#include <stddef.h>

#define SHA256_HEX 65

/* Stores len bytes under dir; sha gets their hex SHA-256. Returns 0 or -1 (errno set). */
int filestore_put(const char *dir, const void *data, size_t len, char sha[SHA256_HEX]);
/* Opens the stored file sha for reading; returns the fd (caller closes) or -1. */
int filestore_open(const char *dir, const char *sha);

/* Returns 1 when a row names the stored file sha, 0 when none does, < 0 when it cannot tell (the
 * file is then kept). */
typedef int (*filestore_in_use_fn)(const char *sha, void *arg);
/* Removes from dir the files that no row names (in_use) and that are older than grace_s seconds:
 * left by a crash between writing a file and its row, or half-written; *removed gets how many.
 * Storing refreshes a file's time, so a file about to be named by a new row is never taken.
 * Returns 0, or -1 when dir cannot be read. */
int filestore_sweep(const char *dir, long grace_s, filestore_in_use_fn in_use, void *arg, int *removed);

#endif
