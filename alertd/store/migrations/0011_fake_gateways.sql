-- Issue 14. The gateways an `alertd serve --allow-fake-gateway` ran as fakes: `alert status`
-- says when an alert went through one ("nothing left this machine"). A daemon that starts a real
-- gateway under the same name takes the name off the list.
CREATE TABLE fake_gateways (
    name        text PRIMARY KEY,
    worker      text NOT NULL,               -- the daemon that last ran it: 'host:pid'
    seen_at     timestamptz NOT NULL DEFAULT now()
);
