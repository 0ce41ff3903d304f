/* Parcels, the paper contact log, and the back-office queues by state. */
#include "store/store.h"
#include "util/strutil.h"
#include "util/timefmt.h"
#include "util/xalloc.h"

int store_shipment_add(struct db_conn *c, int64_t order_id, const char *direction, const char *carrier,
		       const char *tracking_no)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
		       "INSERT INTO shipments (order_id, direction, carrier, tracking_no, created_at) VALUES "
		       "(?, ?, ?, ?, ?)",
		       DB_ARGS(DB_INT(order_id), DB_TEXT(direction), DB_TEXT(carrier), DB_TEXT(tracking_no),
			       DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		       NULL);
}

int store_shipment_received(struct db_conn *c, int64_t order_id)
{
	char now[TIMEFMT_LEN];
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE shipments SET received_at = ? WHERE id = (SELECT MAX(id) FROM shipments "
			 "WHERE order_id = ?"
			 " AND direction = 'inbound') AND received_at IS NULL",
			 DB_ARGS(DB_TEXT(timefmt_rfc3339(time(NULL), now)), DB_INT(order_id)), &changes);

	return rc != DB_OK ? rc : changes == 1 ? DB_OK : DB_NOTFOUND;
}

int store_shipments_json(struct db_conn *c, int64_t order_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT direction, carrier, tracking_no, created_at, received_at FROM shipments "
			  "WHERE order_id = ?"
			  " ORDER BY id",
			  DB_ARGS(DB_INT(order_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "direction", db_rows_text(r, 0), "carrier",
				      db_rows_text(r, 1), "tracking_no", db_rows_text(r, 2), "created_at",
				      db_rows_text(r, 3));
		if (db_rows_text(r, 4) != NULL)
			json_object_set_new(j, "received_at", json_string(db_rows_text(r, 4)));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_paper_contact_add(struct db_conn *c, int64_t order_id, int64_t staff_id, const char *called_at,
			    const char *answered_by, const char *asked)
{
	char now[TIMEFMT_LEN];

	return db_exec(
		c,
		"INSERT INTO paper_contacts (order_id, staff_id, called_at, answered_by, asked, created_at)"
		" VALUES (?, ?, ?, ?, ?, ?)",
		DB_ARGS(DB_INT(order_id), DB_INT(staff_id), DB_TEXT(called_at), DB_TEXT(answered_by),
			DB_TEXT(asked), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		NULL);
}

int store_paper_contacts_json(struct db_conn *c, int64_t order_id, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT p.called_at, p.answered_by, p.asked, s.display_name, p.created_at FROM "
			  "paper_contacts p"
			  " JOIN staff s ON s.id = p.staff_id WHERE p.order_id = ? ORDER BY p.id",
			  DB_ARGS(DB_INT(order_id)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_array_append_new(
			*items, json_pack("{s:s, s:s, s:s, s:s, s:s}", "called_at", db_rows_text(r, 0),
					  "answered_by", db_rows_text(r, 1), "asked", db_rows_text(r, 2),
					  "staff", db_rows_text(r, 3), "created_at", db_rows_text(r, 4)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_state_queue(struct db_conn *c, const char *state, json_t **items)
{
	struct db_rows *r = NULL;
	/* The time an order entered its state is its newest history entry's. */
	int rc = db_query(
		c,
		"SELECT o.order_no, g.name, g.uscc, o.key_type, (SELECT MAX(e.at) FROM order_events e"
		" WHERE e.order_id = o.id), (SELECT s.tracking_no FROM shipments s WHERE s.order_id = o.id "
		"AND"
		" s.direction = 'inbound' ORDER BY s.id DESC LIMIT 1), (SELECT s.received_at FROM shipments s"
		" WHERE s.order_id = o.id AND s.direction = 'inbound' ORDER BY s.id DESC LIMIT 1)"
		" FROM orders o JOIN organisations g ON g.id = o.org_id WHERE o.state = ? ORDER BY 5, o.id "
		"LIMIT 500",
		DB_ARGS(DB_TEXT(state)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		json_t *j =
			json_pack("{s:s, s:s, s:s, s:s, s:s}", "order_no", db_rows_text(r, 0), "unit_name",
				  db_rows_text(r, 1), "uscc", db_rows_text(r, 2), "key_type",
				  db_rows_text(r, 3), "since", db_rows_text(r, 4) ? db_rows_text(r, 4) : "");
		if (db_rows_text(r, 5) != NULL)
			json_object_set_new(j, "inbound_tracking_no", json_string(db_rows_text(r, 5)));
		if (db_rows_text(r, 6) != NULL)
			json_object_set_new(j, "paper_received_at", json_string(db_rows_text(r, 6)));
		json_array_append_new(*items, j);
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_orders_since_event(struct db_conn *c, const char *state_a, const char *state_b, const char *event,
			     int without_invoice, json_t **items)
{
	struct db_rows *r = NULL;
	int rc = db_query(
		c,
		"SELECT o.order_no, g.name, o.state, (SELECT MAX(e.at) FROM order_events e WHERE "
		"e.order_id = o.id AND e.event = ?) FROM orders o JOIN organisations g ON g.id = "
		"o.org_id WHERE o.state IN (?, ?) AND (? = 0 OR NOT EXISTS (SELECT 1 FROM invoices i"
		" WHERE i.order_id = o.id)) ORDER BY 4, o.id LIMIT 500",
		DB_ARGS(DB_TEXT(event), DB_TEXT(state_a), DB_TEXT(state_b), DB_INT(without_invoice)), &r);

	*items = json_array();
	while (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		if (db_rows_text(r, 3) != NULL)
			json_array_append_new(
				*items, json_pack("{s:s, s:s, s:s, s:s}", "order_no", db_rows_text(r, 0),
						  "unit_name", db_rows_text(r, 1), "state",
						  db_rows_text(r, 2), "at", db_rows_text(r, 3)));
		rc = DB_OK;
	}
	db_rows_free(r);
	return rc < 0 ? rc : DB_OK;
}

int store_shipment_outbound(struct db_conn *c, int64_t order_id, int64_t *id, char *carrier, size_t cl,
			    char *tracking_no, size_t tl)
{
	struct db_rows *r = NULL;
	int rc = db_query(c,
			  "SELECT id, carrier, tracking_no FROM shipments WHERE order_id = ? AND direction = "
			  "'outbound' ORDER BY id DESC LIMIT 1",
			  DB_ARGS(DB_INT(order_id)), &r);

	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		*id = db_rows_int(r, 0);
		str_copy(carrier, db_rows_text(r, 1), cl);
		str_copy(tracking_no, db_rows_text(r, 2), tl);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_NOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

int store_route_get(struct db_conn *c, int64_t shipment_id, char **routes, char *fetched_at)
{
	struct db_rows *r = NULL;
	int rc = db_query(c, "SELECT routes, fetched_at FROM courier_routes WHERE shipment_id = ?",
			  DB_ARGS(DB_INT(shipment_id)), &r);

	*routes = NULL;
	if (rc == DB_OK && (rc = db_rows_next(r)) == 1) {
		*routes = xstrdup(db_rows_text(r, 0));
		str_copy(fetched_at, db_rows_text(r, 1), TIMEFMT_LEN);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = DB_NOTFOUND;
	}
	db_rows_free(r);
	return rc;
}

int store_route_put(struct db_conn *c, int64_t shipment_id, const char *routes)
{
	char now[TIMEFMT_LEN];

	return db_exec(c,
		       "INSERT INTO courier_routes (shipment_id, routes, fetched_at) VALUES (?, ?, ?)"
		       " ON CONFLICT (shipment_id) DO UPDATE SET routes = excluded.routes,"
		       " fetched_at = excluded.fetched_at",
		       DB_ARGS(DB_INT(shipment_id), DB_TEXT(routes), DB_TEXT(timefmt_rfc3339(time(NULL), now))),
		       NULL);
}
