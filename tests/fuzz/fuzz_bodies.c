/* libFuzzer driver for every JSON request body (issue 16), driven by the route table: each input picks
 * a route with a JSON body (POST, PUT, PATCH in docs/openapi.yaml, listed with their fields in
 * fuzz_bodies_fields.h by gen_bodies.py) and sends it, as a caller the route's declaration admits, with
 * real ids in the path, either the input's bytes as the body or (structured) a JSON object whose
 * fields are the route's own with values of any type drawn from the input. Invariants: no reply is a
 * 500, every request gets a reply, nothing trips the sanitizers.
 *
 * The server, its database and the callers' sessions are fuzz_api.c's, included here so that there is
 * one initialiser (its entry points renamed). */
#define LLVMFuzzerTestOneInput fuzz_api_one_input
#define LLVMFuzzerInitialize fuzz_api_initialize
#include "fuzz_api.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize

#include "fuzz_bodies_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NBODY (sizeof(body_fields) / sizeof(body_fields[0]))

static const struct route *body_route[NBODY]; /* body_fields[i]'s route in the table */
static char order_no[32];

/* Ids for the path: the seeded organisation's order and values every parameter accepts. */
static const char *param_value(const char *name)
{
	static const struct {
		const char *name, *value;
	} v[] = {
		{"uscc", "91310115MA1K3BTP2B"},
		{"kind", "business_licence"},
		{"id", "1"},
		{"code", "yingtan"},
		{"key_type", "main"},
		{"queue", "production"},
		{"year", "2026"},
		{"serial", "01"},
		{"ca", "sm2-issuing-1"},
		{"key_serial", "FUZZ-KEY-1"},
		{"seal", "org"},
		{"token", "0000000000000000000000000000000000000000007"},
	};
	if (strcmp(name, "order_no") == 0 || strcmp(name, "renewal_no") == 0)
		return order_no;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	fprintf(stderr, "fuzz_bodies: no value for the path parameter {%s}\n", name);
	abort();
}

