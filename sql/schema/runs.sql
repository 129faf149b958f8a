-- What each run did and produced. Everything is keyed by run_id so any run can be exported again.

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    as_of DATE NOT NULL,
    landing VARCHAR,
    config_json VARCHAR NOT NULL,
    config_sha256 VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,     -- wall clock, for operators only: never in a digest
    finished_at TIMESTAMP,
    step VARCHAR NOT NULL,             -- the last step that completed
    status VARCHAR                     -- clean / not_clean / failed, once published
);

-- rows in / loaded / rejected per table and run (rows in = loaded + rejected, always)
CREATE TABLE IF NOT EXISTS load_stats (
    run_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    source_file VARCHAR,
    rows_in BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    problem VARCHAR,                    -- a file that could not be read as its table at all
    PRIMARY KEY (run_id, table_name)
);

-- one row per problem found in an input row; a row may have several problems
CREATE TABLE IF NOT EXISTS rejects (
    run_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    line BIGINT,                        -- the record's line in the file (header = line 1)
    record_key VARCHAR,                 -- its primary key, where it could be read
    column_name VARCHAR,
    reason VARCHAR NOT NULL,
    value VARCHAR                       -- the offending value; NULL for personal-data columns
);

-- rows that were loaded but contradict other data (sql/validation/quarantine.sql and the value rules of
-- validate.ROW_RULES), per run: the payouts they touch are held with data_inconsistent
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    record_key VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,
    PRIMARY KEY (run_id, table_name, record_key, check_name)
);

-- The run whose quarantine the next run builds on (bountyguard/validate.py): it checks again only
-- the rows loaded by runs not in `loaded_runs`, the rows they reach, and those this run quarantined
-- (sql/incremental/quarantine_scope.sql). No row (a first run, a run that stopped while checking):
-- the next run checks every row; so does one under another fingerprint, and every few runs.
CREATE TABLE IF NOT EXISTS quarantine_state (
    run_id VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    loaded_runs VARCHAR[] NOT NULL,
    checks_since_full INTEGER NOT NULL
);

-- each run's current-state row count per table, recorded by the validation gate: upserts never delete
-- a row, so the next run's report is not clean if a table holds fewer rows than after this one
CREATE TABLE IF NOT EXISTS table_volumes (
    run_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    rows_current BIGINT NOT NULL,
    PRIMARY KEY (run_id, table_name)
);

CREATE TABLE IF NOT EXISTS validation_results (
    run_id VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,
    table_name VARCHAR,
    success BOOLEAN NOT NULL,
    observed BIGINT,
    detail VARCHAR,
    PRIMARY KEY (run_id, check_name)
);

-- Every kept run's flags ([retention] keep_flags_runs), as versions rather than a copy of every flag
-- per run (334,000 a day at ten million referrals, 208,000 of them early exits that a daily run
-- computes only where its rows changed; the anomaly flags change daily, their evidence ranks them): a
-- version holds one flag exactly as a detector made it, from the generation that first made it to
-- the one that made it otherwise or not at all (to_generation, NULL while current). Each run's
-- detect step gets the next generation and stores each pattern's flags as the change from the
-- current versions (sql/flags/store_flags.sql). No primary keys, as record_person_versions below:
-- bountyguard/flag_versions.py checks that a generation holds each flag_id once.
CREATE SEQUENCE IF NOT EXISTS flag_generation_seq START 1;
CREATE TABLE IF NOT EXISTS run_flag_generations (
    run_id VARCHAR NOT NULL,
    generation BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS flag_versions (
    flag_id VARCHAR NOT NULL,
    pattern VARCHAR NOT NULL,
    entity_type VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    person_id VARCHAR,                  -- the person the flag is about, for person-level patterns
    score DOUBLE NOT NULL,
    severity VARCHAR NOT NULL,
    evidence VARCHAR NOT NULL,          -- JSON object
    from_generation BIGINT NOT NULL,
    to_generation BIGINT
);
-- what each kept run flagged, read as before (WHERE run_id = ...): decisions, exports, case review
-- (a file written while flags was a table of copies is converted first: bountyguard/pipeline.py)
CREATE OR REPLACE VIEW flags AS
SELECT g.run_id, v.flag_id, v.pattern, v.entity_type, v.entity_id, v.person_id, v.score, v.severity, v.evidence
FROM run_flag_generations g
JOIN flag_versions v
  ON v.from_generation <= g.generation AND (v.to_generation IS NULL OR v.to_generation > g.generation);

CREATE TABLE IF NOT EXISTS payout_decisions (
    run_id VARCHAR NOT NULL,
    payout_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    reasons VARCHAR NOT NULL,
    PRIMARY KEY (run_id, payout_id)
);

-- the analysts' decisions (latest per payout) that a run's decision step honoured
CREATE TABLE IF NOT EXISTS run_analyst_decisions (
    run_id VARCHAR NOT NULL,
    payout_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    reasons_seen VARCHAR NOT NULL,     -- the patterns the analyst saw when deciding (`;`-separated)
    PRIMARY KEY (run_id, payout_id)
);

-- the payouts bountyguard's own ledger had paid when the run decided (the platform may lag behind)
CREATE TABLE IF NOT EXISTS run_paid_payouts (
    run_id VARCHAR NOT NULL,
    payout_id VARCHAR NOT NULL,
    PRIMARY KEY (run_id, payout_id)
);

-- Every record's person as of each kept run ([retention] keep_identities_runs), as versions rather
-- than a copy of every record per run (7.9 million rows a day at ten million referrals): a version
-- holds a record's person from the generation that first recorded it to the one that recorded
-- another person or no record (to_generation, NULL while current); each run that records its persons
-- gets the next generation (sql/identity/run_identities.sql). No primary keys: rows are written once
-- by construction, and an index made deleting rows slow (18 s for one run at one million referrals).
CREATE SEQUENCE IF NOT EXISTS identity_generation_seq START 1;
CREATE TABLE IF NOT EXISTS run_identity_generations (
    run_id VARCHAR NOT NULL,
    generation BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS record_person_versions (
    record_type VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    from_generation BIGINT NOT NULL,
    to_generation BIGINT
);
-- what each kept run recorded: read as before (WHERE run_id = ...), by identities.csv, the feature
-- tables' change rules, `forget` and the benchmark's comparison
CREATE OR REPLACE VIEW run_identities AS
SELECT g.run_id, v.record_type, v.record_id, v.person_id
FROM run_identity_generations g
JOIN record_person_versions v
  ON v.from_generation <= g.generation AND (v.to_generation IS NULL OR v.to_generation > g.generation);

-- The report's inputs digest kept between runs (bountyguard/inputs_digest.py): per platform table its
-- row count and the XOR of its rows' MD5s, moved by each write; valid only with the one row of
-- inputs_digest_meta under its fingerprint.
CREATE TABLE IF NOT EXISTS inputs_digest_state (
    table_name VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    digest UHUGEINT NOT NULL
);
CREATE TABLE IF NOT EXISTS inputs_digest_meta (
    fingerprint VARCHAR NOT NULL,
    publishes_since_full INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS reports (
    run_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,
    report_sha256 VARCHAR NOT NULL,
    report_json VARCHAR NOT NULL
);

-- Watermarks a pull proposed for its run; `ingest` saves them (source_watermarks) in the same
-- transaction that loads the pulled rows.
CREATE TABLE IF NOT EXISTS pending_watermarks (
    run_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    watermarks VARCHAR NOT NULL
);
