/* certdesk-softskf-tool: manages the software SKF key's devices (TEST keys only).
 *   create DIR NAME [--serial S] [--label L] [--devauth HEX]   a blank device (no application)
 *   remove DIR NAME / insert DIR NAME                          pull out / plug in the key
 *   remove-after DIR NAME N                                    pulled after N more state-changing calls
 *   show DIR NAME                                              the state as JSON */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softskf/softskf.h"

/* Prints the usage and returns 2. */
static int usage(void)
{
	fprintf(stderr, "usage: certdesk-softskf-tool create DIR NAME [--serial S] [--label L] [--devauth HEX]\n"
			"       certdesk-softskf-tool remove|insert|show DIR NAME\n"
			"       certdesk-softskf-tool remove-after DIR NAME N\n"
			"A software SKF key for tests and the demo only (never a production key).\n");
	return 2;
}

/* The device directory DIR/NAME of an existing device into out. Returns 0 or -1 (printed). */
static int device_dir(const char *dir, const char *name, char *out, size_t outlen)
{
	char f[SOFTSKF_PATH_MAX];

	if (!softskf_name_ok(name, 64) || softskf_path(out, outlen, dir, name) != 0 ||
	    softskf_path(f, sizeof(f), out, "device.json") != 0 || !softskf_exists(f)) {
		fprintf(stderr, "no device %s in %s\n", name, dir);
		return -1;
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	const char *serial = NULL, *label = NULL, *devauth = NULL;
	char why[256] = "";
	int r;

	for (int i = 4; i < argc; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--serial") == 0)
			serial = argv[i + 1];
		else if (strcmp(argv[i], "--label") == 0)
			label = argv[i + 1];
		else if (strcmp(argv[i], "--devauth") == 0)
			devauth = argv[i + 1];
		else
			return usage();
	}
	r = softskf_device_create(argv[2], argv[3], serial, label, devauth, why, sizeof(why));
	if (r != 0)
		fprintf(stderr, "create: %s\n", why);
	return r == 0 ? 0 : 1;
}

/* Creates (on) or deletes the marker file name of device NAME. */
static int cmd_marker(const char *dir, const char *name, const char *marker, int on)
{
	char d[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX];

	if (device_dir(dir, name, d, sizeof(d)) != 0 || softskf_path(f, sizeof(f), d, marker) != 0)
		return 1;
	if (on)
		return softskf_write_file(f, "", 0) == 0 ? 0 : 1;
	return unlink(f) == 0 || !softskf_exists(f) ? 0 : 1;
}

/* Pulls device NAME out: the `removed` marker, and one more in its `removals` count, so the handles
 * opened before stay dead after the key is plugged back in (as a real key's do). */
static int cmd_remove(const char *dir, const char *name)
{
	char d[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX], buf[32];
	unsigned char *s;
	size_t len = 0;
	long n = 0;

	if (device_dir(dir, name, d, sizeof(d)) != 0 || softskf_path(f, sizeof(f), d, "removals") != 0)
		return 1;
	if ((s = softskf_read_file(f, &len)) != NULL) {
		n = strtol((char *)s, NULL, 10);
		free(s);
	}
	snprintf(buf, sizeof(buf), "%ld\n", n + 1);
	if (softskf_write_file(f, buf, strlen(buf)) != 0)
		return 1;
	return cmd_marker(dir, name, "removed", 1);
}

static int cmd_remove_after(const char *dir, const char *name, const char *n)
{
	char d[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX], buf[32];
	char *end;
	long v = strtol(n, &end, 10);

	if (*n == '\0' || *end != '\0' || v < 0 || v > 1000000)
		return usage();
	if (device_dir(dir, name, d, sizeof(d)) != 0 || softskf_path(f, sizeof(f), d, "remove-after") != 0)
		return 1;
	snprintf(buf, sizeof(buf), "%ld\n", v);
	return softskf_write_file(f, buf, strlen(buf)) == 0 ? 0 : 1;
}

/* The containers of application directory app as {name: {objects}}. */
static json_t *show_containers(const char *app)
{
	static const char *objs[] = {"sign.key", "sign.cer", "enc.key", "enc.cer"};
	char cs[SOFTSKF_PATH_MAX], c[SOFTSKF_PATH_MAX], o[SOFTSKF_PATH_MAX];
	json_t *out = json_object();
	char **v;

	if (softskf_path(cs, sizeof(cs), app, "containers") != 0 || (v = softskf_list(cs, 1)) == NULL)
		return out;
	for (size_t i = 0; v[i] != NULL; i++) {
		json_t *e = json_object();
		if (softskf_path(c, sizeof(c), cs, v[i]) != 0)
			continue;
		for (size_t k = 0; k < sizeof(objs) / sizeof(objs[0]); k++)
			json_object_set_new(e, objs[k],
					    json_boolean(softskf_path(o, sizeof(o), c, objs[k]) == 0 && softskf_exists(o)));
		json_object_set_new(out, v[i], e);
	}
	softskf_names_free(v);
	return out;
}

/* The applications of device directory d: PIN counters (no hashes), files, containers. */
static json_t *show_apps(const char *d)
{
	char as[SOFTSKF_PATH_MAX], a[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX];
	json_t *out = json_object();
	char **v;

	if (softskf_path(as, sizeof(as), d, "apps") != 0 || (v = softskf_list(as, 1)) == NULL)
		return out;
	for (size_t i = 0; v[i] != NULL; i++) {
		json_t *st;
		if (softskf_path(a, sizeof(a), as, v[i]) != 0 || softskf_path(f, sizeof(f), a, "app.json") != 0 ||
		    (st = softskf_read_json(f)) == NULL)
			continue;
		json_object_del(json_object_get(st, "admin"), "salt");
		json_object_del(json_object_get(st, "admin"), "hash");
		json_object_del(json_object_get(st, "user"), "salt");
		json_object_del(json_object_get(st, "user"), "hash");
		json_object_set_new(st, "containers", show_containers(a));
		json_object_set_new(out, v[i], st);
	}
	softskf_names_free(v);
	return out;
}

static int cmd_show(const char *dir, const char *name)
{
	char d[SOFTSKF_PATH_MAX], f[SOFTSKF_PATH_MAX];
	unsigned char *n;
	size_t len = 0;
	json_t *o;

	if (device_dir(dir, name, d, sizeof(d)) != 0 || softskf_path(f, sizeof(f), d, "device.json") != 0 ||
	    (o = softskf_read_json(f)) == NULL)
		return 1;
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "removed", json_boolean(softskf_path(f, sizeof(f), d, "removed") == 0 &&
						       softskf_exists(f)));
	if (softskf_path(f, sizeof(f), d, "remove-after") == 0 && (n = softskf_read_file(f, &len)) != NULL) {
		json_object_set_new(o, "remove_after", json_integer(strtol((char *)n, NULL, 10)));
		free(n);
	}
	json_object_set_new(o, "applications", show_apps(d));
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc, argv);
	if (strcmp(argv[1], "remove-after") == 0)
		return argc == 5 ? cmd_remove_after(argv[2], argv[3], argv[4]) : usage();
	if (argc != 4)
		return usage();
	if (strcmp(argv[1], "remove") == 0)
		return cmd_remove(argv[2], argv[3]);
	if (strcmp(argv[1], "insert") == 0)
		return cmd_marker(argv[2], argv[3], "removed", 0);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argv[2], argv[3]);
	return usage();
}
