-- Foundation: staff with roles, the project catalogue's first shape, and the hash-chained audit log.
-- One text for SQLite and PostgreSQL; {{id}} becomes each backend's auto-increment primary key.
-- Times are RFC 3339 UTC text written by the application; money is integer fen.

CREATE TABLE staff (
    id {{id}},
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE staff_roles (
    staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'finance', 'paper', 'producer', 'shipper', 'admin')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE projects (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    order_prefix TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE project_key_types (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    key_type TEXT NOT NULL CHECK (key_type IN ('main', 'secondary')),
    name TEXT NOT NULL,
    price_fen BIGINT NOT NULL CHECK (price_fen >= 0),
    has_seal INTEGER NOT NULL,
    PRIMARY KEY (project_id, key_type)
);

-- One row: the head of the audit chain. Updating it first serialises appends on both backends.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('system', 'staff', 'org', 'cli')),
    actor_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_kind, object_id);
