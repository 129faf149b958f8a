-- State identity resolution keeps between runs (bountyguard/identity/), so a daily run normalises only
-- the day's new values and reuses its trained model.

-- the normalised key of every distinct raw value (name, e-mail, phone with its region and city, IBAN,
-- city, profile URL), versioned by normalize.KEYS_VERSION; values no record holds any more are removed
CREATE TABLE IF NOT EXISTS identity_key_cache (
    version INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    raw VARCHAR NOT NULL,
    context VARCHAR NOT NULL,
    key VARCHAR,
    PRIMARY KEY (version, kind, raw, context)
);

-- the trained Splink model (one row): its settings with the estimated parameters, the record count it
-- was trained on and a fingerprint of everything training depends on
CREATE TABLE IF NOT EXISTS identity_model (
    fingerprint VARCHAR NOT NULL,
    trained_records BIGINT NOT NULL,
    settings_json VARCHAR NOT NULL
);
