-- What was handed to a gateway and not yet recorded, one row per chunk instead of one update per
-- delivery: marking 500 rows "handed" cost a fifth of the dispatch path's database work. A chunk
-- lives inside one claimed batch, so its deliveries share one lease and are reclaimed together;
-- recording the chunk deletes its row. Rows left by a daemon that died say which of its claimed
-- deliveries are in doubt (the gateway may have sent them); the others are simply queued again.
CREATE TABLE handovers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker          text NOT NULL,
    delivery_ids    bigint[] NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handovers_worker_idx ON handovers (worker);
ALTER TABLE deliveries DROP COLUMN handed_at;
