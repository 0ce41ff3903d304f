/* The table usb_keys (migration 018): the USB keys orders are produced onto, their state and their
 * PINs sealed under the KEK (sealing is km's: this file stores text it cannot open). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

#define KEY_COLS                                                                                             \
	"id, order_id, serial, kind, model, manufacturer, ulong_bits, state, so_pin, user_pin,"              \
	" user_pin_default, kek_id, created_at, written_at"
#define LIVE "state IN ('producing', 'written')"

/* Copies the current row (KEY_COLS) into k. */
static void key_from_row(struct db_rows *r, struct usbkey_rec *k)
{
	memset(k, 0, sizeof(*k));
	k->id = db_rows_int(r, 0);
	k->order_id = db_rows_int(r, 1);
	str_copy(k->serial, db_rows_text(r, 2), sizeof(k->serial));
	str_copy(k->kind, db_rows_text(r, 3), sizeof(k->kind));
	str_copy(k->model, db_rows_text(r, 4), sizeof(k->model));
	str_copy(k->manufacturer, db_rows_text(r, 5), sizeof(k->manufacturer));
	k->ulong_bits = (int)db_rows_int(r, 6);
	str_copy(k->state, db_rows_text(r, 7), sizeof(k->state));
	k->so_pin = xstrdup(db_rows_text(r, 8) != NULL ? db_rows_text(r, 8) : "");
	k->user_pin = xstrdup(db_rows_text(r, 9) != NULL ? db_rows_text(r, 9) : "");
	k->user_pin_default = (int)db_rows_int(r, 10);
	str_copy(k->kek_id, db_rows_text(r, 11), sizeof(k->kek_id));
	str_copy(k->created_at, db_rows_text(r, 12), sizeof(k->created_at));
	if (db_rows_text(r, 13) != NULL)
		str_copy(k->written_at, db_rows_text(r, 13), sizeof(k->written_at));
}

/* Runs a query for one key into k. Returns DB_OK, DB_NOTFOUND or < 0. */
static int key_one(struct db_conn *c, const char *sql, const struct db_val *args, int nargs,
		   struct usbkey_rec *k)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, sql, args, nargs, &r);

	memset(k, 0, sizeof(*k));
	if (rc == DB_OK) {
		rc = db_rows_next(r);
		if (rc == 1)
			key_from_row(r, k);
		rc = rc == 1 ? DB_OK : rc == 0 ? DB_NOTFOUND : rc;
	}
	db_rows_free(r);
	return rc;
}

int store_usbkey_live_of_order(struct db_conn *c, int64_t order_id, struct usbkey_rec *k)
{
	return key_one(c, "SELECT " KEY_COLS " FROM usb_keys WHERE order_id = ? AND " LIVE,
		       DB_ARGS(DB_INT(order_id)), k);
}

int store_usbkey_live_by_serial(struct db_conn *c, const char *serial, struct usbkey_rec *k)
{
	return key_one(c, "SELECT " KEY_COLS " FROM usb_keys WHERE serial = ? AND " LIVE,
		       DB_ARGS(DB_TEXT(serial)), k);
}

int store_usbkey_latest_by_serial(struct db_conn *c, const char *serial, struct usbkey_rec *k)
{
	return key_one(c, "SELECT " KEY_COLS " FROM usb_keys WHERE serial = ? ORDER BY id DESC LIMIT 1",
		       DB_ARGS(DB_TEXT(serial)), k);
}

