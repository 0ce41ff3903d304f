#include "ca_setup.h"

#include <stdio.h>

int it_start_with_ca(struct srv *s, int with_sim, struct config *cfg, struct db **db)
{
	char err[512];
	char *argv[] = {(char *)harness_bin("certdesk"), "init", "--demo", NULL};
	int rc;

	if ((with_sim ? harness_start_sim(s) : harness_start(s)) != 0 || harness_run(argv, NULL, NULL) != 0)
		return -1;
	rc = harness_start_ca(s);
	if (rc != 0)
		return rc == 77 ? 77 : -1;
	if (config_load(cfg, NULL, err, sizeof(err)) != 0 || db_open(db, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "it_start_with_ca: %s\n", err);
		return -1;
	}
	return 0;
}

int it_stop_with_ca(struct srv *s, struct config *cfg, struct db **db)
{
	int status;

	if (*db != NULL)
		db_close(*db);
	*db = NULL;
	config_free(cfg);
	status = harness_stop(s); /* an unclean stop shows certdeskd's output and fails the program */
	harness_cleanup(s);
	return status;
}
