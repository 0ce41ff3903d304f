/* Staff roles (GLOSSARY.md): what each back-office user may do. Pure code. */
#ifndef CERTDESK_ROLES_H
#define CERTDESK_ROLES_H

enum role { ROLE_REVIEWER, ROLE_FINANCE, ROLE_PAPER, ROLE_PRODUCER, ROLE_SHIPPER, ROLE_ADMIN, ROLE_COUNT };

/* Returns the role named name (code name, e.g. "reviewer"), or -1 when there is none. */
int role_from_name(const char *name);
/* Returns the code name of r, or NULL when r is out of range. */
const char *role_name(int r);
/* Returns the Chinese UI label of r, or NULL when r is out of range. */
const char *role_label(int r);
/* Returns 0 when list is a non-empty comma-separated list of distinct known roles, -1 otherwise. */
int role_list_valid(const char *list);

#endif
