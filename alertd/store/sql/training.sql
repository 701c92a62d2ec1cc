-- name: take
-- One batch of a training alert's parked deliveries, taken as delivered (or cancelled with
-- their alert): nothing leaves the machine.
WITH picked AS (
    SELECT d.id FROM deliveries d
    WHERE d.leased_by = 'training' AND d.status = 'sending'
    ORDER BY d.id LIMIT $1 FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET status = CASE WHEN a.status = 'cancelled' THEN 'cancelled' ELSE 'delivered' END,
    gateway = $2, leased_by = NULL, lease_until = NULL, attempts = d.attempts + 1,
    submitted_at = now(), delivered_at = CASE WHEN a.status = 'cancelled' THEN NULL ELSE now() END,
    error = CASE WHEN a.status = 'cancelled' THEN 'the alert was cancelled' END,
    updated_at = now()
FROM picked, alerts a
WHERE d.id = picked.id AND a.id = d.alert_id;
