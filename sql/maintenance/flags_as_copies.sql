-- Going back to a version before flags were stored as versions (bountyguard/flag_versions.py): such a
-- version inserts each run's flags into a table `flags`, and fails on the view this version keeps
-- under that name ("flags is not an table"), holding every payout. Run this once on the DuckDB file,
-- with no run in progress, before the earlier version's first run:
--   python -c "import duckdb; duckdb.connect('bountyguard.duckdb').execute(open('sql/maintenance/flags_as_copies.sql').read())"
-- Every kept run's flags become that run's copy again; this version converts them back to versions
-- on its next start (bountyguard/pipeline.py _version_copies).
BEGIN TRANSACTION;
CREATE TABLE flags_copies AS SELECT * FROM flags;
DROP VIEW flags;
DROP TABLE flag_versions;
DROP TABLE run_flag_generations;
ALTER TABLE flags_copies RENAME TO flags;
COMMIT;
