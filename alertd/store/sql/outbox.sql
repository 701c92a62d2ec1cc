-- The outbox: deliveries written once per (alert, subscriber), claimed in batches, recorded in
-- batches. One statement per batch on every path, never one per message.
--
-- One delivery, as a state machine (every transition is one statement below; the counters of
-- migration 0006 follow each in the same transaction):
--
--   from        event (statement)                               to
--   ----------  ----------------------------------------------  ---------------------------------
--   (none)      enqueue                                         queued
--   queued      claim (due; subscriber active/pending)          sending, new claim_token + lease
--   queued      claim finds the subscriber said STOP            cancelled ("stopped")
--   queued      claim finds the alert cancelled (a cancel that   cancelled
--               raced the enqueue)
--   sending     handover (token still ours; lease renewed when  sending, handover row written
--               less than half of it is left)
--   sending     renew (heartbeat, token still ours)             sending, lease extended
--   sending     record: accepted                                submitted (message id = attempt's)
--   sending     record: rejected                                failed
--   sending     record: retry (nothing left our side)           queued, after a back-off
--   sending     record: in_doubt, life-safety                   queued now, in_doubt
--   sending     record: in_doubt, information                   submitted, in_doubt, not resent
--   sending     record with a token that is no longer the row's nothing (accepted: kept as a
--                                                                'stale' attempt)
--   sending     expire (alert expired; token fenced)            expired
--   sending     give_back (lease ran out / shutdown), handed:   life-safety queued, information
--                                                                submitted; both in_doubt
--   sending     give_back, never handed                         queued
--   submitted   receipt for the current message id: delivered   delivered
--   submitted   receipt failed/expired, life-safety, first time queued, rerouted (id archived)
--   submitted   receipt failed/expired otherwise                failed / expired
--   submitted   no receipt in time (reroute_silent)             queued, rerouted (id archived)
--   any but     "delivered" receipt for an archived attempt     delivered (a queued resend is
--   cancelled                                                    stopped, a sending one in doubt)
--   queued      alert cancelled (alerts/lifecycle)              cancelled
--
-- Fencing: a claim takes one value of delivery_claim_tokens for all its rows; hand-over,
-- record and expiry act only on rows in 'sending' that still carry that token. A row waiting to
-- be sent (queued, sending) has no current message id: receipts for its earlier attempts are
-- matched in delivery_attempts and never finalise the resend.

