-- name: create_staging
CREATE TEMP TABLE IF NOT EXISTS subscriber_import (
    line            integer NOT NULL,
    phone           text NOT NULL,
    phone_kind      text NOT NULL,
    language        text NOT NULL,
    postcode        text,
    address         text,
    lon             double precision,
    lat             double precision,
    topics          text[] NOT NULL,
    status          text,
    exercise        boolean NOT NULL,
    consent_at      timestamptz,
    consent_channel text
) ON COMMIT DELETE ROWS;

-- name: update_from_staging
-- Existing subscribers: change only what differs, so importing the same file twice changes
-- nothing. A status or consent left out of the file keeps what is stored. Nobody who said STOP is
-- made active again by an import.
WITH wanted AS (
    SELECT t.id, s.phone_kind, s.language, s.postcode, s.address, s.lon, s.lat, s.topics,
           s.exercise,
           CASE WHEN t.status = 'stopped' THEN 'stopped' ELSE coalesce(s.status, t.status) END
               AS status,
           coalesce(s.consent_at, t.consent_at, now()) AS consent_at,
           coalesce(s.consent_channel, t.consent_channel, 'import') AS consent_channel
    FROM subscriber_import s
    JOIN subscribers t ON t.tenant_id = $1 AND t.phone = s.phone
    WHERE (s.phone_kind, s.language, s.postcode, s.address, s.lon, s.lat, s.topics, s.exercise,
           CASE WHEN t.status = 'stopped' THEN 'stopped' ELSE coalesce(s.status, t.status) END,
           coalesce(s.consent_at, t.consent_at),
           coalesce(s.consent_channel, t.consent_channel, 'import'))
          IS DISTINCT FROM
          (t.phone_kind, t.language, t.postcode, t.address, t.lon, t.lat, t.topics, t.exercise,
           t.status, t.consent_at, t.consent_channel)
), changed AS (
    UPDATE subscribers t
    SET phone_kind = w.phone_kind, language = w.language, postcode = w.postcode,
        address = w.address, lon = w.lon, lat = w.lat, topics = w.topics, exercise = w.exercise,
        status = w.status,
        stopped_at = CASE WHEN t.status <> 'stopped' AND w.status = 'stopped' THEN now()
                          ELSE t.stopped_at END,
        consent_at = w.consent_at, consent_channel = w.consent_channel, updated_at = now()
    FROM wanted w
    WHERE t.id = w.id
    RETURNING t.id
)
SELECT count(*) FROM changed;

-- name: insert_from_staging
WITH added AS (
    INSERT INTO subscribers (tenant_id, phone, phone_kind, language, postcode, address, lon, lat,
                             topics, status, exercise, consent_at, consent_channel, stopped_at)
    SELECT $1, s.phone, s.phone_kind, s.language, s.postcode, s.address, s.lon, s.lat, s.topics,
           coalesce(s.status, 'active'), s.exercise, coalesce(s.consent_at, now()),
           coalesce(s.consent_channel, 'import'),
           CASE WHEN s.status = 'stopped' THEN now() END
    FROM subscriber_import s
    ON CONFLICT (tenant_id, phone) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added;

-- name: stopped_in_staging
-- Rows of this batch that asked for 'active' but belong to someone who said STOP.
SELECT count(*) FROM subscriber_import s
JOIN subscribers t ON t.tenant_id = $1 AND t.phone = s.phone
WHERE t.status = 'stopped' AND s.status IS DISTINCT FROM 'stopped';

-- name: by_phone
SELECT s.*, t.code AS tenant_code, t.name AS tenant_name
FROM subscribers s JOIN tenants t ON t.id = s.tenant_id
WHERE s.phone = $1 AND ($2::text IS NULL OR t.code = $2)
ORDER BY s.id;

-- name: deliveries_of
SELECT d.alert_id, a.hazard, a.severity, a.message_kind, a.exercise, d.language,
       a.texts -> d.language AS text, d.status, d.matched_by, d.gateway, d.attempts,
       d.created_at, d.submitted_at, d.delivered_at, d.error
FROM deliveries d JOIN alerts a ON a.id = d.alert_id
WHERE d.subscriber_id = ANY($1::bigint[])
ORDER BY d.created_at;

-- name: inbound_of
SELECT id, gateway, recipient, body, kind, alert_id, received_at, handled_at
FROM inbound_messages
WHERE sender = $1
ORDER BY received_at;

-- name: audit_of
SELECT at, actor, action, target, details
FROM audit_log
WHERE target = ANY($1::text[])
ORDER BY at;

-- name: erase_subscribers
DELETE FROM subscribers WHERE phone = $1 AND ($2::text IS NULL OR tenant_id = (
    SELECT id FROM tenants WHERE code = $2))
RETURNING id, tenant_id;

-- name: erase_inbound
DELETE FROM inbound_messages WHERE sender = $1;

-- name: count_by_status
SELECT status, count(*) FROM subscribers WHERE tenant_id = $1 GROUP BY status;
