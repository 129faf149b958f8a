-- Whole-history and cross-table data checks, as one cheap DuckDB pass over the current state.
-- Each row is one named check with the number of violating rows; the Great Expectations gate then
-- expects every count to be 0, and fails when a check named in validate.CROSS_TABLE_CHECKS is
-- missing. Add a check by adding a UNION ALL branch (and its name there).
-- Single-row rules (amounts, ranges, codes, syntax) are not here: validate.ROW_RULES declares them
-- once for the GX suites on this run's rows and the SQL scan over earlier runs' rows.
WITH
-- each join once, shared by the checks that need it (at ten million referrals the joins are the cost)
hires_with_referral AS MATERIALIZED (
    SELECT h.hire_id, h.hired_at, r.referred_at, h.referral_id,
           h.job_id <> r.job_id OR h.candidate_id <> r.candidate_id AS other_job_or_candidate
    FROM hires h JOIN referrals r USING (referral_id)
),
payouts_with_hire AS MATERIALIZED (
    SELECT p.payout_id, p.eligible_at, p.referral_id AS payout_referral_id, p.referrer_id AS payout_referrer_id,
           h.started_at, h.referral_id AS hire_referral_id, j.guarantee_days, r.referrer_id AS referral_referrer_id
    FROM payouts p
    JOIN hires h USING (hire_id)
    JOIN jobs j ON j.job_id = h.job_id
    LEFT JOIN referrals r ON r.referral_id = p.referral_id
),
-- a hire owes one bounty: a second live payout for it would be paid twice
hires_with_several_payouts AS (
    SELECT hire_id
    FROM payouts
    WHERE status NOT IN ('void', 'clawed_back')
    GROUP BY hire_id
    HAVING count(*) > 1
)
SELECT 'referral_before_hire' AS check_name, 'hires' AS table_name,
       count(*) FILTER (WHERE referred_at > hired_at) AS violations
FROM hires_with_referral
UNION ALL
SELECT 'start_before_end', 'hires', count(*) FILTER (WHERE ended_at < started_at) FROM hires
UNION ALL
SELECT 'eligible_at_is_start_plus_guarantee', 'payouts',
       count(*) FILTER (WHERE eligible_at <> started_at + guarantee_days) FROM payouts_with_hire
UNION ALL
SELECT 'payout_matches_hire_referral', 'payouts',
       count(*) FILTER (WHERE payout_referral_id IS DISTINCT FROM hire_referral_id
                           OR payout_referrer_id IS DISTINCT FROM referral_referrer_id)
FROM payouts_with_hire
UNION ALL
SELECT 'one_payout_per_hire', 'payouts', count(*) FROM hires_with_several_payouts
UNION ALL
SELECT 'payout_amount_is_the_job_bounty', 'payouts', count(*)
FROM payouts p JOIN hires h USING (hire_id) JOIN jobs j ON j.job_id = h.job_id
WHERE p.amount <> j.bounty_amount OR p.currency <> j.currency
UNION ALL
SELECT 'released_payout_has_released_at', 'payouts',
       count(*) FILTER (WHERE status = 'released' AND released_at IS NULL) FROM payouts
UNION ALL
SELECT 'hire_job_matches_referral_job', 'hires', count(*) FILTER (WHERE other_job_or_candidate)
FROM hires_with_referral
-- Foreign keys of the rows loaded by this run ($run_id). Ingest refuses a row whose parent is unknown,
-- and rows are never deleted (volume_not_shrinking guards that), so rows of earlier runs cannot lose
-- their parents unless the file was damaged; checking only this run's rows keeps the anti-joins small.
UNION ALL
SELECT 'job_company_exists', 'jobs', count(*) FROM jobs j
WHERE j._loaded_run_id = $run_id AND NOT EXISTS (SELECT 1 FROM companies x WHERE x.company_id = j.company_id)
UNION ALL
SELECT 'referral_parents_exist', 'referrals', count(*) FROM referrals r
WHERE r._loaded_run_id = $run_id
  AND (NOT EXISTS (SELECT 1 FROM referrers x WHERE x.referrer_id = r.referrer_id)
       OR NOT EXISTS (SELECT 1 FROM candidates x WHERE x.candidate_id = r.candidate_id)
       OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.job_id = r.job_id))
UNION ALL
SELECT 'application_parents_exist', 'applications', count(*) FROM applications a
WHERE a._loaded_run_id = $run_id
  AND (NOT EXISTS (SELECT 1 FROM candidates x WHERE x.candidate_id = a.candidate_id)
       OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.job_id = a.job_id))
UNION ALL
SELECT 'hire_parents_exist', 'hires', count(*) FROM hires h
WHERE h._loaded_run_id = $run_id
  AND ((h.referral_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM referrals x WHERE x.referral_id = h.referral_id))
       OR NOT EXISTS (SELECT 1 FROM candidates x WHERE x.candidate_id = h.candidate_id)
       OR NOT EXISTS (SELECT 1 FROM jobs x WHERE x.job_id = h.job_id))
UNION ALL
SELECT 'payout_parents_exist', 'payouts', count(*) FROM payouts p
WHERE p._loaded_run_id = $run_id
  AND (NOT EXISTS (SELECT 1 FROM hires x WHERE x.hire_id = p.hire_id)
       OR NOT EXISTS (SELECT 1 FROM referrals x WHERE x.referral_id = p.referral_id)
       OR NOT EXISTS (SELECT 1 FROM referrers x WHERE x.referrer_id = p.referrer_id))
