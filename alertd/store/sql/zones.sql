-- name: insert_zone
INSERT INTO zones (tenant_id, kind, name, geometry, source_crs, properties)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, tenant_id, kind, name, source_crs, created_at;

-- name: list_zones
SELECT z.id, t.code AS tenant_code, z.kind, z.name, z.source_crs, z.created_at,
       z.properties ->> 'area_km2' AS area_km2, z.properties ->> 'vertices' AS vertices
FROM zones z JOIN tenants t ON t.id = z.tenant_id
WHERE $1::text IS NULL OR t.code = $1
ORDER BY z.id;

-- name: get_zone
SELECT z.*, t.code AS tenant_code, t.name AS tenant_name
FROM zones z JOIN tenants t ON t.id = z.tenant_id
WHERE z.id = $1;

-- name: root_tenants
SELECT code FROM tenants WHERE parent_id IS NULL ORDER BY code;

-- name: active_subscribers
-- What the subscriber index is built from: everyone who receives alerts in these tenants, as four
-- arrays in one row (decoding four arrays is far cheaper than a million records).
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids,
       coalesce(array_agg(coalesce(lon, 'NaN') ORDER BY id), '{}') AS lon,
       coalesce(array_agg(coalesce(lat, 'NaN') ORDER BY id), '{}') AS lat,
       coalesce(array_agg(postcode ORDER BY id), '{}') AS postcodes
FROM subscribers
WHERE tenant_id = ANY($1::bigint[]) AND status = 'active';

-- name: alert_candidates
-- Who may receive an alert before the zone decides: active, in the territory; for information
-- alerts, only those who chose one of its topics ($2 is empty for life-safety: everyone); for an
-- exercise, only the exercise participants.
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids,
       coalesce(array_agg(coalesce(lon, 'NaN') ORDER BY id), '{}') AS lon,
       coalesce(array_agg(coalesce(lat, 'NaN') ORDER BY id), '{}') AS lat,
       coalesce(array_agg(postcode ORDER BY id), '{}') AS postcodes,
       coalesce(array_agg(language ORDER BY id), '{}') AS languages
FROM subscribers
WHERE tenant_id = ANY($1::bigint[]) AND status = 'active' AND phone_kind <> 'landline'
  AND (NOT $4 OR topics && $2::text[])
  AND (NOT $3 OR exercise);

-- name: alert_for_enqueue
SELECT a.*, coalesce(array_agg(z.geometry) FILTER (WHERE z.id IS NOT NULL), '{}') AS zones
FROM alerts a
LEFT JOIN alert_zones az ON az.alert_id = a.id
LEFT JOIN zones z ON z.id = az.zone_id
WHERE a.id = $1
GROUP BY a.id;
