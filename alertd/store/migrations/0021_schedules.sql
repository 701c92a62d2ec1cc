-- The waste service (issue 17): the information role, quiet hours, scheduled and recurring
-- notices, and their firings, each unique per (schedule, fire time).

-- A waste agent: sends information templates only, to the topics their service owns.
ALTER TABLE operators DROP CONSTRAINT operators_role_check;
ALTER TABLE operators ADD CONSTRAINT operators_role_check
    CHECK (role IN ('viewer', 'information', 'operator', 'approver', 'admin'));
-- The topics an information agent's service owns (empty for the other roles: they reach all).
ALTER TABLE operators ADD COLUMN topics text[] NOT NULL DEFAULT '{}';

-- Quiet hours for information notices, in the tenant's time zone: none when either is NULL.
-- quiet_policy: a notice due in them waits for their end ('defer') or is refused at creation.
ALTER TABLE tenants ADD COLUMN quiet_start time;
ALTER TABLE tenants ADD COLUMN quiet_end time;
ALTER TABLE tenants ADD COLUMN quiet_policy text NOT NULL DEFAULT 'defer'
    CHECK (quiet_policy IN ('defer', 'refuse'));
-- Information notices of an information agent need a second approval only when this is set.
ALTER TABLE tenants ADD COLUMN information_approval boolean NOT NULL DEFAULT false;

CREATE TABLE schedules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_by      bigint NOT NULL REFERENCES operators (id) ON DELETE RESTRICT,
    -- What each firing drafts and sends, as `alertd alert create` would.
    template        text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}',
    severity        text NOT NULL CHECK (severity IN ('life_safety', 'information')),
    languages       text[] NOT NULL DEFAULT '{}',
    topics          text[] NOT NULL DEFAULT '{}',
    zone_ids        bigint[] NOT NULL DEFAULT '{}',
    communes        text[] NOT NULL DEFAULT '{}',   -- INSEE codes: the communes' outlines
    postcodes       text[] NOT NULL DEFAULT '{}',   -- the postcode areas
    -- When: once at run_at, or on a crontab rule read in the time zone.
    run_at          timestamptz,
    cron            text,
    timezone        text NOT NULL DEFAULT 'Europe/Paris',
    skip_holidays   boolean NOT NULL DEFAULT false,
    except_dates    date[] NOT NULL DEFAULT '{}',
    -- A firing missed while no daemon ran is sent if it is at most this late, else recorded missed.
    grace_s         double precision NOT NULL DEFAULT 3600 CHECK (grace_s >= 0),
    status          text NOT NULL
                    CHECK (status IN ('pending_approval', 'active', 'paused', 'done', 'deleted')),
    approved_by     bigint REFERENCES operators (id) ON DELETE RESTRICT,
    approved_at     timestamptz,
    -- Every firing due at or before this was decided (sent, missed or failed): the scheduler
    -- looks only after it. A resumed schedule starts from its resumption.
    checked_until   timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((run_at IS NULL) <> (cron IS NULL)),
    CHECK (cardinality(zone_ids) + cardinality(communes) + cardinality(postcodes) > 0),
    CHECK (approved_by IS NULL OR approved_by <> created_by)
);
CREATE INDEX schedules_active_idx ON schedules (id) WHERE status = 'active';
CREATE INDEX schedules_tenant_idx ON schedules (tenant_id);

-- One row per firing: the unique key is what makes a restart, a takeover or two daemons never
-- send one twice. due_at: when it is sent (after quiet hours, it may be later than fire_time).
-- held: its alert waits for a second approval (its recipients grew past the threshold).
-- firing: claimed, its alert drafted up to a minute ahead, sent at due_at. withdrawn: its
-- schedule was paused or deleted between the draft and the due time: not sent.
CREATE TABLE schedule_firings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id     bigint NOT NULL REFERENCES schedules (id) ON DELETE RESTRICT,
    fire_time       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('firing', 'sent', 'held', 'missed', 'failed',
                                      'withdrawn')),
    alert_id        bigint REFERENCES alerts (id) ON DELETE RESTRICT,
    worker          text,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (schedule_id, fire_time)
);
CREATE INDEX schedule_firings_open_idx ON schedule_firings (schedule_id) WHERE status = 'firing';
