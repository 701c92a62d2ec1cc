-- name: store
-- Stored against the subscriber and the alert it answers: the last one sent to this number.
-- $5 is the message's first word (upper case, without accents): it is a STOP when it is one of
-- the default words ($8) or of the words of a tenant the sender is subscribed in. A message the
-- gateway sends again (same gateway and message id) is stored once: no row comes back for it.
WITH k AS (
    SELECT CASE WHEN $5::text = ANY ($8::text[]) OR EXISTS (
                    SELECT 1 FROM subscribers s JOIN tenants t ON t.id = s.tenant_id
                    WHERE s.phone = $2 AND $5::text = ANY (t.stop_words))
                THEN 'stop' ELSE 'reply' END AS kind
)
INSERT INTO inbound_messages (tenant_id, gateway, sender, recipient, body, kind, subscriber_id,
                              alert_id, gateway_message_id, received_at, handled_at)
SELECT s.tenant_id, $1, $2, $3, $4, k.kind, s.id, last.alert_id, $6, $7,
       CASE WHEN k.kind = 'stop' THEN now() END
FROM k
LEFT JOIN LATERAL (SELECT id, tenant_id FROM subscribers WHERE phone = $2 ORDER BY id LIMIT 1) s
    ON true
LEFT JOIN LATERAL (
    SELECT d.alert_id FROM deliveries d JOIN subscribers s2 ON s2.id = d.subscriber_id
    WHERE s2.phone = $2 AND d.submitted_at IS NOT NULL
    ORDER BY d.submitted_at DESC LIMIT 1
) last ON true
ON CONFLICT DO NOTHING
RETURNING id, alert_id, kind;

-- name: stop
-- STOP is obeyed at once, in every tenant the number is subscribed in. Only numbers that were
-- not stopped yet are returned: a second STOP gets no second confirmation.
UPDATE subscribers s SET status = 'stopped', stopped_at = now(), updated_at = now()
FROM tenants t
WHERE s.phone = $1 AND s.status <> 'stopped' AND t.id = s.tenant_id
RETURNING s.id, s.tenant_id, s.language, t.name AS tenant_name;

-- name: withdraw_consents
-- A STOP withdraws the consent to alerts and to every topic of the rows it stopped.
INSERT INTO subscriber_consents (subscriber_id, tenant_id, scope, given, channel, at)
SELECT s.id, s.tenant_id, scope, false, 'sms', now()
FROM subscribers s, unnest('{alerts}'::text[] || s.topics) AS scope
WHERE s.id = ANY ($1::bigint[]);

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
