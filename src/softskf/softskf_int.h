/* The software key's handles and the helpers every SKF function uses. Compiled once per ULONG width
 * (SKF_ULONG_BITS is set by the build); see softskf.h for the parts and the directory layout. */
#ifndef CERTDESK_SOFTSKF_INT_H
#define CERTDESK_SOFTSKF_INT_H

#include "skf/skf_abi.h"
#include "softskf/softskf.h"

/* Only the SKF_* functions leave the library (built with -fvisibility=hidden). */
#define SKF_EXPORT __attribute__((visibility("default")))

/* Runs call under the library's one mutex and returns its result. */
#define SK_LOCKED(call)                 \
	do {                            \
		ULONG r_;               \
		sk_lock();              \
		r_ = (call);            \
		sk_unlock();            \
		return r_;              \
	} while (0)

enum sk_kind { SK_DEV = 1, SK_APP, SK_CON };

struct sk_dev {
	char name[SKF_MAX_NAME_LEN + 1];
	char path[SOFTSKF_PATH_MAX];
	unsigned char challenge[16]; /* the last GenRandom, zero-padded: what DevAuth expects */
	int have_challenge;
	int authed;    /* DevAuth succeeded on this connection */
	int gone;      /* removal was seen: the handle stays dead even after re-insertion */
	long removals; /* the key's removal count when connected: a removal since kills the handle */
};

struct sk_app {
	struct sk_dev *dev;
	char name[SKF_MAX_NAME_LEN + 1];
	char path[SOFTSKF_PATH_MAX];
	int user_in;  /* the user PIN was verified on this handle */
	int admin_in; /* the admin PIN was verified on this handle */
	int refs;     /* container handles opened through it */
	int closed;   /* CloseApplication came while containers were open: kept for them, unusable */
};

struct sk_con {
	struct sk_app *app;
	char name[SKF_MAX_NAME_LEN + 1];
	char path[SOFTSKF_PATH_MAX];
};

void sk_lock(void);
void sk_unlock(void);

/* The registry of live handles: a handle is used only when it is found here with the right kind, so
 * a freed or foreign pointer is refused without being dereferenced. */
int sk_reg_add(void *p, enum sk_kind kind);
void sk_reg_del(void *p);
/* Returns p when it is a live handle of kind, else NULL (p is not dereferenced). */
void *sk_reg_find(const void *p, enum sk_kind kind);
/* Frees every application and container handle of dev (DisConnectDev). */
void sk_reg_free_children(struct sk_dev *dev);
/* Closes application handle a: unusable at once, freed when its last container handle is closed
 * (callers such as GmSSL close the application before its containers). */
void sk_app_close(struct sk_app *a);
/* Frees container handle c and releases its application. */
void sk_con_close(struct sk_con *c);

/* Looks h up as a device / application / container handle and checks the device is still inserted.
 * change != 0 marks a state-changing call: it counts down `remove-after`, and the call after the
 * last allowed one pulls the key. Returns SAR_OK with *out, SAR_INVALIDHANDLEERR,
 * SAR_DEVICE_REMOVED, SAR_APPLICATION_NOT_EXISTS (the application was deleted meanwhile). */
ULONG sk_dev_get(HANDLE h, int change, struct sk_dev **out);
ULONG sk_app_get(HANDLE h, int change, struct sk_app **out);
ULONG sk_con_get(HANDLE h, int change, struct sk_con **out);
/* Whether the device directory path is present (device.json and no `removed` marker). */
int sk_dev_present(const char *path);
/* How many times the key at path was pulled out (its `removals` file, counted by the tool's remove). */
long sk_dev_removals(const char *path);

/* Writes the NUL-separated list names (ending with an extra NUL) to out: out NULL gives the size,
 * a too small *size SAR_BUFFER_TOO_SMALL with the size. */
ULONG sk_multistr(char **names, LPSTR out, ULONG *size);
/* Copies n bytes of data to out with the same size protocol. */
ULONG sk_out(const void *data, size_t n, BYTE *out, ULONG *len);

/* Reads the application state app.json of a (caller decrefs) or NULL. */
json_t *sk_app_state(const struct sk_app *a);
/* Writes the application state. Returns SAR_OK or SAR_WRITEFILEERR. */
ULONG sk_app_save(const struct sk_app *a, const json_t *st);
/* Whether the rights value r is satisfied by a's login state. */
int sk_rights_ok(const struct sk_app *a, ULONG r);

#endif
