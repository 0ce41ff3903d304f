-- At most one live attempt (a QR code being made or shown) per order and provider. Parallel requests
-- for a QR code of one order once each made one, and each could be paid; with this index the
-- second insert fails, and its request returns the attempt that won (pay/payments.c).
-- Attempts left live twice by that defect are closed first, all but the newest; the reconciliation
-- job still asks about a closed attempt until it expires, so one paid meanwhile is still found.
UPDATE payments SET state = 'closed', error = 'replaced (migration 014)'
 WHERE state IN ('creating', 'open')
   AND EXISTS (SELECT 1 FROM payments q
                WHERE q.order_id = payments.order_id AND q.provider = payments.provider
                  AND q.state IN ('creating', 'open') AND q.id > payments.id);
CREATE UNIQUE INDEX payments_one_live ON payments (order_id, provider)
    WHERE state IN ('creating', 'open');
