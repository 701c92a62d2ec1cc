-- name: store
-- Stored against the subscriber and the alert it answers: the last one sent to this number.
INSERT INTO inbound_messages (tenant_id, gateway, sender, recipient, body, kind, subscriber_id,
                              alert_id, gateway_message_id, received_at, handled_at)
SELECT s.tenant_id, $1, $2, $3, $4, $5, s.id, last.alert_id, $6, $7,
       CASE WHEN $5 = 'stop' THEN now() END
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT id, tenant_id FROM subscribers WHERE phone = $2 ORDER BY id LIMIT 1) s
    ON true
LEFT JOIN LATERAL (
    SELECT d.alert_id FROM deliveries d JOIN subscribers s2 ON s2.id = d.subscriber_id
    WHERE s2.phone = $2 AND d.submitted_at IS NOT NULL
    ORDER BY d.submitted_at DESC LIMIT 1
) last ON true
RETURNING id, alert_id;

-- name: stop
-- STOP is obeyed at once, in every tenant the number is subscribed in. Only numbers that were
-- not stopped yet are returned: a second STOP gets no second confirmation.
UPDATE subscribers s SET status = 'stopped', stopped_at = now(), updated_at = now()
FROM tenants t
WHERE s.phone = $1 AND s.status <> 'stopped' AND t.id = s.tenant_id
RETURNING s.id, s.tenant_id, s.language, t.name AS tenant_name;

-- name: cancel_queued
-- In the STOP's own transaction: what is queued for this number is never sent (the counts'
-- triggers see it as cancelled). What a daemon holds already is in flight and finishes.
WITH dropped AS (
    UPDATE deliveries d SET status = 'cancelled', error = 'the resident sent STOP',
                            updated_at = now()
    FROM subscribers s
    WHERE s.phone = $1 AND s.status = 'stopped' AND d.subscriber_id = s.id
      AND d.status = 'queued'
    RETURNING 1
)
SELECT count(*) FROM dropped;