int store_usbkey_insert(struct db_conn *c, struct usbkey_rec *k)
{
	char now[TIMEFMT_LEN];

	timefmt_rfc3339(time(NULL), now);
	str_copy(k->created_at, now, sizeof(k->created_at));
	str_copy(k->state, "producing", sizeof(k->state));
	return db_query_int(
		c,
		"INSERT INTO usb_keys (order_id, serial, kind, model, manufacturer, ulong_bits, state,"
		" so_pin, user_pin, user_pin_default, kek_id, created_at)"
		" SELECT ?, ?, ?, ?, ?, ?, 'producing', ?, ?, ?, ?, ?"
		" WHERE EXISTS (SELECT 1 FROM orders WHERE id = ? AND state = 'producing') RETURNING id",
		DB_ARGS(DB_INT(k->order_id), DB_TEXT(k->serial), DB_TEXT(k->kind), DB_TEXT(k->model),
			DB_TEXT(k->manufacturer), DB_INT(k->ulong_bits), DB_TEXT(k->so_pin),
			DB_TEXT(k->user_pin), DB_INT(k->user_pin_default), DB_TEXT(k->kek_id), DB_TEXT(now),
			DB_INT(k->order_id)),
		&k->id);
}

int store_usbkey_finish(struct db_conn *c, int64_t id, const char *state)
{
	char now[TIMEFMT_LEN];
	int64_t n = 0;
	int rc;

	timefmt_rfc3339(time(NULL), now);
	if (strcmp(state, "written") == 0)
		rc = db_exec(c,
			     "UPDATE usb_keys SET state = 'written', written_at = ? WHERE id = ? AND state = "
			     "'producing'",
			     DB_ARGS(DB_TEXT(now), DB_INT(id)), &n);
	else
		rc = db_exec(c,
			     "UPDATE usb_keys SET state = 'abandoned', abandoned_at = ? WHERE id = ? AND "
			     "state = 'producing'",
			     DB_ARGS(DB_TEXT(now), DB_INT(id)), &n);
	return rc != DB_OK ? rc : n == 1 ? DB_OK : DB_NOTFOUND;
}

int store_usbkey_cert_serials(struct db_conn *c, int64_t id, json_t **serials)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c, "SELECT serial FROM certificates WHERE usb_key_id = ? AND status = 'good' ORDER BY id",
		DB_ARGS(DB_INT(id)), &r);

	*serials = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(*serials, json_string(db_rows_text(r, 0)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

json_t *store_usbkey_json(const struct usbkey_rec *k)
{
	return json_pack("{s:s, s:s, s:s}", "serial", k->serial, "model", k->model, "state", k->state);
}

json_t *store_usbkey_of_order_json(struct db_conn *c, int64_t order_id, int org_view)
{
	struct usbkey_rec k = {0};
	json_t *j = NULL;

	if (store_usbkey_live_of_order(c, order_id, &k) == DB_OK &&
	    (!org_view || strcmp(k.state, "written") == 0))
		j = store_usbkey_json(&k);
	store_usbkey_free(&k);
	return j;
}

/* Wipes and frees a sealed PIN (sealed, but still not left behind in freed memory). */
static void wipe(char **s)
{
	if (*s != NULL)
		sodium_memzero(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

void store_usbkey_free(struct usbkey_rec *k)
{
	if (k == NULL)
		return;
	wipe(&k->so_pin);
	wipe(&k->user_pin);
}

void store_usbkey_annotate(struct db_conn *c, json_t *items)
{
	size_t i;
	json_t *it;

	json_array_foreach (items, i, it) {
		struct db_rows *r = NULL;
		const char *no = json_string_value(json_object_get(it, "order_no"));
		if (no == NULL || db_query(c,
					   "SELECT k.serial, k.model, k.state FROM usb_keys k JOIN orders o "
					   "ON o.id = k.order_id"
					   " WHERE o.order_no = ? AND k.state IN ('producing', 'written')",
					   DB_ARGS(DB_TEXT(no)), &r) != DB_OK) {
			db_rows_free(r);
			continue;
		}
		if (db_rows_next(r) == 1)
			json_object_set_new(it, "usb_key",
					    json_pack("{s:s, s:s, s:s}", "serial", db_rows_text(r, 0),
						      "model", db_rows_text(r, 1), "state",
						      db_rows_text(r, 2)));
		db_rows_free(r);
	}
}
