-- The outbox: deliveries written once per (alert, subscriber), claimed in batches, recorded in
-- batches. One statement per batch on every path, never one per message.

-- name: enqueue
-- Idempotent: a second send, a retry or a restart never doubles a delivery (the unique key).
WITH added AS (
    INSERT INTO deliveries (alert_id, subscriber_id, priority, matched_by, language)
    SELECT $1, u.subscriber_id, $2, u.matched_by, u.language
    FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u(subscriber_id, matched_by, language)
    ON CONFLICT (alert_id, subscriber_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added;

-- name: claim
-- Life-safety first, then the oldest; rows another daemon holds are skipped, not waited for.
-- The lease says until when this daemon owns them; after it, they may be reclaimed.
WITH picked AS (
    SELECT id FROM deliveries
    WHERE status = 'queued' AND next_attempt_at <= now()
    ORDER BY priority, next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET status = 'sending', lease_until = now() + make_interval(secs => $2), leased_by = $3,
    attempts = d.attempts + 1, updated_at = now()
FROM picked, subscribers s, alerts a
WHERE d.id = picked.id AND s.id = d.subscriber_id AND a.id = d.alert_id
RETURNING d.id, d.alert_id, d.priority, d.attempts, d.rerouted_from, s.phone,
          coalesce(a.texts ->> d.language, a.texts ->> 'fr') AS text, a.expires_at;

-- name: handover
-- Just before a chunk goes to a gateway: from now on, a crash leaves these in doubt.
INSERT INTO handovers (worker, delivery_ids) VALUES ($2, $1::bigint[]) RETURNING id;

-- name: record
-- The results of one gateway batch. Only the daemon that holds the lease may record (fencing):
-- a daemon that lost its lease, to a crash-and-reclaim, changes nothing.
WITH results AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[])
        AS r(id, outcome, message_id, reason, retry_after)
), recorded AS (
    DELETE FROM handovers WHERE id = $8
), changed AS (
    UPDATE deliveries d
    SET status = CASE r.outcome WHEN 'accepted' THEN 'submitted'
                                WHEN 'rejected' THEN 'failed'
                                ELSE 'queued' END,
        gateway = $6,
        gateway_message_id = CASE WHEN r.outcome = 'accepted' THEN r.message_id
                                  ELSE d.gateway_message_id END,
        error = CASE WHEN r.outcome = 'accepted' THEN NULL ELSE r.reason END,
        next_attempt_at = CASE WHEN r.outcome = 'retry'
                               THEN now() + make_interval(secs => coalesce(r.retry_after, 1))
                               ELSE d.next_attempt_at END,
        submitted_at = CASE WHEN r.outcome = 'accepted' THEN now() ELSE d.submitted_at END,
        lease_until = NULL, leased_by = NULL, updated_at = now()
    FROM results r
    WHERE d.id = r.id AND d.status = 'sending' AND d.leased_by = $7
    RETURNING d.status
)
SELECT count(*) FILTER (WHERE status = 'submitted') AS submitted,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'queued') AS requeued
FROM changed;

-- name: receipts
-- Delivery receipts, matched by the gateway's message id. A late "buffered" never undoes a
-- final state. A life-safety delivery reported failed goes back to the queue once, to be sent
-- through another gateway; the second failure is final.
WITH receipts AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        AS r(gateway, message_id, status, error)
), changed AS (
    UPDATE deliveries d
    SET status = CASE WHEN r.status <> 'delivered' AND d.priority = 0 AND d.rerouted_from IS NULL
                      THEN 'queued' ELSE r.status END,
        rerouted_from = CASE WHEN r.status <> 'delivered' AND d.priority = 0
                             THEN coalesce(d.rerouted_from, d.gateway) ELSE d.rerouted_from END,
        next_attempt_at = now(),
        error = coalesce(r.error, d.error),
        delivered_at = CASE WHEN r.status = 'delivered' THEN now() ELSE d.delivered_at END,
        updated_at = now()
    FROM receipts r
    WHERE d.gateway = r.gateway AND d.gateway_message_id = r.message_id
      AND d.status IN ('submitted', 'sending') AND r.status IN ('delivered', 'failed', 'expired')
    RETURNING d.gateway, d.gateway_message_id
)
SELECT gateway, gateway_message_id FROM changed;

