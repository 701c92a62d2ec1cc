-- name: placements
-- The tenants whose postcodes hold $1, each with its parent: where a resident of it belongs.
SELECT t.id, t.code, t.name, t.kind, t.parent_id, p.code AS parent_code, p.name AS parent_name
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
WHERE $1::text = ANY (t.postcodes)
ORDER BY t.kind = 'commune' DESC, t.name;

-- name: served_postcodes
SELECT coalesce(array_agg(DISTINCT pc ORDER BY pc), '{}')
FROM tenants t, unnest(t.postcodes) AS pc;

-- name: tenant_topics
-- The topics a resident may choose with this tenant (as tenants.topics_of).
SELECT coalesce(nullif(t.topics, '{}'), nullif(p.topics, '{}'),
                '{dechets,travaux,circulation,eau,evenements}')
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
WHERE t.id = $1;

-- name: lock_phone
-- Two sign-ups of the same number at once (a double click, the page and an SMS) take turns.
SELECT pg_advisory_xact_lock(hashtextextended('alertd.enrol:' || $1, 0));

-- name: lock_phone_topics
-- lock_phone, and the topics tenant $2 offers (as tenant_topics): one round trip.
SELECT pg_advisory_xact_lock(hashtextextended('alertd.enrol:' || $1, 0)) IS NULL AS locked,
       (SELECT coalesce(nullif(t.topics, '{}'), nullif(p.topics, '{}'),
                        '{dechets,travaux,circulation,eau,evenements}')
        FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
        WHERE t.id = $2) AS topics;

-- name: rows_in_territory
-- The person's rows in the territory of tenant $2 (its root and the communes under it), the row
-- in tenant $2 itself first, then the most recently changed.
WITH root AS (SELECT coalesce(parent_id, id) AS id FROM tenants WHERE id = $2)
SELECT s.id, s.tenant_id, s.status, s.topics
FROM subscribers s JOIN tenants t ON t.id = s.tenant_id, root
WHERE s.phone = $1 AND (t.id = root.id OR t.parent_id = root.id)
ORDER BY s.tenant_id = $2 DESC, s.updated_at DESC, s.id
FOR UPDATE OF s;

-- name: insert_subscriber
INSERT INTO subscribers (tenant_id, phone, phone_kind, language, postcode, address, lon, lat,
                         topics, status, consent_at, consent_channel)
VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $8, $9, 'active', $10, $11)
RETURNING id;

-- name: update_subscriber
-- $11: the consent time and channel change only when the resident (re)gives consent to alerts.
UPDATE subscribers
SET tenant_id = $2, language = $3, postcode = nullif($4, ''), address = $5, lon = $6, lat = $7, topics = $8,
    status = 'active', stopped_at = NULL,
    consent_at = CASE WHEN $11 THEN $9 ELSE consent_at END,
    consent_channel = CASE WHEN $11 THEN $10 ELSE consent_channel END,
    updated_at = $9
WHERE id = $1;

-- name: record_consents_audited
-- The consent records of an enrolment ($3 scopes, $4 given or withdrawn; none is fine) and its
-- audit entry, in one statement: the audit chain's head stays locked from here to the commit,
-- so this comes last.
WITH consents AS (
    INSERT INTO subscriber_consents (subscriber_id, tenant_id, scope, given, channel, operator_id, at)
    SELECT $1, $2, c.scope, c.given, $5, $6, $7
    FROM unnest($3::text[], $4::boolean[]) WITH ORDINALITY AS c(scope, given, n)
    ORDER BY c.n
)
INSERT INTO audit_log (actor, tenant_id, action, target, details)
VALUES ($8, $2, $9, 'subscriber:' || $1::bigint, $10);

-- name: stop_others
-- The person's other rows in the territory: one row per person, so an intercommunality's alert
-- reaches them once.
UPDATE subscribers SET status = 'stopped', stopped_at = $2, updated_at = $2
WHERE id = ANY ($1::bigint[]) AND status <> 'stopped'
RETURNING id, tenant_id, topics;

-- name: record_consents
INSERT INTO subscriber_consents (subscriber_id, tenant_id, scope, given, channel, operator_id, at)
SELECT $1, $2, unnest($3::text[]), unnest($4::boolean[]), $5, $6, $7;

-- name: stop_everywhere
UPDATE subscribers SET status = 'stopped', stopped_at = $2, updated_at = $2
WHERE phone = $1 AND status <> 'stopped'
RETURNING id, tenant_id, topics, language;

-- name: consents_of
SELECT c.subscriber_id, t.code AS tenant_code, c.scope, c.given, c.channel, c.operator_id, c.at
FROM subscriber_consents c JOIN tenants t ON t.id = c.tenant_id
WHERE c.subscriber_id = ANY ($1::bigint[])
ORDER BY c.at, c.id;
