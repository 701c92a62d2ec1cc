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
