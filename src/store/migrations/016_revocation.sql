-- Publishing the status of certificates (issue 12): each CA's CRLs, and the OCSP responses signed in
-- advance for every issued certificate, so that certdesk-signer is never on the path of a relying
-- party's request (except for the rare serial that no certificate has: its "unknown" is signed then).

-- Every CRL made, numbered per CA (cRLNumber); the newest is served. DER as base64 text.
CREATE TABLE crls (
    id {{id}},
    ca_key_id TEXT NOT NULL REFERENCES cas(key_id),
    number BIGINT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    revoked_count INTEGER NOT NULL,
    der TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (ca_key_id, number)
);

-- The current pre-signed OCSP response of each certificate (a BasicOCSPResponse inside an
-- OCSPResponse, DER as base64), and the status it says: a revocation makes it stale at once.
CREATE TABLE ocsp_responses (
    serial TEXT PRIMARY KEY REFERENCES certificates(serial),
    status TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    der TEXT NOT NULL
);
CREATE INDEX ocsp_responses_next ON ocsp_responses (next_update);
