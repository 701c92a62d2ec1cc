-- One contract, one limit (issue 18): each live daemon's lease on a share of each gateway's
-- contract (its rate, and for SMPP its binds), so that several daemons on one database never
-- send, together, more than the contract. Times are the database's (one clock for every
-- machine); a row whose expires_at has passed is a dead (or cut off) daemon's, and its share is
-- free. See alertd/delivery/share_lease.py.
CREATE TABLE gateway_shares (
    gateway text NOT NULL,
    worker text NOT NULL,  -- 'host:pid', as the daemon's claims name it
    part double precision NOT NULL CHECK (part >= 0 AND part <= 1),  -- of the contract's rate
    binds integer NOT NULL CHECK (binds >= 0),  -- binds it may have open (0: a gateway without)
    contract_rate double precision NOT NULL,  -- segments a second, as this daemon is configured
    contract_binds integer NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    renewed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (gateway, worker)
);

-- A daemon's new lease, written only if the others' shares in force have not grown since it
-- read them (it decided its own from them): one statement, the lock of the gateway held inside
-- the server for a few microseconds, never across a round trip of a daemon that may be slow to
-- come back (a busy machine). False: read again and decide again. Each statement of a function
-- sees what was committed before it, so the check sees every lease written before the lock.
CREATE FUNCTION gateway_share_put(
    p_gateway text, p_worker text, p_part double precision, p_binds integer,
    p_contract_rate double precision, p_contract_binds integer, p_lease_s double precision,
    p_others_part double precision, p_others_binds integer
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found_part double precision;
    found_binds integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('alertd.gateway_shares'), hashtext(p_gateway));
    SELECT coalesce(sum(part), 0), coalesce(sum(binds), 0) INTO found_part, found_binds
    FROM gateway_shares
    WHERE gateway = p_gateway AND worker <> p_worker AND expires_at > clock_timestamp();
    IF found_part > p_others_part + 1e-9 OR found_binds > p_others_binds THEN
        RETURN false;
    END IF;
    INSERT INTO gateway_shares
        (gateway, worker, part, binds, contract_rate, contract_binds, expires_at)
    VALUES (p_gateway, p_worker, p_part, p_binds, p_contract_rate, p_contract_binds,
            now() + make_interval(secs => p_lease_s))
    ON CONFLICT (gateway, worker) DO UPDATE
    SET part = EXCLUDED.part, binds = EXCLUDED.binds, contract_rate = EXCLUDED.contract_rate,
        contract_binds = EXCLUDED.contract_binds, renewed_at = now(),
        expires_at = EXCLUDED.expires_at;
    RETURN true;
END;
$$;
