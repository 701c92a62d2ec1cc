-- name: insert_operator
-- identity_root: the intercommunality within which the e-mail names one person.
INSERT INTO operators (tenant_id, name, email, role, token_hash, token_prefix, identity_root,
                       topics)
VALUES ($1, $2, $3, $4, $5, $6,
        (SELECT coalesce(parent_id, id) FROM tenants WHERE id = $1), $7)
RETURNING id, tenant_id, name, email, role, token_prefix, created_at, disabled_at;

-- name: list_operators
SELECT o.id, t.code AS tenant_code, o.name, o.email, o.role, o.token_prefix, o.created_at,
       o.last_used_at, o.disabled_at
FROM operators o JOIN tenants t ON t.id = o.tenant_id
WHERE $1::text IS NULL OR t.code = $1
ORDER BY t.code, o.id;

-- name: set_token
UPDATE operators SET token_hash = $2, token_prefix = $3
WHERE id = $1 AND disabled_at IS NULL
RETURNING id, tenant_id, name, role, token_prefix;

-- name: disable
UPDATE operators SET disabled_at = now()
WHERE id = $1 AND disabled_at IS NULL
RETURNING id, tenant_id, name, role;

-- name: by_token
-- last_used_at is written at most once a minute: an API client's every request would otherwise
-- write (and lock) the operator's row, queueing that token's concurrent requests behind it.
WITH found AS (
    SELECT o.id, o.tenant_id, t.code AS tenant_code, o.name, o.role, o.token_kind, o.topics,
           o.last_used_at
    FROM operators o JOIN tenants t ON t.id = o.tenant_id
    WHERE o.token_hash = $1 AND o.disabled_at IS NULL
), touched AS (
    UPDATE operators SET last_used_at = now()
    WHERE id = (SELECT id FROM found)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT id, tenant_id, tenant_code, name, role, token_kind, topics FROM found;

-- name: account_of
-- The active account of this e-mail within the intercommunality of tenant $1.
SELECT o.id, o.name, o.role FROM operators o
WHERE o.disabled_at IS NULL AND lower(o.email) = lower($2)
  AND o.identity_root = (SELECT coalesce(parent_id, id) FROM tenants WHERE id = $1);

-- name: same_person
-- One account, or two accounts with the same e-mail (disabled ones count: a person does not
-- become someone else by disabling an account).
SELECT $1::bigint = $2::bigint OR EXISTS (
    SELECT 1 FROM operators a, operators b
    WHERE a.id = $1 AND b.id = $2 AND lower(a.email) = lower(b.email)
      AND a.identity_root = b.identity_root
);

-- name: tenant_of
SELECT o.tenant_id, t.code, o.name, o.role, o.token_kind, o.topics
FROM operators o JOIN tenants t ON t.id = o.tenant_id
WHERE o.id = $1;

-- name: set_token_kind
UPDATE operators SET token_kind = $2 WHERE id = $1 RETURNING tenant_id;

-- name: any_operator
SELECT EXISTS (SELECT 1 FROM operators);

-- name: lock_for_first_admin
-- Two "first admins" created at once on an empty database: the second waits, then finds one.
LOCK TABLE operators IN SHARE ROW EXCLUSIVE MODE;
