-- The alert lifecycle: a cancelled alert stops at once (its queued deliveries become 'cancelled',
-- never sent); who cancelled and when an alert was closed by its all-clear are kept.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('queued', 'sending', 'submitted', 'delivered', 'failed', 'expired',
                      'cancelled'));
ALTER TABLE alerts ADD COLUMN cancelled_by bigint REFERENCES operators (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN cancelled_at timestamptz;
ALTER TABLE alerts ADD COLUMN closed_at timestamptz;
-- Recipients by how they were found, and the preview's estimate, kept with the alert.
ALTER TABLE alerts ADD COLUMN by_address integer;
ALTER TABLE alerts ADD COLUMN by_postcode integer;
