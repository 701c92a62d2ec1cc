-- Issue 14. An audit log you can prove: every entry is hash-chained to the one before it
-- (seq 1, 2, 3 … without gaps; hash = sha256(previous hash || the entry)), so `alertd audit
-- verify` finds an entry removed, edited or inserted out of the chain. The head of the chain is
-- kept in audit_chain_head, written only by the trigger (SECURITY DEFINER: the application's
-- role has no right on it), which also serialises the entries: one at a time, in commit order.
-- TRUNCATE is refused like UPDATE and DELETE.

CREATE FUNCTION audit_entry_hash(
    seq bigint, at timestamptz, actor text, tenant_id bigint, action text, target text,
    details jsonb, prev bytea
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- A JSON array: nulls and separators cannot be confused; the time as epoch microseconds,
    -- whatever the session's TimeZone; jsonb's text form is canonical.
    SELECT sha256(prev || convert_to(
        jsonb_build_array(seq, (extract(epoch FROM at) * 1000000)::bigint, actor, tenant_id,
                          action, target, details)::text,
        'UTF8'))
$$;

ALTER TABLE audit_log
    ADD COLUMN seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash bytea;

CREATE TABLE audit_chain_head (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq     bigint NOT NULL,
    hash    bytea NOT NULL
);

-- The entries already there, chained in the order they were written.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
DO $$
DECLARE
    r record;
    n bigint := 0;
    prev bytea := ''::bytea;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        n := n + 1;
        UPDATE audit_log
        SET seq = n, prev_hash = prev,
            hash = audit_entry_hash(n, r.at, r.actor, r.tenant_id, r.action, r.target,
                                    r.details, prev)
        WHERE id = r.id
        RETURNING hash INTO prev;
    END LOOP;
    INSERT INTO audit_chain_head (seq, hash) VALUES (n, prev);
END
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;

ALTER TABLE audit_log
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX audit_log_seq_idx ON audit_log (seq);

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    head audit_chain_head%ROWTYPE;
BEGIN
    SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := audit_entry_hash(NEW.seq, NEW.at, NEW.actor, NEW.tenant_id, NEW.action,
                                 NEW.target, NEW.details, NEW.prev_hash);
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
