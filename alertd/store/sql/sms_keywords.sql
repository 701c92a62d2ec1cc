-- name: tenant_words
-- Every tenant's keywords, with whether the sender ($1) has a row there: whose words count.
SELECT t.id, t.parent_id, t.name, t.postcodes, t.subscribe_words, t.help_words,
       t.language_words,
       exists(SELECT 1 FROM subscribers s WHERE s.phone = $1 AND s.tenant_id = t.id) AS mine
FROM tenants t
ORDER BY t.parent_id NULLS FIRST, t.id;

-- name: subscription_in_territory
-- The person's row in the territory of tenant $2 (as enrol finds it): what a keyword keeps.
WITH root AS (SELECT coalesce(parent_id, id) AS id FROM tenants WHERE id = $2)
SELECT s.id, s.status, s.language, s.postcode, s.address, s.lon, s.lat, s.topics
FROM subscribers s JOIN tenants t ON t.id = s.tenant_id, root
WHERE s.phone = $1 AND (t.id = root.id OR t.parent_id = root.id)
ORDER BY s.tenant_id = $2 DESC, s.updated_at DESC, s.id
LIMIT 1;

-- name: rows_of
-- The person's rows, most recently changed first, with their tenant and its territory's root.
SELECT s.id, s.tenant_id, s.status, s.language, s.postcode, s.address, s.lon, s.lat, s.topics,
       t.code AS tenant_code, t.name AS tenant_name, coalesce(t.parent_id, t.id) AS root_id
FROM subscribers s JOIN tenants t ON t.id = s.tenant_id
WHERE s.phone = $1
ORDER BY s.updated_at DESC, s.id;

-- name: set_language
UPDATE subscribers SET language = $2, updated_at = $3
WHERE phone = $1 AND language <> $2
RETURNING id, tenant_id;

-- name: replies_in_hour
-- Answers given in the hour before $3: to this number, and on behalf of this tenant.
SELECT (SELECT count(*) FROM inbound_messages
        WHERE sender = $1 AND replied_at > $3::timestamptz - interval '1 hour') AS by_number,
       (SELECT count(*) FROM inbound_messages
        WHERE tenant_id IS NOT DISTINCT FROM $2 AND replied_at > $3::timestamptz - interval '1 hour')
           AS by_tenant;

-- name: mark
-- What the message was, whom it concerned, and whether it was answered.
UPDATE inbound_messages
SET kind = $2, tenant_id = coalesce($3, tenant_id), subscriber_id = coalesce($4, subscriber_id),
    handled_at = $5, replied_at = $6
WHERE id = $1;

-- name: words_of
SELECT id, code, name, stop_words, subscribe_words, help_words, language_words
FROM tenants WHERE code = $1;

-- name: set_words
UPDATE tenants
SET subscribe_words = coalesce($2, subscribe_words), help_words = coalesce($3, help_words),
    language_words = coalesce($4, language_words), updated_at = now()
WHERE code = $1
RETURNING id, code, name, stop_words, subscribe_words, help_words, language_words;
