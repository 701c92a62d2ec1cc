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

-- name: upsert_from_staging
-- One statement per batch: join the staged rows to the stored ones once, update what differs,
-- insert what is new. Importing the same file twice changes nothing. $2 lists the columns the file
-- has: a column it lacks keeps what is stored (a file of phones and postcodes does not wipe
-- addresses). Nobody who said STOP is made active again; those rows are counted.
WITH joined AS (
    SELECT s.*, t.id AS stored_id, t.status AS stored_status,
           CASE WHEN 'language' = ANY($2) THEN s.language ELSE t.language END AS new_language,
           CASE WHEN 'postcode' = ANY($2) THEN s.postcode ELSE t.postcode END AS new_postcode,
           CASE WHEN 'address' = ANY($2) THEN s.address ELSE t.address END AS new_address,
           CASE WHEN 'lon' = ANY($2) THEN s.lon ELSE t.lon END AS new_lon,
           CASE WHEN 'lat' = ANY($2) THEN s.lat ELSE t.lat END AS new_lat,
           CASE WHEN 'topics' = ANY($2) THEN s.topics ELSE t.topics END AS new_topics,
           CASE WHEN 'exercise' = ANY($2) THEN s.exercise ELSE t.exercise END AS new_exercise,
           CASE WHEN t.status = 'stopped' THEN 'stopped' ELSE coalesce(s.status, t.status) END
               AS new_status,
           coalesce(s.consent_at, t.consent_at,
                    CASE WHEN t.status <> 'stopped' AND coalesce(s.status, t.status) = 'active'
                         THEN now() END) AS new_consent_at,
           coalesce(s.consent_channel, t.consent_channel) AS new_consent_channel
    FROM subscriber_import s
    -- LATERAL … LIMIT 1 keeps this a probe of the unique (phone, tenant_id) index per staged row,
    -- whatever the statistics say: with stale ones (a table that grew fast) the planner would
    -- otherwise scan all of the tenant's subscribers, for every batch.
    LEFT JOIN LATERAL (
        SELECT * FROM subscribers t WHERE t.phone = s.phone AND t.tenant_id = $1 LIMIT 1
    ) t ON true
), updated AS (
    UPDATE subscribers t
    SET phone_kind = j.phone_kind, language = j.new_language, postcode = j.new_postcode,
        address = j.new_address, lon = j.new_lon, lat = j.new_lat, topics = j.new_topics,
        exercise = j.new_exercise, status = j.new_status,
        stopped_at = CASE WHEN t.status <> 'stopped' AND j.new_status = 'stopped' THEN now()
                          ELSE t.stopped_at END,
        consent_at = j.new_consent_at, consent_channel = j.new_consent_channel,
        updated_at = now()
    FROM joined j
    WHERE j.stored_id IS NOT NULL AND t.id = j.stored_id
      AND (j.phone_kind, j.new_language, j.new_postcode, j.new_address, j.new_lon, j.new_lat,
           j.new_topics, j.new_exercise, j.new_status, j.new_consent_at, j.new_consent_channel)
          IS DISTINCT FROM
          (t.phone_kind, t.language, t.postcode, t.address, t.lon, t.lat, t.topics, t.exercise,
           t.status, t.consent_at, t.consent_channel)
    RETURNING 1
), inserted AS (
    INSERT INTO subscribers (tenant_id, phone, phone_kind, language, postcode, address, lon, lat,
                             topics, status, exercise, consent_at, consent_channel, stopped_at)
    SELECT $1, j.phone, j.phone_kind, j.language, j.postcode, j.address, j.lon, j.lat, j.topics,
           coalesce(j.status, 'active'), j.exercise, coalesce(j.consent_at, now()),
           coalesce(j.consent_channel, 'import'),
           CASE WHEN j.status = 'stopped' THEN now() END
    FROM joined j
    WHERE j.stored_id IS NULL
    -- Another import of the same phone may commit first; that row then stays as it wrote it.
    ON CONFLICT (tenant_id, phone) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) AS updated,
       (SELECT count(*) FROM inserted) AS inserted,
       (SELECT count(*) FROM joined
         WHERE stored_status = 'stopped' AND status IS DISTINCT FROM 'stopped') AS kept_stopped;

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