-- name: enqueue
-- Idempotent: a second send, a retry or a restart never doubles a delivery (the unique key).
WITH added AS (
    INSERT INTO deliveries (alert_id, subscriber_id, priority, matched_by, language)
    SELECT $1, u.subscriber_id, $2, u.matched_by, u.language
    FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u(subscriber_id, matched_by, language)
    -- A cancel that committed between two batches of a send stops the rest of the send.
    WHERE NOT EXISTS (SELECT 1 FROM alerts WHERE id = $1 AND status = 'cancelled')
    ON CONFLICT (alert_id, subscriber_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added;

-- name: claim
-- Life-safety first, then the oldest; rows another daemon holds are skipped, not waited for.
-- The claim takes one token for all its rows; the lease says until when this daemon owns them
-- (renewed at hand-over); after it, they may be reclaimed. A subscriber who said STOP is not
-- sent anything more, nor is an alert cancelled while it was being enqueued (the cancel's
-- snapshot did not see the rows committed after it): such rows picked here are cancelled.
WITH token AS (
    SELECT nextval('delivery_claim_tokens') AS t
), picked AS (
    SELECT id FROM deliveries
    WHERE status = 'queued' AND next_attempt_at <= now()
    ORDER BY priority, next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE deliveries d
    SET status = CASE WHEN w.why IS NULL THEN 'sending' ELSE 'cancelled' END,
        error = coalesce(w.why, d.error),
        lease_until = CASE WHEN w.why IS NULL THEN now() + make_interval(secs => $2) END,
        leased_by = CASE WHEN w.why IS NULL THEN $3 END,
        claim_token = token.t,
        attempts = d.attempts + CASE WHEN w.why IS NULL THEN 1 ELSE 0 END,
        updated_at = now()
    FROM subscribers s, alerts a, token,
         LATERAL (SELECT CASE WHEN a.status = 'cancelled' THEN 'the alert was cancelled'
                              WHEN s.status = 'stopped' THEN 'the subscriber said STOP'
                         END AS why) w
    -- By the primary key: joined with picked instead, the planner hashes the whole table.
    WHERE d.id = ANY(ARRAY(SELECT id FROM picked)) AND s.id = d.subscriber_id AND a.id = d.alert_id
    RETURNING d.id, d.alert_id, d.priority, d.attempts, d.rerouted_from, d.status, d.claim_token,
              s.phone, coalesce(a.texts ->> d.language, a.texts ->> 'fr') AS text, a.expires_at
)
SELECT id, alert_id, priority, attempts, rerouted_from, claim_token, phone, text, expires_at
FROM claimed WHERE status = 'sending';

-- name: handover
-- Just before a chunk goes to a gateway: from now on, a crash leaves these in doubt. Only the
-- rows this claim ($2) still holds are handed over (and returned); the others were given back
-- and are not sent. Each handed row leaves with at least half its lease ($4) to run, renewed
-- here if need be, so that its hand-over is committed long before anyone may give it back (and
-- a give-back then counts it in doubt). $5: more of the claim's rows, whose lease is renewed the
-- same way ahead of their turn. Rows with more than half their lease left are only read: the
-- usual hand-over writes no delivery row.
WITH renewed AS (
    UPDATE deliveries SET lease_until = now() + make_interval(secs => $4)
    WHERE id = ANY($1::bigint[] || $5::bigint[]) AND status = 'sending' AND claim_token = $2
      AND lease_until < now() + make_interval(secs => $4 / 2)
    RETURNING id
), held AS (
    SELECT id FROM deliveries
    WHERE id = ANY($1::bigint[]) AND status = 'sending' AND claim_token = $2
      AND lease_until >= now() + make_interval(secs => $4 / 2)
    UNION ALL
    SELECT id FROM renewed WHERE id = ANY($1::bigint[])
), handed AS (
    INSERT INTO handovers (worker, delivery_ids, claim_token)
    SELECT $3, array_agg(id), $2 FROM held HAVING count(*) > 0
    RETURNING id
)
SELECT (SELECT id FROM handed) AS handover, ARRAY(SELECT id FROM held) AS held;

-- name: renew
-- The heartbeat of a daemon sending claim $2: the lease of its rows not recorded yet goes on.
-- Only rows with less than half their lease left are written (the heartbeat beats every third
-- of it, so none can run out between two beats).
WITH renewed AS (
    UPDATE deliveries SET lease_until = now() + make_interval(secs => $3)
    WHERE id = ANY($1::bigint[]) AND status = 'sending' AND claim_token = $2
      AND lease_until < now() + make_interval(secs => $3 / 2)
    RETURNING 1
)
SELECT count(*) FROM renewed;

-- name: record
-- The results of one gateway batch. Only the claim ($7) that still holds the rows may record
-- (fencing): a daemon that lost its lease, to a crash-and-reclaim, changes nothing; what its
-- gateway accepted anyway is kept as a stale attempt (its receipt may still come). In doubt
-- (the gateway may have sent it: a timeout or a lost connection after hand-over) follows the
-- severity's policy: life-safety sent again, information left submitted; both counted.
-- $8: the hand-overs whose rows are all in this record (closed here).
WITH results AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[],
                         $9::integer[])
        AS r(id, outcome, message_id, reason, retry_after, attempt)
), recorded AS (
    DELETE FROM handovers WHERE id = ANY($8::bigint[])
), changed AS (
    UPDATE deliveries d
    SET status = CASE r.outcome WHEN 'accepted' THEN 'submitted'
                                WHEN 'rejected' THEN 'failed'
                                WHEN 'in_doubt' THEN CASE WHEN d.priority = 0 THEN 'queued'
                                                          ELSE 'submitted' END
                                ELSE 'queued' END,
        in_doubt = d.in_doubt OR r.outcome = 'in_doubt',
        gateway = $6,
        gateway_message_id = CASE WHEN r.outcome = 'accepted' THEN r.message_id END,
        error = CASE WHEN r.outcome = 'accepted' THEN NULL
                     WHEN r.outcome = 'in_doubt' AND d.priority <> 0
                     THEN r.reason || ': in doubt, not sent again (information)'
                     ELSE r.reason END,
        next_attempt_at = CASE WHEN r.outcome IN ('retry', 'in_doubt')
                               THEN now() + make_interval(
                                   secs => coalesce(r.retry_after,
                                                    CASE WHEN r.outcome = 'retry' THEN 1 ELSE 0 END))
                               ELSE d.next_attempt_at END,
        submitted_at = CASE WHEN r.outcome IN ('accepted', 'in_doubt') THEN now()
                            ELSE d.submitted_at END,
        lease_until = NULL, leased_by = NULL, updated_at = now()
    FROM results r
    WHERE d.id = r.id AND d.status = 'sending' AND d.claim_token = $7
    RETURNING d.id, d.status, r.outcome
), parts AS (
    -- every part's id of a long message (migration delivery_parts): its receipts count too
    INSERT INTO delivery_parts (gateway, message_id, delivery_id, first_id, part, parts)
    SELECT $6, p.message_id, p.delivery_id, p.first_id, p.part, p.parts
    FROM unnest($10::bigint[], $11::text[], $12::integer[], $13::integer[], $14::text[])
        AS p(delivery_id, message_id, part, parts, first_id)
    WHERE p.delivery_id IN (SELECT id FROM changed WHERE outcome = 'accepted')
    ON CONFLICT (gateway, message_id) DO UPDATE
    SET delivery_id = EXCLUDED.delivery_id, first_id = EXCLUDED.first_id, part = EXCLUDED.part,
        parts = EXCLUDED.parts, receipt = NULL, error = NULL, receipt_at = NULL
), stale AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, claim_token, gateway, message_id, outcome)
    SELECT r.id, r.attempt, $7, $6, r.message_id, 'stale' FROM results r
    WHERE r.outcome = 'accepted' AND r.message_id IS NOT NULL
      AND r.id NOT IN (SELECT id FROM changed)
      AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.id)
)
SELECT count(*) FILTER (WHERE outcome = 'accepted') AS submitted,
       count(*) FILTER (WHERE outcome = 'rejected') AS failed,
       count(*) FILTER (WHERE outcome = 'retry') AS requeued,
       count(*) FILTER (WHERE outcome = 'in_doubt') AS in_doubt
