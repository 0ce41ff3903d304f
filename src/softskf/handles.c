/* Handles of the software key: heap objects kept in a registry, one global mutex, the removal
 * simulation (`removed` marker, `remove-after` countdown) and the size protocol of SKF out-buffers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softskf/softskf_int.h"

struct reg_entry {
	void *p;
	enum sk_kind kind;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg_entry *reg;
static size_t reg_n, reg_cap;

void sk_lock(void)
{
	pthread_mutex_lock(&lock);
}

void sk_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

int sk_reg_add(void *p, enum sk_kind kind)
{
	if (reg_n == reg_cap) {
		size_t cap = reg_cap == 0 ? 16 : 2 * reg_cap;
		struct reg_entry *nr = realloc(reg, cap * sizeof(*nr));
		if (nr == NULL)
			return -1;
		reg = nr;
		reg_cap = cap;
	}
	reg[reg_n].p = p;
	reg[reg_n].kind = kind;
	reg_n++;
	return 0;
}

void *sk_reg_find(const void *p, enum sk_kind kind)
{
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < reg_n; i++)
		if (reg[i].p == p && reg[i].kind == kind)
			return reg[i].p;
	return NULL;
}

void sk_reg_del(void *p)
{
	for (size_t i = 0; i < reg_n; i++)
		if (reg[i].p == p) {
			reg[i] = reg[--reg_n];
			break;
		}
	if (reg_n == 0) {
		free(reg);
		reg = NULL;
		reg_cap = 0;
	}
}

void sk_app_close(struct sk_app *a)
{
	sk_reg_del(a);
	a->user_in = a->admin_in = 0;
	if (a->refs > 0)
		a->closed = 1;
	else
		free(a);
}

void sk_con_close(struct sk_con *c)
{
	struct sk_app *a = c->app;

	sk_reg_del(c);
	free(c);
	if (--a->refs == 0 && a->closed)
		free(a);
}

/* Closes the registered handles of kind that belong to dev. Walks backwards: sk_reg_del moves the
 * last entry (already seen) into the freed slot. */
static void close_kind(enum sk_kind kind, const struct sk_dev *dev)
{
	for (size_t i = reg_n; i-- > 0;) {
		void *p = reg[i].p;
		if (i >= reg_n || reg[i].kind != kind)
			continue;
		if (kind == SK_CON && ((struct sk_con *)p)->app->dev == dev)
			sk_con_close(p);
		else if (kind == SK_APP && ((struct sk_app *)p)->dev == dev)
			sk_app_close(p);
	}
}

void sk_reg_free_children(struct sk_dev *dev)
{
	close_kind(SK_CON, dev); /* containers first: closing them frees closed applications */
	close_kind(SK_APP, dev);
}

int sk_dev_present(const char *path)
{
	char f[SOFTSKF_PATH_MAX], m[SOFTSKF_PATH_MAX];

	return softskf_path(f, sizeof(f), path, "device.json") == 0 &&
	       softskf_path(m, sizeof(m), path, "removed") == 0 && softskf_exists(f) && !softskf_exists(m);
}

long sk_dev_removals(const char *path)
{
	char f[SOFTSKF_PATH_MAX];
	unsigned char *s;
	size_t len = 0;
	long n = 0;

	if (softskf_path(f, sizeof(f), path, "removals") == 0 && (s = softskf_read_file(f, &len)) != NULL) {
		n = strtol((char *)s, NULL, 10);
		free(s);
	}
	return n;
}

/* Pulls the key when its `remove-after` countdown is used up, else counts one call. Returns SAR_OK or
 * SAR_DEVICE_REMOVED. */
static ULONG count_change(struct sk_dev *d)
{
	char f[SOFTSKF_PATH_MAX], m[SOFTSKF_PATH_MAX], buf[32];
	unsigned char *s;
	size_t len = 0;
	long n;

	if (softskf_path(f, sizeof(f), d->path, "remove-after") != 0 ||
	    softskf_path(m, sizeof(m), d->path, "removed") != 0)
		return SAR_FAIL;
	s = softskf_read_file(f, &len);
	if (s == NULL)
		return SAR_OK;
	n = strtol((char *)s, NULL, 10);
	free(s);
	if (n <= 0) {
		softskf_write_file(m, "", 0);
		unlink(f);
		d->gone = 1;
		return SAR_DEVICE_REMOVED;
	}
	snprintf(buf, sizeof(buf), "%ld\n", n - 1);
	return softskf_write_file(f, buf, strlen(buf)) == 0 ? SAR_OK : SAR_WRITEFILEERR;
}

