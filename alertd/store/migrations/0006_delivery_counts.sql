-- Live progress without counting: per alert, how many deliveries are in each state (and in
-- doubt, rerouted), kept by statement-level triggers from the rows each statement changed.
-- Counting an alert's deliveries took 114 ms at 110 000 (a second at a million), every time
-- `alert status --follow` looked; this is one small index read. Every path that changes
-- deliveries (enqueue, claim, record, receipts, reclaim, cancel, erasure) keeps it exact, in
-- the same transaction. Each connection writes its own shard of the counters (its backend pid
-- modulo 16), so the daemons' concurrent statements do not queue on one hot row; counter rows
-- are taken in one order, so they never deadlock.
CREATE TABLE delivery_counts (
    alert_id    bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    status      text NOT NULL,
    in_doubt    boolean NOT NULL,
    rerouted    boolean NOT NULL,
    shard       smallint NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (alert_id, status, in_doubt, rerouted, shard)
);

CREATE FUNCTION delivery_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO delivery_counts AS c (alert_id, status, in_doubt, rerouted, shard, n)
        SELECT alert_id, status, in_doubt, rerouted_from IS NOT NULL, pg_backend_pid() % 16, count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (alert_id, status, in_doubt, rerouted, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO delivery_counts AS c (alert_id, status, in_doubt, rerouted, shard, n)
        SELECT alert_id, status, in_doubt, rerouted, pg_backend_pid() % 16, sum(d)
        FROM (SELECT alert_id, status, in_doubt, rerouted_from IS NOT NULL AS rerouted, 1 AS d
              FROM new_rows
              UNION ALL
              SELECT alert_id, status, in_doubt, rerouted_from IS NOT NULL, -1 FROM old_rows) x
        GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (alert_id, status, in_doubt, rerouted, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO delivery_counts AS c (alert_id, status, in_doubt, rerouted, shard, n)
        SELECT alert_id, status, in_doubt, rerouted_from IS NOT NULL, pg_backend_pid() % 16, -count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (alert_id, status, in_doubt, rerouted, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION delivery_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM delivery_counts;
    RETURN NULL;
END;
$$;

CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION delivery_counts_apply();
CREATE TRIGGER deliveries_count_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION delivery_counts_apply();
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION delivery_counts_apply();
CREATE TRIGGER deliveries_count_truncate AFTER TRUNCATE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION delivery_counts_clear();

INSERT INTO delivery_counts (alert_id, status, in_doubt, rerouted, shard, n)
SELECT alert_id, status, in_doubt, rerouted_from IS NOT NULL, 0, count(*)
FROM deliveries GROUP BY 1, 2, 3, 4;
