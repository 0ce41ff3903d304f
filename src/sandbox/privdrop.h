/* certdeskd's privilege drop: started as root, it binds its port and opens its files, hands the
 * files it writes to [server] user, and becomes that user (and its group) for good. */
#ifndef CERTDESK_PRIVDROP_H
#define CERTDESK_PRIVDROP_H
#include <stddef.h>

/* When running as root with user non-empty: gives the trees named in trees[] (NULL-terminated;
 * missing ones are skipped, symbolic links are not followed) and the files[] to user, then
 * setgroups/setgid/setuid and checks that setuid(0) now fails. Not root: nothing to do. Root without
 * a user: a warning. Returns 0, or -1 with a message (the caller must not go on). */
int privdrop_become(const char *user, const char *const *trees, const char *const *files, char *err,
		    size_t errlen);

#endif
