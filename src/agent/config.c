/* certdesk-agent's configuration file (INI, read with inih). */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"
#include "agent/drivers.h"
#include "util/strutil.h"

void agent_config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = AGENT_DEFAULT_PORT;
	c->session_idle_s = AGENT_SESSION_IDLE_S;
	str_copy(c->origins, "http://127.0.0.1:8080", sizeof(c->origins));
	str_copy(c->driver_dirs, AGENT_DEFAULT_DRIVER_DIRS, sizeof(c->driver_dirs));
	memcpy(c->devauth_key, "1234567812345678", 16);
}

/* Parses the device authentication key: 16 ASCII bytes or 32 hex digits. Returns 0 or -1. */
static int parse_devauth(const char *v, unsigned char key[16])
{
	size_t n = strlen(v);

	if (n == 16) {
		memcpy(key, v, 16);
		return 0;
	}
	if (n != 32 || strspn(v, "0123456789abcdefABCDEF") != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned b;
		sscanf(v + 2 * i, "%2x", &b);
		key[i] = (unsigned char)b;
	}
	return 0;
}

/* Stores one value; returns 1 (inih: handled) or 0 (an error at this line). */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct agent_config *c = user;
	char *end;

	if (strcmp(section, "agent") == 0 && strcmp(name, "port") == 0) {
		long p = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || p < 1 || p > 65535)
			return 0;
		c->port = (int)p;
	} else if (strcmp(section, "agent") == 0 && strcmp(name, "session_idle_s") == 0) {
		long v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || v < 1 || v > 86400)
			return 0;
		c->session_idle_s = (int)v;
	} else if (strcmp(section, "agent") == 0 && strcmp(name, "origins") == 0) {
		return str_copy(c->origins, value, sizeof(c->origins)) < sizeof(c->origins);
	} else if (strcmp(section, "agent") == 0 && strcmp(name, "driver_dirs") == 0) {
		return str_copy(c->driver_dirs, value, sizeof(c->driver_dirs)) < sizeof(c->driver_dirs);
	} else if (strcmp(section, "agent") == 0 && strcmp(name, "access_log") == 0) {
		return str_copy(c->access_log, value, sizeof(c->access_log)) < sizeof(c->access_log);
	} else if (strcmp(section, "pkcs11") == 0 && strcmp(name, "modules") == 0) {
		return str_copy(c->p11_modules, value, sizeof(c->p11_modules)) < sizeof(c->p11_modules);
	} else if (strcmp(section, "pkcs11") == 0 && strcmp(name, "p11kit") == 0) {
		c->p11kit = strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
			    strcmp(value, "1") == 0;
	} else if (strcmp(section, "pkcs11") == 0 && strcmp(name, "transport_so_pin") == 0) {
		return str_copy(c->p11_transport_so_pin, value, sizeof(c->p11_transport_so_pin)) <
		       sizeof(c->p11_transport_so_pin);
	} else if (strcmp(section, "skf") == 0 && strcmp(name, "libraries") == 0) {
		return str_copy(c->skf_libraries, value, sizeof(c->skf_libraries)) < sizeof(c->skf_libraries);
	} else if (strcmp(section, "skf") == 0 && strcmp(name, "devauth_key") == 0) {
		return parse_devauth(value, c->devauth_key) == 0;
	} else {
		return 0; /* an unknown key is a typo worth stopping for */
	}
	return 1;
}

int agent_config_load(const char *path, struct agent_config *c, char *err, size_t errlen)
{
	int line = ini_parse(path, on_value, c);

	if (line == -1) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: unknown setting or bad value", path, line);
		return -1;
	}
	return 0;
}