FROM changed;

-- name: resolve_receipts
-- Which message each receipt names, before the receipts statement applies them: $1..$3 are
-- the forms its id may take (an SMSC writing ids in two bases), by receipt index, likeliest
-- first: the first form that names a delivery, an earlier attempt or a part of this gateway
-- wins. A part's receipt is recorded on the part; the whole message's state is returned:
-- delivered once every part is, failed (or expired) with the first such part named.
WITH forms AS (
    SELECT * FROM unnest($1::integer[], $2::text[], $3::text[]) WITH ORDINALITY
        AS f(idx, gateway, message_id, rank)
), resolved AS (
    SELECT DISTINCT ON (f.idx) f.idx, f.gateway, f.message_id,
           EXISTS (SELECT 1 FROM delivery_parts p
                   WHERE p.gateway = f.gateway AND p.message_id = f.message_id) AS is_part
    FROM forms f
    WHERE EXISTS (SELECT 1 FROM delivery_parts p
                  WHERE p.gateway = f.gateway AND p.message_id = f.message_id)
       OR EXISTS (SELECT 1 FROM deliveries d
                  WHERE d.gateway = f.gateway AND d.gateway_message_id = f.message_id)
       OR EXISTS (SELECT 1 FROM delivery_attempts a
                  WHERE a.gateway = f.gateway AND a.message_id = f.message_id)
    ORDER BY f.idx, f.rank
), states AS (
    SELECT * FROM unnest($4::integer[], $5::text[], $6::text[]) AS s(idx, status, error)
), parts AS (
    UPDATE delivery_parts p
    SET receipt = CASE WHEN p.receipt = 'delivered' THEN p.receipt ELSE s.status END,
        error = coalesce(s.error, p.error), receipt_at = now()
    FROM resolved r JOIN states s USING (idx)
    WHERE r.is_part AND p.gateway = r.gateway AND p.message_id = r.message_id
      AND s.status IN ('delivered', 'failed', 'expired')
    RETURNING p.gateway, p.first_id, p.message_id, p.part, p.parts, p.receipt, p.error
), every_part AS (
    SELECT gateway, first_id, part, parts, receipt, error FROM parts
    UNION ALL
    SELECT p.gateway, p.first_id, p.part, p.parts, p.receipt, p.error FROM delivery_parts p
    WHERE (p.gateway, p.first_id) IN (SELECT gateway, first_id FROM parts)
      AND (p.gateway, p.message_id) NOT IN (SELECT gateway, message_id FROM parts)
), whole AS (
    SELECT gateway, first_id,
           count(*) FILTER (WHERE receipt = 'delivered') = max(parts) AS delivered,
           (array_agg(receipt ORDER BY part)
                FILTER (WHERE receipt IN ('failed', 'expired')))[1] AS failed,
           (array_agg('part ' || part || ' of ' || parts || coalesce(': ' || error, '')
                      ORDER BY part) FILTER (WHERE receipt IN ('failed', 'expired')))[1] AS why
    FROM every_part GROUP BY gateway, first_id
)
SELECT r.idx, r.message_id, r.is_part, w.first_id,
       CASE WHEN w.failed IS NOT NULL THEN w.failed WHEN w.delivered THEN 'delivered' END
           AS whole,
       w.why
