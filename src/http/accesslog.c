/* The access log, off the request threads: per-thread buffers emptied by one writer thread.
 *
 * Before, every request built a jansson object, dumped it, and called fprintf + fflush under
 * stdio's lock: a write(2) and a process-wide lock per request, which took 20-45 % off the
 * throughput of a small GET. Now a request formats its line by hand into a buffer of its own
 * thread; the writer swaps that buffer for an empty one every WRITE_INTERVAL_MS (or sooner when it
 * is half full) and writes it with one call. */
#include "http/accesslog.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

/* How long a line may wait in a buffer (as nginx's "buffer=... flush=1s"): short enough for `tail -f`,
 * long enough to batch; a busy server fills half a buffer sooner and is written sooner. */
#define WRITE_INTERVAL_MS 1000
/* Bytes per thread buffer; the writer is woken when one is half full. */
#define BUF_CAP (256 * 1024)
/* A line is formatted on the stack when it fits (nearly always: the path is the only long part). */
#define LINE_STACK 2048

/* One request thread's buffer; `mu` is taken by that thread and, briefly, by the writer. */
struct tbuf {
	pthread_mutex_t mu;
	pthread_cond_t drained; /* the writer took the lines: there is room again */
	char *buf;
	size_t len, cap;
	int woke; /* the writer was asked to come for this buffer and has not yet */
	struct tbuf *next;
	/* the calling thread's cached time stamp text for the current second */
	time_t sec;
	char sec_text[48];
};

struct accesslog {
	FILE *f;
	pthread_key_t key;
	pthread_mutex_t mu; /* the list of buffers, and the writer's wake-up */
	pthread_cond_t wake;
	struct tbuf *bufs; /* prepended only, so a snapshot of the head can be walked unlocked */
	int urgent, stop;
	pthread_t writer;
	char *scratch; /* the writer's empty buffer, swapped with a full one */
	size_t scratch_cap;
};

/* Takes the lines of t, if any, into the writer's scratch buffer; returns their length. */
static size_t take_lines(struct accesslog *l, struct tbuf *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->len;
	if (n > 0) {
		char *b = t->buf;
		size_t c = t->cap;
		t->buf = l->scratch;
		t->cap = l->scratch_cap;
		t->len = 0;
		l->scratch = b;
		l->scratch_cap = c;
	}
	t->woke = 0;
	pthread_mutex_unlock(&t->mu);
	if (n > 0)
		pthread_cond_broadcast(&t->drained);
	return n;
}

/* Writes every buffered line to the file once. */
static void drain(struct accesslog *l)
{
	struct tbuf *t;
	int wrote = 0;

	pthread_mutex_lock(&l->mu);
	t = l->bufs;
	pthread_mutex_unlock(&l->mu);
	for (; t != NULL; t = t->next) {
		size_t n = take_lines(l, t);
		if (n > 0) {
			/* A full disk loses these lines, as fprintf did; requests never wait for the disk. */
			(void)fwrite(l->scratch, 1, n, l->f);
			wrote = 1;
		}
	}
	if (wrote)
		fflush(l->f);
}

static void *writer_main(void *arg)
{
	struct accesslog *l = arg;

	for (;;) {
		struct timespec until;
		int stop;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WRITE_INTERVAL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&l->mu);
		while (!l->stop && !l->urgent)
			if (pthread_cond_timedwait(&l->wake, &l->mu, &until) == ETIMEDOUT)
				break;
		l->urgent = 0;
		stop = l->stop;
		pthread_mutex_unlock(&l->mu);
		/* stop is set after the last request finished: this pass writes every line left */
		drain(l);
		if (stop)
			return NULL;
	}
}

struct accesslog *accesslog_open(FILE *f)
{
	struct accesslog *l = xcalloc(sizeof(*l));

	l->f = f;
	l->scratch_cap = BUF_CAP;
	l->scratch = xrealloc(NULL, l->scratch_cap);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (pthread_key_create(&l->key, NULL) != 0) {
		free(l->scratch);
		free(l);
		return NULL;
	}
	if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
		pthread_key_delete(l->key);
		free(l->scratch);
		free(l);
		return NULL;
	}
	return l;
}

/* Returns the calling thread's buffer, made and listed on its first line. */
static struct tbuf *thread_buf(struct accesslog *l)
{
	struct tbuf *t = pthread_getspecific(l->key);

	if (t != NULL)
		return t;
	t = xcalloc(sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->drained, NULL);
	t->cap = BUF_CAP;
	t->buf = xrealloc(NULL, t->cap);
	t->sec = (time_t)-1;
	pthread_mutex_lock(&l->mu);
	t->next = l->bufs;
	l->bufs = t;
	pthread_mutex_unlock(&l->mu);
	pthread_setspecific(l->key, t);
	return t;
}

/* Asks the writer to come now (a buffer is half full): the only time a request takes l->mu. */
static void wake_writer(struct accesslog *l)
{
	pthread_mutex_lock(&l->mu);
	l->urgent = 1;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
}

/* Appends the n bytes of line to t, waiting for the writer while they do not fit. */
static void append(struct accesslog *l, struct tbuf *t, const char *line, size_t n)
{
	int wake;

	pthread_mutex_lock(&t->mu);
	while (t->len > 0 && t->len + n > t->cap) {
		t->woke = 0;
		pthread_mutex_unlock(&t->mu);
		wake_writer(l);
		pthread_mutex_lock(&t->mu);
		if (t->len > 0 && t->len + n > t->cap)
			pthread_cond_wait(&t->drained, &t->mu);
	}
	if (n > t->cap) { /* one line longer than a buffer: this buffer grows for it */
		t->cap = n;
		t->buf = xrealloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, line, n);
	t->len += n;
	wake = t->len >= t->cap / 2 && !t->woke;
	if (wake)
		t->woke = 1;
	pthread_mutex_unlock(&t->mu);
	if (wake)
		wake_writer(l);
}

