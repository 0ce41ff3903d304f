-- The outbound parcel's route as the courier last reported it (SF Express route query), kept so
-- the order page does not ask the courier on every view and still has something to show when the
-- courier's service is down.
CREATE TABLE courier_routes (
    shipment_id BIGINT PRIMARY KEY REFERENCES shipments(id),
    routes TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
