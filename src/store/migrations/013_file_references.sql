-- The orphan-file sweep asks, for every stored file, whether a row still names it: one index per
-- column that names a file of the file store, so that each question is a lookup, not a scan.
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX invoices_sha256 ON invoices (sha256);
CREATE INDEX mobile_change_requests_letter ON mobile_change_requests (letter_sha256);
