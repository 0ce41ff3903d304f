/* bench/argon2-ref.c: the reference for bench/all.sh's login row: Argon2id password checks per
 * second in plain C (libsodium's crypto_pwhash_str_verify, as src/auth/password.c calls it), with
 * THREADS threads for SECONDS seconds, against a hash made with certdesk's parameters
 * (crypto_pwhash_OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE, Argon2id 1.3).
 * Usage: argon2-ref THREADS SECONDS. Prints one JSON line.
 * Built by all.sh with: cc -O2 argon2-ref.c -lsodium -lpthread */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char hash[crypto_pwhash_STRBYTES];
static atomic_long done;
static double seconds;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	double end = *(const double *)arg;
	const char *pw = "Secret-2026";

	while (now() < end) {
		if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0)
			abort();
		atomic_fetch_add(&done, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t t[64];
	double t0, end;

	seconds = argc > 2 ? atof(argv[2]) : 5;
	if (sodium_init() < 0 || threads < 1 || threads > 64 || seconds <= 0)
		return 2;
	if (crypto_pwhash_str_alg(hash, "Secret-2026", 11, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return 1;
	t0 = now();
	end = t0 + seconds;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, &end);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("{\"threads\":%d,\"seconds\":%.3f,\"verifies\":%ld,\"per_s\":%.2f,\"opslimit\":%llu,"
	       "\"memlimit_bytes\":%zu,\"alg\":\"argon2id13\",\"hash\":\"%.40s...\"}\n",
	       threads, now() - t0, (long)atomic_load(&done), (double)atomic_load(&done) / (now() - t0),
	       (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE, (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE,
	       hash);
	return 0;
}
