/* certdesk init: the Yingtan project and, for a demo instance, one staff account per role. */
#include <stdio.h>

#include "auth/password.h"
#include "cli/cli.h"
#include "core/roles.h"
#include "store/store.h"

/* The demo password of every demo staff account; printed by init --demo and the README. */
#define DEMO_PASSWORD "Demo-2026"

/* Prices from the seed; renewal prices are not published there, so they start equal to the new-key
 * prices per year and admins set the real ones in the console. */
static const struct key_type_def yingtan_types[] = {
	{"main", "主锁（含电子签章）", 22000, 1,
	 "application_form,business_licence,handler_id_front,handler_id_back,authorisation_letter,seal_form",
	 "1,2,3", 22000},
	{"secondary", "副锁（无电子签章）", 19000, 0,
	 "application_form,business_licence,handler_id_front,handler_id_back,authorisation_letter", "1,2,3",
	 19000},
};

static int project_tx(struct db_conn *c, void *arg)
{
	(void)arg;
	int rc = store_project_ensure(c, "yingtan", "鹰潭市阳光采购服务平台", "YT", yingtan_types, 2,
				      &cli_actor);
	return rc == DB_CONFLICT ? DB_OK : rc;
}

struct demo_staff {
	const char *username, *name, *roles, *hash;
	int64_t id;
};

static int staff_tx(struct db_conn *c, void *arg)
{
	struct demo_staff *s = arg;
	return store_staff_create(c, s->username, s->name, s->hash, s->roles, &cli_actor, &s->id);
}

int cmd_init(struct db *db, const struct config *cfg, int demo)
{
	char hash[PASSWORD_HASH_LEN];
	int rc;

	if (db_tx(db, project_tx, NULL) != DB_OK) {
		fprintf(stderr, "certdesk: could not create the Yingtan project\n");
		return 1;
	}
	printf("project yingtan: 鹰潭市阳光采购服务平台 (主锁 220.00 元, 副锁 190.00 元)\n");
	if (!demo)
		return 0;
	if (password_hash(DEMO_PASSWORD, hash) != 0)
		return 1;
	printf("demo staff accounts (password %s):\n", DEMO_PASSWORD);
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct demo_staff s = {role_name(r), role_label(r), role_name(r), hash, 0};
		rc = db_tx(db, staff_tx, &s);
		if (rc != DB_OK && rc != DB_CONFLICT) {
			fprintf(stderr, "certdesk: could not create demo staff %s\n", s.username);
			return 1;
		}
		printf("  %-9s %s%s\n", s.username, role_label(r), rc == DB_CONFLICT ? " (existed)" : "");
	}
	/* the demo's CA: certdesk-signer loads the keys written here */
	return cmd_ca_init(db, cfg, NULL, NULL);
}
