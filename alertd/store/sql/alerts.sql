-- The alert lifecycle: draft, preview, approval, send, update, cancel, all-clear.

-- name: insert
INSERT INTO alerts (tenant_id, parent_id, message_kind, hazard, severity, exercise, status,
                    template, params, languages, topics, texts, zone_geometry, created_by,
                    expires_at, expires_in_s)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
        -- Expiry counts from sending: a draft has none yet; what is inserted sending has it.
        CASE WHEN $7 = 'sending' THEN now() + make_interval(secs => $15) END, $15)
RETURNING id;

-- name: add_zones
INSERT INTO alert_zones (alert_id, zone_id) SELECT $1, unnest($2::bigint[]);

-- name: zones_usable
-- Stored zones an operator may use: their own territory's and their intercommunality's.
SELECT z.id, z.geometry FROM zones z
WHERE z.id = ANY($1::bigint[])
  AND (z.tenant_id = ANY($2::bigint[])
       OR z.tenant_id = (SELECT parent_id FROM tenants WHERE id = $3));

-- name: get
SELECT a.*, t.code AS tenant_code, t.name AS tenant_name,
       t.approval_threshold, t.information_approval, t.timezone, t.quiet_start, t.quiet_end,
       creator.name AS created_by_name, approver.name AS approved_by_name
FROM alerts a
JOIN tenants t ON t.id = a.tenant_id
LEFT JOIN operators creator ON creator.id = a.created_by
LEFT JOIN operators approver ON approver.id = a.approved_by
WHERE a.id = $1;

-- name: set_recipients
UPDATE alerts SET recipients = $2, by_address = $3, by_postcode = $4, updated_at = now()
WHERE id = $1;

-- name: start_sending
-- The guard against two officers pressing send at once: only one moves it on.
-- Expiry counts from here: the validity starts when it is sent, not when it was drafted.
UPDATE alerts SET status = 'sending', sent_by = coalesce(sent_by, $2),
                  sent_at = coalesce(sent_at, now()), updated_at = now(),
                  expires_at = coalesce(expires_at, now() + make_interval(secs => expires_in_s))
WHERE id = $1 AND status = ANY($3::text[])
RETURNING id;

-- name: set_status
UPDATE alerts SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::text[])
RETURNING id;

-- name: approve
UPDATE alerts SET approved_by = $2, approved_at = now(), updated_at = now(),
                  approved_recipients = $3,
                  status = CASE WHEN status = 'draft' THEN 'approved' ELSE status END
WHERE id = $1 AND status IN ('draft', 'pending_approval') AND created_by IS DISTINCT FROM $2
RETURNING status;

-- name: cancel
-- Stops at once: what is queued is never sent; what a daemon holds finishes its batch.
WITH family AS (
    SELECT id FROM alerts WHERE id = $1 OR parent_id = $1
), stopped AS (
    UPDATE alerts SET status = 'cancelled', cancelled_by = $2, cancelled_at = now(),
                      updated_at = now()
    WHERE id IN (SELECT id FROM family) AND status NOT IN ('cancelled', 'closed')
    RETURNING id
), dropped AS (
    UPDATE deliveries SET status = 'cancelled', error = 'the alert was cancelled',
                          updated_at = now()
    WHERE alert_id IN (SELECT id FROM family) AND status = 'queued'
    RETURNING 1
)
SELECT (SELECT count(*) FROM stopped) AS alerts, (SELECT count(*) FROM dropped) AS deliveries;

-- name: drop_queued
-- Before an all-clear: who has not been sent the alert yet will not be sent it any more.
WITH dropped AS (
    UPDATE deliveries SET status = 'cancelled', error = 'all-clear given before it was sent',
                          updated_at = now()
    WHERE alert_id = $1 AND status = 'queued'
    RETURNING 1
)
SELECT count(*) FROM dropped;

-- name: close
UPDATE alerts SET status = 'closed', closed_at = now(), updated_at = now()
WHERE id = $1 AND status IN ('sending', 'sent');

-- name: holders
-- Who holds the alert now: those it was sent to (or is being sent to: $2 says which statuses
-- count), minus those an all-clear already released (zone shrunk), still subscribed.
SELECT d.subscriber_id, d.matched_by, s.language
FROM deliveries d
JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.alert_id = $1 AND d.status = ANY($2::text[]) AND s.status = 'active'
  AND NOT EXISTS (
      SELECT 1 FROM alerts c JOIN deliveries cd ON cd.alert_id = c.id
      WHERE c.parent_id = $1 AND c.message_kind = 'all_clear'
        AND cd.subscriber_id = d.subscriber_id
  );

-- name: list
SELECT a.id, a.parent_id, a.message_kind, a.hazard, a.severity, a.exercise, a.status,
       a.recipients, a.created_at, a.sent_at, t.code AS tenant_code,
       (SELECT coalesce(sum(c.n), 0) FROM delivery_counts c
        WHERE c.alert_id = a.id AND c.status IN ('submitted', 'delivered')) AS sent,
       t.timezone
FROM alerts a JOIN tenants t ON t.id = a.tenant_id
WHERE a.tenant_id = ANY($1::bigint[])
ORDER BY a.id DESC
LIMIT $2;

-- name: children
SELECT id, message_kind, status, recipients FROM alerts WHERE parent_id = $1 ORDER BY id;

-- name: interrupted
-- Alerts whose enqueue may have been interrupted (an `alert send` killed midway): still
-- `sending` $1 seconds after it began. Whether an enqueue is still writing them is told by its
-- advisory lock (delivery/enqueue.py), not here.
SELECT id FROM alerts
WHERE status = 'sending' AND message_kind = 'alert'
  AND updated_at < now() - make_interval(secs => $1)
ORDER BY id;

-- name: enqueue_locked
-- Is the advisory lock ($1, $2) of an alert's enqueue held (see delivery/enqueue.py)?
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND classid = $1::int::oid AND objid = $2::int::oid
      AND objsubid = 2
);

-- name: revoke_approval
UPDATE alerts SET approved_by = NULL, approved_at = NULL, approved_recipients = NULL,
                  status = 'draft', updated_at = now()
WHERE id = $1 AND status = 'approved';

-- name: written_for
-- How many people the alert itself was written for (its reach, newcomers of updates included).
SELECT count(*) FROM deliveries WHERE alert_id = $1;

-- name: refresh_recipients
-- After newcomers were sent the alert itself: its recipients are all it was written for.
UPDATE alerts SET recipients = (SELECT count(*) FROM deliveries WHERE alert_id = $1),
                  updated_at = now()
WHERE id = $1;

-- name: child_zones
SELECT coalesce(array_agg(zone_id ORDER BY zone_id), '{}') FROM alert_zones WHERE alert_id = $1;

-- name: start_child
-- An approved update is carried out: its validity starts now.
UPDATE alerts SET status = 'sending', sent_at = now(), updated_at = now(),
                  expires_at = now() + make_interval(secs => expires_in_s)
WHERE id = $1;

-- name: languages_of
SELECT language, count(*) AS n FROM deliveries WHERE alert_id = $1 GROUP BY language;
