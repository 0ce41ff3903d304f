/* Route table lookup: method + path pattern with {name} segments. */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

/* Matches path against pattern, collecting {name} segments; returns 1 on a match. The values
 * are written NUL-terminated into buf. */
static int pattern_match(const char *pattern, const char *path, const char *names[], const char *values[],
			 int *n, char *buf, size_t bufsize)
{
	const char *p = pattern, *s = path;
	size_t used = 0;

	*n = 0;
	while (*p != '\0' && *s != '\0') {
		if (p[0] == '*' && p[1] == '\0')
			return 1; /* a trailing * takes the rest of the path */
		if (*p == '{') {
			/* {name} takes the segment, less a literal suffix that follows it in the pattern
			 * ("{ca}.crl" matches "x.crl" with ca = "x") */
			const char *close = strchr(p, '}');
			size_t seg = strcspn(s, "/"), suffix = close != NULL ? strcspn(close + 1, "/{") : 0;
			size_t len = seg - suffix;
			if (close == NULL || seg <= suffix || memcmp(s + len, close + 1, suffix) != 0 ||
			    *n >= HTTP_MAX_PARAMS || used + len + 1 > bufsize)
				return 0;
			memcpy(buf + used, s, len);
			buf[used + len] = '\0';
			names[*n] = p + 1;
			values[*n] = buf + used;
			(*n)++;
			used += len + 1;
			p = close + 1 + suffix;
			s += seg;
		} else if (*p++ != *s++) {
			return 0;
		}
	}
	return *p == '\0' && *s == '\0';
}

/* Compares a {name} pointer into a pattern with a plain name. */
static int name_eq(const char *pname, const char *name)
{
	size_t len = strcspn(pname, "}");
	return strlen(name) == len && strncmp(pname, name, len) == 0;
}

enum route_match router_match(const struct route *routes, int n, const char *method, const char *path,
			      const struct route **out, const char *names[HTTP_MAX_PARAMS],
			      const char *values[HTTP_MAX_PARAMS], int *nparams, char *buf, size_t bufsize)
{
	enum route_match m = ROUTE_NO_PATH;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;

	for (int i = 0; i < n; i++) {
		if (!pattern_match(routes[i].pattern, path, names, values, nparams, buf, bufsize))
			continue;
		if (strcmp(routes[i].method, want) == 0) {
			*out = &routes[i];
			return ROUTE_FOUND;
		}
		m = ROUTE_NO_METHOD;
	}
	*nparams = 0;
	return m;
}

void router_allowed(const struct route *routes, int n, const char *path, char *allow, size_t len)
{
	const char *names[HTTP_MAX_PARAMS], *values[HTTP_MAX_PARAMS];
	char buf[1024];
	int np;

	allow[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (!pattern_match(routes[i].pattern, path, names, values, &np, buf, sizeof(buf)))
			continue;
		if (strstr(allow, routes[i].method) == NULL)
			snprintf(allow + strlen(allow), len - strlen(allow), "%s%s", allow[0] ? ", " : "",
				 routes[i].method);
	}
}

/* Exposed for http_param: finds name among the matched parameters. */
const char *router_param(const char *const names[], const char *const values[], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (name_eq(names[i], name))
			return values[i];
	return NULL;
}

/* Returns the declaration of the parameter pname ("name}..." inside a pattern, or a plain name). */
static const struct http_param *decl_of(const struct http_param *decl, int ndecl, const char *pname)
{
	for (int i = 0; i < ndecl; i++)
		if (name_eq(pname, decl[i].name))
			return &decl[i];
	return NULL;
}

const char *router_params_invalid(const struct http_param *decl, int ndecl, const char *const names[],
				  const char *const values[], int nparams)
{
	for (int i = 0; i < nparams; i++) {
		const struct http_param *d = decl_of(decl, ndecl, names[i]);
		size_t len = strlen(values[i]);
		if (d == NULL || len < d->min_len || len > d->max_len || strspn(values[i], d->chars) != len)
			return d != NULL ? d->name : "?";
	}
	return NULL;
}

const char *router_undeclared(const struct route *routes, int n, const struct http_param *decl, int ndecl)
{
	static _Thread_local char name[64];

	for (int i = 0; i < n; i++)
		for (const char *p = strchr(routes[i].pattern, '{'); p != NULL; p = strchr(p + 1, '{'))
			if (decl_of(decl, ndecl, p + 1) == NULL) {
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(p + 1, "}"), p + 1);
				return name;
			}
	return NULL;
}
