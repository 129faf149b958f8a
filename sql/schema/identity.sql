-- State identity resolution keeps between runs (bountyguard/identity/), so a daily run normalises only
-- the day's new values and reuses its trained model.

-- the normalised key of every distinct raw value (name, e-mail, phone with its region and city, IBAN
-- and its masked form, city, profile URL), versioned by normalize.KEYS_VERSION; values no record holds
-- any more are removed. No raw value is stored: a value is found by raw_hash, its HMAC under the
-- matching key key_id (bountyguard/matching_keys.py), and the e-mail, phone and IBAN keys are such
-- HMACs of the normalised value too (sql/identity/records.sql).
CREATE TABLE IF NOT EXISTS identity_key_hashes (
    version INTEGER NOT NULL,
    key_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    raw_hash VARCHAR NOT NULL,
    context VARCHAR NOT NULL,
    key VARCHAR,
    PRIMARY KEY (version, key_id, kind, raw_hash, context)
);
-- its earlier form held every raw e-mail, phone and IBAN in clear: gone from existing database files
DROP TABLE IF EXISTS identity_key_cache;

-- the trained Splink model (one row): its settings with the estimated parameters, the record count it
-- was trained on and a fingerprint of everything training depends on
CREATE TABLE IF NOT EXISTS identity_model (
    fingerprint VARCHAR NOT NULL,
    trained_records BIGINT NOT NULL,
    settings_json VARCHAR NOT NULL
);
