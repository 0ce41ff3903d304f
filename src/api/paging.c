/* Lists: ?limit= and a ?next= cursor in, {"items", "next"} out (API.md). */
#include <stdint.h>
#include <stdio.h>

#include "api/api.h"
#include "util/strnum.h"

int api_page_args(struct http_req *r, int *limit, int64_t *before)
{
	const char *l = http_query(r, "limit"), *n = http_query(r, "next");
	int64_t v = 20;

	*before = 0;
	if ((l != NULL && strnum_parse(l, 1, 100, &v) != 0) ||
	    (n != NULL && strnum_parse(n, 1, INT64_MAX, before) != 0)) {
		http_reply_error(r, 400, "bad_query", "分页参数不正确（limit 为 1 至 100）", NULL);
		return -1;
	}
	*limit = (int)v;
	return 0;
}

json_t *api_page(json_t *items, int limit)
{
	json_t *body = json_object();

	/* The caller asked for limit + 1 rows: a last one means there is more. */
	if (json_array_size(items) > (size_t)limit) {
		json_array_remove(items, (size_t)limit);
		json_object_set_new(
			body, "next",
			json_sprintf("%lld", (long long)json_integer_value(json_object_get(
						     json_array_get(items, (size_t)limit - 1), "id"))));
	}
	json_object_set_new(body, "items", items);
	return body;
}