FROM resolved r
LEFT JOIN parts p ON r.is_part AND p.gateway = r.gateway AND p.message_id = r.message_id
LEFT JOIN whole w ON w.gateway = p.gateway AND w.first_id = p.first_id;

-- name: receipts
-- Delivery receipts, matched by the gateway's message id: first the current attempt of a
-- submitted delivery, then the earlier attempts kept in delivery_attempts. A late "buffered"
-- never undoes a final state. A life-safety delivery reported failed goes back to the queue
-- once, to be sent through another gateway (its attempt's id is archived); the second failure
-- is final. A receipt for an earlier attempt is recorded on that attempt and never finalises a
-- resend, except "delivered": the resident has it, so the delivery is delivered (a queued resend
-- is stopped; one being sent is counted in doubt).
WITH receipts AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        AS r(gateway, message_id, status, error)
    WHERE r.status IN ('delivered', 'failed', 'expired')
), current AS (
    UPDATE deliveries d
    SET status = CASE WHEN r.status <> 'delivered' AND d.priority = 0 AND d.rerouted_from IS NULL
                      THEN 'queued' ELSE r.status END,
        rerouted_from = CASE WHEN r.status <> 'delivered' AND d.priority = 0
                             THEN coalesce(d.rerouted_from, d.gateway) ELSE d.rerouted_from END,
        gateway_message_id = CASE WHEN r.status <> 'delivered' AND d.priority = 0
                                       AND d.rerouted_from IS NULL
                                  THEN NULL ELSE d.gateway_message_id END,
        next_attempt_at = now(),
        error = coalesce(r.error, d.error),
        delivered_at = CASE WHEN r.status = 'delivered' THEN now() ELSE d.delivered_at END,
        updated_at = now()
    FROM receipts r
    WHERE d.gateway = r.gateway AND d.gateway_message_id = r.message_id
      AND d.status = 'submitted'
    RETURNING d.id, d.status, d.attempts, d.claim_token, r.gateway, r.message_id,
              r.status AS receipt, r.error
), archived AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, claim_token, gateway, message_id,
                                   outcome, receipt, error, receipt_at)
    SELECT id, attempts, claim_token, gateway, message_id, 'accepted', receipt, error, now()
    FROM current WHERE status = 'queued'
), past AS (
    UPDATE delivery_attempts p
    SET receipt = r.status, error = coalesce(r.error, p.error), receipt_at = now()
    FROM receipts r
    WHERE p.gateway = r.gateway AND p.message_id = r.message_id
      AND p.receipt IS DISTINCT FROM 'delivered'
    RETURNING p.delivery_id, p.gateway, p.message_id, r.status AS receipt
), late_delivered AS (
    UPDATE deliveries d
    SET status = 'delivered', delivered_at = now(), in_doubt = d.in_doubt OR d.status = 'sending',
        lease_until = NULL, leased_by = NULL,
        error = 'delivered by an earlier attempt through ' || p.gateway, updated_at = now()
    FROM (SELECT DISTINCT ON (delivery_id) delivery_id, gateway FROM past
          WHERE receipt = 'delivered') p
    WHERE d.id = p.delivery_id AND d.status NOT IN ('delivered', 'cancelled')
      AND d.id NOT IN (SELECT id FROM current)
)
SELECT gateway, message_id AS gateway_message_id FROM current
UNION ALL
SELECT gateway, message_id FROM past;

