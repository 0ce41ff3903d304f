-- Accounts: organisations (login = USCC), server-side sessions with CSRF token and captcha, SMS codes,
-- the notification outbox and shared rate-limit counters.

CREATE TABLE organisations (
    id {{id}},
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    handler_name TEXT NOT NULL,
    handler_mobile TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- valid: check character right; pending_review: applicant confirmed a code that fails the
    -- check as printed on the licence, staff must confirm; confirmed: staff did.
    uscc_status TEXT NOT NULL CHECK (uscc_status IN ('valid', 'pending_review', 'confirmed')),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The session id itself never reaches the database: id_hash is its SHA-256.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('anon', 'org', 'staff')),
    subject_id BIGINT,
    csrf_token TEXT NOT NULL,
    captcha_hash TEXT,
    captcha_expires_at TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE sms_codes (
    id {{id}},
    mobile TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'reset', 'mobile_old', 'mobile_new')),
    code_hash TEXT NOT NULL,
    ip TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX sms_codes_mobile ON sms_codes (mobile, created_at);

-- Every notification is written here in the same transaction as the change that causes it, then
-- delivered by a worker; dedupe_key makes one event yield one message.
CREATE TABLE outbox (
    id {{id}},
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    params TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'dev')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_recipient ON outbox (recipient, id);

-- Fixed-window counters shared by every server (per IP, per account, per mobile).
CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,
    window_start TEXT NOT NULL,
    hits INTEGER NOT NULL
);

-- Handler-mobile changes when the old mobile is unreachable: the organisation uploads an
-- authorisation letter, staff (admin) approve or reject.
CREATE TABLE mobile_change_requests (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    new_handler_name TEXT NOT NULL,
    new_mobile TEXT NOT NULL,
    letter_sha256 TEXT NOT NULL,
    letter_media_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    reason TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by BIGINT REFERENCES staff(id)
);
CREATE INDEX mobile_change_requests_org ON mobile_change_requests (org_id, state);
