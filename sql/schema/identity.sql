-- State identity resolution keeps between runs (bountyguard/identity/), so a daily run normalises only
-- the day's new values and reuses its trained model.

-- the normalised key of every distinct raw value (name, e-mail, phone with its region and city, IBAN
-- and its masked form, city, profile URL), versioned by normalize.KEYS_VERSION; values no record holds
-- any more are removed at the next sweep (sql/identity/records.sql). No raw value is stored: a value
-- is found by raw_hash, its HMAC under the matching key key_id (bountyguard/matching_keys.py), and the
-- e-mail, phone and IBAN keys are such
-- HMACs of the normalised value too (sql/identity/records.sql). One row per (version, key_id, kind,
-- raw_hash, context): only values not cached yet are inserted. No primary key: its index cost two
-- thirds of caching a first load's keys (bountyguard/pipeline.py drops it from older files).
CREATE TABLE IF NOT EXISTS identity_key_hashes (
    version INTEGER NOT NULL,
    key_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    raw_hash VARCHAR NOT NULL,
    context VARCHAR NOT NULL,
    key VARCHAR
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

-- the term frequencies the trained model weighs agreement with (a common name or city agrees by
-- chance more often than a rare one), frozen when it is trained so that every run with that model
-- weighs a value alike: per compared column, the share of records holding each value held by at least
-- two records, keyed by the value's md5 digest (no value itself); the row with a NULL digest is the
-- share of a value held once (or new since training)
CREATE TABLE IF NOT EXISTS identity_model_term_frequencies (
    column_name VARCHAR NOT NULL,
    value_digest VARCHAR,
    tf DOUBLE NOT NULL
);

-- The last resolution, so that the next one scores only pairs with a touched record (new, changed or
-- removed since; bountyguard/identity/resolve.py). Valid only with the one row of
-- identity_resolution_state and under its fingerprint (the model with its term frequencies, the
-- [identity] settings, key and library versions): any other fingerprint resolves in full.
CREATE TABLE IF NOT EXISTS identity_resolution_state (
    fingerprint VARCHAR NOT NULL
);
-- a digest of every scored record's compared attributes and block keys (no value itself)
CREATE TABLE IF NOT EXISTS identity_scored_records (
    unique_id VARCHAR NOT NULL,
    row_digest UBIGINT NOT NULL
);
-- the probabilistic links found (evidence: level labels and scores, never values)
CREATE TABLE IF NOT EXISTS identity_fuzzy_link_state (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    evidence VARCHAR
);

-- Every record's normalised keys as its last resolution looked them up, with a digest of the raw
-- values they came from (DuckDB's 64-bit hash: nothing raw) and the look-up's context (key version,
-- matching key id, phone region, layout): a daily run looks up only the records that are new or changed
-- since, so it hashes and joins the day's values, not every value in the history (sql/identity/records.sql,
-- keyed_records.sql). The e-mail, phone and IBAN keys are keyed hashes, as in identity_key_hashes.
-- Each row is all that identity resolution compares of its record (the view identity_keyed reads it
-- as it is), so that a daily run does not join every record with its keys again (11 s at ten million
-- referrals): besides the keys, the birth date, the name's parts and the year a mailbox name carries,
-- in clear, as person_records and the kept Splink input hold them (THREAT_MODEL.md).
-- Replaced row by row: a changed or removed record's row goes, a new or changed one's comes;
-- `bountyguard forget` deletes a forgotten record's.
CREATE TABLE IF NOT EXISTS identity_record_keys (
    lookup VARCHAR NOT NULL,
    record_type VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    raw_digest UBIGINT NOT NULL,
    name_key VARCHAR,
    email_key VARCHAR,
    phone_key VARCHAR,
    phone_national VARCHAR,
    iban_key VARCHAR,
    iban_masked VARCHAR,
    city_key VARCHAR,
    profile_key VARCHAR,
    unique_id VARCHAR,
    birth_date DATE,
    email_year INTEGER,
    name_tokens VARCHAR[],
    name_key_reversed VARCHAR,
    name_first VARCHAR,
    name_last VARCHAR,
    birth_year BIGINT,
    birth_month_day VARCHAR
);
-- (a file written before these columns: its rows are stored under an older layout, so the next
-- resolution looks every record up again and stores them whole; bountyguard/identity/resolve.py)
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS unique_id VARCHAR;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS birth_date DATE;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS email_year INTEGER;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS name_tokens VARCHAR[];
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS name_key_reversed VARCHAR;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS name_first VARCHAR;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS name_last VARCHAR;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS birth_year BIGINT;
ALTER TABLE identity_record_keys ADD COLUMN IF NOT EXISTS birth_month_day VARCHAR;

-- The records whose compared row may have changed since the last resolution that completed: those
-- looked up again (new or changed raw values, every record in a sweep), those whose row left
-- (removed), and those whose rarest name part or block keys the kept Splink input rewrote
-- (bountyguard/identity/kept_input.py). Appended to as a resolution goes and emptied only when one
-- completes, so a resolution that stopped halfway leaves them for the next. Each kept state (exact
-- links, Splink input, scored records, persons), when valid, compares only these records with what
-- it holds: every other record is as it was when that state was last written. Record ids only.
CREATE TABLE IF NOT EXISTS identity_changed_records (
    unique_id VARCHAR NOT NULL
);

-- How many resolutions looked up only their new and changed records since the last that looked up
-- every record and removed the cached keys of values no record holds any more (one row).
CREATE TABLE IF NOT EXISTS identity_lookup_state (
    lookup VARCHAR NOT NULL,
    resolutions_since_sweep INTEGER NOT NULL
);

-- The Splink input kept between resolutions (bountyguard/identity/kept_input.py): identity_splink_rows
-- (created by the first resolution: one row per record with its compared attributes, rarest name part
-- and block keys; its columns follow the blocking rules), valid only with the one row of
-- identity_input_state and under its fingerprint; and how many records hold each name part.
CREATE TABLE IF NOT EXISTS identity_input_state (
    fingerprint VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_token_counts (
    token VARCHAR NOT NULL,
    n BIGINT NOT NULL
);

-- One row while person_records and person_links are those of the last completed resolution, so that
-- the next one clusters again only the persons its changes touch (bountyguard/identity/resolve.py).
CREATE TABLE IF NOT EXISTS identity_persons_state (
    kept BOOLEAN NOT NULL
);

-- The exact links of the last resolution (sql/identity/exact_links.sql), so that the next one pairs
-- again only the key groups a touched record holds or held. Valid only with the one row of
-- identity_exact_state under its fingerprint. Keys are kept as 64-bit hashes of the keys, and the
-- digest covers the attributes a link compares (no value itself).
CREATE TABLE IF NOT EXISTS identity_exact_state (
    fingerprint VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_exact_records (
    unique_id VARCHAR NOT NULL,
    email_hash UBIGINT,
    profile_hash UBIGINT,
    phone_hash UBIGINT,
    iban_hash UBIGINT,
    digest UBIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_exact_link_state (
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    evidence VARCHAR,
    key_kind VARCHAR NOT NULL,
    key_hash UBIGINT NOT NULL
);
