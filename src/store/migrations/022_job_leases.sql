-- Background passes that several servers sharing the database must not run at the same time (the
-- CRL/OCSP publishing pass, payment reconciliation): a server runs a pass only while it holds the
-- job's lease (jobs/leased.c). A lease runs out by itself, so a server that dies mid-pass holds up
-- the others for lease_s at most.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);
