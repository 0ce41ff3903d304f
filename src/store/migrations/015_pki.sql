-- The CA engine (issue 12): the CA certificates whose keys the signer holds, the certificate
-- profiles of each project, and every certificate issued.
-- DER is kept as base64 text (the store binds text and integers only); times are RFC 3339 UTC.

-- One row per CA key: roots, issuing CAs, their delegated OCSP responders and seal makers (制章人).
-- The private key is never here: key_location says where it lives (a file in the signer's keys_dir,
-- or a PKCS#11 URI without its PIN).
CREATE TABLE cas (
    id {{id}},
    key_id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('root', 'issuing', 'ocsp', 'sealmaker')),
    algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa2048', 'rsa3072', 'p256', 'sm2')),
    parent_key_id TEXT REFERENCES cas(key_id),
    subject TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    der TEXT NOT NULL,
    key_location TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- What a certificate of a project's key type (main, secondary) looks like, per key algorithm: the
-- algorithm of the CSR's key picks the profile. The requester never chooses anything written here.
CREATE TABLE cert_profiles (
    id {{id}},
    project_id BIGINT NOT NULL REFERENCES projects(id),
    key_type TEXT NOT NULL CHECK (key_type IN ('main', 'secondary')),
    algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa2048', 'rsa3072', 'p256', 'sm2')),
    months_per_year INTEGER NOT NULL DEFAULT 12 CHECK (months_per_year BETWEEN 1 AND 12),
    -- e.g. C=CN,ST=江西省,L=鹰潭市,O={org_name},CN={org_name},serialNumber={uscc}
    subject_template TEXT NOT NULL,
    key_usage TEXT NOT NULL,
    ext_key_usage TEXT NOT NULL DEFAULT '',
    policy_oid TEXT NOT NULL DEFAULT '',
    -- the extension that carries the USCC besides the subject ("" for none)
    identity_oid TEXT NOT NULL DEFAULT '',
    crl_url TEXT NOT NULL DEFAULT '',
    ocsp_url TEXT NOT NULL DEFAULT '',
    ca_issuers_url TEXT NOT NULL DEFAULT '',
    issuing_key_id TEXT NOT NULL REFERENCES cas(key_id),
    dual INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (project_id, key_type, algorithm)
);

-- Every certificate issued. One per order and kind (sign, enc): a retried issuance finds the first.
-- status, revoked_at and reason are for revocation, CRLs and OCSP.
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
    UNIQUE (order_id, kind)
);
CREATE INDEX certificates_spki ON certificates (spki_sha256);
CREATE INDEX certificates_ca ON certificates (ca_key_id, status);
CREATE INDEX certificates_org ON certificates (org_id);
