-- The daemon's in-memory subscriber index (alertd/subscribers/live_index.py) and its change log.

-- name: vocabulary
-- The languages and topics in use: the index stores a language's and topics' positions here.
SELECT coalesce((SELECT array_agg(DISTINCT language ORDER BY language) FROM subscribers), '{}')
           AS languages,
       coalesce((SELECT array_agg(DISTINCT t ORDER BY t) FROM subscribers, unnest(topics) t), '{}')
           AS topics,
       pg_current_snapshot()::text AS snapshot,
       (SELECT coalesce(max(id), 0) FROM subscriber_changes) AS last_id,
       now() AS read_at;

-- name: copy_chunk
-- One slice of subscribers by id, fixed-width columns for a binary COPY read straight into numpy
-- (no Python object per subscriber). Only those who can receive an alert: active mobiles.
SELECT id, tenant_id, coalesce(lon, 'NaN')::float8, coalesce(lat, 'NaN')::float8,
       coalesce(postcode::int4, -1)::int4,
       coalesce(array_position($1::text[], language), 0)::int2,
       coalesce((SELECT bit_or(1::int8 << (array_position($2::text[], t) - 1))
                 FROM unnest(topics) t), 0)::int8,
       exercise
FROM subscribers
WHERE id >= $3 AND id < $4 AND status = 'active' AND phone_kind <> 'landline'

-- name: id_range
SELECT coalesce(min(id), 0) AS lo, coalesce(max(id), 0) AS hi FROM subscribers;

-- name: changes_since
-- The changes of the transactions the previous snapshot ($1) did not see and that are committed
-- now, in order: those after the last id read ($2), and those of the transactions that were in
-- progress then (their ids may be lower: ids are taken before commit). Two index scans (an OR
-- of the two would read the whole log; ORDER BY … LIMIT keeps the first on the primary key
-- even before the log's statistics exist).
SELECT * FROM (
    (SELECT id, kind, subscriber_id, tenant_id, lon, lat, postcode, language, topics, status,
            phone_kind, exercise
     FROM subscriber_changes
     WHERE id > $2 AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot)
     ORDER BY id LIMIT $3)
    UNION ALL
    SELECT id, kind, subscriber_id, tenant_id, lon, lat, postcode, language, topics, status,
           phone_kind, exercise
    FROM subscriber_changes
    WHERE id <= $2 AND xid = ANY (ARRAY(SELECT pg_snapshot_xip($1::text::pg_snapshot)))
      AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot)
) c
ORDER BY id
LIMIT $3;

-- name: snapshot_now
SELECT pg_current_snapshot()::text AS snapshot, now() AS read_at,
       (SELECT coalesce(max(id), 0) FROM subscriber_changes) AS last_id,
       (SELECT until FROM subscriber_changes_pruned) AS pruned_until;

-- name: prune
-- Forget the changes older than the retention; a reader whose last read is older reloads.
WITH gone AS (
    DELETE FROM subscriber_changes WHERE at < now() - make_interval(secs => $1) RETURNING 1
), marked AS (
    UPDATE subscriber_changes_pruned SET until = greatest(until, now() - make_interval(secs => $1))
    RETURNING until
)
SELECT (SELECT count(*) FROM gone) AS pruned;
