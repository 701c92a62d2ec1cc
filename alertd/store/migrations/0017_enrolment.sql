-- Issue 16: residents subscribe themselves (web page, SMS keyword, the town hall's desk).
--
-- The desk ("guichet") is a consent channel of its own: the operator who registered the resident
-- is kept with each consent record. 'counter' stays allowed for rows imported before.
ALTER TABLE subscribers DROP CONSTRAINT subscribers_consent_channel_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_consent_channel_check
    CHECK (consent_channel IN ('web', 'sms', 'import', 'counter', 'api', 'guichet'));

-- Consent as proof: one row per scope ('alerts', or an information topic) each time a resident
-- gives or withdraws it, with when, by which channel and, at the desk, which operator. Never
-- updated (a trigger refuses it); erased with the subscriber (RGPD erasure), nothing else
-- deletes it. No phone number here: the subscriber row holds it.
CREATE TABLE subscriber_consents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber_id   bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    scope           text NOT NULL CHECK (scope = 'alerts' OR scope ~ '^[a-z0-9_-]{1,32}$'),
    given           boolean NOT NULL,
    channel         text NOT NULL
                    CHECK (channel IN ('web', 'sms', 'import', 'api', 'guichet')),
    operator_id     bigint REFERENCES operators (id) ON DELETE SET NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX subscriber_consents_subscriber_idx ON subscriber_consents (subscriber_id, at);

CREATE FUNCTION subscriber_consents_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'subscriber_consents is a record of proof: rows are never changed';
END $$;
CREATE TRIGGER subscriber_consents_no_update BEFORE UPDATE ON subscriber_consents
    FOR EACH ROW EXECUTE FUNCTION subscriber_consents_no_update();

-- The deployment's address file (BAN, Base Adresse Nationale): one row per numbered address.
-- street_key is the street's name as locate() compares it (lower case, no accents, types spelt
-- out: "av. Foch" and "Avenue FOCH" meet), computed in Python at import.
CREATE TABLE addresses (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    postcode    text NOT NULL CHECK (postcode ~ '^[0-9]{5}$'),
    insee       text,
    commune     text,
    street      text NOT NULL CHECK (length(street) BETWEEN 1 AND 200),
    street_key  text NOT NULL,
    number      integer,
    rep         text NOT NULL DEFAULT '',
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90)
);
CREATE INDEX addresses_street_idx ON addresses (postcode, street_key, number);
