/* Trusted reverse proxies: which peers may tell us the client's address in X-Forwarded-For. Pure
 * text and address arithmetic, no I/O. */
#ifndef CERTDESK_HTTP_PROXY_H
#define CERTDESK_HTTP_PROXY_H
#include <stddef.h>

#define PROXY_MAX 32

struct proxy_list {
	int n;
	struct {
		int family; /* AF_INET or AF_INET6 */
		unsigned char addr[16];
		unsigned bits; /* prefix length */
	} net[PROXY_MAX];
};

/* Parses "10.0.0.1, 192.168.0.0/16 ::1" (comma or space separated; NULL or "": none) into l.
 * Returns 0, or -1 with the offending entry named in err. */
int proxy_list_parse(struct proxy_list *l, const char *text, char *err, size_t errlen);
/* Returns 1 when the address ip (text) lies in one of l's networks. */
int proxy_trusted(const struct proxy_list *l, const char *ip);
/* Writes the client's address into out: peer itself, unless peer is a trusted proxy and xff
 * (X-Forwarded-For, may be NULL) names hops: then the rightmost hop that is not a trusted proxy
 * (or the leftmost, when all are). A hop that is not an address ends the walk. out may be peer. */
void proxy_client(const struct proxy_list *l, const char *peer, const char *xff, char *out, size_t outlen);

#endif
