#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/roles.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

int store_staff_create(struct db_conn *c, const char *username, const char *display_name,
		       const char *password_hash, const char *roles, const char *actor_kind,
		       const char *actor_id, int64_t *id)
{
	char now[TIMEFMT_LEN], idtext[24], *list = xstrdup(roles), *save = NULL, *detail;
	int rc;

	if (role_list_valid(roles) != 0) {
		free(list);
		return DB_ERROR;
	}
	timefmt_rfc3339(time(NULL), now);
	rc = db_query_int(c,
			  "INSERT INTO staff (username, display_name, password_hash, created_at, updated_at)"
			  " VALUES (?, ?, ?, ?, ?) RETURNING id",
			  DB_ARGS(DB_TEXT(username), DB_TEXT(display_name), DB_TEXT(password_hash),
				  DB_TEXT(now), DB_TEXT(now)),
			  id);
	for (char *r = strtok_r(list, ",", &save); rc == DB_OK && r != NULL; r = strtok_r(NULL, ",", &save)) {
		rc = db_exec(c, "INSERT INTO staff_roles (staff_id, role) VALUES (?, ?)",
			     DB_ARGS(DB_INT(*id), DB_TEXT(r)), NULL);
	}
	free(list);
	if (rc != DB_OK)
		return rc;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)*id);
	json_t *j = json_pack("{s:s, s:s}", "username", username, "roles", roles);
	detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	rc = store_audit_append(
		c, &(struct audit_entry){actor_kind, actor_id, "staff.create", "staff", idtext, detail});
	free(detail);
	return rc;
}
