-- The anomaly detector's model, kept between runs (detectors/anomaly.py): it is fitted on a schedule,
-- not daily, and a daily run scores only the persons whose behaviour features changed.

-- one row per scored population (referrer, candidate): when and under which settings it was fitted,
-- how many persons it saw, the combined score from which a person is flagged (the top `top_share` of
-- the population at the fit), and the medians of each feature's measured values at the fit (they stand
-- in for values nobody could measure, and the evidence names them)
CREATE TABLE IF NOT EXISTS anomaly_model (
    entity VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    fitted_as_of DATE NOT NULL,
    population BIGINT NOT NULL,
    cutoff DOUBLE NOT NULL,
    medians DOUBLE[] NOT NULL
);

-- the persons the models were fitted on (every person, up to `reference_size`; above it a fixed
-- sample by the hash of the person id) with their feature values at the fit: refitting on the same
-- rows gives the same models, so no pickled object is stored
CREATE TABLE IF NOT EXISTS anomaly_reference (
    entity VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    features DOUBLE[] NOT NULL
);

-- each person's latest score under the model, with the hash of the feature values it was computed
-- from: a person whose features hash the same keeps the score, everybody else is scored again
CREATE TABLE IF NOT EXISTS anomaly_scores (
    entity VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    features_hash UBIGINT NOT NULL,
    score DOUBLE NOT NULL
);

-- for each person whose kept score is at or above the flag bar (the model's cutoff and `min_score`),
-- the parts of the flag's evidence that depend on their features and the model alone, as JSON text:
-- each run's flags are put together in SQL from them (rank, population and record ids are the
-- day's), without scoring any flagged person again. A table of its own, not columns of
-- anomaly_scores: an earlier version, run on this file after an upgrade is rolled back, inserts its
-- four columns into anomaly_scores as before (its model's fingerprint differs, so it fits again, and
-- so does this version when it comes back)
CREATE TABLE IF NOT EXISTS anomaly_explanations (
    entity VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    flag_score DOUBLE NOT NULL,
    score_json VARCHAR NOT NULL,
    model_scores_json VARCHAR NOT NULL,
    top_features_json VARCHAR NOT NULL
);

-- per population, the run whose feature rows (bountyguard/incremental.py) the kept scores are those
-- of, under which model, and how many scores that left: a daily run whose feature tables were built
-- on that run compares only the persons whose rows it rebuilt, instead of hashing every person's
-- features to find them. The row leaves before scores change and comes back when they are all
-- stored; none, or another run, model or count, means every person's features are compared
CREATE TABLE IF NOT EXISTS anomaly_state (
    entity VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    fitted_as_of DATE NOT NULL,
    scores BIGINT NOT NULL
);
