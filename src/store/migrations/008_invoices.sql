-- Invoices (发票): finance uploads the invoice file of a paid order (PDF or OFD, checked by
-- src/docs/invoice_file.c); it is e-mailed to the order's invoice e-mail through the outbox. History
-- is kept: a corrected invoice is a new row, the order's current invoice is its newest one. The file
-- itself lives in the filestore under its SHA-256.

CREATE TABLE invoices (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL CHECK (media_type IN ('application/pdf', 'application/ofd')),
    size BIGINT NOT NULL CHECK (size > 0),
    file_name TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES staff(id),
    uploaded_at TEXT NOT NULL,
    email_to TEXT NOT NULL,
    -- the outbox row that carries the e-mail (its dedupe_key is 'invoice:<id>')
    outbox_id BIGINT REFERENCES outbox(id),
    -- set by the outbox worker when the mail server accepted the message
    sent_at TEXT
);
CREATE INDEX invoices_order ON invoices (order_id, id);
