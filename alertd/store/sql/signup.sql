-- name: web_key
-- The first daemon's random key wins; every daemon reads the same one.
WITH made AS (
    INSERT INTO web_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING key
)
SELECT key FROM made UNION ALL SELECT key FROM web_keys WHERE name = $1 LIMIT 1;

-- name: hit_limits
-- One more code asked in each bucket ($1 buckets, $2 keys, sorted so two requests lock the same
-- rows in the same order); the hour's count after it.
INSERT INTO signup_limits (bucket, key, hour, hits)
SELECT b, k, date_trunc('hour', $3::timestamptz), 1
FROM unnest($1::text[], $2::text[]) AS t(b, k)
ON CONFLICT (bucket, key, hour) DO UPDATE SET hits = signup_limits.hits + 1
RETURNING bucket, hits;

-- name: ask_code
-- hit_limits and the flow's row in one round trip: one more code counted in each bucket ($1
-- buckets, $2 keys, sorted as in hit_limits; $3 their limits), and the flow written only when no
-- bucket is over its limit. The buckets over their limit (NULL: none) and the flow's id.
WITH hits AS (
    INSERT INTO signup_limits (bucket, key, hour, hits)
    SELECT b, k, date_trunc('hour', $4::timestamptz), 1
    FROM unnest($1::text[], $2::text[]) AS t(b, k)
    ON CONFLICT (bucket, key, hour) DO UPDATE SET hits = signup_limits.hits + 1
    RETURNING bucket, hits
), over AS (
    SELECT array_agg(h.bucket) AS buckets
    FROM hits h JOIN unnest($1::text[], $3::int[]) AS l(b, most) ON l.b = h.bucket
    WHERE h.hits > l.most
), flow AS (
    INSERT INTO signup_flows (token_hash, phone, purpose, request, tenant_id, code_salt,
                              code_hash, code_sent_at, expires_at)
    SELECT $5::bytea, $6::text, $7::text, $8::jsonb, $9::bigint, $10::bytea, $11::bytea,
           $4::timestamptz, $12::timestamptz
    WHERE (SELECT buckets FROM over) IS NULL
    RETURNING id
)
SELECT (SELECT buckets FROM over) AS over, (SELECT id FROM flow) AS flow_id;

-- name: flow_for_update
SELECT * FROM signup_flows WHERE token_hash = $1 FOR UPDATE;

-- name: flow
SELECT * FROM signup_flows WHERE token_hash = $1;

-- name: wrong_try
UPDATE signup_flows SET wrong_tries = wrong_tries + 1 WHERE id = $1 RETURNING wrong_tries;

-- name: confirm_flow
UPDATE signup_flows SET confirmed_at = $2 WHERE id = $1;

-- name: new_code
UPDATE signup_flows
SET code_salt = $2, code_hash = $3, code_sent_at = $4, expires_at = $5, wrong_tries = 0
WHERE id = $1;

-- name: end_flow
DELETE FROM signup_flows WHERE id = $1;

-- name: purge
-- Flows a day old and limits of past hours go: neither proves anything any more.
WITH flows AS (DELETE FROM signup_flows WHERE created_at < $1::timestamptz - interval '1 day'
               RETURNING 1),
     limits AS (DELETE FROM signup_limits WHERE hour < $1::timestamptz - interval '2 hours'
                RETURNING 1)
SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM limits);

-- name: subscription_of
-- The person's live subscription, shown on "my subscription" once their code was right.
SELECT s.id, s.tenant_id, s.postcode, s.address, s.lon, s.lat, s.language, s.topics, s.status,
       t.code AS tenant_code, t.name AS tenant_name
FROM subscribers s JOIN tenants t ON t.id = s.tenant_id
WHERE s.phone = $1 AND s.status <> 'stopped'
ORDER BY s.updated_at DESC
LIMIT 1;
