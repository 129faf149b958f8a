-- The feature tables kept between runs (bountyguard/incremental.py): stints and referral_facts hold
-- one row per hire and per referral, each a function of its own rows only, and the behaviour tables
-- one row per person, a function of that person's rows, so a daily run rebuilds only the rows whose
-- inputs changed since the run that last built them. This one row says which run that was; without
-- it (a first load, a failed run, other SQL or settings) a run rebuilds every kept table in full.
-- `loaded_runs`: the runs whose rows that run had loaded; a row loaded by any other run is new to it.
-- `builds_since_full`: incremental builds since the last full one (a full build every few runs
-- rewrites the tables without the rows deleted in place).
CREATE TABLE IF NOT EXISTS feature_state (
    run_id VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    fingerprint VARCHAR NOT NULL,
    loaded_runs VARCHAR[] NOT NULL,
    builds_since_full INTEGER NOT NULL
);

-- The rules whose flags follow what changed (detectors' `flags_follow`: each flag a function of one
-- row of a kept table, or of one candidate person's rows): the run that last stored a rule's flags,
-- with the rule's fingerprint (its SQL, settings and engine) and how many it stored. A run that
-- builds the kept tables on that same run computes the rule only for the rebuilt rows or changed
-- persons and carries the other flags from it, when it still holds exactly that many
-- (bountyguard/incremental.py FLAG_SCOPES).
CREATE TABLE IF NOT EXISTS rule_state (
    pattern VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    flags BIGINT NOT NULL
);
