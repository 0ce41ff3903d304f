#include "sim/recorder.h"

#include <pthread.h>
#include <string.h>

#include "util/timefmt.h"

#define KEEP 1000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *items; /* array, oldest first */
static json_int_t next_id = 1;

void recorder_add(const char *method, const char *path, const char *content_type, const char *body,
		  size_t len)
{
	char at[TIMEFMT_LEN];
	json_t *e =
		json_pack("{s:I, s:s, s:s, s:s, s:s, s:s%}", "id", (json_int_t)0, "time", timefmt_now_ms(at),
			  "method", method, "path", path, "content_type", content_type ? content_type : "",
			  "body", body ? body : "", body ? len : (size_t)0);

	if (e == NULL) /* body not UTF-8: keep the fact, not the bytes */
		e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "id", (json_int_t)0, "time", at, "method",
			      method, "path", path, "content_type", content_type ? content_type : "",
			      "body_binary", 1);
	pthread_mutex_lock(&mu);
	if (items == NULL)
		items = json_array();
	json_object_set_new(e, "id", json_integer(next_id++));
	json_array_append_new(items, e);
	if (json_array_size(items) > KEEP)
		json_array_remove(items, 0);
	pthread_mutex_unlock(&mu);
}

json_t *recorder_list(const char *prefix)
{
	json_t *out = json_array(), *e;
	size_t i;

	pthread_mutex_lock(&mu);
	json_array_foreach (items, i, e) {
		const char *p = json_string_value(json_object_get(e, "path"));
		if (prefix == NULL || strncmp(p, prefix, strlen(prefix)) == 0)
			json_array_append_new(out, json_deep_copy(e));
	}
	pthread_mutex_unlock(&mu);
	return json_pack("{s:o}", "items", out);
}

void recorder_clear(void)
{
	pthread_mutex_lock(&mu);
	json_array_clear(items);
	pthread_mutex_unlock(&mu);
}
