-- The HTTP API (issue 15): token kinds and idempotency keys.

-- A `test` token works everywhere, but what it would send never leaves the machine (see
-- alertd/api/auth.py); `live` is every token made before.
ALTER TABLE operators ADD COLUMN token_kind text NOT NULL DEFAULT 'live'
    CHECK (token_kind IN ('live', 'test'));

-- One row per (operator, Idempotency-Key) of a request that sends: a retry with the same key
-- and the same body gets the first response again and never sends twice; response_status is
-- NULL while the first request is still running.
CREATE TABLE api_idempotency_keys (
    operator_id     bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator_id, key)
);
CREATE INDEX api_idempotency_keys_created_idx ON api_idempotency_keys (created_at);
