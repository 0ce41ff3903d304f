/* The set-up and teardown of the integration tests that issue certificates (test_pki, test_km,
 * test_production, test_production_seals, test_production_agent, test_renewal_agent,
 * test_authz_matrix): certdeskd with the demo CA and its signer, and the test's own handle on the
 * configuration and the database for the checks it makes in SQL. */
#ifndef CERTDESK_TEST_CA_SETUP_H
#define CERTDESK_TEST_CA_SETUP_H
#include "config/config.h"
#include "harness.h"
#include "store/db.h"

/* Starts certdeskd (after certdesk-sim when with_sim), runs `certdesk init --demo` (demo staff,
 * project, CA keys), starts certdesk-signer, loads the configuration certdeskd runs with into *cfg
 * and opens its database into *db. Returns 0, 77 when certdesk-signer is not built (the caller skips
 * its tests), or -1. */
int it_start_with_ca(struct srv *s, int with_sim, struct config *cfg, struct db **db);

/* Closes *db and cfg, stops certdeskd and the CA and removes s's files. Returns certdeskd's exit
 * status (0 when clean; the harness shows its output and fails the program otherwise). */
int it_stop_with_ca(struct srv *s, struct config *cfg, struct db **db);

#endif