/* Returns the caller (fuzz_api.c: 0 anonymous, 1 the organisation, 2.. a staff role) rt admits. */
static int caller_for(const struct route *rt)
{
	unsigned roles = rt->access >> 8;

	switch (ACCESS_KIND(rt->access)) {
	case ACCESS_PUBLIC:
		return 0;
	case ACCESS_STAFF:
		for (int r = 0; r < ROLE_COUNT; r++)
			if (roles & (1u << r))
				return 2 + r;
		return 2 + ROLE_ADMIN;
	default: /* the organisation: a session with its CSRF token */
		return 1;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct db_conn *c;
	char *no = NULL;

	fuzz_api_initialize(argc, argv);
	for (size_t i = 0; i < NBODY; i++) {
		for (int k = 0; k < api_route_count && body_route[i] == NULL; k++)
			if (strcmp(api_routes[k].method, body_fields[i].method) == 0 &&
			    strcmp(api_routes[k].pattern, body_fields[i].pattern) == 0)
				body_route[i] = &api_routes[k];
		if (body_route[i] == NULL) {
			fprintf(stderr,
				"fuzz_bodies: %s %s is not in the route table: run "
				"tests/fuzz/gen_bodies.py\n",
				body_fields[i].method, body_fields[i].pattern);
			abort();
		}
	}
	c = db_acquire(app.db);
	if (db_query_text(c, "SELECT order_no FROM orders ORDER BY id LIMIT 1", DB_NOARGS, &no) != DB_OK ||
	    no == NULL)
		abort();
	db_release(c);
	snprintf(order_no, sizeof(order_no), "%s", no);
	free(no);
	return 0;
}

/* Takes one byte of the input (0 when it is used up). */
static unsigned take(const uint8_t **p, size_t *n)
{
	if (*n == 0)
		return 0;
	(*n)--;
	return *(*p)++;
}

/* Returns a value of type t ('s', 'i', ...) or, one time in four, of another type, from the input. */
static json_t *value_of(char t, const uint8_t **p, size_t *n, int depth)
{
	static const char *const odd[] = {
		"",   " ",    "\xe4\xb8\xad",       "\xff\xfe",    "1e400",
		"-0", "null", "91310115MA1K3BTP2B", "13800138000", "11010519491231002X"};
	unsigned b = take(p, n), len;

	if (b % 4 == 0) /* another type */
		t = "sinbao"[(b / 4) % 6];
	switch (t) {
	case 'i':
		return json_integer((json_int_t)(int32_t)(take(p, n) << 24 | take(p, n) << 16 |
							  take(p, n) << 8 | take(p, n)));
	case 'n':
		return json_real((double)(int8_t)take(p, n) * 1e300);
	case 'b':
		return b & 0x80 ? json_true() : json_null();
	case 'a':
		return depth < 3 ? json_pack("[o]", value_of('s', p, n, depth + 1)) : json_array();
	case 'o':
		return depth < 3 ? json_pack("{s:o}", "x", value_of('s', p, n, depth + 1)) : json_object();
	default:
		if (b & 0x40)
			return json_string(odd[take(p, n) % (sizeof(odd) / sizeof(odd[0]))]);
		len = take(p, n) % 64;
		len = len < *n ? len : (unsigned)*n;
		/* NULs and control characters too; invalid UTF-8 is the raw mode's (jansson would not dump
		 * it) */
		json_t *s = json_stringn((const char *)*p, len);
		*p += len;
		*n -= len;
		return s != NULL ? s : json_string("\xef\xbf\xbd");
	}
}

/* Builds the structured body of route i from the input: each field present or not, of its type or
 * not; sometimes an unknown field. Caller frees. */
static char *structured(size_t i, const uint8_t *p, size_t n)
{
	json_t *o = json_object();
	char *text;

	for (const char *const *f = body_fields[i].fields; *f != NULL; f++)
		if (take(&p, &n) % 5 != 0)
			json_object_set_new(o, *f + 1, value_of((*f)[0], &p, &n, 0));
	if (n > 0 && take(&p, &n) % 7 == 0)
		json_object_set_new(o, "unknown_field", value_of('s', &p, &n, 0));
	text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(o);
	return text;
}

/* Writes the path of rt with the ids into out. */
static void route_path(const struct route *rt, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = rt->pattern; *p != '\0' && o + 1 < len;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			char name[32];
			snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
			o += (size_t)snprintf(out + o, len - o, "%s", param_value(name));
			p = e + 1;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[1 << 17];
	char path[512], *body;
	size_t i, nbody, r;
	const struct route *rt;
	int who, status;

	if (size < 2)
		return 0;
	i = data[0] % NBODY;
	rt = body_route[i];
	if (strcmp(rt->pattern, "/api/v1/auth/logout") == 0)
		return 0; /* would end the organisation's session */
	who = caller_for(rt);
	if (data[1] & 1) {
		body = structured(i, data + 2, size - 2);
	} else {
		nbody = size - 2 < sizeof(req) / 2 ? size - 2 : sizeof(req) / 2;
		body = malloc(nbody + 1);
		memcpy(body, data + 2, nbody);
		body[nbody] = '\0';
	}
	nbody = (data[1] & 1) ? strlen(body) : (size - 2 < sizeof(req) / 2 ? size - 2 : sizeof(req) / 2);
	route_path(rt, path, sizeof(path));
	r = (size_t)snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n",
			     rt->method, path);
	if (who > 0)
		r += (size_t)snprintf(req + r, sizeof(req) - r,
				      "Cookie: certdesk_session=%s\r\nX-CSRF-Token: %s\r\n", cookie[who],
				      csrf[who]);
	r += (size_t)snprintf(req + r, sizeof(req) - r,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", nbody);
	memcpy(req + r, body, nbody);
	status = exchange(req, r + nbody);
	if (status == 500 || status < 0) {
		fprintf(stderr, "fuzz_bodies: %s %s as caller %d answered %d to %.*s\n", rt->method, path,
			who, status, (int)(nbody < 2000 ? nbody : 2000), body);
		abort();
	}
	free(body);
	return 0;
}
