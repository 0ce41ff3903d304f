/* The checks every request passes before any token work: Origin (CORS) and Host (DNS rebinding). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"

int agent_origin_allowed(const char *origins, const char *origin)
{
	size_t n;

	if (origins == NULL || origin == NULL || (n = strlen(origin)) == 0)
		return 0;
	for (const char *p = origins; *p != '\0';) {
		size_t len;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		len = strcspn(p, ", \t");
		if (len == n && memcmp(p, origin, n) == 0)
			return 1;
		p += len;
	}
	return 0;
}

int agent_host_allowed(const char *host, int port)
{
	static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
	char want[64];

	if (host == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "%s:%d", names[i], port);
		if (strcasecmp(host, want) == 0)
			return 1;
	}
	return 0;
}

int agent_key_id_valid(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	return n >= 1 && n <= 96 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}
