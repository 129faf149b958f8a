-- Every referrer and candidate record once, and the raw values whose normalised keys are not cached yet
-- (identity_new_values; sql/identity/new_keys.sql normalises them, keyed_records.sql joins the keys back).
-- The Python normalisers of bountyguard/normalize.py (run over the new values in processes by
-- bountyguard/identity/resolve.py) are the expensive part, so their results persist per distinct raw
-- value in identity_key_hashes (a regular table: it survives between runs in the pipeline's database
-- file) and each run normalises only the raw values not in it yet. The key version
-- (normalize.KEYS_VERSION) is part of the key: rows of another version are stale and removed. `context`
-- is what else a key depends on: for phones the default region and the record's city ('' elsewhere).
-- Values no longer in any record are removed at the next sweep (below; `bountyguard forget` removes a
-- forgotten person's at once), so the cache keeps personal data the source tables no longer hold for a
-- few runs at most.
-- Which values a run looks up: those of the records new or changed since their keys were stored
-- (identity_record_keys, by a digest of their raw values), unless $sweep: then every record's, and
-- cached keys of values no record holds any more are removed. A sweep is what a first load, a full
-- resolution, another look-up context and every few resolutions do (bountyguard/identity/resolve.py):
-- hashing every raw value took 117 s of a daily run at ten million referrals.
-- The cache holds no raw value: it finds a value by its keyed hash bg_matching_hash(raw) (HMAC under
-- the matching key, bountyguard/matching_keys.py), and the e-mail, phone and IBAN keys themselves are
-- keyed hashes of the normalised value (they are only ever compared for equality). Rows hashed under
-- another key id ($matching_key_id) are stale like rows of another version. The IBAN's masked form
-- (country and last four characters: what flags evidence shows) is a key of its own.
CREATE OR REPLACE TEMP TABLE identity_raw_records AS
SELECT *, hash(full_name, email, phone, phone_context, payout_iban, city, profile_url, birth_date) AS raw_digest
FROM (
SELECT 'referrer' AS record_type, referrer_id AS record_id, full_name, email, phone,
       payout_iban, birth_date, city, NULL::VARCHAR AS profile_url,
       -- a phone typed without country code takes its country from the city, else the default region
       CASE WHEN phone IS NOT NULL THEN
           CASE WHEN city IS NULL THEN $phone_region ELSE $phone_region || ':' || city END
       END AS phone_context
FROM referrers
UNION ALL
SELECT 'candidate', candidate_id, full_name, email, phone,
       NULL::VARCHAR, birth_date, city, profile_url,
       CASE WHEN phone IS NOT NULL THEN
           CASE WHEN city IS NULL THEN $phone_region ELSE $phone_region || ':' || city END
       END
FROM candidates
);

CREATE OR REPLACE TEMP TABLE identity_lookup_records AS
SELECT r.*
FROM identity_raw_records r
WHERE $sweep OR NOT EXISTS (
    SELECT 1 FROM identity_record_keys k
    WHERE k.record_type = r.record_type AND k.record_id = r.record_id AND k.raw_digest = r.raw_digest
      AND k.lookup = $lookup);

-- The distinct raw values to look up, per kind of key.
CREATE OR REPLACE TEMP TABLE identity_raw_values AS
SELECT DISTINCT 'name' AS kind, full_name AS raw, '' AS context, NULL::VARCHAR AS city
    FROM identity_lookup_records WHERE full_name IS NOT NULL
UNION ALL SELECT DISTINCT 'email', email, '', NULL FROM identity_lookup_records WHERE email IS NOT NULL
UNION ALL SELECT DISTINCT 'phone', phone, phone_context, city FROM identity_lookup_records WHERE phone IS NOT NULL
UNION ALL SELECT DISTINCT 'phone_national', phone, phone_context, city
    FROM identity_lookup_records WHERE phone IS NOT NULL
UNION ALL SELECT DISTINCT 'iban', payout_iban, '', NULL FROM identity_lookup_records WHERE payout_iban IS NOT NULL
UNION ALL SELECT DISTINCT 'iban_masked', payout_iban, '', NULL
    FROM identity_lookup_records WHERE payout_iban IS NOT NULL
UNION ALL SELECT DISTINCT 'city', city, '', NULL FROM identity_lookup_records WHERE city IS NOT NULL
UNION ALL SELECT DISTINCT 'profile', profile_url, '', NULL FROM identity_lookup_records WHERE profile_url IS NOT NULL;

-- each distinct raw value hashed once
CREATE OR REPLACE TEMP TABLE identity_raw_hashes AS
SELECT raw, bg_matching_hash(raw) AS raw_hash FROM (SELECT DISTINCT raw FROM identity_raw_values);

DELETE FROM identity_key_hashes c
WHERE c.version <> $keys_version OR c.key_id <> $matching_key_id
   OR ($sweep AND NOT EXISTS (SELECT 1 FROM identity_raw_values v JOIN identity_raw_hashes h USING (raw)
                              WHERE v.kind = c.kind AND h.raw_hash = c.raw_hash AND v.context = c.context));

-- Only the values not cached yet, numbered into batches of $batch_rows: sql/identity/new_keys.sql
-- normalises and commits one batch at a time, so an interrupted run leaves a consistent cache.
-- In the order of the raw value, so that a phone's two keys (E.164 and national) come one after the
-- other and the second reuses the first's parse (normalize's cache): parsing is most of the cost.
CREATE OR REPLACE TEMP TABLE identity_new_values AS
SELECT v.*, h.raw_hash, (row_number() OVER (ORDER BY v.raw, v.context, v.kind) - 1) // $batch_rows AS batch_no
FROM identity_raw_values v JOIN identity_raw_hashes h USING (raw)
WHERE NOT EXISTS (SELECT 1 FROM identity_key_hashes c
                  WHERE c.version = $keys_version AND c.key_id = $matching_key_id AND c.kind = v.kind
                    AND c.raw_hash = h.raw_hash AND c.context = v.context);
