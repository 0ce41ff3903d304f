/* The SMTP simulator's reading of a received message: headers (unfolded), the subject decoded from
 * RFC 2047 encoded words, and the MIME parts (multipart bodies split at their boundary, base64 and
 * quoted-printable decoded) with their names, sizes and SHA-256. For tests; tolerant of junk. */
#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/smtp.h"
#include "util/xalloc.h"

/* Returns the offset just past the header block of text (the empty line), or len when none. */
static size_t header_end(const char *t, size_t len, size_t *body)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (t[i] == '\n' && t[i + 1] == '\n') {
			*body = i + 2;
			return i;
		}
		if (i + 3 < len && memcmp(t + i, "\r\n\r\n", 4) == 0) {
			*body = i + 4;
			return i;
		}
	}
	*body = len;
	return len;
}

/* Returns the headers of the block t[0..len) as an object (names lower-cased, folded lines joined). */
static json_t *headers_of(const char *t, size_t len)
{
	json_t *h = json_object();
	char *block = xcalloc(len + 1), *save = NULL, *line, name[80] = "";
	char *value = NULL;

	memcpy(block, t, len);
	for (line = strtok_r(block, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if ((line[0] == ' ' || line[0] == '\t') && value != NULL) {
			char *joined = xcalloc(strlen(value) + n + 1);
			strcpy(joined, value);
			strcat(joined, line);
			free(value);
			value = joined;
			continue;
		}
		if (value != NULL && json_object_get(h, name) == NULL)
			json_object_set_new(h, name, json_stringn_nocheck(value, strlen(value)));
		free(value);
		value = NULL;
		char *colon = strchr(line, ':');
		if (colon == NULL || (size_t)(colon - line) >= sizeof(name))
			continue;
		name[0] = '\0';
		for (size_t i = 0; line + i < colon; i++)
			name[i] = (char)tolower((unsigned char)line[i]), name[i + 1] = '\0';
		for (colon++; *colon == ' ' || *colon == '\t'; colon++)
			;
		value = xstrdup(colon);
	}
	if (value != NULL && json_object_get(h, name) == NULL)
		json_object_set_new(h, name, json_stringn_nocheck(value, strlen(value)));
	free(value);
	free(block);
	return h;
}

/* Copies the parameter name (e.g. boundary, filename) of a header value into out; returns 0 or -1. */
static int param_of(const char *value, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	for (const char *p = value; p != NULL && *p != '\0'; p = strchr(p + 1, ';')) {
		const char *q = p + (*p == ';');
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, name, n) != 0 || q[n] != '=')
			continue;
		q += n + 1;
		size_t i = 0;
		if (*q == '"')
			for (q++; *q != '\0' && *q != '"' && i + 1 < len; q++)
				out[i++] = *q;
		else
			for (; *q != '\0' && *q != ';' && *q != ' ' && i + 1 < len; q++)
				out[i++] = *q;
		out[i] = '\0';
		return 0;
	}
	return -1;
}

