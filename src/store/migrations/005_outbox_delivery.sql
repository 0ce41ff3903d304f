-- Delivery of the outbox by certdeskd's worker (src/jobs/outbox.c). A 'pending' row is due when
-- next_attempt_at has passed and no lease holds it (claimed_until NULL or past). A worker claims
-- due rows by setting claimed_until and its claim_token; only the holder of the token may record
-- the outcome. attempts counts claims, so a row whose sender keeps dying still runs out.

ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN last_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
-- the provider's reference of the accepted message (Tencent: SendStatusSet[].SerialNo)
ALTER TABLE outbox ADD COLUMN provider_ref TEXT;

UPDATE outbox SET next_attempt_at = created_at;

CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
