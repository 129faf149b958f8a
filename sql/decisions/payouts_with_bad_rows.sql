-- Payouts touched by this run's bad rows (CONTRACT.md, "Bad data"), with the reason each gets:
--   data_rejected      one of its rows could not be read this run (a correction the pipeline could not
--                      read may be exactly the one that makes the bounty not owed);
--   data_inconsistent  one of its rows is quarantined: loaded, but contradicting other data.
-- "Its rows" are the payout itself, its hire, its referral, its referrer, the hire's candidate and job,
-- and the job's company. One bad row holds its own payouts, never everyone's.
-- inputs: hires, jobs, payouts, quarantine, rejects
-- materialized: temp_table
WITH
bad_keys AS (
    SELECT DISTINCT table_name, record_key, 'data_rejected' AS reason
    FROM rejects WHERE run_id = $run_id AND record_key IS NOT NULL
    UNION
    SELECT DISTINCT table_name, record_key, 'data_inconsistent'
    FROM quarantine WHERE run_id = $run_id
),
payout_records AS (
    SELECT p.payout_id, p.hire_id, p.referral_id, p.referrer_id, h.candidate_id, h.job_id, j.company_id
    FROM payouts p
    LEFT JOIN hires h ON h.hire_id = p.hire_id
    LEFT JOIN jobs j ON j.job_id = h.job_id
),
payout_record_keys AS (
    -- one row per (payout, table, key): a single equi-join with the bad keys, a hash join at scale
    SELECT payout_id, 'payouts' AS table_name, payout_id AS record_key FROM payout_records
    UNION ALL SELECT payout_id, 'hires', hire_id FROM payout_records
    UNION ALL SELECT payout_id, 'referrals', referral_id FROM payout_records
    UNION ALL SELECT payout_id, 'referrers', referrer_id FROM payout_records
    UNION ALL SELECT payout_id, 'candidates', candidate_id FROM payout_records
    UNION ALL SELECT payout_id, 'jobs', job_id FROM payout_records
    UNION ALL SELECT payout_id, 'companies', company_id FROM payout_records
)
SELECT DISTINCT k.payout_id, b.reason
FROM payout_record_keys k JOIN bad_keys b USING (table_name, record_key)
UNION
-- a payout row that could not be read at all is not in the current state: it is still decided (held)
SELECT b.record_key AS payout_id, b.reason
FROM bad_keys b
WHERE b.table_name = 'payouts' AND b.reason = 'data_rejected'
  AND b.record_key NOT IN (SELECT payout_id FROM payouts)