-- name: reroute_silent
-- Life-safety deliveries submitted more than $1 seconds ago with no final receipt: the operator
-- may have lost them. Each goes back to the queue once, to be sent through another gateway; the
-- attempt's message id is archived (its receipt may still come, and then it counts).
-- Found through the recent life-safety alerts, so that no index is paid on the hot path.
WITH silent AS (
    SELECT d.id, d.attempts, d.claim_token, d.gateway, d.gateway_message_id FROM deliveries d
    WHERE d.alert_id IN (SELECT id FROM alerts WHERE severity = 'life_safety'
                                                AND created_at > now() - interval '7 days')
      AND d.status = 'submitted' AND d.priority = 0 AND d.rerouted_from IS NULL
      AND d.gateway_message_id IS NOT NULL  -- accepted without an id: no receipt will come
      AND d.submitted_at < now() - make_interval(secs => $1)
    FOR UPDATE SKIP LOCKED
), archived AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, claim_token, gateway, message_id, outcome)
    SELECT id, attempts, claim_token, gateway, gateway_message_id, 'accepted' FROM silent
    WHERE gateway IS NOT NULL AND gateway_message_id IS NOT NULL
), changed AS (
    UPDATE deliveries d
    SET status = 'queued', rerouted_from = d.gateway, next_attempt_at = now(),
        gateway_message_id = NULL,
        error = 'no receipt from ' || d.gateway || ' in time: sent again through another gateway',
        updated_at = now()
    FROM silent WHERE d.id = silent.id
    RETURNING 1
)
SELECT count(*) FROM changed;

-- name: give_back
-- Deliveries a daemon held while sending, given back: those whose lease ran out (its daemon
-- died or stalled; $1 is NULL), or all of daemon $1's on shutdown. The gateway may or may not
-- have taken those it was handed (a hand-over of the same claim token): they are marked in
-- doubt and counted. Life-safety ones are sent again (twice is better than never); information
-- ones are not (left as submitted, in doubt). Those never handed over are simply queued again.
-- The claim token is kept on the row until the next claim: a late record of the lost claim
-- then finds the row no longer 'sending' and changes nothing.
WITH taken AS (
    SELECT id, claim_token FROM deliveries
    WHERE status = 'sending'
      AND (($1::text IS NULL AND lease_until < now()) OR leased_by = $1::text)
    FOR UPDATE SKIP LOCKED
), forgotten AS (
    DELETE FROM handovers h
    WHERE h.claim_token IN (SELECT DISTINCT claim_token FROM taken)
      AND h.delivery_ids && ARRAY(SELECT id FROM taken)
    RETURNING h.delivery_ids
), handed AS (
    SELECT DISTINCT unnest(delivery_ids) AS id FROM forgotten
), given_back AS (
    UPDATE deliveries d
    SET status = CASE WHEN h.id IS NOT NULL AND d.priority <> 0 THEN 'submitted'
                      ELSE 'queued' END,
        in_doubt = d.in_doubt OR h.id IS NOT NULL, lease_until = NULL, leased_by = NULL,
        error = CASE WHEN h.id IS NOT NULL AND d.priority <> 0
                     THEN 'in doubt after a daemon stopped: not sent again (information)'
                     ELSE d.error END,
        next_attempt_at = now(), updated_at = now()
    FROM taken t LEFT JOIN handed h ON h.id = t.id
    WHERE d.id = t.id
    RETURNING 1
)
SELECT count(*) FROM given_back;

-- name: progress
-- From the counters the triggers keep (migration 0006), not by counting the deliveries.
SELECT status, sum(n) AS n, coalesce(sum(n) FILTER (WHERE in_doubt), 0) AS in_doubt,
       coalesce(sum(n) FILTER (WHERE rerouted), 0) AS rerouted
FROM delivery_counts WHERE alert_id = $1 GROUP BY status HAVING sum(n) > 0;

-- name: expire
-- Deliveries claimed after their alert's expiry: they stop, they are not sent late.
WITH expired AS (
    UPDATE deliveries
    SET status = 'expired', error = 'the alert expired before it could be sent',
        lease_until = NULL, leased_by = NULL, updated_at = now()
    WHERE id = ANY($1::bigint[]) AND status = 'sending' AND claim_token = $2
    RETURNING 1
)
SELECT count(*) FROM expired;

-- name: daemons
-- The daemons (`alertd serve`) connected to this database now; each names its connections
-- 'alertd serve <host>:<pid>'.
SELECT count(DISTINCT application_name) FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE $1 || ' %';
