-- An identity per claim and per attempt (issue 12). Every claim takes one value of a sequence,
-- written on the rows it claimed: hand-over, record, expiry and give-back are fenced by it, not
-- by the daemon's name, so a daemon's stale record never lands on its own re-claim of a row.
-- The current attempt's message id stays on the delivery (what receipts look up on the hot
-- path); an attempt that is superseded (sent again elsewhere) or fenced out (its daemon lost the
-- lease while the gateway took it) keeps its message id here, so that its late receipt is
-- recorded against it and never finalises the resend.
CREATE SEQUENCE delivery_claim_tokens;
ALTER TABLE deliveries ADD COLUMN claim_token bigint;
ALTER TABLE handovers ADD COLUMN claim_token bigint;
CREATE INDEX handovers_claim_token_idx ON handovers (claim_token);

CREATE TABLE delivery_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt         integer,
    claim_token     bigint,
    gateway         text NOT NULL,
    message_id      text NOT NULL,
    -- accepted: sent again later (no receipt in time, or a failure rerouted);
    -- stale: accepted by the gateway after its daemon lost the lease (fenced out).
    outcome         text NOT NULL CHECK (outcome IN ('accepted', 'stale')),
    receipt         text CHECK (receipt IN ('delivered', 'failed', 'expired')),
    error           text,
    at              timestamptz NOT NULL DEFAULT now(),
    receipt_at      timestamptz
);
CREATE INDEX delivery_attempts_message_idx ON delivery_attempts (gateway, message_id);
CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id);

-- Rows waiting to be sent again no longer carry their previous attempt's id: it moves here.
INSERT INTO delivery_attempts (delivery_id, attempt, gateway, message_id, outcome)
SELECT id, attempts, gateway, gateway_message_id, 'accepted' FROM deliveries
WHERE status IN ('queued', 'sending') AND gateway_message_id IS NOT NULL AND gateway IS NOT NULL;
UPDATE deliveries SET gateway_message_id = NULL
WHERE status IN ('queued', 'sending') AND gateway_message_id IS NOT NULL;
