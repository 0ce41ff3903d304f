-- Personal data at rest (src/store/pii.h): ID numbers and mobiles are sealed in place (the first
-- start of certdeskd, or certdesk keys migrate, seals what a database from before holds in clear);
-- the keyed hashes beside them serve the lookups by equality (finding an account or an order by the
-- handler's mobile), since a sealed value differs every time it is written.
ALTER TABLE organisations ADD COLUMN handler_mobile_hash TEXT;
CREATE INDEX organisations_handler_mobile_hash ON organisations (handler_mobile_hash);
ALTER TABLE orders ADD COLUMN handler_mobile_hash TEXT;
CREATE INDEX orders_handler_mobile_hash ON orders (handler_mobile_hash);
-- The outbox's recipients (mobiles, e-mail addresses) are sealed too, found by their hash.
ALTER TABLE outbox ADD COLUMN recipient_hash TEXT;
CREATE INDEX outbox_recipient_hash ON outbox (recipient_hash, id);
