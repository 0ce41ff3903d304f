-- Issuance intents (issue 16): a CA accounts for every certificate its key signed. Before
-- certdesk-signer is asked, the certificate to be signed (its TBSCertificate, serial included) is
-- written here in its own transaction, state 'signing'; the certificate is stored and its intent
-- marked 'issued' in one transaction. A crash in between leaves the intent 'signing': the retry of
-- the same request (order, kind, USB key, public key, CA key) has the signer sign the same TBS again
-- (same serial, same content) instead of drawing a new serial. An intent whose request changed
-- (another CSR, key or CA), and that no live request holds, is closed 'abandoned' and its serial published as revoked on the CRL
-- (reason superseded), since the signer may have signed it before the crash.
CREATE TABLE issuance_intents (
    id {{id}},
    order_id BIGINT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL CHECK (kind IN ('sign', 'enc')),
    usb_key_id BIGINT,
    ca_key_id TEXT NOT NULL REFERENCES cas(key_id),
    serial TEXT NOT NULL UNIQUE,
    spki_sha256 TEXT NOT NULL,
    -- base64 DER of the TBSCertificate and of its signature AlgorithmIdentifier
    tbs TEXT NOT NULL,
    sig_alg TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'signing' CHECK (state IN ('signing', 'issued', 'abandoned')),
    -- while a request is working on the intent (signer and store): another request for the order
    -- with another key waits for it until then instead of abandoning it; a kill leaves it to expire
    lease_until TEXT,
    -- abandoned: the CRL reason (RFC 5280 name)
    reason TEXT,
    created_at TEXT NOT NULL,
    closed_at TEXT
);
-- one intent being signed per order and kind: a concurrent second request finds it
CREATE UNIQUE INDEX issuance_intents_one_signing ON issuance_intents (order_id, kind) WHERE state = 'signing';
CREATE INDEX issuance_intents_ca ON issuance_intents (ca_key_id, state);
