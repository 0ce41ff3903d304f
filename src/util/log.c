/* log.h: lines formatted on the stack (a long one in a heap buffer), written with one write(2) so
 * that lines of several threads never interleave. No lock, no allocation in the common case: the
 * out-of-memory path of xalloc may log too. */
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/timefmt.h"

static const char *program = "certdesk";
static int as_json;
static _Thread_local char thread_rid[64];

/* The line being built: what fits in buf, and the length it would need. */
struct out {
	char *buf;
	size_t len, cap;
};

void log_setup(const char *name, int json)
{
	program = name != NULL ? name : "certdesk";
	as_json = json;
}

void log_set_request_id(const char *id)
{
	snprintf(thread_rid, sizeof(thread_rid), "%s", id != NULL ? id : "");
}

const char *log_request_id(void)
{
	return thread_rid;
}

/* Appends n bytes of s (what fits; the length counts all of them). */
static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap)
		memcpy(o->buf + o->len, s, o->len + n <= o->cap ? n : o->cap - o->len);
	o->len += n;
}

/* Appends the string s. */
static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Returns the length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
	unsigned long cp;

	if (s[0] < 0xC2 || s[0] > 0xF4 || n < len)
		return 0;
	cp = s[0] & (0x3F >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* Writes s as a JSON string: quotes, backslashes and control characters escaped, UTF-8 as it is,
 * any other byte as U+FFFD. */
static void put_string(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, run;
	char esc[8];

	put(o, "\"", 1);
	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') {
			for (run = i;
			     run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\';
			     run++)
				;
			put(o, str + i, run - i);
			i = run;
		} else if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\', esc[1] = (char)s[i];
			put(o, esc, 2), i++;
		} else if (s[i] == '\n') {
			put(o, "\\n", 2), i++;
		} else if (s[i] < 0x20 || s[i] == 0x7F) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			put(o, esc, 6), i++;
		} else if ((run = utf8_len(s + i, n - i)) > 0) {
			put(o, str + i, run), i += run;
		} else {
			put(o, "\\ufffd", 6), i++;
		}
	}
	put(o, "\"", 1);
}

/* Writes ,"name":"value". */
static void put_field(struct out *o, const char *name, const char *value)
{
	put(o, ",", 1);
	put_string(o, name);
	put(o, ":", 1);
	put_string(o, value);
}

/* Returns the name of level as the lines spell it. */
static const char *level_name(enum log_level level)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};

	return level >= LOG_LEVEL_DEBUG && level <= LOG_LEVEL_ERROR ? names[level] : "info";
}

/* Whether name is one of the fields every line has (a caller's field of that name is left out). */
static int reserved(const char *name)
{
	static const char *const own[] = {"ts", "level", "component", "msg", "request_id"};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(name, own[i]) == 0)
			return 1;
	return 0;
}

size_t log_format_json(char *out, size_t outlen, const char *ts, enum log_level level, const char *component,
		       const char *request_id, const char *const *fields, const char *msg)
{
	struct out o = {out, 0, outlen};

	puts_(&o, "{\"ts\":");
	put_string(&o, ts);
	put_field(&o, "level", level_name(level));
	put_field(&o, "component", component != NULL ? component : program);
	put_field(&o, "msg", msg);
	if (request_id != NULL && request_id[0] != '\0')
		put_field(&o, "request_id", request_id);
	for (size_t i = 0; fields != NULL && fields[i] != NULL; i += 2) {
		if (fields[i + 1] != NULL && !reserved(fields[i]))
			put_field(&o, fields[i], fields[i + 1]);
		if (fields[i + 1] == NULL && fields[i + 2] == NULL)
			break; /* a NULL value last: the list's end follows it */
	}
	put(&o, "}\n", 2);
	return o.len;
}

/* Writes all of line to fd (one write(2) unless interrupted or short). */
static void write_all(int fd, const char *line, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, line, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		line += w, n -= (size_t)w;
	}
}

/* Formats one line, JSON or "program: msg", into out (outlen bytes, NUL-terminated when it fits).
 * Returns its length, or the length it needs without the NUL. */
static size_t format_line(char *out, size_t outlen, enum log_level level, const char *component,
			  const char *const *fields, const char *msg)
{
	char ts[TIMEFMT_LEN];
	size_t n;
	int p;

	if (!as_json) {
		p = snprintf(out, outlen, "%s: %s\n", program, msg);
		return p < 0 ? 0 : (size_t)p;
	}
	n = log_format_json(out, outlen, timefmt_now_ms(ts), level, component, thread_rid, fields, msg);
	if (n < outlen)
		out[n] = '\0';
	return n;
}

/* Formats the message, then the line (JSON or "program: msg"), and writes it to fd. */
__attribute__((format(printf, 5, 0))) static void vlog(int fd, enum log_level level, const char *component,
						       const char *const *fields, const char *fmt, va_list ap)
{
	char msg_stack[1024], line_stack[2048];
	char *msg = msg_stack, *line = line_stack;
	va_list again;
	int m;
	size_t n;

	va_copy(again, ap);
	m = vsnprintf(msg_stack, sizeof(msg_stack), fmt, ap);
	if (m >= (int)sizeof(msg_stack) && (msg = malloc((size_t)m + 1)) != NULL)
		vsnprintf(msg, (size_t)m + 1, fmt, again);
	else if (msg == NULL)
		msg = msg_stack; /* no memory: the message cut, rather than none */
	va_end(again);
	if (m < 0)
		snprintf(msg_stack, sizeof(msg_stack), "(unformattable message: %s)", fmt);
	n = format_line(line_stack, sizeof(line_stack), level, component, fields, msg);
	if (n >= sizeof(line_stack) && (line = malloc(n + 1)) != NULL)
		format_line(line, n + 1, level, component, fields, msg);
	else if (line == NULL) /* no memory for a long line: a short one that says so */
		line = line_stack, n = format_line(line_stack, sizeof(line_stack), level, component, fields,
						   "(a log line too long for the memory left)");
	write_all(fd, line, n < sizeof(line_stack) || line != line_stack ? n : 0);
	if (line != line_stack)
		free(line);
	if (msg != msg_stack)
		free(msg);
}

void log_write(enum log_level level, const char *component, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(STDERR_FILENO, level, component, fields, fmt, ap);
	va_end(ap);
}

void log_write_fd(int fd, enum log_level level, const char *component, const char *const *fields,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fd, level, component, fields, fmt, ap);
	va_end(ap);
}
