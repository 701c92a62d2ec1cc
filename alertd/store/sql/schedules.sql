-- Scheduled and recurring notices (issue 17), and their firings.

-- name: insert
INSERT INTO schedules (tenant_id, name, created_by, template, params, severity, languages, topics,
                       zone_ids, communes, postcodes, run_at, cron, timezone, skip_holidays,
                       except_dates, grace_s, status, checked_until)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
RETURNING id;

-- name: get
SELECT s.*, t.code AS tenant_code, t.name AS tenant_name, creator.name AS created_by_name,
       approver.name AS approved_by_name,
       (SELECT max(f.fire_time) FROM schedule_firings f
        WHERE f.schedule_id = s.id AND f.status = 'sent') AS last_sent
FROM schedules s
JOIN tenants t ON t.id = s.tenant_id
JOIN operators creator ON creator.id = s.created_by
LEFT JOIN operators approver ON approver.id = s.approved_by
WHERE s.id = $1 AND s.status <> 'deleted';

-- name: list
SELECT s.*, t.code AS tenant_code, t.name AS tenant_name, creator.name AS created_by_name,
       approver.name AS approved_by_name, NULL::timestamptz AS last_sent
FROM schedules s
JOIN tenants t ON t.id = s.tenant_id
JOIN operators creator ON creator.id = s.created_by
LEFT JOIN operators approver ON approver.id = s.approved_by
WHERE s.tenant_id = ANY($1::bigint[]) AND s.status <> 'deleted'
ORDER BY s.id;

-- name: set_status
-- checked_until moves to $4 when given: a resumed schedule does not catch up on its pause.
UPDATE schedules SET status = $2, updated_at = now(),
                     checked_until = greatest(checked_until, coalesce($4, checked_until))
WHERE id = $1 AND status = ANY($3::text[])
RETURNING id;

-- name: approve
UPDATE schedules SET status = 'active', approved_by = $2, approved_at = now(), updated_at = now(),
                     checked_until = greatest(checked_until, $3)
WHERE id = $1 AND status = 'pending_approval' AND created_by <> $2
RETURNING id;

-- name: active
-- What the scheduler looks at: every active schedule, with its tenant's quiet hours.
SELECT s.*, t.code AS tenant_code, t.quiet_start, t.quiet_end, t.quiet_policy
FROM schedules s JOIN tenants t ON t.id = s.tenant_id
WHERE s.status = 'active'
ORDER BY s.id;

-- name: quiet_of
SELECT quiet_start, quiet_end, quiet_policy FROM tenants WHERE id = $1;

-- name: set_quiet
UPDATE tenants SET quiet_start = $2, quiet_end = $3, quiet_policy = coalesce($4, quiet_policy),
                   information_approval = coalesce($5, information_approval), updated_at = now()
WHERE id = $1
RETURNING quiet_start, quiet_end, quiet_policy, information_approval;

-- name: checked
-- Only forward: two daemons (a takeover) never move it back.
UPDATE schedules SET checked_until = greatest(checked_until, $2),
                     status = CASE WHEN cron IS NULL AND run_at <= $2 AND status = 'active'
                                   THEN 'done' ELSE status END,
                     updated_at = now()
WHERE id = $1;

-- name: claim_firing
-- The unique (schedule, fire time): whoever inserts it fires it; nobody else ever does.
INSERT INTO schedule_firings (schedule_id, fire_time, due_at, status, worker, error)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (schedule_id, fire_time) DO NOTHING
RETURNING id;

-- name: open_firings
-- Firings claimed but not finished (the daemon that claimed them died): the scheduler's leader
-- finishes them. The advisory lock makes it the only one at work.
SELECT f.id AS firing_id FROM schedule_firings f
WHERE f.status = 'firing' AND f.due_at <= $1
ORDER BY f.due_at, f.id;

-- name: next_open
-- The next claimed firing (drafted ahead), for the leader's wake-up.
SELECT min(due_at) FROM schedule_firings WHERE status = 'firing';

-- name: open_firing
-- One claimed firing, if still open, with its schedule: what firing.fire needs.
SELECT s.*, t.code AS tenant_code, f.id AS firing_id, f.fire_time, f.due_at,
       f.alert_id AS firing_alert_id
FROM schedule_firings f
JOIN schedules s ON s.id = f.schedule_id
JOIN tenants t ON t.id = s.tenant_id
WHERE f.id = $1 AND f.status = 'firing';

-- name: firing_alert
UPDATE schedule_firings SET alert_id = $2 WHERE id = $1 AND alert_id IS NULL;

-- name: firing_done
UPDATE schedule_firings SET status = $2, error = $3,
                            sent_at = CASE WHEN $2 = 'sent' THEN now() END
WHERE id = $1 AND status = 'firing';

-- name: firings_of
SELECT fire_time, due_at, status, alert_id, error, sent_at
FROM schedule_firings WHERE schedule_id = $1
ORDER BY fire_time DESC
LIMIT $2;

-- name: operator_by_id
SELECT o.id, o.tenant_id, t.code AS tenant_code, o.name, o.role, o.token_kind, o.topics,
       o.disabled_at
FROM operators o JOIN tenants t ON t.id = o.tenant_id
WHERE o.id = $1;