ULONG sk_dev_get(HANDLE h, int change, struct sk_dev **out)
{
	struct sk_dev *d = sk_reg_find(h, SK_DEV);

	if (d == NULL)
		return SAR_INVALIDHANDLEERR;
	/* a real key's handles die when it is pulled out, whether used meanwhile or not */
	if (!d->gone && (!sk_dev_present(d->path) || sk_dev_removals(d->path) != d->removals))
		d->gone = 1;
	if (d->gone)
		return SAR_DEVICE_REMOVED;
	*out = d;
	return change ? count_change(d) : SAR_OK;
}

ULONG sk_app_get(HANDLE h, int change, struct sk_app **out)
{
	struct sk_app *a = sk_reg_find(h, SK_APP);
	struct sk_dev *d;
	char f[SOFTSKF_PATH_MAX];
	ULONG r;

	if (a == NULL)
		return SAR_INVALIDHANDLEERR;
	r = sk_dev_get(a->dev, change, &d);
	if (r != SAR_OK)
		return r;
	if (softskf_path(f, sizeof(f), a->path, "app.json") != 0 || !softskf_exists(f))
		return SAR_APPLICATION_NOT_EXISTS;
	*out = a;
	return SAR_OK;
}

ULONG sk_con_get(HANDLE h, int change, struct sk_con **out)
{
	struct sk_con *c = sk_reg_find(h, SK_CON);
	struct sk_app *a;
	ULONG r;

	if (c == NULL || c->app->closed)
		return SAR_INVALIDHANDLEERR;
	r = sk_app_get(c->app, change, &a);
	if (r != SAR_OK)
		return r;
	if (!softskf_exists(c->path))
		return SAR_INVALIDHANDLEERR; /* deleted through another handle */
	*out = c;
	return SAR_OK;
}

ULONG sk_multistr(char **names, LPSTR out, ULONG *size)
{
	size_t need = 1, off = 0;

	if (size == NULL)
		return SAR_INVALIDPARAMERR;
	for (size_t i = 0; names[i] != NULL; i++)
		need += strlen(names[i]) + 1;
	if (need == 1)
		need = 2; /* an empty list is two NULs, like a list that ends */
	if (out == NULL) {
		*size = (ULONG)need;
		return SAR_OK;
	}
	if (*size < need) {
		*size = (ULONG)need;
		return SAR_BUFFER_TOO_SMALL;
	}
	memset(out, 0, need);
	for (size_t i = 0; names[i] != NULL; i++) {
		size_t n = strlen(names[i]) + 1;
		memcpy(out + off, names[i], n);
		off += n;
	}
	*size = (ULONG)need;
	return SAR_OK;
}

ULONG sk_out(const void *data, size_t n, BYTE *out, ULONG *len)
{
	if (len == NULL)
		return SAR_INVALIDPARAMERR;
	if (out == NULL) {
		*len = (ULONG)n;
		return SAR_OK;
	}
	if (*len < n) {
		*len = (ULONG)n;
		return SAR_BUFFER_TOO_SMALL;
	}
	memcpy(out, data, n);
	*len = (ULONG)n;
	return SAR_OK;
}

json_t *sk_app_state(const struct sk_app *a)
{
	char f[SOFTSKF_PATH_MAX];

	if (softskf_path(f, sizeof(f), a->path, "app.json") != 0)
		return NULL;
	return softskf_read_json(f);
}

ULONG sk_app_save(const struct sk_app *a, const json_t *st)
{
	char f[SOFTSKF_PATH_MAX];

	if (softskf_path(f, sizeof(f), a->path, "app.json") != 0 || softskf_write_json(f, st) != 0)
		return SAR_WRITEFILEERR;
	return SAR_OK;
}

int sk_rights_ok(const struct sk_app *a, ULONG r)
{
	if (r == SECURE_ANYONE_ACCOUNT)
		return 1;
	return ((r & SECURE_USER_ACCOUNT) && a->user_in) || ((r & SECURE_ADM_ACCOUNT) && a->admin_in);
}
