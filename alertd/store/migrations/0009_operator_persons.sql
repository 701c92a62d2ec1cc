-- Operators are persons: one active account per e-mail (compared case-insensitively) within an
-- intercommunality, so that "another approver" always means another person. The root tenant is
-- kept on the operator (the index cannot look it up in tenants).
ALTER TABLE operators ADD COLUMN identity_root bigint REFERENCES tenants (id) ON DELETE RESTRICT;
UPDATE operators o SET identity_root = coalesce(t.parent_id, t.id)
FROM tenants t WHERE t.id = o.tenant_id;
DO $$
DECLARE
    twin record;
BEGIN
    SELECT lower(email) AS email, array_agg(id ORDER BY id) AS ids INTO twin
    FROM operators
    WHERE disabled_at IS NULL AND email IS NOT NULL
    GROUP BY identity_root, lower(email)
    HAVING count(*) > 1
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'operators % share the e-mail %: one person, one account; disable all '
                        'but one (alertd operators disable ID) before upgrading', twin.ids,
                        twin.email;
    END IF;
END
$$;
CREATE UNIQUE INDEX operators_one_account_per_person
    ON operators (identity_root, lower(email))
    WHERE disabled_at IS NULL AND email IS NOT NULL;
