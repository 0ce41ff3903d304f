/* RFC 7512 PKCS#11 URIs naming a private key: pkcs11:token=..;object=..;id=%01..?pin-value=..&module-path=..
 * Path attributes are ';'-separated, query attributes '&'-separated, values percent-decoded.
 * Attributes the signer does not use (manufacturer, model, library-*, slot-*) are ignored as RFC 7512
 * allows; pin-source is refused (the PIN comes from pin-value or CERTDESK_SIGNER_PIN_<ID>). */
#include "signer/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define URI_MAX 4096

/* Wipes and frees a string that may hold a PIN. */
static void wipe_free(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
	free(p);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s (n bytes) into a new buffer (NUL-terminated, caller frees) and sets *outlen;
 * returns NULL on a bad escape. */
static unsigned char *pct_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out = malloc(n + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = (unsigned char)s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(out);
			return NULL;
		}
		int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
		if (h < 0 || l < 0) {
			free(out);
			return NULL;
		}
		out[o++] = (unsigned char)(h << 4 | l);
		i += 2;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Stores the decoded value v (n bytes) of attribute name into u; returns 0 or -1 with why. */
static int set_attr(struct p11_uri *u, const char *name, size_t nl, const char *v, size_t n, char *why,
		    size_t whylen)
{
	static const char *const names[] = {"token",     "serial",      "object", "id",
					    "pin-value", "module-path", "type"};
	size_t dl = 0;
	int which = -1;

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strlen(names[i]) == nl && memcmp(names[i], name, nl) == 0)
			which = i;
	if (nl == 10 && memcmp(name, "pin-source", 10) == 0) {
		snprintf(why, whylen,
			 "pin-source is not supported: use pin-value or CERTDESK_SIGNER_PIN_<ID>");
		return -1;
	}
	if (which < 0)
		return 0;
	unsigned char *d = pct_decode(v, n, &dl);
	if (d == NULL) {
		snprintf(why, whylen, "bad percent escape in %.*s", (int)nl, name);
		return -1;
	}
	if (which != 3 && strlen((char *)d) != dl) {
		snprintf(why, whylen, "NUL in %.*s", (int)nl, name);
		wipe_free(d, dl + 1);
		return -1;
	}
	if (which == 6) {
		int ok = strcmp((char *)d, "private") == 0;
		free(d);
		if (!ok)
			snprintf(why, whylen, "type must be private");
		return ok ? 0 : -1;
	}
	char **slots[] = {&u->token, &u->serial, &u->object, NULL, &u->pin, &u->module};
	if (which == 3) {
		free(u->id);
		u->id = d;
		u->idlen = dl;
	} else {
		if (*slots[which] != NULL)
			wipe_free(*slots[which], strlen(*slots[which]));
		*slots[which] = (char *)d;
	}
	return 0;
}

/* Parses the attributes of s (n bytes) separated by sep. */
static int parse_attrs(struct p11_uri *u, const char *s, size_t n, char sep, char *why, size_t whylen)
{
	size_t i = 0;

	while (i < n) {
		size_t end = i;
		while (end < n && s[end] != sep)
			end++;
		const char *eq = memchr(s + i, '=', end - i);
		if (end > i) {
			if (eq == NULL) {
				snprintf(why, whylen, "attribute without '='");
				return -1;
			}
			if (set_attr(u, s + i, (size_t)(eq - (s + i)), eq + 1, (size_t)(s + end - eq - 1),
				     why, whylen) != 0)
				return -1;
		}
		i = end + 1;
	}
	return 0;
}

int p11_uri_parse(const char *s, struct p11_uri *u, char *why, size_t whylen)
{
	memset(u, 0, sizeof(*u));
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n < 7 || n > URI_MAX || strncmp(s, "pkcs11:", 7) != 0) {
		snprintf(why, whylen, "not a pkcs11: URI");
		return -1;
	}
	const char *q = memchr(s, '?', n);
	size_t pathlen = q != NULL ? (size_t)(q - s) : n;
	if (parse_attrs(u, s + 7, pathlen - 7, ';', why, whylen) != 0 ||
	    (q != NULL && parse_attrs(u, q + 1, n - pathlen - 1, '&', why, whylen) != 0)) {
		p11_uri_free(u);
		return -1;
	}
	if (u->token == NULL || (u->object == NULL && u->id == NULL)) {
		snprintf(why, whylen, "the URI must name the token and the object (label or id)");
		p11_uri_free(u);
		return -1;
	}
	return 0;
}

void p11_uri_free(struct p11_uri *u)
{
	free(u->token);
	free(u->serial);
	free(u->object);
	free(u->id);
	free(u->module);
	if (u->pin != NULL)
		wipe_free(u->pin, strlen(u->pin));
	memset(u, 0, sizeof(*u));
}
