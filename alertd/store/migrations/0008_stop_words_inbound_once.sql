-- Issue 12. STOP words are a list per tenant (upper case, without accents, letters only); STOP
-- itself can never be taken out of it. Inbound matching uses the default words plus those of
-- every tenant the sender is subscribed in.
ALTER TABLE tenants ADD COLUMN stop_words text[] NOT NULL
    DEFAULT '{STOP,ARRET,STOPSMS,UNSUBSCRIBE,DESABONNEMENT,DESINSCRIPTION}'
    CONSTRAINT tenants_stop_words_check
    CHECK ('STOP' = ANY (stop_words)
           AND array_to_string(stop_words, ',', '?') ~ '^[A-Z]+(,[A-Z]+)*$');

-- An inbound message is stored once: a provider that sends it again (our 2xx got lost after the
-- commit) must not store a reply twice nor audit a STOP twice. Duplicates already stored are
-- removed first, keeping the first one, so that the index can be built on a live database.
DELETE FROM inbound_messages later
USING inbound_messages first
WHERE later.gateway = first.gateway
  AND later.gateway_message_id = first.gateway_message_id
  AND later.id > first.id;
CREATE UNIQUE INDEX inbound_gateway_message_idx ON inbound_messages (gateway, gateway_message_id)
    WHERE gateway_message_id IS NOT NULL;
