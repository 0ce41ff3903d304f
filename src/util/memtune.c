/* glibc malloc settings for certdeskd, so that memory used once for a large request goes back to the
 * system instead of staying in the process (issue 17: 78 MB of RSS after the upload and form
 * benchmarks, before any idle connection).
 *
 * What held it: glibc raises its mmap threshold to the size of the largest block freed so far (up to
 * 32 MB), so after the first 1 MB upload body every later body, and cairo's PDF buffers, came from
 * the heap instead of their own mappings; each thread that allocated got an arena of its own (up to
 * 8 per core), and glibc gives back a heap's memory only from its top, above a trim threshold that it
 * raises along with the mmap threshold. The free memory stayed spread over the arenas.
 *
 * What memtune_start does: fixes the mmap threshold at 128 KiB (so blocks that large, upload bodies
 * and PDFs among them, are mapped on their own and unmapped when freed) and the trim threshold at
 * 1 MiB, caps the arenas at 2 per core, and starts a thread that every TRIM_INTERVAL_S seconds asks
 * glibc how much free memory its arenas hold and, above TRIM_FREE_BYTES and if the heap changed since
 * the last time, returns the free pages to the system (malloc_trim, which also releases whole free
 * pages in the middle of a heap). */
#include "util/memtune.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define MMAP_THRESHOLD (128 * 1024)
#define TRIM_THRESHOLD (1024 * 1024)
#define ARENAS_PER_CORE 2
#define TRIM_INTERVAL_S 2
#define TRIM_FREE_BYTES (4u * 1024 * 1024)

static atomic_ulong trims; /* how many times the thread gave memory back */

/* What the arenas held after the last trim: free and in-use bytes (mallinfo2's fordblks and
 * uordblks). Freed memory stays "free" in them after malloc_trim (only its pages go back), so a trim is
 * due only when these moved since. */
static size_t last_free, last_used;
static pthread_mutex_t trim_lock = PTHREAD_MUTEX_INITIALIZER;

/* Gives free heap memory back to the system when there is enough of it to matter and the heap changed
 * since the last time. Returns 1 if it did. */
int memtune_trim(void)
{
	struct mallinfo2 mi;
	int did = 0;

	pthread_mutex_lock(&trim_lock);
	mi = mallinfo2();
	if (mi.fordblks >= TRIM_FREE_BYTES && (mi.fordblks != last_free || mi.uordblks != last_used)) {
		malloc_trim(0);
		mi = mallinfo2();
		last_free = mi.fordblks;
		last_used = mi.uordblks;
		atomic_fetch_add(&trims, 1);
		did = 1;
	}
	pthread_mutex_unlock(&trim_lock);
	return did;
}

unsigned long memtune_trims(void)
{
	return atomic_load(&trims);
}

/* The trimming thread: runs as long as the process. */
static void *trimmer(void *unused)
{
	(void)unused;
	for (;;) {
		nanosleep(&(struct timespec){TRIM_INTERVAL_S, 0}, NULL);
		memtune_trim();
	}
	return NULL;
}

int memtune_start(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD); /* also turns glibc's raising of it off */
	mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
	mallopt(M_ARENA_MAX, (int)(cores > 0 ? cores : 1) * ARENAS_PER_CORE);
	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	rc = pthread_create(&t, &attr, trimmer, NULL) == 0 ? 0 : -1;
	pthread_attr_destroy(&attr);
	return rc;
}
