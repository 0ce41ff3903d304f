/* certdesk-agent [--config FILE] [serve | list [--json]]: the local program between the platform's web
 * pages and USB keys (agent.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "http/http.h"
#include "util/log.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Writes the default configuration path ($XDG_CONFIG_HOME/certdesk/agent.ini) into out. */
static void default_config(char *out, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] != '\0')
		snprintf(out, len, "%s/certdesk/agent.ini", xdg);
	else
		snprintf(out, len, "%s/.config/certdesk/agent.ini", home != NULL ? home : ".");
}

static int usage(void)
{
	fprintf(stderr, "用法: certdesk-agent [--config 文件] [serve | list [--json]]\n");
	return 2;
}

/* Serves the HTTP API until SIGINT/SIGTERM. */
static int serve(struct agent *a)
{
	char err[256];
	int port = 0;
	struct http_server *s = agent_http_start(a, agent_cfg(a)->port, &port, err, sizeof(err));
	struct sigaction sa = {0};

	if (s == NULL) {
		log_error("agent", "%s", err);
		return 1;
	}
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	log_info("agent", "certdesk-agent listening on http://127.0.0.1:%d", port);
	while (!stop)
		pause();
	http_server_stop(s, 5);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent_config cfg;
	char path[1024], err[1200];
	const char *cmd = "serve";
	int as_json = 0, explicit = 0, rc;
	struct agent *a;

	default_config(path, sizeof(path));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			snprintf(path, sizeof(path), "%s", argv[++i]);
			explicit = 1;
		} else if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else if (strcmp(argv[i], "serve") == 0 || strcmp(argv[i], "list") == 0) {
			cmd = argv[i];
		} else {
			return usage();
		}
	}
	agent_config_defaults(&cfg);
	/* The default file may be missing (the defaults then apply); a named one must load. */
	if ((explicit || access(path, F_OK) == 0) && agent_config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "certdesk-agent: %s\n", err);
		return 1;
	}
	/* serving (a service, its lines to the journal): JSON as certdeskd's; list: plain, for a person */
	if (strcmp(cmd, "serve") == 0)
		log_setup("certdesk-agent", 1);
	a = agent_new(&cfg);
	rc = strcmp(cmd, "list") == 0 ? agent_list(a, as_json, stdout) : serve(a);
	agent_free(a);
	return rc;
}
