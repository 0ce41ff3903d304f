-- Online renewal (issue 15). A renewal is an order (kind 'renewal') of the certificate renews_serial,
-- paid and invoiced like any order; certificates issued before certdesk hang on an order of kind
-- 'imported' (state completed). The one-main-key rule counts new orders only: renewing the main key
-- is not applying for a second one.
ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL DEFAULT 'new' CHECK (kind IN ('new', 'renewal', 'imported'));
ALTER TABLE orders ADD COLUMN renews_serial TEXT;
DROP INDEX orders_one_live_main;
CREATE UNIQUE INDEX orders_one_live_main ON orders (org_id, project_id)
    WHERE key_type = 'main' AND kind = 'new' AND state NOT IN ('deleted', 'refunding', 'refunded');
-- one live renewal per certificate: a second browser tab gets the same one
CREATE UNIQUE INDEX orders_one_live_renewal ON orders (renews_serial)
    WHERE kind = 'renewal' AND state NOT IN ('cancelled', 'completed', 'refunding', 'refunded');

-- The project's renewal window (from before_days before the expiry to after_days after it) and how
-- a certificate is renewed: recertify (the same key pairs get new certificates) or rekey.
ALTER TABLE projects ADD COLUMN renewal_window_before_days INTEGER NOT NULL DEFAULT 90;
ALTER TABLE projects ADD COLUMN renewal_window_after_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE projects ADD COLUMN renewal_mode TEXT NOT NULL DEFAULT 'recertify'
    CHECK (renewal_mode IN ('recertify', 'rekey'));

-- One-time challenges for proof of possession, bound to a certificate (5 minutes).
CREATE TABLE renewal_challenges (
    id {{id}},
    challenge_id TEXT NOT NULL UNIQUE,
    cert_serial TEXT NOT NULL,
    challenge TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX renewal_challenges_serial ON renewal_challenges (cert_serial, created_at);

-- Renewal tokens (X-Renewal-Token): only their SHA-256 is kept; bound to the certificate and, once
-- made, to its renewal order.
CREATE TABLE renewal_tokens (
    id {{id}},
    token_hash TEXT NOT NULL UNIQUE,
    cert_serial TEXT NOT NULL,
    order_id BIGINT REFERENCES orders(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
