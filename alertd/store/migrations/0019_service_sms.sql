-- Issue 16: service SMS (the desk's confirmation to a resident) queued durably in the
-- transaction that records what they confirm, and sent by whichever daemon runs (now, or when
-- one starts): the CLI at the desk needs no daemon of its own. A row is claimed with a lease
-- (FOR UPDATE SKIP LOCKED): several daemons never send one twice while both live; a daemon
-- killed between the gateway's acceptance and its record sends it again once (counted in
-- attempts). Erased with the resident (RGPD): by subscriber, and by phone.
CREATE TABLE service_sms (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint REFERENCES tenants (id) ON DELETE RESTRICT,
    subscriber_id   bigint REFERENCES subscribers (id) ON DELETE CASCADE,
    phone           text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    purpose         text NOT NULL CHECK (purpose ~ '^[a-z_]{1,40}$'),
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'expired')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    not_after       timestamptz NOT NULL,
    lease_until     timestamptz,
    leased_by       text,
    gateway         text,
    error           text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX service_sms_due_idx ON service_sms (next_attempt_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX service_sms_phone_idx ON service_sms (phone);

CREATE FUNCTION service_sms_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('alertd_service_sms', '');
    RETURN NULL;
END $$;
CREATE TRIGGER service_sms_queued AFTER INSERT ON service_sms
    FOR EACH STATEMENT EXECUTE FUNCTION service_sms_queued();
