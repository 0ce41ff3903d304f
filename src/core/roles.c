#include "core/roles.h"

#include <string.h>

static const char *const names[ROLE_COUNT] = {"reviewer", "finance", "paper", "producer", "shipper", "admin"};
static const char *const labels[ROLE_COUNT] = {"预审员", "财务", "资料审核员", "制证员", "发货员", "管理员"};

int role_from_name(const char *name)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (name != NULL && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *role_name(int r)
{
	return r >= 0 && r < ROLE_COUNT ? names[r] : NULL;
}

const char *role_label(int r)
{
	return r >= 0 && r < ROLE_COUNT ? labels[r] : NULL;
}

int role_list_valid(const char *list)
{
	int seen[ROLE_COUNT] = {0};
	const char *p = list;

	if (list == NULL || *list == '\0')
		return -1;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int r = -1;
		for (int i = 0; i < ROLE_COUNT; i++)
			if (strlen(names[i]) == n && strncmp(p, names[i], n) == 0)
				r = i;
		if (r < 0 || seen[r])
			return -1;
		seen[r] = 1;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	return 0;
}
