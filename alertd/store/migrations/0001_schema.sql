-- alertd schema v1: the whole model of DESIGN.md.
-- The database enforces the invariants (unique phone per tenant, one delivery per alert and
-- subscriber, valid statuses and coordinates): code may be wrong, the constraints are not.

CREATE TABLE tenants (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- INSEE code for a commune (59183, 2A004), SIREN for an intercommunality (245900428).
    code                text NOT NULL UNIQUE CHECK (code ~ '^([0-9]{5}|2[AB][0-9]{3}|[0-9]{9})$'),
    kind                text NOT NULL CHECK (kind IN ('intercommunality', 'commune')),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    parent_id           bigint REFERENCES tenants (id) ON DELETE RESTRICT,
    postcodes           text[] NOT NULL DEFAULT '{}',
    -- An alert reaching more recipients than this needs a second operator's approval.
    approval_threshold  integer NOT NULL DEFAULT 1000 CHECK (approval_threshold >= 0),
    -- Rough centre of the territory, for maps and the demo; the territory itself is a zone.
    lon                 double precision CHECK (lon BETWEEN -180 AND 180),
    lat                 double precision CHECK (lat BETWEEN -90 AND 90),
    population          integer CHECK (population >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK (kind = 'commune' OR parent_id IS NULL)
);
CREATE INDEX tenants_parent_idx ON tenants (parent_id);

CREATE TABLE operators (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text,
    role            text NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    -- sha256 of the API token; the token itself is shown once at creation and never stored.
    token_hash      bytea NOT NULL UNIQUE,
    token_prefix    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    disabled_at     timestamptz
);
CREATE INDEX operators_tenant_idx ON operators (tenant_id);

CREATE TABLE subscribers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    phone           text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    -- mobile numbers receive SMS; landlines are kept but flagged, since they cannot.
    phone_kind      text NOT NULL DEFAULT 'mobile'
                    CHECK (phone_kind IN ('mobile', 'landline', 'voip', 'other')),
    language        text NOT NULL DEFAULT 'fr' CHECK (language ~ '^[a-z]{2}$'),
    postcode        text CHECK (postcode ~ '^[0-9]{5}$'),
    address         text CHECK (length(address) <= 300),
    lon             double precision CHECK (lon BETWEEN -180 AND 180),
    lat             double precision CHECK (lat BETWEEN -90 AND 90),
    topics          text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'stopped')),
    exercise        boolean NOT NULL DEFAULT false,
    consent_at      timestamptz,
    consent_channel text CHECK (consent_channel IN ('web', 'sms', 'import', 'counter', 'api')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    stopped_at      timestamptz,
    -- phone first: the same index serves RGPD look-ups by phone across tenants.
    UNIQUE (phone, tenant_id),
    CHECK ((lon IS NULL) = (lat IS NULL)),
    CHECK (postcode IS NOT NULL OR lon IS NOT NULL),
    CHECK (status <> 'active' OR consent_at IS NOT NULL)
);
-- Every index is paid on each of a million imported rows: three, each with a reader. This one
-- serves matching by postcode and loading a tenant's active subscribers (tenant_id prefix).
CREATE INDEX subscribers_tenant_postcode_status_idx ON subscribers (tenant_id, postcode, status);

