-- The scans uploaded for an order (one current file per kind; replaced ones are kept for the audit
-- trail) and the legal person's face verifications.

CREATE TABLE documents (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('application_form', 'business_licence', 'handler_id_front',
                                       'handler_id_back', 'authorisation_letter', 'seal_form')),
    is_current INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    dpi_x INTEGER NOT NULL,
    dpi_y INTEGER NOT NULL,
    -- matched: the QR code of this order's current form was read; unreadable: none could be read
    -- (the reviewer checks by eye); not_checked: the kind carries no QR code.
    qr_status TEXT NOT NULL CHECK (qr_status IN ('matched', 'unreadable', 'not_checked')),
    checks TEXT NOT NULL,
    review TEXT NOT NULL DEFAULT 'pending' CHECK (review IN ('pending', 'accepted', 'rejected')),
    review_reason TEXT,
    original_name TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE UNIQUE INDEX documents_one_current ON documents (order_id, kind) WHERE is_current = 1;
CREATE INDEX documents_order ON documents (order_id, kind, id);

CREATE TABLE verifications (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    -- the order's verification token when it started: a new legal person means a new token
    verify_token TEXT NOT NULL,
    provider TEXT NOT NULL,
    biz_token TEXT NOT NULL UNIQUE,
    legal_name TEXT NOT NULL,
    legal_id_number TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('started', 'passed', 'failed')),
    reason TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX verifications_order ON verifications (order_id, id);
