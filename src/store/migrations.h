/* The numbered schema migrations, embedded in the binaries at build time. */
#ifndef CERTDESK_MIGRATIONS_H
#define CERTDESK_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const int migration_count;

#endif
