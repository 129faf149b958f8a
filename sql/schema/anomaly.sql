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
-- from: a person whose features hash the same keeps the score, everybody else is scored again.
-- A person who scores at or above the flag bar (the model's cutoff and `min_score`) keeps the parts
-- of the flag's evidence that depend on their features and the model alone, as JSON text: the
-- flags are then put together in SQL every run (rank, population and record ids are the day's),
-- without scoring any flagged person again
CREATE TABLE IF NOT EXISTS anomaly_scores (
    entity VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    features_hash UBIGINT NOT NULL,
    score DOUBLE NOT NULL
);
-- (a file written by an older version lacks these columns; its model's fingerprint differs, so the
-- model is fitted again and every person scored, evidence included)
ALTER TABLE anomaly_scores ADD COLUMN IF NOT EXISTS flag_score DOUBLE;
ALTER TABLE anomaly_scores ADD COLUMN IF NOT EXISTS score_json VARCHAR;
ALTER TABLE anomaly_scores ADD COLUMN IF NOT EXISTS model_scores_json VARCHAR;
ALTER TABLE anomaly_scores ADD COLUMN IF NOT EXISTS top_features_json VARCHAR;
