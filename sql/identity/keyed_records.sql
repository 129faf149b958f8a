-- Every record with its normalised keys: the looked-up records' from the cache (sql/identity/records.sql,
-- new_keys.sql), stored in identity_record_keys; the other records' as stored there before.
CREATE OR REPLACE TEMP TABLE identity_looked_up AS
WITH cached AS (
    SELECT c.kind, v.raw, c.context, c.key
    FROM identity_key_hashes c JOIN identity_raw_hashes v USING (raw_hash)
    WHERE c.version = $keys_version AND c.key_id = $matching_key_id
),
keyed AS (
    SELECT $lookup AS lookup, r.record_type, r.record_id, r.raw_digest,
           n.key AS name_key, e.key AS email_key, p.key AS phone_key, pn.key AS phone_national,
           i.key AS iban_key, im.key AS iban_masked, c.key AS city_key, pr.key AS profile_key
    FROM identity_lookup_records r
    LEFT JOIN cached n ON n.kind = 'name' AND n.raw = r.full_name AND n.context = ''
    LEFT JOIN cached e ON e.kind = 'email' AND e.raw = r.email AND e.context = ''
    LEFT JOIN cached p ON p.kind = 'phone' AND p.raw = r.phone AND p.context = r.phone_context
    LEFT JOIN cached pn ON pn.kind = 'phone_national' AND pn.raw = r.phone AND pn.context = r.phone_context
    LEFT JOIN cached i ON i.kind = 'iban' AND i.raw = r.payout_iban AND i.context = ''
    LEFT JOIN cached im ON im.kind = 'iban_masked' AND im.raw = r.payout_iban AND im.context = ''
    LEFT JOIN cached c ON c.kind = 'city' AND c.raw = r.city AND c.context = ''
    LEFT JOIN cached pr ON pr.kind = 'profile' AND pr.raw = r.profile_url AND pr.context = ''
)
SELECT * FROM keyed;

DELETE FROM identity_record_keys k
WHERE $sweep OR k.lookup <> $lookup
   OR NOT EXISTS (SELECT 1 FROM identity_raw_records r
                  WHERE r.record_type = k.record_type AND r.record_id = k.record_id AND r.raw_digest = k.raw_digest);

INSERT INTO identity_record_keys BY NAME SELECT * FROM identity_looked_up;

CREATE OR REPLACE TEMP TABLE identity_keyed AS
WITH keyed AS (
    SELECT r.record_type, r.record_id,
           r.record_type || ':' || r.record_id AS unique_id,
           k.name_key, k.email_key, k.phone_key, k.phone_national,
           k.iban_key, k.iban_masked, r.birth_date, k.city_key, k.profile_key,
           -- the year a mailbox name often carries (anna.schmidt1987@, jkowalski82@): the last number
           -- of the local part, where it can be a birth year (a weak hint, for records without a birth
           -- date; bountyguard/identity/model.py)
           bg_mailbox_year(r.email) AS email_year,
           k.record_id IS NOT NULL AS bg_has_keys
    FROM identity_raw_records r
    LEFT JOIN identity_record_keys k
      ON k.record_type = r.record_type AND k.record_id = r.record_id AND k.raw_digest = r.raw_digest
     AND k.lookup = $lookup
)
SELECT *,
       -- token lists and both token orders: a typo in a first letter can change the sorted order
       string_split(name_key, ' ') AS name_tokens,
       array_to_string(list_reverse(string_split(name_key, ' ')), ' ') AS name_key_reversed,
       string_split(name_key, ' ')[1] AS name_first,
       string_split(name_key, ' ')[-1] AS name_last,
       year(birth_date) AS birth_year,
       strftime(birth_date, '%m-%d') AS birth_month_day
FROM keyed;