/* Decodes base64 (whitespace skipped) of t[0..len) into a new buffer; *out_len its size. */
static unsigned char *b64_decode(const char *t, size_t len, size_t *out_len)
{
	unsigned char *out = xcalloc(len + 1);
	size_t n = 0;

	if (sodium_base642bin(out, len + 1, t, len, " \t\r\n", &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		n = 0;
	*out_len = n;
	return out;
}

/* Decodes quoted-printable t[0..len) into a new buffer; *out_len its size. */
static unsigned char *qp_decode(const char *t, size_t len, size_t *out_len)
{
	unsigned char *out = xcalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (t[i] == '=' && i + 2 < len && isxdigit((unsigned char)t[i + 1]) &&
		    isxdigit((unsigned char)t[i + 2])) {
			char hex[3] = {t[i + 1], t[i + 2], 0};
			out[n++] = (unsigned char)strtol(hex, NULL, 16);
			i += 2;
		} else if (t[i] == '=' && i + 1 < len && (t[i + 1] == '\r' || t[i + 1] == '\n')) {
			i += t[i + 1] == '\r' && i + 2 < len && t[i + 2] == '\n' ? 2 : 1;
		} else {
			out[n++] = (unsigned char)t[i];
		}
	}
	*out_len = n;
	return out;
}

/* Returns the RFC 2047 decoding of a header value (UTF-8 B and Q words; other text kept). */
static json_t *decode_words(const char *v)
{
	char *out = xcalloc(strlen(v) + 1);
	size_t n = 0;
	int last_word = 0;

	while (*v != '\0') {
		const char *q1, *q2, *end;
		if (strncmp(v, "=?", 2) == 0 && (q1 = strchr(v + 2, '?')) != NULL && q1[1] != '\0' &&
		    q1[2] == '?' && (end = strstr(q1 + 3, "?=")) != NULL) {
			size_t len = 0;
			unsigned char *raw = toupper((unsigned char)q1[1]) == 'B'
						     ? b64_decode(q1 + 3, (size_t)(end - q1 - 3), &len)
						     : qp_decode(q1 + 3, (size_t)(end - q1 - 3), &len);
			memcpy(out + n, raw, len);
			n += len;
			free(raw);
			v = end + 2;
			last_word = 1;
			continue;
		}
		for (q2 = v; *q2 == ' ' || *q2 == '\t' || *q2 == '\r' || *q2 == '\n'; q2++)
			;
		if (last_word && q2 != v && strncmp(q2, "=?", 2) == 0) {
			v = q2; /* whitespace between encoded words is dropped */
			continue;
		}
		out[n++] = *v++;
		last_word = 0;
	}
	json_t *j = json_stringn(out, n);
	free(out);
	return j != NULL ? j : json_string("");
}

/* Appends to parts the part t[0..len) (headers and body), descending into multiparts (depth-limited). */
static void add_part(json_t *parts, const char *t, size_t len, int depth)
{
	size_t body, hend = header_end(t, len, &body);
	json_t *h = headers_of(t, hend);
	const char *ct = json_string_value(json_object_get(h, "content-type"));
	const char *cte = json_string_value(json_object_get(h, "content-transfer-encoding"));
	const char *cd = json_string_value(json_object_get(h, "content-disposition"));
	char boundary[200], fname[256] = "", delim[210];
	unsigned char *data, md[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	size_t n;

	if (ct != NULL && strncasecmp(ct, "multipart/", 10) == 0 && depth < 4 &&
	    param_of(ct, "boundary", boundary, sizeof(boundary)) == 0) {
		const char *p = t + body, *end = t + len, *start = NULL;
		int dl = snprintf(delim, sizeof(delim), "--%s", boundary);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *eol = nl ? nl + 1 : end;
			if ((size_t)(end - p) >= (size_t)dl && memcmp(p, delim, (size_t)dl) == 0) {
				if (start != NULL) {
					size_t l = (size_t)(p - start);
					if (l > 0 && start[l - 1] == '\n')
						l--;
					if (l > 0 && start[l - 1] == '\r')
						l--;
					add_part(parts, start, l, depth + 1);
				}
				if (p + dl + 1 < end && p[dl] == '-' && p[dl + 1] == '-')
					break;
				start = eol;
			}
			p = eol;
		}
		json_decref(h);
		return;
	}
	if (cte != NULL && strncasecmp(cte, "base64", 6) == 0)
		data = b64_decode(t + body, len - body, &n);
	else if (cte != NULL && strncasecmp(cte, "quoted-printable", 16) == 0)
		data = qp_decode(t + body, len - body, &n);
	else {
		n = len - body;
		data = xcalloc(n + 1);
		memcpy(data, t + body, n);
	}
	crypto_hash_sha256(md, data, n);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	json_t *part = json_pack("{s:s, s:I, s:s}", "content_type", ct ? ct : "text/plain", "size",
				 (json_int_t)n, "sha256", hex);
	if ((cd != NULL && param_of(cd, "filename", fname, sizeof(fname)) == 0) ||
	    (ct != NULL && param_of(ct, "name", fname, sizeof(fname)) == 0))
		json_object_set_new(part, "filename", decode_words(fname));
	if (ct == NULL || strncasecmp(ct, "text/", 5) == 0)
		json_object_set_new(part, "text", json_stringn((const char *)data, n));
	json_array_append_new(parts, part);
	free(data);
	json_decref(h);
}

json_t *smtp_sim_parse(const char *raw, size_t len)
{
	size_t body, hend = header_end(raw, len, &body);
	json_t *h = headers_of(raw, hend), *parts = json_array();
	const char *subject = json_string_value(json_object_get(h, "subject"));

	add_part(parts, raw, len, 0);
	return json_pack("{s:o, s:o, s:o}", "headers", h, "subject",
			 subject ? decode_words(subject) : json_string(""), "parts", parts);
}
