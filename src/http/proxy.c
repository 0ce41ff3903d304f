/* X-Forwarded-For is believed only from the configured proxies, and read from the right: each
 * trusted proxy appends the address it received the request from, so the first address from the
 * right that is not one of ours is the client; anything to its left may be forged by the client. */
#include "http/proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses an address into family and bytes; returns 0 or -1. */
static int parse_addr(const char *text, int *family, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int proxy_list_parse(struct proxy_list *l, const char *text, char *err, size_t errlen)
{
	const char *p = text != NULL ? text : "";

	memset(l, 0, sizeof(*l));
	while (*(p += strspn(p, ", \t")) != '\0') {
		size_t len = strcspn(p, ", \t");
		char item[64], *slash;
		long bits;

		if (len >= sizeof(item) || l->n == PROXY_MAX) {
			snprintf(err, errlen, "trusted_proxies: too many entries or '%.*s' too long", (int)len, p);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		slash = strchr(item, '/');
		if (slash != NULL)
			*slash++ = '\0';
		if (parse_addr(item, &l->net[l->n].family, l->net[l->n].addr) != 0)
			goto bad;
		bits = l->net[l->n].family == AF_INET ? 32 : 128;
		if (slash != NULL) {
			char *end;
			long b = strtol(slash, &end, 10);
			if (*slash == '\0' || *end != '\0' || b < 0 || b > bits)
				goto bad;
			bits = b;
		}
		l->net[l->n++].bits = (unsigned)bits;
		continue;
bad:
		snprintf(err, errlen, "trusted_proxies: '%.*s' is not an address or a network (a.b.c.d/n)",
			 (int)len, p - len);
		return -1;
	}
	return 0;
}

/* Returns 1 when the first bits of a and b agree. */
static int prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

int proxy_trusted(const struct proxy_list *l, const char *ip)
{
	unsigned char addr[16];
	int family;

	if (l->n == 0 || parse_addr(ip, &family, addr) != 0)
		return 0;
	for (int i = 0; i < l->n; i++)
		if (l->net[i].family == family && prefix_eq(l->net[i].addr, addr, l->net[i].bits))
			return 1;
	return 0;
}

void proxy_client(const struct proxy_list *l, const char *peer, const char *xff, char *out, size_t outlen)
{
	char client[64];
	const char *end;

	snprintf(client, sizeof(client), "%s", peer);
	if (xff != NULL && proxy_trusted(l, peer)) {
		end = xff + strlen(xff);
		while (end > xff) {
			const char *start = end;
			char hop[64];
			unsigned char addr[16];
			int family;
			size_t len;

			while (start > xff && start[-1] != ',')
				start--;
			len = (size_t)(end - start);
			end = start > xff ? start - 1 : xff;
			while (len > 0 && (*start == ' ' || *start == '\t'))
				start++, len--;
			while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
				len--;
			if (len == 0 || len >= sizeof(hop))
				break;
			memcpy(hop, start, len);
			hop[len] = '\0';
			if (parse_addr(hop, &family, addr) != 0)
				break;
			snprintf(client, sizeof(client), "%s", hop);
			if (!proxy_trusted(l, hop))
				break;
		}
	}
	snprintf(out, outlen, "%s", client);
}
