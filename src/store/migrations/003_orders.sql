-- Orders: one application for one USB key, its history, the daily order-number counters, main keys
-- an organisation already holds from before (recorded by staff), and the catalogue's prices.

ALTER TABLE project_key_types ADD COLUMN years_offered TEXT NOT NULL DEFAULT '1,2,3';
ALTER TABLE project_key_types ADD COLUMN renewal_fen_per_year BIGINT NOT NULL DEFAULT 0;
-- The documents an order of this key type needs, comma-separated code names.
ALTER TABLE project_key_types ADD COLUMN documents TEXT NOT NULL DEFAULT
    'application_form,business_licence,handler_id_front,handler_id_back,authorisation_letter';

CREATE TABLE orders (
    id {{id}},
    order_no TEXT NOT NULL UNIQUE,
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    key_type TEXT NOT NULL CHECK (key_type IN ('main', 'secondary')),
    state TEXT NOT NULL,
    price_fen BIGINT NOT NULL CHECK (price_fen >= 0),
    form TEXT NOT NULL,
    -- Bumped by every edit: the forms printed before carry the old version in their QR code.
    form_version INTEGER NOT NULL DEFAULT 1,
    -- Random, in the authorisation letter's QR code; replaced when the legal person changes.
    verify_token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT
);
CREATE INDEX orders_org ON orders (org_id, id);
CREATE INDEX orders_state ON orders (state, id);
-- The one-main-key rule, kept by the database itself even when two requests race.
CREATE UNIQUE INDEX orders_one_live_main ON orders (org_id, project_id)
    WHERE key_type = 'main' AND state NOT IN ('deleted', 'refunding', 'refunded');

CREATE TABLE order_events (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    event TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    note TEXT,
    at TEXT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

CREATE TABLE order_counters (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    day INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (project_id, day)
);

CREATE TABLE held_main_keys (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    note TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES staff(id),
    created_at TEXT NOT NULL,
    UNIQUE (org_id, project_id)
);

-- Key types with a seal need the seal-impression form as well.
UPDATE project_key_types SET documents = documents || ',seal_form' WHERE has_seal = 1;
