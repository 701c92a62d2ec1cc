-- Test tokens (issue 15): what an alert drafted with a test token sends is taken by the
-- in-process training gateway (alertd/api/training.py) and never reaches a real gateway.

-- Decided when the alert is stored, once: by its author's token kind, or by its parent's (an
-- update or all-clear of a training alert is training too, whoever sends it).
ALTER TABLE alerts ADD COLUMN training boolean NOT NULL DEFAULT false;
CREATE INDEX alerts_training_idx ON alerts (id) WHERE training;

CREATE FUNCTION alerts_training_of_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.training := NEW.training
        OR EXISTS (SELECT 1 FROM operators WHERE id = NEW.created_by AND token_kind = 'test')
        OR EXISTS (SELECT 1 FROM alerts WHERE id = NEW.parent_id AND training);
    RETURN NEW;
END;
$$;
CREATE TRIGGER alerts_training BEFORE INSERT ON alerts
    FOR EACH ROW EXECUTE FUNCTION alerts_training_of_author();

-- A training alert's deliveries never wait in 'queued', where the dispatch loop claims: in the
-- same statement that writes them they are parked in 'sending', leased for ever by 'training'
-- (no daemon's reclaim touches them), for the training gateway to take. One statement-level
-- trigger: nothing to do, at the cost of one index probe, while no training alert is open (a
-- closed or cancelled alert is never written deliveries again: its follow-ups are alerts of
-- their own, training too).
CREATE FUNCTION deliveries_park_training() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM alerts WHERE training AND status NOT IN ('closed', 'cancelled'))
    THEN
        RETURN NULL;
    END IF;
    UPDATE deliveries d
    SET status = 'sending', leased_by = 'training', lease_until = 'infinity', updated_at = now()
    FROM new_rows n JOIN alerts a ON a.id = n.alert_id AND a.training
    WHERE d.id = n.id AND d.status = 'queued';
    RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_training AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_park_training();
CREATE INDEX deliveries_training_idx ON deliveries (id) WHERE leased_by = 'training';
