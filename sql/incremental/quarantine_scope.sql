-- Which rows a daily run checks again for quarantine (bountyguard/validate.py): those whose inputs
-- changed since the run that last checked every row it had to ($base_run_id), and those that run
-- quarantined. Any other row was not quarantined then and reads what it read then, so it is not now.
-- That holds because
--   a row changes only by being loaded again (ingest upserts and stamps _loaded_run_id; no platform
--   row is ever deleted, so a parent that existed still does; `forget` only blanks personal fields,
--   which no check reads but as a value rule, and a blank passes every value rule but not_null on a
--   key, which `forget` never blanks);
--   each check reads only the rows named below for its row: a hire its referral; a payout its hire,
--   the hire's job, its referral and the other payouts of its hire (one_payout_per_hire).
-- No check reads the as-of date. The set may hold more than changed; checking an unchanged row again
-- finds what it found.
CREATE OR REPLACE TEMP TABLE quarantine_loaded_runs AS
SELECT run_id FROM runs WHERE NOT list_contains($loaded_runs::VARCHAR[], run_id);

CREATE OR REPLACE TEMP TABLE quarantine_scope AS
WITH
loaded_referrals AS (
    SELECT referral_id FROM referrals WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
),
loaded_hires AS (
    SELECT hire_id FROM hires WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
),
loaded_jobs AS (
    SELECT job_id FROM jobs WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
),
hires_to_check AS (
    SELECT hire_id FROM loaded_hires
    UNION
    SELECT hire_id FROM hires WHERE referral_id IN (SELECT referral_id FROM loaded_referrals)
),
payouts_touched AS (
    SELECT payout_id, hire_id FROM payouts
    WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
       OR hire_id IN (SELECT hire_id FROM loaded_hires)
       OR hire_id IN (SELECT hire_id FROM hires WHERE job_id IN (SELECT job_id FROM loaded_jobs))
       OR referral_id IN (SELECT referral_id FROM loaded_referrals)
),
payouts_to_check AS (
    -- with every other payout of their hires: a hire's live payouts are quarantined together
    SELECT payout_id FROM payouts_touched
    UNION
    SELECT payout_id FROM payouts WHERE hire_id IN (SELECT hire_id FROM payouts_touched)
)
SELECT 'hires' AS table_name, hire_id AS record_key FROM hires_to_check
UNION
SELECT 'payouts', payout_id FROM payouts_to_check
UNION
SELECT 'referrals', referral_id FROM loaded_referrals
UNION
SELECT 'jobs', job_id FROM loaded_jobs
UNION
SELECT 'referrers', referrer_id FROM referrers WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
UNION
SELECT 'candidates', candidate_id FROM candidates WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
UNION
SELECT 'companies', company_id FROM companies WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
UNION
SELECT 'applications', application_id FROM applications
WHERE _loaded_run_id IN (SELECT run_id FROM quarantine_loaded_runs)
UNION
SELECT table_name, record_key FROM quarantine WHERE run_id = $base_run_id;
