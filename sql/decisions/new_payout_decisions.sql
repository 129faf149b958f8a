-- The one place that decides payouts. For every pending payout that is due on the as-of date, and
-- every released payout this run finds was not owed or went to serious abuse:
--   void      the bounty is not owed: its hire ended before the guarantee end, or its referral does
--             not own the candidate (a not-owed pattern on its hire or referral); final: a payout
--             an earlier clean report voided stays void
--   hold      one of its own rows was rejected or quarantined (data_rejected, data_inconsistent),
--             the run is not clean or failed (data_not_clean, run_failed), an analyst holds it
--             (analyst_hold), or a flag of a hold severity touches its referral, hire, referrer
--             person or candidate person
--   clawback  already released, but not owed, or touched by a high-severity abuse pattern
--   release   none of the above (an analyst's release also lifts the holds the analyst saw, never a
--             void; a pattern found after the analyst decided holds the payout again)
-- Every decision but release carries at least one reason code (CONTRACT.md, Output).
-- Parameters: $run_id, $closed_reason (NULL, 'data_not_clean' or 'run_failed'), $hold_severities,
-- $not_owed_patterns, $clawback_patterns. Inputs besides the run's tables: payouts_with_bad_rows,
-- analyst_decision_input (temp tables the decision step builds first).
-- inputs: analyst_decision_input, asof_payouts, flags, payout_decisions, payouts, payouts_with_bad_rows, person_records, reports, stints
WITH
payouts_in_scope AS (
    -- decided by the platform's status, as the contract says (a pending payout is released, held or
    -- voided; only a released one is clawed back). A payout bountyguard's own ledger already paid is
    -- never paid twice (the ledger), and its void is listed for clawback by the payout job.
    SELECT p.payout_id, p.status, p.hire_id, p.referral_id, p.referrer_id,
           s.candidate_person_id,
           coalesce(rp.person_id, 'referrer:' || p.referrer_id) AS referrer_person_id
    FROM asof_payouts p
    LEFT JOIN stints s ON s.hire_id = p.hire_id
    LEFT JOIN person_records rp ON rp.record_type = 'referrer' AND rp.record_id = p.referrer_id
    WHERE p.is_due OR p.status = 'released'
),
run_flags AS (
    SELECT pattern, entity_type, entity_id, person_id, severity FROM flags WHERE run_id = $run_id
),
touching_flags AS (
    -- flags on the payout itself, its hire or its referral (one equi-join each: hash joins at scale)
    SELECT p.payout_id, f.pattern, f.severity, TRUE AS on_own_records
    FROM payouts_in_scope p JOIN run_flags f ON f.entity_type = 'payout' AND f.entity_id = p.payout_id
    UNION ALL
    SELECT p.payout_id, f.pattern, f.severity, TRUE
    FROM payouts_in_scope p JOIN run_flags f ON f.entity_type = 'hire' AND f.entity_id = p.hire_id
    UNION ALL
    SELECT p.payout_id, f.pattern, f.severity, TRUE
    FROM payouts_in_scope p JOIN run_flags f ON f.entity_type = 'referral' AND f.entity_id = p.referral_id
    UNION ALL
    -- flags about the persons behind it (in any role, whichever of their records the flag names);
    -- a not-owed pattern is about one referral or hire only and never spreads to a person's others
    SELECT p.payout_id, f.pattern, f.severity, FALSE
    FROM payouts_in_scope p JOIN run_flags f ON f.person_id = p.candidate_person_id
    WHERE NOT list_contains($not_owed_patterns, f.pattern)
    UNION ALL
    SELECT p.payout_id, f.pattern, f.severity, FALSE
    FROM payouts_in_scope p JOIN run_flags f ON f.person_id = p.referrer_person_id
    WHERE NOT list_contains($not_owed_patterns, f.pattern)
      AND p.referrer_person_id IS DISTINCT FROM p.candidate_person_id  -- a self-referral counts once
),
payout_flags AS (
    SELECT
        payout_id,
        list_sort(list_distinct(list(pattern) FILTER (
            WHERE on_own_records AND list_contains($not_owed_patterns, pattern)))) AS not_owed,
        list_sort(list_distinct(list(pattern) FILTER (
            WHERE list_contains($hold_severities, severity)))) AS holding,
        list_sort(list_distinct(list(pattern) FILTER (
            WHERE severity = 'high' AND list_contains($clawback_patterns, pattern)))) AS abusive
    FROM touching_flags
    GROUP BY payout_id
),
earlier_voids AS (
    -- void is final: a payout that an earlier clean report voided stays void, with its reasons
    SELECT d.payout_id, arg_max(d.reasons, d.run_id) AS reasons
    FROM payout_decisions d
    JOIN reports r ON r.run_id = d.run_id AND r.status = 'clean'
    WHERE d.decision = 'void' AND d.run_id <> $run_id
    GROUP BY d.payout_id
),
bad_rows AS (
    -- this run's rejected or quarantined rows among the payout's own records (payouts_with_bad_rows.sql)
    SELECT payout_id, list_sort(list_distinct(list(reason))) AS reasons
    FROM payouts_with_bad_rows
    GROUP BY payout_id
),
decided AS (
    SELECT
        p.payout_id,
        p.status,
        coalesce(f.not_owed, []) AS not_owed,
        coalesce(f.holding, []) AS holding,
        coalesce(f.abusive, []) AS abusive,
        a.decision AS analyst_decision,
        coalesce(a.reasons_seen, []) AS analyst_reasons_seen,
        coalesce(b.reasons, []) AS bad_row_reasons,
        v.reasons AS earlier_void_reasons
    FROM payouts_in_scope p
    LEFT JOIN payout_flags f USING (payout_id)
    LEFT JOIN analyst_decision_input a USING (payout_id)
    LEFT JOIN bad_rows b USING (payout_id)
    LEFT JOIN earlier_voids v USING (payout_id)
)
SELECT payout_id, decision, array_to_string(reasons, ';') AS reasons
FROM (
    -- payouts whose row this run could not read: no data to decide on, so they are held
    SELECT DISTINCT payout_id, 'hold' AS decision, ['data_rejected'] AS reasons
    FROM payouts_with_bad_rows
    WHERE payout_id NOT IN (SELECT payout_id FROM payouts)
    UNION ALL
    SELECT
        payout_id,
        CASE
            WHEN status = 'released' AND (len(not_owed) > 0 OR len(abusive) > 0) THEN 'clawback'
            WHEN status = 'released' THEN NULL
            WHEN earlier_void_reasons IS NOT NULL THEN 'void'
            -- its own rows are doubtful: not even a void (which is final) is decided on them
            WHEN len(bad_row_reasons) > 0 THEN 'hold'
            WHEN len(not_owed) > 0 THEN 'void'
            WHEN analyst_decision = 'void' THEN 'void'
            WHEN $closed_reason IS NOT NULL THEN 'hold'
            -- an analyst's release lifts the holds the analyst saw, not patterns found since
            WHEN analyst_decision = 'release' AND list_has_all(analyst_reasons_seen, holding) THEN 'release'
            WHEN analyst_decision = 'hold' OR len(holding) > 0 THEN 'hold'
            ELSE 'release'
        END AS decision,
        -- the codes behind the decision: pattern codes first, then the data, run or analyst code
        CASE
            WHEN status = 'released' THEN list_sort(list_distinct(list_concat(not_owed, abusive)))
            WHEN earlier_void_reasons IS NOT NULL THEN string_split(earlier_void_reasons, ';')
            WHEN len(bad_row_reasons) > 0
                THEN list_concat(list_sort(list_distinct(list_concat(not_owed, holding))), bad_row_reasons)
            WHEN len(not_owed) > 0 THEN not_owed
            WHEN analyst_decision = 'void' THEN list_append(holding, 'analyst_void')
            WHEN $closed_reason IS NOT NULL THEN list_append(holding, $closed_reason)
            WHEN analyst_decision = 'release' AND list_has_all(analyst_reasons_seen, holding) THEN []
            WHEN analyst_decision = 'hold' THEN list_append(holding, 'analyst_hold')
            ELSE holding
        END AS reasons
    FROM decided
)
WHERE decision IS NOT NULL
ORDER BY payout_id
