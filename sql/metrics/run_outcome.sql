-- What one run ($run_id) read, rejected, flagged and decided, and the money behind its decisions, as
-- rows of run_metrics (metric, key, value). Run by bountyguard/run_metrics.py when the run publishes.
-- inputs: load_stats, quarantine, validation_results, flags, payout_decisions, payouts
SELECT 'rows_in' AS metric, table_name AS key, rows_in::DOUBLE AS value FROM load_stats WHERE run_id = $run_id
UNION ALL
SELECT 'rows_loaded', table_name, rows_loaded FROM load_stats WHERE run_id = $run_id
UNION ALL
SELECT 'rows_rejected', table_name, rows_rejected FROM load_stats WHERE run_id = $run_id
UNION ALL
SELECT 'rows_quarantined', table_name, count(DISTINCT record_key) FROM quarantine WHERE run_id = $run_id GROUP BY ALL
UNION ALL
SELECT 'validation_success', 'all', CASE WHEN bool_and(success) THEN 1 ELSE 0 END
FROM validation_results WHERE run_id = $run_id HAVING count(*) > 0
UNION ALL
SELECT 'validation_failed_checks', 'all', count(*) FILTER (WHERE NOT success)
FROM validation_results WHERE run_id = $run_id HAVING count(*) > 0
UNION ALL
SELECT 'flags', pattern, count(*) FROM flags WHERE run_id = $run_id GROUP BY ALL
UNION ALL
SELECT 'decisions', decision, count(*) FROM payout_decisions WHERE run_id = $run_id GROUP BY ALL
UNION ALL
-- money per currency; a payout whose row was rejected has no amount here and counts in `decisions` only
SELECT CASE d.decision WHEN 'release' THEN 'money_released' WHEN 'hold' THEN 'money_held'
                       ELSE 'money_clawed_back' END,
       p.currency, sum(p.amount)::DOUBLE
FROM payout_decisions d JOIN payouts p USING (payout_id)
WHERE d.run_id = $run_id AND d.decision IN ('release', 'hold', 'clawback')
GROUP BY ALL
