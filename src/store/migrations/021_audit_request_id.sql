-- The request id of the HTTP request that made an audit entry (also in certdeskd's access log line of
-- that request and in its X-Request-Id reply header), so that an entry leads to its request and back.
-- NULL for entries made before, by the CLI and by background jobs. When present it is covered by the
-- entry's hash (store_audit.c).
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
CREATE INDEX audit_log_request ON audit_log (request_id);
