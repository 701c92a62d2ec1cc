-- name: insert_tenant
INSERT INTO tenants (code, kind, name, parent_id, postcodes, approval_threshold, lon, lat,
                     population)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: upsert_tenant
-- For loading a territory twice: the second load changes nothing that is already right.
-- The approval threshold is the tenant's own decision: a reload never resets it.
INSERT INTO tenants AS t (code, kind, name, parent_id, postcodes, approval_threshold, lon, lat,
                          population)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (code) DO UPDATE
SET kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,
    postcodes = EXCLUDED.postcodes, lon = EXCLUDED.lon, lat = EXCLUDED.lat,
    population = EXCLUDED.population, updated_at = now()
WHERE (t.kind, t.name, t.parent_id, t.postcodes, t.lon, t.lat, t.population)
      IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.parent_id, EXCLUDED.postcodes,
                        EXCLUDED.lon, EXCLUDED.lat, EXCLUDED.population)
RETURNING *, (xmax = 0) AS inserted;

-- name: get_by_code
SELECT t.*, p.code AS parent_code
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
WHERE t.code = $1;

-- name: list_tenants
SELECT t.*, p.code AS parent_code,
       (SELECT count(*) FROM subscribers s WHERE s.tenant_id = t.id AND s.status = 'active')
           AS active_subscribers,
       (SELECT count(*) FROM operators o WHERE o.tenant_id = t.id AND o.disabled_at IS NULL)
           AS operators
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
ORDER BY t.parent_id NULLS FIRST, t.name;

-- name: update_tenant
UPDATE tenants
SET name = coalesce($2, name), approval_threshold = coalesce($3, approval_threshold),
    postcodes = coalesce($4, postcodes), stop_words = coalesce($5, stop_words),
    timezone = coalesce($6, timezone), updated_at = now()
WHERE code = $1
RETURNING *;

-- name: territory_postcodes
-- The postcodes of a tenant and of the communes under it.
SELECT coalesce(array_agg(DISTINCT pc ORDER BY pc), '{}')
FROM tenants t, unnest(t.postcodes) AS pc
WHERE t.id = $1 OR t.parent_id = $1;

-- name: territory_ids
-- A tenant and the communes under it: whose residents its zones may reach.
SELECT id FROM tenants WHERE id = $1 OR parent_id = $1;

-- name: targeting_key
-- What a cache of a tenant's postcode areas is keyed on: the tenant, its parent, their versions.
-- The database's name is in it too: a process may talk to two databases (tests, the demo).
SELECT ARRAY[current_database(), t.id::text, t.targeting_version::text,
             coalesce(p.id, 0)::text, coalesce(p.targeting_version, 0)::text]
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
WHERE t.id = $1;

-- name: postcode_areas
-- The areas for a tenant's residents: its own first, then its intercommunality's.
SELECT a.postcode, a.geometry
FROM tenants t
JOIN tenant_postcode_areas a ON a.tenant_id = t.id OR a.tenant_id = t.parent_id
WHERE t.id = $1
ORDER BY (a.tenant_id = t.id) DESC, a.postcode;

-- name: targeting
-- A tenant's plausible extent and outline, else its intercommunality's.
SELECT coalesce(t.extent, p.extent) AS extent, coalesce(t.outline, p.outline) AS outline
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
WHERE t.id = $1;

-- name: clear_postcode_areas
DELETE FROM tenant_postcode_areas WHERE tenant_id = $1;

-- name: insert_postcode_areas
INSERT INTO tenant_postcode_areas (tenant_id, postcode, geometry)
SELECT $1, unnest($2::text[]), unnest($3::jsonb[]);

-- name: set_targeting
-- $2/$3 NULL: left as they are. Changes the version caches are keyed on (the clock, in
-- microseconds: never the same twice, even in two databases with the same tenant ids).
UPDATE tenants
SET outline = coalesce($2, outline), extent = coalesce($3, extent),
    targeting_version = greatest(targeting_version + 1,
                                 (extract(epoch FROM clock_timestamp()) * 1e6)::bigint),
    updated_at = now()
WHERE id = $1
RETURNING targeting_version;

-- name: set_topics
UPDATE tenants SET topics = $2, updated_at = now() WHERE code = $1 RETURNING topics;

-- name: topics_of
-- The topics a tenant offers: a commune's own, else its intercommunality's, else the default.
SELECT coalesce(nullif(t.topics, '{}'), nullif(p.topics, '{}'),
                '{dechets,travaux,circulation,eau,evenements}')
FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id
WHERE t.id = $1;

-- name: codes_of
SELECT code FROM tenants WHERE id = ANY($1::bigint[]);

-- name: keyword_lists_for_update
-- The SMS keywords a new STOP list must not take (locked: a keywords change waits for it).
SELECT subscribe_words, help_words, language_words FROM tenants WHERE code = $1 FOR UPDATE;
