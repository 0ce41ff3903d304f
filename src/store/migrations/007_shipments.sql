-- Parcels: the organisation's paper documents coming in, the USB key going out; and the paper
-- reviewers' contact log (the seed: staff phone the handler about paper that must be re-sent).

CREATE TABLE shipments (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    carrier TEXT NOT NULL CHECK (carrier IN ('sf', 'ems', 'other')),
    tracking_no TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT
);
CREATE INDEX shipments_order ON shipments (order_id, id);
CREATE INDEX shipments_tracking ON shipments (tracking_no);

CREATE TABLE paper_contacts (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    staff_id BIGINT NOT NULL REFERENCES staff(id),
    called_at TEXT NOT NULL,
    answered_by TEXT NOT NULL,
    asked TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX paper_contacts_order ON paper_contacts (order_id, id);