CREATE TABLE zones (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    kind            text NOT NULL
                    CHECK (kind IN ('flood', 'submersion', 'industrial', 'waste_sector', 'postcode', 'custom')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    geometry        jsonb NOT NULL,          -- GeoJSON Polygon/MultiPolygon in WGS84
    source_crs      text NOT NULL DEFAULT 'EPSG:4326',
    properties      jsonb NOT NULL DEFAULT '{}',
    created_by      bigint REFERENCES operators (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, kind, name)
);

CREATE TABLE alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    -- An update, cancellation or all-clear points at the alert it follows.
    parent_id       bigint REFERENCES alerts (id) ON DELETE RESTRICT,
    message_kind    text NOT NULL DEFAULT 'alert'
                    CHECK (message_kind IN ('alert', 'update', 'cancel', 'all_clear')),
    hazard          text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('life_safety', 'information')),
    exercise        boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'pending_approval', 'approved', 'sending', 'sent',
                                      'cancelled', 'closed')),
    template        text,
    params          jsonb NOT NULL DEFAULT '{}',
    languages       text[] NOT NULL DEFAULT '{fr}',
    topics          text[] NOT NULL DEFAULT '{}',
    texts           jsonb NOT NULL DEFAULT '{}',   -- language -> rendered text
    zone_geometry   jsonb,                         -- uploaded or circle zones, WGS84
    recipients      integer,
    created_by      bigint REFERENCES operators (id) ON DELETE SET NULL,
    approved_by     bigint REFERENCES operators (id) ON DELETE SET NULL,
    approved_at     timestamptz,
    sent_by         bigint REFERENCES operators (id) ON DELETE SET NULL,
    sent_at         timestamptz,
    expires_at      timestamptz,
    scheduled_for   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (approved_by IS NULL OR created_by IS NULL OR approved_by <> created_by)
);
CREATE INDEX alerts_tenant_status_idx ON alerts (tenant_id, status);
CREATE INDEX alerts_parent_idx ON alerts (parent_id);

CREATE TABLE alert_zones (
    alert_id        bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    zone_id         bigint NOT NULL REFERENCES zones (id) ON DELETE RESTRICT,
    PRIMARY KEY (alert_id, zone_id)
);

-- The outbox: one row per alert and subscriber, whatever happens.
CREATE TABLE deliveries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id            bigint NOT NULL REFERENCES alerts (id) ON DELETE RESTRICT,
    -- Erasing a subscriber (RGPD) erases their deliveries too.
    subscriber_id       bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    priority            smallint NOT NULL DEFAULT 1,   -- 0 life-safety, 1 information
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'sending', 'submitted', 'delivered', 'failed',
                                          'expired')),
    matched_by          text CHECK (matched_by IN ('address', 'postcode')),
    language            text NOT NULL DEFAULT 'fr',
    gateway             text,
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_until         timestamptz,
    leased_by           text,
    gateway_message_id  text,
    segments            smallint,
    in_doubt            boolean NOT NULL DEFAULT false,
    error               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    submitted_at        timestamptz,
    delivered_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_id, subscriber_id)
);
-- The dispatch loop claims queued rows by priority, then oldest next attempt.
CREATE INDEX deliveries_queued_idx ON deliveries (priority, next_attempt_at) WHERE status = 'queued';
-- Expired leases (a daemon that died while sending) are found by lease time.
CREATE INDEX deliveries_sending_idx ON deliveries (lease_until) WHERE status = 'sending';
-- Delivery receipts find their row by the gateway's message id.
CREATE INDEX deliveries_gateway_msg_idx ON deliveries (gateway, gateway_message_id)
    WHERE gateway_message_id IS NOT NULL;
CREATE INDEX deliveries_alert_status_idx ON deliveries (alert_id, status);
CREATE INDEX deliveries_subscriber_idx ON deliveries (subscriber_id);

CREATE TABLE inbound_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint REFERENCES tenants (id) ON DELETE RESTRICT,
    gateway         text NOT NULL,
    sender          text NOT NULL,            -- E.164; erased with the subscriber
    recipient       text,                     -- our short code or long number
    body            text NOT NULL,
    kind            text NOT NULL DEFAULT 'reply'
                    CHECK (kind IN ('stop', 'subscribe', 'reply', 'unknown')),
    subscriber_id   bigint REFERENCES subscribers (id) ON DELETE SET NULL,
    alert_id        bigint REFERENCES alerts (id) ON DELETE SET NULL,
    gateway_message_id text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    handled_at      timestamptz
);
CREATE INDEX inbound_sender_idx ON inbound_messages (sender);
CREATE INDEX inbound_alert_idx ON inbound_messages (alert_id);

-- Append-only: who did what, when. Never holds a phone number in clear.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,               -- 'operator:12', 'cli:root', 'system', 'sms'
    tenant_id   bigint REFERENCES tenants (id),
    action      text NOT NULL,               -- 'subscriber.erase', 'alert.send', …
    target      text,                        -- 'subscriber:42', 'alert:7'
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_target_idx ON audit_log (target);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
