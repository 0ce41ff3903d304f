-- Payments (缴费): one row per attempt (a QR code of one provider), the notifications and queries
-- that reported on it, and refunds. Money is integer fen. An attempt credits its order at most
-- once: the move to 'paid' is a conditional update, and the order's own move from
-- awaiting_payment is another; a paid attempt that finds its order already paid is refunded.

CREATE TABLE payments (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    provider TEXT NOT NULL CHECK (provider IN ('wxpay', 'alipay')),
    out_trade_no TEXT NOT NULL UNIQUE,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    -- creating: row written, provider not yet asked; open: QR code issued; paid; closed: unpaid and
    -- closed (expired or replaced); failed: the provider refused to create it
    state TEXT NOT NULL CHECK (state IN ('creating', 'open', 'paid', 'closed', 'failed')),
    qr_code TEXT,
    trade_no TEXT,
    -- 1 when this attempt moved its order to awaiting_paper; 0 for a second payment (refunded)
    credited INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    paid_at TEXT,
    closed_at TEXT,
    checked_at TEXT,
    error TEXT
);
CREATE INDEX payments_order ON payments (order_id, id);
CREATE INDEX payments_state ON payments (state, created_at);

-- Every notification and query result, whatever became of it (applied, duplicate, forged, ...).
CREATE TABLE payment_events (
    id {{id}},
    payment_id BIGINT REFERENCES payments(id),
    provider TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('notify', 'query')),
    event_id TEXT,
    verdict TEXT NOT NULL,
    detail TEXT,
    ip TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);

CREATE TABLE refunds (
    id {{id}},
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    out_refund_no TEXT NOT NULL UNIQUE,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    -- why: cancel (finance cancelled the order) or duplicate (a second payment of a paid order)
    kind TEXT NOT NULL CHECK (kind IN ('cancel', 'duplicate')),
    reason TEXT NOT NULL,
    -- requested: to be sent; processing: the provider accepted it, money not yet back; done; failed
    state TEXT NOT NULL CHECK (state IN ('requested', 'processing', 'done', 'failed')),
    refund_id TEXT,
    requested_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    done_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX refunds_state ON refunds (state, id);
-- one refund per payment: a payment is refunded whole or not at all
CREATE UNIQUE INDEX refunds_one_per_payment ON refunds (payment_id);
