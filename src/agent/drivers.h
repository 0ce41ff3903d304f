/* Other CA vendors' USB key drivers on this PC (issue 15): GET /v1/status's "other_drivers". A PC with
 * another province's CA middleware installed is where renewals fail to write, so the renewal wizard
 * warns about them (the seed: do not renew on such a PC). */
#ifndef CERTDESK_AGENT_DRIVERS_H
#define CERTDESK_AGENT_DRIVERS_H
#include <jansson.h>
#include <stddef.h>

#define AGENT_DEFAULT_DRIVER_DIRS "/usr/lib,/usr/lib64,/usr/local/lib,/opt"
#define DRIVERS_MAX_DEPTH 3        /* directory levels below each configured directory */
#define DRIVERS_MAX_ENTRIES 20000  /* directory entries looked at per configured directory */
#define DRIVERS_MAX_HITS 64        /* drivers reported at most */

/* Returns the human label of a known CA key middleware file name (case-insensitive), or NULL. */
const char *agent_driver_label(const char *file_name);

/* Scans the comma-separated directories dirs (up to DRIVERS_MAX_DEPTH levels, regular files only,
 * symlinks never followed, never into /proc or /sys) for known CA key middleware. Files whose realpath
 * is one of the nexclude paths of exclude (resolved here), and the project's software key
 * (libcertdesk-softskf*), are left out. Returns a JSON array of {"path","name"} (caller decrefs). */
json_t *agent_drivers_scan(const char *dirs, const char *const *exclude, size_t nexclude);

#endif
