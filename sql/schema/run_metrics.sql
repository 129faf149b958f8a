-- Run metrics for ops engineers: what each run read, rejected, flagged and decided, the money it
-- released, held and clawed back, and each step's duration and peak memory. One row per run, metric
-- and key (a table name, a pattern code, a decision, a currency, a step), so that `bountyguard runs
-- show`, report.json ("run_metrics") and Airflow's Stats (bountyguard.<metric>.<key>) read one shape.
-- Step durations and memory are wall-clock facts about this machine: never part of a digest.
CREATE TABLE IF NOT EXISTS run_metrics (
    run_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,   -- rows_in, rows_loaded, rows_rejected, rows_quarantined, validation_success,
                               -- validation_failed_checks, flags, decisions, money_released, money_held,
                               -- money_clawed_back, step_seconds, step_peak_memory_mb
    key VARCHAR NOT NULL,      -- table, pattern, decision, currency or step; 'all' for a run-wide value
    value DOUBLE NOT NULL,
    PRIMARY KEY (run_id, metric, key)
);
