-- The parts of a long message sent as several submit_sm (issue 13): each part has its own
-- message id at the SMSC and its own delivery receipt. The delivery keeps part 1's id
-- (first_id); it is delivered once every part is, and failed (with the part named) as soon as
-- one part fails. Written by the outbox's record statement, read by its receipts.
CREATE TABLE delivery_parts (
    gateway      text NOT NULL,
    message_id   text NOT NULL,
    delivery_id  bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    first_id     text NOT NULL,
    part         smallint NOT NULL CHECK (part >= 1),
    parts        smallint NOT NULL CHECK (parts >= 2 AND part <= parts),
    receipt      text CHECK (receipt IN ('delivered', 'failed', 'expired')),
    error        text,
    receipt_at   timestamptz,
    PRIMARY KEY (gateway, message_id)
);
CREATE INDEX delivery_parts_first_idx ON delivery_parts (gateway, first_id);
CREATE INDEX delivery_parts_delivery_idx ON delivery_parts (delivery_id);