-- name: reroute_silent
-- Life-safety deliveries submitted more than $1 seconds ago with no final receipt: the operator
-- may have lost them. Each goes back to the queue once, to be sent through another gateway.
-- Found through the recent life-safety alerts, so that no index is paid on the hot path.
WITH silent AS (
    SELECT d.id FROM deliveries d
    WHERE d.alert_id IN (SELECT id FROM alerts WHERE severity = 'life_safety'
                                                AND created_at > now() - interval '7 days')
      AND d.status = 'submitted' AND d.priority = 0 AND d.rerouted_from IS NULL
      AND d.submitted_at < now() - make_interval(secs => $1)
    FOR UPDATE SKIP LOCKED
), changed AS (
    UPDATE deliveries d
    SET status = 'queued', rerouted_from = d.gateway, next_attempt_at = now(),
        error = 'no receipt from ' || d.gateway || ' in time: sent again through another gateway',
        updated_at = now()
    FROM silent WHERE d.id = silent.id
    RETURNING 1
)
SELECT count(*) FROM changed;

-- name: give_back
-- Deliveries a daemon held while sending, given back: those whose lease ran out (its daemon
-- died; $1 is NULL), or all of daemon $1's on shutdown. The gateway may or may not have taken
-- those it was handed: they are marked in doubt and counted. Life-safety ones are sent again
-- (twice is better than never); information ones are not (left as submitted, in doubt). Those
-- never handed over are simply queued again.
WITH taken AS (
    SELECT id, leased_by FROM deliveries
    WHERE status = 'sending'
      AND (($1::text IS NULL AND lease_until < now()) OR leased_by = $1::text)
    FOR UPDATE SKIP LOCKED
), forgotten AS (
    DELETE FROM handovers h
    WHERE h.worker IN (SELECT DISTINCT leased_by FROM taken)
      AND h.delivery_ids && ARRAY(SELECT id FROM taken)
    RETURNING h.delivery_ids
), handed AS (
    SELECT DISTINCT unnest(delivery_ids) AS id FROM forgotten
), given_back AS (
    UPDATE deliveries d
    SET status = CASE WHEN h.id IS NOT NULL AND d.priority <> 0 THEN 'submitted'
                      ELSE 'queued' END,
        in_doubt = d.in_doubt OR h.id IS NOT NULL, lease_until = NULL, leased_by = NULL,
        error = CASE WHEN h.id IS NOT NULL AND d.priority <> 0
                     THEN 'in doubt after a daemon stopped: not sent again (information)'
                     ELSE d.error END,
        next_attempt_at = now(), updated_at = now()
    FROM taken t LEFT JOIN handed h ON h.id = t.id
    WHERE d.id = t.id
    RETURNING 1
)
SELECT count(*) FROM given_back;

-- name: progress
-- From the counters the triggers keep (migration 0006), not by counting the deliveries.
SELECT status, sum(n) AS n, coalesce(sum(n) FILTER (WHERE in_doubt), 0) AS in_doubt,
       coalesce(sum(n) FILTER (WHERE rerouted), 0) AS rerouted
FROM delivery_counts WHERE alert_id = $1 GROUP BY status HAVING sum(n) > 0;

-- name: expire
-- Deliveries claimed after their alert's expiry: they stop, they are not sent late.
WITH expired AS (
    UPDATE deliveries
    SET status = 'expired', error = 'the alert expired before it could be sent',
        lease_until = NULL, leased_by = NULL, updated_at = now()
    WHERE id = ANY($1::bigint[]) AND status = 'sending' AND leased_by = $2
    RETURNING 1
)
SELECT count(*) FROM expired;

-- name: daemons
-- The daemons (`alertd serve`) connected to this database now; each names its connections
-- 'alertd serve <host>:<pid>'.
SELECT count(DISTINCT application_name) FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE $1 || ' %';
