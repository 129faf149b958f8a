-- Payouts whose own rows (payout, hire, referral, referrer, candidate, job) were rejected in this run:
-- a correction the pipeline could not read may be exactly the one that makes the bounty not owed.
CREATE OR REPLACE TEMP TABLE rejected_payout_rows AS
WITH
rejected_keys AS (
    SELECT DISTINCT table_name, record_key FROM rejects WHERE run_id = $run_id AND record_key IS NOT NULL
)
SELECT p.payout_id, k.table_name FROM payouts p
JOIN rejected_keys k ON k.table_name = 'payouts' AND k.record_key = p.payout_id
UNION
SELECT p.payout_id, k.table_name FROM payouts p
JOIN rejected_keys k ON k.table_name = 'hires' AND k.record_key = p.hire_id
UNION
SELECT p.payout_id, k.table_name FROM payouts p
JOIN rejected_keys k ON k.table_name = 'referrals' AND k.record_key = p.referral_id
UNION
SELECT p.payout_id, k.table_name FROM payouts p
JOIN rejected_keys k ON k.table_name = 'referrers' AND k.record_key = p.referrer_id
UNION
SELECT p.payout_id, k.table_name FROM payouts p
JOIN hires h ON h.hire_id = p.hire_id
JOIN rejected_keys k ON k.table_name = 'candidates' AND k.record_key = h.candidate_id
UNION
SELECT p.payout_id, k.table_name FROM payouts p
JOIN hires h ON h.hire_id = p.hire_id
JOIN rejected_keys k ON k.table_name = 'jobs' AND k.record_key = h.job_id
UNION
-- a payout row that could not be read at all is not in the current state: it is still decided (held)
SELECT DISTINCT k.record_key AS payout_id, k.table_name
FROM rejected_keys k
WHERE k.table_name = 'payouts'
  AND k.record_key NOT IN (SELECT payout_id FROM payouts);
