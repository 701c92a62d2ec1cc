-- name: queue
INSERT INTO service_sms (tenant_id, subscriber_id, phone, body, purpose, next_attempt_at,
                         not_after, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $6)
RETURNING id;

-- name: claim
-- Due rows (queued, or sending with a lease run out: its daemon died), oldest first.
WITH due AS (
    SELECT id FROM service_sms
    WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1
      AND (status = 'queued' OR lease_until < $1)
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE service_sms s
SET status = CASE WHEN s.not_after < $1 THEN 'expired' ELSE 'sending' END,
    lease_until = $1::timestamptz + $4 * interval '1 second', leased_by = $2,
    attempts = s.attempts + CASE WHEN s.not_after < $1 THEN 0 ELSE 1 END,
    error = CASE WHEN s.not_after < $1 THEN 'not sent in time' ELSE s.error END
FROM due
WHERE s.id = due.id
RETURNING s.id, s.phone, s.body, s.status, s.attempts;

-- name: sent
-- One statement for a batch's sent rows (ids and the gateway of each, in step).
UPDATE service_sms s
SET status = 'sent', sent_at = $3, gateway = t.gateway, lease_until = NULL
FROM unnest($1::bigint[], $2::text[]) AS t (id, gateway)
WHERE s.id = t.id AND s.leased_by = $4 AND s.status = 'sending';

-- name: retry
-- Not taken by any gateway: again later, or failed for good after the last attempt.
UPDATE service_sms
SET status = CASE WHEN attempts >= $3 THEN 'failed' ELSE 'queued' END,
    next_attempt_at = $2, error = $5, lease_until = NULL
WHERE id = $1 AND leased_by = $4 AND status = 'sending';

-- name: erase_phone
DELETE FROM service_sms WHERE phone = $1;

-- name: queue_many
-- Several at once (a page process's SMS of the last moment): one statement, one NOTIFY.
INSERT INTO service_sms (phone, body, purpose, next_attempt_at, not_after, created_at)
SELECT phone, body, purpose, at, not_after, at
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
    AS t (phone, body, purpose, at, not_after);
