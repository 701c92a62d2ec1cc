-- The residents' sign-up pages (issue 16): codes sent by SMS, abuse limits, the pages' key.

-- One row per code asked on the pages. The browser holds the flow's token in a cookie; only its
-- sha256 is stored. The code is stored as an HMAC with a salt of its own, never in clear.
CREATE TABLE signup_flows (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    phone           text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    purpose         text NOT NULL CHECK (purpose IN ('subscribe', 'manage')),
    -- What the resident asked for (postcode, commune, language, topics, address), applied once
    -- the code is right; {} for "manage".
    request         jsonb NOT NULL DEFAULT '{}',
    tenant_id       bigint REFERENCES tenants (id) ON DELETE CASCADE,
    code_salt       bytea NOT NULL,
    code_hash       bytea NOT NULL,
    code_sent_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    wrong_tries     integer NOT NULL DEFAULT 0 CHECK (wrong_tries >= 0),
    confirmed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signup_flows_created_idx ON signup_flows (created_at);

-- Codes asked per bucket (number, address, tenant) and fixed hour, shared by every daemon. Keys
-- are HMACs of the number or address with the pages' key: no phone number in clear here.
CREATE TABLE signup_limits (
    bucket  text NOT NULL CHECK (bucket IN ('number', 'ip', 'tenant')),
    key     text NOT NULL,
    hour    timestamptz NOT NULL,
    hits    integer NOT NULL,
    PRIMARY KEY (bucket, key, hour)
);

-- The pages' secret (CSRF tokens, limit keys): made by the first daemon, shared by all.
CREATE TABLE web_keys (
    name        text PRIMARY KEY,
    key         bytea NOT NULL CHECK (length(key) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
