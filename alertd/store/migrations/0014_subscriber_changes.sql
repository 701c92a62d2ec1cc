-- The subscriber change log (issue 15): what the daemons' in-memory subscriber index applies,
-- in order, after loading the table once. Filled by statement-level triggers on subscribers
-- (one INSERT … SELECT per statement, so a million-row import stays one statement's work), read
-- after a NOTIFY wakes the daemon; the NOTIFY may be lost, the log is the truth. Rows hold no
-- phone number. A reader takes the rows of the transactions its last snapshot did not see
-- (xid), applied in id order: a transaction that commits late is never skipped, as it would be
-- by reading "id > last" (ids are taken before commit). Old rows are pruned
-- (subscriber_changes_pruned says until when, so that a daemon away longer reloads instead).
CREATE TABLE subscriber_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('upsert', 'delete', 'reset')),
    subscriber_id bigint,
    tenant_id     bigint,
    lon           double precision,
    lat           double precision,
    postcode      text,
    language      text,
    topics        text[],
    status        text,
    phone_kind    text,
    exercise      boolean,
    xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriber_changes_at_idx ON subscriber_changes (at);
CREATE INDEX subscriber_changes_xid_idx ON subscriber_changes (xid);

CREATE TABLE subscriber_changes_pruned (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    until   timestamptz NOT NULL DEFAULT 'epoch'
);
INSERT INTO subscriber_changes_pruned DEFAULT VALUES;

CREATE FUNCTION subscriber_changes_upserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only what the index holds: a change of consent date or address text is not logged.
        INSERT INTO subscriber_changes (kind, subscriber_id, tenant_id, lon, lat, postcode,
                                        language, topics, status, phone_kind, exercise)
        SELECT 'upsert', n.id, n.tenant_id, n.lon, n.lat, n.postcode, n.language, n.topics,
               n.status, n.phone_kind, n.exercise
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.tenant_id, n.lon, n.lat, n.postcode, n.language, n.topics, n.status,
               n.phone_kind, n.exercise)
              IS DISTINCT FROM
              (o.tenant_id, o.lon, o.lat, o.postcode, o.language, o.topics, o.status,
               o.phone_kind, o.exercise)
        ORDER BY n.id;
    ELSE
        INSERT INTO subscriber_changes (kind, subscriber_id, tenant_id, lon, lat, postcode,
                                        language, topics, status, phone_kind, exercise)
        SELECT 'upsert', n.id, n.tenant_id, n.lon, n.lat, n.postcode, n.language, n.topics,
               n.status, n.phone_kind, n.exercise
        FROM new_rows n ORDER BY n.id;
    END IF;
    IF FOUND THEN
        PERFORM pg_notify('alertd_subscriber_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION subscriber_changes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An erased resident's earlier rows (their location) go with them: the delete supersedes.
    DELETE FROM subscriber_changes c USING old_rows o WHERE c.subscriber_id = o.id;
    INSERT INTO subscriber_changes (kind, subscriber_id)
    SELECT 'delete', o.id FROM old_rows o ORDER BY o.id;
    IF FOUND THEN
        PERFORM pg_notify('alertd_subscriber_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION subscriber_changes_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO subscriber_changes (kind) VALUES ('reset');
    PERFORM pg_notify('alertd_subscriber_changes', '');
    RETURN NULL;
END $$;

CREATE TRIGGER subscriber_changes_insert AFTER INSERT ON subscribers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subscriber_changes_upserted();
CREATE TRIGGER subscriber_changes_update AFTER UPDATE ON subscribers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subscriber_changes_upserted();
CREATE TRIGGER subscriber_changes_delete AFTER DELETE ON subscribers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subscriber_changes_deleted();
CREATE TRIGGER subscriber_changes_truncate AFTER TRUNCATE ON subscribers
    FOR EACH STATEMENT EXECUTE FUNCTION subscriber_changes_truncated();
