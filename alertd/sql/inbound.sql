-- name: store
INSERT INTO inbound_messages (tenant_id, gateway, sender, recipient, body, kind, subscriber_id,
                              gateway_message_id, received_at, handled_at)
SELECT s.tenant_id, $1, $2, $3, $4, $5, s.id, $6, $7, CASE WHEN $5 = 'stop' THEN now() END
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT id, tenant_id FROM subscribers WHERE phone = $2 ORDER BY id LIMIT 1) s
    ON true
RETURNING id;

-- name: stop
-- STOP is obeyed at once, in every tenant the number is subscribed in.
UPDATE subscribers SET status = 'stopped', stopped_at = now(), updated_at = now()
WHERE phone = $1 AND status <> 'stopped'
RETURNING id, tenant_id;
