-- Leases on shares of the gateways' contracts (issue 18; migration 0017). One renewal is two
-- statements per gateway (read, then a conditional write), a few times per lease: never on the
-- path of a message.

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
-- This daemon's lease, unless the others' have grown since it read them (false: read again).
SELECT gateway_share_put($1, $2, $3, $4, $5, $6, $7, $8, $9)

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