/* A bounded writer into a caller's buffer that counts what did not fit (like snprintf). */
struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap)
		memcpy(o->p + o->len, s, n <= o->cap - o->len ? n : o->cap - o->len);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_ull(struct out *o, unsigned long long v)
{
	char b[24];
	int i = (int)sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(o, b + i, sizeof(b) - (size_t)i);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one: overlong
 * forms, surrogates and code points above U+10FFFF are refused, as jansson does. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], need, cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Returns whether s is valid UTF-8. */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = utf8_seq(p, n);
		if (k == 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

/* Writes s as a JSON string (quotes included); s must be valid UTF-8. */
static void put_json_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	put(o, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(o, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(o, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(o, e, 6);
		}
	}
	put(o, run, (size_t)(s - run));
	put(o, "\"", 1);
}

/* Writes a field "name":"value" (escaped; "(not UTF-8)" for invalid text, "-" for NULL). */
static void put_field(struct out *o, const char *name, const char *value)
{
	puts_(o, name);
	put_json_str(o, value == NULL ? "-" : utf8_valid(value) ? value : "(not UTF-8)");
}

/* Writes "YYYY-MM-DDTHH:MM:SS" for t (UTC) into out: days to a civil date by
 * arithmetic (H. Hinnant's algorithm), because gmtime_r takes glibc's time zone lock. */
static void utc_text(time_t t, char out[48])
{
	long long days = (long long)t / 86400, rem = (long long)t % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long y = (long long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	snprintf(out, 48, "%04lld-%02u-%02uT%02u:%02u:%02u", y, m, d, (unsigned)(rem / 3600),
		 (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

/* Writes the "ts" field: now, UTC, with milliseconds; the second's text is cached in t. */
static void put_time(struct out *o, struct tbuf *t)
{
	struct timespec ts;
	char tmp[48], ms[6];
	const char *base = tmp;
	unsigned v;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL && t->sec == ts.tv_sec) {
		base = t->sec_text;
	} else {
		utc_text(ts.tv_sec, tmp);
		if (t != NULL) {
			memcpy(t->sec_text, tmp, sizeof(tmp));
			t->sec = ts.tv_sec;
		}
	}
	v = (unsigned)(ts.tv_nsec / 1000000) % 1000;
	ms[0] = '.', ms[1] = (char)('0' + v / 100), ms[2] = (char)('0' + v / 10 % 10),
	ms[3] = (char)('0' + v % 10), ms[4] = 'Z', ms[5] = '"';
	puts_(o, "{\"ts\":\"");
	puts_(o, base);
	put(o, ms, sizeof(ms));
}

/* Formats e into out; t (may be NULL) caches the time stamp text. */
static size_t format(const struct accesslog_entry *e, struct tbuf *t, char *out, size_t outlen)
{
	struct out o = {out, 0, outlen};
	double ms = e->ms < 0 ? 0 : e->ms;
	unsigned long long us = (unsigned long long)(ms * 1000.0 + 0.5);
	char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};

	put_time(&o, t);
	/* the fields every log line has (util/log.h), so that one parser reads the access log and the rest */
	puts_(&o, e->status >= 500 ? ",\"level\":\"error\"" : ",\"level\":\"info\"");
	puts_(&o, ",\"component\":\"access\",\"msg\":\"request\"");
	put_field(&o, ",\"remote\":", e->remote);
	put_field(&o, ",\"method\":", e->method);
	put_field(&o, ",\"path\":", e->path);
	puts_(&o, ",\"status\":");
	put_ull(&o, (unsigned long long)(e->status < 0 ? 0 : e->status));
	puts_(&o, ",\"in_bytes\":");
	put_ull(&o, (unsigned long long)(e->in_bytes < 0 ? 0 : e->in_bytes));
	puts_(&o, ",\"ms\":");
	put_ull(&o, us / 1000);
	put(&o, frac, sizeof(frac));
	puts_(&o, e->completed ? ",\"completed\":true" : ",\"completed\":false");
	put_field(&o, ",\"request_id\":", e->request_id);
	put(&o, "}\n", 2);
	return o.len;
}

size_t accesslog_format(const struct accesslog_entry *e, char *out, size_t outlen)
{
	return format(e, NULL, out, outlen);
}

void accesslog_write(struct accesslog *l, const struct accesslog_entry *e)
{
	struct tbuf *t = thread_buf(l);
	char stack[LINE_STACK], *line = stack;
	size_t n = format(e, t, stack, sizeof(stack));

	if (n > sizeof(stack)) { /* a long path: formatted again into a buffer that fits */
		line = xrealloc(NULL, n);
		format(e, t, line, n);
	}
	append(l, t, line, n);
	if (line != stack)
		free(line);
}

void accesslog_close(struct accesslog *l)
{
	struct tbuf *t, *next;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->writer, NULL);
	drain(l); /* lines of a thread that raced the stop (none when called after the last request) */
	fflush(l->f);
	for (t = l->bufs; t != NULL; t = next) {
		next = t->next;
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->drained);
		free(t->buf);
		free(t);
	}
	pthread_key_delete(l->key);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->wake);
	free(l->scratch);
	free(l);
}
