/* glibc malloc settings that keep a long-running server's memory bounded (see memtune.c for why). */
#ifndef CERTDESK_UTIL_MEMTUNE_H
#define CERTDESK_UTIL_MEMTUNE_H

/* Fixes malloc's mmap and trim thresholds and its number of arenas, and starts a detached thread that
 * gives free heap memory back to the system every few seconds. Call once, before the threads that
 * serve requests start. Returns 0, or -1 when the thread could not start (the settings still apply). */
int memtune_start(void);
/* Gives free heap memory back to the system now if the arenas hold more than a few MiB of it and the
 * heap changed since the last trim; returns 1 if it did, 0 if there was nothing worth doing. */
int memtune_trim(void);
/* Returns how many times memory was given back so far (by the thread or memtune_trim). */
unsigned long memtune_trims(void);

#endif
