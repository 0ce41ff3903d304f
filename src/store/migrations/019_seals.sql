-- Electronic seals (issue 14). seal_pictures: the picture staff chose for each seal of an order
-- (org 单位公章, legal 法人章), cut out of the scanned seal form (source 'scan', with the slot and
-- box) or uploaded clean (source 'upload'); a new choice replaces the old one. Sizes in tenths of a
-- millimetre (the seal records whole millimetres, rounded).
CREATE TABLE seal_pictures (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    seal TEXT NOT NULL CHECK (seal IN ('org', 'legal')),
    png TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    width_px INTEGER NOT NULL,
    height_px INTEGER NOT NULL,
    width_mm10 INTEGER NOT NULL,
    height_mm10 INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('scan', 'upload')),
    slot TEXT,
    box TEXT,
    verdict TEXT NOT NULL,
    chosen_by TEXT NOT NULL,
    chosen_at TEXT NOT NULL,
    UNIQUE (order_id, seal)
);

-- seals: the GB/T 38540 seals made at production for a main key (usb_key_id) and its signing
-- certificate (cert_serial): one per order, key, certificate and type, so a retried production
-- returns the same seals. der is base64. state: made (at production), written (read back from the
-- key, byte-equal, when the production completed).
CREATE TABLE seals (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    usb_key_id BIGINT NOT NULL REFERENCES usb_keys(id),
    cert_serial TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('org', 'legal')),
    es_id TEXT NOT NULL,
    der TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    valid_start TEXT NOT NULL,
    valid_end TEXT NOT NULL,
    maker_key_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('made', 'written')),
    created_at TEXT NOT NULL,
    written_at TEXT,
    UNIQUE (order_id, usb_key_id, cert_serial, type)
);
CREATE INDEX seals_key ON seals (usb_key_id);
