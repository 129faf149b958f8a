-- The platform's data as it was known on the run's as-of date (run_context.as_of), never "now":
-- events after the as-of day do not exist yet, and an exit dated after it has not happened yet.
-- A backtest with an earlier as-of date therefore sees what a run on that day would have seen.

CREATE OR REPLACE TEMP VIEW asof_referrals AS
SELECT r.*
FROM referrals r
WHERE r.referred_at < (SELECT as_of FROM run_context) + INTERVAL 1 DAY;

CREATE OR REPLACE TEMP VIEW asof_applications AS
SELECT a.*
FROM applications a
WHERE a.applied_at < (SELECT as_of FROM run_context) + INTERVAL 1 DAY;

CREATE OR REPLACE TEMP VIEW asof_hires AS
SELECT
    h.hire_id, h.referral_id, h.candidate_id, h.job_id, h.hired_at, h.started_at,
    CASE WHEN h.ended_at <= (SELECT as_of FROM run_context) THEN h.ended_at END AS ended_at,
    CASE WHEN h.ended_at <= (SELECT as_of FROM run_context) THEN h.end_reason END AS end_reason
FROM hires h
WHERE h.hired_at < (SELECT as_of FROM run_context) + INTERVAL 1 DAY;

-- The payouts this run must decide: pending and due, or already released (clawback candidates).
CREATE OR REPLACE TEMP VIEW asof_payouts AS
SELECT p.*,
       p.status = 'pending' AND p.eligible_at <= (SELECT as_of FROM run_context) AS is_due
FROM payouts p;
