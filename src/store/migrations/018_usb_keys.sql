-- Production onto USB keys (issue 13): every key an order was produced onto (or started on), with
-- its PINs sealed under the KEK ([km] kek_file, AES-256-GCM, the additional data naming the row's
-- order, serial and which PIN), and the link from each certificate to the key it was issued for.
-- state: producing (started, certificates may be issued), written (read back, order produced),
-- abandoned (the producer switched to another key; its certificates were revoked as superseded).
CREATE TABLE usb_keys (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    serial TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('skf', 'pkcs11')),
    model TEXT NOT NULL DEFAULT '',
    manufacturer TEXT NOT NULL DEFAULT '',
    ulong_bits INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('producing', 'written', 'abandoned')),
    so_pin TEXT NOT NULL,
    user_pin TEXT NOT NULL,
    user_pin_default INTEGER NOT NULL DEFAULT 0,
    kek_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    written_at TEXT,
    abandoned_at TEXT
);
-- A key holds one order's certificates at a time, and an order has one live key.
CREATE UNIQUE INDEX usb_keys_live_serial ON usb_keys (serial) WHERE state IN ('producing', 'written');
CREATE UNIQUE INDEX usb_keys_live_order ON usb_keys (order_id) WHERE state IN ('producing', 'written');
CREATE INDEX usb_keys_order ON usb_keys (order_id);

-- certificates: one per order, kind AND key (a key switched mid-production gets new certificates,
-- the old ones revoked), instead of one per order and kind. SQLite cannot drop a table constraint:
-- the table is rebuilt, its rows copied back with their ids (the foreign keys of ocsp_responses and
-- enc_keys are checked at commit, when the rows are back).
{{sqlite}}
PRAGMA defer_foreign_keys = ON;
CREATE TABLE certificates_018 AS SELECT * FROM certificates;
DROP TABLE certificates;
CREATE TABLE certificates (
    id {{id}},
    serial TEXT NOT NULL UNIQUE,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    ca_key_id TEXT NOT NULL REFERENCES cas(key_id),
    kind TEXT NOT NULL CHECK (kind IN ('sign', 'enc')),
    subject TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    der TEXT NOT NULL,
    spki_sha256 TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'good' CHECK (status IN ('good', 'revoked')),
    revoked_at TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    usb_key_id BIGINT REFERENCES usb_keys(id)
);
INSERT INTO certificates (id, serial, order_id, org_id, ca_key_id, kind, subject, not_before, not_after, der,
                          spki_sha256, status, revoked_at, reason, created_at)
    SELECT id, serial, order_id, org_id, ca_key_id, kind, subject, not_before, not_after, der,
           spki_sha256, status, revoked_at, reason, created_at FROM certificates_018;
DROP TABLE certificates_018;
CREATE INDEX certificates_spki ON certificates (spki_sha256);
CREATE INDEX certificates_ca ON certificates (ca_key_id, status);
CREATE INDEX certificates_org ON certificates (org_id);
{{end}}
{{postgres}}
ALTER TABLE certificates DROP CONSTRAINT certificates_order_id_kind_key;
ALTER TABLE certificates ADD COLUMN usb_key_id BIGINT REFERENCES usb_keys(id);
{{end}}
CREATE UNIQUE INDEX certificates_one_per_key ON certificates (order_id, kind, usb_key_id);
-- certificates issued before keys were recorded stay one per order and kind
CREATE UNIQUE INDEX certificates_one_unkeyed ON certificates (order_id, kind) WHERE usb_key_id IS NULL;
