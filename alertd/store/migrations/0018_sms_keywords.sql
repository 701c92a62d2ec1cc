-- Issue 16: residents subscribe by SMS keyword. Each tenant has its own words (upper case,
-- without accents, letters only, as STOP words): to subscribe ("ALERTE 59140"; alone, to come
-- back after a STOP), for help, to change language.
ALTER TABLE tenants
    ADD COLUMN subscribe_words text[] NOT NULL DEFAULT '{ALERTE,INSCRIPTION,START}'
        CONSTRAINT tenants_subscribe_words_check
        CHECK (cardinality(subscribe_words) > 0
               AND array_to_string(subscribe_words, ',', '?') ~ '^[A-Z]+(,[A-Z]+)*$'),
    ADD COLUMN help_words text[] NOT NULL DEFAULT '{AIDE,HELP,INFO}'
        CONSTRAINT tenants_help_words_check
        CHECK (array_to_string(help_words, ',', '?') ~ '^([A-Z]+(,[A-Z]+)*)?$'),
    ADD COLUMN language_words text[] NOT NULL DEFAULT '{LANGUE,LANGUAGE}'
        CONSTRAINT tenants_language_words_check
        CHECK (array_to_string(language_words, ',', '?') ~ '^([A-Z]+(,[A-Z]+)*)?$');

-- A keyword's answer is an SMS we pay for and a resident reads: an auto-responder answering our
-- answers must not start a storm. replied_at marks the inbound messages that got an answer; the
-- limits count them per number and per tenant over the last hour, in the database, so they hold
-- whichever daemon took the message.
ALTER TABLE inbound_messages ADD COLUMN replied_at timestamptz;
CREATE INDEX inbound_replied_idx ON inbound_messages (replied_at) WHERE replied_at IS NOT NULL;

ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_kind_check;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_kind_check
    CHECK (kind IN ('stop', 'subscribe', 'reply', 'unknown', 'help', 'language'));
