-- Targeting is the tenant's data, never a workstation's configuration: the postcode areas, the
-- plausible extent and the territory's outline live here, so that a preview and a send compute
-- the same recipients wherever they run.
CREATE TABLE tenant_postcode_areas (
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    postcode    text NOT NULL CHECK (postcode ~ '^[0-9]{5}$'),
    geometry    jsonb NOT NULL,          -- GeoJSON Polygon/MultiPolygon in WGS84
    PRIMARY KEY (tenant_id, postcode)
);
-- lon min, lat min, lon max, lat max (WGS84); NULL: the deployment's default extent.
ALTER TABLE tenants ADD COLUMN extent double precision[]
    CHECK (extent IS NULL OR cardinality(extent) = 4);
ALTER TABLE tenants ADD COLUMN outline jsonb;   -- the territory, GeoJSON in WGS84
-- Changed whenever the targeting data changes: what caches of it are keyed on.
ALTER TABLE tenants ADD COLUMN targeting_version bigint NOT NULL DEFAULT 0;
-- The topics residents may choose for information alerts; empty: the intercommunality's (and
-- when it has none either, alertd's default list: see the tenants.sql query topics_of).
ALTER TABLE tenants ADD COLUMN topics text[] NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN timezone text NOT NULL DEFAULT 'Europe/Paris';

-- Expiry counts from sending: the validity is kept, the deadline set when it is sent.
ALTER TABLE alerts ADD COLUMN expires_in_s double precision;
UPDATE alerts SET expires_in_s = extract(epoch FROM expires_at - created_at)
WHERE expires_at IS NOT NULL;
-- Not sent yet: their deadline will count from their send.
UPDATE alerts SET expires_at = NULL
WHERE sent_at IS NULL AND status IN ('draft', 'pending_approval', 'approved');
-- What the approver saw: the send refuses when the recipients moved away from it.
ALTER TABLE alerts ADD COLUMN approved_recipients integer;
