-- Retention ([retention] in bountyguard/default_config.toml): older runs' working state leaves the
-- DuckDB file, so the file does not grow by a copy of every person and flag each day. Only runs that
-- published a report are pruned, and their published folders (report.json, flags.csv,
-- payout_decisions.csv, identities.csv) stay: what a run decided can always be read there.
-- Kept whatever the retention: payout_decisions (an earlier clean run's void is final, and the
-- decision step reads it), reports, runs, load_stats, validation_results and the row-level audit
-- tables, which are small.
-- Runs are aged by run_id (as-of date, then sequence), never by wall clock.
CREATE OR REPLACE TEMP TABLE retention_runs AS
SELECT run_id, row_number() OVER (ORDER BY run_id DESC) + 1 AS newest_first
FROM runs
WHERE step = 'published' AND run_id <> $run_id;  -- the run publishing now keeps everything

DELETE FROM run_flag_generations
WHERE run_id IN (SELECT run_id FROM retention_runs WHERE newest_first > $keep_flags_runs);

-- the flag versions no kept run sees any more: ended at or before the oldest kept generation
DELETE FROM flag_versions
WHERE to_generation <= (SELECT min(generation) FROM run_flag_generations);

DELETE FROM run_identity_generations
WHERE run_id IN (SELECT run_id FROM retention_runs WHERE newest_first > $keep_identities_runs);

-- the versions no kept run sees any more: ended at or before the oldest kept generation
DELETE FROM record_person_versions
WHERE to_generation <= (SELECT min(generation) FROM run_identity_generations);

DROP TABLE retention_runs;
