-- The platform's data as it was known on the run's as-of date (run_context.as_of), never "now":
-- events after the as-of day do not exist yet, and an exit dated after it has not happened yet.
-- A backtest with an earlier as-of date therefore sees what a run on that day would have seen.
-- Every payout, marked is_due when it is pending with eligible_at on or before the as-of date: the run
-- decides those, and released ones (clawback candidates).
-- inputs: payouts, run_context
SELECT p.*,
       p.status = 'pending' AND p.eligible_at <= (SELECT as_of FROM run_context) AS is_due
FROM payouts p
