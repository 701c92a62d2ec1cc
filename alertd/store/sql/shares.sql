-- Leases on shares of the gateways' contracts (issue 18; migration 0017). One renewal is one
-- short transaction per gateway, a few times per lease: never on the path of a message.

-- name: lock_gateway
-- Renewals of one gateway's shares one at a time, whichever daemon runs them.
SELECT pg_advisory_xact_lock(hashtext('alertd.gateway_shares'), hashtext($1))

-- name: live
-- The gateway's shares in force (expired ones are deleted first: their holders are gone or cut
-- off, and hold nothing any more), oldest holder first.
WITH gone AS (
    DELETE FROM gateway_shares WHERE gateway = $1 AND expires_at <= now()
)
SELECT worker, part, binds, extract(epoch FROM expires_at - now())::float8 AS expires_in_s
FROM gateway_shares
WHERE gateway = $1 AND expires_at > now()
ORDER BY joined_at, worker

-- name: put
INSERT INTO gateway_shares
    (gateway, worker, part, binds, contract_rate, contract_binds, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
ON CONFLICT (gateway, worker) DO UPDATE
SET part = EXCLUDED.part, binds = EXCLUDED.binds, contract_rate = EXCLUDED.contract_rate,
    contract_binds = EXCLUDED.contract_binds, renewed_at = now(),
    expires_at = EXCLUDED.expires_at

-- name: leave
-- A daemon stopping cleanly: its shares are free at once rather than when they expire.
DELETE FROM gateway_shares WHERE worker = $1

-- name: shares
-- Every share in force, for `alertd gateways list` and the metrics.
SELECT gateway, worker, part, binds, contract_rate, contract_binds, renewed_at,
       extract(epoch FROM expires_at - now())::float8 AS expires_in_s
FROM gateway_shares
WHERE expires_at > now()
ORDER BY gateway, joined_at, worker
