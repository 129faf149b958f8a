-- The platform's data as it was known on the run's as-of date (run_context.as_of), never "now":
-- events after the as-of day do not exist yet, and an exit dated after it has not happened yet.
-- A backtest with an earlier as-of date therefore sees what a run on that day would have seen.
-- Candidates' own applications made by the end of the as-of day.
-- inputs: applications, run_context
SELECT a.*
FROM applications a
WHERE a.applied_at < (SELECT as_of FROM run_context) + INTERVAL 1 DAY
