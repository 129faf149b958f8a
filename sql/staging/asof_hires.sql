-- The platform's data as it was known on the run's as-of date (run_context.as_of), never "now":
-- events after the as-of day do not exist yet, and an exit dated after it has not happened yet.
-- A backtest with an earlier as-of date therefore sees what a run on that day would have seen.
-- Hires agreed by the end of the as-of day; an exit dated after it has not happened yet.
-- inputs: hires, run_context
SELECT
    h.hire_id, h.referral_id, h.candidate_id, h.job_id, h.hired_at, h.started_at,
    CASE WHEN h.ended_at <= (SELECT as_of FROM run_context) THEN h.ended_at END AS ended_at,
    CASE WHEN h.ended_at <= (SELECT as_of FROM run_context) THEN h.end_reason END AS end_reason
FROM hires h
WHERE h.hired_at < (SELECT as_of FROM run_context) + INTERVAL 1 DAY
